//! Quantize, dequantize and fake-quantize, per tensor and per channel, and the clipped
//! straight-through estimator's gradient mask.
//!
//! The arithmetic is PyTorch's CPU kernels' (`fake_quantize_tensor_cachemask_kernel`,
//! `quantize_val`): the input is multiplied by `inv_scale = 1/scale` (f32), rounded, offset by the
//! zero point, clamped to `[qmin, qmax]`, and mapped back as `(q − z)·s`. Clamping `x·inv_scale`
//! to `[qmin − z, qmax − z]` before rounding gives the same codes (the bounds are integers), and
//! lets the hot loop vectorize.
//!
//! Non-finite inputs: ±∞ saturate to the ends of the range; NaN fake-quantizes to NaN (x̂ of an
//! undefined value is undefined) and quantizes to the code of 0.0.

use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::rounding::{round_half_even_small, Rounding};
use crate::engine::tensor::{ChannelLayout, ShapeError};

/// The per-element constants of one (scale, zero point).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    pub inv_scale: f32,
    pub scale: f32,
    pub zero_point: i32,
    /// `qmin − z` and `qmax − z`: the clamp bounds of `x·inv_scale`.
    pub lo: f32,
    pub hi: f32,
}

impl Grid {
    pub fn new(p: QParams, range: QRange) -> Grid {
        Grid {
            inv_scale: 1.0 / p.scale,
            scale: p.scale,
            zero_point: p.zero_point,
            lo: (range.qmin - p.zero_point) as f32,
            hi: (range.qmax - p.zero_point) as f32,
        }
    }

    /// The hot path, branch-free so that it vectorizes: the clamps are written as compare-and-
    /// select (`maxps`/`minps`), not `f32::max`/`min`, whose NaN rules cost extra instructions;
    /// NaN is put back by the final select.
    #[inline(always)]
    fn fake_half_even(&self, x: f32) -> f32 {
        let y = x * self.inv_scale;
        let c = if y > self.lo { y } else { self.lo };
        let c = if c < self.hi { c } else { self.hi };
        let v = round_half_even_small(c) * self.scale;
        if x.is_nan() { x } else { v }
    }

    /// `round(clamp(x·inv_scale))`, i.e. `q − z`. NaN gives 0.
    #[inline(always)]
    fn steps(&self, x: f32, rounding: Rounding, index: usize) -> f32 {
        // The clamp would put NaN on `lo`: it goes to 0 first (`inv_scale` > 0, so no other
        // value gives a NaN here).
        let y = if x.is_nan() { 0.0 } else { x * self.inv_scale };
        let c = crate::engine::quantizer::rounding::clamp_fast(y, self.lo, self.hi);
        match rounding {
            Rounding::HalfEven => round_half_even_small(c),
            other => other.round(c, index),
        }
    }
}

/// The integer code of `x`.
#[inline]
pub fn quantize_one(x: f32, p: QParams, range: QRange, rounding: Rounding, index: usize) -> i32 {
    Grid::new(p, range).steps(x, rounding, index) as i32 + p.zero_point
}

/// The real value of code `q`: `(q − z)·s`.
#[inline]
pub fn dequantize_one(q: i32, p: QParams) -> f32 {
    (q - p.zero_point) as f32 * p.scale
}

#[inline(always)]
fn fake_half_even_block(xs: &[f32], out: &mut [f32], g: Grid) {
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = g.fake_half_even(x);
    }
}

#[inline(always)]
fn fake_half_even_inplace(xs: &mut [f32], g: Grid) {
    for chunk in xs.chunks_mut(32) {
        crate::engine::simd::prefetch_ahead(chunk.as_ptr());
        for x in chunk.iter_mut() {
            *x = g.fake_half_even(*x);
        }
    }
}

fn fake_block(xs: &[f32], out: &mut [f32], g: Grid, rounding: Rounding, offset: usize) {
    if rounding == Rounding::HalfEven {
        crate::engine::simd::dispatch!(fake_half_even_block(xs, out, g))
    } else {
        for (i, (o, &x)) in out.iter_mut().zip(xs).enumerate() {
            *o = if x.is_nan() { x } else { g.steps(x, rounding, offset + i) * g.scale };
        }
    }
}

