//! Quantization error metrics, computed in one pass over a tensor and its quantization.

use serde::{Deserialize, Serialize};

use crate::engine::statistics::histogram::FourTables;
use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::quantize::{dequantize_one, quantize_at};
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::statistics::stats::sqnr_from_energies;

/// How well a quantization represents a tensor. Non-finite inputs are skipped and counted in
/// `non_finite`; every other field describes the finite values only.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantMetrics {
    /// Finite values measured.
    pub count: usize,
    pub non_finite: usize,
    /// Mean of `(x − x̂)²`; 0 for no values.
    pub mse: f64,
    /// The part of `mse` from clipped values (outside the representable range by more than half a
    /// step) and the part from rounding the rest: `mse = clip_mse + round_mse`.
    pub clip_mse: f64,
    pub round_mse: f64,
    /// `10·log10(Σx²/Σ(x − x̂)²)`: `+∞` without error, `None` without signal.
    pub sqnr_db: Option<f64>,
    pub max_abs_err: f64,
    /// Values below the lowest and above the highest representable value (by more than half a
    /// step, so that they do not just round onto the last level).
    pub clipped_below: usize,
    pub clipped_above: usize,
    /// Distinct integer codes used, out of `range.levels()`.
    pub levels_used: u32,
}

impl QuantMetrics {
    /// Fraction of the finite values that were clipped (0 for none).
    pub fn clipped_fraction(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.clipped_below + self.clipped_above) as f64 / self.count as f64
        }
    }
}

/// Running sums behind [`QuantMetrics`], so per-channel measurements can be merged.
#[derive(Clone, Debug)]
pub(crate) struct Sums {
    count: usize,
    non_finite: usize,
    signal: f64,
    clip_noise: f64,
    round_noise: f64,
    max_err: f64,
    below: usize,
    above: usize,
    /// One count per code, `qmin` first, then one slot for the non-finite values.
    tables: FourTables,
    codes: Vec<u64>,
}

/// Values quantized at once before their codes and errors are accumulated.
pub(crate) const CHUNK: usize = 4096;
/// Lanes of the accumulation loop.
const LANES: usize = 8;
/// Values per f32 block: each lane sums at most 64 terms in f32 (relative error below ~4e-6,
/// typically ~5e-7, as NumPy's pairwise f32 sums) before the block is added in f64. f32 lanes
/// are what vectorizes on wasm, whose SIMD has only two f64 lanes.
const BLOCK: usize = 64 * LANES;

/// What one block adds, lane by lane, in f32.
#[derive(Default)]
struct Lanes {
    signal: [f32; LANES],
    clip: [f32; LANES],
    round: [f32; LANES],
    max_err: [f32; LANES],
    below: [u32; LANES],
    above: [u32; LANES],
    non_finite: [u32; LANES],
}

impl Lanes {
    /// One value `x` with code `q`, with its masks from [`masks`]. Branch-free, so the loop
    /// vectorizes: a non-finite `x` contributes zeros and is only counted. `x − x̂` is exact in
    /// f32 for every value that rounds onto the grid (Sterbenz), and within 2⁻²⁴ relatively for
    /// clipped ones.
    #[inline(always)]
    fn add(&mut self, i: usize, x: f32, q: i32, p: QParams, [finite, below, above]: [u32; 3]) {
        let xv = if finite != 0 { x } else { 0.0 };
        let xhat = if finite != 0 { dequantize_one(q, p) } else { 0.0 };
        let e = xv - xhat;
        let e2 = e * e;
        let clipped = (below | above) != 0;
        self.signal[i] += xv * xv;
        self.clip[i] += if clipped { e2 } else { 0.0 };
        self.round[i] += if clipped { 0.0 } else { e2 };
        let a = e.abs();
        self.max_err[i] = if a > self.max_err[i] { a } else { self.max_err[i] };
        self.below[i] += below;
        self.above[i] += above;
        self.non_finite[i] += 1 - finite;
    }

