//! The entropy calibrator's search: for every candidate clip bin `i`, the KL divergence between
//! the clipped histogram and its quantization to `2^(b−1)` levels (NVIDIA's
//! `_compute_amax_entropy`), and the candidate with the least.
//!
//! Computed as written, each candidate costs O(i), so the search is quadratic in the bin count:
//! 3.7 s at 8,192 bins and 98 s at 65,536 in the browser. [`entropy_clip_bin`] gives the same
//! answer from prefix sums: a candidate whose levels each hold at most one source bin (every `i`
//! up to the level count) costs O(1), any other O(levels). Its divergences differ from the
//! direct ones only by rounding, so every candidate within [`RECHECK_TOL`] of the least is
//! computed again exactly as written, and the choice is made among those: bit for bit the
//! direct search's.

/// Candidates whose fast divergence lies within this of the least are computed again as written.
/// The fast sums are off by ~1e-13 at most (prefix sums of counts are exact in f64; those of
/// `c·ln c` carry one rounding per bin, ~1e-16 of `N·ln N`, over `N` after normalizing).
const RECHECK_TOL: f64 = 1e-9;

/// `scipy.stats.entropy(p, q)`: both normalised, `Σ p·ln(p/q)`, `+∞` where `p > 0 = q`.
pub(crate) fn kl_divergence(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq): (f64, f64) = (p.iter().sum(), q.iter().sum());
    p.iter()
        .zip(q)
        .map(|(&a, &b)| {
            let (a, b) = (a / sp, b / sq);
            if a > 0.0 && b > 0.0 {
                a * libm::log(a / b)
            } else if a == 0.0 && b >= 0.0 {
                0.0
            } else {
                f64::INFINITY
            }
        })
        .sum()
}

/// The divergence of candidate `i` computed as NVIDIA's code does (`bins[0]` already replaced by
/// `bins[1]`): `np.digitize` of the first `i` bins onto `nbins` levels, each level's mass spread
/// over its non-empty bins, the tail folded into bin `i − 1`.
fn divergence_as_written(bins: &[f64], i: usize, nbins: usize) -> f64 {
    // np.digitize(range(i), np.linspace(0, i, nbins + 1)) − 1: the level of source bin j.
    let space: Vec<f64> = (0..=nbins).map(|k| i as f64 * k as f64 / nbins as f64).collect();
    let mut digitized = Vec::with_capacity(i);
    let mut level = 0usize;
    for (j, &b) in bins[..i].iter().enumerate() {
        while level < nbins && space[level + 1] <= j as f64 {
            level += 1;
        }
        digitized.push(if b == 0.0 { usize::MAX } else { level.min(nbins) });
    }
    let (mut counts, mut members) = (vec![0f64; nbins], vec![0usize; nbins]);
    for (j, &d) in digitized.iter().enumerate() {
        if d < nbins {
            counts[d] += bins[j];
            members[d] += 1;
        }
    }
    let q: Vec<f64> = digitized.iter().map(|&d| if d < nbins { counts[d] / members[d] as f64 } else { 0.0 }).collect();
    let mut p: Vec<f64> = bins[..i].to_vec();
    p[i - 1] += bins[i..].iter().sum::<f64>();
    kl_divergence(&p, &q)
}

/// Prefix sums over the bins: mass, `c·ln c`, and the count of non-empty bins before each index.
struct Prefix {
    mass: Vec<f64>,
    clnc: Vec<f64>,
    nonzero: Vec<u32>,
}

impl Prefix {
    fn new(bins: &[f64]) -> Prefix {
        let n = bins.len();
        let (mut mass, mut clnc, mut nonzero) = (Vec::with_capacity(n + 1), Vec::with_capacity(n + 1), Vec::with_capacity(n + 1));
        let (mut m, mut l, mut z) = (0f64, 0f64, 0u32);
        for &b in bins {
            mass.push(m);
            clnc.push(l);
            nonzero.push(z);
            m += b;
            if b > 0.0 {
                l += b * libm::log(b);
                z += 1;
            }
        }
        mass.push(m);
        clnc.push(l);
        nonzero.push(z);
        Prefix { mass, clnc, nonzero }
    }

