//! The web worker's entry point (built by trunk as a worker): serves the page's jobs.

#[cfg(target_arch = "wasm32")]
fn main() {
    quantscope::ui::panic::install_panic_hook();
    quantscope::worker::start(quantscope::worker::explore::Explore::default());
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("The worker runs inside the browser app; it has no native form.");
    std::process::exit(2);
}
