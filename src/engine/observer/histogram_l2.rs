//! PyTorch's `HistogramObserver`: a running histogram of the values (2048 bins by default) and,
//! when asked for a range, `_non_linear_param_search`, an approximate L2-optimal choice of the
//! sub-range `[start_bin, end_bin]` to quantize (after Caffe2's norm minimization).
//!
//! The arithmetic follows PyTorch's tensor code step by step, including which quantities are f32
//! tensors and which Python floats (f64), so that a single batch gives the same range as PyTorch.
//! Across batches, PyTorch re-bins the old histogram through `torch.linspace`, whose vectorized
//! kernel rounds differently from its scalar one on different CPUs; there the range agrees to
//! within a bin.

use super::{finite_min_max, Common, ObserveError, Observer, Ranges, TraceStep};

/// PyTorch's `upsample_rate` when an old histogram is re-binned into a wider range.
const UPSAMPLE_RATE: usize = 16;

/// The observer.
#[derive(Clone, Debug)]
pub struct HistogramL2 {
    common: Common,
    bins: usize,
    histogram: Vec<f32>,
    min: f32,
    max: f32,
    trace: Vec<TraceStep>,
    non_finite: usize,
}

/// `torch.histc(xs, bins, lo, hi)` on the CPU: `pos = (int)((x − lo)·bins/(hi − lo))` in f32, the
/// last edge included in the last bin, values outside `[lo, hi]` skipped; a degenerate range
/// becomes `[lo − 1, hi + 1]`.
pub fn histc(xs: &[f32], bins: usize, lo: f32, hi: f32) -> Vec<f32> {
    let mut hist = vec![0f32; bins];
    histc_add(xs, lo, hi, &mut hist);
    hist
}

fn histc_add(xs: &[f32], lo: f32, hi: f32, hist: &mut [f32]) {
    let bins = hist.len();
    let (lo, hi) = if lo == hi { ((lo as f64 - 1.0) as f32, (hi as f64 + 1.0) as f32) } else { (lo, hi) };
    let (nb, width) = (bins as f32, hi - lo);
    for &x in xs {
        if !(x >= lo && x <= hi) {
            continue;
        }
        let pos = (((x - lo) * nb) / width) as usize;
        hist[pos.min(bins - 1)] += 1.0;
    }
}

/// `torch.linspace(start, end, steps)` for f32, as its scalar CPU kernel computes it.
fn linspace(start: f32, end: f32, steps: usize) -> Vec<f32> {
    if steps == 1 {
        return vec![start];
    }
    let step = (end - start) / (steps - 1) as f32;
    let halfway = steps / 2;
    (0..steps)
        .map(|i| if i < halfway { start + step * i as f32 } else { end - step * (steps - i - 1) as f32 })
        .collect()
}

/// PyTorch's `div_floor_floating`: Python-style floor division, computed through `fmod` so that
/// it is exact where `floor(a/b)` is not.
fn div_floor(a: f32, b: f32) -> f32 {
    if b == 0.0 {
        return a / b;
    }
    let m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 && (b < 0.0) != (m < 0.0) {
        div -= 1.0;
    }
    if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        (0.0f32).copysign(a / b)
    }
}

/// `_get_norm`: the L2 norm of values spread uniformly over `[begin, end]` with `density`.
#[inline]
fn get_norm(begin: f32, end: f32, density: f32) -> f32 {
    density * ((end * end * end - begin * begin * begin) / 3.0)
}

impl HistogramL2 {
    pub fn new(common: Common, bins: usize) -> Result<HistogramL2, ObserveError> {
        if !(1..=1 << 20).contains(&bins) {
            return Err(ObserveError::Param(format!("histogram bins {bins} must be in 1..=1048576")));
        }
        Ok(HistogramL2 {
            common,
            bins,
            histogram: vec![0.0; bins],
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
            trace: Vec::new(),
            non_finite: 0,
        })
    }

    /// The histogram and the range it covers.
    pub fn histogram(&self) -> (&[f32], f32, f32) {
        (&self.histogram, self.min, self.max)
    }

    /// Number of levels the search assumes, PyTorch's `dst_nbins = 2^bits(dtype)`: 256 for its
    /// 8-bit dtypes even with a narrower custom range; wider ranges use their own level count.
    fn dst_nbins(&self) -> usize {
        (self.common.range.levels() as usize).max(256)
    }

    /// `_upscale_histogram`: spreads the old histogram over 16× finer bins and re-bins their
    /// midpoints into the new range.
    fn upscale(&self, update_min: f32, update_max: f32) -> Vec<f32> {
        let fine = self.bins * UPSAMPLE_RATE;
        let bin_size = (self.max - self.min) / fine as f32;
        let mids = linspace(self.min, self.max, fine + 1);
        let bounds = linspace(update_min, update_max, self.bins + 1);
        let mut out = vec![0f32; self.bins];
        for (j, &mid0) in mids[..fine].iter().enumerate() {
            let mid = mid0 + 0.5 * bin_size;
            // bucketize(right=True) − 1: the number of boundaries <= mid, minus one.
            let idx = bounds.partition_point(|&b| b <= mid) as isize - 1;
            let idx = idx.clamp(0, self.bins as isize - 1) as usize;
            out[idx] += self.histogram[j / UPSAMPLE_RATE] / UPSAMPLE_RATE as f32;
        }
        out
    }

