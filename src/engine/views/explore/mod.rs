//! One Explorer view of a tensor: calibrate with any observer (or a range set by hand), quantize
//! per tensor or per channel with any rounding, and measure. Everything the Explorer draws is
//! computed here, so the UI only lays it out and the native tests see the same numbers.

use serde::{Deserialize, Serialize};

pub mod session;

use crate::engine::statistics::histogram::{Binner, Envelope, Histogram};
use crate::engine::statistics::metrics::{measure_per_channel_rounded, measure_rounded, QuantMetrics, Sums, CHUNK};
use crate::engine::observer::{Common, Granularity, ObserveError, ObserverKind, Ranges};
use crate::engine::quantizer::qparams::{calculate_qparams, calculate_qparams_per_channel, QParams, QRange, QScheme, RangeError};
use crate::engine::quantizer::quantize::dequantize_one;
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::statistics::stats::{summarize, Summary};
use crate::engine::tensor::{ChannelLayout, ShapeError};

/// The integer range, as the Explorer's controls describe it.
///
/// Precedence: a custom `[quant_min, quant_max]` (PyTorch's `quant_min`/`quant_max`) replaces
/// the bit width; otherwise `bits` gives `[0, 2^b − 1]` (unsigned) or `[−2^(b−1), 2^(b−1) − 1]`
/// (signed), or with `narrow` the restricted `[−(2^(b−1) − 1), 2^(b−1) − 1]`. `reduce_range` then
/// halves both ends with floor division, as PyTorch does (`[0, 255]` → `[0, 127]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeSpec {
    pub bits: u32,
    pub unsigned: bool,
    pub narrow: bool,
    pub reduce_range: bool,
    pub custom: Option<(i64, i64)>,
}

impl RangeSpec {
    pub fn range(&self) -> Result<QRange, RangeError> {
        if let Some((qmin, qmax)) = self.custom {
            let dtype = if self.unsigned { crate::engine::quantizer::qparams::DType::QUInt8 } else { crate::engine::quantizer::qparams::DType::QInt8 };
            return QRange::for_dtype(dtype, Some((qmin, qmax)), self.reduce_range);
        }
        let r = match (self.narrow, self.unsigned) {
            (true, true) => return Err(RangeError::NarrowUnsigned),
            (true, false) => QRange::narrow(self.bits)?,
            (false, unsigned) => QRange::with_bits(self.bits, unsigned)?,
        };
        Ok(if self.reduce_range { QRange { qmin: r.qmin.div_euclid(2), qmax: r.qmax.div_euclid(2), custom: true, ..r } } else { r })
    }
}

/// Every setting of one view.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub observer: ObserverKind,
    pub scheme: QScheme,
    pub range: RangeSpec,
    pub granularity: Granularity,
    pub rounding: Rounding,
    /// A range `[min, max]` set by hand (the clip handles); replaces the observer's, per tensor.
    pub manual: Option<(f32, f32)>,
    /// Bins of the value and error histograms.
    pub bins: usize,
}

impl Settings {
    /// The grid of the range set by hand, every channel's (`None` without one): known without
    /// the tensor, so the page can draw it while the view is computed again.
    pub fn manual_grid(&self) -> Option<Result<QParams, ExploreError>> {
        let (lo, hi) = self.manual?;
        Some(if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            Err(ExploreError::Manual(lo, hi))
        } else {
            self.range.range().map(|range| calculate_qparams(lo, hi, self.scheme, range)).map_err(ExploreError::from)
        })
    }
}