    /// One value per lane. On x86 the masks of all lanes are computed first, stage by stage; on
    /// wasm lane by lane. Each form is the one LLVM vectorizes on that target (measured: the
    /// other form leaves the loop 2.5–3× slower there).
    #[inline(always)]
    fn add_lanes(&mut self, x: &[f32], q: &[i32], p: QParams, lo: f32, hi: f32) {
        #[cfg(target_arch = "x86_64")]
        {
            let m: [[u32; LANES]; 3] = std::array::from_fn(|k| std::array::from_fn(|i| masks(x[i], lo, hi)[k]));
            for i in 0..LANES {
                self.add(i, x[i], q[i], p, [m[0][i], m[1][i], m[2][i]]);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        for i in 0..LANES {
            self.add(i, x[i], q[i], p, masks(x[i], lo, hi));
        }
    }
}

/// `[finite, below, above]` of `x` as 0 or 1 (u32 rather than bool: bools cost packing and
/// unpacking once vectorized); below/above are 0 for a non-finite `x`.
#[inline(always)]
fn masks(x: f32, lo: f32, hi: f32) -> [u32; 3] {
    let finite = u32::from((x.to_bits() & 0x7fff_ffff) < 0x7f80_0000);
    [finite, finite & u32::from(x < lo), finite & u32::from(x > hi)]
}

/// What a run of values adds to [`Sums`].
#[derive(Default)]
struct Partial {
    signal: f64,
    clip: f64,
    round: f64,
    max_err: f64,
    below: usize,
    above: usize,
    non_finite: usize,
}

#[inline(always)]
fn accumulate(xs: &[f32], codes: &[i32], p: QParams, lo: f32, hi: f32) -> Partial {
    let mut t = Partial::default();
    for (xb, qb) in xs.chunks(BLOCK).zip(codes.chunks(BLOCK)) {
        let mut l = Lanes::default();
        let xs_lanes = xb.chunks_exact(LANES);
        let (x_rest, q_rest) = (xs_lanes.remainder(), &qb[xb.len() - xb.len() % LANES..]);
        for (xc, qc) in xs_lanes.zip(qb.chunks_exact(LANES)) {
            l.add_lanes(xc, qc, p, lo, hi);
        }
        for (&x, &q) in x_rest.iter().zip(q_rest) {
            l.add(0, x, q, p, masks(x, lo, hi));
        }
        let sum = |v: &[f32; LANES]| v.iter().map(|&v| v as f64).sum::<f64>();
        let count = |v: &[u32; LANES]| v.iter().map(|&v| v as usize).sum::<usize>();
        t.signal += sum(&l.signal);
        t.clip += sum(&l.clip);
        t.round += sum(&l.round);
        t.max_err = l.max_err.iter().fold(t.max_err, |m, &v| m.max(v as f64));
        t.below += count(&l.below);
        t.above += count(&l.above);
        t.non_finite += count(&l.non_finite);
    }
    t
}

impl Sums {
    pub(crate) fn new(range: QRange) -> Sums {
        let levels = range.levels() as usize;
        Sums {
            count: 0,
            non_finite: 0,
            signal: 0.0,
            clip_noise: 0.0,
            round_noise: 0.0,
            max_err: 0.0,
            below: 0,
            above: 0,
            tables: FourTables::new(levels + 1),
            codes: vec![0; levels + 1],
        }
    }

    /// Adds `xs`, the part of the tensor that starts at element `offset`, handing each chunk of
    /// at most [`CHUNK`] values and its codes to `also` (while they are in cache).
    pub(crate) fn add(&mut self, xs: &[f32], p: QParams, range: QRange, rounding: Rounding, offset: usize, mut also: impl FnMut(&[f32], &[i32])) {
        let (lo, hi) = p.representable_range(range);
        let (lo, hi) = (lo - p.scale / 2.0, hi + p.scale / 2.0);
        let levels = self.codes.len() - 1;
        let mut codes = [0i32; CHUNK];
        let mut slots = [0u32; CHUNK];
        for (k, chunk) in xs.chunks(CHUNK).enumerate() {
            crate::engine::simd::warm(chunk);
            let codes = &mut codes[..chunk.len()];
            quantize_at(chunk, p, range, rounding, offset + k * CHUNK, codes);
            let t = crate::engine::simd::dispatch!(accumulate(chunk, codes, p, lo, hi));
            self.non_finite += t.non_finite;
            self.count += chunk.len() - t.non_finite;
            self.signal += t.signal;
            self.clip_noise += t.clip;
            self.round_noise += t.round;
            self.max_err = self.max_err.max(t.max_err);
            self.below += t.below;
            self.above += t.above;
            let slots = &mut slots[..chunk.len()];
            let none = levels as u32;
            for ((s, &q), &x) in slots.iter_mut().zip(codes.iter()).zip(chunk) {
                *s = if x.is_finite() { (q - range.qmin) as u32 } else { none };
            }
            self.tables.add(slots, &mut self.codes);
            also(chunk, codes);
        }
    }

    pub(crate) fn finish(mut self) -> (QuantMetrics, Vec<u64>) {
        self.tables.drain_into(&mut self.codes);
        self.codes.pop(); // the non-finite values' slot
        let n = self.count.max(1) as f64;
        let noise = self.clip_noise + self.round_noise;
        let metrics = QuantMetrics {
            count: self.count,
            non_finite: self.non_finite,
            mse: noise / n,
            clip_mse: self.clip_noise / n,
            round_mse: self.round_noise / n,
            sqnr_db: if self.count == 0 { None } else { sqnr_from_energies(self.signal, noise) },
            max_abs_err: self.max_err,
            clipped_below: self.below,
            clipped_above: self.above,
            levels_used: self.codes.iter().filter(|c| **c > 0).count() as u32,
        };
        (metrics, self.codes)
    }
}

/// Measures the fake-quantization of `xs` with `p` over `range` (round half to even).
pub fn measure(xs: &[f32], p: QParams, range: QRange) -> QuantMetrics {
    measure_with_codes(xs, p, range).0
}

/// [`measure`], and the histogram of the integer codes: one bin per level, `qmin` first.
pub fn measure_with_codes(xs: &[f32], p: QParams, range: QRange) -> (QuantMetrics, Vec<u64>) {
    measure_rounded(xs, p, range, Rounding::HalfEven)
}

/// [`measure_with_codes`] with any rounding.
pub fn measure_rounded(xs: &[f32], p: QParams, range: QRange, rounding: Rounding) -> (QuantMetrics, Vec<u64>) {
    let mut sums = Sums::new(range);
    sums.add(xs, p, range, rounding, 0, |_, _| {});
    sums.finish()
}

/// Measures a per-channel quantization: channel `c` of `layout` uses `params[c]`. Levels used
/// counts the distinct codes over all channels.
pub fn measure_per_channel(
    xs: &[f32],
    layout: crate::engine::tensor::ChannelLayout,
    params: &[QParams],
    range: QRange,
) -> Result<QuantMetrics, crate::engine::tensor::ShapeError> {
    Ok(measure_per_channel_rounded(xs, layout, params, range, Rounding::HalfEven)?.0)
}

/// [`measure_per_channel`] with any rounding, and the histogram of the codes of all channels.
pub fn measure_per_channel_rounded(
    xs: &[f32],
    layout: crate::engine::tensor::ChannelLayout,
    params: &[QParams],
    range: QRange,
    rounding: Rounding,
) -> Result<(QuantMetrics, Vec<u64>), crate::engine::tensor::ShapeError> {
    layout.check_channels("scale/zero point", params.len())?;
    let mut sums = Sums::new(range);
    layout.for_each_block(xs, |c, offset, block| sums.add(block, params[c], range, rounding, offset, |_, _| {}));
    Ok(sums.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tensor::ChannelLayout;

    /// Tolerance for sums of a handful of exact f32 values in f64.
    const SUM_TOL: f64 = 1e-6;

    #[test]
    fn counts_clipping_levels_and_error() {
        // s = 1, z = 0, codes 0..=3 cover [0, 3].
        let p = QParams { scale: 1.0, zero_point: 0 };
        let r = QRange { qmin: 0, qmax: 3, unsigned: true, custom: true };
        let m = measure(&[-2.0, 0.0, 1.2, 3.4, 5.0, f32::NAN], p, r);
        assert_eq!((m.count, m.non_finite), (5, 1));
        assert_eq!((m.clipped_below, m.clipped_above), (1, 1));
        assert_eq!(m.levels_used, 3); // codes 0, 1, 3
        // errors: 2, 0, 0.2, 0.4, 2 → mse = (4 + 0.04 + 0.16 + 4)/5, of which 8/5 from clipping.
        assert!((m.mse - 8.2 / 5.0).abs() < SUM_TOL, "{}", m.mse);
        assert!((m.clip_mse - 8.0 / 5.0).abs() < SUM_TOL);
        assert!((m.round_mse - 0.2 / 5.0).abs() < SUM_TOL);
        assert!((m.max_abs_err - 2.0).abs() < SUM_TOL);
        assert!((m.clipped_fraction() - 0.4).abs() < 1e-12);
        // One bin per code: 0 holds −2 and 0.0, 1 holds 1.2, 3 holds 3.4 and 5.0.
        let (_, codes) = measure_with_codes(&[-2.0, 0.0, 1.2, 3.4, 5.0, f32::NAN], p, r);
        assert_eq!(codes, vec![2, 1, 0, 2]);
    }

    proptest::proptest! {
        /// The lane-wise sums and the four code tables agree with a plain loop over the values
        /// (NaN/±∞ included, lengths not a multiple of the lanes, more than one chunk).
        #[test]
        fn matches_a_plain_loop(
            mut xs in proptest::collection::vec(-3f32..3.0, 0..9000),
            specials in proptest::collection::vec((0usize..9000, 0u8..3), 0..5),
            bits in 2u32..=8,
        ) {
            for (at, kind) in specials {
                if at < xs.len() {
                    xs[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][kind as usize];
                }
            }
            let r = QRange::with_bits(bits, false).unwrap();
            let p = crate::engine::quantizer::qparams::calculate_qparams(-2.0, 2.0, crate::engine::quantizer::qparams::QScheme::Symmetric, r);
            let (m, codes) = measure_with_codes(&xs, p, r);
            let (lo, hi) = p.representable_range(r);
            let (lo, hi) = (lo - p.scale / 2.0, hi + p.scale / 2.0);
            let mut want = vec![0u64; r.levels() as usize];
            let (mut n, mut below, mut above, mut noise, mut clip) = (0usize, 0usize, 0usize, 0f64, 0f64);
            for &x in xs.iter().filter(|x| x.is_finite()) {
                let q = crate::engine::quantizer::quantize::quantize_one(x, p, r, Rounding::HalfEven, 0);
                want[(q - r.qmin) as usize] += 1;
                let e = x as f64 - dequantize_one(q, p) as f64;
                n += 1;
                noise += e * e;
                if x < lo { below += 1; clip += e * e; }
                if x > hi { above += 1; clip += e * e; }
            }
            proptest::prop_assert_eq!(codes, want);
            proptest::prop_assert_eq!((m.count, m.non_finite, m.clipped_below, m.clipped_above), (n, xs.len() - n, below, above));
            let scale = 1.0 / n.max(1) as f64;
            proptest::prop_assert!((m.mse - noise * scale).abs() <= SUM_TOL * (1.0 + noise * scale));
            proptest::prop_assert!((m.clip_mse - clip * scale).abs() <= SUM_TOL * (1.0 + clip * scale));
        }
    }

    #[test]
    fn empty_zero_and_exact_inputs() {
        let p = QParams { scale: 0.5, zero_point: 0 };
        let m = measure(&[], p, QRange::QINT8);
        assert_eq!((m.count, m.levels_used, m.sqnr_db, m.mse), (0, 0, None, 0.0));
        let m = measure(&[0.0, 0.0], p, QRange::QINT8);
        assert_eq!((m.levels_used, m.sqnr_db), (1, None));
        let m = measure(&[0.5, 1.0], p, QRange::QINT8);
        assert_eq!(m.sqnr_db, Some(f64::INFINITY));
        let m = measure(&[f32::INFINITY, f32::NAN], p, QRange::QINT8);
        assert_eq!((m.count, m.non_finite, m.sqnr_db), (0, 2, None));
    }

    #[test]
    fn per_channel_beats_per_tensor_on_mismatched_channels() {
        let xs = [0.01f32, -0.02, 0.03, 10.0, -20.0, 30.0];
        let layout = ChannelLayout::new(&[2, 3], 0, 6).unwrap();
        let r = QRange::QINT8;
        use crate::engine::quantizer::qparams::{calculate_qparams, QScheme};
        let per_tensor = measure(&xs, calculate_qparams(-20.0, 30.0, QScheme::Symmetric, r), r);
        let params = [calculate_qparams(-0.02, 0.03, QScheme::Symmetric, r), calculate_qparams(-20.0, 30.0, QScheme::Symmetric, r)];
        let per_channel = measure_per_channel(&xs, layout, &params, r).unwrap();
        assert!(per_channel.mse < per_tensor.mse);
        assert!(measure_per_channel(&xs, layout, &params[..1], r).is_err());
    }
}
