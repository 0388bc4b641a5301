//! The model worker's entry point (built by trunk as a worker with the `models` feature, so tract
//! is in this module only): reads, calibrates and quantizes real ONNX models for the page.

#[cfg(all(target_arch = "wasm32", feature = "models"))]
fn main() {
    quantscope::ui::panic::install_panic_hook();
    quantscope::worker::start(quantscope::worker::model::Models::default());
}

#[cfg(not(all(target_arch = "wasm32", feature = "models")))]
fn main() {
    eprintln!("The model worker runs inside the browser app, built with the models feature; it has no native form.");
    std::process::exit(2);
}
