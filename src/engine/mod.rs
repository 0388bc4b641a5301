//! The quantization engine: pure Rust, no web imports (enforced by `tests/architecture.rs`).
//!
//! Semantics follow PyTorch's `torch.ao.quantization` (observers, `_calculate_qparams`,
//! `fake_quantize_per_tensor_affine`) and Jacob et al. 2018 (arXiv 1712.05877).

pub mod analysis;
pub mod dynamics;
pub mod explore;
pub mod export;
pub mod histogram;
pub mod inspect;
pub mod io;
pub mod jobs;
pub mod metrics;
pub mod nn;
pub mod observer;
pub mod qparams;
pub mod quantize;
pub mod requant;
pub mod rounding;
mod simd;
pub mod stats;
pub mod synth;
pub mod tensor;
