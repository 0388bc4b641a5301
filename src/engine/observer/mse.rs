//! MSE-optimal clipping: the range whose fake-quantization of the values seen has the smallest
//! mean squared error, found by a search over clip ratios.
//!
//! Symmetric: `[−t·a, t·a]` with `a = max|x|`; affine: `[t·min, t·max]`; `t` in (0, 1], first on a
//! grid of 100 ratios, then refined on 41 ratios around the best. The MSE is that of the actual
//! grid (zero exact, the observer's scheme and integer range), so clipping and rounding error are
//! traded exactly as the quantizer will see them. The search runs in
//! [`super::mse_search::search_clip_ratio_over`], all candidates of a round in one pass.

use super::{Common, Retained, ObserveError, Observer, Ranges, TraceStep};
use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantizer::rounding::{clamp_fast, round_half_even_small};

/// Coarse grid size and refinement points of the clip-ratio search.
pub(crate) const COARSE: usize = 100;
pub(crate) const FINE: usize = 41;

/// Mean squared error of fake-quantizing `xs` with `p` over `range` (f64 accumulation).
pub fn fake_quant_mse(xs: &[f32], p: QParams, range: QRange) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let inv = 1.0 / p.scale;
    let (lo, hi) = ((range.qmin - p.zero_point) as f32, (range.qmax - p.zero_point) as f32);
    let mut acc = 0f64;
    for &x in xs {
        let q = round_half_even_small(clamp_fast(x * inv, lo, hi)) * p.scale;
        let e = (x - q) as f64;
        acc += e * e;
    }
    acc / xs.len() as f64
}

/// The `t` in (0, 1] minimising `mse_at(t)`: a grid of `COARSE` ratios, then `FINE` around
/// the best. Returns `(t, mse)`.
pub fn search_clip_ratio(mut mse_at: impl FnMut(f64) -> f64) -> (f64, f64) {
    let mut best = (1.0, mse_at(1.0));
    for k in 1..COARSE {
        let t = k as f64 / COARSE as f64;
        let m = mse_at(t);
        if m < best.1 {
            best = (t, m);
        }
    }
    let step = 1.0 / COARSE as f64;
    let center = best.0;
    for k in 0..FINE {
        let t = center - step + 2.0 * step * k as f64 / (FINE - 1) as f64;
        if t <= 0.0 || t > 1.0 {
            continue;
        }
        let m = mse_at(t);
        if m < best.1 {
            best = (t, m);
        }
    }
    best
}

/// The quantizer of the theory tables: `levels` levels from `−α` to `α`, both ends included
/// (`q(r; −α, α, n)` of Jacob et al. without nudging, so 0 is not a level when `n` is even).
pub fn fake_quantize_endpoints(x: f32, alpha: f32, levels: u32) -> f32 {
    let s = 2.0 * alpha / (levels - 1) as f32;
    ((x.clamp(-alpha, alpha) + alpha) / s).round_ties_even() * s - alpha
}

/// MSE of [`fake_quantize_endpoints`] over `xs`.
pub fn endpoints_mse(xs: &[f32], alpha: f32, levels: u32) -> f64 {
    xs.iter().map(|&x| ((x - fake_quantize_endpoints(x, alpha, levels)) as f64).powi(2)).sum::<f64>() / xs.len().max(1) as f64
}

/// The candidate ranges of the search over values whose finite min and max are `min`, `max`.
#[derive(Clone, Copy, Debug)]
pub struct Clip {
    pub common: Common,
    pub min: f32,
    pub max: f32,
}

impl Clip {
    /// The range of ratio `t`: `[−t·a, t·a]` within the data (symmetric), or `[t·min, t·max]`.
    pub fn range(&self, t: f64) -> (f32, f32) {
        let t = t as f32;
        match self.common.scheme {
            QScheme::Symmetric => {
                let a = self.min.abs().max(self.max.abs()) * t;
                (self.min.max(-a), self.max.min(a))
            }
            QScheme::Affine => (self.min * t, self.max * t),
        }
    }

    /// The grid of ratio `t`.
    pub fn qparams(&self, t: f64) -> QParams {
        let (lo, hi) = self.range(t);
        calculate_qparams(lo, hi, self.common.scheme, self.common.range)
    }

    /// The observer's answer for ratio `t`.
    pub fn ranges(&self, t: f64) -> Ranges {
        let (lo, hi) = self.range(t);
        Ranges { min: vec![lo], max: vec![hi] }
    }
}

/// The observer.
#[derive(Clone, Debug)]
pub struct Mse {
    common: Common,
    seen: Retained,
    trace: Vec<TraceStep>,
    non_finite: usize,
}

impl Mse {
    pub fn new(common: Common) -> Mse {
        Mse { common, seen: Retained::new(), trace: Vec::new(), non_finite: 0 }
    }

