//! Observers: they watch batches of a tensor and choose the range `[min, max]` (per tensor or per
//! channel) that the quantization grid will cover. One trait, [`Observer`], for all of them:
//!
//! | observer | chooses | reference |
//! |---|---|---|
//! | [`MinMax`] | running min and max | `MinMaxObserver`, `PerChannelMinMaxObserver` |
//! | [`MovingAverage`] | `min += c·(batch_min − min)`, first batch initialises | `MovingAverage(PerChannel)MinMaxObserver` |
//! | [`Percentile`] | the p-th percentile of \|x\| (or of each tail) | `numpy.percentile` (linear) |
//! | [`HistogramL2`] | the L2-optimal sub-range of a 2048-bin histogram | PyTorch's `HistogramObserver` |
//! | [`Entropy`] | the \|x\| clip that minimises KL divergence | NVIDIA's `HistogramCalibrator` (entropy) |
//! | [`Mse`] | the clip that minimises the fake-quantization MSE | a search over clip ratios |
//!
//! Non-finite values are skipped and counted ([`Observer::non_finite`]); they never widen a range.

mod histogram_l2;
mod kl;
mod kl_search;
mod minmax;
mod mse;
mod mse_search;
mod percentile;

pub use histogram_l2::{histc, HistogramL2};
pub use kl::{entropy_clip_bin, Entropy};
pub use minmax::{MinMax, MovingAverage};
pub use mse::{endpoints_mse, fake_quant_mse, fake_quantize_endpoints, search_clip_ratio, Clip, Mse};
pub use mse_search::{search_clip_ratio_over, ClipSearch};
pub use percentile::{percentile_of, Percentile, Tails};

use serde::{Deserialize, Serialize};

use crate::engine::quantizer::qparams::{calculate_qparams_per_channel, QParams, QRange, QScheme};
use crate::engine::tensor::{ChannelLayout, ShapeError};

/// The ranges an observer has chosen: one `(min, max)` per channel (one entry per tensor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    pub min: Vec<f32>,
    pub max: Vec<f32>,
}

impl Ranges {
    /// The range of an observer that has seen nothing: `(+∞, −∞)` per channel.
    pub fn unobserved(channels: usize) -> Ranges {
        Ranges { min: vec![f32::INFINITY; channels], max: vec![f32::NEG_INFINITY; channels] }
    }
}

/// What an observer did with one batch: the batch's own finite min/max and the range chosen
/// after it, so the UI can animate calibration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub batch_min: f32,
    pub batch_max: f32,
    pub ranges: Ranges,
}

/// Per-tensor or per-channel statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Granularity {
    PerTensor,
    /// One range per index of axis `axis` (PyTorch's `ch_axis`).
    PerChannel { axis: usize },
}