/// Why a view could not be computed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExploreError {
    #[error("integer range: {0}")]
    Range(#[from] RangeError),
    #[error("observer: {0}")]
    Observe(#[from] ObserveError),
    #[error("shape: {0}")]
    Shape(#[from] ShapeError),
    #[error("a range set by hand must be finite with min ≤ max, got [{0}, {1}]")]
    Manual(f32, f32),
}

/// What one view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub summary: Summary,
    pub range: QRange,
    /// The observer's choice, one entry per channel (or one), before any range set by hand.
    pub observed: Ranges,
    /// The scale and zero point used, one per channel (or one).
    pub qparams: Vec<QParams>,
    pub metrics: QuantMetrics,
    /// One count per integer code, `qmin` first.
    pub codes: Vec<u64>,
    /// Values, over the union of the data range and every channel's representable range.
    pub values: Histogram,
    /// Errors `x̂ − x`.
    pub errors: Histogram,
    /// For each bin of `values`, the least and greatest error of its values (`None` for an
    /// empty bin): the error against x.
    pub error_by_value: Vec<Option<(f32, f32)>>,
    pub rounding: Rounding,
}

impl View {
    /// The representable range of each channel's grid.
    pub fn clip_ranges(&self) -> Vec<(f32, f32)> {
        self.qparams.iter().map(|p| p.representable_range(self.range)).collect()
    }

    /// The union of the channels' representable ranges (the one range, per tensor).
    pub fn clip_span(&self) -> (f32, f32) {
        self.clip_ranges().iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &(x, y)| (a.min(x), b.max(y)))
    }

    /// Half the largest channel's step.
    pub fn half_step(&self) -> f32 {
        self.qparams.iter().map(|p| p.scale).fold(0.0f32, f32::max) / 2.0
    }

    /// How far rounding alone can move a value: half the largest channel's step, or a whole
    /// step when rounding stochastically (down or up, whichever the draw says).
    pub fn rounding_bound(&self) -> f32 {
        self.half_step() * 2.0 * rounding_reach(self.rounding)
    }
}

/// The largest rounding error, in steps.
fn rounding_reach(rounding: Rounding) -> f32 {
    if matches!(rounding, Rounding::Stochastic { .. }) { 1.0 } else { 0.5 }
}

/// Computes the view of `xs` (of `shape`) under `s`.
pub fn explore(xs: &[f32], shape: &[usize], s: &Settings) -> Result<View, ExploreError> {
    explore_summarized(xs, shape, &summarize(xs), s)
}

/// [`explore`] of a tensor whose [`summarize`] is known (the Explorer computes it once per
/// tensor, not on every change of a setting).
///
/// One pass over the tensor for the min/max observers per tensor (their range is the
/// summary's), fused: it quantizes, measures, and fills both histograms and the error envelope a
/// cache-sized chunk at a time, so each value is read from memory once, not once per chart (at
/// 10M values, 40 MB, a pass is memory-bound: in wasm, whose loads cannot be prefetched, every
/// extra pass costs about as much as a chunk's arithmetic). Other observers add their own passes.
pub fn explore_summarized(xs: &[f32], shape: &[usize], summary: &Summary, s: &Settings) -> Result<View, ExploreError> {
    let observed = observe(xs, shape, summary, s)?;
    explore_observed(xs, shape, summary, s, observed)
}

/// The observer's ranges for `xs` under `s`, shown the whole tensor once.
pub fn observe(xs: &[f32], shape: &[usize], summary: &Summary, s: &Settings) -> Result<Ranges, ExploreError> {
    let range = s.range.range()?;
    let mut observer = s.observer.build(Common { scheme: s.scheme, range }, s.granularity)?;
    Ok(match (s.observer, s.granularity) {
        // Both running observers, shown the whole tensor once, keep its finite min and max: the
        // summary's (the same function computed them), so they need no pass of their own.
        (ObserverKind::MinMax | ObserverKind::MovingAverage { .. }, Granularity::PerTensor) => {
            Ranges { min: vec![summary.min], max: vec![summary.max] }
        }
        _ => {
            observer.observe(xs, shape)?;
            observer.ranges()
        }
    })
}

