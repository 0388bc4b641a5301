//! Quantization error metrics, computed in one pass over a tensor and its quantization.

use serde::{Deserialize, Serialize};

use super::qparams::{QParams, QRange};
use super::quantize::{dequantize_one, quantize_into};
use super::rounding::Rounding;
use super::stats::sqnr_from_energies;

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
#[derive(Clone, Debug, Default)]
struct Sums {
    count: usize,
    non_finite: usize,
    signal: f64,
    clip_noise: f64,
    round_noise: f64,
    max_err: f64,
    below: usize,
    above: usize,
}

const CHUNK: usize = 4096;

impl Sums {
    fn add(&mut self, xs: &[f32], p: QParams, range: QRange, codes_seen: &mut [u64]) {
        let (lo, hi) = p.representable_range(range);
        let (lo, hi) = (lo - p.scale / 2.0, hi + p.scale / 2.0);
        let mut codes = [0i32; CHUNK];
        for chunk in xs.chunks(CHUNK) {
            quantize_into(chunk, p, range, Rounding::HalfEven, &mut codes[..chunk.len()]);
            for (&x, &q) in chunk.iter().zip(&codes) {
                if !x.is_finite() {
                    self.non_finite += 1;
                    continue;
                }
                self.count += 1;
                codes_seen[(q - range.qmin) as usize] += 1;
                let e = x as f64 - dequantize_one(q, p) as f64;
                self.signal += x as f64 * x as f64;
                self.max_err = self.max_err.max(e.abs());
                if x < lo {
                    self.below += 1;
                    self.clip_noise += e * e;
                } else if x > hi {
                    self.above += 1;
                    self.clip_noise += e * e;
                } else {
                    self.round_noise += e * e;
                }
            }
        }
    }

    fn finish(&self, codes_seen: &[u64]) -> QuantMetrics {
        let n = self.count.max(1) as f64;
        let noise = self.clip_noise + self.round_noise;
        QuantMetrics {
            count: self.count,
            non_finite: self.non_finite,
            mse: noise / n,
            clip_mse: self.clip_noise / n,
            round_mse: self.round_noise / n,
            sqnr_db: if self.count == 0 { None } else { sqnr_from_energies(self.signal, noise) },
            max_abs_err: self.max_err,
            clipped_below: self.below,
            clipped_above: self.above,
            levels_used: codes_seen.iter().filter(|c| **c > 0).count() as u32,
        }
    }
}

/// Measures the fake-quantization of `xs` with `p` over `range` (round half to even).
pub fn measure(xs: &[f32], p: QParams, range: QRange) -> QuantMetrics {
    measure_with_codes(xs, p, range).0
}

/// [`measure`], and the histogram of the integer codes: one bin per level, `qmin` first.
pub fn measure_with_codes(xs: &[f32], p: QParams, range: QRange) -> (QuantMetrics, Vec<u64>) {
    let mut codes = vec![0u64; range.levels() as usize];
    let mut sums = Sums::default();
    sums.add(xs, p, range, &mut codes);
    (sums.finish(&codes), codes)
}

/// Measures a per-channel quantization: channel `c` of `layout` uses `params[c]`. Levels used
/// counts the distinct codes over all channels.
pub fn measure_per_channel(
    xs: &[f32],
    layout: super::tensor::ChannelLayout,
    params: &[QParams],
    range: QRange,
) -> Result<QuantMetrics, super::tensor::ShapeError> {
    layout.check_channels("scale/zero point", params.len())?;
    let mut codes = vec![0u64; range.levels() as usize];
    let mut sums = Sums::default();
    layout.for_each_block(xs, |c, _, block| sums.add(block, params[c], range, &mut codes));
    Ok(sums.finish(&codes))
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
        use crate::engine::qparams::{calculate_qparams, QScheme};
        let per_tensor = measure(&xs, calculate_qparams(-20.0, 30.0, QScheme::Symmetric, r), r);
        let params = [calculate_qparams(-0.02, 0.03, QScheme::Symmetric, r), calculate_qparams(-20.0, 30.0, QScheme::Symmetric, r)];
        let per_channel = measure_per_channel(&xs, layout, &params, r).unwrap();
        assert!(per_channel.mse < per_tensor.mse);
        assert!(measure_per_channel(&xs, layout, &params[..1], r).is_err());
    }
}
