//! Histograms with fixed-width bins over a closed range.

use serde::{Deserialize, Serialize};

/// Counts of values in `bins` equal-width bins over `[lo, hi]`. A value equal to `hi` falls in the
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
        let mut h = Histogram { lo, hi, counts: vec![0; bins], below: 0, above: 0, non_finite: 0 };
        // In f64 so that a range near f32::MAX does not overflow its width.
        let (lo64, hi64) = (lo as f64, hi as f64);
        let per_unit = bins as f64 / (hi64 - lo64);
        for &x in xs {
            if !x.is_finite() {
                h.non_finite += 1;
            } else if x < lo {
                h.below += 1;
            } else if x > hi {
                h.above += 1;
            } else {
                let i = (((x as f64 - lo64) * per_unit) as usize).min(bins - 1);
                h.counts[i] += 1;
            }
        }
        h
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
