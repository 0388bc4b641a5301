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

/// Two vectorizable passes over `xs`: the finite min/max, then sums of `x − K` and `(x − K)²`
/// with the shift `K` at the middle of the range, which keeps the variance accurate for data far
/// from zero (see `shifted_moments` for the precision).
pub fn summarize(xs: &[f32]) -> Summary {
    let (min, max, non_finite) = crate::engine::observer::finite_min_max(xs);
    let nan = if non_finite == 0 { 0 } else { xs.iter().filter(|x| x.is_nan()).count() };
    let count = xs.len() - non_finite;
    let mut s = Summary { count, nan, inf: non_finite - nan, min, max, mean: 0.0, std: 0.0, absmax: 0.0 };
    if count == 0 {
        return s;
    }
    // The shift, rounded to f32 so `x − k` is one f32 subtraction; |x − k| ≤ (max − min)/2 cannot
    // overflow.
    let k = ((min as f64 + max as f64) / 2.0) as f32;
    let (t1, t2) = shifted_moments(xs, k, non_finite == 0, (max as f64 - min as f64) / 2.0);
    s.finish(k, t1, t2);
    s
}

impl Summary {
    /// The mean, standard deviation and absmax from the shifted sums `t1 = Σ(x − k)` and
    /// `t2 = Σ(x − k)²` over `count` values, and `min`/`max`.
    fn finish(&mut self, k: f32, t1: f64, t2: f64) {
        let n = self.count as f64;
        self.mean = k as f64 + t1 / n;
        self.std = ((t2 - t1 * t1 / n) / n).max(0.0).sqrt();
        self.absmax = self.min.abs().max(self.max.abs());
    }
}

/// `Σ(x − k)` and `Σ(x − k)²` over the finite values. Blocks of [`MOMENT_BLOCK`] values are
/// summed in f32 lanes (as NumPy sums float32 arrays pairwise in f32) and the block sums in f64,
/// which keeps the relative error near 1e-7 at any length. Tensors with non-finite values (rare)
/// take a plain f64 loop, so that the common loop has no select and vectorizes, as do tensors
/// whose half-range `reach` would overflow or underflow `(x − k)²` in f32.
fn shifted_moments(xs: &[f32], k: f32, all_finite: bool, reach: f64) -> (f64, f64) {
    if all_finite && (F32_SQUARES_SAFE.0..=F32_SQUARES_SAFE.1).contains(&reach) {
        crate::engine::simd::dispatch!(block_moments(xs, k))
    } else {
        let (mut t1, mut t2) = (0.0, 0.0);
        for &x in xs.iter().filter(|x| x.is_finite()) {
            let d = (x - k) as f64;
            t1 += d;
            t2 += d * d;
        }
        (t1, t2)
    }
}

/// Half-ranges for which a block's sum of squares stays a normal f32: 32·(1e18)² < f32::MAX, and
/// (1e-15)² is far above f32's smallest normal.
const F32_SQUARES_SAFE: (f64, f64) = (1e-15, 1e18);
const MOMENT_LANES: usize = 8;
const MOMENT_BLOCK: usize = 32 * MOMENT_LANES;

#[inline(always)]
fn block_moments(xs: &[f32], k: f32) -> (f64, f64) {
    let (mut t1, mut t2) = (0f64, 0f64);
    // Parts of whole blocks, each warmed before it is summed (the blocks, and so the sums, are
    // the same as without the parts).
    for part in xs.chunks(crate::engine::simd::WARM_VALUES / MOMENT_BLOCK * MOMENT_BLOCK) {
        crate::engine::simd::warm(part);
        for block in part.chunks(MOMENT_BLOCK) {
            add_block(block, k, &mut t1, &mut t2);
        }
    }
    (t1, t2)
}

/// Adds one block to the sums: its values past its whole groups of [`MOMENT_LANES`] one by one
/// in f64, then its [`lane_sums`].
#[inline(always)]
fn add_block(block: &[f32], k: f32, t1: &mut f64, t2: &mut f64) {
    for &x in block.chunks_exact(MOMENT_LANES).remainder() {
        let d = (x - k) as f64;
        *t1 += d;
        *t2 += d * d;
    }
    let (l1, l2) = lane_sums(block, k);
    *t1 += l1;
    *t2 += l2;
}

