//! What QAT and calibration put around a network's forward pass: how weights are fake-quantized
//! ([`WeightQuant`]), the activation grids a pass simulates ([`QuantSim`]), the observers that set
//! them ([`ActObserve`]), and a bias as the integer model keeps it ([`quantized_bias`]).

use serde::{Deserialize, Serialize};

use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantizer::quantize::{fake_quantize_into, ste_mask_into};
use crate::engine::quantizer::rounding::Rounding;

/// How the weights are quantized: symmetric signed codes (PyTorch's `per_tensor_symmetric` /
/// `per_channel_symmetric` weight qconfigs), per tensor or per output channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightQuant {
    pub range: QRange,
    pub per_channel: bool,
}

impl WeightQuant {
    /// The scale and zero point of weights `w` (rows of `fan_in`, one per output channel) from
    /// their min/max: one entry, or one per output channel.
    pub fn qparams(&self, w: &[f32], fan_in: usize) -> Vec<QParams> {
        let of = |w: &[f32]| {
            let (lo, hi, _) = crate::engine::observer::finite_min_max(w);
            calculate_qparams(lo, hi, QScheme::Symmetric, self.range)
        };
        if self.per_channel {
            w.chunks(fan_in.max(1)).map(of).collect()
        } else {
            vec![of(w)]
        }
    }

    /// The share of weights `w` within `tolerance` steps of a point of their grid (each
    /// channel's own grid, taken from the weights' min/max as conversion takes it): how far
    /// training has moved them onto it. 0 for no weights.
    pub fn share_near_grid(&self, w: &[f32], fan_in: usize, tolerance: f32) -> f64 {
        let params = self.qparams(w, fan_in);
        let near = w
            .chunks(fan_in.max(1))
            .enumerate()
            .map(|(o, row)| {
                let s = params[if self.per_channel { o } else { 0 }].scale;
                row.iter().filter(|&&v| ((v / s) - (v / s).round()).abs() <= tolerance).count()
            })
            .sum::<usize>();
        near as f64 / w.len().max(1) as f64
    }

    /// The share of weights whose code differs between `before` and `after` (the same layer's
    /// weights, `fan_in` to a row), both rounded on `after`'s grid (each channel's own, from
    /// `after`'s min/max): how many of the integer model's weights QAT changed. 0 for no
    /// weights; a length mismatch counts the weights beyond the shorter as changed.
    pub fn share_recoded(&self, before: &[f32], after: &[f32], fan_in: usize) -> f64 {
        let params = self.qparams(after, fan_in);
        let code = |v: f32, o: usize| crate::engine::quantizer::quantize::quantize_one(v, params[if self.per_channel { o } else { 0 }], self.range, Rounding::HalfEven, 0);
        let same = before.iter().zip(after).enumerate().filter(|&(i, (&b, &a))| code(b, i / fan_in.max(1)) == code(a, i / fan_in.max(1))).count();
        let n = before.len().max(after.len());
        (n - same) as f64 / n.max(1) as f64
    }

    /// `w` fake-quantized with `params` (see [`WeightQuant::qparams`]), and the straight-through
    /// mask (true where a weight was not clipped).
    pub fn fake_quantize(&self, w: &[f32], fan_in: usize, params: &[QParams], out: &mut Vec<f32>, mask: &mut Vec<bool>) {
        let fan_in = fan_in.max(1);
        out.resize(w.len(), 0.0);
        mask.resize(w.len(), false);
        for (o, ((w, q), m)) in w.chunks(fan_in).zip(out.chunks_mut(fan_in)).zip(mask.chunks_mut(fan_in)).enumerate() {
            let p = params[if self.per_channel { o } else { 0 }];
            fake_quantize_into(w, p, self.range, Rounding::HalfEven, q);
            ste_mask_into(w, p, self.range, m);
        }
    }
}

/// The quantization a forward pass simulates: the input's and every layer output's scale and
/// zero point (affine, unsigned codes in `act_range`), and how weights are quantized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantSim {
    pub weights: WeightQuant,
    pub act_range: QRange,
    pub input: QParams,
    /// One per layer: its output's (after the activation).
    pub outputs: Vec<QParams>,
}

/// What a forward pass does besides computing: nothing, show the float activations to observers
/// (calibration), or simulate quantization (QAT's training step with observers: observe, then
/// fake-quantize).
pub enum Quant<'a> {
    Float,
    Observe(&'a mut dyn ActObserve),
    Sim(&'a mut QuantSim, Option<&'a mut dyn ActObserve>),
}

/// A bias `b` in the integer model's accumulator: `round(b/(s_w·s_x))` as int32 (saturated),
/// and the real value that stands for.
pub fn quantized_bias(b: f32, w: QParams, x: QParams) -> (i32, f32) {
    let step = w.scale as f64 * x.scale as f64;
    let q = (b as f64 / step).round().clamp(i32::MIN as f64, i32::MAX as f64);
    (q as i32, (q * step) as f32)
}

/// Activation observers as QAT and calibration use them: `slot` 0 is the input, `l + 1` layer
/// `l`'s output; returns the scale and zero point after seeing `values`.
pub trait ActObserve {
    fn observe(&mut self, slot: usize, values: &[f32]) -> QParams;
}
