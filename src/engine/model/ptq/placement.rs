//! Where activations are fake-quantized: where onnxruntime's QDQ quantizer (`quantize_static`,
//! QDQ format) puts its QuantizeLinear/DequantizeLinear pairs for the ops it quantizes, as an
//! int8 runtime then runs them.
//!
//! - The outputs of the compute ops (Conv, ConvTranspose, Gemm, MatMul), of the element-wise
//!   Add, Mul and Concat, of the activation functions (Relu, Clip, LeakyRelu, Sigmoid,
//!   HardSigmoid, HardSwish, Tanh) and of the pools.
//! - Not a compute op's output whose only reader is a Relu or Clip: the runtime fuses the two
//!   and quantizes after the activation (onnxruntime removes such a Relu/Clip).
//! - The model inputs that a compute op reads.
//! - Shape ops (Reshape, Flatten, Transpose…) pass codes through unchanged and get none of
//!   their own; Softmax and other float-only ops are left in float.

use std::collections::{HashMap, HashSet};

use crate::engine::model::Model;

const COMPUTE: &[&str] = &["Conv", "ConvTranspose", "Gemm", "MatMul"];
const QUANTIZED_OUTPUTS: &[&str] = &[
    "Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "Concat", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "MaxPool",
    "AveragePool", "GlobalAveragePool",
];
const FUSED: &[&str] = &["Relu", "Clip"];

/// The values whose producer's output is fake-quantized.
pub fn act_quant_values(model: &Model) -> HashSet<String> {
    let mut readers: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in &model.nodes {
        for i in &n.inputs {
            readers.entry(i.as_str()).or_default().push(n.op.as_str());
        }
    }
    let mut out = HashSet::new();
    for n in model.nodes.iter().filter(|n| QUANTIZED_OUTPUTS.contains(&n.op.as_str())) {
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            let fused = COMPUTE.contains(&n.op.as_str()) && !model.outputs.contains(o) && matches!(readers.get(o.as_str()).map(Vec::as_slice), Some([only]) if FUSED.contains(only));
            if !fused {
                out.insert(o.clone());
            }
        }
    }
    out
}

/// The model inputs that a compute op reads.
pub fn quantized_inputs(model: &Model) -> Vec<String> {
    model
        .inputs
        .iter()
        .filter(|i| model.nodes.iter().any(|n| COMPUTE.contains(&n.op.as_str()) && n.inputs.first() == Some(&i.name)))
        .map(|i| i.name.clone())
        .collect()
}