    fn chosen(&self) -> Ranges {
        if self.seen.values.is_empty() {
            return Ranges::unobserved(1);
        }
        let clip = Clip { common: self.common, min: self.seen.min, max: self.seen.max };
        let (t, _) = super::mse_search::search_clip_ratio_over(&self.seen.values, self.common.range, |t| clip.qparams(t));
        clip.ranges(t)
    }
}

impl Observer for Mse {
    fn name(&self) -> &'static str {
        "mse"
    }
    super::bookkeeping!();

    fn observe(&mut self, data: &[f32], _shape: &[usize]) -> Result<(), ObserveError> {
        let (lo, hi, bad) = self.seen.add(data, |x| x);
        self.non_finite += bad;
        let ranges = self.chosen();
        self.trace.push(TraceStep { batch_min: lo, batch_max: hi, ranges });
        Ok(())
    }

    fn ranges(&self) -> Ranges {
        super::latest(&self.trace)
    }

    fn reset(&mut self) {
        *self = Mse::new(self.common);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::synth::{sample, Dist};

    /// "Within a few percent" of the theoretical clipping point.
    const CLIP_RTOL: f64 = 0.03;
    /// SQNR agreement with the theory table, in dB. At 8 bits the optimum clips only ~5·10⁻⁵ of
    /// the mass (about 50 of a million samples), whose squared overshoot is a fifth of the error:
    /// sampling noise alone moves the SQNR by ±0.25 dB there.
    const SQNR_TOL_DB: f64 = 0.1;
    const SQNR_TOL_DB_8_BITS: f64 = 0.3;

    /// The optimal clipping of the uniform quantizer with 2^b levels (ends included) for unit
    /// Gaussian and unit-scale Laplace data, with its SQNR (the table, from the classical
    /// optimal uniform quantizer results).
    #[test]
    fn finds_theoretical_clipping_points() {
        let n = 1_000_000;
        // Each distribution with its variance and, per bit width, the clip and the SQNR (dB).
        type Case = (Dist, f64, [(u32, f64, f64); 4]);
        let cases: [Case; 2] = [
            (Dist::Normal { mean: 0.0, std: 1.0 }, 1.0, [(2, 1.49, 9.25), (3, 2.05, 14.27), (4, 2.51, 19.38), (8, 3.92, 40.57)]),
            (Dist::Laplace { loc: 0.0, b: 1.0 }, 2.0, [(2, 2.31, 7.07), (3, 3.62, 11.44), (4, 4.89, 15.96), (8, 9.89, 35.21)]),
        ];
        for (dist, _variance, table) in cases {
            let xs = sample(dist, n, 2024, None).unwrap();
            let power = xs.iter().map(|&x| x as f64 * x as f64).sum::<f64>() / n as f64;
            let absmax = xs.iter().fold(0f32, |m, x| m.max(x.abs())) as f64;
            for (bits, clip, sqnr) in table {
                let levels = 1u32 << bits;
                let (t, mse) = search_clip_ratio(|t| endpoints_mse(&xs, (t * absmax) as f32, levels));
                let found = t * absmax;
                assert!((found - clip).abs() / clip < CLIP_RTOL, "{dist:?} {bits} bits: clip {found:.3}, theory {clip}");
                let got = 10.0 * (power / mse).log10();
                let tol = if bits == 8 { SQNR_TOL_DB_8_BITS } else { SQNR_TOL_DB };
                assert!((got - sqnr).abs() < tol, "{dist:?} {bits} bits: {got:.2} dB, theory {sqnr}");
            }
        }
    }

    #[test]
    fn observer_clips_outliers_and_handles_edges() {
        let common = Common { scheme: QScheme::Symmetric, range: QRange::QINT8 };
        // Half a million values: the finer grid saves 5·10⁵·(80/127.5)²/12 ≈ 16 000 of squared
        // error, clipping the outlier costs 76² ≈ 5 800 (with fewer values MSE keeps it).
        let mut xs = sample(Dist::Normal { mean: 0.0, std: 1.0 }, 500_000, 1, None).unwrap();
        xs.push(80.0);
        let mut m = Mse::new(common);
        m.observe(&xs, &[xs.len()]).unwrap();
        let r = m.ranges();
        assert!(r.max[0] < 40.0, "the outlier is clipped: {r:?}");
        let qp = m.qparams()[0];
        let minmax = calculate_qparams(r.min[0].min(-80.0), 80.0, QScheme::Symmetric, QRange::QINT8);
        assert!(fake_quant_mse(&xs, qp, QRange::QINT8) < fake_quant_mse(&xs, minmax, QRange::QINT8));
        let mut e = Mse::new(common);
        assert_eq!(e.ranges(), Ranges::unobserved(1));
        e.observe(&[0.0; 5], &[5]).unwrap();
        assert_eq!(e.qparams()[0].zero_point, 0);
        e.reset();
        assert!(e.trace().is_empty());
    }
}
