//! One format on one tensor cut into parts of whole rows, each part made and measured on its
//! own (natively on a thread of its own: `metrics_threads`) and the parts' sums joined in order
//! ([`Meter::join`]): bit for bit the one-thread outcome
//! ([`metrics_of`](super::compare::metrics_of)). What a format takes from the whole tensor (its
//! range for a scale per tensor, NF4-DQ's mean absmax) is found once beforehand and given to
//! every part. Each part starts where one meter over the whole tensor starts afresh
//! ([`part_unit`]) and where the format's own structure allows (its blocks, rows, groups,
//! NF4-DQ's groups of 256 blocks), so that the joined sums are that meter's. The side-by-side
//! comparison cuts its slices where every format's parts may start
//! ([`Comparison`](super::compare::Comparison)).

#[cfg(not(target_arch = "wasm32"))]
use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(target_arch = "wasm32"))]
use std::sync::Mutex;

use super::compare::measure_in;
use super::gguf::{grids, GgufType};
use super::measure::{measure_part, part_unit, Meter, Part, PIECE};
use super::quantized::{bits_per_weight, int_groups, per_row};
use super::scaled::Scale;
use super::spec::Format;
use super::{mx, nf4, nvfp4, FormatError, Whole};
use crate::engine::statistics::metrics::QuantMetrics;

/// Values a part holds, about (whole units of [`unit`]): enough that what a part costs beyond
/// its values (its meter's log, a thread taking it) is small, few enough that two threads share
/// a tensor evenly and a part's kept values stay small beside the tensor.
const PART_VALUES: usize = 1 << 20;

/// Values per group that `format` measures its values in, on `n` values shaped `shape` (the
/// whole tensor for a scale per tensor).
fn metered_group(format: Format, shape: &[usize], n: usize) -> usize {
    match format {
        Format::Int { bits, scheme, scale, group } => int_groups(bits, scheme, scale, group, shape, n).0,
        Format::Float { scale, .. } => per_row(scale, shape, n),
        Format::Mx { .. } => mx::BLOCK,
        Format::Nvfp4 => nvfp4::BLOCK,
        Format::Nf4 { .. } => nf4::BLOCK,
        Format::Gguf(t @ GgufType::Legacy(_)) => t.block_size(),
        Format::Gguf(t @ GgufType::K(_)) => grids(t, &[]).group,
    }
}

/// The values a part of `format` on `n` values shaped `shape` is a multiple of (None: more than
/// a `usize` counts).
pub(super) fn unit(format: Format, shape: &[usize], n: usize) -> Option<usize> {
    let group = metered_group(format, shape, n);
    // One group over the whole tensor is measured a piece at a time from its start.
    let meter = if group == n { PIECE } else { part_unit(group) };
    match format {
        // The double quantization's groups of 256 block absmax values.
        Format::Nf4 { double: true } => lcm(meter, nf4::GROUP * nf4::BLOCK),
        _ => Some(meter),
    }
}

/// Rows (of `shape`'s first axis) per part, for parts of about `part_values` values.
fn rows_per_part(format: Format, shape: &[usize], n: usize, part_values: usize) -> usize {
    rows_per(unit(format, shape, n), shape, n, part_values)
}

