//! `quantscope`: the engine on the command line.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    std::process::exit(quantscope::cli::main());
}

#[cfg(target_arch = "wasm32")]
fn main() {}
