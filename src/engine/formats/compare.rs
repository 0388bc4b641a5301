//! Formats side by side on one tensor: each format's bits per weight and error, and which of
//! them are on the Pareto front (no other format has fewer bits per weight and as high an SQNR,
//! or as few bits and a higher one).

use serde::{Deserialize, Serialize};

use super::gguf::{GgufType, BLOCK};
use super::measure::Meter;
#[cfg(test)]
use super::{measure::measure, quantized::quantize};
use super::minifloat::E2M1;
use super::quantized::{bits_per_weight, int_groups, int_range, ints, minifloat_table, mx_table};
use super::{group, mx, parts, scaled, FormatError, Whole};
use super::spec::Format;
use crate::engine::statistics::metrics::QuantMetrics;

/// One format's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The short label with parameters (`int4 g128 sym`).
    pub label: String,
    /// The format's name (`int`, `mxfp4`), family and parameters: what makes it again.
    pub format: String,
    pub family: super::spec::Family,
    pub params: super::spec::Params,
    pub bits_per_weight: f64,
    /// None when the format does not apply (`error` says why).
    pub metrics: Option<QuantMetrics>,
    pub error: Option<String>,
    pub pareto: bool,
}

impl Row {
    /// The clipped (saturated) share of the finite values.
    pub fn saturated(&self) -> Option<f64> {
        self.metrics.map(|m| m.clipped_fraction())
    }
}

/// Quantizes `xs` (shaped `shape`) to `format` and measures it.
pub fn compare_one(format: Format, xs: &[f32], shape: &[usize]) -> Row {
    compare_in(format, xs, shape, &Whole::default())
}

/// [`compare_one`], with the tensor's range from `whole`.
fn compare_in(format: Format, xs: &[f32], shape: &[usize], whole: &Whole) -> Row {
    row_of(format, metrics_in(format, xs, shape, whole))
}

/// `format`'s row, from its bits per weight and metrics or why it does not apply.
pub fn row_of(format: Format, outcome: Result<(f64, QuantMetrics), FormatError>) -> Row {
    let row = Row { label: format.label(), format: format.name().into(), family: format.family(), params: format.params(), bits_per_weight: f64::NAN, metrics: None, error: None, pareto: false };
    match outcome {
        Ok((bits_per_weight, m)) => Row { bits_per_weight, metrics: Some(m), ..row },
        Err(e) => Row { error: Some(e.to_string()), ..row },
    }
}

/// `format`'s bits per weight and metrics on `xs` (shaped `shape`): quantized, dequantized and
/// measured, every format as it is made (a block, a K-quant chunk or a piece of a row at a time
/// into a buffer fed to a [`Meter`]), without keeping x̂: the same metrics bit for bit as
/// [`measure`](super::measure::measure) of [`quantize`](super::quantized::quantize) (a test
/// checks every format).
pub fn metrics_of(format: Format, xs: &[f32], shape: &[usize]) -> Result<(f64, QuantMetrics), FormatError> {
    metrics_in(format, xs, shape, &Whole::default())
}

/// [`metrics_of`], with what it takes from the whole tensor from `whole` (shared by the formats
/// compared).
fn metrics_in(format: Format, xs: &[f32], shape: &[usize], whole: &Whole) -> Result<(f64, QuantMetrics), FormatError> {
    let mut meter = Meter::default();
    measure_in(format, xs, shape, whole, &mut meter)?;
    Ok((bits_per_weight(format, shape, xs.len()), meter.metrics(xs.len())))
}

