//! QuantScope: see and understand neural-network quantization.
//!
//! - [`engine`]: pure Rust maths (quantization, statistics, synthetic tensors, long jobs).
//!   It has no web imports, so the native CLI, the tests and the browser share it.
//! - [`ui`]: Yew components and plotters charts of the single-page app, plus its URL state.
//! - [`worker`]: the protocol and the reactor that run the engine's long jobs off the main thread.
//! - `cli`: the native `quantscope` command (not built for wasm; needs the `models` feature).

/// The crate also answers to its own name, so that a file shared with the integration tests
/// (`ui::url_strategy`) names its items the same way in both.
extern crate self as quantscope;

#[cfg(all(not(target_arch = "wasm32"), feature = "models"))]
pub mod cli;
pub mod engine;
pub mod ui;
pub mod worker;