/// [`explore_summarized`] with the observer's ranges already known (`observed`, as [`observe`]
/// gives them: the worker computes a slow observer's in steps of its own).
pub fn explore_observed(xs: &[f32], shape: &[usize], summary: &Summary, s: &Settings, observed: Ranges) -> Result<View, ExploreError> {
    let range = s.range.range()?;
    let summary = *summary;
    let (data_min, data_max) = (summary.min, summary.max);
    let layout = match s.granularity {
        Granularity::PerTensor => None,
        Granularity::PerChannel { axis } => Some(ChannelLayout::new(shape, axis, xs.len())?),
    };
    let qparams = match s.manual_grid() {
        Some(grid) => vec![grid?; layout.map_or(1, |l| l.channels)],
        None => calculate_qparams_per_channel(&observed.min, &observed.max, s.scheme, range),
    };

    // Values over the data and every grid, with a little room on each side.
    let (mut lo, mut hi) = (data_min, data_max);
    for p in &qparams {
        let (a, b) = p.representable_range(range);
        lo = lo.min(a);
        hi = hi.max(b);
    }
    let pad = ((hi - lo) * 0.02).max(f32::EPSILON);
    // Each channel's data range: per channel, the observer's (both per-channel observers keep
    // the finite min and max of what they saw, here all of it).
    let data: Vec<(f32, f32)> = match layout {
        None => vec![(data_min, data_max)],
        Some(_) => observed.min.iter().copied().zip(observed.max.iter().copied()).collect(),
    };
    let reach = error_reach(&qparams, range, s.rounding, &data);

    let mut sums = Sums::new(range);
    let mut values = Binner::new(lo - pad, hi + pad, s.bins);
    let mut envelope = Envelope::new(s.bins);
    let mut errors = Binner::new(-reach, reach, s.bins);
    let mut err = vec![0f32; CHUNK];
    let mut run = |block: &[f32], p: QParams, offset: usize| {
        sums.add(block, p, range, s.rounding, offset, |chunk, codes| {
            let err = &mut err[..chunk.len()];
            // x̂ − x from the codes just measured: bit for bit the fake-quantized value's error
            // (NaN stays NaN, ±∞ gives ∓∞).
            for ((e, &q), &x) in err.iter_mut().zip(codes).zip(chunk) {
                *e = dequantize_one(q, p) - x;
            }
            values.add(chunk, |start, slots| envelope.add(slots, &err[start..]));
            errors.add(err, |_, _| {});
        });
    };
    match layout {
        None => run(xs, qparams[0], 0),
        Some(layout) => {
            layout.check_channels("scale/zero point", qparams.len())?;
            layout.for_each_block(xs, |c, offset, block| run(block, qparams[c], offset));
        }
    }
    let (metrics, codes) = sums.finish();
    let (values, errors, error_by_value) = (values.finish(), errors.finish(), envelope.finish());
    Ok(View { summary, range, observed, qparams, metrics, codes, values, errors, error_by_value, rounding: s.rounding })
}

/// Relative room added to [`error_reach`]: `x·(1/s)` in f32 is off by up to ~2⁻²³ of `|x|/s`
/// steps, so at 16 bits a rounding error can exceed half a step by ~0.4 %.
const REACH_MARGIN: f64 = 1.0 + 1.0 / 64.0;

/// The largest error `|x̂ − x|` any value can get, known before quantizing, so the error
/// histogram's range is set before the fused pass: rounding moves a value at most half a step
/// (a whole step when rounding stochastically), clipping moves channel `c`'s values at most
/// from its data's ends `data[c]` to its grid's ends. Never below `f32::MIN_POSITIVE`.
fn error_reach(qparams: &[QParams], range: QRange, rounding: Rounding, data: &[(f32, f32)]) -> f32 {
    let step = rounding_reach(rounding) as f64;
    let mut reach = 0f64;
    for (c, p) in qparams.iter().enumerate() {
        let (a, b) = p.representable_range(range);
        let (min, max) = data.get(c).or(data.first()).copied().unwrap_or((f32::INFINITY, f32::NEG_INFINITY));
        let clip = (a as f64 - min as f64).max(max as f64 - b as f64);
        reach = reach.max(p.scale as f64 * step).max(if clip.is_finite() { clip } else { 0.0 });
    }
    ((reach * REACH_MARGIN).min(f32::MAX as f64) as f32).max(f32::MIN_POSITIVE)
}

/// Per-tensor against per-channel quantization of one tensor, channel by channel: what the
/// per-channel view draws (the MobileNet depthwise story).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelView {
    /// Each channel's finite min and max along the axis.
    pub mins: Vec<f32>,
    pub maxs: Vec<f32>,
    /// Widest channel range over the narrowest (`None` below two channels or for a zero range).
    pub ratio: Option<f64>,
    /// The per-tensor grid's representable range.
    pub tensor_clip: (f32, f32),
    /// SQNR of the whole tensor, quantized per tensor and per channel (min/max ranges).
    pub per_tensor_sqnr: Option<f64>,
    pub per_channel_sqnr: Option<f64>,
    /// SQNR of each channel under the per-tensor grid, and under its own.
    pub channel_sqnr_tensor: Vec<Option<f64>>,
    pub channel_sqnr_own: Vec<Option<f64>>,
}

