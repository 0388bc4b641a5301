//! Running real ONNX models: load one, run it on inputs, watch every activation.
//!
//! The runtime is tract (`tract-onnx`), not one of ours: `graph` reads what the model declares
//! (its inputs, outputs and nodes, in graph order) from tract's protobuf types, `runner` builds a
//! tract plan for fixed input shapes, optionally with every node output kept as an extra output,
//! and `calibrate` feeds those activations to the engine's observers batch by batch.
//!
//! Everything here is pure Rust with no web imports: the CLI calls it natively and the model
//! worker calls it in the browser.

//! [`declared`], [`report`] and [`preprocess`] are plain data (what a model declares, what a
//! calibration or PTQ run is asked and reports, how pictures are prepared): they are compiled
//! without tract too, for the page that shows them. The rest needs the `models` feature.

pub mod declared;
pub mod preprocess;
pub mod report;

#[cfg(feature = "models")]
pub mod bench;
#[cfg(feature = "models")]
pub mod calibrate;
#[cfg(feature = "models")]
pub mod capture;
#[cfg(feature = "models")]
pub mod feed;
#[cfg(feature = "models")]
pub mod graph;
#[cfg(feature = "models")]
pub mod images;
#[cfg(feature = "models")]
pub mod ptq;
#[cfg(feature = "models")]
pub mod runner;
#[cfg(feature = "models")]
pub mod tap;

#[cfg(feature = "models")]
mod error;

pub use declared::{Dim, ElemType, InputInfo, NodeInfo};
#[cfg(feature = "models")]
pub use error::ModelError;
#[cfg(feature = "models")]
pub use feed::{Dataset, Runners};
#[cfg(feature = "models")]
pub use graph::Model;
#[cfg(feature = "models")]
pub use runner::{Activation, Capture, Outputs, Runner};
