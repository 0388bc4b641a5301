//! The quantization engine: pure Rust, no web imports (enforced by `tests/architecture.rs`).
//!
//! Semantics follow PyTorch's `torch.ao.quantization` (observers, `_calculate_qparams`,
//! `fake_quantize_per_tensor_affine`) and Jacob et al. 2018 (arXiv 1712.05877).
//!
//! The layers, from the bottom up:
//! - [`tensor`] and [`synth`]: the values, loaded or drawn; [`io`] reads them from files.
//! - [`quantizer`]: scale and zero point, rounding, quantize and dequantize, integer requantization.
//! - [`statistics`]: summaries, histograms and the error a grid costs.
//! - [`observer`]: how a clipping range is chosen (min/max, moving average, percentile, L2, KL, MSE).
//! - [`views`]: what the Explorer, the layer browser and the CLI show, built from the layers below,
//!   and the resumable jobs that compute them.
//! - [`nn`]: the Lab's networks, trained, fake-quantized and run on integers.

pub mod formats;
pub mod io;
pub mod model;
pub mod nn;
pub mod observer;
pub mod quantizer;
mod simd;
pub mod statistics;
pub mod synth;
pub mod tensor;
pub mod views;
