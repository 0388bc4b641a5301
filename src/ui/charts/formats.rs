//! The number formats' charts: the values against a chosen block's grid (non-uniform for the
//! minifloats and NF4) with a band for the other blocks' ends, the block scales' histogram, and
//! every format's error against its bits per weight with the Pareto front.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette::{BLUE, GREEN, GRID, INK, ORANGE, SKY, VERMILLION};
use super::{draw_legend, frame, headroom, Axes, Chart, DrawResult, Swatch};
use crate::engine::formats::compare::Row;
use crate::engine::formats::spec::Family;
use crate::engine::statistics::histogram::Histogram;
use crate::engine::views::formats::{Band, FormatView, ScaleHist, ScaleWhat};
use crate::ui::format::sig4;
use crate::ui::i18n::{ChartText as C, FormatText as F};

/// Grid lines nearer than this many pixels to the last one drawn are skipped: a dense stretch
/// of the grid then reads as a solid band.
const GRID_MIN_PX: f64 = 2.0;

/// The values of a tensor and one block's grid in a format.
#[derive(Clone, Debug, PartialEq)]
pub struct FormatHistogramChart {
    pub hist: Histogram,
    pub label: String,
    pub block: usize,
    pub blocks: usize,
    pub grid: Vec<f32>,
    pub bounds: (f32, f32),
    pub band: Option<Band>,
    pub log: bool,
}

impl FormatHistogramChart {
    pub fn of_view(v: &FormatView, log: bool) -> Self {
        FormatHistogramChart { hist: v.values.clone(), label: v.label.clone(), block: v.block, blocks: v.blocks, grid: v.grid.clone(), bounds: v.bounds, band: v.band, log }
    }
}

impl Chart for FormatHistogramChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let h = &self.hist;
        let (lo, hi) = (h.lo as f64, h.hi as f64);
        let height = |c: u64| super::count_height(c, self.log);
        let top = headroom(height(h.max_count()));
        let log = self.log;
        let y_format = move |v: &f64| super::count_tick(*v, log);
        let caption = t.f(F::HistCaption, &[&self.label, &self.block, &self.blocks, &self.grid.len()]);
        let axes = Axes { x: t.s(C::Value), y: if log { t.s(C::LogCount) } else { t.s(C::Count) }, y_format: &y_format, x_format: None };
        let mut chart = frame(root, &caption, lo..hi, 0.0..top, axes)?;
        let inside = |x: f64| x.max(lo).min(hi);
        let mut entries = vec![(t.s(C::Values).to_string(), Swatch::Fill(BLUE.to_rgba()))];

        // The other blocks' ends: a band from the least to the greatest, the median dashed.
        if let Some(b) = self.band {
            let shade = ORANGE.mix(0.15);
            let spans = [(b.lo[0], b.lo[2]), (b.hi[0], b.hi[2])].map(|(a, c)| (inside(a as f64), inside(c as f64)));
            chart.draw_series(spans.iter().filter(|(a, c)| c > a).map(|&(a, c)| Rectangle::new([(a, 0.0), (c, top)], shade.filled())))?;
            let medians = [b.lo[1], b.hi[1]].map(|m| m as f64);
            chart.draw_series(medians.iter().filter(|m| (lo..=hi).contains(*m)).map(|&m| PathElement::new(vec![(m, 0.0), (m, top)], ORANGE.mix(0.8).stroke_width(1))))?;
            entries.push((t.s(F::BandLegend).to_string(), Swatch::Fill(shade)));
            entries.push((t.s(F::BandMedian).to_string(), Swatch::Line(ORANGE.mix(0.8))));
        }

        // The drawn block's grid, and where it saturates.
        let (a, b) = (self.bounds.0 as f64, self.bounds.1 as f64);
        if self.blocks == 1 {
            let shade = VERMILLION.mix(0.12).filled();
            chart.draw_series([(lo, a.min(hi)), (b.max(lo), hi)].into_iter().filter(|(x0, x1)| x1 > x0).map(|(x0, x1)| Rectangle::new([(x0, 0.0), (x1, top)], shade)))?;
        }
        let px = (hi - lo) / super::plot_width_px(root.dim_in_pixel().0);
        let mut lines = Vec::new();
        for &g in &self.grid {
            let x = g as f64;
            if (lo..=hi).contains(&x) && lines.last().is_none_or(|&l: &f64| x - l >= GRID_MIN_PX * px) {
                lines.push(x);
            }
        }
        let grid = SKY.mix(0.8);
        chart.draw_series(lines.iter().map(|&x| PathElement::new(vec![(x, 0.0), (x, top)], grid.stroke_width(1))))?;
        let dense = lines.len() < self.grid.iter().filter(|g| (lo..=hi).contains(&(**g as f64))).count();
        entries.push((if dense { t.f(F::GridDense, &[&self.block]) } else { t.f(F::BlockGrid, &[&self.block]) }, Swatch::Tick(grid)));

        // Bars: clipped mass in vermillion when one grid holds every value.
        let w = h.bin_width() as f64;
        chart.draw_series(h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = h.bin_lo(i) as f64;
            let clipped = self.blocks == 1 && (x0 + w <= a || x0 >= b);
            Rectangle::new([(x0, 0.0), (x0 + w, height(c))], if clipped { VERMILLION } else { BLUE }.filled())
        }))?;
        let ends: Vec<f64> = [a, b].into_iter().filter(|x| (lo..=hi).contains(x)).collect();
        chart.draw_series(ends.iter().map(|&x| PathElement::new(vec![(x, 0.0), (x, top)], VERMILLION.stroke_width(2))))?;
        entries.push((t.f(F::BlockClip, &[&self.block, &sig4(Some(a)), &sig4(Some(b))]), Swatch::Line(VERMILLION.to_rgba())));
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

