//! Min/max and moving-average min/max observers, per tensor or per channel.

use super::{channel_min_max, finite_min_max, Common, Granularity, ObserveError, Observer, Ranges, TraceStep};

/// The running state shared by both observers: one `(min, max)` per channel, the trace, and the
/// non-finite count.
#[derive(Clone, Debug)]
struct Running {
    common: Common,
    granularity: Granularity,
    ranges: Ranges,
    trace: Vec<TraceStep>,
    non_finite: usize,
}

impl Running {
    fn new(common: Common, granularity: Granularity) -> Running {
        Running { common, granularity, ranges: Ranges::unobserved(0), trace: Vec::new(), non_finite: 0 }
    }

    /// The batch's per-channel (or per-tensor) finite min/max, with the channel count checked
    /// against what was seen before.
    fn batch_ranges(&mut self, data: &[f32], shape: &[usize]) -> Result<(Vec<f32>, Vec<f32>), ObserveError> {
        let (mins, maxs, bad) = match self.granularity {
            Granularity::PerTensor => {
                let (lo, hi, bad) = finite_min_max(data);
                (vec![lo], vec![hi], bad)
            }
            Granularity::PerChannel { axis } => channel_min_max(data, shape, axis)?,
        };
        if !self.ranges.min.is_empty() && self.ranges.min.len() != mins.len() {
            let axis = match self.granularity {
                Granularity::PerChannel { axis } => axis,
                Granularity::PerTensor => 0,
            };
            return Err(ObserveError::ChannelCount { axis, expected: self.ranges.min.len(), got: mins.len() });
        }
        self.non_finite += bad;
        Ok((mins, maxs))
    }

    /// Whether a batch's extremes are all this observer needs (per tensor); if so, counts its
    /// non-finite values.
    fn per_tensor(&mut self, non_finite: usize) -> bool {
        let yes = self.granularity == Granularity::PerTensor;
        if yes {
            self.non_finite += non_finite;
        }
        yes
    }

    /// Records the step after the ranges were updated.
    fn record(&mut self, mins: &[f32], maxs: &[f32]) {
        let batch_min = mins.iter().copied().fold(f32::INFINITY, f32::min);
        let batch_max = maxs.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        self.trace.push(TraceStep { batch_min, batch_max, ranges: self.ranges.clone() });
    }

    fn reset(&mut self) {
        self.ranges = Ranges::unobserved(0);
        self.trace.clear();
        self.non_finite = 0;
    }
}

/// The methods both observers share, beyond [`super::bookkeeping`]: each takes a batch's ranges
/// in with its own `update`.
macro_rules! running_observer {
    () => {
        super::bookkeeping!(state);
        fn observe(&mut self, data: &[f32], shape: &[usize]) -> Result<(), ObserveError> {
            let (mins, maxs) = self.state.batch_ranges(data, shape)?;
            self.update(&mins, &maxs);
            Ok(())
        }
        fn observe_extremes(&mut self, min: f32, max: f32, non_finite: usize) -> bool {
            self.state.per_tensor(non_finite) && {
                self.update(&[min], &[max]);
                true
            }
        }
        fn ranges(&self) -> Ranges {
            if self.state.ranges.min.is_empty() {
                Ranges::unobserved(1)
            } else {
                self.state.ranges.clone()
            }
        }
        fn reset(&mut self) {
            self.state.reset();
        }
    };
}

/// PyTorch's `MinMaxObserver` / `PerChannelMinMaxObserver`: the running minimum and maximum.
#[derive(Clone, Debug)]
pub struct MinMax {
    state: Running,
}

impl MinMax {
    pub fn new(common: Common, granularity: Granularity) -> MinMax {
        MinMax { state: Running::new(common, granularity) }
    }
}

impl Observer for MinMax {
    fn name(&self) -> &'static str {
        "minmax"
    }

    running_observer!();
}

