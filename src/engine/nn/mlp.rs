//! A multi-layer perceptron: dense layers with ReLU or ReLU6, its forward and backward passes,
//! and the fake-quantization QAT inserts (Jacob et al. 2018, §3): weights fake-quantized before
//! each layer (from the current weights' min/max), activations after it (from an observer), the
//! straight-through estimator passing gradients where a value was not clipped. The simulation
//! also rounds each bias to the int32 step `s_w·s_x` the integer model keeps it in, so that the
//! two differ only in how the last sum is rounded.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::linalg::{gemm, Op};
use super::NnError;
use crate::engine::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantize::{fake_quantize_into, ste_mask_into};
use crate::engine::rounding::Rounding;

/// The nonlinearity after a hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Activation {
    /// The output layer: logits.
    None,
    Relu,
    /// `min(max(x, 0), 6)` (MobileNet's).
    Relu6,
}

impl Activation {
    #[inline]
    fn apply(self, z: f32) -> f32 {
        match self {
            Activation::None => z,
            Activation::Relu => z.max(0.0),
            Activation::Relu6 => z.clamp(0.0, 6.0),
        }
    }

    /// `d act / d z` (0 at and beyond the kinks, as PyTorch's).
    #[inline]
    fn slope(self, z: f32) -> f32 {
        match self {
            Activation::None => 1.0,
            Activation::Relu => f32::from(u8::from(z > 0.0)),
            Activation::Relu6 => f32::from(u8::from(z > 0.0 && z < 6.0)),
        }
    }
}

/// One dense layer: `y = act(x·Wᵀ + b)`, `W` stored `outputs × inputs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub act: Activation,
}

/// The network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    pub layers: Vec<Dense>,
}

/// How the weights are quantized: symmetric signed codes (PyTorch's `per_tensor_symmetric` /
/// `per_channel_symmetric` weight qconfigs), per tensor or per output channel.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightQuant {
    pub range: QRange,
    pub per_channel: bool,
}

impl WeightQuant {
    /// The scale and zero point of `layer`'s weights from their current min/max: one entry, or
    /// one per output channel.
    pub fn qparams(&self, layer: &Dense) -> Vec<QParams> {
        let of = |w: &[f32]| {
            let (lo, hi, _) = crate::engine::observer::finite_min_max(w);
            calculate_qparams(lo, hi, QScheme::Symmetric, self.range)
        };
        if self.per_channel {
            layer.w.chunks(layer.inputs.max(1)).map(of).collect()
        } else {
            vec![of(&layer.w)]
        }
    }

