//! One layer of a Lab network: its kind (dense, convolution, depthwise, pointwise), activation and
//! optional batch norm, its linear map forward and backward, and batch-norm folding.

use serde::{Deserialize, Serialize};

use crate::engine::nn::layers::{col2im, depthwise, depthwise_backward, im2col, BatchNorm, Plane};
use crate::engine::nn::linalg::{gemm, gemm_tn, Op};

/// The nonlinearity after a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// The output layer: logits.
    None,
    Relu,
    /// `min(max(x, 0), 6)` (MobileNet's).
    Relu6,
}

impl Activation {
    /// Written as comparisons, which vectorize: `f32::max` and `clamp` do not in wasm, whose
    /// `f32.max` treats NaN differently (NaN gives 0 for ReLU and NaN for ReLU6, as before).
    #[inline]
    pub(super) fn apply(self, z: f32) -> f32 {
        match self {
            Activation::None => z,
            Activation::Relu => {
                if z > 0.0 {
                    z
                } else {
                    0.0
                }
            }
            Activation::Relu6 => {
                if z > 0.0 {
                    if z < 6.0 {
                        z
                    } else {
                        6.0
                    }
                } else if z.is_nan() {
                    z
                } else {
                    0.0
                }
            }
        }
    }

    /// `d act / d z` (0 at and beyond the kinks, as PyTorch's).
    #[inline]
    pub(super) fn slope(self, z: f32) -> f32 {
        match self {
            Activation::None => 1.0,
            Activation::Relu => f32::from(u8::from(z > 0.0)),
            Activation::Relu6 => f32::from(u8::from(z > 0.0 && z < 6.0)),
        }
    }
}

/// A layer's linear map. Convolutions read and write NHWC activations, stride 1, zero padding 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `inputs` features to `outputs`.
    Dense,
    /// 3×3 convolution from `in_ch` channels: `inputs = 9·in_ch` weights per output channel.
    Conv3x3 { plane: Plane, in_ch: usize },
    /// Each channel its own 3×3 filter: `inputs = 9`, as many outputs as input channels.
    Depthwise3x3 { plane: Plane },
    /// 1×1 convolution: a dense layer at every position.
    Pointwise { plane: Plane },
}

impl Kind {
    /// The positions a convolution runs over.
    pub fn plane(self) -> Option<Plane> {
        match self {
            Kind::Dense => None,
            Kind::Conv3x3 { plane, .. } | Kind::Depthwise3x3 { plane } | Kind::Pointwise { plane } => Some(plane),
        }
    }
}

/// One layer: `y = pool(act(bn(x ⊛ W + b)))`, `W` stored `outputs × inputs` (output channels by
/// fan-in; PyTorch's `out × in × kh × kw` for convolutions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Layer {
    pub kind: Kind,
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    /// The bias (0 and not trained when batch norm follows: its β is the bias).
    pub b: Vec<f32>,
    pub bn: Option<BatchNorm>,
    pub act: Activation,
    /// 2×2 max pooling after the activation.
    pub pool: bool,
}

impl Layer {
    /// Rows of the layer's matrix product for `batch` samples: one per position.
    pub fn rows(&self, batch: usize) -> usize {
        batch * self.kind.plane().map_or(1, Plane::positions)
    }

    /// Features in and out per sample.
    pub fn in_features(&self) -> usize {
        match self.kind {
            Kind::Dense => self.inputs,
            Kind::Conv3x3 { plane, in_ch } => plane.positions() * in_ch,
            Kind::Depthwise3x3 { plane } => plane.positions() * self.outputs,
            Kind::Pointwise { plane } => plane.positions() * self.inputs,
        }
    }

    pub fn out_features(&self) -> usize {
        self.rows(1) * self.outputs / if self.pool { 4 } else { 1 }
    }

    /// The weight tensor's shape, PyTorch's way.
    pub fn weight_shape(&self) -> Vec<usize> {
        match self.kind {
            Kind::Dense => vec![self.outputs, self.inputs],
            Kind::Conv3x3 { in_ch, .. } => vec![self.outputs, in_ch, 3, 3],
            Kind::Depthwise3x3 { .. } => vec![self.outputs, 1, 3, 3],
            Kind::Pointwise { .. } => vec![self.outputs, self.inputs, 1, 1],
        }
    }