/// Min/max calibration of `xs` per tensor and per channel along `axis`, compared.
pub fn channels(xs: &[f32], shape: &[usize], axis: usize, scheme: QScheme, range: QRange) -> Result<ChannelView, ExploreError> {
    let layout = ChannelLayout::new(shape, axis, xs.len())?;
    let (mins, maxs, _) = crate::engine::observer::channel_min_max(xs, shape, axis)?;
    let (lo, hi, _) = crate::engine::observer::finite_min_max(xs);
    let tensor_p = calculate_qparams(lo, hi, scheme, range);
    let own = calculate_qparams_per_channel(&mins, &maxs, scheme, range);
    let per_tensor_sqnr = measure_rounded(xs, tensor_p, range, Rounding::HalfEven).0.sqnr_db;
    let per_channel_sqnr = measure_per_channel_rounded(xs, layout, &own, range, Rounding::HalfEven)?.0.sqnr_db;
    // Signal and noise energies per channel, under each grid: f32 errors, summed in f64 lanes.
    let mut energy = vec![[0f64; 3]; layout.channels];
    layout.for_each_block(xs, |c, _, block| {
        let e = crate::engine::simd::dispatch!(channel_energies(block, tensor_p, own[c], range));
        for (acc, add) in energy[c].iter_mut().zip(e) {
            *acc += add;
        }
    });
    let sqnr = |k: usize| energy.iter().map(|e| crate::engine::statistics::stats::sqnr_from_energies(e[0], e[k])).collect();
    let ranges: Vec<f32> = mins.iter().zip(&maxs).map(|(a, b)| if a.is_finite() { b - a } else { f32::NAN }).collect();
    Ok(ChannelView {
        ratio: crate::engine::views::inspect::range_ratio(&ranges),
        mins,
        maxs,
        tensor_clip: tensor_p.representable_range(range),
        per_tensor_sqnr,
        per_channel_sqnr,
        channel_sqnr_tensor: sqnr(1),
        channel_sqnr_own: sqnr(2),
    })
}

/// `Σ x²`, and `Σ (x − x̂)²` under grids `a` and `b`, over the finite values of `block`.
#[inline(always)]
fn channel_energies(block: &[f32], a: QParams, b: QParams, range: QRange) -> [f64; 3] {
    let (ia, ib) = (1.0 / a.scale, 1.0 / b.scale);
    let bounds = |p: QParams| ((range.qmin - p.zero_point) as f32, (range.qmax - p.zero_point) as f32);
    let ((la, ha), (lb, hb)) = (bounds(a), bounds(b));
    let mut lanes = [[0f64; 8]; 3];
    let mut add = |l: usize, x: f32| {
        if x.is_finite() {
            use crate::engine::quantizer::rounding::{clamp_fast, round_half_even_small};
            let ea = x - round_half_even_small(clamp_fast(x * ia, la, ha)) * a.scale;
            let eb = x - round_half_even_small(clamp_fast(x * ib, lb, hb)) * b.scale;
            lanes[0][l] += x as f64 * x as f64;
            lanes[1][l] += ea as f64 * ea as f64;
            lanes[2][l] += eb as f64 * eb as f64;
        }
    };
    let blocks = block.chunks_exact(8);
    let rest = blocks.remainder();
    for b8 in blocks {
        for (l, &x) in b8.iter().enumerate() {
            add(l, x);
        }
    }
    for (l, &x) in rest.iter().enumerate() {
        add(l, x);
    }
    lanes.map(|l| l.iter().sum())
}