    /// `layer`'s weights fake-quantized with `params` (see [`WeightQuant::qparams`]), and the
    /// straight-through mask (true where a weight was not clipped).
    pub fn fake_quantize(&self, layer: &Dense, params: &[QParams], out: &mut Vec<f32>, mask: &mut Vec<bool>) {
        out.resize(layer.w.len(), 0.0);
        mask.resize(layer.w.len(), false);
        let rows = layer.w.chunks(layer.inputs.max(1)).zip(out.chunks_mut(layer.inputs.max(1))).zip(mask.chunks_mut(layer.inputs.max(1)));
        for (o, ((w, q), m)) in rows.enumerate() {
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

/// What a forward pass keeps for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    /// Per layer: its input (fake-quantized when simulating), `B × inputs`.
    pub inputs: Vec<Vec<f32>>,
    /// Per layer: `z = x·Wᵀ + b` before the activation.
    pub pre: Vec<Vec<f32>>,
    /// Per layer, when simulating: the weights used (fake-quantized) and their STE mask.
    pub weights: Vec<Vec<f32>>,
    pub weight_masks: Vec<Vec<bool>>,
    /// Per layer, when simulating: the output's STE mask.
    pub output_masks: Vec<Vec<bool>>,
    /// The network's output (logits; fake-quantized when simulating), `B × classes`.
    pub output: Vec<f32>,
}

/// Gradients, shaped as the layers' parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Grads {
    pub w: Vec<Vec<f32>>,
    pub b: Vec<Vec<f32>>,
}

impl Mlp {
    /// Layers of `widths[0] → widths[1] → …`, hidden ones with `act`, the last without.
    /// Weights and biases are drawn as PyTorch's `nn.Linear` does: U(−1/√in, 1/√in), seeded.
    pub fn new(widths: &[usize], act: Activation, seed: u64) -> Result<Mlp, NnError> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(NnError::Model(format!("an MLP needs at least two widths, none 0; got {widths:?}")));
        }
        if widths.iter().any(|&w| w > 4096) {
            return Err(NnError::Model(format!("layer widths above 4096 are not offered; got {widths:?}")));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, io)| {
                let (inputs, outputs) = (io[0], io[1]);
                let bound = 1.0 / (inputs as f32).sqrt();
                let mut draw = |n: usize| (0..n).map(|_| rng.gen_range(-bound..bound)).collect::<Vec<f32>>();
                let (w, b) = (draw(inputs * outputs), draw(outputs));
                Dense { inputs, outputs, w, b, act: if i + 2 == widths.len() { Activation::None } else { act } }
            })
            .collect();
        Ok(Mlp { layers })
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// The forward pass over a batch `x` (`batch × inputs`), in float or simulating `sim`. With
    /// `observe`, each activation (and the input) is shown to its observer before its scale and
    /// zero point are taken (QAT's training step: observe, then fake-quantize), which updates
    /// `sim`.
    pub fn forward(&self, x: &[f32], batch: usize, mut sim: Option<(&mut QuantSim, Option<&mut dyn ActObserve>)>, tape: &mut Tape) {
        let n_layers = self.layers.len();
        tape.inputs.resize(n_layers, Vec::new());
        tape.pre.resize(n_layers, Vec::new());
        // The masks say to `backward` whether this pass simulated quantization: a float pass
        // clears those a previous pass left.
        let len = if sim.is_some() { n_layers } else { 0 };
        tape.weights.resize(len, Vec::new());
        tape.weight_masks.resize(len, Vec::new());
        tape.output_masks.resize(len, Vec::new());
        // The input, fake-quantized when simulating.
        let mut current = x[..batch * self.inputs()].to_vec();
        if let Some((sim, observe)) = sim.as_mut() {
            if let Some(o) = observe.as_mut() {
                sim.input = o.observe(0, &current);
            }
            let copy = current.clone();
            fake_quantize_into(&copy, sim.input, sim.act_range, Rounding::HalfEven, &mut current);
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let mut z = vec![0f32; batch * layer.outputs];
            let mut bias = std::borrow::Cow::Borrowed(&layer.b);
            let w: &[f32] = match sim.as_ref() {
                Some((sim, _)) => {
                    let params = sim.weights.qparams(layer);
                    let (wq, mask) = (&mut tape.weights[l], &mut tape.weight_masks[l]);
                    sim.weights.fake_quantize(layer, &params, wq, mask);
                    // The bias as the integer model holds it: in int32 steps of s_w·s_x.
                    let s_x = if l == 0 { sim.input } else { sim.outputs[l - 1] };
                    let per = |o: usize| params[if sim.weights.per_channel { o } else { 0 }];
                    bias = std::borrow::Cow::Owned((0..layer.outputs).map(|o| quantized_bias(layer.b[o], per(o), s_x).1).collect());
                    wq
                }
                None => &layer.w,
            };
            for row in z.chunks_mut(layer.outputs) {
                row.copy_from_slice(&bias);
            }
            gemm(batch, layer.inputs, layer.outputs, &current, Op::N, w, Op::T, 1.0, &mut z);
            let mut a: Vec<f32> = z.iter().map(|&v| layer.act.apply(v)).collect();
            if let Some((sim, observe)) = sim.as_mut() {
                if let Some(o) = observe.as_mut() {
                    sim.outputs[l] = o.observe(l + 1, &a);
                }
                let p = sim.outputs[l];
                let mask = &mut tape.output_masks[l];
                mask.resize(a.len(), false);
                ste_mask_into(&a, p, sim.act_range, mask);
                let copy = a.clone();
                fake_quantize_into(&copy, p, sim.act_range, Rounding::HalfEven, &mut a);
            }
            tape.inputs[l] = std::mem::replace(&mut current, a);
            tape.pre[l] = z;
        }
        tape.output = current;
    }

    /// The gradients of the mean cross-entropy of `tape`'s output against `labels`, and the loss.
    /// When the forward pass simulated quantization, the straight-through estimator: gradients
    /// flow through each fake-quantization where its value was not clipped, and reach the float
    /// weights through their fake-quantized copies.
    pub fn backward(&self, tape: &Tape, labels: &[u8], grads: &mut Grads) -> f32 {
        let batch = labels.len();
        let classes = self.outputs();
        let (loss, mut g) = softmax_cross_entropy(&tape.output, labels, classes);
        let quantized = !tape.output_masks.is_empty();
        grads.w.resize(self.layers.len(), Vec::new());
        grads.b.resize(self.layers.len(), Vec::new());
        for (l, layer) in self.layers.iter().enumerate().rev() {
            let z = &tape.pre[l];
            for (i, gi) in g.iter_mut().enumerate() {
                let through = if quantized && !tape.output_masks[l][i] { 0.0 } else { 1.0 };
                *gi *= through * layer.act.slope(z[i]);
            }
            let (dw, db) = (&mut grads.w[l], &mut grads.b[l]);
            dw.resize(layer.w.len(), 0.0);
            db.clear();
            db.resize(layer.outputs, 0.0);
            gemm(layer.outputs, batch, layer.inputs, &g, Op::T, &tape.inputs[l], Op::N, 0.0, dw);
            for row in g.chunks(layer.outputs) {
                for (d, v) in db.iter_mut().zip(row) {
                    *d += v;
                }
            }
            let w: &[f32] = if quantized { &tape.weights[l] } else { &layer.w };
            if quantized {
                for (d, &m) in dw.iter_mut().zip(&tape.weight_masks[l]) {
                    if !m {
                        *d = 0.0;
                    }
                }
            }
            if l > 0 {
                let mut prev = vec![0f32; batch * layer.inputs];
                gemm(batch, layer.outputs, layer.inputs, &g, Op::N, w, Op::N, 0.0, &mut prev);
                g = prev;
            }
        }
        loss
    }

    /// The parameters as named tensors (`{prefix}layer{l}.weight` as `[outputs, inputs]`, then
    /// `.bias`), for the Explorer.
    pub fn tensors(&self, prefix: &str) -> Vec<crate::engine::tensor::Tensor> {
        use crate::engine::tensor::Tensor;
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(l, d)| {
                [
                    Tensor { name: format!("{prefix}layer{l}.weight"), shape: vec![d.outputs, d.inputs], data: d.w.clone(), stored_as: "f32".into() },
                    Tensor { name: format!("{prefix}layer{l}.bias"), shape: vec![d.outputs], data: d.b.clone(), stored_as: "f32".into() },
                ]
            })
            .collect()
    }

    /// Visits every parameter tensor with its gradient (weights then bias, layer by layer).
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers.iter_mut().flat_map(|l| [&mut l.w, &mut l.b])
    }
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