/// Why a batch could not be observed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ObserveError {
    #[error(transparent)]
    Shape(#[from] ShapeError),
    #[error("batch has {got} channels along axis {axis}, but the observer has seen {expected}")]
    ChannelCount { axis: usize, expected: usize, got: usize },
    #[error("{0} observes per tensor only")]
    PerTensorOnly(&'static str),
    #[error("invalid parameter: {0}")]
    Param(String),
}

/// An observer: feed it batches, then ask for the range and the quantization parameters.
pub trait Observer: Send {
    /// A short name, e.g. `"minmax"`.
    fn name(&self) -> &'static str;
    /// The scheme and integer range the chosen range is for.
    fn scheme(&self) -> QScheme;
    fn qrange(&self) -> QRange;
    /// Feeds one batch of a tensor of `shape` (row-major `data`).
    fn observe(&mut self, data: &[f32], shape: &[usize]) -> Result<(), ObserveError>;
    /// Feeds one batch through its finite min and max and its count of non-finite values, as
    /// [`finite_min_max`] gives them, when that is all this observer needs (the per-tensor
    /// min/max and moving-average observers): a caller that has them anyway saves a pass over
    /// the values. `false` (nothing fed) when it needs the values: call [`Observer::observe`].
    fn observe_extremes(&mut self, _min: f32, _max: f32, _non_finite: usize) -> bool {
        false
    }
    /// The range chosen so far (`(+∞, −∞)` entries before anything finite was seen).
    fn ranges(&self) -> Ranges;
    /// Forgets everything seen.
    fn reset(&mut self);
    /// The range after each batch since the last reset.
    fn trace(&self) -> &[TraceStep];
    /// Non-finite values skipped so far.
    fn non_finite(&self) -> usize;
    /// Scale and zero point per channel (one entry per tensor), as `_calculate_qparams`.
    fn qparams(&self) -> Vec<QParams> {
        let r = self.ranges();
        calculate_qparams_per_channel(&r.min, &r.max, self.scheme(), self.qrange())
    }
}

/// The trait methods every observer implements alike, from its `common`, `trace` and
/// `non_finite` fields (or those of a named inner field).
macro_rules! bookkeeping {
    () => {
        fn scheme(&self) -> crate::engine::quantizer::qparams::QScheme {
            self.common.scheme
        }
        fn qrange(&self) -> crate::engine::quantizer::qparams::QRange {
            self.common.range
        }
        fn trace(&self) -> &[super::TraceStep] {
            &self.trace
        }
        fn non_finite(&self) -> usize {
            self.non_finite
        }
    };
    ($inner:ident) => {
        fn scheme(&self) -> crate::engine::quantizer::qparams::QScheme {
            self.$inner.common.scheme
        }
        fn qrange(&self) -> crate::engine::quantizer::qparams::QRange {
            self.$inner.common.range
        }
        fn trace(&self) -> &[super::TraceStep] {
            &self.$inner.trace
        }
        fn non_finite(&self) -> usize {
            self.$inner.non_finite
        }
    };
}
pub(crate) use bookkeeping;

/// The range after the last batch, for observers that choose it when a batch arrives.
pub(crate) fn latest(trace: &[TraceStep]) -> Ranges {
    trace.last().map(|t| t.ranges.clone()).unwrap_or_else(|| Ranges::unobserved(1))
}

/// Every finite value seen and the running min/max: the state of observers that choose their
/// range from all the values (percentile, MSE).
#[derive(Clone, Debug)]
pub(crate) struct Retained {
    pub values: Vec<f32>,
    pub min: f32,
    pub max: f32,
}

impl Retained {
    pub fn new() -> Retained {
        Retained { values: Vec::new(), min: f32::INFINITY, max: f32::NEG_INFINITY }
    }

    /// Keeps the finite values of a batch (through `map`); returns the batch's finite min, max
    /// and non-finite count.
    pub fn add(&mut self, data: &[f32], map: impl Fn(f32) -> f32) -> (f32, f32, usize) {
        let (lo, hi, bad) = finite_min_max(data);
        self.min = self.min.min(lo);
        self.max = self.max.max(hi);
        self.values.extend(data.iter().copied().filter(|x| x.is_finite()).map(map));
        (lo, hi, bad)
    }
}

/// Settings shared by every observer.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Common {
    pub scheme: QScheme,
    pub range: QRange,
}

/// Which observer, with its parameters; [`ObserverKind::build`] makes one.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ObserverKind {
    MinMax,
    /// `averaging_constant` c in (0, 1]: `min += c·(batch_min − min)`. PyTorch's default is 0.01.
    MovingAverage { averaging_constant: f32 },
    /// The `percentile` (0 < p <= 100) of |x| or of each tail.
    Percentile { percentile: f64, tails: Tails },
    /// PyTorch's HistogramObserver with `bins` bins (default 2048).
    Histogram { bins: usize },
    /// NVIDIA's entropy calibration with `bins` bins (default 2048), starting at bin `start_bin`
    /// (default 128).
    Entropy { bins: usize, start_bin: usize },
    /// MSE-optimal clipping.
    Mse,
}

impl ObserverKind {
    /// PyTorch's default averaging constant.
    pub const DEFAULT_AVERAGING_CONSTANT: f32 = 0.01;

    /// Makes the observer. Histogram-based observers and percentile work per tensor only.
    pub fn build(&self, common: Common, granularity: Granularity) -> Result<Box<dyn Observer>, ObserveError> {
        let per_tensor_only = |name| match granularity {
            Granularity::PerTensor => Ok(()),
            Granularity::PerChannel { .. } => Err(ObserveError::PerTensorOnly(name)),
        };
        Ok(match *self {
            ObserverKind::MinMax => Box::new(MinMax::new(common, granularity)),
            ObserverKind::MovingAverage { averaging_constant } => {
                Box::new(MovingAverage::new(common, granularity, averaging_constant)?)
            }
            ObserverKind::Percentile { percentile, tails } => {
                per_tensor_only("percentile")?;
                Box::new(Percentile::new(common, percentile, tails)?)
            }
            ObserverKind::Histogram { bins } => {
                per_tensor_only("histogram")?;
                Box::new(HistogramL2::new(common, bins)?)
            }
            ObserverKind::Entropy { bins, start_bin } => {
                per_tensor_only("entropy")?;
                Box::new(Entropy::new(common, bins, start_bin)?)
            }
            ObserverKind::Mse => {
                per_tensor_only("mse")?;
                Box::new(Mse::new(common))
            }
        })
    }
}

