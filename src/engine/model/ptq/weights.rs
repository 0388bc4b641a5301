//! Weight fake-quantization in the model itself: each Conv, ConvTranspose, Gemm and MatMul whose
//! weight is a constant gets it fake-quantized with a symmetric min/max observer (PyTorch's
//! default weight observer), per tensor or per output channel, at any bit width from 2 to 16.
//! Biases stay in float.

use std::collections::HashSet;

use crate::engine::io::onnx::fold::Constants;
use crate::engine::io::onnx::{encode_f32, GraphProto};
use crate::engine::io::LoadError;
use crate::engine::observer::{Common, Granularity, ObserverKind};
use crate::engine::quantizer::qparams::{DType, QRange, QScheme};
use crate::engine::quantizer::quantize::{fake_quantize, fake_quantize_per_channel_into};
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::statistics::stats::sqnr_db;
use crate::engine::tensor::ChannelLayout;

/// A layer whose weight was quantized.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightLayer {
    /// The node and its op.
    pub node: String,
    pub op: String,
    /// The weight's name and the layer's (first) output value.
    pub weight: String,
    pub output: String,
    /// SQNR of the fake-quantized weight against the float one (`None` for an all-zero weight).
    pub sqnr_db: Option<f64>,
}

/// The signed range of `bits`-bit codes: `[−2^(b−1), 2^(b−1) − 1]`.
pub fn signed_range(bits: u32) -> Result<QRange, String> {
    if !(2..=16).contains(&bits) {
        return Err(format!("weight bits must be 2 to 16, not {bits}"));
    }
    let half = 1i64 << (bits - 1);
    QRange::for_dtype(DType::QInt8, Some((-half, half - 1)), false).map_err(|e| e.to_string())
}

/// The output-channel axis of a layer's weight: Conv's `[out, in/g, k…]` → 0, ConvTranspose's
/// `[in, out/g, k…]` → 1, Gemm's `B` → 0 when `transB` is set and 1 otherwise, MatMul's
/// `[…, K, N]` → the last.
fn channel_axis(op: &str, rank: usize, trans_b: bool) -> Option<usize> {
    match op {
        "Conv" => Some(0),
        "ConvTranspose" => Some(1),
        "Gemm" => Some(if trans_b { 0 } else { 1 }),
        "MatMul" if rank >= 2 => Some(rank - 1),
        _ => None,
    }
}

/// Fake-quantizes the weights of `graph`'s layers (not those in subgraphs) in place.
pub fn quantize_weights(file: &str, graph: &mut GraphProto, bits: u32, per_channel: bool) -> Result<Vec<WeightLayer>, LoadError> {
    let range = signed_range(bits).map_err(|e| LoadError::new(file, None, e))?;
    let mut constants = Constants::of(graph);
    let mut done = HashSet::new();
    let mut layers = Vec::new();
    for i in 0..graph.node.len() {
        let node = &graph.node[i];
        if !matches!(node.op_type.as_str(), "Conv" | "ConvTranspose" | "Gemm" | "MatMul") || node.input.len() < 2 {
            continue;
        }
        let (name, op, weight) = (node.name.clone(), node.op_type.clone(), node.input[1].clone());
        let output = node.output.first().cloned().unwrap_or_default();
        let trans_b = node.attribute.iter().any(|a| a.name == "transB" && a.i != 0);
        let Some(w) = constants.values(file, graph, &weight)? else { continue };
        if !done.insert(weight.clone()) || w.data.is_empty() {
            continue;
        }
        let axis = if per_channel { channel_axis(&op, w.shape.len(), trans_b).filter(|&a| a < w.shape.len()) } else { None };
        let granularity = axis.map_or(Granularity::PerTensor, |axis| Granularity::PerChannel { axis });
        let mut observer = ObserverKind::MinMax.build(Common { scheme: QScheme::Symmetric, range }, granularity).map_err(|e| LoadError::new(file, Some(&weight), e.to_string()))?;
        observer.observe(&w.data, &w.shape).map_err(|e| LoadError::new(file, Some(&weight), e.to_string()))?;
        let params = observer.qparams();
        let quantized = match axis {
            None => fake_quantize(&w.data, params[0], range),
            Some(axis) => {
                let layout = ChannelLayout::new(&w.shape, axis, w.data.len()).map_err(|e| LoadError::new(file, Some(&weight), e.to_string()))?;
                let mut out = vec![0.0; w.data.len()];
                fake_quantize_per_channel_into(&w.data, layout, &params, range, Rounding::HalfEven, &mut out).map_err(|e| LoadError::new(file, Some(&weight), e.to_string()))?;
                out
            }
        };
        let sqnr = sqnr_db(&w.data, &quantized).filter(|v| !v.is_nan());
        constants.set(graph, &weight, encode_f32("", &w.shape, &quantized));
        layers.push(WeightLayer { node: name, op, weight, output, sqnr_db: sqnr });
    }
    Ok(layers)
}