    /// A short description: "conv 3×3, 1 → 8, BN, ReLU".
    pub fn describe(&self) -> String {
        let (name, from) = match self.kind {
            Kind::Dense => ("dense", self.inputs),
            Kind::Conv3x3 { in_ch, .. } => ("conv 3×3", in_ch),
            Kind::Depthwise3x3 { .. } => ("depthwise 3×3", self.outputs),
            Kind::Pointwise { .. } => ("pointwise 1×1", self.inputs),
        };
        let mut s = format!("{name}, {from} → {}", self.outputs);
        if self.bn.is_some() {
            s.push_str(", BN");
        }
        s.push_str(match self.act {
            Activation::None => "",
            Activation::Relu => ", ReLU",
            Activation::Relu6 => ", ReLU6",
        });
        if self.pool {
            s.push_str(", max pool 2×2");
        }
        s
    }

    /// `z = x ⊛ w + bias` (`rows × outputs`); a 3×3 convolution leaves its patches in `cols`.
    pub(super) fn linear(&self, x: &[f32], batch: usize, w: &[f32], bias: &[f32], cols: &mut Vec<f32>, z: &mut Vec<f32>) {
        let rows = self.rows(batch);
        match self.kind {
            Kind::Depthwise3x3 { plane } => depthwise(x, batch, plane, self.outputs, w, bias, z),
            _ => {
                z.clear();
                z.reserve(rows * bias.len());
                for _ in 0..rows {
                    z.extend_from_slice(bias);
                }
                let a = match self.kind {
                    Kind::Conv3x3 { plane, in_ch } => {
                        im2col(x, batch, plane, in_ch, cols);
                        &cols[..]
                    }
                    _ => x,
                };
                gemm(rows, self.inputs, self.outputs, a, Op::N, w, Op::T, 1.0, z);
            }
        }
    }

    /// The linear map's gradients from `g` (`rows × outputs`): `dw`, and `dx` when asked.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn linear_backward(&self, g: &[f32], batch: usize, x: &[f32], cols: &[f32], w: &[f32], dw: &mut Vec<f32>, dx: Option<&mut Vec<f32>>) {
        let rows = self.rows(batch);
        if let Kind::Depthwise3x3 { plane } = self.kind {
            return depthwise_backward(x, g, batch, plane, self.outputs, w, dw, dx);
        }
        let a = if matches!(self.kind, Kind::Conv3x3 { .. }) { cols } else { x };
        dw.resize(self.w.len(), 0.0);
        gemm_tn(self.outputs, rows, self.inputs, g, a, dw);
        if let Some(dx) = dx {
            let mut da = vec![0f32; rows * self.inputs];
            gemm(rows, self.outputs, self.inputs, g, Op::N, w, Op::N, 0.0, &mut da);
            match self.kind {
                Kind::Conv3x3 { plane, in_ch } => col2im(&da, batch, plane, in_ch, dx),
                _ => *dx = da,
            }
        }
    }

    /// The parameters the optimizer trains, in order: weights, then the bias (without batch
    /// norm) or γ and β (with it).
    pub(super) fn params_mut(&mut self) -> Vec<&mut Vec<f32>> {
        match self.bn.as_mut() {
            Some(bn) => vec![&mut self.w, &mut bn.gamma, &mut bn.beta],
            None => vec![&mut self.w, &mut self.b],
        }
    }

    pub(super) fn param_count(&self) -> usize {
        if self.bn.is_some() {
            3
        } else {
            2
        }
    }

    /// The layer with its batch norm folded in: `W' = W·γ/σ`, `b' = β + (b − μ)·γ/σ` per output
    /// channel, with the running statistics (`σ = √(σ² + ε)`).
    pub fn folded(&self) -> Layer {
        let Some(bn) = &self.bn else { return self.clone() };
        let sf = bn.fold_scale();
        let mut w = self.w.clone();
        for (row, s) in w.chunks_mut(self.inputs.max(1)).zip(&sf) {
            row.iter_mut().for_each(|v| *v *= s);
        }
        let b = (0..self.outputs).map(|o| bn.beta[o] + (self.b[o] - bn.running_mean[o]) * sf[o]).collect();
        Layer { w, b, bn: None, ..self.clone() }
    }
}