/// Finite min and max of `xs` and how many values were not finite; `(+∞, −∞)` for none.
///
/// One pass that only compares (bandwidth-bound) finds min, max and the largest magnitude's bit
/// pattern; only when that shows a NaN or ±∞ (rare in real tensors) does a second, counting
/// pass run.
pub fn finite_min_max(xs: &[f32]) -> (f32, f32, usize) {
    let (min, max, all_finite) = crate::engine::simd::dispatch!(min_max_fast(xs));
    if all_finite {
        (min, max, 0)
    } else {
        crate::engine::simd::dispatch!(finite_min_max_counting(xs))
    }
}

/// Lanes of the min/max loops: eight 128-bit or four 256-bit registers per accumulator, so the
/// compare chains overlap.
const MIN_MAX_LANES: usize = 32;

/// Min and max of the non-NaN values and whether every value is finite. `x < lo ? x : lo` is
/// exactly `minps(x, lo)` (and wasm's `pmin`): a NaN `x` leaves the accumulator as it was.
#[inline(always)]
fn min_max_fast(xs: &[f32]) -> (f32, f32, bool) {
    const LANES: usize = MIN_MAX_LANES;
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut magnitude = [0u32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let rest = chunks.remainder();
    let mut step = |i: usize, x: f32| {
        lo[i] = if x < lo[i] { x } else { lo[i] };
        hi[i] = if x > hi[i] { x } else { hi[i] };
        magnitude[i] = magnitude[i].max(x.to_bits() & 0x7fff_ffff);
    };
    for chunk in chunks {
        crate::engine::simd::prefetch_ahead(chunk.as_ptr());
        for (i, &x) in chunk.iter().enumerate() {
            step(i, x);
        }
    }
    for &x in rest {
        step(0, x);
    }
    let min = lo.iter().copied().fold(f32::INFINITY, f32::min);
    let max = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    // Finite iff the exponent bits are not all ones.
    (min, max, magnitude.iter().all(|&m| m < 0x7f80_0000))
}

/// Finite min/max with non-finite values counted: they are replaced by the accumulator itself.
#[inline(always)]
fn finite_min_max_counting(xs: &[f32]) -> (f32, f32, usize) {
    const LANES: usize = MIN_MAX_LANES;
    let mut lo = [f32::INFINITY; LANES];
    let mut hi = [f32::NEG_INFINITY; LANES];
    let mut non_finite = 0usize;
    // Lane counters are flushed every block, long before a u32 could overflow.
    for block in xs.chunks(LANES << 20) {
        let mut bad = [0u32; LANES];
        let chunks = block.chunks_exact(LANES);
        let rest = chunks.remainder();
        for chunk in chunks {
            for i in 0..LANES {
                let x = chunk[i];
                let finite = (x.to_bits() & 0x7fff_ffff) < 0x7f80_0000;
                let y = if finite { x } else { lo[i] };
                lo[i] = if y < lo[i] { y } else { lo[i] };
                let z = if finite { x } else { hi[i] };
                hi[i] = if z > hi[i] { z } else { hi[i] };
                bad[i] += u32::from(!finite);
            }
        }
        non_finite += bad.iter().map(|&b| b as usize).sum::<usize>();
        for &x in rest {
            if x.is_finite() {
                lo[0] = lo[0].min(x);
                hi[0] = hi[0].max(x);
            } else {
                non_finite += 1;
            }
        }
    }
    let min = lo.iter().copied().fold(f32::INFINITY, f32::min);
    let max = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (min, max, non_finite)
}

/// Per-channel finite min/max of a batch along `axis`.
pub(crate) fn channel_min_max(data: &[f32], shape: &[usize], axis: usize) -> Result<(Vec<f32>, Vec<f32>, usize), ShapeError> {
    let layout = ChannelLayout::new(shape, axis, data.len())?;
    let mut mins = vec![f32::INFINITY; layout.channels];
    let mut maxs = vec![f32::NEG_INFINITY; layout.channels];
    let mut non_finite = 0;
    layout.for_each_block(data, |c, _, block| {
        let (lo, hi, bad) = finite_min_max(block);
        mins[c] = mins[c].min(lo);
        maxs[c] = maxs[c].max(hi);
        non_finite += bad;
    });
    Ok((mins, maxs, non_finite))
}

/// Observes `data` as consecutive batches of `batch` slices along axis 0 of `shape` (or as one
/// batch when `batch_axis` is `None`), as the CLI's `--batch-axis` does.
pub fn observe_batches(
    observer: &mut dyn Observer,
    data: &[f32],
    shape: &[usize],
    batch_axis: Option<usize>,
) -> Result<(), ObserveError> {
    let Some(axis) = batch_axis else {
        return observer.observe(data, shape);
    };
    let layout = ChannelLayout::new(shape, axis, data.len())?;
    // Slice i along `axis` gathers block i of each outer repetition.
    let mut sub_shape = shape.to_vec();
    sub_shape[axis] = 1;
    let mut slice = Vec::with_capacity(layout.outer * layout.inner);
    for i in 0..layout.channels {
        slice.clear();
        for o in 0..layout.outer {
            let start = (o * layout.channels + i) * layout.inner;
            slice.extend_from_slice(&data[start..start + layout.inner]);
        }
        observer.observe(&slice, &sub_shape)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_min_max_skips_non_finite() {
        assert_eq!(finite_min_max(&[]), (f32::INFINITY, f32::NEG_INFINITY, 0));
        let mut xs: Vec<f32> = (0..37).map(|i| i as f32 - 10.0).collect();
        xs[3] = f32::NAN;
        xs[20] = f32::INFINITY;
        xs[36] = f32::NEG_INFINITY;
        assert_eq!(finite_min_max(&xs), (-10.0, 25.0, 3));
        assert_eq!(finite_min_max(&[f32::NAN; 9]), (f32::INFINITY, f32::NEG_INFINITY, 9));
        assert_eq!(finite_min_max(&[f32::MAX, -f32::MAX]), (-f32::MAX, f32::MAX, 0));
    }

    proptest::proptest! {
        /// Both paths (all finite, and with NaN/±∞ sprinkled in) agree with a plain scan.
        #[test]
        fn finite_min_max_matches_a_plain_scan(
            mut xs in proptest::collection::vec(-1e6f32..1e6, 0..200),
            specials in proptest::collection::vec((0usize..200, 0u8..3), 0..4),
        ) {
            for (at, kind) in specials {
                if at < xs.len() {
                    xs[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][kind as usize];
                }
            }
            let finite: Vec<f32> = xs.iter().copied().filter(|x| x.is_finite()).collect();
            let want = (
                finite.iter().copied().fold(f32::INFINITY, f32::min),
                finite.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                xs.len() - finite.len(),
            );
            proptest::prop_assert_eq!(finite_min_max(&xs), want);
        }
    }

    #[test]
    fn batches_along_an_axis() {
        // Shape (3, 2): batches along axis 0 are the rows.
        let data = [1.0, 2.0, -5.0, 0.0, 3.0, 9.0];
        let common = Common { scheme: QScheme::Affine, range: QRange::QUINT8 };
        let mut ema = ObserverKind::MovingAverage { averaging_constant: 0.5 }.build(common, Granularity::PerTensor).unwrap();
        observe_batches(ema.as_mut(), &data, &[3, 2], Some(0)).unwrap();
        let trace: Vec<(f32, f32)> = ema.trace().iter().map(|t| (t.batch_min, t.batch_max)).collect();
        assert_eq!(trace, [(1.0, 2.0), (-5.0, 0.0), (3.0, 9.0)]);
        // min: 1 → 1 + 0.5(−5 − 1) = −2 → −2 + 0.5(3 + 2) = 0.5
        // max: 2 → 2 + 0.5(0 − 2) = 1 → 1 + 0.5(9 − 1) = 5
        assert_eq!(ema.ranges(), Ranges { min: vec![0.5], max: vec![5.0] });
        // Batches along axis 1 are the columns.
        let mut mm = ObserverKind::MinMax.build(common, Granularity::PerTensor).unwrap();
        observe_batches(mm.as_mut(), &data, &[3, 2], Some(1)).unwrap();
        assert_eq!(mm.trace()[0].batch_min, -5.0);
        assert_eq!(mm.trace()[0].batch_max, 3.0);
        assert!(observe_batches(mm.as_mut(), &data, &[3, 2], Some(2)).is_err());
        assert!(ObserverKind::Mse.build(common, Granularity::PerChannel { axis: 0 }).is_err());
    }
}
