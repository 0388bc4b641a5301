//! The Lab's networks: a stack of layers, each a linear map (dense, 3×3 convolution, depthwise
//! 3×3 or pointwise 1×1), optionally batch norm, an activation and 2×2 max pooling. Its forward
//! and backward passes, batch-norm folding, and the fake-quantization QAT inserts (Jacob et al.
//! 2018, §3): weights fake-quantized before each layer (from the current weights' min/max),
//! activations after it (from an observer), the straight-through estimator passing gradients
//! where a value was not clipped.
//!
//! The simulation rounds each bias to the int32 step `s_w·s_x` the integer model keeps it in, so
//! that the two differ only in how the last sum is rounded. A layer with batch norm trains as
//! PyTorch's `ConvBn2d` does: its weights are scaled by `γ/√(running σ² + ε)` before they are
//! fake-quantized (so the grid is the folded weights' grid), the product is scaled back, and
//! batch norm runs on it with batch statistics until they are frozen.

mod layer;
mod sim;
#[cfg(test)]
mod tests;

pub use layer::{Activation, Kind, Layer};
pub use sim::{quantized_bias, ActObserve, Quant, QuantSim, WeightQuant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::layers::{max_pool, max_pool_backward, BatchNorm, BnTape, Plane};
use super::NnError;
use crate::engine::quantizer::quantize::{fake_quantize_into, ste_mask_into};
use crate::engine::quantizer::rounding::Rounding;

/// The network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Net {
    pub layers: Vec<Layer>,
}

/// What a forward pass keeps of one layer for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct LayerTape {
    /// The layer's input (fake-quantized when simulating), `batch × in_features`, and its 3×3
    /// patches for a convolution.
    pub input: Vec<f32>,
    cols: Vec<f32>,
    /// The weights used when simulating (fake-quantized) and their STE mask.
    weights: Vec<f32>,
    weight_mask: Vec<bool>,
    /// With batch norm, when simulating: `γ/√(running σ² + ε)` per channel, and `z` the product
    /// scaled back by it (batch norm's input).
    fold_scale: Vec<f32>,
    z: Vec<f32>,
    bn: BnTape,
    /// The activation's input.
    pre: Vec<f32>,
    /// When simulating: the output's STE mask (before pooling).
    output_mask: Vec<bool>,
    pool_argmax: Vec<u32>,
}

/// What a forward pass keeps for the backward pass.
#[derive(Clone, Debug, Default)]
pub struct Tape {
    pub layers: Vec<LayerTape>,
    /// Whether the pass simulated quantization.
    pub quantized: bool,
    /// The network's output (logits; fake-quantized when simulating), `batch × classes`.
    pub output: Vec<f32>,
}

impl Tape {
    /// Layer `l`'s output (after pooling): the next layer's input, or the network's.
    pub fn layer_output(&self, l: usize) -> &[f32] {
        self.layers.get(l + 1).map_or(&self.output, |t| &t.input)
    }
}

/// Gradients, one per trained parameter tensor, in [`Net::params_mut`]'s order.
pub type Grads = Vec<Vec<f32>>;

/// Initial weights as PyTorch draws them for `nn.Linear` and `nn.Conv2d`: U(−1/√fan_in, 1/√fan_in).
fn draw(rng: &mut StdRng, n: usize, fan_in: usize) -> Vec<f32> {
    let bound = 1.0 / (fan_in as f32).sqrt();
    (0..n).map(|_| rng.gen_range(-bound..bound)).collect()
}

fn dense(rng: &mut StdRng, inputs: usize, outputs: usize, act: Activation) -> Layer {
    let (w, b) = (draw(rng, inputs * outputs, inputs), draw(rng, outputs, inputs));
    Layer { kind: Kind::Dense, inputs, outputs, w, b, bn: None, act, pool: false }
}

