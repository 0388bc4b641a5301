//! Student-t draws as `rand_distr` 0.4 makes them (`StudentT<f32>`: a normal over the square
//! root of a χ² by Marsaglia and Tsang's gamma method), taking the same numbers from the
//! generator in the same order, with `libm`'s `powf` and `logf` where `rand_distr` calls the
//! platform's. The platform's differ between the CLI (glibc) and the browser (Rust's own), and
//! below 2 degrees of freedom every draw goes through `powf`: with `libm` a seeded tensor has
//! the same bits everywhere.

use rand::Rng;
use rand_distr::{Exp1, Open01, StandardNormal};

/// χ²(k) as `rand_distr` draws it: `N(0,1)²` for k = 1, else Gamma(k/2, 2).
#[derive(Clone, Copy, Debug)]
enum ChiSquared {
    One,
    /// Gamma with shape 1: an exponential of mean 2.
    Exp,
    /// Gamma with shape ≥ 1 (Marsaglia–Tsang's `d` and `c`), scale 2.
    Large { d: f32, c: f32 },
    /// Gamma with shape < 1: a Gamma(shape + 1) draw times `u^(1/shape)`.
    Small { inv_shape: f32, d: f32, c: f32 },
}

/// Student's t with `dof` degrees of freedom.
#[derive(Clone, Copy, Debug)]
pub struct StudentT {
    dof: f32,
    chi: ChiSquared,
}

/// Marsaglia–Tsang's constants for shape `shape` (≥ 1).
fn large(shape: f32) -> (f32, f32) {
    let d = shape - (1.0f64 / 3.0) as f32;
    (d, 1.0 / (9.0 * d).sqrt())
}

impl StudentT {
    /// `None` unless `dof > 0`.
    pub fn new(dof: f32) -> Option<StudentT> {
        let chi = if dof == 1.0 {
            ChiSquared::One
        } else {
            let shape = 0.5 * dof;
            if shape.is_nan() || shape <= 0.0 {
                return None;
            }
            if shape == 1.0 {
                ChiSquared::Exp
            } else if shape < 1.0 {
                let (d, c) = large(shape + 1.0);
                ChiSquared::Small { inv_shape: 1.0 / shape, d, c }
            } else {
                let (d, c) = large(shape);
                ChiSquared::Large { d, c }
            }
        };
        Some(StudentT { dof, chi })
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        let norm: f32 = rng.sample(StandardNormal);
        norm * (self.dof / self.chi(rng)).sqrt()
    }

    fn chi<R: Rng + ?Sized>(&self, rng: &mut R) -> f32 {
        const SCALE: f32 = 2.0;
        match self.chi {
            ChiSquared::One => {
                let norm: f32 = rng.sample(StandardNormal);
                norm * norm
            }
            ChiSquared::Exp => {
                // Exp(λ = 1/2) multiplies by 1/λ, exactly 2.
                let e: f32 = rng.sample(Exp1);
                e * SCALE
            }
            ChiSquared::Large { d, c } => gamma_large(rng, d, c, SCALE),
            ChiSquared::Small { inv_shape, d, c } => {
                let u: f32 = rng.sample(Open01);
                gamma_large(rng, d, c, SCALE) * libm::powf(u, inv_shape)
            }
        }
    }
}

/// Marsaglia and Tsang's gamma draw (2000), as `rand_distr::GammaLargeShape` writes it.
fn gamma_large<R: Rng + ?Sized>(rng: &mut R, d: f32, c: f32, scale: f32) -> f32 {
    loop {
        let x: f32 = rng.sample(StandardNormal);
        let v_cbrt = 1.0 + c * x;
        if v_cbrt <= 0.0 {
            continue;
        }
        let v = v_cbrt * v_cbrt * v_cbrt;
        let u: f32 = rng.sample(Open01);
        let x_sqr = x * x;
        if u < 1.0 - 0.0331f64 as f32 * x_sqr * x_sqr || libm::logf(u) < 0.5 * x_sqr + d * (1.0 - v + libm::logf(v)) {
            return d * v * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rand_distr::Distribution;

    /// Relative distance allowed where the platform's `powf` and `libm`'s differ (by an ulp or
    /// so, a few ulps once the draw's square root and product have passed it on).
    const CLOSE: f32 = 1e-6;

    /// The same numbers from the generator as `rand_distr`'s, so the same values wherever the
    /// two `powf`/`logf` agree, and within [`CLOSE`] where they do not; the generators stay in
    /// step all along.
    #[test]
    fn draws_as_rand_distr_does() {
        for dof in [0.5f32, 1.0, 1.5, 2.0, 2.5, 3.0, 7.25, 1000.0] {
            let ours = StudentT::new(dof).unwrap();
            let theirs = rand_distr::StudentT::new(dof).unwrap();
            let (mut a, mut b) = (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
            let mut same = 0;
            for i in 0..20_000 {
                let (x, y): (f32, f32) = (ours.sample(&mut a), theirs.sample(&mut b));
                assert!(x == y || ((x - y) / y).abs() < CLOSE, "dof {dof}, draw {i}: {x} against {y}");
                same += usize::from(x.to_bits() == y.to_bits());
            }
            assert_eq!(a.gen::<u64>(), b.gen::<u64>(), "dof {dof}: the generators are in step");
            assert!(same > 19_000, "dof {dof}: {same} of 20000 the same");
        }
        assert!(StudentT::new(0.0).is_none() && StudentT::new(-1.0).is_none() && StudentT::new(f32::NAN).is_none());
    }
}
