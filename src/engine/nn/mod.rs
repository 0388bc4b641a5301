//! The Lab's neural networks: data, an MLP and a small CNN with their forward and backward
//! passes (gradients checked against finite differences, QAT's against PyTorch), optimizers,
//! fake-quantization for QAT, calibration for PTQ, conversion to an integer-only model, the
//! experiment that compares them ([`lab::LabRun`]) and its benchmark workloads. Pure Rust, no
//! autodiff crate: the layers are few and their gradients short.

pub mod bench;
pub mod data;
pub mod lab;
pub mod linalg;
pub mod layers;
pub mod net;
pub mod optim;
pub mod quant;

/// Why a Lab run cannot go on.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum NnError {
    #[error("data: {0}")]
    Data(String),
    #[error("model: {0}")]
    Model(String),
    #[error("quantization: {0}")]
    Quant(String),
    #[error("settings: {0}")]
    Config(String),
    #[error("cancelled")]
    Cancelled,
}