/// The f32 lane sums of `Σ(x − k)` and `Σ(x − k)²` over a block's whole groups of
/// [`MOMENT_LANES`] values, each lane's sum then added in f64 in lane order.
#[inline(always)]
fn lane_sums(block: &[f32], k: f32) -> (f64, f64) {
    let (mut s1, mut s2) = ([0f32; MOMENT_LANES], [0f32; MOMENT_LANES]);
    for c in block.chunks_exact(MOMENT_LANES) {
        for i in 0..MOMENT_LANES {
            let d = c[i] - k;
            s1[i] += d;
            s2[i] += d * d;
        }
    }
    (s1.iter().map(|&v| v as f64).sum::<f64>(), s2.iter().map(|&v| v as f64).sum::<f64>())
}

/// Each whole block's [`lane_sums`], in order.
#[cfg(not(target_arch = "wasm32"))]
#[inline(always)]
fn blocks_lane_sums(xs: &[f32], k: f32) -> Vec<(f64, f64)> {
    xs.chunks_exact(MOMENT_BLOCK).map(|b| lane_sums(b, k)).collect()
}

/// [`summarize`] on up to `threads` threads, bit for bit the same: the min/max and the blocks'
/// lane sums are computed in parts, and the blocks' sums added in f64 in the same order as
/// [`summarize`] adds them.
#[cfg(not(target_arch = "wasm32"))]
pub fn summarize_threads(xs: &[f32], threads: usize) -> Summary {
    let threads = threads.clamp(1, (xs.len() / (1 << 16)).max(1));
    if threads == 1 {
        return summarize(xs);
    }
    // Parts of whole blocks, the last part taking the rest.
    let per = xs.len() / MOMENT_BLOCK / threads * MOMENT_BLOCK;
    let parts: Vec<&[f32]> = (0..threads).map(|i| if i + 1 < threads { &xs[i * per..(i + 1) * per] } else { &xs[i * per..] }).collect();
    let ends: Vec<(f32, f32, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = parts.iter().map(|p| s.spawn(move || crate::engine::observer::finite_min_max(p))).collect();
        handles.into_iter().map(|h| h.join().expect("a min/max thread")).collect()
    });
    let (min, max, non_finite) = ends.iter().fold((f32::INFINITY, f32::NEG_INFINITY, 0), |(a, b, n), &(lo, hi, m)| (if lo < a { lo } else { a }, if hi > b { hi } else { b }, n + m));
    let count = xs.len() - non_finite;
    let reach = (max as f64 - min as f64) / 2.0;
    if count == 0 || non_finite > 0 || !(F32_SQUARES_SAFE.0..=F32_SQUARES_SAFE.1).contains(&reach) {
        return summarize(xs);
    }
    let k = ((min as f64 + max as f64) / 2.0) as f32;
    let sums: Vec<Vec<(f64, f64)>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts.iter().map(|p| s.spawn(move || crate::engine::simd::dispatch!(blocks_lane_sums(p, k)))).collect();
        handles.into_iter().map(|h| h.join().expect("a moments thread")).collect()
    });
    let (mut t1, mut t2) = (0f64, 0f64);
    for &(l1, l2) in sums.iter().flatten() {
        t1 += l1;
        t2 += l2;
    }
    // The last, partial block: its leftover values one by one, then its lanes, as in
    // `block_moments`.
    let tail = &xs[xs.len() / MOMENT_BLOCK * MOMENT_BLOCK..];
    if !tail.is_empty() {
        add_block(tail, k, &mut t1, &mut t2);
    }
    let mut s = Summary { count, nan: 0, inf: 0, min, max, mean: 0.0, std: 0.0, absmax: 0.0 };
    s.finish(k, t1, t2);
    s
}

/// Signal-to-quantization-noise ratio in dB: `10·log10(Σx² / Σ(x − x̂)²)` over the pairs where
/// both are finite. `+∞` when the error is zero, `None` when there is no finite pair or no signal.
pub fn sqnr_db(x: &[f32], xhat: &[f32]) -> Option<f64> {
    let (signal, noise, n) = sqnr_energies(x, xhat);
    if n == 0 {
        return None;
    }
    sqnr_from_energies(signal, noise)
}

