//! Quantized ONNX models read as they are: the integer weights that onnxruntime's quantizer (or
//! any converter) stores, with the scales and zero points that give them their values.
//!
//! A stored integer tensor is a quantized weight when a node dequantizes or consumes it as one:
//!
//! | node | tensor (input) | scale, zero point | axis of a per-channel scale |
//! |---|---|---|---|
//! | `DequantizeLinear` (QDQ) | 0 | 1, 2 | the `axis` attribute (default 1) |
//! | `QLinearConv` | weight 3 | 4, 5 | 0 |
//! | `QLinearConv` | bias 8 (int32) | input 1 × input 4, 0 | 0 |
//! | `QLinearMatMul` | 0 and 3 | 1, 2 and 4, 5 | the last |
//! | `QGemm` (com.microsoft) | B 3, C 6 (int32) | 4, 5; input 1 × input 4, 0 | 1 (0 with `transB`) |
//! | `ConvInteger`, `MatMulInteger` | weight 1 | the weight scale of the `Mul` after the op's `Cast` (dynamic quantization keeps it there), 3 | 0 (the last for `MatMulInteger`) |
//!
//! Its values are `(q − z)·s` computed in f32, as `DequantizeLinear` computes them; the codes,
//! scales and zero points are kept beside ([`Stored`]). Scales and zero points must be stored
//! tensors (initializers) of one value, or one per channel along the axis.

use serde::{Deserialize, Serialize};

#[cfg(feature = "models")]
mod read;
#[cfg(feature = "models")]
pub use read::read;

/// How a quantized tensor is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stored {
    /// The integer type: `int8`, `uint8`, `int16`, `uint16` or `int32`.
    pub dtype: String,
    /// The node that reads it as quantized, and its op.
    pub node: String,
    pub op: String,
    /// One scale (per tensor) or one per channel along `axis`; `None` when the model computes
    /// it only at run time (then the values are the codes less the zero point).
    pub scale: Option<Vec<f32>>,
    pub zero_point: Vec<i32>,
    pub axis: Option<usize>,
    /// The codes, as stored.
    pub codes: Vec<i32>,
}

impl Stored {
    /// The type's smallest and largest code.
    pub fn code_range(&self) -> (i64, i64) {
        match self.dtype.as_str() {
            "int8" => (-128, 127),
            "uint8" => (0, 255),
            "int16" => (-32768, 32767),
            "uint16" => (0, 65535),
            _ => (i32::MIN as i64, i32::MAX as i64),
        }
    }

    /// For one scale and zero point: the real range the type's codes span, `[(qmin − z)·s,
    /// (qmax − z)·s]` (with no stored scale, a step of 1: the codes less the zero point).
    /// `None` per channel.
    pub fn code_span(&self) -> Option<(f32, f32)> {
        if self.axis.is_some() {
            return None;
        }
        let (qmin, qmax) = self.code_range();
        let (z, step) = (i64::from(*self.zero_point.first()?), self.scale.as_ref().map_or(Some(1.0), |v| v.first().copied())?);
        Some(((qmin - z) as f32 * step, (qmax - z) as f32 * step))
    }
}