/// `format` made on `xs` (shaped `shape`) and measured into `meter`, with what it takes from the
/// whole tensor (its range, NF4-DQ's mean absmax) from `whole`.
pub(super) fn measure_in(format: Format, xs: &[f32], shape: &[usize], whole: &Whole, meter: &mut Meter) -> Result<(), FormatError> {
    super::check_blocks(xs, shape, 1)?;
    match format {
        Format::Int { bits, scheme, scale, group } => {
            let range = int_range(bits, scheme)?;
            let (size, grouped, _) = int_groups(bits, scheme, scale, group, shape, xs.len());
            group::measure_fake_quantized(xs, &grouped, size, scheme, range, &ints(range.qmin, range.qmax), whole, meter)
        }
        Format::Float { elem, scale } => scaled::measure_fake_quantized(elem, scale, xs, shape, &minifloat_table(elem), whole, meter),
        Format::Nvfp4 => super::nvfp4::measure_fake_quantized(xs, shape, &minifloat_table(E2M1), whole, meter),
        Format::Nf4 { double } => super::nf4::measure_fake_quantized(xs, shape, double, whole, meter),
        Format::Gguf(GgufType::Legacy(l)) => {
            super::check_blocks(xs, shape, BLOCK)?;
            l.measure_fake_quantized(xs, meter)
        }
        Format::Gguf(t @ GgufType::K(_)) => {
            super::check_blocks(xs, shape, t.block_size())?;
            t.measure_quantized(xs, meter)
        }
        Format::Mx { elem, rounding } => mx::measure_fake_quantized(elem, rounding, xs, shape, &mx_table(elem), meter),
    }
}

/// Marks the rows on the Pareto front of bits per weight (fewer is better) against SQNR (higher
/// is better). Rows without metrics or without an SQNR are never on it.
pub fn mark_pareto(rows: &mut [Row]) {
    let points: Vec<Option<(f64, f64)>> = rows.iter().map(|r| r.metrics.and_then(|m| m.sqnr_db).map(|s| (r.bits_per_weight, s))).collect();
    for (i, row) in rows.iter_mut().enumerate() {
        row.pareto = points[i].is_some_and(|(b, s)| {
            !points.iter().flatten().any(|&(b2, s2)| (b2 <= b && s2 > s) || (b2 < b && s2 >= s))
        });
    }
}

/// Every format of `formats` on `xs`, with the front marked ([`Comparison`]);
/// `progress(done, total)` after each step.
pub fn compare(formats: &[Format], xs: &[f32], shape: &[usize], mut progress: impl FnMut(usize, usize)) -> Vec<Row> {
    let mut c = Comparison::new(formats, xs, shape);
    while !c.finished() {
        c.step(xs);
        progress(c.done(), c.total());
    }
    c.rows()
}

/// Values a slice of [`Comparison`] holds, about: a quarter of a megabyte, which stays in the
/// cache while every format is made from it (slices of 64K to 1M values measured alike in V8).
const SLICE_VALUES: usize = 1 << 16;

/// Formats side by side on one tensor, a slice of rows at a time: every format made and
/// measured from one slice, each into its own meter, before the next slice. The tensor is read
/// from memory once, not once per format (a 4096 × 4096 layer is 64 MB; in V8 the comparison
/// took a fifth less so), and the outcome is [`compare_one`]'s for each, bit for bit: each slice
/// starts where every format's structure and meter allow a part to (`parts::unit`), a meter fed
/// the slices in order sums as it sums the whole, and what a format takes from the whole tensor
/// (its range, NF4-DQ's mean absmax) is found beforehand.
pub struct Comparison {
    formats: Vec<Format>,
    shape: Vec<usize>,
    n: usize,
    /// Values per slice (whole rows; the last slice may be shorter).
    slice: usize,
    whole: Whole,
    /// Each format's meter, or why it does not apply.
    meters: Vec<Result<Meter, FormatError>>,
    /// Steps taken: step `i` makes format `i % formats` from slice `i / formats`.
    next: usize,
}

impl Comparison {
    /// `formats` on `xs` (row-major, shaped `shape`; the tensor each [`Comparison::step`] is
    /// given).
    pub fn new(formats: &[Format], xs: &[f32], shape: &[usize]) -> Comparison {
        Comparison::sliced(formats, xs, shape, SLICE_VALUES)
    }

