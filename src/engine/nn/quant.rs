//! From a float network to an integer one: activation observers for calibration (PTQ) and training
//! (QAT), the conversion to int8/uint8 weights and activations with int32 biases and fixed-point
//! requantization, and integer-only inference (Jacob et al. 2018, §2.2–2.4).

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

/// A layer's requantization in the form the hot loop takes, with every result less the output's
/// zero point (the next layer's input zero point), so it feeds the next product directly.
///
/// The result is `clamp(round(M·v), lo, hi)` for `v = bias + acc`, with `M = m0·2⁻ᵗ` rounded
/// once, ties away from zero ([`FixedMultiplier::apply_once`]), in integer arithmetic only.
/// The fast path ([`requant_row`]) avoids the per-output shift by `t`, which no vector unit
/// in wasm has:
/// 1. `v` is first clamped to `[v_lo, v_hi]`, the largest `v` whose result is `lo` and the
///    smallest whose result is `hi` (the result is monotone in `v`, so the clamp changes no
///    result). Then `|M·v| ≤ 2⁸ + 2`.
/// 2. `p' = v·m0 + 2ᵗ⁻¹ − [v·m0 < 0]`, whose floor over `2ᵗ` is the rounded result.
/// 3. `q = ⌊p'/2³⁰⌋`, the same shift for every output; `|q| < 2⁸·2ᵗ⁻²⁹ < 2³¹` for `t ≤ 52`.
/// 4. `⌊q/2ᵗ⁻³⁰⌋ = ⌊q·2⁵⁹⁻ᵗ / 2²⁹⌋`, again one shift for all (floors of floors compose).
///
/// A layer with a multiplier outside `[2⁻²², 1)` (`t` outside `31..=52`: none in practice)
/// runs [`Requant::row_exact`] instead.
#[derive(Clone, Debug)]
struct Requant {
    bias: Vec<i32>,
    /// Per output: `(m0, t)` of [`FixedMultiplier::rounding_shift`].
    exact: Vec<(i64, u32)>,
    /// Per output, for the fast path: `m0`, `2ᵗ⁻¹`, `2⁵⁹⁻ᵗ`, and the clamp on `v`.
    m0: Vec<i32>,
    half: Vec<i64>,
    down: Vec<i32>,
    v_lo: Vec<i32>,
    v_hi: Vec<i32>,
    fast: bool,
    lo: i32,
    hi: i32,
}

/// The exponents `t` the fast path takes (multipliers in `[2⁻²², 1)`).
const FAST_SHIFTS: std::ops::RangeInclusive<u32> = 31..=52;