    /// `_compute_quantization_error` for quantizing bins `start..=end` onto `dst_nbins` levels.
    fn quantization_error(&self, start: usize, end: usize) -> f64 {
        let bin_width = (self.max as f64 - self.min as f64) / self.bins as f64;
        let dst_nbins = self.dst_nbins();
        let dst_bin_width = bin_width * (end - start + 1) as f64 / dst_nbins as f64;
        if dst_bin_width == 0.0 {
            return 0.0;
        }
        let (bw, dbw) = (bin_width as f32, dst_bin_width as f32);
        let half = (dst_bin_width / 2.0) as f32;
        let neg_half = (-dst_bin_width / 2.0) as f32;
        let last = (dst_nbins - 1) as f32;
        let full = get_norm(neg_half, half, 1.0);
        let mut sum = 0f64;
        for (i, &h) in self.histogram.iter().enumerate() {
            let density = h / bw;
            let begin = (i as f32 - start as f32) * bw;
            let end_ = begin + bw;
            let dst_begin = div_floor(begin, dbw).clamp(0.0, last);
            let dst_begin_center = (dst_begin + 0.5) * dbw;
            let dst_end = div_floor(end_, dbw).clamp(0.0, last);
            let mut norm = get_norm(begin - dst_begin_center, half, density);
            norm += (dst_end - dst_begin - 1.0) * (density * full);
            let dst_end_center = dst_end * dbw + half;
            norm += get_norm(neg_half, end_ - dst_end_center, density);
            sum += norm as f64;
        }
        sum
    }

    /// `_non_linear_param_search`: the chosen `(min, max)`.
    fn search(&self) -> (f32, f32) {
        if !self.min.is_finite() {
            return (f32::INFINITY, f32::NEG_INFINITY);
        }
        let bins = self.bins;
        let bin_width = (self.max - self.min) / bins as f32;
        let total = self.histogram.iter().map(|&h| h as f64).sum::<f64>() as f32 as f64;
        // torch.cumsum accumulates f32 in f64 and stores f32.
        let mut acc = 0f64;
        let csum: Vec<f32> = self.histogram.iter().map(|&h| { acc += h as f64; acc as f32 }).collect();
        let stepsize = 1e-5f64;
        let (mut alpha, mut beta) = (0.0f64, 1.0f64);
        let (mut start_bin, mut end_bin) = (0usize, bins - 1);
        let mut norm_min = f64::INFINITY;
        while alpha < beta {
            let next_alpha = alpha + stepsize;
            let next_beta = beta - stepsize;
            let (lo_target, hi_target) = ((next_alpha * total) as f32, (next_beta * total) as f32);
            let mut l = start_bin;
            let mut r = end_bin;
            while l < end_bin && csum[l] < lo_target {
                l += 1;
            }
            while r > start_bin && csum[r] > hi_target {
                r -= 1;
            }
            let (mut next_start, mut next_end) = (start_bin, end_bin);
            if (l - start_bin) > (end_bin - r) {
                next_start = l;
                alpha = next_alpha;
            } else {
                next_end = r;
                beta = next_beta;
            }
            if next_start == start_bin && next_end == end_bin {
                continue;
            }
            let norm = self.quantization_error(next_start, next_end);
            if norm > norm_min {
                break;
            }
            norm_min = norm;
            start_bin = next_start;
            end_bin = next_end;
        }
        (self.min + bin_width * start_bin as f32, self.min + bin_width * (end_bin + 1) as f32)
    }
}

