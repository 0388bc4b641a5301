//! Seeded synthetic tensors. The same `(Dist, n, seed)` gives the same values on every platform
//! (rand's `StdRng` is a portable ChaCha12 stream), so a shared URL reproduces a view exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, StudentT, Uniform};
use serde::{Deserialize, Serialize};

/// A distribution to draw values from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Dist {
    /// N(mean, std²).
    Normal { mean: f32, std: f32 },
    /// Laplace(loc, b): density `exp(−|x − loc|/b)/(2b)`.
    Laplace { loc: f32, b: f32 },
    /// U[lo, hi).
    Uniform { lo: f32, hi: f32 },
    /// Student's t with `dof` degrees of freedom, times `scale`.
    StudentT { dof: f32, scale: f32 },
    /// An equal mixture of N(−sep/2, std²) and N(+sep/2, std²).
    Bimodal { sep: f32, std: f32 },
    /// max(0, N(mean, std²)): activations after a ReLU.
    PostRelu { mean: f32, std: f32 },
}

/// Replaces a fraction of values with outliers of the given magnitude (random sign).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outliers {
    /// Fraction of values replaced, in [0, 1].
    pub fraction: f32,
    /// Absolute value of an outlier.
    pub magnitude: f32,
}

/// Why a distribution cannot be sampled.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SynthError {
    #[error("invalid parameters for {0}: {1}")]
    BadParams(&'static str, String),
}

fn bad(name: &'static str, e: impl std::fmt::Display) -> SynthError {
    SynthError::BadParams(name, e.to_string())
}

/// A location must be finite and a spread finite and non-negative (0 gives a constant tensor).
fn check_loc_spread(name: &'static str, loc: f32, spread: f32) -> Result<(), SynthError> {
    if loc.is_finite() && spread.is_finite() && spread >= 0.0 {
        Ok(())
    } else {
        Err(bad(name, format!("location {loc} must be finite and spread {spread} finite and >= 0")))
    }
}

/// Draws `n` values from `dist` with `seed`, then injects `outliers` (if any).
pub fn sample(dist: Dist, n: usize, seed: u64, outliers: Option<Outliers>) -> Result<Vec<f32>, SynthError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut xs: Vec<f32> = match dist {
        Dist::Normal { mean, std } => {
            check_loc_spread("normal", mean, std)?;
            let d = Normal::new(mean, std).map_err(|e| bad("normal", e))?;
            (0..n).map(|_| d.sample(&mut rng)).collect()
        }
        Dist::Laplace { loc, b } => {
            check_loc_spread("laplace", loc, b)?;
            // Inverse CDF: u ~ U(−½, ½), x = loc − b·sign(u)·ln(1 − 2|u|).
            let u = Uniform::new(-0.5f64, 0.5);
            (0..n)
                .map(|_| {
                    let u = u.sample(&mut rng);
                    (loc as f64 - b as f64 * u.signum() * (1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE).ln()) as f32
                })
                .collect()
        }
        Dist::Uniform { lo, hi } => {
            if !(lo < hi && lo.is_finite() && hi.is_finite()) {
                return Err(bad("uniform", format!("need finite lo < hi, got [{lo}, {hi})")));
            }
            let d = Uniform::new(lo, hi);
            (0..n).map(|_| d.sample(&mut rng)).collect()
        }
        Dist::StudentT { dof, scale } => {
            check_loc_spread("student-t", 0.0, scale)?;
            let d = StudentT::new(dof).map_err(|e| bad("student-t", e))?;
            (0..n).map(|_| scale * d.sample(&mut rng)).collect()
        }
        Dist::Bimodal { sep, std } => {
            check_loc_spread("bimodal", sep, std)?;
            let d = Normal::new(0.0, std).map_err(|e| bad("bimodal", e))?;
            (0..n)
                .map(|_| {
                    let c = if rng.gen::<bool>() { sep / 2.0 } else { -sep / 2.0 };
                    c + d.sample(&mut rng)
                })
                .collect()
        }
        Dist::PostRelu { mean, std } => {
            check_loc_spread("post-relu", mean, std)?;
            let d = Normal::new(mean, std).map_err(|e| bad("post-relu", e))?;
            (0..n).map(|_| d.sample(&mut rng).max(0.0)).collect()
        }
    };
    if let Some(o) = outliers {
        if !(0.0..=1.0).contains(&o.fraction) || !o.magnitude.is_finite() {
            return Err(bad("outliers", format!("fraction {} must be in [0, 1], magnitude finite", o.fraction)));
        }
        let k = (o.fraction as f64 * n as f64).round() as usize;
        for _ in 0..k {
            let i = rng.gen_range(0..n);
            xs[i] = if rng.gen::<bool>() { o.magnitude } else { -o.magnitude };
        }
    }
    Ok(xs)
}

