//! The web worker's entry point: registers the job reactor (built by trunk as a worker).

#[cfg(target_arch = "wasm32")]
fn main() {
    use yew_agent::Registrable;
    quantscope::ui::panic::install_panic_hook();
    quantscope::worker::JobReactor::registrar().register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The worker runs inside the browser app; it has no native form.");
    std::process::exit(2);
}