/// `Σx²`, `Σ(x − x̂)²` and the number of pairs, over the pairs where both are finite: the sums
/// behind [`sqnr_db`], for SQNRs accumulated over several batches.
pub fn sqnr_energies(x: &[f32], xhat: &[f32]) -> (f64, f64, usize) {
    let (mut signal, mut noise, mut n) = (0.0f64, 0.0f64, 0usize);
    for (&a, &b) in x.iter().zip(xhat) {
        if a.is_finite() && b.is_finite() {
            signal += (a as f64) * (a as f64);
            let e = a as f64 - b as f64;
            noise += e * e;
            n += 1;
        }
    }
    (signal, noise, n)
}

/// `10·log10(signal/noise)` from the two sums of squares: `+∞` when `noise == 0`, `None` when
/// there is no signal.
pub fn sqnr_from_energies(signal: f64, noise: f64) -> Option<f64> {
    if signal <= 0.0 {
        None
    } else if noise == 0.0 {
        Some(f64::INFINITY)
    } else {
        Some(10.0 * libm::log10(signal / noise))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tolerance for f64-accumulated moments of small exact inputs.
    const MOMENT_TOL: f64 = 1e-12;

    /// Several threads give the one-thread summary bit for bit, at any length and split.
    #[test]
    fn summaries_on_threads_equal_the_summary() {
        let mut seed = 11u32;
        for n in [0usize, 1, 7, 256, 65_536, 65_537, 200_003, 1 << 20, (1 << 20) + 77] {
            let xs: Vec<f32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.3) * 7.0 + 100.0
                })
                .collect();
            let one = summarize(&xs);
            for threads in [1, 2, 3, 8] {
                let many = summarize_threads(&xs, threads);
                assert_eq!((many.count, many.nan, many.inf, many.min, many.max, many.absmax), (one.count, one.nan, one.inf, one.min, one.max, one.absmax), "{n}, {threads}");
                assert_eq!((many.mean.to_bits(), many.std.to_bits()), (one.mean.to_bits(), one.std.to_bits()), "{n} values on {threads} threads");
            }
        }
        let mut odd = vec![1.0f32; 300_000];
        odd[5] = f32::NAN;
        assert_eq!(summarize_threads(&odd, 2), summarize(&odd), "a NaN takes the one-thread path");
    }

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
        // Long tensors of huge and of tiny values take the f64 path (no f32 overflow/underflow).
        let huge: Vec<f32> = (0..1000).map(|i| if i % 2 == 0 { 3e30 } else { -3e30 }).collect();
        let h = summarize(&huge);
        assert_eq!((h.mean, h.std as f32), (0.0, 3e30));
        let tiny: Vec<f32> = (0..1000).map(|i| if i % 2 == 0 { 3e-30 } else { -3e-30 }).collect();
        assert!((summarize(&tiny).std / 3e-30 - 1.0).abs() < 1e-6);
        // Far from zero: numpy.std([1e6 + 1, 1e6 + 2, 1e6 + 3]) = 0.816496580927726
        let far = summarize(&[1e6 + 1.0, 1e6 + 2.0, 1e6 + 3.0]);
        assert!((far.std - 0.816496580927726).abs() < MOMENT_TOL);
    }

    /// Relative tolerance of the f32-blocked moments against an f64 two-pass reference.
    const BLOCKED_MOMENT_TOL: f64 = 1e-5;

    proptest::proptest! {
        #[test]
        fn moments_match_an_f64_two_pass(
            xs in proptest::collection::vec(-1e3f32..1e3, 1..3000),
            offset in -1e4f32..1e4,
            scale in 1e-3f32..1e3,
        ) {
            let xs: Vec<f32> = xs.iter().map(|x| x * scale + offset).collect();
            let n = xs.len() as f64;
            let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
            let std = (xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            let s = summarize(&xs);
            let spread = std.max(1e-3 * mean.abs()).max(f64::MIN_POSITIVE);
            proptest::prop_assert!((s.mean - mean).abs() <= BLOCKED_MOMENT_TOL * spread.max(mean.abs()), "{} vs {}", s.mean, mean);
            proptest::prop_assert!((s.std - std).abs() <= BLOCKED_MOMENT_TOL * spread, "{} vs {}", s.std, std);
        }
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