/// Scales the rows of `xs` (shape `[channels, len/channels]`, row-major) by
/// `spread^(c/(channels − 1))`, so the widest channel's range is `spread` times the narrowest's:
/// what batch-norm folding does to depthwise convolutions' weights.
pub fn scale_channels(xs: &mut [f32], channels: usize, spread: f32) {
    if channels < 2 || xs.is_empty() {
        return;
    }
    let row = xs.len() / channels;
    for (c, chunk) in xs.chunks_mut(row.max(1)).take(channels).enumerate() {
        let k = spread.powf(c as f32 / (channels - 1) as f32);
        chunk.iter_mut().for_each(|x| *x *= k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::summarize;

    #[test]
    fn seeded_and_reproducible() {
        let d = Dist::Normal { mean: 0.0, std: 1.0 };
        let a = sample(d, 1000, 7, None).unwrap();
        assert_eq!(a, sample(d, 1000, 7, None).unwrap());
        assert_ne!(a, sample(d, 1000, 8, None).unwrap());
    }

    #[test]
    fn moments_are_plausible() {
        // Standard error of the mean for n = 1e5 is ~0.003; 0.02 is over six of them.
        const MOMENT_TOL: f64 = 0.02;
        let n = 100_000;
        let cases = [
            (Dist::Normal { mean: 1.0, std: 2.0 }, 1.0, 2.0),
            (Dist::Laplace { loc: 0.0, b: 1.0 }, 0.0, 2f64.sqrt()),
            (Dist::Uniform { lo: -1.0, hi: 1.0 }, 0.0, (1.0f64 / 3.0).sqrt()),
            (Dist::Bimodal { sep: 4.0, std: 0.5 }, 0.0, (4.0f64 + 0.25).sqrt()),
        ];
        for (d, mean, std) in cases {
            let s = summarize(&sample(d, n, 1, None).unwrap());
            assert!((s.mean - mean).abs() < MOMENT_TOL * std.max(1.0), "{d:?}: mean {}", s.mean);
            assert!((s.std - std).abs() < MOMENT_TOL * std.max(1.0), "{d:?}: std {}", s.std);
        }
        let relu = summarize(&sample(Dist::PostRelu { mean: 0.0, std: 1.0 }, n, 1, None).unwrap());
        assert_eq!(relu.min, 0.0);
    }

    #[test]
    fn outliers_and_bad_params() {
        let d = Dist::Normal { mean: 0.0, std: 1.0 };
        let xs = sample(d, 10_000, 3, Some(Outliers { fraction: 0.01, magnitude: 50.0 })).unwrap();
        let k = xs.iter().filter(|x| x.abs() == 50.0).count();
        assert!(k > 50 && k <= 100, "{k} outliers");
        assert!(sample(Dist::Normal { mean: 0.0, std: -1.0 }, 10, 0, None).is_err());
        assert!(sample(Dist::Uniform { lo: 1.0, hi: 1.0 }, 10, 0, None).is_err());
        assert!(sample(Dist::Laplace { loc: 0.0, b: f32::NAN }, 10, 0, None).is_err());
        assert!(sample(d, 10, 0, Some(Outliers { fraction: 2.0, magnitude: 1.0 })).is_err());
        assert!(sample(d, 0, 0, Some(Outliers { fraction: 0.5, magnitude: 1.0 })).unwrap().is_empty());
    }

    #[test]
    fn channels_spread_geometrically() {
        let mut xs = vec![1.0f32; 12];
        scale_channels(&mut xs, 3, 100.0);
        assert_eq!(xs, [1.0, 1.0, 1.0, 1.0, 10.0, 10.0, 10.0, 10.0, 100.0, 100.0, 100.0, 100.0]);
        let mut one = vec![2.0f32; 4];
        scale_channels(&mut one, 1, 100.0);
        assert_eq!(one, [2.0; 4]);
        scale_channels(&mut [], 4, 10.0);
    }
}
