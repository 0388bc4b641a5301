//! From a float network to an integer one: activation observers for calibration (PTQ) and training
//! (QAT), the conversion to int8/uint8 weights and activations with int32 biases and fixed-point
//! requantization, and integer-only inference (Jacob et al. 2018, §2.2–2.4).

mod observers;
mod requant;
#[cfg(test)]
mod tests;

pub use observers::ActObservers;
use requant::Requant;

use serde::{Deserialize, Serialize};

use super::layers::{depthwise, im2col, max_pool, Plane};
use super::linalg::{gemm_codes_rows, PackedI16};
use super::net::{quantized_bias, ActObserve, Activation, Kind, Net, QuantSim, WeightQuant};
use super::NnError;
use crate::engine::observer::{Common, Granularity, Observer, ObserverKind};
use crate::engine::quantizer::qparams::{QParams, QRange, QScheme};
use crate::engine::quantizer::quantize::{quantize_into, quantize_one};
use crate::engine::quantizer::requant::FixedMultiplier;
use crate::engine::quantizer::rounding::Rounding;

/// One converted layer: `q_y = clamp(z_y + M·(bias + Σ (q_w − z_w)(q_x − z_x)), lo, hi)`, with
/// `M·acc` rounded once in integer arithmetic ([`FixedMultiplier::apply_once`]), then max pooling
/// of the codes when the layer pools.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntLayer {
    pub kind: Kind,
    pub inputs: usize,
    pub outputs: usize,
    /// Weight codes, `outputs × inputs`, and their zero points (one, or one per output).
    pub w: Vec<i32>,
    pub w_zero: Vec<i32>,
    /// Bias in the accumulator's scale `s_w·s_x`, rounded to int32.
    pub bias: Vec<i32>,
    /// `M = s_w·s_x/s_y` per output, as a fixed-point multiplier and shift.
    pub multiplier: Vec<FixedMultiplier>,
    pub in_zero: i32,
    pub out_zero: i32,
    /// The clamp: the code range, narrowed to `[z_y, …]` when a ReLU is folded in (and to
    /// `z_y + round(6/s_y)` from above for ReLU6).
    pub lo: i32,
    pub hi: i32,
    pub pool: bool,
}

/// A network that runs on integers only, from the quantized input to the output codes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntNet {
    pub input: QParams,
    pub act_range: QRange,
    pub layers: Vec<IntLayer>,
    /// The output's scale and zero point (to read logits off the codes).
    pub output: QParams,
    /// Each layer's weights and requantization in the form the hot loops take, built from
    /// `layers` on the first run (so `layers` must not change after that: nothing does).
    #[serde(skip)]
    prepared: Prepared,
}

/// A cache of [`Prepared`] layers: not serialized, and ignored by `==` (it follows from the
/// layers).
#[derive(Clone, Debug, Default)]
struct Prepared(std::sync::OnceLock<Vec<(Kernel, Requant)>>);

impl PartialEq for Prepared {
    fn eq(&self, _: &Prepared) -> bool {
        true
    }
}

/// A layer's weights less their zero points: packed for [`gemm_codes_rows`], or tap by tap for
/// the depthwise loop.
#[derive(Clone, Debug)]
enum Kernel {
    Product(PackedI16),
    Depthwise { plane: Plane, w: Vec<i32> },
}

impl Kernel {
    fn new(layer: &IntLayer) -> Kernel {
        let zw = |o: usize| layer.w_zero[if layer.w_zero.len() > 1 { o } else { 0 }];
        match layer.kind {
            Kind::Depthwise3x3 { plane } => Kernel::Depthwise { plane, w: layer.w.iter().enumerate().map(|(i, &q)| q - zw(i / 9)).collect() },
            _ => Kernel::Product(PackedI16::from_rows(&layer.w, layer.outputs, layer.inputs, zw)),
        }
    }
}

