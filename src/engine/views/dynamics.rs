//! Observer dynamics: a tensor fed to observers batch by batch, as calibration does, with the
//! range each observer holds after every batch. Min/max only widens; the moving average (EMA)
//! follows the batches, and a drifting stream shows the difference.

use serde::{Deserialize, Serialize};

use crate::engine::observer::{Common, Granularity, ObserveError, ObserverKind, TraceStep};
use crate::engine::quantizer::qparams::{QRange, QScheme};

/// The ranges after one batch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The batch's own min and max.
    pub batch: (f32, f32),
    /// What MinMax holds: the running min and max.
    pub minmax: (f32, f32),
    /// What MovingAverageMinMax holds: `min += c·(batch_min − min)` (the first batch sets it).
    pub ema: (f32, f32),
}

/// Splits `xs` into `batches` consecutive batches (the last takes the remainder), scales batch
/// `k` by `1 + drift·k/(batches − 1)` (a stream whose spread grows by `drift`×), and feeds them
/// to a MinMax and a MovingAverage observer with `averaging_constant`.
pub fn run(xs: &[f32], batches: usize, averaging_constant: f32, drift: f32) -> Result<Vec<Step>, ObserveError> {
    let common = Common { scheme: QScheme::Affine, range: QRange::QUINT8 };
    let mut minmax = ObserverKind::MinMax.build(common, Granularity::PerTensor)?;
    let mut ema = ObserverKind::MovingAverage { averaging_constant }.build(common, Granularity::PerTensor)?;
    let batches = batches.clamp(1, xs.len().max(1));
    let size = xs.len() / batches;
    let mut buf = Vec::with_capacity(size + batches);
    for k in 0..batches {
        let end = if k + 1 == batches { xs.len() } else { (k + 1) * size };
        let gain = 1.0 + drift * k as f32 / (batches.max(2) - 1) as f32;
        buf.clear();
        buf.extend(xs[k * size..end].iter().map(|x| x * gain));
        minmax.observe(&buf, &[buf.len()])?;
        ema.observe(&buf, &[buf.len()])?;
    }
    let range = |t: &TraceStep| (t.ranges.min[0], t.ranges.max[0]);
    Ok(minmax.trace().iter().zip(ema.trace()).map(|(m, e)| Step { batch: (m.batch_min, m.batch_max), minmax: range(m), ema: range(e) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minmax_widens_and_ema_follows() {
        // Four batches of [−k, k] for k = 1..4 (no drift).
        let xs: Vec<f32> = (1..=4).flat_map(|k| [-(k as f32), k as f32]).collect();
        let steps = run(&xs, 4, 0.5, 0.0).unwrap();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].ema, (-1.0, 1.0), "the first batch initialises");
        assert_eq!(steps[3].minmax, (-4.0, 4.0));
        // EMA max: 1 → 1 + 0.5(2 − 1) = 1.5 → 1.5 + 0.5(3 − 1.5) = 2.25 → 2.25 + 0.5(4 − 2.25) = 3.125
        assert_eq!(steps[3].ema.1, 3.125);
        for s in &steps {
            assert!(s.ema.0 >= s.minmax.0 && s.ema.1 <= s.minmax.1, "EMA stays within the running min/max");
        }
    }

    #[test]
    fn drift_scales_later_batches() {
        let xs = vec![1.0f32; 10];
        let steps = run(&xs, 2, 0.01, 1.0).unwrap();
        assert_eq!(steps[0].batch, (1.0, 1.0));
        assert_eq!(steps[1].batch, (2.0, 2.0));
        assert_eq!(run(&[], 3, 0.01, 0.0).unwrap().len(), 1, "an empty tensor is one empty batch");
        assert!(run(&xs, 2, 0.0, 0.0).is_err(), "a zero averaging constant is refused");
    }
}