impl Net {
    /// Dense layers of `widths[0] → widths[1] → …`, hidden ones with `act`, the last without.
    pub fn mlp(widths: &[usize], act: Activation, seed: u64) -> Result<Net, NnError> {
        if widths.len() < 2 || widths.contains(&0) {
            return Err(NnError::Model(format!("an MLP needs at least two widths, none 0; got {widths:?}")));
        }
        if widths.iter().any(|&w| w > 4096) {
            return Err(NnError::Model(format!("layer widths above 4096 are not offered; got {widths:?}")));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let last = widths.len() - 2;
        let layers = widths.windows(2).enumerate().map(|(i, io)| dense(&mut rng, io[0], io[1], if i == last { Activation::None } else { act })).collect();
        Ok(Net { layers })
    }

    /// The small CNN for `h × w` single-channel images: 3×3 conv to `channels[0]` → BN → act,
    /// depthwise 3×3 → BN → act, pointwise to `channels[1]` → BN → act → 2×2 max pool, dense to
    /// `classes`. (MobileNet's blocks, so that folding batch norm into the depthwise weights gives
    /// per-channel ranges far apart.)
    pub fn cnn(image: (usize, usize), channels: [usize; 2], classes: usize, act: Activation, seed: u64) -> Result<Net, NnError> {
        let plane = Plane { h: image.0, w: image.1 };
        if plane.h < 2 || plane.w < 2 || plane.h % 2 == 1 || plane.w % 2 == 1 {
            return Err(NnError::Model(format!("the CNN pools 2×2: it needs even-sized images, got {}×{}", plane.h, plane.w)));
        }
        if channels.iter().any(|&c| c == 0 || c > 256) || classes == 0 {
            return Err(NnError::Model(format!("CNN channels must be 1 to 256, got {channels:?}")));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let [c1, c2] = channels;
        let conv = |rng: &mut StdRng, kind: Kind, inputs: usize, outputs: usize, pool: bool| Layer {
            kind,
            inputs,
            outputs,
            w: draw(rng, inputs * outputs, inputs),
            b: vec![0.0; outputs],
            bn: Some(BatchNorm::new(outputs)),
            act,
            pool,
        };
        let layers = vec![
            conv(&mut rng, Kind::Conv3x3 { plane, in_ch: 1 }, 9, c1, false),
            conv(&mut rng, Kind::Depthwise3x3 { plane }, 9, c1, false),
            conv(&mut rng, Kind::Pointwise { plane }, c1, c2, true),
            dense(&mut rng, plane.positions() / 4 * c2, classes, Activation::None),
        ];
        Ok(Net { layers })
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, Layer::in_features)
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, Layer::out_features)
    }

    /// The network with every batch norm folded into its layer's weights and bias (for PTQ, the
    /// simulation and the integer model).
    pub fn folded(&self) -> Net {
        Net { layers: self.layers.iter().map(Layer::folded).collect() }
    }

    pub fn has_batch_norm(&self) -> bool {
        self.layers.iter().any(|l| l.bn.is_some())
    }