impl IntNet {
    /// Converts `model` under `sim` (its weights quantized from their min/max as `sim.weights`
    /// says, every activation with `sim`'s scale and zero point). Batch norm must be folded
    /// first ([`Net::folded`]).
    pub fn convert(model: &Net, sim: &QuantSim) -> Result<IntNet, NnError> {
        if model.has_batch_norm() {
            return Err(NnError::Model("fold batch norm before converting to integers".into()));
        }
        // The integer products take 16-bit operands: codes of at most 8 bits less their zero
        // points.
        if sim.act_range.levels() > 256 || sim.weights.range.levels() > 256 {
            return Err(NnError::Quant(format!("integer models take codes of at most 8 bits, not {} and {} levels", sim.act_range.levels(), sim.weights.range.levels())));
        }
        let mut layers = Vec::with_capacity(model.layers.len());
        let mut s_x = sim.input;
        for (l, layer) in model.layers.iter().enumerate() {
            let s_y = sim.outputs[l];
            let wp = sim.weights.qparams(&layer.w, layer.inputs);
            let per = |o: usize| wp[if sim.weights.per_channel { o } else { 0 }];
            let mut w = Vec::with_capacity(layer.w.len());
            for (o, row) in layer.w.chunks(layer.inputs).enumerate() {
                w.extend(row.iter().map(|&v| quantize_one(v, per(o), sim.weights.range, Rounding::HalfEven, 0)));
            }
            let mut bias = Vec::with_capacity(layer.outputs);
            let mut multiplier = Vec::with_capacity(layer.outputs);
            for o in 0..layer.outputs {
                bias.push(quantized_bias(layer.b[o], per(o), s_x).0);
                let m = per(o).scale as f64 * s_x.scale as f64 / s_y.scale as f64;
                multiplier.push(FixedMultiplier::from_real(m).map_err(|e| NnError::Quant(format!("layer {l}, output {o}: requantization: {e}")))?);
            }
            let (qmin, qmax) = (sim.act_range.qmin, sim.act_range.qmax);
            let (lo, hi) = match layer.act {
                Activation::None => (qmin, qmax),
                Activation::Relu => (qmin.max(s_y.zero_point), qmax),
                Activation::Relu6 => {
                    let six = s_y.zero_point as f64 + (6.0 / s_y.scale as f64).round();
                    (qmin.max(s_y.zero_point), (qmax as f64).min(six) as i32)
                }
            };
            layers.push(IntLayer {
                kind: layer.kind,
                inputs: layer.inputs,
                outputs: layer.outputs,
                w,
                w_zero: wp.iter().map(|p| p.zero_point).collect(),
                bias,
                multiplier,
                in_zero: s_x.zero_point,
                out_zero: s_y.zero_point,
                lo,
                hi,
                pool: layer.pool,
            });
            s_x = s_y;
        }
        Ok(IntNet { input: sim.input, act_range: sim.act_range, layers, output: *sim.outputs.last().ok_or(NnError::Model("no layers".into()))?, prepared: Prepared::default() })
    }

    /// The input's codes: the only float step, at the model's edge.
    pub fn quantize_input(&self, x: &[f32], out: &mut Vec<i32>) {
        out.clear();
        out.resize(x.len(), 0);
        quantize_into(x, self.input, self.act_range, Rounding::HalfEven, out);
    }

    fn prepared(&self) -> &[(Kernel, Requant)] {
        self.prepared.0.get_or_init(|| self.layers.iter().map(|l| (Kernel::new(l), Requant::new(l))).collect())
    }