fn quantize_block(xs: &[f32], out: &mut [i32], g: Grid, rounding: Rounding, offset: usize) {
    if rounding == Rounding::HalfEven {
        return crate::engine::simd::dispatch!(quantize_half_even_block(xs, out, g));
    }
    for (i, (o, &x)) in out.iter_mut().zip(xs).enumerate() {
        *o = g.steps(x, rounding, offset + i) as i32 + g.zero_point;
    }
}

/// The hot path of [`quantize_block`], branch-free like [`Grid::fake_half_even`].
#[inline(always)]
fn quantize_half_even_block(xs: &[f32], out: &mut [i32], g: Grid) {
    for (o, &x) in out.iter_mut().zip(xs) {
        // NaN takes the code of 0.0 (0 lies within [lo, hi] since qmin <= z <= qmax).
        let y = if x.is_nan() { 0.0 } else { x * g.inv_scale };
        let c = if y > g.lo { y } else { g.lo };
        let c = if c < g.hi { c } else { g.hi };
        // `c` is a whole number in [qmin − z, qmax − z] after rounding, far inside i32.
        *o = crate::engine::simd::trunc_clamped(round_half_even_small(c)) + g.zero_point;
    }
}

/// PyTorch's cachemask, `qmin <= round(x/s) + z <= qmax` before clamping, without rounding:
/// with `y = x·(1/s)` and the integer bounds `lo = qmin − z`, `hi = qmax − z`, half-to-even
/// `round(y) >= lo` exactly when `y > lo − ½`, or `y = lo − ½` with `lo` even (the tie goes up to
/// it); likewise at `hi`. `lo − ½` and `hi + ½` are exact in f32 for every range up to 2²³ codes.
/// Compares only, so the loop vectorizes (`round_ties_even` is a libm call on x86's baseline).
fn mask_block(xs: &[f32], out: &mut [bool], g: Grid) {
    let (below, above) = (g.lo - 0.5, g.hi + 0.5);
    let (lo_even, hi_even) = ((g.lo as i64) % 2 == 0, (g.hi as i64) % 2 == 0);
    for (o, &x) in out.iter_mut().zip(xs) {
        let y = x * g.inv_scale;
        let low_ok = y > below || (lo_even && y == below);
        let high_ok = y < above || (hi_even && y == above);
        *o = low_ok && high_ok;
    }
}

/// `x̂ = (clamp(round(x/s) + z, qmin, qmax) − z)·s` for every element, into `out` (same length).
pub fn fake_quantize_into(xs: &[f32], p: QParams, range: QRange, rounding: Rounding, out: &mut [f32]) {
    fake_block(xs, out, Grid::new(p, range), rounding, 0);
}

/// [`fake_quantize_into`] in place.
pub fn fake_quantize_inplace(xs: &mut [f32], p: QParams, range: QRange) {
    let g = Grid::new(p, range);
    crate::engine::simd::dispatch!(fake_half_even_inplace(xs, g))
}

/// [`fake_quantize_into`] returning a new vector, rounding half to even.
pub fn fake_quantize(xs: &[f32], p: QParams, range: QRange) -> Vec<f32> {
    let mut out = vec![0.0; xs.len()];
    fake_quantize_into(xs, p, range, Rounding::HalfEven, &mut out);
    out
}

/// The integer codes `clamp(round(x/s) + z, qmin, qmax)`, into `out` (same length).
pub fn quantize_into(xs: &[f32], p: QParams, range: QRange, rounding: Rounding, out: &mut [i32]) {
    quantize_block(xs, out, Grid::new(p, range), rounding, 0);
}

/// [`quantize_into`] for a part of a tensor that starts at element `offset` (which stochastic
/// rounding's draws depend on).
pub(crate) fn quantize_at(xs: &[f32], p: QParams, range: QRange, rounding: Rounding, offset: usize, out: &mut [i32]) {
    quantize_block(xs, out, Grid::new(p, range), rounding, offset);
}

/// `(q − z)·s` for every code, into `out` (same length).
pub fn dequantize_into(qs: &[i32], p: QParams, out: &mut [f32]) {
    for (o, &q) in out.iter_mut().zip(qs) {
        *o = dequantize_one(q, p);
    }
}