/// Mean softmax cross-entropy of `logits` (`batch × classes`) against `labels`, and its gradient
/// with respect to the logits (`(softmax − onehot)/batch`). Computed with the max subtracted, so
/// large logits neither overflow nor lose the small ones; `exp` and `log` are libm's, the same
/// bits on every target.
pub fn softmax_cross_entropy(logits: &[f32], labels: &[u8], classes: usize) -> (f32, Vec<f32>) {
    let batch = labels.len();
    let mut grad = vec![0f32; batch * classes];
    let mut loss = 0f64;
    for ((row, g), &y) in logits.chunks(classes).zip(grad.chunks_mut(classes)).zip(labels) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for (gi, &v) in g.iter_mut().zip(row) {
            *gi = libm::expf(v - max);
            sum += *gi;
        }
        loss += (libm::logf(sum) - (row[y as usize] - max)) as f64;
        for gi in g.iter_mut() {
            *gi /= sum * batch as f32;
        }
        g[y as usize] -= 1.0 / batch as f32;
    }
    ((loss / batch.max(1) as f64) as f32, grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finite differences against the analytic gradient, parameter by parameter: central
    /// differences with this step, compared within this tolerance (relative to the larger of the
    /// two and [`FD_FLOOR`]). f32 throughout: the loss is accurate to ~1e-7, so the estimate to
    /// ~1e-5.
    const FD_STEP: f32 = 5e-3;
    const FD_TOL: f32 = 2e-2;
    /// Gradients below this are compared absolutely: the estimate's own noise is ~1e-5.
    const FD_FLOOR: f32 = 1e-2;

    fn loss_of(m: &Mlp, x: &[f32], y: &[u8]) -> f32 {
        let mut tape = Tape::default();
        m.forward(x, y.len(), None, &mut tape);
        softmax_cross_entropy(&tape.output, y, m.outputs()).0
    }

    #[test]
    fn gradients_match_finite_differences() {
        for act in [Activation::Relu, Activation::Relu6, Activation::None] {
            let mut m = Mlp::new(&[5, 7, 6, 4], act, 3).unwrap();
            let x: Vec<f32> = (0..3 * 5).map(|i| (i as f32 * 0.7).sin() * 2.0).collect();
            let y = [0u8, 3, 1];
            let mut tape = Tape::default();
            m.forward(&x, 3, None, &mut tape);
            let mut grads = Grads { w: vec![], b: vec![] };
            m.backward(&tape, &y, &mut grads);
            let analytic: Vec<Vec<f32>> = grads.w.iter().zip(&grads.b).flat_map(|(w, b)| [w.clone(), b.clone()]).collect();
            let mut checked = 0;
            for p in 0..analytic.len() {
                for i in 0..analytic[p].len() {
                    let orig = m.params_mut().nth(p).unwrap()[i];
                    m.params_mut().nth(p).unwrap()[i] = orig + FD_STEP;
                    let up = loss_of(&m, &x, &y);
                    m.params_mut().nth(p).unwrap()[i] = orig - FD_STEP;
                    let down = loss_of(&m, &x, &y);
                    m.params_mut().nth(p).unwrap()[i] = orig;
                    let fd = (up - down) / (2.0 * FD_STEP);
                    let an = analytic[p][i];
                    let scale = fd.abs().max(an.abs()).max(FD_FLOOR);
                    assert!((fd - an).abs() / scale < FD_TOL, "{act:?} param {p}[{i}]: fd {fd} analytic {an}");
                    checked += 1;
                }
            }
            assert_eq!(checked, 5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
        }
    }

    #[test]
    fn cross_entropy_is_stable_and_its_gradient_sums_to_zero() {
        let (loss, g) = softmax_cross_entropy(&[1000.0, 0.0, -1000.0], &[0], 3);
        assert!(loss.abs() < 1e-6 && g.iter().all(|v| v.is_finite()));
        let (loss, g) = softmax_cross_entropy(&[0.0; 4], &[2], 4);
        assert!((loss - 4f32.ln()).abs() < 1e-6);
        assert!(g.iter().sum::<f32>().abs() < 1e-6);
        assert_eq!(softmax_cross_entropy(&[], &[], 3).0, 0.0);
    }

    #[test]
    fn a_fine_grid_simulates_float_and_passes_float_gradients() {
        // At 12 bits with observers that saw the data, fake-quantization barely moves anything:
        // the STE gradients are the float ones within the grid's resolution. (Not 16: the bias's
        // int32 step s_w·s_x would be too fine for int32 to hold the bias.)
        struct MinMaxOf;
        impl ActObserve for MinMaxOf {
            fn observe(&mut self, _: usize, v: &[f32]) -> QParams {
                let (lo, hi, _) = crate::engine::observer::finite_min_max(v);
                calculate_qparams(lo, hi, QScheme::Affine, QRange::with_bits(12, true).unwrap())
            }
        }
        let m = Mlp::new(&[4, 8, 3], Activation::Relu, 1).unwrap();
        let x: Vec<f32> = (0..2 * 4).map(|i| (i as f32).cos()).collect();
        let y = [2u8, 0];
        let (mut float, mut quant) = (Tape::default(), Tape::default());
        m.forward(&x, 2, None, &mut float);
        let mut sim = QuantSim {
            weights: WeightQuant { range: QRange::with_bits(12, false).unwrap(), per_channel: true },
            act_range: QRange::with_bits(12, true).unwrap(),
            input: QParams::UNOBSERVED,
            outputs: vec![QParams::UNOBSERVED; 2],
        };
        let mut obs = MinMaxOf;
        m.forward(&x, 2, Some((&mut sim, Some(&mut obs))), &mut quant);
        for (a, b) in float.output.iter().zip(&quant.output) {
            assert!((a - b).abs() < 1e-2, "{a} {b}");
        }
        let (mut gf, mut gq) = (Grads { w: vec![], b: vec![] }, Grads { w: vec![], b: vec![] });
        m.backward(&float, &y, &mut gf);
        m.backward(&quant, &y, &mut gq);
        // Except where the STE mask is off: symmetric signed codes put a channel's largest
        // positive weight at +127.5 steps (here 2047.5), which rounds past qmax and is clipped,
        // as in PyTorch (at most one weight per channel).
        let kept = quant.weight_masks.iter().flatten();
        for ((a, b), &k) in gf.w.iter().flatten().zip(gq.w.iter().flatten()).zip(kept) {
            assert!(if k { (a - b).abs() < 1e-2 } else { *b == 0.0 }, "{a} {b} {k}");
        }
        assert!(quant.weight_masks.iter().flatten().filter(|k| !**k).count() <= 8 + 3);
        // A coarse grid clips: where the STE mask is off, no gradient reaches the weight.
        let mut coarse = QuantSim { weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false }, ..sim.clone() };
        m.forward(&x, 2, Some((&mut coarse, Some(&mut obs))), &mut quant);
        m.backward(&quant, &y, &mut gq);
        for (l, (g, mask)) in gq.w.iter().zip(&quant.weight_masks).enumerate() {
            for (v, &kept) in g.iter().zip(mask) {
                assert!(kept || *v == 0.0, "layer {l}: a clipped weight got gradient {v}");
            }
        }
        assert!(quant.weight_masks.iter().flatten().any(|&k| !k), "2-bit symmetric codes clip the largest weights");
    }

    #[test]
    fn a_tape_reused_for_a_float_pass_gives_float_gradients() {
        let m = Mlp::new(&[3, 5, 2], Activation::Relu, 4).unwrap();
        let x = [0.3f32, -0.7, 1.1, 0.9, 0.2, -0.4];
        let y = [1u8, 0];
        let mut fresh = Tape::default();
        m.forward(&x, 2, None, &mut fresh);
        let mut reused = Tape::default();
        let mut sim = QuantSim {
            weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false },
            act_range: QRange::with_bits(2, true).unwrap(),
            input: QParams { scale: 0.5, zero_point: 1 },
            outputs: vec![QParams { scale: 0.5, zero_point: 1 }; 2],
        };
        m.forward(&x, 2, Some((&mut sim, None)), &mut reused);
        m.forward(&x, 2, None, &mut reused);
        let (mut a, mut b) = (Grads { w: vec![], b: vec![] }, Grads { w: vec![], b: vec![] });
        m.backward(&fresh, &y, &mut a);
        m.backward(&reused, &y, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Mlp::new(&[4], Activation::Relu, 0).is_err());
        assert!(Mlp::new(&[4, 0, 2], Activation::Relu, 0).is_err());
        assert!(Mlp::new(&[4, 5000, 2], Activation::Relu, 0).is_err());
        let m = Mlp::new(&[64, 128, 128, 10], Activation::Relu, 0).unwrap();
        assert_eq!((m.inputs(), m.outputs(), m.layers.len()), (64, 10, 3));
        assert_eq!(m.layers[2].act, Activation::None);
        let t = m.tensors("fp32/");
        assert_eq!(t.len(), 6);
        assert_eq!((t[0].name.as_str(), t[0].shape.as_slice()), ("fp32/layer0.weight", &[128, 64][..]));
        assert_eq!(t[5].data, m.layers[2].b);
    }
}