    /// The forward pass over a batch `x` (`batch × inputs`), in float or as `quant` says. Batch
    /// norm uses the batch's statistics when `bn_batch_stats` (training), else the running ones.
    pub fn forward(&self, x: &[f32], batch: usize, mut quant: Quant, bn_batch_stats: bool, tape: &mut Tape) {
        tape.layers.resize(self.layers.len(), LayerTape::default());
        tape.quantized = matches!(quant, Quant::Sim(..));
        let mut current = x[..batch * self.inputs()].to_vec();
        match &mut quant {
            Quant::Float => {}
            Quant::Observe(o) => {
                o.observe(0, &current);
            }
            Quant::Sim(sim, observe) => {
                if let Some(o) = observe.as_mut() {
                    sim.input = o.observe(0, &current);
                }
                let copy = current.clone();
                fake_quantize_into(&copy, sim.input, sim.act_range, Rounding::HalfEven, &mut current);
            }
        }
        for (l, layer) in self.layers.iter().enumerate() {
            let t = &mut tape.layers[l];
            t.input = current;
            t.fold_scale.clear();
            let mut bias = std::borrow::Cow::Borrowed(&layer.b);
            let w: &[f32] = match &quant {
                Quant::Sim(sim, _) => {
                    let mut scaled = std::borrow::Cow::Borrowed(&layer.w);
                    if let Some(bn) = &layer.bn {
                        t.fold_scale = bn.fold_scale();
                        let mut w = layer.w.clone();
                        for (row, s) in w.chunks_mut(layer.inputs).zip(&t.fold_scale) {
                            row.iter_mut().for_each(|v| *v *= s);
                        }
                        scaled = std::borrow::Cow::Owned(w);
                    }
                    let params = sim.weights.qparams(&scaled, layer.inputs);
                    sim.weights.fake_quantize(&scaled, layer.inputs, &params, &mut t.weights, &mut t.weight_mask);
                    if layer.bn.is_none() {
                        // The bias as the integer model holds it: in int32 steps of s_w·s_x.
                        let s_x = if l == 0 { sim.input } else { sim.outputs[l - 1] };
                        let per = |o: usize| params[if sim.weights.per_channel { o } else { 0 }];
                        bias = std::borrow::Cow::Owned((0..layer.outputs).map(|o| quantized_bias(layer.b[o], per(o), s_x).1).collect());
                    }
                    &t.weights
                }
                _ => &layer.w,
            };
            let mut z = Vec::new();
            layer.linear(&t.input, batch, w, &bias, &mut t.cols, &mut z);
            if !t.fold_scale.is_empty() {
                for row in z.chunks_mut(layer.outputs) {
                    for (v, s) in row.iter_mut().zip(&t.fold_scale) {
                        *v /= s;
                    }
                }
                t.z.clone_from(&z);
            }
            if let Some(bn) = &layer.bn {
                bn.forward(&mut z, bn_batch_stats, &mut t.bn);
            }
            let mut a: Vec<f32> = match layer.act {
                Activation::None => z.clone(),
                Activation::Relu => z.iter().map(|&v| Activation::Relu.apply(v)).collect(),
                Activation::Relu6 => z.iter().map(|&v| Activation::Relu6.apply(v)).collect(),
            };
            match &mut quant {
                Quant::Float => {}
                Quant::Observe(o) => {
                    o.observe(l + 1, &a);
                }
                Quant::Sim(sim, observe) => {
                    if let Some(o) = observe.as_mut() {
                        sim.outputs[l] = o.observe(l + 1, &a);
                    }
                    let p = sim.outputs[l];
                    t.output_mask.resize(a.len(), false);
                    ste_mask_into(&a, p, sim.act_range, &mut t.output_mask);
                    let copy = a.clone();
                    fake_quantize_into(&copy, p, sim.act_range, Rounding::HalfEven, &mut a);
                }
            }
            t.pre = z;
            current = match (layer.pool, layer.kind.plane()) {
                (true, Some(plane)) => {
                    let mut pooled = Vec::new();
                    max_pool(&a, batch, plane, layer.outputs, &mut pooled, &mut t.pool_argmax);
                    pooled
                }
                _ => a,
            };
        }
        tape.output = current;
    }

    /// Moves each batch norm's running statistics toward those of `tape`'s batch (after a
    /// training step's forward pass with batch statistics).
    pub fn update_batch_norm(&mut self, tape: &Tape) {
        for (layer, t) in self.layers.iter_mut().zip(&tape.layers) {
            if let Some(bn) = layer.bn.as_mut() {
                bn.update_running(&t.bn);
            }
        }
    }