/// A histogram of block scales.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleChart {
    pub scales: ScaleHist,
}

impl Chart for ScaleChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let s = &self.scales;
        let caption = match s.what {
            ScaleWhat::E8m0Exponent => t.f(F::WhatE8m0, &[&s.total]),
            ScaleWhat::E4m3Scale => t.f(F::WhatE4m3, &[&s.total]),
            ScaleWhat::SuperScale => t.f(F::WhatSuper, &[&s.total]),
            ScaleWhat::SubScale => t.f(F::WhatSub, &[&s.total]),
            ScaleWhat::GroupScale => t.f(F::WhatGroup, &[&s.total]),
        };
        let half = s.width / 2.0;
        let (x0, x1) = s.bars.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &(x, _)| (a.min(x - half), b.max(x + half)));
        let (x0, x1) = if x0 < x1 { (x0, x1) } else { (-1.0, 1.0) };
        let pad = ((x1 - x0) * 0.04).max(0.5);
        let top = headroom(s.bars.iter().map(|b| b.1).max().unwrap_or(0) as f64);
        let y_format = |v: &f64| super::count_tick(*v, false);
        let integer = matches!(s.what, ScaleWhat::E8m0Exponent | ScaleWhat::SubScale);
        let x_format: &dyn Fn(&f64) -> String = if integer { &super::integer_tick } else { &|v: &f64| format!("{v:.1}") };
        let axes = Axes { x: if integer { "" } else { "log2" }, y: t.s(F::Count), y_format: &y_format, x_format: Some(x_format) };
        let mut chart = frame(root, &caption, x0 - pad..x1 + pad, 0.0..top, axes)?;
        chart.draw_series(s.bars.iter().map(|&(x, n)| Rectangle::new([(x - half, 0.0), (x + half, n as f64)], BLUE.filled())))?;
        let mut entries = Vec::new();
        if let Some(n) = s.saturated {
            entries.push((t.f(F::AtTop, &[&n]), Swatch::Fill(if n > 0 { VERMILLION } else { GRID }.to_rgba())));
        }
        if let Some(n) = s.underflow {
            entries.push((t.f(F::AtBottom, &[&n]), Swatch::Fill(if n > 0 { ORANGE } else { GRID }.to_rgba())));
        }
        if s.non_finite > 0 {
            entries.push((t.f(F::NanScales, &[&s.non_finite]), Swatch::Fill(INK.to_rgba())));
        }
        if entries.is_empty() {
            return Ok(());
        }
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

/// What the comparison's chart puts on its y axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Sqnr,
    Mse,
    MaxError,
}