/// The clipped straight-through estimator's gradient mask: `true` where the gradient passes
/// (`qmin <= round(x/s) + z <= qmax`), `false` where the value was clipped. NaN gives `false`.
pub fn ste_mask_into(xs: &[f32], p: QParams, range: QRange, out: &mut [bool]) {
    mask_block(xs, out, Grid::new(p, range));
}

/// Runs `block_fn` on each channel's blocks of `xs` with that channel's grid, writing the
/// matching part of `out`: the per-channel forms below, one channel's `params[c]` each.
fn per_channel<T>(
    xs: &[f32],
    layout: ChannelLayout,
    params: &[QParams],
    range: QRange,
    out: &mut [T],
    block_fn: impl Fn(&[f32], &mut [T], Grid, usize),
) -> Result<(), ShapeError> {
    layout.check_channels("scale/zero point", params.len())?;
    let grids: Vec<Grid> = params.iter().map(|&p| Grid::new(p, range)).collect();
    layout.for_each_block(xs, |c, offset, block| block_fn(block, &mut out[offset..offset + block.len()], grids[c], offset));
    Ok(())
}

/// Per-channel [`fake_quantize_into`]: channel `c` of `layout` uses `params[c]`.
pub fn fake_quantize_per_channel_into(xs: &[f32], layout: ChannelLayout, params: &[QParams], range: QRange, rounding: Rounding, out: &mut [f32]) -> Result<(), ShapeError> {
    per_channel(xs, layout, params, range, out, |block, out, grid, offset| fake_block(block, out, grid, rounding, offset))
}

/// Per-channel [`quantize_into`].
pub fn quantize_per_channel_into(xs: &[f32], layout: ChannelLayout, params: &[QParams], range: QRange, rounding: Rounding, out: &mut [i32]) -> Result<(), ShapeError> {
    per_channel(xs, layout, params, range, out, |block, out, grid, offset| quantize_block(block, out, grid, rounding, offset))
}

/// Per-channel [`ste_mask_into`].
pub fn ste_mask_per_channel_into(xs: &[f32], layout: ChannelLayout, params: &[QParams], range: QRange, out: &mut [bool]) -> Result<(), ShapeError> {
    per_channel(xs, layout, params, range, out, |block, out, grid, _| mask_block(block, out, grid))
}