    /// The gradients of the mean cross-entropy of `tape`'s output against `labels`, and the loss.
    /// When the forward pass simulated quantization, the straight-through estimator: gradients
    /// flow through each fake-quantization where its value was not clipped, and reach the float
    /// weights through their fake-quantized copies (and, with batch norm, γ through the scale
    /// the weights were folded with, as in PyTorch's `ConvBn2d`).
    pub fn backward(&self, tape: &Tape, labels: &[u8], grads: &mut Grads) -> f32 {
        let batch = labels.len();
        let (loss, mut g) = softmax_cross_entropy(&tape.output, labels, self.outputs());
        let counts: Vec<usize> = self.layers.iter().map(Layer::param_count).collect();
        grads.resize(counts.iter().sum(), Vec::new());
        let mut first = counts.iter().sum::<usize>();
        for (l, layer) in self.layers.iter().enumerate().rev() {
            first -= counts[l];
            let t = &tape.layers[l];
            if layer.pool {
                g = max_pool_backward(&g, &t.pool_argmax, layer.rows(batch) * layer.outputs);
            }
            // Through the activation, and the fake-quantization's STE where it simulated.
            let act = layer.act;
            if tape.quantized {
                for ((gi, &z), &kept) in g.iter_mut().zip(&t.pre).zip(&t.output_mask) {
                    *gi *= f32::from(u8::from(kept)) * act.slope(z);
                }
            } else if act != Activation::None {
                for (gi, &z) in g.iter_mut().zip(&t.pre) {
                    *gi *= act.slope(z);
                }
            }
            let (dw, rest) = grads[first..first + counts[l]].split_first_mut().expect("weights");
            let mut dscale = Vec::new();
            match &layer.bn {
                Some(bn) => {
                    let (dgamma, dbeta) = rest.split_at_mut(1);
                    bn.backward(&t.bn, &mut g, &mut dgamma[0], &mut dbeta[0]);
                    if !t.fold_scale.is_empty() {
                        // z = conv/s: dz/ds = −z/s, and the product's gradient is g/s.
                        dscale = vec![0f32; layer.outputs];
                        for (row, zr) in g.chunks_mut(layer.outputs).zip(t.z.chunks(layer.outputs)) {
                            for o in 0..layer.outputs {
                                dscale[o] -= row[o] * zr[o] / t.fold_scale[o];
                                row[o] /= t.fold_scale[o];
                            }
                        }
                    }
                }
                None => {
                    let db = &mut rest[0];
                    db.clear();
                    db.resize(layer.outputs, 0.0);
                    for row in g.chunks(layer.outputs) {
                        for (d, v) in db.iter_mut().zip(row) {
                            *d += v;
                        }
                    }
                }
            }
            let w: &[f32] = if tape.quantized { &t.weights } else { &layer.w };
            let mut dx = Vec::new();
            layer.linear_backward(&g, batch, &t.input, &t.cols, w, dw, (l > 0).then_some(&mut dx));
            if tape.quantized {
                for (d, &m) in dw.iter_mut().zip(&t.weight_mask) {
                    if !m {
                        *d = 0.0;
                    }
                }
            }
            if !t.fold_scale.is_empty() {
                // The weights were scaled by s = γ/σ before fake-quantization: dW = dW_s·s, and
                // ds gains Σ dW_s·W; then dγ gains ds/σ.
                let bn = layer.bn.as_ref().expect("a fold scale comes with batch norm");
                for (o, (drow, wrow)) in dw.chunks_mut(layer.inputs).zip(layer.w.chunks(layer.inputs)).enumerate() {
                    for (d, &wv) in drow.iter_mut().zip(wrow) {
                        dscale[o] += *d * wv;
                        *d *= t.fold_scale[o];
                    }
                }
                let dgamma = &mut rest[0];
                for o in 0..layer.outputs {
                    dgamma[o] += dscale[o] / (bn.running_var[o] + super::layers::BN_EPS).sqrt();
                }
            }
            g = dx;
        }
        loss
    }

    /// The parameters as named tensors (`{prefix}layer{l}.weight`, shaped as PyTorch's, then the
    /// bias, or the batch norm's γ, β and running statistics and the weights and bias it folds
    /// into), for the Explorer.
    pub fn tensors(&self, prefix: &str) -> Vec<crate::engine::tensor::Tensor> {
        use crate::engine::tensor::Tensor;
        let t = |name: String, shape: Vec<usize>, data: &[f32]| Tensor { name, shape, data: data.to_vec(), stored_as: "f32".into() };
        let mut out = Vec::new();
        for (l, d) in self.layers.iter().enumerate() {
            let p = format!("{prefix}layer{l}");
            out.push(t(format!("{p}.weight"), d.weight_shape(), &d.w));
            match &d.bn {
                None => out.push(t(format!("{p}.bias"), vec![d.outputs], &d.b)),
                Some(bn) => {
                    for (name, v) in [("weight", &bn.gamma), ("bias", &bn.beta), ("running_mean", &bn.running_mean), ("running_var", &bn.running_var)] {
                        out.push(t(format!("{p}.bn.{name}"), vec![d.outputs], v));
                    }
                    let f = d.folded();
                    out.push(t(format!("{p}.folded.weight"), d.weight_shape(), &f.w));
                    out.push(t(format!("{p}.folded.bias"), vec![d.outputs], &f.b));
                }
            }
        }
        out
    }

    /// The trained parameter tensors, layer by layer (see `Layer::params_mut`).
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers.iter_mut().flat_map(Layer::params_mut)
    }
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
