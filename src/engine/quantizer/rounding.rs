//! Rounding policies for quantization (after tract's explicit rounding modes).

use serde::{Deserialize, Serialize};

/// How `x/s` is rounded to an integer code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Rounding {
    /// Round half to even, as `torch.round` and `std::nearbyint` (the default).
    #[default]
    HalfEven,
    /// Round half away from zero, as C's `round`.
    HalfAwayFromZero,
    /// Stochastic rounding: `floor(y + u)`, `u ~ U[0, 1)` from a counter-based hash of
    /// `(seed, element index)`, so the result does not depend on how the work is split.
    Stochastic { seed: u64 },
}

/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude below 2²² to an integer, half
/// to even, in the default floating-point environment. Cheaper than `round_ties_even`, which
/// needs SSE4.1 on x86 and vectorizes poorly without it.
const ROUND_MAGIC: f32 = 12_582_912.0;

/// `y` clamped to `[lo, hi]` by two compare-and-selects, which vectorize on every target.
/// `f32::max`/`min` carry NaN rules that wasm's own `f32.max` does not have, so in the browser
/// they become calls to `fmaxf` and `fminf`: two function calls per value (the MSE search spent
/// most of its time in them). Equal to `y.max(lo).min(hi)` for `lo ≤ hi`, up to the sign of a
/// zero (which no rounding keeps): a NaN `y` gives `lo`, as there.
#[inline(always)]
pub fn clamp_fast(y: f32, lo: f32, hi: f32) -> f32 {
    let c = if y > lo { y } else { lo };
    if c < hi { c } else { hi }
}

/// Rounds `y` (|y| < 2²²) half to even.
#[inline(always)]
pub fn round_half_even_small(y: f32) -> f32 {
    (y + ROUND_MAGIC) - ROUND_MAGIC
}

/// SplitMix64 of `seed` and `index`: a uniform in [0, 1) with 24 random bits.
#[inline]
pub fn uniform01(seed: u64, index: u64) -> f32 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
}

impl Rounding {
    /// Rounds `y`; `index` is the element's position (used only by stochastic rounding).
    #[inline]
    pub fn round(self, y: f32, index: usize) -> f32 {
        match self {
            Rounding::HalfEven => y.round_ties_even(),
            Rounding::HalfAwayFromZero => y.round(),
            Rounding::Stochastic { seed } => (y + uniform01(seed, index as u64)).floor(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_clamp_is_max_then_min() {
        let values = [f32::NEG_INFINITY, -1e30, -128.0, -127.5, -0.0, 0.0, f32::from_bits(1), 0.49999997, 0.5, 254.99998, 255.0, 1e30, f32::INFINITY];
        for (lo, hi) in [(-128.0f32, 127.0f32), (0.0, 255.0), (-0.0, 0.0), (3.0, 3.0)] {
            for y in values {
                let (fast, plain) = (clamp_fast(y, lo, hi), y.max(lo).min(hi));
                assert!(fast == plain, "{y} in [{lo}, {hi}]: {fast} against {plain}");
                assert_eq!(round_half_even_small(fast).to_bits(), round_half_even_small(plain).to_bits(), "{y}");
            }
            assert_eq!(clamp_fast(f32::NAN, lo, hi), f32::NAN.max(lo).min(hi));
        }
    }

    #[test]
    fn modes_on_ties() {
        let r = |m: Rounding, y| m.round(y, 0);
        assert_eq!([0.5, 1.5, 2.5, -0.5, -2.5].map(|y| r(Rounding::HalfEven, y)), [0.0, 2.0, 2.0, -0.0, -2.0]);
        assert_eq!([0.5, 1.5, 2.5, -0.5, -2.5].map(|y| r(Rounding::HalfAwayFromZero, y)), [1.0, 2.0, 3.0, -1.0, -3.0]);
        for y in [-4_194_303.5f32, -2.5, -0.5, 0.5, 1.5, 3.7, 4_194_303.5] {
            assert_eq!(round_half_even_small(y), y.round_ties_even(), "{y}");
        }
    }

    #[test]
    fn stochastic_is_unbiased_and_reproducible() {
        let m = Rounding::Stochastic { seed: 9 };
        let n = 100_000;
        let mean: f64 = (0..n).map(|i| m.round(0.3, i) as f64).sum::<f64>() / n as f64;
        // Standard error sqrt(0.21/1e5) ≈ 0.0015: 0.01 is over six of them.
        assert!((mean - 0.3).abs() < 0.01, "{mean}");
        assert_eq!(m.round(2.7, 123), m.round(2.7, 123));
        assert!((0..1000).all(|i| { let v = m.round(-1.25, i); v == -2.0 || v == -1.0 }));
        assert!((0..1000).all(|i| (0.0..1.0).contains(&uniform01(i, 7))));
    }
}