/// The seed document's fake quantizer `q(r; a, b, n) = round((clamp(r; a, b) − a)/s)·s + a` with
/// `s = (b − a)/(n − 1)` (Jacob et al. 2018, eq. 12), after nudging `[a, b]` so that 0 is exact
/// (see [`crate::engine::quantizer::qparams::nudge`]).
pub fn fake_quantize_nudged(r: f32, a: f32, b: f32, levels: u32) -> f32 {
    let (a, b, s) = crate::engine::quantizer::qparams::nudge(a, b, levels);
    if r.is_nan() {
        return r;
    }
    ((r.clamp(a, b) - a) / s).round_ties_even() * s + a
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The compare-only mask is PyTorch's `qmin <= round(x/s) + z <= qmax`, ties included.
        #[test]
        fn mask_equals_the_rounded_definition(
            x in proptest::prelude::any::<f32>(),
            scale in 1e-4f32..10.0,
            zero_point in 0i32..16,
            bits in 2u32..=8,
            ties in proptest::bool::ANY,
        ) {
            let range = QRange::with_bits(bits, true).unwrap();
            let p = QParams { scale, zero_point: zero_point.min(range.qmax) };
            let g = Grid::new(p, range);
            // Exact half-way points between codes, where the tie rule decides.
            let x = if ties { (g.lo + (x.abs() % 20.0).floor() - 0.5) * g.scale } else { x };
            let mut got = [false];
            mask_block(&[x], &mut got, g);
            let r = (x * g.inv_scale).round_ties_even();
            proptest::prop_assert_eq!(got[0], r >= g.lo && r <= g.hi, "x {} y {}", x, x * g.inv_scale);
        }
    }
    use crate::engine::quantizer::qparams::{calculate_qparams, QScheme};
    use proptest::prelude::*;

    fn q(x: f32, p: QParams, r: QRange) -> i32 {
        quantize_one(x, p, r, Rounding::HalfEven, 0)
    }

    // PyTorch: torch.fake_quantize_per_tensor_affine(torch.tensor([2.0]), 2/127.5, 0, -128, 127)
    // -> tensor([1.9921569824])
    #[test]
    fn symmetric_qint8_two_matches_pytorch() {
        let p = calculate_qparams(-1.0, 2.0, QScheme::Symmetric, QRange::QINT8);
        let y = fake_quantize(&[2.0], p, QRange::QINT8);
        assert_eq!(y[0], 127.0 * (2.0f32 / 127.5));
        assert!((y[0] - 1.99216).abs() < 1e-5);
    }

    // >>> torch.quantize_per_tensor(torch.tensor([-1., 0., 0.5, 2.]), 3/255, 85, torch.quint8).int_repr()
    // tensor([  0,  85, 127, 255], dtype=torch.uint8)      (0.5·255/3 = 42.5 rounds to even: 42)
    #[test]
    fn codes_match_pytorch() {
        let p = QParams { scale: 3.0 / 255.0, zero_point: 85 };
        let mut out = [0; 4];
        quantize_into(&[-1.0, 0.0, 0.5, 2.0], p, QRange::QUINT8, Rounding::HalfEven, &mut out);
        assert_eq!(out, [0, 85, 127, 255]);
    }

    #[test]
    fn edge_inputs() {
        let p = QParams { scale: 0.1, zero_point: 10 };
        let r = QRange::QUINT8;
        assert!(fake_quantize(&[], p, r).is_empty());
        let y = fake_quantize(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30, 0.0], p, r);
        assert!(y[0].is_nan());
        assert_eq!(y[1], dequantize_one(255, p));
        assert_eq!(y[2], dequantize_one(0, p));
        assert_eq!(y[3], dequantize_one(255, p));
        assert_eq!(y[4], dequantize_one(0, p));
        assert_eq!(y[5], 0.0);
        assert_eq!(q(f32::NAN, p, r), 10);
        assert_eq!(q(f32::INFINITY, p, r), 255);
        let mut mask = [true; 4];
        ste_mask_into(&[f32::NAN, 1e30, 0.0, -0.95], p, r, &mut mask);
        assert_eq!(mask, [false, false, true, true]);
        // An eps scale (constant zero tensor) keeps zero at zero.
        let tiny = QParams { scale: f32::EPSILON, zero_point: 0 };
        assert_eq!(fake_quantize(&[0.0, 1.0], tiny, r), vec![0.0, 255.0 * f32::EPSILON]);
    }

    #[test]
    fn rounding_modes_differ_only_on_ties() {
        let p = QParams { scale: 1.0, zero_point: 0 };
        let r = QRange::QINT8;
        let xs = [0.5f32, 1.5, 2.5, -0.5, 0.4];
        let mut even = [0; 5];
        let mut away = [0; 5];
        quantize_into(&xs, p, r, Rounding::HalfEven, &mut even);
        quantize_into(&xs, p, r, Rounding::HalfAwayFromZero, &mut away);
        assert_eq!(even, [0, 2, 2, 0, 0]);
        assert_eq!(away, [1, 2, 3, -1, 0]);
        let mut st = [0; 5];
        quantize_into(&xs, p, r, Rounding::Stochastic { seed: 1 }, &mut st);
        for (s, x) in st.iter().zip(xs) {
            assert!(*s as f32 == x.floor() || *s as f32 == x.ceil());
        }
    }

    #[test]
    fn per_channel_uses_each_channels_params() {
        // Shape (2, 3) along axis 0: two channels with very different ranges.
        let xs = [0.1f32, -0.2, 0.3, 10.0, -20.0, 30.0];
        let layout = ChannelLayout::new(&[2, 3], 0, 6).unwrap();
        let params = [QParams { scale: 0.1, zero_point: 0 }, QParams { scale: 10.0, zero_point: 0 }];
        let mut out = [0.0; 6];
        fake_quantize_per_channel_into(&xs, layout, &params, QRange::QINT8, Rounding::HalfEven, &mut out).unwrap();
        let fq = |x: f32, p: QParams| dequantize_one(q(x, p, QRange::QINT8), p);
        let (p0, p1) = (params[0], params[1]);
        assert_eq!(out, [fq(0.1, p0), fq(-0.2, p0), fq(0.3, p0), fq(10.0, p1), fq(-20.0, p1), fq(30.0, p1)]);
        // The first channel's 0.1 survives its fine grid; the second's values sit on its coarse one.
        assert_eq!((out[0], out[5]), (0.1, 30.0));
        assert!(fake_quantize_per_channel_into(&xs, layout, &params[..1], QRange::QINT8, Rounding::HalfEven, &mut out).is_err());
    }

    #[test]
    fn nudged_form_matches_affine_kernel() {
        // q(r; a, b, n) equals PyTorch-style fake quantization with the nudged grid's qparams.
        let (a, b, s) = crate::engine::quantizer::qparams::nudge(-0.37, 1.21, 256);
        let z = (-a / s).round() as i32;
        let p = QParams { scale: s, zero_point: z };
        for r in [-1.0f32, -0.37, -0.1, 0.0, 0.004, 0.5, 1.2, 3.0] {
            let expected = fake_quantize(&[r], p, QRange::QUINT8)[0];
            assert!((fake_quantize_nudged(r, -0.37, 1.21, 256) - expected).abs() <= s * 1e-3, "r={r}");
        }
        assert_eq!(fake_quantize_nudged(0.0, -0.37, 1.21, 256), 0.0);
        assert!(b > a);
    }

    proptest! {
        /// Inside the representable range the error is at most half a step, codes stay in range,
        /// zero is exact, fake-quantizing twice changes nothing, and the fast kernel agrees with
        /// the per-element definition.
        #[test]
        fn invariants(lo in -1e3f32..0.0, hi in 0.0f32..1e3, bits in 2u32..=16, unsigned: bool,
                      symmetric: bool, xs in proptest::collection::vec(-2e3f32..2e3, 1..64)) {
            let range = QRange::with_bits(bits, unsigned).unwrap();
            let scheme = if symmetric { QScheme::Symmetric } else { QScheme::Affine };
            let p = calculate_qparams(lo, hi, scheme, range);
            let (a, b) = p.representable_range(range);
            let y = fake_quantize(&xs, p, range);
            for (&x, &yh) in xs.iter().zip(&y) {
                let code = q(x, p, range);
                prop_assert!(code >= range.qmin && code <= range.qmax);
                prop_assert_eq!(yh, dequantize_one(code, p));
                if x >= a && x <= b {
                    // Half a step, plus the f32 round-off of x·(1/s) and of (q − z)·s.
                    let tol = p.scale * 0.5 + 4.0 * f32::EPSILON * x.abs().max(p.scale);
                    prop_assert!((x - yh).abs() <= tol, "x={} y={} s={}", x, yh, p.scale);
                }
            }
            prop_assert_eq!(fake_quantize(&y, p, range), y.clone());
            prop_assert_eq!(fake_quantize(&[0.0], p, range)[0], 0.0);
            let mut inplace = xs.clone();
            fake_quantize_inplace(&mut inplace, p, range);
            prop_assert_eq!(inplace, y);
        }

        /// The vectorized half-even codes equal the generic per-element path, NaN/±∞ included.
        #[test]
        fn fast_codes_match_the_generic_path(lo in -1e3f32..0.0, hi in 0.0f32..1e3, bits in 2u32..=16,
                                             unsigned: bool, mut xs in proptest::collection::vec(-2e3f32..2e3, 1..64),
                                             special in 0usize..64) {
            let range = QRange::with_bits(bits, unsigned).unwrap();
            let p = calculate_qparams(lo, hi, QScheme::Affine, range);
            let n = xs.len();
            xs[special % n] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, xs[special % n]][special % 4];
            let mut fast = vec![0; n];
            quantize_into(&xs, p, range, Rounding::HalfEven, &mut fast);
            let generic: Vec<i32> = xs.iter().map(|&x| Grid::new(p, range).steps(x, Rounding::HalfEven, 0) as i32 + p.zero_point).collect();
            prop_assert_eq!(fast, generic);
        }
    }
}