impl Metric {
    pub const ALL: [(Metric, &'static str, F); 3] = [(Metric::Sqnr, "sqnr", F::MetricSqnr), (Metric::Mse, "mse", F::MetricMse), (Metric::MaxError, "max", F::MetricMaxError)];

    /// Its value for `row` on the axis (log10 for the errors); `None` when it has none, and
    /// `Some(∞)` (SQNR) or `Some(−∞)` (errors) when the format is exact on the tensor (re-quantizing
    /// a tensor stored in that very format gives back its values).
    pub fn of(self, row: &Row) -> Option<f64> {
        let m = row.metrics?;
        let log = |v: f64| if v > 0.0 { v.log10() } else if v == 0.0 { f64::NEG_INFINITY } else { f64::NAN };
        let v = match self {
            Metric::Sqnr => m.sqnr_db?,
            Metric::Mse => log(m.mse),
            Metric::MaxError => log(m.max_abs_err),
        };
        (!v.is_nan()).then_some(v)
    }
}

/// One colour per family (Okabe–Ito).
fn family_color(f: Family) -> RGBColor {
    match f {
        Family::Int => INK,
        Family::Float => SKY,
        Family::Mx => BLUE,
        Family::Nvfp4 => GREEN,
        Family::Nf4 => ORANGE,
        Family::Gguf => VERMILLION,
    }
}

/// The family's name in the legend.
pub fn family_text(f: Family) -> F {
    match f {
        Family::Int => F::FamilyInt,
        Family::Float => F::FamilyFloat,
        Family::Mx => F::FamilyMx,
        Family::Nvfp4 => F::FamilyNvfp4,
        Family::Nf4 => F::FamilyNf4,
        Family::Gguf => F::FamilyGguf,
    }
}

/// Every format's SQNR (or MSE, or max error) against its bits per weight, the front joined.
#[derive(Clone, Debug, PartialEq)]
pub struct CompareChart {
    pub rows: Vec<Row>,
    pub metric: Metric,
}

impl Chart for CompareChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let mut points: Vec<(&Row, f64, f64)> = self.rows.iter().filter_map(|r| Some((r, r.bits_per_weight, self.metric.of(r)?))).filter(|p| p.1.is_finite()).collect();
        let fold = |f: &dyn Fn(&(&Row, f64, f64)) -> f64| points.iter().map(f).filter(|v| v.is_finite()).fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let ((bx0, bx1), (y0, y1)) = (fold(&|p| p.1), fold(&|p| p.2));
        let (bx0, bx1) = if bx0 <= bx1 { (bx0 - 0.3, bx1 + 0.6) } else { (2.0, 9.0) };
        let (y0, y1) = if y0 < y1 { (y0, y1) } else if y0.is_finite() { (y0 - 1.0, y0 + 1.0) } else { (0.0, 1.0) };
        let pad = (y1 - y0) * 0.08;
        // Exact formats sit on the plot's edge (the top for SQNR, the bottom for the errors).
        let exact: Vec<&Row> = points.iter().filter(|p| p.2.is_infinite()).map(|p| p.0).collect();
        for p in &mut points {
            if p.2.is_infinite() {
                p.2 = if p.2 > 0.0 { y1 + pad * 0.5 } else { y0 - pad * 0.5 };
            }
        }
        let name = t.s(Metric::ALL.iter().find(|m| m.0 == self.metric).expect("listed").2);
        let log = self.metric != Metric::Sqnr;
        let y_format = move |v: &f64| if log { sig4(Some(10f64.powf(*v))) } else { format!("{v:.0}") };
        let x_format = |v: &f64| format!("{v:.1}");
        let axes = Axes { x: t.s(F::BitsPerWeight), y: name, y_format: &y_format, x_format: Some(&x_format) };
        let caption = t.f(F::CompareChartLabel, &[&name]);
        let mut chart = frame(root, &caption, bx0..bx1, y0 - pad..y1 + pad, axes)?;
        let mut front: Vec<(f64, f64)> = points.iter().filter(|p| p.0.pareto).map(|p| (p.1, p.2)).collect();
        front.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart.draw_series(std::iter::once(PathElement::new(front.clone(), INK.mix(0.5).stroke_width(2))))?;
        chart.draw_series(points.iter().map(|&(r, x, y)| {
            let c = family_color(r.family);
            Circle::new((x, y), if r.pareto { 5 } else { 4 }, if r.pareto { c.filled() } else { c.stroke_width(2) })
        }))?;
        let font = ("sans-serif", 11).into_font().color(&INK);
        chart.draw_series(points.iter().filter(|p| p.0.pareto || exact.contains(&p.0)).map(|&(r, x, y)| {
            let label = if exact.contains(&r) { t.f(F::Exact, &[&r.label]) } else { r.label.clone() };
            Text::new(label, (x, y), font.clone())
        }))?;
        let mut entries: Vec<(String, Swatch)> = Family::ALL
            .iter()
            .filter(|f| points.iter().any(|p| p.0.family == **f))
            .map(|&f| (t.s(family_text(f)).to_string(), Swatch::Fill(family_color(f).to_rgba())))
            .collect();
        entries.push((t.s(F::Front).to_string(), Swatch::Line(INK.mix(0.5))));
        // SQNR climbs to the upper right, errors fall to the lower right: the legend goes where
        // the points are not.
        let area = chart.plotting_area().strip_coord_spec();
        if self.metric == Metric::Sqnr { super::draw_legend_low(&area, &entries) } else { draw_legend(&area, &entries) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::compare::compare;
    use crate::engine::formats::spec::{Format, Params};
    use crate::engine::statistics::stats::summarize;
    use crate::engine::views::formats::{keep, view, FormatRequest};
    use crate::ui::charts::to_svg;

    /// `xs` as `format` gives it back.
    fn quantscope_values(format: Format, xs: &[f32]) -> Vec<f32> {
        crate::engine::formats::quantized::quantize(format, xs, &[8, 256]).unwrap().values
    }

    fn layer() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..2048).map(|i| ((i * 7919 % 997) as f32 - 498.0) / 1000.0).collect();
        xs[300] = 40.0;
        xs
    }

