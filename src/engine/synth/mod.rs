//! Seeded synthetic tensors. The same `(Dist, n, seed)` gives the same values on every platform
//! (rand's `StdRng` is a portable ChaCha12 stream, and logarithms and powers come from `libm`,
//! not the platform's maths library), so a shared URL reproduces a view exactly.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, Uniform};
use serde::{Deserialize, Serialize};

mod student_t;
use student_t::StudentT;

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
    let mut s = Sampler::new(dist, n, seed, outliers)?;
    s.draw(n);
    Ok(s.finish())
}

/// A distribution's sampler, built once.
#[derive(Clone, Debug)]
enum Draw {
    Normal(Normal<f32>),
    /// Laplace by its inverse CDF (location, scale).
    Laplace(f64, f64),
    Uniform(Uniform<f32>),
    StudentT(StudentT, f32),
    Bimodal(Normal<f32>, f32),
    PostRelu(Normal<f32>),
}

impl Draw {
    fn new(dist: Dist) -> Result<Draw, SynthError> {
        Ok(match dist {
            Dist::Normal { mean, std } => {
                check_loc_spread("normal", mean, std)?;
                Draw::Normal(Normal::new(mean, std).map_err(|e| bad("normal", e))?)
            }
            Dist::Laplace { loc, b } => {
                check_loc_spread("laplace", loc, b)?;
                Draw::Laplace(loc as f64, b as f64)
            }
            Dist::Uniform { lo, hi } => {
                if !(lo < hi && lo.is_finite() && hi.is_finite()) {
                    return Err(bad("uniform", format!("need finite lo < hi, got [{lo}, {hi})")));
                }
                Draw::Uniform(Uniform::new(lo, hi))
            }
            Dist::StudentT { dof, scale } => {
                check_loc_spread("student-t", 0.0, scale)?;
                Draw::StudentT(StudentT::new(dof).ok_or_else(|| bad("student-t", format!("need dof > 0, got {dof}")))?, scale)
            }
            Dist::Bimodal { sep, std } => {
                check_loc_spread("bimodal", sep, std)?;
                Draw::Bimodal(Normal::new(0.0, std).map_err(|e| bad("bimodal", e))?, sep)
            }
            Dist::PostRelu { mean, std } => {
                check_loc_spread("post-relu", mean, std)?;
                Draw::PostRelu(Normal::new(mean, std).map_err(|e| bad("post-relu", e))?)
            }
        })
    }

    /// Appends `k` draws to `xs`.
    fn extend(&self, rng: &mut StdRng, xs: &mut Vec<f32>, k: usize) {
        match self {
            Draw::Normal(d) => xs.extend((0..k).map(|_| d.sample(rng))),
            &Draw::Laplace(loc, b) => {
                // Inverse CDF: u ~ U(−½, ½), x = loc − b·sign(u)·ln(1 − 2|u|).
                let u = Uniform::new(-0.5f64, 0.5);
                xs.extend((0..k).map(|_| {
                    let u = u.sample(rng);
                    (loc - b * u.signum() * libm::log((1.0 - 2.0 * u.abs()).max(f64::MIN_POSITIVE))) as f32
                }))
            }
            Draw::Uniform(d) => xs.extend((0..k).map(|_| d.sample(rng))),
            &Draw::StudentT(ref d, scale) => xs.extend((0..k).map(|_| scale * d.sample(rng))),
            &Draw::Bimodal(ref d, sep) => xs.extend((0..k).map(|_| {
                let c = if rng.gen::<bool>() { sep / 2.0 } else { -sep / 2.0 };
                c + d.sample(rng)
            })),
            Draw::PostRelu(d) => xs.extend((0..k).map(|_| d.sample(rng).max(0.0))),
        }
    }
}

/// [`sample`] a slice at a time, so a long draw can report progress and be stopped between
/// slices: the same values, in the same order, however it is sliced.
#[derive(Clone, Debug)]
pub struct Sampler {
    rng: StdRng,
    draw: Draw,
    n: usize,
    outliers: Option<Outliers>,
    xs: Vec<f32>,
}