    /// Candidate `i`'s divergence from the sums: the same quantity as [`divergence_as_written`]
    /// up to rounding, and `+∞` exactly where that one is.
    fn divergence(&self, bins: &[f64], i: usize, nbins: usize) -> f64 {
        let n = bins.len();
        let sp = self.mass[n];
        let sq = self.mass[i];
        if sq <= 0.0 || sp <= 0.0 {
            return f64::INFINITY; // q (or p) has no mass: every term is 0/0
        }
        let last = bins[i - 1];
        let tail = sp - sq;
        if last == 0.0 && tail > 0.0 {
            return f64::INFINITY; // the folded tail lands on a bin no level represents
        }
        // Σ over non-empty bins j < i of c_j·ln(c_j/q_j), level by level: a level of C over m
        // non-empty bins adds Σ c·ln c − C·ln(C/m), which is 0 when m = 1. Levels hold at most
        // one bin while i ≤ nbins.
        let mut a = 0f64;
        let mut q_last = last;
        if i > nbins {
            for k in 0..nbins {
                let (lo, hi) = ((i * k).div_ceil(nbins), (i * (k + 1)).div_ceil(nbins));
                let m = self.nonzero[hi] - self.nonzero[lo];
                if m == 0 {
                    continue;
                }
                let c = self.mass[hi] - self.mass[lo];
                let q = c / m as f64;
                if m > 1 {
                    a += (self.clnc[hi] - self.clnc[lo]) - c * libm::log(q);
                }
                if hi == i {
                    q_last = q;
                }
            }
        }
        // Bin i − 1 carries the tail in p: take its term out of the sum and put it back with p.
        let mut kl = 0f64;
        let head_mass = self.mass[i - 1];
        if last > 0.0 {
            a -= last * libm::log(last / q_last);
            let (pa, qb) = ((last + tail) / sp, q_last / sq);
            kl += pa * libm::log(pa / qb);
        }
        kl + (a + head_mass * libm::log(sq / sp)) / sp
    }
}

