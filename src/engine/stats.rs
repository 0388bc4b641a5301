//! Summary statistics and error metrics. Non-finite values are counted and excluded, never
//! propagated into a mean or a range.

use serde::{Deserialize, Serialize};

/// Summary of a tensor's finite values, with the non-finite ones counted apart.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of finite values (the ones every other field describes).
    pub count: usize,
    pub nan: usize,
    pub inf: usize,
    /// `+∞` when `count == 0`.
    pub min: f32,
    /// `−∞` when `count == 0`.
    pub max: f32,
    /// 0 when `count == 0`. Accumulated in f64.
    pub mean: f64,
    /// Population standard deviation (`ddof = 0`, NumPy's default); 0 when `count == 0`.
    pub std: f64,
    /// `max(|min|, |max|)`; 0 when `count == 0`.
    pub absmax: f32,
}

/// One pass over `xs` (Welford's update for the variance, so huge values do not overflow).
pub fn summarize(xs: &[f32]) -> Summary {
    let mut s = Summary {
        count: 0,
        nan: 0,
        inf: 0,
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        mean: 0.0,
        std: 0.0,
        absmax: 0.0,
    };
    let mut m2 = 0.0f64;
    for &x in xs {
        if x.is_nan() {
            s.nan += 1;
            continue;
        }
        if x.is_infinite() {
            s.inf += 1;
            continue;
        }
        s.count += 1;
        s.min = s.min.min(x);
        s.max = s.max.max(x);
        let d = x as f64 - s.mean;
        s.mean += d / s.count as f64;
        m2 += d * (x as f64 - s.mean);
    }
    if s.count > 0 {
        s.std = (m2 / s.count as f64).sqrt();
        s.absmax = s.min.abs().max(s.max.abs());
    }
    s
}

/// Signal-to-quantization-noise ratio in dB: `10·log10(Σx² / Σ(x − x̂)²)` over the pairs where
/// both are finite. `+∞` when the error is zero, `None` when there is no finite pair or no signal.
pub fn sqnr_db(x: &[f32], xhat: &[f32]) -> Option<f64> {
    let (mut signal, mut noise, mut n) = (0.0f64, 0.0f64, 0usize);
    for (&a, &b) in x.iter().zip(xhat) {
        if a.is_finite() && b.is_finite() {
            signal += (a as f64) * (a as f64);
            let e = a as f64 - b as f64;
            noise += e * e;
            n += 1;
        }
    }
    if n == 0 {
        return None;
    }
    sqnr_from_energies(signal, noise)
}

/// `10·log10(signal/noise)` from the two sums of squares: `+∞` when `noise == 0`, `None` when
/// there is no signal.
pub fn sqnr_from_energies(signal: f64, noise: f64) -> Option<f64> {
    if signal <= 0.0 {
        None
    } else if noise == 0.0 {
        Some(f64::INFINITY)
    } else {
        Some(10.0 * (signal / noise).log10())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tolerance for f64-accumulated moments of small exact inputs.
    const MOMENT_TOL: f64 = 1e-12;

    #[test]
    fn summary_of_small_vector() {
        let s = summarize(&[1.0, -3.0, 2.0, f32::NAN, f32::INFINITY]);
        assert_eq!((s.count, s.nan, s.inf), (3, 1, 1));
        assert_eq!((s.min, s.max, s.absmax), (-3.0, 2.0, 3.0));
        assert!(s.mean.abs() < MOMENT_TOL);
        // numpy.std([1, -3, 2]) = 2.160246899469287
        assert!((s.std - 2.160246899469287).abs() < MOMENT_TOL);
    }

    #[test]
    fn summary_edges() {
        let e = summarize(&[]);
        assert_eq!((e.count, e.mean, e.std, e.absmax), (0, 0.0, 0.0, 0.0));
        assert!(e.min.is_infinite() && e.max.is_infinite());
        let one = summarize(&[5.0]);
        assert_eq!((one.min, one.max, one.std), (5.0, 5.0, 0.0));
        let huge = summarize(&[f32::MAX, f32::MAX]);
        assert_eq!(huge.mean, f32::MAX as f64);
        assert_eq!(huge.std, 0.0);
    }

    #[test]
    fn sqnr_cases() {
        assert_eq!(sqnr_db(&[1.0, 2.0], &[1.0, 2.0]), Some(f64::INFINITY));
        assert_eq!(sqnr_db(&[], &[]), None);
        assert_eq!(sqnr_db(&[0.0], &[0.5]), None);
        // Σx² = 2, Σe² = 0.02 → 20 dB.
        let v = sqnr_db(&[1.0, 1.0], &[0.9, 1.1]).unwrap();
        assert!((v - 20.0).abs() < 1e-5);
        assert_eq!(sqnr_db(&[f32::NAN, 1.0], &[0.0, 1.0]), Some(f64::INFINITY));
    }
}
