//! What `quantscope inspect` and the layer browser show for each tensor.

use serde::Serialize;

use crate::engine::observer::channel_min_max;
use crate::engine::statistics::stats::{summarize, Summary};
use crate::engine::tensor::Tensor;

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorReport {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    #[serde(flatten)]
    pub summary: Summary,
    /// For rank >= 2: the largest range `max − min` of a channel along axis 0 divided by the
    /// smallest. `None` for rank < 2, and when a channel has zero range (the ratio is unbounded).
    pub channel_range_ratio: Option<f64>,
}

/// Per-channel ranges `max − min` along `axis` (NaN for channels without finite values).
pub fn channel_ranges(t: &Tensor, axis: usize) -> Option<Vec<f32>> {
    let (mins, maxs, _) = channel_min_max(&t.data, &t.shape, axis).ok()?;
    Some(mins.iter().zip(&maxs).map(|(lo, hi)| if lo.is_finite() { hi - lo } else { f32::NAN }).collect())
}

/// Largest over smallest of the finite channel ranges; `None` without two or more such channels
/// or when the smallest is zero.
pub fn range_ratio(ranges: &[f32]) -> Option<f64> {
    let finite: Vec<f64> = ranges.iter().filter(|r| r.is_finite()).map(|&r| r as f64).collect();
    if finite.len() < 2 {
        return None;
    }
    let (lo, hi) = finite.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    (lo > 0.0).then(|| hi / lo)
}

pub fn inspect(t: &Tensor) -> TensorReport {
    let channel_range_ratio = if t.shape.len() >= 2 { channel_ranges(t, 0).and_then(|r| range_ratio(&r)) } else { None };
    TensorReport { name: t.name.clone(), shape: t.shape.clone(), dtype: t.stored_as.clone(), summary: summarize(&t.data), channel_range_ratio }
}

