//! Running real ONNX models: load one, run it on inputs, watch every activation.
//!
//! The runtime is tract (`tract-onnx`), not one of ours: [`graph`] reads what the model declares
//! (its inputs, outputs and nodes, in graph order) from tract's protobuf types, [`runner`] builds a
//! tract plan for fixed input shapes, optionally with every node output kept as an extra output,
//! and [`calibrate`] feeds those activations to the engine's observers batch by batch.
//!
//! Everything here is pure Rust with no web imports: the CLI calls it natively and the model
//! worker calls it in the browser.

pub mod calibrate;
pub mod feed;
pub mod graph;
pub mod images;
pub mod ptq;
pub mod runner;
pub mod tap;

mod error;

pub use error::ModelError;
pub use graph::{Dim, ElemType, InputInfo, Model, NodeInfo};
pub use feed::{Dataset, Runners};
pub use runner::{Activation, Capture, Outputs, Runner};