    fn format_view(name: &str) -> FormatView {
        let xs = layer();
        let r = FormatRequest { name: name.into(), params: Params::default(), block: None, bins: 128 };
        view(&xs, &[8, 256], &summarize(&xs), &keep(&xs, &[8, 256], &r).unwrap(), &r)
    }

    #[test]
    fn the_histogram_draws_the_blocks_grid_and_the_band() {
        let v = format_view("mxfp4");
        let svg = to_svg(&FormatHistogramChart::of_view(&v, false), 800, 360).unwrap();
        assert!(svg.contains("mxfp4: block 9 of 64, 15 values"), "{}", &svg[..400]);
        assert!(svg.contains("other blocks"));
        assert!(svg.contains("block 9 saturates beyond [-56.00, 56.00]"), "±48 and half of FP4's top step, 16");
        // FP4's 15 values times 8, each a sky-blue line (#56B4E9), far enough apart to draw.
        assert_eq!(svg.matches("stroke=\"#56B4E9\"").count() - 1, 15);
        // One scale per tensor: no band, and the clipped mass is shaded.
        let fp8 = format_view("fp8-e4m3");
        let svg = to_svg(&FormatHistogramChart::of_view(&fp8, true), 800, 360).unwrap();
        assert!(!svg.contains("other blocks"));
        assert!(svg.contains("too dense"), "FP8's 253 values crowd near zero");
    }

    #[test]
    fn the_scale_charts_name_their_ends() {
        let v = format_view("mxfp4");
        let svg = to_svg(&ScaleChart { scales: v.scales[0].clone() }, 560, 300).unwrap();
        assert!(svg.contains("E8M0 shared exponents (code − 127) of 64 blocks"));
        assert!(svg.contains("0 at the top (saturated)"));
        for name in ["nvfp4", "q4_k", "nf4", "int"] {
            for s in format_view(name).scales {
                assert!(to_svg(&ScaleChart { scales: s }, 560, 300).is_ok(), "{name}");
            }
        }
    }

    #[test]
    fn the_comparison_joins_the_front() {
        let xs = layer();
        let rows = compare(&Format::comparison(), &xs, &[8, 256], |_, _| {});
        for metric in Metric::ALL.map(|m| m.0) {
            let svg = to_svg(&CompareChart { rows: rows.clone(), metric }, 900, 420).unwrap();
            for r in rows.iter().filter(|r| r.pareto) {
                assert!(svg.contains(&r.label), "{} is labelled", r.label);
            }
        }
        assert!(to_svg(&CompareChart { rows: vec![], metric: Metric::Sqnr }, 900, 420).is_ok());
        // A format that gives the tensor back exactly (a Q8_0 tensor re-quantized to Q8_0) sits on
        // the edge, labelled, on every metric.
        let q8 = Format::parse("q8_0", &Params::default()).unwrap();
        let stored = quantscope_values(q8, &xs);
        let exact = compare(&Format::comparison(), &stored, &[8, 256], |_, _| {});
        assert_eq!(exact.iter().find(|r| r.format == "q8_0").unwrap().metrics.unwrap().mse, 0.0);
        for metric in Metric::ALL.map(|m| m.0) {
            let svg = to_svg(&CompareChart { rows: exact.clone(), metric }, 900, 420).unwrap();
            assert!(svg.contains("q8_0: exact"), "{metric:?}");
        }
    }
}