impl Requant {
    fn new(layer: &IntLayer) -> Requant {
        let (lo, hi) = (layer.lo - layer.out_zero, layer.hi - layer.out_zero);
        // A multiplier of 2³⁰ or more (never made by `convert`) sends every non-zero sum past
        // the clamp, as `acc·2³⁰` does.
        let exact: Vec<(i64, u32)> = layer
            .multiplier
            .iter()
            .map(|m| match m.rounding_shift() {
                Some((0, _)) => (0, 31),
                Some(split) => split,
                None => (1 << 31, 1),
            })
            .collect();
        let one = |(m0, t): (i64, u32), v: i32| {
            let p = v as i64 * m0;
            ((p + (1i64 << (t - 1)) + (p >> 63)) >> t).clamp(lo as i64, hi as i64) as i32
        };
        // The first `v` where `f` holds, for `f` false then true over the i32 range.
        let first = |f: &dyn Fn(i32) -> bool| {
            let (mut a, mut b) = (i32::MIN as i64, i32::MAX as i64 + 1);
            while a < b {
                let mid = a + (b - a) / 2;
                if f(mid as i32) {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            b
        };
        let v_lo = exact.iter().map(|&e| (first(&|v| one(e, v) > lo) - 1).max(i32::MIN as i64) as i32).collect();
        let v_hi = exact.iter().map(|&e| first(&|v| one(e, v) >= hi).min(i32::MAX as i64) as i32).collect();
        Requant {
            bias: layer.bias.clone(),
            m0: exact.iter().map(|&(m0, _)| m0 as i32).collect(),
            half: exact.iter().map(|&(_, t)| 1i64 << (t - 1)).collect(),
            down: exact.iter().map(|&(_, t)| if FAST_SHIFTS.contains(&t) { 1 << (59 - t) } else { 0 }).collect(),
            fast: exact.iter().all(|(_, t)| FAST_SHIFTS.contains(t)),
            exact,
            v_lo,
            v_hi,
            lo,
            hi,
        }
    }

    /// One row of sums to codes less the zero point (the clamp lies within i16).
    fn row(&self, acc: &[i32], out: &mut [i16]) {
        if self.fast {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512dq") && std::arch::is_x86_feature_detected!("avx512vl") {
                // SAFETY: the CPU has the features (checked just above).
                return unsafe { requant_row_avx512(self, acc, out) };
            }
            crate::engine::simd::dispatch!(requant_row(self, acc, out))
        } else {
            self.row_exact(acc, out)
        }
    }

    /// [`Requant::row`] the direct way: one 64-bit product and a shift by `t` per output.
    fn row_exact(&self, acc: &[i32], out: &mut [i16]) {
        for (((o, &a), &b), &(m0, t)) in out.iter_mut().zip(acc).zip(&self.bias).zip(&self.exact) {
            let p = b.wrapping_add(a) as i64 * m0;
            let r = (p + (1i64 << (t - 1)) + (p >> 63)) >> t;
            *o = r.clamp(self.lo as i64, self.hi as i64) as i16;
        }
    }
}

/// [`Requant::row`]'s fast path (the steps are [`Requant`]'s), written so that LLVM
/// vectorizes it natively. (wasm has its own loop: LLVM leaves this one scalar there.)
#[inline(always)]
fn requant_row(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    #[cfg(target_arch = "wasm32")]
    return requant_row_wasm(rq, acc, out);
    #[allow(unreachable_code)]
    requant_from(rq, acc, out, 0)
}

/// [`requant_row`] compiled with AVX-512, whose 64-bit arithmetic shifts and multiplies
/// (`vpsraq`, `vpmullq`) AVX2 lacks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn requant_row_avx512(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    requant_from(rq, acc, out, 0)
}

/// Outputs `start..` of [`requant_row`]: clamps as compare-and-select, products of two i32
/// into i64, shifts by constants, over slices cut to one length (no bounds checks inside).
#[inline(always)]
fn requant_from(rq: &Requant, acc: &[i32], out: &mut [i16], start: usize) {
    let n = out.len().min(acc.len());
    let (bias, m0, half, down, v_lo, v_hi) = (&rq.bias[..n], &rq.m0[..n], &rq.half[..n], &rq.down[..n], &rq.v_lo[..n], &rq.v_hi[..n]);
    let (acc, out) = (&acc[..n], &mut out[..n]);
    for o in start..n {
        let v = bias[o].wrapping_add(acc[o]);
        let v = if v > v_lo[o] { v } else { v_lo[o] };
        let v = if v < v_hi[o] { v } else { v_hi[o] };
        let p = v as i64 * m0[o] as i64;
        let q = ((p + half[o] + (p >> 63)) >> 30) as i32;
        let r = ((q as i64 * down[o] as i64) >> 29) as i32;
        let r = if r > rq.lo { r } else { rq.lo };
        out[o] = (if r < rq.hi { r } else { rq.hi }) as i16;
    }
}

