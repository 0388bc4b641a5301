//! Quantization error metrics, computed in one pass over a tensor and its quantization.

use serde::{Deserialize, Serialize};

use super::qparams::{QParams, QRange};
use super::quantize::{dequantize_one, quantize_one};
use super::stats::sqnr_from_energies;

/// How well a per-tensor quantization represents a tensor. Non-finite inputs are skipped and
/// counted in `non_finite`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantMetrics {
    /// Finite values measured.
    pub count: usize,
    pub non_finite: usize,
    /// Mean of `(x − x̂)²`; 0 for no values.
    pub mse: f64,
    /// `10·log10(Σx²/Σ(x − x̂)²)`: `+∞` without error, `None` without signal.
    pub sqnr_db: Option<f64>,
    pub max_abs_err: f64,
    /// Values below the lowest and above the highest representable value.
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

/// Measures the fake-quantization of `xs` with `p` over `range`.
pub fn measure(xs: &[f32], p: QParams, range: QRange) -> QuantMetrics {
    let inv_scale = 1.0 / p.scale;
    let (lo, hi) = p.representable_range(range);
    let mut used = vec![false; range.levels() as usize];
    let (mut signal, mut noise, mut max_err) = (0.0f64, 0.0f64, 0.0f64);
    let mut m = QuantMetrics {
        count: 0,
        non_finite: 0,
        mse: 0.0,
        sqnr_db: None,
        max_abs_err: 0.0,
        clipped_below: 0,
        clipped_above: 0,
        levels_used: 0,
    };
    for &x in xs {
        if !x.is_finite() {
            m.non_finite += 1;
            continue;
        }
        m.count += 1;
        let q = quantize_one(x, inv_scale, p.zero_point, range);
        used[(q - range.qmin) as usize] = true;
        let e = x as f64 - dequantize_one(q, p) as f64;
        signal += x as f64 * x as f64;
        noise += e * e;
        max_err = max_err.max(e.abs());
        // Half a step beyond the last level still rounds onto it; further out is clipped.
        if x < lo - p.scale / 2.0 {
            m.clipped_below += 1;
        } else if x > hi + p.scale / 2.0 {
            m.clipped_above += 1;
        }
    }
    if m.count > 0 {
        m.mse = noise / m.count as f64;
        m.max_abs_err = max_err;
        m.sqnr_db = sqnr_from_energies(signal, noise);
    }
    m.levels_used = used.iter().filter(|u| **u).count() as u32;
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_clipping_levels_and_error() {
        // s = 1, z = 0, codes 0..=3 cover [0, 3].
        let p = QParams { scale: 1.0, zero_point: 0 };
        let r = QRange { qmin: 0, qmax: 3, unsigned: true, custom: true };
        let m = measure(&[-2.0, 0.0, 1.2, 3.4, 5.0, f32::NAN], p, r);
        assert_eq!((m.count, m.non_finite), (5, 1));
        assert_eq!((m.clipped_below, m.clipped_above), (1, 1));
        assert_eq!(m.levels_used, 3); // codes 0, 1, 3
        // errors: 2, 0, 0.2, 0.4, 2  → mse = (4 + 0.04 + 0.16 + 4)/5
        assert!((m.mse - 8.2 / 5.0).abs() < 1e-6, "{}", m.mse);
        assert!((m.max_abs_err - 2.0).abs() < 1e-12);
        assert!((m.clipped_fraction() - 0.4).abs() < 1e-12);
    }

    #[test]
    fn empty_and_zero_inputs() {
        let p = QParams { scale: 0.5, zero_point: 0 };
        let m = measure(&[], p, QRange::QINT8);
        assert_eq!((m.count, m.levels_used, m.sqnr_db, m.mse), (0, 0, None, 0.0));
        let m = measure(&[0.0, 0.0], p, QRange::QINT8);
        assert_eq!((m.levels_used, m.sqnr_db), (1, None));
        let m = measure(&[0.5, 1.0], p, QRange::QINT8);
        assert_eq!(m.sqnr_db, Some(f64::INFINITY));
    }
}