impl Sampler {
    /// Checks the parameters; draws nothing yet.
    pub fn new(dist: Dist, n: usize, seed: u64, outliers: Option<Outliers>) -> Result<Sampler, SynthError> {
        if let Some(o) = outliers {
            if !(0.0..=1.0).contains(&o.fraction) || !o.magnitude.is_finite() {
                return Err(bad("outliers", format!("fraction {} must be in [0, 1], magnitude finite", o.fraction)));
            }
        }
        let draw = Draw::new(dist)?;
        Ok(Sampler { rng: StdRng::seed_from_u64(seed), draw, n, outliers, xs: Vec::new() })
    }

    /// Draws up to `k` more values; returns how many are drawn in all.
    pub fn draw(&mut self, k: usize) -> usize {
        if self.xs.capacity() < self.n {
            self.xs.reserve_exact(self.n - self.xs.len());
        }
        let k = k.min(self.n - self.xs.len());
        self.draw.extend(&mut self.rng, &mut self.xs, k);
        self.xs.len()
    }

    /// Values drawn so far, and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.xs.len(), self.n)
    }

    /// Draws what is left, injects the outliers and hands over the values.
    pub fn finish(mut self) -> Vec<f32> {
        self.draw(usize::MAX);
        let (n, mut xs) = (self.n, self.xs);
        if let Some(o) = self.outliers {
            let k = (o.fraction as f64 * n as f64).round() as usize;
            for _ in 0..k {
                // As u64: a usize range would draw 32 bits in wasm and 64 natively, other indices.
                let i = self.rng.gen_range(0..n as u64) as usize;
                xs[i] = if self.rng.gen::<bool>() { o.magnitude } else { -o.magnitude };
            }
        }
        xs
    }
}

/// Everything that makes the Explorer's synthetic tensor: `channels × (n / channels)` values
/// (row-major), channel `c` scaled by `spread^(c/(channels − 1))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthSpec {
    pub dist: Dist,
    pub n: usize,
    pub seed: u64,
    pub outliers: Option<Outliers>,
    pub channels: usize,
    pub spread: f32,
}

impl SynthSpec {
    /// `[channels, n / channels]` (`channels` at least 1).
    pub fn shape(&self) -> [usize; 2] {
        let c = self.channels.max(1);
        [c, (self.n / c).max(1)]
    }

    /// A sampler of the tensor's values (before [`SynthSpec::finish`]).
    pub fn sampler(&self) -> Result<Sampler, SynthError> {
        let [c, row] = self.shape();
        Sampler::new(self.dist, c * row, self.seed, self.outliers)
    }

    /// The values a finished sampler gave, with the channels spread apart.
    pub fn finish(&self, sampler: Sampler) -> Vec<f32> {
        let mut xs = sampler.finish();
        scale_channels(&mut xs, self.shape()[0], self.spread);
        xs
    }

    /// The whole tensor at once.
    pub fn generate(&self) -> Result<Vec<f32>, SynthError> {
        Ok(self.finish(self.sampler()?))
    }
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
        let k = libm::powf(spread, c as f32 / (channels - 1) as f32);
        chunk.iter_mut().for_each(|x| *x *= k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::statistics::stats::summarize;

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
    fn slices_draw_the_same_values() {
        let dists = [Dist::Normal { mean: 0.5, std: 2.0 }, Dist::Laplace { loc: 0.0, b: 1.0 }, Dist::Bimodal { sep: 3.0, std: 0.5 }, Dist::StudentT { dof: 2.0, scale: 1.0 }];
        for d in dists {
            let outliers = Some(Outliers { fraction: 0.05, magnitude: 9.0 });
            let whole = sample(d, 10_007, 5, outliers).unwrap();
            let mut s = Sampler::new(d, 10_007, 5, outliers).unwrap();
            for k in [1, 999, 3, 5000, 0, 7] {
                s.draw(k);
            }
            assert_eq!(s.progress(), (6010, 10_007));
            assert_eq!(s.finish(), whole, "{d:?}");
        }
        let spec = SynthSpec { dist: dists[0], n: 1003, seed: 1, outliers: None, channels: 10, spread: 100.0 };
        assert_eq!(spec.shape(), [10, 100]);
        let xs = spec.generate().unwrap();
        assert_eq!(xs.len(), 1000);
        let mut plain = sample(dists[0], 1000, 1, None).unwrap();
        scale_channels(&mut plain, 10, 100.0);
        assert_eq!(xs, plain);
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