    /// [`Comparison::new`] in slices of about `slice_values` values.
    fn sliced(formats: &[Format], xs: &[f32], shape: &[usize], slice_values: usize) -> Comparison {
        let n = xs.len();
        let whole = Whole::default();
        let slice = if super::check_blocks(xs, shape, 1).is_ok() {
            for &f in formats {
                parts::takes_from_whole(f, xs, shape, &whole);
            }
            let unit = formats.iter().try_fold(1, |u, &f| parts::lcm(u, parts::unit(f, shape, n)?));
            let rows = parts::rows_per(unit, shape, n, slice_values);
            // Values per row of the first axis.
            let row = n / shape.first().copied().unwrap_or(1).max(1);
            rows.saturating_mul(row).clamp(1, n.max(1))
        } else {
            // Every format fails as it does on its own.
            n.max(1)
        };
        Comparison { formats: formats.to_vec(), shape: shape.to_vec(), n, slice, whole, meters: formats.iter().map(|_| Ok(Meter::default())).collect(), next: 0 }
    }

    /// Steps in all: a format on a slice each.
    pub fn total(&self) -> usize {
        self.n.div_ceil(self.slice).max(1) * self.formats.len()
    }

    /// Steps taken.
    pub fn done(&self) -> usize {
        self.next
    }

    pub fn finished(&self) -> bool {
        self.next >= self.total()
    }

    /// Makes and measures the next format on the next slice of `xs` (the tensor given to
    /// [`Comparison::new`]).
    pub fn step(&mut self, xs: &[f32]) {
        if self.finished() {
            return;
        }
        let (i, f) = (self.next / self.formats.len(), self.next % self.formats.len());
        self.next += 1;
        let (first, last) = (i * self.slice, ((i + 1) * self.slice).min(self.n));
        let mut shape = self.shape.clone();
        if self.slice < self.n {
            shape[0] = (last - first) / (self.n / self.shape[0]);
        }
        if let Ok(meter) = &mut self.meters[f] {
            if let Err(e) = measure_in(self.formats[f], &xs[first..last], &shape, &self.whole, meter) {
                self.meters[f] = Err(e);
            }
        }
    }

    /// The rows, with the front marked, once every step is taken.
    pub fn rows(self) -> Vec<Row> {
        debug_assert!(self.finished());
        let mut rows: Vec<Row> = self.formats.iter().zip(self.meters).map(|(&f, m)| row_of(f, m.map(|m| (bits_per_weight(f, &self.shape, self.n), m.metrics(self.n))))).collect();
        mark_pareto(&mut rows);
        rows
    }
}