impl MinMax {
    /// Takes in one batch's ranges (per channel, or one per tensor).
    fn update(&mut self, mins: &[f32], maxs: &[f32]) {
        if self.state.ranges.min.is_empty() {
            self.state.ranges = Ranges { min: mins.to_vec(), max: maxs.to_vec() };
        } else {
            for (r, b) in self.state.ranges.min.iter_mut().zip(mins) {
                *r = r.min(*b);
            }
            for (r, b) in self.state.ranges.max.iter_mut().zip(maxs) {
                *r = r.max(*b);
            }
        }
        self.state.record(mins, maxs);
    }
}

/// PyTorch's `MovingAverageMinMaxObserver` / `MovingAveragePerChannelMinMaxObserver`: the first
/// batch sets the range, each later one moves it by `c·(batch − range)`, in f32.
///
/// A batch (or channel) with no finite value leaves the range as it was.
#[derive(Clone, Debug)]
pub struct MovingAverage {
    state: Running,
    averaging_constant: f32,
}

impl MovingAverage {
    pub fn new(common: Common, granularity: Granularity, averaging_constant: f32) -> Result<MovingAverage, ObserveError> {
        if !(averaging_constant > 0.0 && averaging_constant <= 1.0) {
            return Err(ObserveError::Param(format!("averaging constant {averaging_constant} must be in (0, 1]")));
        }
        Ok(MovingAverage { state: Running::new(common, granularity), averaging_constant })
    }
}

impl Observer for MovingAverage {
    fn name(&self) -> &'static str {
        "moving-average"
    }

    running_observer!();
}