/// 8-bit affine per tensor with `observer`, 64 bins: the tests' starting point.
#[cfg(test)]
pub(crate) fn test_settings(observer: ObserverKind) -> Settings {
    Settings {
        observer,
        scheme: QScheme::Affine,
        range: RangeSpec { bits: 8, unsigned: true, narrow: false, reduce_range: false, custom: None },
        granularity: Granularity::PerTensor,
        rounding: Rounding::HalfEven,
        manual: None,
        bins: 64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::quantize::fake_quantize_into;
    use crate::engine::views::analysis::analyze_with_codes;
    use crate::engine::observer::Tails;
    use crate::engine::synth::{sample, Dist};

    fn settings() -> Settings {
        test_settings(ObserverKind::MinMax)
    }

    #[test]
    fn range_spec_follows_pytorch() {
        let spec = |bits, unsigned, narrow, reduce_range, custom| RangeSpec { bits, unsigned, narrow, reduce_range, custom };
        let r = |s: RangeSpec| s.range().map(|r| (r.qmin, r.qmax));
        assert_eq!(r(spec(8, true, false, false, None)), Ok((0, 255)));
        assert_eq!(r(spec(8, true, false, true, None)), Ok((0, 127)));
        assert_eq!(r(spec(8, false, false, true, None)), Ok((-64, 63)));
        assert_eq!(r(spec(4, false, true, false, None)), Ok((-7, 7)));
        assert_eq!(r(spec(8, false, false, false, Some((-100, 100)))), Ok((-100, 100)));
        assert_eq!(r(spec(8, false, false, true, Some((-101, 100)))), Ok((-51, 50)));
        assert_eq!(r(spec(8, true, true, false, None)), Err(RangeError::NarrowUnsigned));
        assert!(r(spec(1, true, false, false, None)).is_err());
        assert!(r(spec(8, true, false, false, Some((1, 5)))).is_err(), "a custom range must hold 0");
    }

    #[test]
    fn min_max_view_equals_the_analysis() {
        let xs = sample(Dist::Normal { mean: 0.0, std: 1.0 }, 10_000, 3, None).unwrap();
        let v = explore(&xs, &[xs.len()], &settings()).unwrap();
        let (a, codes) = analyze_with_codes(&xs, QScheme::Affine, QRange::QUINT8);
        assert_eq!(v.qparams, vec![a.qparams]);
        assert_eq!(v.metrics, a.metrics);
        assert_eq!(v.codes, codes);
        assert_eq!(v.values.counts.iter().sum::<u64>(), 10_000);
        assert_eq!(v.errors.counts.iter().sum::<u64>(), 10_000);
        // Min/max clips nothing, so every error is rounding error within half a step...
        assert_eq!(v.metrics.clipped_below + v.metrics.clipped_above, 0);
        let s = a.qparams.scale;
        for (lo, hi) in v.error_by_value.iter().flatten() {
            assert!(lo.abs() <= s / 2.0 * (1.0 + 1e-5) && hi.abs() <= s / 2.0 * (1.0 + 1e-5), "{lo} {hi} {s}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// The fused pass gives what the plain passes give: fake-quantize, subtract, bin the
        /// values with the error envelope, bin the errors; and the error range set before the pass
        /// holds every error and is tight (within its margin of the largest error or the step).
        #[test]
        fn fused_pass_equals_separate_passes(
            seed in 0u64..1000,
            bits in 2u32..=16,
            per_channel in proptest::bool::ANY,
            rounding in proptest::sample::select(vec![Rounding::HalfEven, Rounding::HalfAwayFromZero, Rounding::Stochastic { seed: 5 }]),
            manual in proptest::option::of((-3.0f32..0.0, 0.0f32..3.0)),
            specials in proptest::bool::ANY,
            symmetric_narrow in proptest::bool::ANY,
        ) {
            let outliers = crate::engine::synth::Outliers { fraction: 0.01, magnitude: 20.0 };
            let mut xs = sample(Dist::Laplace { loc: 0.3, b: 1.0 }, 3 * 3000, seed, Some(outliers)).unwrap();
            crate::engine::synth::scale_channels(&mut xs, 3, 10.0);
            if specials {
                xs[17] = f32::NAN;
                xs[4000] = f32::INFINITY;
                xs[8999] = f32::NEG_INFINITY;
            }
            let granularity = if per_channel { Granularity::PerChannel { axis: 0 } } else { Granularity::PerTensor };
            // A symmetric narrow grid clips nothing under min/max, so its errors' reach is the
            // rounding's alone; an affine one's nudged zero point clips up to half a step.
            let range = RangeSpec { bits, unsigned: false, narrow: symmetric_narrow, reduce_range: false, custom: None };
            let scheme = if symmetric_narrow { QScheme::Symmetric } else { QScheme::Affine };
            let s = Settings { range, scheme, granularity, rounding, manual, bins: 97, ..settings() };
            let v = explore(&xs, &[3, 3000], &s).unwrap();
            let mut o = ObserverKind::MinMax.build(Common { scheme, range: v.range }, granularity).unwrap();
            o.observe(&xs, &[3, 3000]).unwrap();
            proptest::prop_assert_eq!(&v.observed, &o.ranges());

            let mut xhat = vec![0.0; xs.len()];
            match granularity {
                Granularity::PerTensor => fake_quantize_into(&xs, v.qparams[0], v.range, rounding, &mut xhat),
                Granularity::PerChannel { axis } => {
                    let layout = ChannelLayout::new(&[3, 3000], axis, xs.len()).unwrap();
                    crate::engine::quantizer::quantize::fake_quantize_per_channel_into(&xs, layout, &v.qparams, v.range, rounding, &mut xhat).unwrap();
                }
            }
            let err: Vec<f32> = xhat.iter().zip(&xs).map(|(y, x)| y - x).collect();
            let (values, envelope) = Histogram::with_envelope(&xs, &err, v.values.lo, v.values.hi, 97);
            proptest::prop_assert_eq!(&v.values, &values);
            proptest::prop_assert_eq!(&v.error_by_value, &envelope);
            proptest::prop_assert_eq!(&v.errors, &Histogram::new(&err, v.errors.lo, v.errors.hi, 97));
            proptest::prop_assert_eq!(v.errors.below + v.errors.above, 0, "every error within the range");
            let bound = (v.metrics.max_abs_err as f32).max(v.rounding_bound());
            proptest::prop_assert!(v.errors.hi <= bound * REACH_MARGIN as f32 * (1.0 + 1e-6), "{} vs {}", v.errors.hi, bound);
        }
    }

    #[test]
    fn manual_range_clips_and_errors_grow_outside() {
        let xs: Vec<f32> = (0..1001).map(|i| i as f32 / 100.0 - 5.0).collect();
        let s = Settings { manual: Some((-1.0, 1.0)), ..settings() };
        let v = explore(&xs, &[xs.len()], &s).unwrap();
        assert_eq!(v.observed.min, vec![-5.0], "the observer's choice is kept for display");
        assert!(v.metrics.clipped_below > 350 && v.metrics.clipped_above > 350);
        // At x = −5 the error is about 4 (clipped to −1); near 0 it is within half a step.
        let first = v.error_by_value.iter().flatten().next().unwrap();
        assert!(first.1 > 3.9, "{first:?}");
        assert!(explore(&xs, &[xs.len()], &Settings { manual: Some((1.0, -1.0)), ..settings() }).is_err());
        assert!(explore(&xs, &[xs.len()], &Settings { manual: Some((f32::NAN, 1.0)), ..settings() }).is_err());
    }

    #[test]
    fn per_channel_beats_per_tensor_on_mismatched_channels() {
        // Two channels whose ranges differ 100×: the MobileNet depthwise story.
        let mut xs: Vec<f32> = (0..500).map(|i| (i as f32 / 250.0 - 1.0) * 0.01).collect();
        xs.extend((0..500).map(|i| i as f32 / 250.0 - 1.0));
        let tensor = explore(&xs, &[2, 500], &settings()).unwrap();
        let channel = explore(&xs, &[2, 500], &Settings { granularity: Granularity::PerChannel { axis: 0 }, ..settings() }).unwrap();
        assert_eq!(channel.qparams.len(), 2);
        assert!((channel.qparams[1].scale / channel.qparams[0].scale - 100.0).abs() < 1.0);
        // Per tensor, the small channel's rounding noise is as large as the big one's; per
        // channel it all but vanishes, which halves the total noise: +3 dB.
        let gain = channel.metrics.sqnr_db.unwrap() - tensor.metrics.sqnr_db.unwrap();
        assert!((2.5..3.5).contains(&gain), "{gain}");
        let clips = channel.clip_ranges();
        assert_eq!(clips.len(), 2);
        assert_eq!(channel.clip_span(), (clips[0].0.min(clips[1].0), clips[0].1.max(clips[1].1)));
        assert_eq!(channel.half_step(), channel.qparams[1].scale / 2.0, "the wide channel's step");
    }

    #[test]
    fn channel_view_shows_what_per_tensor_costs_the_narrow_channels() {
        let mut xs: Vec<f32> = (0..500).map(|i| (i as f32 / 250.0 - 1.0) * 0.01).collect();
        xs.extend((0..500).map(|i| i as f32 / 250.0 - 1.0));
        let c = channels(&xs, &[2, 500], 0, QScheme::Affine, QRange::QUINT8).unwrap();
        assert_eq!((c.mins.len(), c.maxs.len()), (2, 2));
        assert!((c.ratio.unwrap() - 100.0).abs() < 0.1);
        // The narrow channel loses ~40 dB (100× coarser grid) under the per-tensor grid...
        let (t0, o0) = (c.channel_sqnr_tensor[0].unwrap(), c.channel_sqnr_own[0].unwrap());
        assert!((o0 - t0 - 40.0).abs() < 2.0, "{o0} {t0}");
        // ...the wide one nothing; the whole tensor gains the +3 dB seen above.
        assert!((c.channel_sqnr_tensor[1].unwrap() - c.channel_sqnr_own[1].unwrap()).abs() < 0.5);
        assert!(c.per_channel_sqnr.unwrap() > c.per_tensor_sqnr.unwrap());
        assert!(channels(&xs, &[2, 500], 2, QScheme::Affine, QRange::QUINT8).is_err());
        // Empty and constant channels.
        let z = channels(&[0.0; 6], &[3, 2], 0, QScheme::Symmetric, QRange::QINT8).unwrap();
        assert_eq!((z.ratio, z.per_tensor_sqnr), (None, None));
    }

    #[test]
    fn every_observer_and_rounding_gives_a_view() {
        let xs = sample(Dist::Laplace { loc: 0.0, b: 1.0 }, 5_000, 1, None).unwrap();
        let observers = [
            ObserverKind::MinMax,
            ObserverKind::MovingAverage { averaging_constant: 0.01 },
            ObserverKind::Percentile { percentile: 99.9, tails: Tails::Abs },
            ObserverKind::Histogram { bins: 2048 },
            ObserverKind::Entropy { bins: 2048, start_bin: 128 },
            ObserverKind::Mse,
        ];
        for observer in observers {
            for rounding in [Rounding::HalfEven, Rounding::HalfAwayFromZero, Rounding::Stochastic { seed: 1 }] {
                let s = Settings { observer, rounding, scheme: QScheme::Symmetric, ..settings() };
                let v = explore(&xs, &[xs.len()], &s).unwrap_or_else(|e| panic!("{observer:?}: {e}"));
                let mut o = observer.build(Common { scheme: s.scheme, range: v.range }, s.granularity).unwrap();
                o.observe(&xs, &[xs.len()]).unwrap();
                assert_eq!(v.observed, o.ranges(), "{observer:?}");
                assert_eq!(v.codes.iter().sum::<u64>(), 5_000);
                assert!(v.metrics.sqnr_db.unwrap() > 10.0, "{observer:?} {rounding:?}");
            }
        }
        // Histogram-based observers are per tensor only: a clear error, not a panic.
        let s = Settings { observer: ObserverKind::Mse, granularity: Granularity::PerChannel { axis: 0 }, ..settings() };
        assert!(matches!(explore(&xs, &[5, 1000], &s), Err(ExploreError::Observe(_))));
    }

    #[test]
    fn empty_constant_and_non_finite_tensors() {
        let v = explore(&[], &[0], &settings()).unwrap();
        assert_eq!(v.metrics.count, 0);
        let v = explore(&[2.0; 10], &[10], &settings()).unwrap();
        assert_eq!(v.metrics.levels_used, 1);
        let v = explore(&[1.0, f32::NAN, f32::INFINITY, -1.0], &[4], &settings()).unwrap();
        assert_eq!((v.metrics.count, v.metrics.non_finite), (2, 2));
        assert_eq!(v.errors.counts.iter().sum::<u64>(), 2);
        // A shape that does not match the data is an error for per-channel views.
        let per_channel = Settings { granularity: Granularity::PerChannel { axis: 0 }, ..settings() };
        assert!(explore(&[1.0; 6], &[4], &per_channel).is_err());
    }
}