/// [`inspect`] on up to `threads` threads, the same report bit for bit: the summary by
/// [`crate::engine::statistics::stats::summarize_threads`], the rows' ranges a share of rows each.
#[cfg(not(target_arch = "wasm32"))]
pub fn inspect_threads(t: &Tensor, threads: usize) -> TensorReport {
    let summary = crate::engine::statistics::stats::summarize_threads(&t.data, threads);
    let channel_range_ratio = if t.shape.len() >= 2 && t.shape[0] > 0 && !t.data.is_empty() {
        let rows = t.shape[0];
        let row_len = t.data.len() / rows;
        let per = rows.div_ceil(threads.max(1));
        let parts: Vec<Option<Vec<f32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = t
                .data
                .chunks(per * row_len)
                .map(|part| {
                    s.spawn(move || {
                        let (mins, maxs, _) = channel_min_max(part, &[part.len() / row_len, row_len], 0).ok()?;
                        Some(mins.iter().zip(&maxs).map(|(lo, hi)| if lo.is_finite() { hi - lo } else { f32::NAN }).collect())
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a channel thread")).collect()
        });
        parts.into_iter().collect::<Option<Vec<Vec<f32>>>>().and_then(|p| range_ratio(&p.concat()))
    } else {
        None
    };
    TensorReport { name: t.name.clone(), shape: t.shape.clone(), dtype: t.stored_as.clone(), summary, channel_range_ratio }
}

/// A channel-range ratio at or above this is flagged in the layer browser: per-tensor
/// quantization would spend most levels of the wide channels' grid on the narrow ones.
pub const RATIO_FLAG: f64 = 10.0;

/// Whether a row deserves a warning: it needs per-channel quantization, or holds NaN or Inf.
pub fn flagged(r: &TensorReport) -> bool {
    needs_per_channel(r) || has_non_finite(r)
}

/// A channel-range ratio of [`RATIO_FLAG`] or more: one scale per tensor would waste most of
/// the narrow channels' codes.
pub fn needs_per_channel(r: &TensorReport) -> bool {
    r.channel_range_ratio.is_some_and(|q| q >= RATIO_FLAG)
}

/// NaN or infinite values: no grid holds them, whatever the granularity.
pub fn has_non_finite(r: &TensorReport) -> bool {
    r.summary.nan + r.summary.inf > 0
}

/// The columns the layer browser sorts by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    /// File order.
    File,
    Name,
    Size,
    AbsMax,
    Ratio,
}

/// The order of `rows` by `key` (`None` rows, not yet read, last), descending if `desc`.
pub fn order(rows: &[(String, Vec<usize>, Option<&TensorReport>)], key: SortKey, desc: bool) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..rows.len()).collect();
    let num = |i: usize| -> Option<f64> {
        let (_, shape, report) = &rows[i];
        match key {
            SortKey::Size => Some(shape.iter().product::<usize>() as f64),
            SortKey::AbsMax => report.map(|r| r.summary.absmax as f64),
            SortKey::Ratio => report.and_then(|r| r.channel_range_ratio),
            SortKey::File | SortKey::Name => None,
        }
    };
    match key {
        SortKey::File => {}
        SortKey::Name => idx.sort_by(|&a, &b| rows[a].0.cmp(&rows[b].0)),
        _ => idx.sort_by(|&a, &b| match (num(a), num(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }),
    }
    if desc {
        // Reverse the known values but keep unknown ones last.
        let known = idx.iter().take_while(|&&i| key == SortKey::File || key == SortKey::Name || num(i).is_some()).count();
        idx[..known].reverse();
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspecting_on_threads_gives_the_same_report() {
        let data: Vec<f32> = (0..300 * 1024usize).map(|i| ((i * 7919 % 1009) as f32 - 500.0) * (1.0 + (i / 1024) as f32 * 0.05)).collect();
        let mut with_nan = data.clone();
        with_nan[4097] = f32::NAN;
        for (shape, data) in [(vec![300, 1024], &data), (vec![300, 32, 32], &data), (vec![300 * 1024], &data), (vec![300, 1024], &with_nan), (vec![0, 4], &vec![])] {
            let t = Tensor { name: "w".into(), shape: shape.clone(), data: data.clone(), stored_as: "f32".into() };
            for threads in [1, 2, 7] {
                let (a, b) = (inspect(&t), inspect_threads(&t, threads));
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{shape:?} on {threads} threads");
            }
        }
    }

    fn t(shape: &[usize], data: &[f32]) -> Tensor {
        Tensor { name: "w".into(), shape: shape.to_vec(), data: data.to_vec(), stored_as: "f32".into() }
    }

    #[test]
    fn depthwise_like_ratio() {
        // Channel 0 spans 0.02, channel 1 spans 2: ratio 100.
        let r = inspect(&t(&[2, 2], &[-0.01, 0.01, -1.0, 1.0]));
        assert!((r.channel_range_ratio.unwrap() - 100.0).abs() < 1e-4);
        assert_eq!(inspect(&t(&[4], &[1.0, 2.0, 3.0, 4.0])).channel_range_ratio, None);
        assert_eq!(inspect(&t(&[2, 1], &[1.0, 2.0])).channel_range_ratio, None, "zero-range channels");
        assert_eq!(range_ratio(&[f32::NAN, 2.0]), None);
        let empty = inspect(&t(&[0, 3], &[]));
        assert_eq!((empty.summary.count, empty.channel_range_ratio), (0, None));
    }

    #[test]
    fn sorting_and_flags() {
        let a = inspect(&t(&[2, 2], &[-0.01, 0.01, -1.0, 1.0])); // ratio 100
        let b = inspect(&t(&[3], &[5.0, -6.0, 1.0])); // no ratio, absmax 6
        assert!(flagged(&a) && !flagged(&b));
        assert!(flagged(&inspect(&t(&[2], &[f32::NAN, 1.0]))));
        assert!(needs_per_channel(&a) && !has_non_finite(&a));
        let nan = inspect(&t(&[2], &[f32::NAN, 1.0]));
        assert!(has_non_finite(&nan) && !needs_per_channel(&nan), "NaN is not a reason for per-channel quantization");
        let rows = vec![
            ("b".to_string(), vec![2, 2], Some(&a)),
            ("a".to_string(), vec![3], Some(&b)),
            ("c".to_string(), vec![10], None),
        ];
        assert_eq!(order(&rows, SortKey::File, false), [0, 1, 2]);
        assert_eq!(order(&rows, SortKey::Name, false), [1, 0, 2]);
        assert_eq!(order(&rows, SortKey::Name, true), [2, 0, 1]);
        assert_eq!(order(&rows, SortKey::Size, true), [2, 0, 1]);
        assert_eq!(order(&rows, SortKey::AbsMax, true), [1, 0, 2], "unread rows last");
        assert_eq!(order(&rows, SortKey::Ratio, true), [0, 1, 2]);
        assert_eq!(order(&rows, SortKey::Ratio, false), [0, 1, 2]);
    }
}
