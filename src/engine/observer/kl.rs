//! Entropy (KL-divergence) calibration as NVIDIA's `HistogramCalibrator` does it
//! (pytorch-quantization, `compute_amax("entropy")`): a histogram of |x| over `[0, max|x|]`
//! (2048 bins, grown by whole bins when a later batch is wider), then for every candidate clip bin
//! `i` from `start_bin` (128) on, the KL divergence between the clipped reference distribution and
//! its quantization to `2^(b−1)` levels (`2^b` for unsigned data); the clip is the left edge of
//! bin `i` with the smallest divergence (the last one on ties).
//!
//! The range is `[−amax, amax]`, or `[0, amax]` when no negative value was seen (then the
//! unsigned level count is used).

use super::histogram_l2::histc;
pub use super::kl_search::entropy_clip_bin;
use super::{finite_min_max, Common, ObserveError, Observer, Ranges, TraceStep};

/// NVIDIA's calibrator grows its histogram by whole bins without bound, and the KL search is
/// quadratic in the bin count; past this many bins, neighbouring bins are merged (a wider bin
/// width) so a batch 100× wider than the first cannot stall the page.
pub const MAX_ENTROPY_BINS: usize = 16_384;

#[derive(Clone, Debug)]
pub struct Entropy {
    common: Common,
    num_bins: usize,
    start_bin: usize,
    /// Counts of |x| per bin, and the bin edges (`num_bins + 1` of them, from 0).
    hist: Vec<f32>,
    edges: Vec<f32>,
    negative_seen: bool,
    trace: Vec<TraceStep>,
    non_finite: usize,
}

impl Entropy {
    pub fn new(common: Common, num_bins: usize, start_bin: usize) -> Result<Entropy, ObserveError> {
        if !(2..=1 << 16).contains(&num_bins) {
            return Err(ObserveError::Param(format!("entropy bins {num_bins} must be in 2..=65536")));
        }
        Ok(Entropy {
            common,
            num_bins,
            start_bin,
            hist: Vec::new(),
            edges: Vec::new(),
            negative_seen: false,
            trace: Vec::new(),
            non_finite: 0,
        })
    }

    fn amax(&self) -> Option<f32> {
        if self.hist.is_empty() {
            return None;
        }
        let counts: Vec<i64> = self.hist.iter().map(|&c| c as i64).collect();
        let bits = self.common.range.levels().max(2).ilog2();
        match entropy_clip_bin(&counts, bits, !self.negative_seen, self.start_bin) {
            Some(i) => Some(self.edges[i]),
            // Fewer bins than start_bin (tiny data): keep the whole range, as max does.
            None => self.edges.last().copied(),
        }
    }
}

impl Observer for Entropy {
    fn name(&self) -> &'static str {
        "entropy"
    }
    super::bookkeeping!();

    fn observe(&mut self, data: &[f32], _shape: &[usize]) -> Result<(), ObserveError> {
        let (lo, hi, bad) = finite_min_max(data);
        self.non_finite += bad;
        if !lo.is_finite() {
            return Ok(());
        }
        self.negative_seen |= lo < 0.0;
        let abs: Vec<f32> = data.iter().filter(|x| x.is_finite()).map(|x| x.abs()).collect();
        let x_max = lo.abs().max(hi.abs());
        if self.hist.is_empty() {
            self.hist = histc(&abs, self.num_bins, 0.0, x_max);
            let step = x_max / self.num_bins as f32;
            let n = self.num_bins;
            // torch.linspace(0, x_max, n + 1)
            self.edges = (0..=n).map(|k| if k < n.div_ceil(2) { step * k as f32 } else { x_max - step * (n - k) as f32 }).collect();
        } else {
            let top = *self.edges.last().expect("edges exist with a histogram");
            if x_max > top {
                // Grow by whole bins of the same width: torch.arange(0, x_max + width, width).
                let mut width = self.edges[1] - self.edges[0];
                let mut n = ((x_max / width).ceil() as usize).max(self.hist.len());
                while n > MAX_ENTROPY_BINS {
                    // Merge pairs of bins: twice the width, half the bins.
                    self.hist = self.hist.chunks(2).map(|p| p.iter().sum()).collect();
                    width *= 2.0;
                    n = ((x_max / width).ceil() as usize).max(self.hist.len());
                }
                // arange's length is computed in f64 from its f32 end, and may hold one edge more.
                let end = x_max + width;
                let count = ((end as f64 / width as f64).ceil() as usize).max(n + 1);
                self.edges = (0..count).map(|k| (k as f64 * width as f64) as f32).collect();
                self.num_bins = n;
            }
            let top = *self.edges.last().expect("edges exist");
            let mut hist = histc(&abs, self.num_bins, 0.0, top);
            for (h, old) in hist.iter_mut().zip(&self.hist) {
                *h += old;
            }
            self.hist = hist;
        }
        let ranges = self.ranges();
        self.trace.push(TraceStep { batch_min: lo, batch_max: hi, ranges });
        Ok(())
    }

    fn ranges(&self) -> Ranges {
        match self.amax() {
            Some(a) if self.negative_seen => Ranges { min: vec![-a], max: vec![a] },
            Some(a) => Ranges { min: vec![0.0], max: vec![a] },
            None => Ranges::unobserved(1),
        }
    }

    fn reset(&mut self) {
        *self = Entropy::new(self.common, self.num_bins, self.start_bin).expect("parameters were checked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{QRange, QScheme};

    #[test]
    fn edges_and_empty() {
        let common = Common { scheme: QScheme::Symmetric, range: QRange::QINT8 };
        let mut e = Entropy::new(common, 2048, 128).unwrap();
        assert_eq!(e.ranges(), Ranges::unobserved(1));
        e.observe(&[f32::NAN], &[1]).unwrap();
        assert_eq!(e.ranges(), Ranges::unobserved(1));
        e.observe(&[0.5; 4], &[4]).unwrap();
        let r = e.ranges();
        assert_eq!(r.min[0], 0.0);
        assert!(r.max[0] > 0.0 && r.max[0] <= 0.5);
        e.observe(&[-2.0, 1.0], &[2]).unwrap();
        let r = e.ranges();
        assert_eq!(r.min[0], -r.max[0]);
        // A batch a million times wider than the first merges bins instead of growing without bound.
        e.observe(&[500_000.0], &[1]).unwrap();
        assert!(e.hist.len() <= MAX_ENTROPY_BINS && e.edges.len() > e.hist.len());
        assert!((e.hist.iter().sum::<f32>() - 7.0).abs() < 1e-3);
        assert!(Entropy::new(common, 1, 128).is_err());
    }
}