impl MovingAverage {
    /// Takes in one batch's ranges (per channel, or one per tensor).
    fn update(&mut self, mins: &[f32], maxs: &[f32]) {
        let c = self.averaging_constant;
        if self.state.ranges.min.is_empty() {
            self.state.ranges = Ranges { min: mins.to_vec(), max: maxs.to_vec() };
        } else {
            let ema = |r: &mut f32, b: f32| {
                if !b.is_finite() {
                    return; // nothing finite in this batch (channel)
                }
                *r = if r.is_finite() { *r + c * (b - *r) } else { b };
            };
            for (r, &b) in self.state.ranges.min.iter_mut().zip(mins) {
                ema(r, b);
            }
            for (r, &b) in self.state.ranges.max.iter_mut().zip(maxs) {
                ema(r, b);
            }
        }
        self.state.record(mins, maxs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{QRange, QScheme};
    use crate::engine::observer::ObserverKind;
    use crate::engine::quantizer::qparams::QParams;
    use proptest::prelude::*;

    fn common() -> Common {
        Common { scheme: QScheme::Affine, range: QRange::QUINT8 }
    }

    #[test]
    fn unobserved_gives_pytorch_defaults() {
        let mm = MinMax::new(common(), Granularity::PerTensor);
        assert_eq!(mm.qparams(), vec![QParams::UNOBSERVED]);
        assert_eq!(mm.ranges(), Ranges::unobserved(1));
    }

    #[test]
    fn per_channel_ranges_and_channel_count_check() {
        let mut mm = MinMax::new(common(), Granularity::PerChannel { axis: 0 });
        mm.observe(&[1.0, -1.0, 5.0, 7.0], &[2, 2]).unwrap();
        mm.observe(&[0.0, 2.0, 4.0, 9.0], &[2, 2]).unwrap();
        assert_eq!(mm.ranges(), Ranges { min: vec![-1.0, 4.0], max: vec![2.0, 9.0] });
        assert!(matches!(mm.observe(&[1.0; 3], &[3, 1]), Err(ObserveError::ChannelCount { expected: 2, got: 3, .. })));
        mm.reset();
        assert!(mm.trace().is_empty());
        mm.observe(&[1.0; 3], &[3, 1]).unwrap();
        assert_eq!(mm.ranges().min.len(), 3);
    }

    #[test]
    fn ema_arithmetic_is_f32_like_pytorch() {
        // >>> o = MovingAverageMinMaxObserver(averaging_constant=0.01)
        // >>> o(torch.tensor([-1., 1.])); o(torch.tensor([-3., 2.])); o.min_val, o.max_val
        // (tensor(-1.0200), tensor(1.0100))
        let mut ema = MovingAverage::new(common(), Granularity::PerTensor, 0.01).unwrap();
        ema.observe(&[-1.0, 1.0], &[2]).unwrap();
        ema.observe(&[-3.0, 2.0], &[2]).unwrap();
        let r = ema.ranges();
        assert_eq!(r.min[0], -1.0f32 + 0.01f32 * (-3.0f32 - -1.0f32));
        assert_eq!(r.max[0], 1.0f32 + 0.01f32 * (2.0f32 - 1.0f32));
        assert!(MovingAverage::new(common(), Granularity::PerTensor, 0.0).is_err());
        assert!(MovingAverage::new(common(), Granularity::PerTensor, f32::NAN).is_err());
    }

    #[test]
    fn non_finite_values_are_counted_not_used() {
        let mut ema = MovingAverage::new(common(), Granularity::PerTensor, 0.5).unwrap();
        ema.observe(&[f32::NAN, f32::INFINITY], &[2]).unwrap();
        assert_eq!(ema.ranges(), Ranges::unobserved(1));
        ema.observe(&[1.0, 2.0, f32::NAN], &[3]).unwrap();
        assert_eq!(ema.ranges(), Ranges { min: vec![1.0], max: vec![2.0] });
        assert_eq!(ema.non_finite(), 3);
        ema.observe(&[], &[0]).unwrap();
        assert_eq!(ema.ranges(), Ranges { min: vec![1.0], max: vec![2.0] });
    }

    proptest! {
        /// The EMA range stays within the running min/max of everything seen.
        #[test]
        fn ema_within_running_min_max(batches in proptest::collection::vec(proptest::collection::vec(-1e3f32..1e3, 1..20), 1..20),
                                      c in 0.001f32..1.0) {
            let mut ema = ObserverKind::MovingAverage { averaging_constant: c }.build(common(), Granularity::PerTensor).unwrap();
            let mut mm = ObserverKind::MinMax.build(common(), Granularity::PerTensor).unwrap();
            for b in &batches {
                ema.observe(b, &[b.len()]).unwrap();
                mm.observe(b, &[b.len()]).unwrap();
                let (e, m) = (ema.ranges(), mm.ranges());
                // One f32 rounding of slack on the affine update.
                let slack = 4.0 * f32::EPSILON * m.max[0].abs().max(m.min[0].abs()).max(1.0);
                prop_assert!(e.min[0] >= m.min[0] - slack && e.max[0] <= m.max[0] + slack, "{:?} vs {:?}", e, m);
            }
        }

        /// Fed a batch's extremes (as the calibration's taps do), a per-tensor observer ends
        /// where the values would have taken it: ranges, trace and non-finite count alike, NaN
        /// and infinities and empty batches included. A per-channel one asks for the values.
        #[test]
        fn extremes_feed_a_per_tensor_observer_as_the_values_do(
            batches in proptest::collection::vec(proptest::collection::vec(prop_oneof![8 => -1e3f32..1e3, 1 => Just(f32::NAN), 1 => Just(f32::INFINITY)], 0..20), 1..12),
            c in 0.001f32..1.0,
        ) {
            for kind in [ObserverKind::MinMax, ObserverKind::MovingAverage { averaging_constant: c }] {
                let mut by_values = kind.build(common(), Granularity::PerTensor).unwrap();
                let mut by_extremes = kind.build(common(), Granularity::PerTensor).unwrap();
                for b in &batches {
                    by_values.observe(b, &[b.len()]).unwrap();
                    let (lo, hi, bad) = finite_min_max(b);
                    prop_assert!(by_extremes.observe_extremes(lo, hi, bad));
                }
                prop_assert_eq!(format!("{:?}", by_values.ranges()), format!("{:?}", by_extremes.ranges()));
                prop_assert_eq!(format!("{:?}", by_values.trace()), format!("{:?}", by_extremes.trace()));
                prop_assert_eq!(by_values.non_finite(), by_extremes.non_finite());
                let mut channels = kind.build(common(), Granularity::PerChannel { axis: 0 }).unwrap();
                prop_assert!(!channels.observe_extremes(0.0, 1.0, 0));
                prop_assert_eq!(channels.trace().len(), 0);
            }
        }
    }
}
