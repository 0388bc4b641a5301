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

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::layers::{col2im, depthwise, depthwise_backward, im2col, max_pool, max_pool_backward, BatchNorm, BnTape, Plane};
use super::linalg::{gemm, gemm_tn, Op};
use super::NnError;
use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantizer::quantize::{fake_quantize_into, ste_mask_into};
use crate::engine::quantizer::rounding::Rounding;

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
    fn apply(self, z: f32) -> f32 {
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
    fn slope(self, z: f32) -> f32 {
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
    fn linear(&self, x: &[f32], batch: usize, w: &[f32], bias: &[f32], cols: &mut Vec<f32>, z: &mut Vec<f32>) {
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
    fn linear_backward(&self, g: &[f32], batch: usize, x: &[f32], cols: &[f32], w: &[f32], dw: &mut Vec<f32>, dx: Option<&mut Vec<f32>>) {
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
    fn params_mut(&mut self) -> Vec<&mut Vec<f32>> {
        match self.bn.as_mut() {
            Some(bn) => vec![&mut self.w, &mut bn.gamma, &mut bn.beta],
            None => vec![&mut self.w, &mut self.b],
        }
    }

    fn param_count(&self) -> usize {
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

/// The network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Net {
    pub layers: Vec<Layer>,
}

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

    /// The trained parameter tensors, layer by layer (see [`Layer::params_mut`]).
    pub fn params_mut(&mut self) -> impl Iterator<Item = &mut Vec<f32>> {
        self.layers.iter_mut().flat_map(Layer::params_mut)
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

    /// Checks every parameter's gradient of `loss` (a forward pass of `m`) against the analytic
    /// one `backward` gives after `forward`; returns how many were checked.
    fn check_gradients(m: &mut Net, forward: &dyn Fn(&Net, &mut Tape), y: &[u8], what: &str) -> usize {
        let mut tape = Tape::default();
        forward(m, &mut tape);
        let mut grads = Grads::new();
        m.backward(&tape, y, &mut grads);
        let loss_of = |m: &Net| {
            let mut tape = Tape::default();
            forward(m, &mut tape);
            softmax_cross_entropy(&tape.output, y, m.outputs()).0
        };
        let mut checked = 0;
        for (p, grad) in grads.iter().enumerate() {
            for (i, &an) in grad.iter().enumerate() {
                let orig = m.params_mut().nth(p).unwrap()[i];
                m.params_mut().nth(p).unwrap()[i] = orig + FD_STEP;
                let up = loss_of(m);
                m.params_mut().nth(p).unwrap()[i] = orig - FD_STEP;
                let down = loss_of(m);
                m.params_mut().nth(p).unwrap()[i] = orig;
                let fd = (up - down) / (2.0 * FD_STEP);
                let scale = fd.abs().max(an.abs()).max(FD_FLOOR);
                assert!((fd - an).abs() / scale < FD_TOL, "{what}: param {p}[{i}]: fd {fd} analytic {an}");
                checked += 1;
            }
        }
        checked
    }

    fn wave(n: usize, f: f32, amp: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * f).sin() * amp).collect()
    }

    #[test]
    fn mlp_gradients_match_finite_differences() {
        for act in [Activation::Relu, Activation::Relu6, Activation::None] {
            let mut m = Net::mlp(&[5, 7, 6, 4], act, 3).unwrap();
            let x = wave(3 * 5, 0.7, 2.0);
            let y = [0u8, 3, 1];
            let n = check_gradients(&mut m, &|m, t| m.forward(&x, 3, Quant::Float, false, t), &y, &format!("{act:?}"));
            assert_eq!(n, 5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
        }
    }

    /// A CNN small enough to check every parameter: 4×4 images, 2 and 3 channels, 3 classes.
    fn small_cnn(act: Activation) -> (Net, Vec<f32>, [u8; 4]) {
        let mut m = Net::cnn((4, 4), [2, 3], 3, act, 5).unwrap();
        // Finite differences step over max pooling's kinks (two values of a window closer
        // than the step swap), so the checks run without it: its gradient has its own test
        // (`layers::tests`), which routes each pooled gradient to the value it took.
        m.layers[2].pool = false;
        m.layers[3] = dense(&mut StdRng::seed_from_u64(6), 16 * 3, 3, Activation::None);
        // Batch norm away from its identity start, so γ, β and the running statistics all count.
        for (l, layer) in m.layers.iter_mut().enumerate() {
            if let Some(bn) = layer.bn.as_mut() {
                for c in 0..bn.channels() {
                    bn.gamma[c] = 0.8 + 0.3 * c as f32 + 0.1 * l as f32;
                    bn.beta[c] = 0.2 - 0.15 * c as f32;
                    bn.running_mean[c] = 0.05 * c as f32 - 0.02 * l as f32;
                    bn.running_var[c] = 0.3 + 0.4 * c as f32;
                }
            }
        }
        (m, wave(4 * 16, 0.61, 1.5), [0, 2, 1, 2])
    }

    #[test]
    fn cnn_gradients_match_finite_differences() {
        // Conv, depthwise, pointwise, batch norm (batch and running statistics), dense. Without
        // activations: batch norm centres every channel on 0, where finite differences would
        // step across ReLU's kink for many values (its gradient is checked on the MLP).
        {
            for batch_stats in [true, false] {
                let (mut m, x, y) = small_cnn(Activation::None);
                let n = check_gradients(&mut m, &|m, t| m.forward(&x, 4, Quant::Float, batch_stats, t), &y, &format!("batch stats {batch_stats}"));
                // conv 9·2 + γβ 2·2; depthwise 9·2 + 2·2; pointwise 2·3 + 2·3; dense 48·3 + 3.
                assert_eq!(n, 18 + 4 + 18 + 4 + 6 + 6 + 144 + 3);
            }
        }
    }

    // QAT's conv-batch-norm step (weights scaled by γ/σ, fake-quantized, the product scaled
    // back, batch norm on it) is checked against PyTorch's `ConvBn2d` in tests/golden.rs:
    // finite differences cannot see through fake-quantization, and with it the identity the
    // path through γ/σ cancels exactly.

    #[test]
    fn folding_batch_norm_keeps_the_network_and_simulates_as_qat_trains() {
        let (m, x, _) = small_cnn(Activation::Relu);
        let f = m.folded();
        assert!(!f.has_batch_norm() && m.has_batch_norm());
        let (mut a, mut b) = (Tape::default(), Tape::default());
        m.forward(&x, 4, Quant::Float, false, &mut a);
        f.forward(&x, 4, Quant::Float, false, &mut b);
        for (p, q) in a.output.iter().zip(&b.output) {
            assert!((p - q).abs() < 1e-5, "{p} {q}");
        }
        // With frozen statistics, QAT's conv-batch-norm forward is the folded layer with the
        // folded weights' grid: the same fake-quantized weights, the output equal but for the
        // bias's int32 rounding and f32 order.
        let sim = QuantSim {
            weights: WeightQuant { range: QRange::with_bits(8, false).unwrap(), per_channel: false },
            act_range: QRange::with_bits(8, true).unwrap(),
            input: calculate_qparams(-1.5, 1.5, QScheme::Affine, QRange::with_bits(8, true).unwrap()),
            outputs: vec![calculate_qparams(0.0, 6.0, QScheme::Affine, QRange::with_bits(8, true).unwrap()); 4],
        };
        let (mut s1, mut s2) = (sim.clone(), sim.clone());
        m.forward(&x, 4, Quant::Sim(&mut s1, None), false, &mut a);
        f.forward(&x, 4, Quant::Sim(&mut s2, None), false, &mut b);
        assert_eq!(a.layers[1].weights, b.layers[1].weights);
        let step = sim.outputs[3].scale;
        for (p, q) in a.output.iter().zip(&b.output) {
            assert!((p - q).abs() <= step * 1.001, "{p} {q}");
        }
        let names: Vec<String> = m.tensors("m/").into_iter().map(|t| format!("{} {:?}", t.name, t.shape)).collect();
        assert_eq!(names[..3], ["m/layer0.weight [2, 1, 3, 3]", "m/layer0.bn.weight [2]", "m/layer0.bn.bias [2]"]);
        assert!(names.contains(&"m/layer1.folded.weight [2, 1, 3, 3]".to_string()) && names.contains(&"m/layer2.weight [3, 2, 1, 1]".to_string()));
        assert_eq!(names.last().unwrap(), "m/layer3.bias [3]");
        assert_eq!(Net::cnn((4, 4), [2, 3], 3, Activation::Relu, 5).unwrap().tensors("m/").last().unwrap().shape, [3]);
    }

    #[test]
    fn running_statistics_follow_the_batches() {
        let (mut m, x, _) = small_cnn(Activation::Relu);
        let mut tape = Tape::default();
        for _ in 0..200 {
            m.forward(&x, 4, Quant::Float, true, &mut tape);
            m.update_batch_norm(&tape);
        }
        // After many identical batches the running statistics are the batch's (the variance
        // unbiased, as PyTorch keeps it).
        for (layer, t) in m.layers.iter().zip(&tape.layers) {
            if let Some(bn) = &layer.bn {
                for c in 0..bn.channels() {
                    assert!((bn.running_mean[c] - t.bn.mean[c]).abs() < 1e-4, "{} {}", bn.running_mean[c], t.bn.mean[c]);
                    assert!((bn.running_var[c] / t.bn.var_unbiased[c] - 1.0).abs() < 1e-4, "{} {}", bn.running_var[c], t.bn.var_unbiased[c]);
                }
            }
        }
    }

    #[test]
    fn activations_follow_their_definitions_at_the_edges() {
        let inf = f32::INFINITY;
        for (z, relu, relu6) in [(-1.0, 0.0, 0.0), (-0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (6.0, 6.0, 6.0), (7.5, 7.5, 6.0), (inf, inf, 6.0), (-inf, 0.0, 0.0), (f32::MIN_POSITIVE / 2.0, f32::MIN_POSITIVE / 2.0, f32::MIN_POSITIVE / 2.0)] {
            assert_eq!(Activation::Relu.apply(z).to_bits(), f32::to_bits(relu), "ReLU({z})");
            assert_eq!(Activation::Relu6.apply(z).to_bits(), f32::to_bits(relu6), "ReLU6({z})");
            assert_eq!(Activation::None.apply(z).to_bits(), z.to_bits());
        }
        // NaN: ReLU gives 0 (as `f32::max` did), ReLU6 keeps it (as `clamp` did).
        assert_eq!(Activation::Relu.apply(f32::NAN), 0.0);
        assert!(Activation::Relu6.apply(f32::NAN).is_nan());
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
        let m = Net::mlp(&[4, 8, 3], Activation::Relu, 1).unwrap();
        let x: Vec<f32> = (0..2 * 4).map(|i| (i as f32).cos()).collect();
        let y = [2u8, 0];
        let (mut float, mut quant) = (Tape::default(), Tape::default());
        m.forward(&x, 2, Quant::Float, false, &mut float);
        let mut sim = QuantSim {
            weights: WeightQuant { range: QRange::with_bits(12, false).unwrap(), per_channel: true },
            act_range: QRange::with_bits(12, true).unwrap(),
            input: QParams::UNOBSERVED,
            outputs: vec![QParams::UNOBSERVED; 2],
        };
        let mut obs = MinMaxOf;
        m.forward(&x, 2, Quant::Sim(&mut sim, Some(&mut obs)), false, &mut quant);
        for (a, b) in float.output.iter().zip(&quant.output) {
            assert!((a - b).abs() < 1e-2, "{a} {b}");
        }
        let (mut gf, mut gq) = (Grads::new(), Grads::new());
        m.backward(&float, &y, &mut gf);
        m.backward(&quant, &y, &mut gq);
        // Except where the STE mask is off: symmetric signed codes put a channel's largest
        // positive weight at +127.5 steps (here 2047.5), which rounds past qmax and is clipped,
        // as in PyTorch (at most one weight per channel).
        let masks: Vec<&Vec<bool>> = quant.layers.iter().map(|t| &t.weight_mask).collect();
        for (l, mask) in masks.iter().enumerate() {
            for ((a, b), &k) in gf[2 * l].iter().zip(&gq[2 * l]).zip(mask.iter()) {
                assert!(if k { (a - b).abs() < 1e-2 } else { *b == 0.0 }, "{a} {b} {k}");
            }
        }
        assert!(masks.iter().map(|m| m.iter().filter(|k| !**k).count()).sum::<usize>() <= 8 + 3);
        // A coarse grid clips: where the STE mask is off, no gradient reaches the weight.
        let mut coarse = QuantSim { weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false }, ..sim.clone() };
        m.forward(&x, 2, Quant::Sim(&mut coarse, Some(&mut obs)), false, &mut quant);
        m.backward(&quant, &y, &mut gq);
        for (l, t) in quant.layers.iter().enumerate() {
            for (v, &kept) in gq[2 * l].iter().zip(&t.weight_mask) {
                assert!(kept || *v == 0.0, "layer {l}: a clipped weight got gradient {v}");
            }
        }
        assert!(quant.layers.iter().flat_map(|t| &t.weight_mask).any(|&k| !k), "2-bit symmetric codes clip the largest weights");
    }

    #[test]
    fn a_tape_reused_for_a_float_pass_gives_float_gradients() {
        let m = Net::mlp(&[3, 5, 2], Activation::Relu, 4).unwrap();
        let x = [0.3f32, -0.7, 1.1, 0.9, 0.2, -0.4];
        let y = [1u8, 0];
        let mut fresh = Tape::default();
        m.forward(&x, 2, Quant::Float, false, &mut fresh);
        let mut reused = Tape::default();
        let mut sim = QuantSim {
            weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false },
            act_range: QRange::with_bits(2, true).unwrap(),
            input: QParams { scale: 0.5, zero_point: 1 },
            outputs: vec![QParams { scale: 0.5, zero_point: 1 }; 2],
        };
        m.forward(&x, 2, Quant::Sim(&mut sim, None), false, &mut reused);
        m.forward(&x, 2, Quant::Float, false, &mut reused);
        let (mut a, mut b) = (Grads::new(), Grads::new());
        m.backward(&fresh, &y, &mut a);
        m.backward(&reused, &y, &mut b);
        assert_eq!(a, b);
    }

    #[test]
    fn the_share_near_the_grid_counts_each_channel_on_its_own_grid() {
        let wq = WeightQuant { range: QRange::with_bits(4, false).unwrap(), per_channel: true };
        // Two channels: on grids of step 0.1 and 0.001 (the largest at 7.5 steps, half a step
        // off, as symmetric min/max puts it); per tensor the second is all near 0 of a coarse grid.
        let mut w: Vec<f32> = (0..8).map(|k| (k as f32 - 4.0) * 0.1).collect();
        w[7] = 0.75;
        w.extend((0..8).map(|k| (k as f32 - 4.0) * 0.001 + 0.0003));
        w[15] = 0.0075;
        assert_eq!(wq.share_near_grid(&w, 8, 0.1), 7.0 / 16.0);
        let per_tensor = WeightQuant { per_channel: false, ..wq };
        assert_eq!(per_tensor.share_near_grid(&w, 8, 0.1), 15.0 / 16.0, "within a tenth of the coarse step");
        assert_eq!(wq.share_near_grid(&[], 8, 0.1), 0.0);
        assert_eq!(wq.share_near_grid(&[0.0; 4], 2, 0.1), 1.0, "zeros sit on every grid");
    }

    #[test]
    fn the_share_recoded_counts_codes_that_moved_on_the_new_grid() {
        let wq = WeightQuant { range: QRange::with_bits(4, false).unwrap(), per_channel: false };
        // `after` spans ±0.75: a step of 0.1 (max/7.5). Of `before`, 0.04 rounds to 0 as 0.0
        // does, 0.26 to 3 against 0.2's 2, and −0.5 stays −5.
        let after = [0.0, 0.2, -0.5, 0.75];
        assert_eq!(wq.share_recoded(&[0.04, 0.26, -0.5, 0.75], &after, 2), 0.25);
        assert_eq!(wq.share_recoded(&after, &after, 2), 0.0);
        // Per channel, the second channel's grid is its own (step 0.001): 0.0004 → 0 and 0.0026
        // → 3 against 0.002's 2.
        let pc = WeightQuant { per_channel: true, ..wq };
        let after = [0.0, 0.75, 0.002, 0.0075];
        assert_eq!(pc.share_recoded(&[0.0, 0.75, 0.0026, 0.0075], &after, 2), 0.25);
        assert_eq!(wq.share_recoded(&[0.0, 0.75, 0.0026, 0.0075], &after, 2), 0.0, "per tensor both round to 0");
        assert_eq!(wq.share_recoded(&[], &[], 2), 0.0);
        assert_eq!(wq.share_recoded(&[0.1], &[0.1, 0.2], 2), 0.5, "a missing weight counts as changed");
    }

    #[test]
    fn bad_shapes_are_errors() {
        assert!(Net::mlp(&[4], Activation::Relu, 0).is_err());
        assert!(Net::mlp(&[4, 0, 2], Activation::Relu, 0).is_err());
        assert!(Net::mlp(&[4, 5000, 2], Activation::Relu, 0).is_err());
        assert!(Net::cnn((7, 8), [8, 16], 10, Activation::Relu, 0).is_err());
        assert!(Net::cnn((8, 8), [0, 16], 10, Activation::Relu, 0).is_err());
        let m = Net::mlp(&[64, 128, 128, 10], Activation::Relu, 0).unwrap();
        assert_eq!((m.inputs(), m.outputs(), m.layers.len()), (64, 10, 3));
        assert_eq!(m.layers[2].act, Activation::None);
        let t = m.tensors("fp32/");
        assert_eq!(t.len(), 6);
        assert_eq!((t[0].name.as_str(), t[0].shape.as_slice()), ("fp32/layer0.weight", &[128, 64][..]));
        assert_eq!(t[5].data, m.layers[2].b);
        let c = Net::cnn((8, 8), [8, 16], 10, Activation::Relu, 0).unwrap();
        assert_eq!((c.inputs(), c.outputs()), (64, 10));
        assert_eq!(c.layers.iter().map(Layer::describe).collect::<Vec<_>>(), [
            "conv 3×3, 1 → 8, BN, ReLU",
            "depthwise 3×3, 8 → 8, BN, ReLU",
            "pointwise 1×1, 8 → 16, BN, ReLU, max pool 2×2",
            "dense, 256 → 10"
        ]);
    }
}
