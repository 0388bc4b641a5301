//! From a float network to an integer one: activation observers for calibration (PTQ) and training
//! (QAT), the conversion to int8/uint8 weights and activations with int32 biases and fixed-point
//! requantization, and integer-only inference (Jacob et al. 2018, §2.2–2.4).

use serde::{Deserialize, Serialize};

use super::layers::{depthwise, im2col, max_pool, Plane};
use super::linalg::{gemm_i16, PackedI16};
use super::net::{quantized_bias, ActObserve, Activation, Kind, Net, QuantSim, WeightQuant};
use super::NnError;
use crate::engine::observer::{Common, Granularity, Observer, ObserverKind};
use crate::engine::qparams::{QParams, QRange, QScheme};
use crate::engine::quantize::quantize_one;
use crate::engine::requant::FixedMultiplier;
use crate::engine::rounding::Rounding;

/// One observer per activation slot (the input, then each layer's output), all of one kind,
/// affine over `range`. Frozen observers keep their scale and zero point (QAT's late epochs).
pub struct ActObservers {
    observers: Vec<Box<dyn Observer>>,
    range: QRange,
    pub frozen: bool,
    last: Vec<QParams>,
}

impl ActObservers {
    /// `slots` observers of `kind`.
    pub fn new(kind: ObserverKind, range: QRange, slots: usize) -> Result<ActObservers, NnError> {
        let observers = (0..slots)
            .map(|_| kind.build(Common { scheme: QScheme::Affine, range }, Granularity::PerTensor))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| NnError::Quant(format!("activation observer: {e}")))?;
        Ok(ActObservers { observers, range, frozen: false, last: vec![QParams::UNOBSERVED; slots] })
    }

    /// The scale and zero point of every slot now.
    pub fn qparams(&self) -> Vec<QParams> {
        self.observers.iter().map(|o| o.qparams()[0]).collect()
    }

    /// The simulation these observers describe, with `weights`.
    pub fn sim(&self, weights: WeightQuant) -> QuantSim {
        let q = self.qparams();
        QuantSim { weights, act_range: self.range, input: q[0], outputs: q[1..].to_vec() }
    }
}

