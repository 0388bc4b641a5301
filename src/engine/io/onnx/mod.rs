//! ONNX models: the float tensors among the graph's initializers and `Constant` nodes, with
//! optional batch-norm folding (`--fold-bn`, see `fold`): each Conv whose output feeds only a
//! BatchNormalization gets the folded weight `w·γ/√(var + ε)` (per output channel) under the conv
//! weight's name, and its bias `(b − mean)·γ/√(var + ε) + β`; the batch norm's parameters go.
//!
//! Weights inside subgraphs (the branches of `If`, the bodies of `Loop` and `Scan`, as Silero's
//! exports keep them) are read too, named `node.attribute/name` after the node that holds them.
//!
//! The protobuf messages are tract-onnx's (generated from onnx.proto), the ones its runtime reads,
//! so the reading (`parse.rs`, `fold`, [`quantized`]'s reader) needs the `models` feature: the
//! page hands ONNX files to the model worker, which reads them and sends back the tensors, the
//! node that reads each ([`Use`]) and how quantized ones are stored ([`quantized::Stored`]),
//! plain data that builds without tract.

#[cfg(feature = "models")]
pub mod export;
#[cfg(feature = "models")]
pub mod fold;
#[cfg(feature = "models")]
mod parse;
pub mod quantized;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

#[cfg(feature = "models")]
pub(crate) use parse::{decode, encode_f32, is_float};
#[cfg(feature = "models")]
pub use parse::{read, read_with_uses};
#[cfg(feature = "models")]
pub use tract_onnx::pb::{self, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};

use crate::engine::tensor::Tensor;

/// Where a tensor is read: the first node, in graph order, that takes it, and at which input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Use {
    pub node: String,
    pub op: String,
    pub input: usize,
}

impl Use {
    /// A batch norm's scale, shift, mean or variance: not a layer's weight of its own (folding
    /// merges it into the convolution before).
    pub fn is_batch_norm_parameter(&self) -> bool {
        self.op == "BatchNormalization" && self.input > 0
    }

    /// Read by a quantizing op at another input than its data: a scale or zero point (or, for
    /// `QLinearConv` and the like, a quantized weight, which [`quantized`] reads as such).
    pub fn is_quantizer_input(&self) -> bool {
        let op = self.op.as_str();
        let quantizing = matches!(op, "QuantizeLinear" | "DequantizeLinear" | "DynamicQuantizeLinear" | "QGemm" | "ConvInteger" | "MatMulInteger") || op.starts_with("QLinear");
        quantizing && self.input > 0
    }
}

/// A model's tensors, where each is read, and how its quantized ones are stored.
#[derive(Debug, Default)]
pub struct Read {
    pub tensors: Vec<Tensor>,
    pub uses: HashMap<String, Use>,
    /// The quantized tensors (whose values in `tensors` are dequantized): codes, scales, zero
    /// points, read as [`quantized`] describes.
    pub stored: HashMap<String, quantized::Stored>,
}