    /// The output codes of `batch` samples' input codes (`batch × inputs`, row-major), with
    /// integer arithmetic only: per layer one integer product of the inputs less their zero
    /// point (so padding is the real 0) with the weights less theirs, then bias,
    /// requantization, the clamp and pooling. Codes travel between layers as 16-bit values less
    /// their zero point, the product's operand.
    pub fn run_batch(&self, codes: &[i32], batch: usize) -> Vec<i32> {
        let Some(first) = self.layers.first() else { return codes.to_vec() };
        let mut cur: Vec<i16> = codes.iter().map(|&c| (c - first.in_zero) as i16).collect();
        let (mut next, mut cols, mut pooled, mut argmax, mut acc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (layer, (kernel, rq)) in self.layers.iter().zip(self.prepared()) {
            let (n, rows) = (layer.outputs, batch * layer.kind.plane().map_or(1, Plane::positions));
            next.clear();
            next.resize(rows * n, 0i16);
            match kernel {
                Kernel::Depthwise { plane, w } => {
                    let x: Vec<i32> = cur.iter().map(|&v| v as i32).collect();
                    depthwise(&x, batch, *plane, n, w, &vec![0; n], &mut acc);
                    for (sums, out) in acc.chunks_exact(n).zip(next.chunks_exact_mut(n)) {
                        rq.row(sums, out);
                    }
                }
                Kernel::Product(packed) => {
                    let a = match layer.kind {
                        Kind::Conv3x3 { plane, in_ch } => {
                            im2col(&cur, batch, plane, in_ch, &mut cols);
                            &cols
                        }
                        _ => &cur,
                    };
                    gemm_codes_rows(rows, a, layer.in_zero - self.act_range.qmin, packed, |i, sums| rq.row(sums, &mut next[i * n..][..n]));
                }
            }
            match (layer.pool, layer.kind.plane()) {
                (true, Some(plane)) => {
                    max_pool(&next, batch, plane, n, &mut pooled, &mut argmax);
                    std::mem::swap(&mut cur, &mut pooled);
                }
                _ => std::mem::swap(&mut cur, &mut next),
            }
        }
        cur.iter().map(|&v| v as i32 + self.output.zero_point).collect()
    }

    /// [`IntNet::run_batch`] the plain way: the codes in i32, each output one sum over its
    /// inputs in order and one [`FixedMultiplier::apply_once`]. The reference the fast
    /// kernels are tested against, natively and in the browser (tests/web.rs).
    pub fn run_batch_plain(&self, codes: &[i32], batch: usize) -> Vec<i32> {
        let mut cur = codes.to_vec();
        let (mut cols, mut acc, mut pooled, mut argmax) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for layer in &self.layers {
            let zw = |o: usize| layer.w_zero[if layer.w_zero.len() > 1 { o } else { 0 }];
            let x: Vec<i32> = cur.iter().map(|&c| c - layer.in_zero).collect();
            match layer.kind {
                Kind::Depthwise3x3 { plane } => {
                    let w: Vec<i32> = layer.w.iter().enumerate().map(|(i, &q)| q - zw(i / 9)).collect();
                    depthwise(&x, batch, plane, layer.outputs, &w, &vec![0; layer.outputs], &mut acc);
                }
                kind => {
                    let a = match kind {
                        Kind::Conv3x3 { plane, in_ch } => {
                            im2col(&x, batch, plane, in_ch, &mut cols);
                            &cols
                        }
                        _ => &x,
                    };
                    acc = a.chunks(layer.inputs).flat_map(|row| (0..layer.outputs).map(move |o| row.iter().zip(&layer.w[o * layer.inputs..]).map(|(&x, &w)| x * (w - zw(o))).sum::<i32>())).collect();
                }
            }
            for row in acc.chunks_mut(layer.outputs) {
                for (o, v) in row.iter_mut().enumerate() {
                    *v = layer.out_zero.saturating_add(layer.multiplier[o].apply_once(layer.bias[o].wrapping_add(*v))).clamp(layer.lo, layer.hi);
                }
            }
            cur = match (layer.pool, layer.kind.plane()) {
                (true, Some(plane)) => {
                    max_pool(&acc, batch, plane, layer.outputs, &mut pooled, &mut argmax);
                    std::mem::take(&mut pooled)
                }
                _ => std::mem::take(&mut acc),
            };
        }
        cur
    }

    /// The logits of one sample, read off its output codes.
    pub fn logits(&self, codes: &[i32]) -> Vec<f32> {
        codes.iter().map(|&q| (q - self.output.zero_point) as f32 * self.output.scale).collect()
    }
}

/// How the integer model agrees with the fake-quantized simulation of the same model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub samples: usize,
    /// Samples whose output codes are all equal.
    pub identical: usize,
    /// Samples whose codes differ by at most one step each.
    pub within_one: usize,
    /// The largest difference of any output code.
    pub max_code_diff: i32,
    /// Samples whose predicted class differs.
    pub class_changes: usize,
    /// The first few disagreements: (sample, integer codes, simulated codes).
    pub examples: Vec<(usize, Vec<i32>, Vec<i32>)>,
}

impl Agreement {
    /// Compares per-sample output codes.
    pub fn of(int_codes: &[Vec<i32>], sim_codes: &[Vec<i32>]) -> Agreement {
        let mut a = Agreement { samples: int_codes.len(), identical: 0, within_one: 0, max_code_diff: 0, class_changes: 0, examples: Vec::new() };
        for (i, (x, y)) in int_codes.iter().zip(sim_codes).enumerate() {
            let diff = x.iter().zip(y).map(|(p, q)| (p - q).abs()).max().unwrap_or(0);
            a.max_code_diff = a.max_code_diff.max(diff);
            a.identical += usize::from(diff == 0);
            a.within_one += usize::from(diff <= 1);
            a.class_changes += usize::from(argmax_i32(x) != argmax_i32(y));
            if diff > 0 && a.examples.len() < 5 {
                a.examples.push((i, x.clone(), y.clone()));
            }
        }
        a
    }
}

/// The index of the largest value (the first of ties).
pub fn argmax_i32(v: &[i32]) -> usize {
    argmax(v)
}

/// The index of the largest value (the first of ties; NaN never wins; 0 for an empty slice).
pub fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate().skip(1) {
        if *x > v[best] || v[best].partial_cmp(&v[best]).is_none() {
            best = i;
        }
    }
    best
}
