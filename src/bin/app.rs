//! The browser app's entry point (built by trunk; see index.html).

#[cfg(target_arch = "wasm32")]
fn main() {
    quantscope::ui::panic::install_panic_hook();
    let window = gloo::utils::window();
    let hash = window.location().hash().unwrap_or_default();
    // The browser's languages, most preferred first: the page's language unless a link names one.
    let preferred: Vec<String> = window.navigator().languages().iter().filter_map(|l| l.as_string()).collect();
    let browser_lang = quantscope::ui::i18n::Lang::from_browser(&preferred);
    yew::Renderer::<quantscope::ui::App>::with_props(quantscope::ui::app::AppProps { initial_hash: hash.into(), browser_lang }).render();
}

/// Test hook for the end-to-end suite: panics on purpose so the panic banner can be checked.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn quantscope_test_panic() {
    panic!("test panic requested by quantscope_test_panic()");
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The app runs in the browser: serve it with `scripts/serve`, or use the `quantscope` CLI.");
    std::process::exit(2);
}
