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

/// The most batches a replay of real batches may have (an equal split is capped by the URL's
/// own limit).
pub const MAX_REPLAYED_BATCHES: usize = 10_000;

/// How a tensor is cut into batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Split {
    /// `n` consecutive batches of equal size (the last takes the remainder).
    Equal(usize),
    /// Batches of this many rows along the first axis (the last may have fewer): the batches a
    /// calibration fed, when the tensor holds a model's activation over its data.
    Rows(usize),
}

impl Split {
    /// The most batches it cuts `len` values into (each row holds one value or more).
    pub fn most_batches(self, len: usize) -> usize {
        match self {
            Split::Equal(n) => n.clamp(1, len.max(1)),
            Split::Rows(rows) => (len / rows.max(1)).clamp(1, MAX_REPLAYED_BATCHES),
        }
    }

    /// Where each batch of `len` values shaped `shape` starts and ends.
    pub fn bounds(self, len: usize, shape: &[usize]) -> Result<Vec<(usize, usize)>, String> {
        let (batches, size) = match self {
            Split::Equal(n) => {
                let n = n.clamp(1, len.max(1));
                (n, len / n)
            }
            Split::Rows(rows) => {
                let first = shape.first().copied().unwrap_or(1).max(1);
                let size = len / first * rows.max(1);
                let n = if size == 0 { 1 } else { len.div_ceil(size) };
                if n > MAX_REPLAYED_BATCHES {
                    return Err(format!("batches of {rows} rows make {n} batches; at most {MAX_REPLAYED_BATCHES} are replayed"));
                }
                (n.max(1), size)
            }
        };
        Ok((0..batches).map(|k| (k * size, if k + 1 == batches { len } else { (k + 1) * size })).collect())
    }
}

/// Cuts `xs` (shaped `shape`) into batches as `split` says, scales batch `k` of `n` by
/// `1 + drift·k/(n − 1)` (a stream whose spread grows by `drift`×), and feeds them to a MinMax and
/// a MovingAverage observer with `averaging_constant`.
pub fn run(xs: &[f32], shape: &[usize], split: Split, averaging_constant: f32, drift: f32) -> Result<Vec<Step>, String> {
    let common = Common { scheme: QScheme::Affine, range: QRange::QUINT8 };
    let build = |k: ObserverKind| k.build(common, Granularity::PerTensor).map_err(|e: ObserveError| e.to_string());
    let mut minmax = build(ObserverKind::MinMax)?;
    let mut ema = build(ObserverKind::MovingAverage { averaging_constant })?;
    let bounds = split.bounds(xs.len(), shape)?;
    let batches = bounds.len();
    let mut buf = Vec::with_capacity(bounds.first().map_or(0, |(a, b)| b - a) + batches);
    for (k, &(start, end)) in bounds.iter().enumerate() {
        let gain = 1.0 + drift * k as f32 / (batches.max(2) - 1) as f32;
        buf.clear();
        buf.extend(xs[start..end].iter().map(|x| x * gain));
        minmax.observe(&buf, &[buf.len()]).map_err(|e| e.to_string())?;
        ema.observe(&buf, &[buf.len()]).map_err(|e| e.to_string())?;
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
        let steps = run(&xs, &[8], Split::Equal(4), 0.5, 0.0).unwrap();
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
        let steps = run(&xs, &[10], Split::Equal(2), 0.01, 1.0).unwrap();
        assert_eq!(steps[0].batch, (1.0, 1.0));
        assert_eq!(steps[1].batch, (2.0, 2.0));
        assert_eq!(run(&[], &[0], Split::Equal(3), 0.01, 0.0).unwrap().len(), 1, "an empty tensor is one empty batch");
        assert!(run(&xs, &[10], Split::Equal(2), 0.0, 0.0).is_err(), "a zero averaging constant is refused");
    }

    /// Real batches replayed: 10 samples of 3 values, calibrated 6 at a time, are two batches of
    /// 6 and 4 samples (an equal split in two would cut 5 and 5).
    #[test]
    fn rows_split_replays_a_calibrations_batches() {
        let shape = [10, 3];
        assert_eq!(Split::Rows(6).bounds(30, &shape).unwrap(), vec![(0, 18), (18, 30)]);
        assert_eq!(Split::Equal(2).bounds(30, &shape).unwrap(), vec![(0, 15), (15, 30)]);
        assert_eq!(Split::Rows(1).bounds(30, &shape).unwrap().len(), 10);
        assert_eq!(Split::Rows(20).bounds(30, &shape).unwrap(), vec![(0, 30)], "one batch of all the rows");
        assert_eq!(Split::Rows(4).bounds(0, &[0, 3]).unwrap(), vec![(0, 0)], "no rows: one empty batch");
        assert_eq!(Split::Rows(2).bounds(5, &[]).unwrap().len(), 1, "a scalar is one row");
        assert!(Split::Rows(1).bounds(MAX_REPLAYED_BATCHES + 1, &[MAX_REPLAYED_BATCHES + 1]).is_err());
        // Each sample's values are its batch's: batch 1 is samples 6..10.
        let xs: Vec<f32> = (0..30).map(|i| (i / 3) as f32).collect();
        let steps = run(&xs, &shape, Split::Rows(6), 0.5, 0.0).unwrap();
        assert_eq!(steps.iter().map(|s| s.batch).collect::<Vec<_>>(), vec![(0.0, 5.0), (6.0, 9.0)]);
    }
}