/// The rows as CSV, one line each after a header.
pub fn to_csv(rows: &[Row]) -> String {
    let num = |v: Option<f64>| v.map_or(String::new(), |v| format!("{v}"));
    let mut out = String::from("label,format,bits_per_weight,mse,clip_mse,round_mse,sqnr_db,max_abs_error,saturated,pareto,error\n");
    for r in rows {
        let m = r.metrics;
        let error = r.error.as_deref().unwrap_or("").replace('"', "\"\"");
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},\"{error}\"\n",
            r.label,
            r.format,
            if r.bits_per_weight.is_finite() { format!("{}", r.bits_per_weight) } else { String::new() },
            num(m.map(|m| m.mse)),
            num(m.map(|m| m.clip_mse)),
            num(m.map(|m| m.round_mse)),
            num(m.and_then(|m| m.sqnr_db)),
            num(m.map(|m| m.max_abs_err)),
            num(r.saturated()),
            r.pareto,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(bits: f64, sqnr: Option<f64>) -> Row {
        let metrics = QuantMetrics { count: 1, non_finite: 0, mse: 0.0, clip_mse: 0.0, round_mse: 0.0, sqnr_db: sqnr, max_abs_err: 0.0, clipped_below: 0, clipped_above: 0, levels_used: 0 };
        Row { label: String::new(), format: String::new(), family: super::super::spec::Family::Int, params: Default::default(), bits_per_weight: bits, metrics: Some(metrics), error: None, pareto: false }
    }

    /// The comparison's metrics are those of the kept values, bit for bit, for every format
    /// (the GGUF and MX blocks measured as they are made, the K-quants 64 super-blocks at a
    /// time: 80 here): random rows, a zero block, a NaN, huge and tiny values; and the same errors.
    #[test]
    fn metrics_of_equals_measuring_the_kept_values() {
        let mut xs: Vec<f32> = (0..40 * 512).map(|i| ((i * 7919 % 997) as f32 - 498.0) / 400.0).collect();
        xs[..32].fill(0.0);
        xs[40] = f32::NAN;
        xs[700] = 3e30;
        xs[1000..1032].iter_mut().for_each(|v| *v *= 1e-38);
        for f in Format::comparison() {
            let q = quantize(f, &xs, &[40, 512]).unwrap();
            let (bits, m) = metrics_of(f, &xs, &[40, 512]).unwrap();
            assert_eq!(bits.to_bits(), q.bits_per_weight.to_bits(), "{}", f.label());
            assert_eq!(format!("{m:?}"), format!("{:?}", measure(&xs, &q).0), "{}", f.label());
            for shape in [&[1280, 16][..], &[20480, 1], &[8, 500]] {
                assert_eq!(metrics_of(f, &xs, shape).err().map(|e| e.to_string()), quantize(f, &xs, shape).err().map(|e| e.to_string()), "{}", f.label());
            }
        }
        // Side by side, the formats share one pass for the tensor's range: the same metrics.
        for shape in [&[40, 512][..], &[1, 20480]] {
            let rows = compare(&Format::comparison(), &xs, shape, |_, _| {});
            for (f, row) in Format::comparison().into_iter().zip(&rows) {
                assert_eq!(format!("{:?}", row.metrics), format!("{:?}", metrics_of(f, &xs, shape).ok().map(|(_, m)| m)), "{} {shape:?}", f.label());
            }
        }
    }

    /// In slices of a few rows, the comparison gives each format's outcome alone, bit for bit:
    /// formats that scale by the whole tensor, by rows, by groups and blocks, NF4-DQ's groups of
    /// 256 absmax values that do not divide the tensor, a short last slice; and what cannot be
    /// sliced (a 1-D tensor, a shape the values do not fill, an empty tensor) as it is alone.
    #[test]
    fn slices_give_each_formats_outcome_alone() {
        let formats = super::super::test_data::formats();
        for (shape, slices) in [(vec![96, 512], 3), (vec![100, 512], 4), (vec![200, 256], 4), (vec![130, 1024], 9), (vec![6, 4, 256], 1), (vec![8192], 1), (vec![3, 32], 1), (vec![0, 32], 1)] {
            let n = if shape == [3, 32] { 4096 } else { shape.iter().product() };
            let xs = super::super::test_data::values(n);
            let mut c = Comparison::sliced(&formats, &xs, &shape, 1);
            assert_eq!(c.total(), slices * formats.len(), "{shape:?}");
            while !c.finished() {
                c.step(&xs);
            }
            for (&f, row) in formats.iter().zip(c.rows()) {
                let alone = compare_one(f, &xs, &shape);
                let key = |r: &Row| (r.bits_per_weight.to_bits(), format!("{:?}", r.metrics), r.error.clone());
                assert_eq!(key(&row), key(&alone), "{} {shape:?}", f.label());
            }
        }
    }

    #[test]
    fn the_front_keeps_what_nothing_beats() {
        let mut rows = vec![row(4.5, Some(20.0)), row(4.25, Some(18.0)), row(4.5, Some(19.0)), row(8.5, Some(40.0)), row(8.25, Some(40.0)), row(3.0, None)];
        mark_pareto(&mut rows);
        assert_eq!(rows.iter().map(|r| r.pareto).collect::<Vec<_>>(), [true, true, false, false, true, false]);
    }

    #[test]
    fn a_format_that_does_not_fit_says_why() {
        let xs = vec![0.5f32; 48];
        let rows = compare(&Format::comparison(), &xs, &[48], |_, _| {});
        let mx = rows.iter().find(|r| r.format == "mxfp4").unwrap();
        assert!(mx.error.as_deref().unwrap().contains("not a multiple of the block of 32"), "{mx:?}");
        assert!(rows.iter().find(|r| r.format == "fp8-e4m3").unwrap().metrics.is_some());
        let csv = to_csv(&rows);
        assert_eq!(csv.lines().count(), rows.len() + 1);
        assert!(csv.lines().nth(1).unwrap().starts_with("int8,int,"));
    }
}
