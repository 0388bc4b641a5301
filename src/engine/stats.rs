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

/// Two vectorizable passes over `xs`: the finite min/max, then f64 sums of `x − K` and `(x − K)²`
/// with the shift `K` at the middle of the range, which keeps the variance accurate for data far
/// from zero and cannot overflow for huge values.
pub fn summarize(xs: &[f32]) -> Summary {
    let (min, max, non_finite) = super::observer::finite_min_max(xs);
    let nan = xs.iter().filter(|x| x.is_nan()).count();
    let count = xs.len() - non_finite;
    let mut s = Summary { count, nan, inf: non_finite - nan, min, max, mean: 0.0, std: 0.0, absmax: 0.0 };
    if count == 0 {
        return s;
    }
    let k = (min as f64 + max as f64) / 2.0;
    const LANES: usize = 4;
    let (mut s1, mut s2) = ([0f64; LANES], [0f64; LANES]);
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            let d = if c[i].is_finite() { c[i] as f64 - k } else { 0.0 };
            s1[i] += d;
            s2[i] += d * d;
        }
    }
    let (mut t1, mut t2): (f64, f64) = (s1.iter().sum(), s2.iter().sum());
    for &x in rest.iter().filter(|x| x.is_finite()) {
        let d = x as f64 - k;
        t1 += d;
        t2 += d * d;
    }
    let n = count as f64;
    s.mean = k + t1 / n;
    s.std = ((t2 - t1 * t1 / n) / n).max(0.0).sqrt();
    s.absmax = min.abs().max(max.abs());
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
        let wide = summarize(&[-f32::MAX, f32::MAX]);
        assert_eq!(wide.mean, 0.0);
        assert_eq!(wide.std, f32::MAX as f64);
        // Far from zero: numpy.std([1e6 + 1, 1e6 + 2, 1e6 + 3]) = 0.816496580927726
        let far = summarize(&[1e6 + 1.0, 1e6 + 2.0, 1e6 + 3.0]);
        assert!((far.std - 0.816496580927726).abs() < MOMENT_TOL);
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