/// [`requant_row`] in wasm SIMD128, eight outputs a step: `i64x2.extmul` for the products,
/// `i64x2.shr_s` by constants for the shifts.
#[cfg(target_arch = "wasm32")]
fn requant_row_wasm(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    use core::arch::wasm32::*;
    let n = out.len().min(acc.len());
    assert!(rq.bias.len() >= n && rq.m0.len() >= n && rq.half.len() >= n && rq.down.len() >= n && rq.v_lo.len() >= n && rq.v_hi.len() >= n);
    let (lo, hi) = (i32x4_splat(rq.lo), i32x4_splat(rq.hi));
    // SAFETY (every load and store): o + 8 <= n, and every slice holds at least n values
    // (asserted above); the loads and stores take unaligned addresses.
    let ld = |xs: &[i32], o: usize| unsafe { v128_load(xs.as_ptr().add(o) as *const v128) };
    let ld64 = |xs: &[i64], o: usize| unsafe { v128_load(xs.as_ptr().add(o) as *const v128) };
    // Four outputs: the steps of `requant_from`, two i64 lanes at a time.
    let four = |o: usize| {
        let v = i32x4_add(ld(&rq.bias, o), ld(acc, o));
        let v = i32x4_min(i32x4_max(v, ld(&rq.v_lo, o)), ld(&rq.v_hi, o));
        let m0 = ld(&rq.m0, o);
        let q = |p: v128, half: v128| i64x2_shr(i64x2_add(i64x2_add(p, half), i64x2_lt(p, i64x2_splat(0))), 30);
        let (q0, q1) = (q(i64x2_extmul_low_i32x4(v, m0), ld64(&rq.half, o)), q(i64x2_extmul_high_i32x4(v, m0), ld64(&rq.half, o + 2)));
        // The low halves of the i64 lanes: |q| < 2³¹ (see Requant).
        let q = i32x4_shuffle::<0, 2, 4, 6>(q0, q1);
        let down = ld(&rq.down, o);
        let (r0, r1) = (i64x2_shr(i64x2_extmul_low_i32x4(q, down), 29), i64x2_shr(i64x2_extmul_high_i32x4(q, down), 29));
        i32x4_min(i32x4_max(i32x4_shuffle::<0, 2, 4, 6>(r0, r1), lo), hi)
    };
    let mut o = 0;
    while o + 8 <= n {
        let codes = i16x8_narrow_i32x4(four(o), four(o + 4));
        unsafe { v128_store(out.as_mut_ptr().add(o) as *mut v128, codes) };
        o += 8;
    }
    requant_from(rq, acc, out, o);
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
    v.iter().enumerate().fold((0, i32::MIN), |(bi, bv), (i, &x)| if x > bv { (i, x) } else { (bi, bv) }).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::nn::net::{Quant, Tape};
    use proptest::prelude::*;

    /// A dense layer of `multipliers.len()` outputs with this requantization.
    fn requant_layer(multipliers: &[f64], bias: Vec<i32>, out_zero: i32, (lo, hi): (i32, i32)) -> IntLayer {
        let n = multipliers.len();
        IntLayer {
            kind: Kind::Dense,
            inputs: 1,
            outputs: n,
            w: vec![0; n],
            w_zero: vec![0],
            bias,
            multiplier: multipliers.iter().map(|&m| FixedMultiplier::from_real(m).unwrap()).collect(),
            in_zero: 0,
            out_zero,
            lo,
            hi,
            pool: false,
        }
    }

    /// `row`'s and both paths' codes for `values` (`bias + sum`), against `apply_once`. On a CPU
    /// with AVX-512 `row` takes `requant_row_avx512` and `requant_row` the AVX2 copy, so both
    /// are checked.
    fn check_requant(ms: &[f64], values: &[i32], bias: &[i32], out_zero: i32, (lo, hi): (i32, i32)) -> Result<(), TestCaseError> {
        let n = ms.len();
        let layer = requant_layer(ms, bias[..n].to_vec(), out_zero, (lo, hi));
        let sums: Vec<i32> = values.iter().zip(bias).map(|(&v, &b)| v.wrapping_sub(b)).take(n).collect();
        let rq = Requant::new(&layer);
        let (mut out, mut exact, mut fast) = (vec![0i16; n], vec![0i16; n], vec![0i16; n]);
        rq.row(&sums, &mut out);
        rq.row_exact(&sums, &mut exact);
        prop_assert_eq!(&out, &exact);
        if rq.fast {
            requant_row(&rq, &sums, &mut fast);
            prop_assert_eq!(&fast, &exact);
        }
        for o in 0..n {
            let want = out_zero.saturating_add(layer.multiplier[o].apply_once(layer.bias[o].wrapping_add(sums[o]))).clamp(lo, hi) - out_zero;
            prop_assert_eq!(exact[o] as i32, want, "output {} of M {} and value {}", o, ms[o], values[o]);
        }
        Ok(())
    }

    /// Zero points and clamps as `convert` makes them: `bits` wide, with or without a ReLU.
    fn code_range(bits: u32, zero: f64, relu: bool) -> (i32, (i32, i32)) {
        let qmax = (1i32 << bits) - 1;
        let out_zero = (zero * qmax as f64) as i32;
        (out_zero, (if relu { out_zero } else { 0 }, qmax))
    }

    proptest! {
        /// Every requantization equals `apply_once`, clamped, to the code: multipliers of any
        /// size (past the fast path's range too), sums of any size.
        #[test]
        fn requantization_rows_equal_apply_once(
            ms in prop::collection::vec(prop_oneof![1e-9f64..4.0, (1u32..64, 0i32..12).prop_map(|(k, j)| k as f64 / (1u32 << j) as f64), 1e3f64..1e9], 1..40),
            values in prop::collection::vec(prop_oneof![4 => -600i32..600, 1 => any::<i32>()], 40),
            bias in prop::collection::vec(-5000i32..5000, 40),
            zero in 0.0f64..1.0,
            bits in 2u32..9,
            relu: bool,
        ) {
            let (out_zero, clamp) = code_range(bits, zero, relu);
            check_requant(&ms, &values, &bias, out_zero, clamp)?;
        }

        /// The fast path over its whole range of multipliers, `[2⁻²², 1)`, some a few bits wide
        /// (`M·v` then often lands exactly on a tie), with values mostly where the clamp leaves
        /// `M·v` alone.
        #[test]
        fn the_fast_requantization_is_exact(
            ms in prop::collection::vec(prop_oneof![2.4e-7f64..1.0, (1u32..64, 6i32..22).prop_map(|(k, j)| k as f64 / (1u32 << j) as f64)], 1..40),
            scale in 0u32..22,
            values in prop::collection::vec(prop_oneof![4 => -600i32..600, 1 => any::<i32>()], 40),
            bias in prop::collection::vec(any::<i32>(), 40),
            zero in 0.0f64..1.0,
            bits in 2u32..9,
            relu: bool,
        ) {
            // Values as large as small multipliers need to reach the clamp.
            let values: Vec<i32> = values.iter().map(|&v| v.saturating_mul(1 << (scale / 2))).collect();
            let (out_zero, clamp) = code_range(bits, zero, relu);
            prop_assert!(Requant::new(&requant_layer(&ms, bias[..ms.len()].to_vec(), out_zero, clamp)).fast);
            check_requant(&ms, &values, &bias, out_zero, clamp)?;
        }
    }

    #[test]
    fn requantization_hands_ties_to_integers() {
        // M = 1/2: every odd sum is a tie, rounded away from zero (f32 would round half to even).
        let layer = requant_layer(&[0.5; 6], vec![0; 6], 10, (0, 255));
        let mut out = vec![0i16; 6];
        Requant::new(&layer).row(&[1, 3, 5, -1, -3, 400], &mut out);
        assert_eq!(out, [1, 2, 3, -1, -2, 200]);
        // Clamped at both ends, to codes less the zero point.
        Requant::new(&layer).row(&[-1000, 1000, i32::MIN, i32::MAX, 0, 2], &mut out);
        assert_eq!(out, [-10, 245, -10, 245, 0, 1]);
    }

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
        let fast = int.run_batch(&codes, batch);
        assert_eq!(fast, int.run_batch_plain(&codes, batch), "the kernels against the plain loops");
        let int_codes: Vec<Vec<i32>> = fast.chunks(classes).map(<[i32]>::to_vec).collect();
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
        // Inputs from 0 (the input's zero point at the bottom of the range, as after a ReLU)
        // and from -0.3 (a zero point inside it: the input's levels are lifted off it).
        for shift in [0.0, -0.3] {
            let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 + shift).collect();
            for (name, model) in [("MLP", &mlp), ("CNN", &cnn)] {
                for (wbits, abits, per_channel) in [(8, 8, false), (8, 8, true), (4, 4, true), (2, 4, false)] {
                    let sim = sim_for(model, &x, batch, wbits, abits, per_channel);
                    let a = agreement(model, &x, batch, &sim);
                    assert_eq!(a.samples, batch);
                    // Both hold the same quantized bias; the integer model sums exactly and rounds
                    // M·acc in fixed point, where the simulation sums in f32 (off by ~1e-6
                    // relatively) and rounds that: a code near a rounding tie can land one step
                    // apart, and carry on.
                    assert!(a.max_code_diff <= 1, "{name} W{wbits}A{abits}, inputs from {shift}: {a:?}");
                    // (From -0.3, W2A4's MLP has 184 of 200 identical: its 2-bit products leave
                    // more sums near a tie.)
                    let share = if shift == 0.0 { 95 } else { 90 };
                    assert!(a.identical * 100 >= batch * share, "{name} W{wbits}A{abits}, inputs from {shift}: only {} of {batch} identical", a.identical);
                }
            }
        }
        let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
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