impl Observer for HistogramL2 {
    fn name(&self) -> &'static str {
        "histogram"
    }
    super::bookkeeping!();

    fn observe(&mut self, data: &[f32], _shape: &[usize]) -> Result<(), ObserveError> {
        let (x_min, x_max, bad) = finite_min_max(data);
        self.non_finite += bad;
        if !x_min.is_finite() {
            return Ok(()); // nothing finite: PyTorch returns without touching the state
        }
        let finite: Vec<f32>;
        let xs = if bad > 0 {
            finite = data.iter().copied().filter(|x| x.is_finite()).collect();
            &finite[..]
        } else {
            data
        };
        if !self.min.is_finite() {
            self.min = x_min;
            self.max = x_max;
            self.histogram = histc(xs, self.bins, x_min, x_max);
        } else {
            let (new_min, new_max) = (self.min.min(x_min), self.max.max(x_max));
            let update = histc(xs, self.bins, new_min, new_max);
            if new_min == self.min && new_max == self.max {
                for (h, u) in self.histogram.iter_mut().zip(&update) {
                    *h += u;
                }
            } else {
                let old = if self.min == self.max {
                    // One value seen so far: put all its mass in its bin of the new range.
                    let mass: f32 = self.histogram.iter().sum();
                    histc(&[self.min], self.bins, new_min, new_max).into_iter().map(|c| c * mass).collect()
                } else {
                    self.upscale(new_min, new_max)
                };
                self.histogram = update.iter().zip(&old).map(|(u, o)| u + o).collect();
                self.min = new_min;
                self.max = new_max;
            }
        }
        let (lo, hi) = self.search();
        self.trace.push(TraceStep { batch_min: x_min, batch_max: x_max, ranges: Ranges { min: vec![lo], max: vec![hi] } });
        Ok(())
    }

    fn ranges(&self) -> Ranges {
        let (lo, hi) = self.search();
        Ranges { min: vec![lo], max: vec![hi] }
    }

    fn reset(&mut self) {
        *self = HistogramL2::new(self.common, self.bins).expect("bins were checked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{QRange, QScheme};

    fn common() -> Common {
        Common { scheme: QScheme::Affine, range: QRange::QUINT8 }
    }

    // >>> torch.histc(torch.tensor([0., 1., 2., 3., 4.]), bins=4, min=0, max=4)
    // tensor([1., 1., 1., 2.])
    // >>> torch.histc(torch.tensor([2., 2.]), bins=4, min=2, max=2)   # range widened to [1, 3]
    // tensor([0., 0., 2., 0.])
    #[test]
    fn histc_matches_torch() {
        assert_eq!(histc(&[0.0, 1.0, 2.0, 3.0, 4.0], 4, 0.0, 4.0), vec![1.0, 1.0, 1.0, 2.0]);
        assert_eq!(histc(&[2.0, 2.0], 4, 2.0, 2.0), vec![0.0, 0.0, 2.0, 0.0]);
        assert_eq!(histc(&[-1.0, 5.0, f32::NAN], 2, 0.0, 4.0), vec![0.0, 0.0]);
    }

    // torch.floor_divide semantics on floats.
    #[test]
    fn floor_division() {
        assert_eq!(div_floor(7.0, 2.0), 3.0);
        assert_eq!(div_floor(-7.0, 2.0), -4.0);
        // In f32, as torch.div(torch.tensor([0.3]), 0.1, rounding_mode='floor') -> tensor([3.])
        assert_eq!(div_floor(0.3, 0.1), 3.0);
        assert_eq!(div_floor(7.0, 0.1), 69.0);
        assert_eq!(div_floor(-0.0, 1.0), -0.0);
    }

    #[test]
    fn linspace_endpoints_are_exact() {
        let l = linspace(-1.3, 2.7, 11);
        assert_eq!((l[0], l[10]), (-1.3, 2.7));
        assert_eq!(linspace(5.0, 9.0, 1), vec![5.0]);
    }

    #[test]
    fn outliers_are_clipped_and_edges_are_safe() {
        // The search trades rounding error against clipping error (L2): one outlier is clipped
        // only when enough values gain from the finer grid. A million values in [−0.5, 0.5]: the
        // outlier at 5 costs 4.5² = 20, the finer grid saves ~10⁶·(5.5/256)²/12 ≈ 38.
        let mut xs: Vec<f32> = (0..1_000_000).map(|i| (i as f32 / 1_000_000.0) - 0.5).collect();
        xs.push(5.0);
        let mut h = HistogramL2::new(common(), 2048).unwrap();
        h.observe(&xs, &[xs.len()]).unwrap();
        let r = h.ranges();
        assert!(r.max[0] < 1.0 && r.min[0] <= -0.45, "{r:?}");
        // Ten thousand values do not pay for clipping it: the range keeps the outlier.
        let mut few = HistogramL2::new(common(), 2048).unwrap();
        few.observe(&xs[..10_000].iter().copied().chain([5.0]).collect::<Vec<_>>(), &[10_001]).unwrap();
        assert!(few.ranges().max[0] > 4.5);
        // Unobserved, constant and non-finite inputs.
        let mut e = HistogramL2::new(common(), 2048).unwrap();
        assert_eq!(e.ranges(), Ranges::unobserved(1));
        e.observe(&[f32::NAN, f32::INFINITY], &[2]).unwrap();
        assert_eq!((e.ranges(), e.non_finite()), (Ranges::unobserved(1), 2));
        e.observe(&[3.0; 10], &[10]).unwrap();
        assert_eq!(e.ranges(), Ranges { min: vec![3.0], max: vec![3.0] });
        e.observe(&[1.0, 5.0], &[2]).unwrap();
        let (hist, lo, hi) = e.histogram();
        assert_eq!((lo, hi, hist.iter().sum::<f32>()), (1.0, 5.0, 12.0));
        assert!(HistogramL2::new(common(), 0).is_err());
    }

    #[test]
    fn combining_preserves_mass() {
        let mut h = HistogramL2::new(common(), 256).unwrap();
        h.observe(&[0.0, 1.0, 2.0], &[3]).unwrap();
        h.observe(&[-4.0, 8.0], &[2]).unwrap();
        h.observe(&[0.5; 7], &[7]).unwrap();
        let (hist, lo, hi) = h.histogram();
        assert_eq!((lo, hi), (-4.0, 8.0));
        assert!((hist.iter().sum::<f32>() - 12.0).abs() < 1e-4);
    }
}
