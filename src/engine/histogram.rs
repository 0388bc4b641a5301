//! Histograms with fixed-width bins over a closed range.

use serde::{Deserialize, Serialize};

/// Counts of values in `bins` equal-width bins over `[lo, hi]` (the bin index is computed in f32,
/// so a value within ~1e-7 of a bin edge, relatively, may land one bin off NumPy's f64 choice;
/// f64 for ranges near f32::MAX). A value equal to `hi` falls in the
/// last bin (as NumPy's `histogram` does). Values outside the range and non-finite values are
/// counted apart, never dropped silently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u64>,
    pub below: u64,
    pub above: u64,
    pub non_finite: u64,
}

impl Histogram {
    /// Bins `xs` into `bins` bins over `[lo, hi]`. A degenerate range (`lo >= hi`, or non-finite
    /// ends) is widened to `[lo − 0.5, lo + 0.5]` so that a constant tensor still shows one bar;
    /// `bins == 0` is treated as 1.
    pub fn new(xs: &[f32], lo: f32, hi: f32, bins: usize) -> Histogram {
        let bins = bins.max(1);
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo < hi {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (-0.5, 0.5)
        };
        // Slots 0..bins are the bins; then below, above and non-finite. Four interleaved tables
        // keep repeated hits on one bin from waiting on each other's stores.
        let (below, above, bad) = (bins, bins + 1, bins + 2);
        let slots = bins + 3;
        let mut tables = vec![0u32; 4 * slots];
        let (lo64, hi64) = (lo as f64, hi as f64);
        // f32 index arithmetic when the width is representable, f64 near f32::MAX.
        let wide = !((hi - lo).is_finite());
        let per_unit = (bins as f64 / (hi64 - lo64)) as f32;
        let slot = |x: f32| -> usize {
            if !(x - x == 0.0) {
                bad
            } else if x < lo {
                below
            } else if x > hi {
                above
            } else if wide {
                (((x as f64 - lo64) * (bins as f64 / (hi64 - lo64))) as usize).min(bins - 1)
            } else {
                (((x - lo) * per_unit) as usize).min(bins - 1)
            }
        };
        let flush = |tables: &mut Vec<u32>, totals: &mut Vec<u64>| {
            for k in 0..4 {
                for (t, c) in totals.iter_mut().zip(&mut tables[k * slots..(k + 1) * slots]) {
                    *t += *c as u64;
                    *c = 0;
                }
            }
        };
        let mut totals = vec![0u64; slots];
        // Flush before a u32 counter could overflow (u32::MAX values per block; on 32-bit
        // targets that is every value there can be).
        for block in xs.chunks(u32::MAX as usize) {
            let chunks = block.chunks_exact(4);
            let rest = chunks.remainder();
            for c in chunks {
                tables[slot(c[0])] += 1;
                tables[slots + slot(c[1])] += 1;
                tables[2 * slots + slot(c[2])] += 1;
                tables[3 * slots + slot(c[3])] += 1;
            }
            for &x in rest {
                tables[slot(x)] += 1;
            }
            flush(&mut tables, &mut totals);
        }
        Histogram {
            lo,
            hi,
            below: totals[below],
            above: totals[above],
            non_finite: totals[bad],
            counts: totals[..bins].to_vec(),
        }
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        ((self.hi as f64 - self.lo as f64) / self.counts.len() as f64) as f32
    }

    /// Left edge of bin `i`.
    pub fn bin_lo(&self, i: usize) -> f32 {
        (self.lo as f64 + i as f64 * (self.hi as f64 - self.lo as f64) / self.counts.len() as f64) as f32
    }

    /// Largest count of any bin (0 for an empty histogram).
    pub fn max_count(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // numpy.histogram([0, 0.5, 1, 2, 3, 4], bins=4, range=(0, 4)) -> [2, 1, 1, 2]
    #[test]
    fn matches_numpy() {
        let h = Histogram::new(&[0.0, 0.5, 1.0, 2.0, 3.0, 4.0], 0.0, 4.0, 4);
        assert_eq!(h.counts, vec![2, 1, 1, 2]);
        assert_eq!((h.below, h.above, h.non_finite), (0, 0, 0));
    }

    #[test]
    fn edges() {
        let h = Histogram::new(&[], 0.0, 1.0, 0);
        assert_eq!(h.counts, vec![0]);
        let h = Histogram::new(&[3.0, 3.0], 3.0, 3.0, 8);
        assert_eq!(h.counts.iter().sum::<u64>(), 2);
        let h = Histogram::new(&[f32::NAN, f32::INFINITY, -5.0, 5.0, 0.0], -1.0, 1.0, 2);
        assert_eq!((h.below, h.above, h.non_finite), (1, 1, 2));
        assert_eq!(h.counts, vec![0, 1]);
        let h = Histogram::new(&[-f32::MAX, f32::MAX], -f32::MAX, f32::MAX, 2);
        assert_eq!(h.counts, vec![1, 1]);
        assert_eq!(h.bin_lo(1), 0.0);
    }
}