impl ActObserve for ActObservers {
    fn observe(&mut self, slot: usize, values: &[f32]) -> QParams {
        if !self.frozen {
            // An observer error (none of the engine's for a flat batch) leaves the range as is.
            let _ = self.observers[slot].observe(values, &[values.len()]);
            self.last[slot] = self.observers[slot].qparams()[0];
        } else if self.last[slot] == QParams::UNOBSERVED {
            self.last[slot] = self.observers[slot].qparams()[0];
        }
        self.last[slot]
    }
}

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
        Ok(IntNet { input: sim.input, act_range: sim.act_range, layers, output: *sim.outputs.last().ok_or(NnError::Model("no layers".into()))? })
    }

    /// The input's codes: the only float step, at the model's edge.
    pub fn quantize_input(&self, x: &[f32], out: &mut Vec<i32>) {
        out.clear();
        out.extend(x.iter().map(|&v| quantize_one(v, self.input, self.act_range, Rounding::HalfEven, 0)));
    }

    /// The output codes of `batch` samples' input codes (`batch × inputs`, row-major), with
    /// integer arithmetic only: per layer one integer product of the inputs less their zero
    /// point (so padding is the real 0) with the weights less theirs, then bias,
    /// requantization, the clamp and pooling.
    pub fn run_batch(&self, codes: &[i32], batch: usize) -> Vec<i32> {
        let mut cur = codes.to_vec();
        let (mut cols, mut pooled, mut argmax) = (Vec::new(), Vec::new(), Vec::new());
        for layer in &self.layers {
            for v in cur.iter_mut() {
                *v -= layer.in_zero;
            }
            let per_channel = layer.w_zero.len() > 1;
            let zw = |o: usize| layer.w_zero[if per_channel { o } else { 0 }];
            let rows = batch * layer.kind.plane().map_or(1, Plane::positions);
            let mut acc = Vec::new();
            match layer.kind {
                Kind::Depthwise3x3 { plane } => {
                    let w: Vec<i32> = layer.w.iter().enumerate().map(|(i, &q)| q - zw(i / 9)).collect();
                    depthwise(&cur, batch, plane, layer.outputs, &w, &vec![0; layer.outputs], &mut acc);
                }
                _ => {
                    // Codes of at most 8 bits less their zero point fit in 16 bits (checked by
                    // `convert`): 16-bit products, summed in i32.
                    let x: Vec<i16> = cur.iter().map(|&v| v as i16).collect();
                    let a = match layer.kind {
                        Kind::Conv3x3 { plane, in_ch } => {
                            im2col(&x, batch, plane, in_ch, &mut cols);
                            &cols
                        }
                        _ => &x,
                    };
                    acc.resize(rows * layer.outputs, 0);
                    gemm_i16(rows, a, &PackedI16::from_rows(&layer.w, layer.outputs, layer.inputs, zw), &mut acc);
                }
            }
            for row in acc.chunks_mut(layer.outputs) {
                for (o, a) in row.iter_mut().enumerate() {
                    let y = layer.out_zero.saturating_add(layer.multiplier[o].apply_once(layer.bias[o].wrapping_add(*a)));
                    *a = y.clamp(layer.lo, layer.hi);
                }
            }
            cur = match (layer.pool, layer.kind.plane()) {
                (true, Some(plane)) => {
                    max_pool(&acc, batch, plane, layer.outputs, &mut pooled, &mut argmax);
                    std::mem::take(&mut pooled)
                }
                _ => acc,
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
    v.iter().enumerate().fold((0, i32::MIN), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::net::{Quant, Tape};

    fn sim_for(model: &Net, x: &[f32], batch: usize, wbits: u32, abits: u32, per_channel: bool) -> QuantSim {
        let a_range = QRange::with_bits(abits, true).unwrap();
        let mut obs = ActObservers::new(ObserverKind::MinMax, a_range, model.layers.len() + 1).unwrap();
        let weights = WeightQuant { range: QRange::with_bits(wbits, false).unwrap(), per_channel };
        let mut sim = obs.sim(weights);
        model.forward(x, batch, Quant::Sim(&mut sim, Some(&mut obs)), false, &mut Tape::default());
        obs.sim(weights)
    }

    /// The integer model's output codes against the simulation's, for `batch` samples.
    fn agreement(model: &Net, x: &[f32], batch: usize, sim: &QuantSim) -> Agreement {
        let int = IntNet::convert(model, sim).unwrap();
        let classes = model.outputs();
        let mut tape = Tape::default();
        let mut s = sim.clone();
        model.forward(x, batch, Quant::Sim(&mut s, None), false, &mut tape);
        let out = *sim.outputs.last().unwrap();
        let sim_codes: Vec<Vec<i32>> = tape.output.chunks(classes).map(|row| row.iter().map(|&v| quantize_one(v, out, sim.act_range, Rounding::HalfEven, 0)).collect()).collect();
        let mut codes = Vec::new();
        int.quantize_input(x, &mut codes);
        let int_codes: Vec<Vec<i32>> = int.run_batch(&codes, batch).chunks(classes).map(<[i32]>::to_vec).collect();
        // One sample at a time gives the same codes (integers: any order sums alike).
        let features = model.inputs();
        let mut one = Vec::new();
        int.quantize_input(&x[features..2 * features], &mut one);
        assert_eq!(int.run_batch(&one, 1), int_codes[1]);
        Agreement::of(&int_codes, &sim_codes)
    }

    #[test]
    fn integer_inference_agrees_with_the_simulation() {
        let mlp = Net::mlp(&[16, 32, 24, 5], Activation::Relu, 7).unwrap();
        let mut cnn = Net::cnn((4, 4), [6, 8], 5, Activation::Relu, 7).unwrap();
        // Batch norm with statistics of its own, folded as PTQ folds it.
        for layer in cnn.layers.iter_mut() {
            if let Some(bn) = layer.bn.as_mut() {
                for c in 0..bn.channels() {
                    bn.gamma[c] = 0.5 + 0.2 * c as f32;
                    bn.running_var[c] = 0.02 + 0.3 * c as f32;
                    bn.running_mean[c] = 0.1 - 0.03 * c as f32;
                }
            }
        }
        let cnn = cnn.folded();
        let batch = 200;
        let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
        for (name, model) in [("MLP", &mlp), ("CNN", &cnn)] {
            for (wbits, abits, per_channel) in [(8, 8, false), (8, 8, true), (4, 4, true), (2, 4, false)] {
                let sim = sim_for(model, &x, batch, wbits, abits, per_channel);
                let a = agreement(model, &x, batch, &sim);
                assert_eq!(a.samples, batch);
                // Both hold the same quantized bias; the integer model sums exactly and rounds M·acc
                // in fixed point, where the simulation sums in f32 (off by ~1e-6 relatively) and
                // rounds that: a code near a rounding tie can land one step apart, and carry on.
                assert!(a.max_code_diff <= 1, "{name} W{wbits}A{abits}: {a:?}");
                assert!(a.identical * 100 >= batch * 95, "{name} W{wbits}A{abits}: only {} of {batch} identical", a.identical);
            }
        }
        assert!(IntNet::convert(&Net::cnn((4, 4), [2, 2], 3, Activation::Relu, 0).unwrap(), &sim_for(&mlp, &x, 4, 8, 8, false)).is_err(), "batch norm must be folded first");
    }

    #[test]
    fn relu_is_folded_into_the_clamp() {
        let model = Net::mlp(&[3, 4, 2], Activation::Relu6, 1).unwrap();
        let x = [0.5f32, -1.0, 2.0, 3.0, 0.0, -2.0];
        let sim = sim_for(&model, &x, 2, 8, 8, false);
        let int = IntNet::convert(&model, &sim).unwrap();
        let hidden = &int.layers[0];
        assert_eq!(hidden.lo, hidden.out_zero.max(0));
        assert!(hidden.hi <= 255);
        assert_eq!((int.layers[1].lo, int.layers[1].hi), (0, 255), "logits keep the whole range");
    }

    #[test]
    fn argmax_takes_the_first_of_ties() {
        assert_eq!(argmax_i32(&[1, 3, 3, 2]), 1);
        assert_eq!(argmax_i32(&[]), 0);
    }
}