/// Rows (of `shape`'s first axis) per part of about `part_values` values, each part a multiple
/// of `unit` values (all the rows when parts cannot be: a 1-D tensor, or a unit past `usize`).
pub(super) fn rows_per(unit: Option<usize>, shape: &[usize], n: usize, part_values: usize) -> usize {
    let rows = shape.first().copied().unwrap_or(1).max(1);
    let Some(unit) = unit.filter(|_| shape.len() >= 2 && n > 0) else {
        return rows;
    };
    let row = n / rows;
    let unit_rows = unit / gcd(unit, row);
    match unit_rows.checked_mul(row) {
        Some(values) => unit_rows * (part_values / values).max(1),
        None => rows,
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The least common multiple, or None past `usize`.
pub(super) fn lcm(a: usize, b: usize) -> Option<usize> {
    (a / gcd(a, b)).checked_mul(b)
}

/// What `format` takes from the whole tensor `xs`, found once for every part: None for a
/// format that takes nothing from it.
fn whole_of(format: Format, xs: &[f32], shape: &[usize]) -> Option<Whole> {
    let whole = Whole::default();
    takes_from_whole(format, xs, shape, &whole).then_some(whole)
}

/// Finds in `whole` what `format` takes from the whole tensor `xs` (shaped `shape`), if
/// anything: whether it takes something.
pub(super) fn takes_from_whole(format: Format, xs: &[f32], shape: &[usize], whole: &Whole) -> bool {
    match format {
        Format::Int { .. } if metered_group(format, shape, xs.len()) == xs.len() => _ = whole.of(xs),
        Format::Float { scale: Scale::Tensor, .. } | Format::Nvfp4 => _ = whole.of(xs),
        Format::Nf4 { double: true } => _ = whole.absmax_mean(&nf4::block_absmax(xs)),
        _ => return false,
    }
    true
}

/// One format's measurement of one tensor, cut into parts to be made one at a time
/// ([`Parts::measure`]) and joined ([`Parts::finish`]).
pub struct Parts {
    format: Format,
    shape: Vec<usize>,
    n: usize,
    /// Values per row of the first axis.
    row: usize,
    /// Rows per part.
    per: usize,
    count: usize,
    whole: Option<Whole>,
}

impl Parts {
    /// `format` on `xs` (row-major, shaped `shape`; the tensor each [`Parts::measure`] is given),
    /// in parts of about a million values; the error [`metrics_of`](super::compare::metrics_of)
    /// gives for a shape that `xs` does not fill.
    pub fn new(format: Format, xs: &[f32], shape: &[usize]) -> Result<Parts, FormatError> {
        Parts::sized(format, xs, shape, PART_VALUES)
    }

    /// [`Parts::new`] with parts of about `part_values` values.
    fn sized(format: Format, xs: &[f32], shape: &[usize], part_values: usize) -> Result<Parts, FormatError> {
        super::check_blocks(xs, shape, 1)?;
        let n = xs.len();
        let rows = shape.first().copied().unwrap_or(1).max(1);
        let per = rows_per_part(format, shape, n, part_values);
        let count = rows.div_ceil(per).max(1);
        Ok(Parts { format, shape: shape.to_vec(), n, row: n / rows, per, count, whole: whole_of(format, xs, shape) })
    }

    /// How many parts there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Part `i` of `xs` made and measured: the part, and with `keep` its values (else none).
    pub fn measure(&self, i: usize, xs: &[f32], keep: bool) -> Result<(Part, Vec<f32>), FormatError> {
        let (first, last) = self.range(i);
        let mut shape = self.shape.clone();
        if self.count > 1 {
            shape[0] = (last - first) / self.row;
        }
        // A format that takes nothing from the whole finds its part's own (a row's range).
        let fresh = Whole::default();
        let whole = self.whole.as_ref().unwrap_or(&fresh);
        measure_part(keep.then_some(last - first), |meter| measure_in(self.format, &xs[first..last], &shape, whole, meter))
    }

    /// The values part `i` holds: `first..last`.
    pub fn range(&self, i: usize) -> (usize, usize) {
        if self.count == 1 { (0, self.n) } else { (i * self.per * self.row, ((i + 1) * self.per * self.row).min(self.n)) }
    }

    /// The bits per weight and metrics of the whole, from every part measured, in order.
    pub fn finish(&self, parts: Vec<Part>) -> (f64, QuantMetrics) {
        debug_assert_eq!(parts.len(), self.count);
        (bits_per_weight(self.format, &self.shape, self.n), Meter::join(parts).metrics(self.n))
    }
}

/// Where x̂ goes, a part at a time: `sink(offset, values)`, the part's values and the index of
/// its first.
#[cfg(not(target_arch = "wasm32"))]
pub type Sink<'a> = &'a (dyn Fn(usize, &[f32]) + Sync);

/// `format` on `xs` (row-major, shaped `shape`) on up to `threads` threads: its bits per weight
/// and the metrics of [`metrics_of`](super::compare::metrics_of), bit for bit. With `sink`, x̂
/// is handed to it a part at a time, `sink(offset, values)` (the parts in any order), never
/// whole in memory.
#[cfg(not(target_arch = "wasm32"))]
pub fn metrics_threads(format: Format, xs: &[f32], shape: &[usize], threads: usize, sink: Option<Sink>) -> Result<(f64, QuantMetrics), FormatError> {
    metrics_in_parts(Parts::new(format, xs, shape)?, xs, threads, sink)
}

/// [`metrics_threads`] of `parts`.
#[cfg(not(target_arch = "wasm32"))]
fn metrics_in_parts(parts: Parts, xs: &[f32], threads: usize, sink: Option<Sink>) -> Result<(f64, QuantMetrics), FormatError> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<Result<Part, FormatError>>>> = Mutex::new((0..parts.count()).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= parts.count() {
            break;
        }
        let result = parts.measure(i, xs, sink.is_some()).map(|(part, kept)| {
            if let Some(sink) = sink {
                sink(parts.range(i).0, &kept);
            }
            part
        });
        done.lock().expect("no panics while held")[i] = Some(result);
    };
    let threads = threads.clamp(1, parts.count());
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let measured = done.into_inner().expect("no panics while held").into_iter().map(|m| m.expect("every part ran")).collect::<Result<Vec<Part>, FormatError>>()?;
    Ok(parts.finish(measured))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::engine::formats::compare::metrics_of;
    use crate::engine::formats::quantized::quantize;
    use crate::engine::formats::test_data::{formats, values};
    use crate::engine::formats::spec::Params;

    /// Every format, in parts on three threads, gives the one-thread metrics bit for bit and
    /// hands over the values [`quantize`] makes; a format that does not fit fails as it does.
    #[test]
    fn parts_on_threads_are_the_one_thread_outcome() {
        let formats = formats();
        // Rows of 512 (one meter run), of 100 (a part of a lane), 3-D, and blocks of 256
        // absmax that do not divide the tensor (NF4-DQ's shorter last group).
        for shape in [vec![96, 512], vec![1200, 100], vec![6, 4, 256], vec![100, 512]] {
            let n = shape.iter().product();
            let xs = values(n);
            for &f in &formats {
                let one = metrics_of(f, &xs, &shape);
                let kept = Mutex::new(vec![f32::NAN; n]);
                let sink = |at: usize, v: &[f32]| kept.lock().unwrap()[at..at + v.len()].copy_from_slice(v);
                let threaded = Parts::sized(f, &xs, &shape, 1).and_then(|p| metrics_in_parts(p, &xs, 3, Some(&sink)));
                let label = format!("{} {shape:?}", f.label());
                match (one, threaded) {
                    (Ok((b1, m1)), Ok((b2, m2))) => {
                        assert_eq!((b1.to_bits(), format!("{m1:?}")), (b2.to_bits(), format!("{m2:?}")), "{label}");
                        let q = quantize(f, &xs, &shape).unwrap();
                        assert!(kept.into_inner().unwrap().iter().zip(&q.values).all(|(a, b)| a.to_bits() == b.to_bits()), "{label}: the values handed over");
                        let rows = shape[0].div_ceil(rows_per_part(f, &shape, n, 1));
                        assert!(rows >= 2 || shape[0] < 8, "{label}: {rows} parts");
                    }
                    (Err(e1), Err(e2)) => assert_eq!(e1, e2, "{label}"),
                    (one, threaded) => panic!("{label}: {one:?} alone, {threaded:?} in parts"),
                }
            }
        }
    }

    /// A 1-D tensor, a tensor of one row and an empty one are one part; a bad shape fails.
    #[test]
    fn what_cannot_be_cut_is_one_part() {
        let xs = values(4096);
        for shape in [vec![4096], vec![1, 4096]] {
            for f in Format::comparison() {
                let one = metrics_of(f, &xs, &shape).map(|(b, m)| (b.to_bits(), format!("{m:?}")));
                let threaded = Parts::sized(f, &xs, &shape, 1).and_then(|p| metrics_in_parts(p, &xs, 2, None)).map(|(b, m)| (b.to_bits(), format!("{m:?}")));
                assert_eq!(one, threaded, "{} {shape:?}", f.label());
            }
        }
        let f = Format::parse("mxfp4", &Params::default()).unwrap();
        assert_eq!(metrics_threads(f, &[], &[0, 32], 2, None).unwrap().1.count, 0);
        assert!(matches!(metrics_threads(f, &xs, &[3, 32], 2, None), Err(FormatError::Shape { .. })));
    }
}