/// `_compute_amax_entropy`: the index of the chosen edge, or `None` when there are fewer bins
/// than `start_bin`. The last minimum wins, as `np.argmin` over NVIDIA's reversed list.
pub fn entropy_clip_bin(hist: &[i64], num_bits: u32, unsigned: bool, start_bin: usize) -> Option<usize> {
    let (bins, nbins) = prepare(hist, num_bits, unsigned, start_bin)?;
    let prefix = Prefix::new(&bins);
    let first = start_bin.max(1);
    let fast: Vec<f64> = (first..=bins.len()).map(|i| prefix.divergence(&bins, i, nbins)).collect();
    let least = fast.iter().copied().fold(f64::INFINITY, f64::min);
    if least == f64::INFINITY {
        return Some(bins.len()); // every divergence is +∞ as written too: the last one wins
    }
    let mut best: Option<(f64, usize)> = None;
    for (k, &f) in fast.iter().enumerate() {
        if f <= least + RECHECK_TOL * least.abs().max(1.0) {
            let i = first + k;
            let exact = divergence_as_written(&bins, i, nbins);
            if best.is_none_or(|(b, _)| exact <= b) {
                best = Some((exact, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// The bins as NVIDIA's code sees them (f64, `bins[0] = bins[1]`) and the level count, or `None`
/// for too few bins.
fn prepare(hist: &[i64], num_bits: u32, unsigned: bool, start_bin: usize) -> Option<(Vec<f64>, usize)> {
    let n = hist.len();
    if n < 2 || start_bin > n {
        return None;
    }
    let mut bins: Vec<f64> = hist.iter().map(|&c| c as f64).collect();
    bins[0] = bins[1];
    Some((bins, 1usize << (num_bits - 1 + u32::from(unsigned))))
}

/// The search as NVIDIA's code does it, every candidate computed as written: O(bins²).
#[cfg(test)]
pub(crate) fn entropy_clip_bin_as_written(hist: &[i64], num_bits: u32, unsigned: bool, start_bin: usize) -> Option<usize> {
    let (bins, nbins) = prepare(hist, num_bits, unsigned, start_bin)?;
    let mut best: Option<(f64, usize)> = None;
    for i in start_bin.max(1)..=bins.len() {
        let div = divergence_as_written(&bins, i, nbins);
        if best.is_none_or(|(b, _)| div <= b) {
            best = Some((div, i));
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// How close the fast divergence must come to the one computed as written (well inside
    /// [`RECHECK_TOL`], which the search relies on).
    const FAST_TOL: f64 = 1e-11;

    #[test]
    fn kl_matches_scipy() {
        // >>> scipy.stats.entropy([1, 2, 3], [2, 2, 2])  -> 0.08720802396075801
        let v = kl_divergence(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]);
        assert!((v - 0.08720802396075801).abs() < 1e-12, "{v}");
        assert_eq!(kl_divergence(&[1.0, 1.0], &[1.0, 0.0]), f64::INFINITY);
        assert_eq!(kl_divergence(&[0.0, 1.0], &[1.0, 1.0]), 2f64.ln());
    }

    #[test]
    fn clips_a_long_tail() {
        // Laplace-like counts over 2048 bins: the clip lands well inside the range.
        let hist: Vec<i64> = (0..2048).map(|i| (1e6 * (-(i as f64) / 60.0).exp()) as i64).collect();
        let i = entropy_clip_bin(&hist, 8, true, 128).unwrap();
        assert!(i > 128 && i < 2048, "{i}");
        assert_eq!(i, entropy_clip_bin_as_written(&hist, 8, true, 128).unwrap());
        assert_eq!(entropy_clip_bin(&hist[..100], 8, true, 128), None);
    }

    /// Histograms with the shapes calibration meets: heavy tails, gaps, a lone outlier bin,
    /// mass only at the top, all empty.
    fn shaped(kind: u8, n: usize, scale: f64, seed: u64) -> Vec<i64> {
        let mut s = seed | 1;
        let mut noise = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1000) as f64 / 1000.0
        };
        (0..n)
            .map(|j| {
                let x = j as f64 / n as f64;
                let c = match kind % 6 {
                    0 => scale * (-x * 12.0).exp(),
                    1 => scale * (-x * x * 40.0).exp() * noise(),
                    2 if j % 7 == 0 => 0.0,
                    2 => scale * (1.0 - x),
                    3 if j == n - 1 => 3.0,
                    3 if x < 0.1 => scale,
                    4 if j >= n - 2 => scale,
                    _ => 0.0,
                };
                c.floor() as i64
            })
            .collect()
    }

    #[test]
    fn each_fast_divergence_is_the_written_one() {
        for kind in 0..6 {
            for (n, nbins) in [(300, 128), (600, 256), (256, 256), (2048, 128)] {
                let hist = shaped(kind, n, 5e4, 7 + kind as u64);
                let mut bins: Vec<f64> = hist.iter().map(|&c| c as f64).collect();
                bins[0] = bins[1];
                let prefix = Prefix::new(&bins);
                for i in 1..=n {
                    let (fast, written) = (prefix.divergence(&bins, i, nbins), divergence_as_written(&bins, i, nbins));
                    if written.is_infinite() {
                        assert_eq!(fast, written, "kind {kind}, n {n}, i {i}");
                    } else {
                        assert!((fast - written).abs() <= FAST_TOL * written.abs().max(1.0), "kind {kind}, n {n}, i {i}: {fast} vs {written}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_search_chooses_what_the_written_search_chooses() {
        for kind in 0..6 {
            for (n, bits, unsigned, start) in [(2048, 8, false, 128), (1024, 4, true, 16), (700, 7, false, 1), (4096, 8, true, 128), (96, 8, false, 128)] {
                let hist = shaped(kind, n, 1e6, 99 + n as u64);
                assert_eq!(entropy_clip_bin(&hist, bits, unsigned, start), entropy_clip_bin_as_written(&hist, bits, unsigned, start), "kind {kind} n {n} bits {bits}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_histogram_gets_the_written_choice(
            hist in proptest::collection::vec(prop_oneof![Just(0i64), 0i64..5, 0i64..100_000], 2..400),
            bits in 2u32..=9, unsigned in any::<bool>(), start in 0usize..200,
        ) {
            prop_assert_eq!(entropy_clip_bin(&hist, bits, unsigned, start), entropy_clip_bin_as_written(&hist, bits, unsigned, start));
        }
    }
}
