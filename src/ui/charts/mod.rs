//! Charts: each is a plain model struct that draws itself on any plotters `DrawingBackend`, so the
//! same code paints a `<canvas>` in the app ([`canvas::Canvas`]) and an SVG string in native tests
//! ([`to_svg`]).

pub mod canvas;
pub mod channels;
pub mod codes;
pub mod dynamics;
pub mod errors;
pub mod formats;
pub mod histogram;
pub mod lab;
pub mod sweep;
pub mod training;
pub mod transfer;

use plotters::coord::Shift;
use plotters::prelude::*;

/// The colour-blind-safe palette of Okabe and Ito (2008).
pub mod palette {
    use plotters::style::RGBColor;
    pub const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    pub const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    pub const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    pub const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    pub const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    pub const INK: RGBColor = RGBColor(0x22, 0x26, 0x2e);
    pub const GRID: RGBColor = RGBColor(0x9a, 0xa3, 0xb0);
}

/// Drawing errors of a backend, boxed to a message.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart model that can paint itself on a drawing area of any backend.
pub trait Chart: PartialEq + 'static {
    /// Paints the whole chart on `root`.
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

/// The plotting context of a chart with f64 axes.
pub type Plot<'a, DB> = ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// Axis descriptions and label formats of a [`frame`].
pub struct Axes<'f> {
    pub x: &'f str,
    pub y: &'f str,
    pub y_format: &'f dyn Fn(&f64) -> String,
    /// `None`: four significant digits, with ticks within round-off of zero shown as 0.
    pub x_format: Option<&'f dyn Fn(&f64) -> String>,
}

/// A tick label: four significant digits, and 0 for a tick within `span`·1e-9 of zero (the
/// round-off of tick arithmetic, which would otherwise print as 1.7e-18).
pub fn tick(v: f64, span: f64) -> String {
    crate::ui::format::sig4(Some(if v.abs() <= span.abs() * 1e-9 { 0.0 } else { v }))
}

/// A bar's height for `count`: the count, or `log10(1 + count)` on a log axis.
pub fn count_height(count: u64, log: bool) -> f64 {
    if log {
        (1.0 + count as f64).log10()
    } else {
        count as f64
    }
}

/// A count axis label: whole counts only (no "1, 1, 1" over a short axis), or log10 with one
/// decimal.
pub fn count_tick(v: f64, log: bool) -> String {
    if log {
        format!("{v:.1}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// Labels for integer axes.
pub fn integer_tick(v: &f64) -> String {
    format!("{}", v.round() as i64)
}

/// The frame's margin and y-label area: the plot spans `[PLOT_LEFT_PX, width − FRAME_MARGIN_PX]`.
const FRAME_MARGIN_PX: f64 = 10.0;
const Y_LABEL_AREA_PX: f64 = 64.0;
const PLOT_LEFT_PX: f64 = FRAME_MARGIN_PX + Y_LABEL_AREA_PX;

/// The plot area's width inside a chart `width` pixels wide (see [`frame`]).
pub fn plot_width_px(width: u32) -> f64 {
    (width as f64 - PLOT_LEFT_PX - FRAME_MARGIN_PX).max(1.0)
}

/// Where pixel column `px` of a chart `width` pixels wide falls along the plot's x axis, as a
/// fraction: 0 at the axis's start, 1 at its end (outside the plot: below 0 or above 1).
pub fn plot_fraction(px: f64, width: u32) -> f64 {
    (px - PLOT_LEFT_PX) / plot_width_px(width)
}

/// The frame every chart shares: white background, caption, axes with descriptions, light
/// horizontal mesh, over `x`×`y`.
pub fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    caption: &str,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
    axes: Axes<'_>,
) -> Result<Plot<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let span = x.end - x.start;
    let default_x = move |v: &f64| tick(*v, span);
    let x_format: &dyn Fn(&f64) -> String = axes.x_format.unwrap_or(&default_x);
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 16).into_font().color(&palette::INK))
        .margin(FRAME_MARGIN_PX as u32)
        .x_label_area_size(36)
        .y_label_area_size(Y_LABEL_AREA_PX as u32)
        .build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_labels(6)
        .x_labels(7)
        .y_label_formatter(axes.y_format)
        .x_label_formatter(x_format)
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(palette::GRID.mix(0.25))
        .x_desc(axes.x)
        .y_desc(axes.y)
        .axis_desc_style(("sans-serif", 13).into_font().color(&palette::INK))
        .label_style(("sans-serif", 12).into_font().color(&palette::INK))
        .draw()?;
    Ok(chart)
}

/// A y-axis range `[0, top)` with 8% headroom over `max` (at least 1).
pub fn headroom(max: f64) -> f64 {
    max.max(1.0) * 1.08
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Swatch {
    /// A filled box, for bars and bands.
    Fill(RGBAColor),
    /// A short horizontal line, for lines.
    Line(RGBAColor),
    /// A short vertical tick, for grid lines.
    Tick(RGBAColor),
}

/// Draws a legend box in the upper-right corner of `area`.
///
/// (Not plotters' `configure_series_labels`: it sizes text through the font, which in the browser
/// styles a `<span>` with an inline style that the app's CSP blocks. This sizes text through the
/// backend.)
pub fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Swatch)]) -> DrawResult<DB> {
    legend_at(area, entries, false)
}

/// [`draw_legend`] in the lower-right corner (for charts whose points climb to the upper right).
pub fn draw_legend_low<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Swatch)]) -> DrawResult<DB> {
    legend_at(area, entries, true)
}

fn legend_at<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, Swatch)], low: bool) -> DrawResult<DB> {
    let font = ("sans-serif", 12).into_font().color(&palette::INK);
    let (pad, swatch, gap, line_h) = (8i32, 14i32, 6i32, 18i32);
    let mut text_w = 0i32;
    for (label, _) in entries {
        text_w = text_w.max(area.estimate_text_size(label, &font)?.0 as i32);
    }
    let (w, h) = area.dim_in_pixel();
    let box_w = pad * 2 + swatch + gap + text_w;
    let box_h = pad * 2 + line_h * entries.len() as i32 - (line_h - 12);
    let x0 = w as i32 - box_w - 8;
    let y0 = if low { h as i32 - box_h - 8 } else { 8 };
    area.draw(&Rectangle::new([(x0, y0), (x0 + box_w, y0 + box_h)], WHITE.mix(0.9).filled()))?;
    area.draw(&Rectangle::new([(x0, y0), (x0 + box_w, y0 + box_h)], palette::GRID.stroke_width(1)))?;
    for (i, (label, kind)) in entries.iter().enumerate() {
        let y = y0 + pad + line_h * i as i32 + 6;
        let x = x0 + pad;
        match *kind {
            Swatch::Fill(c) => area.draw(&Rectangle::new([(x, y - 5), (x + swatch, y + 5)], c.filled()))?,
            Swatch::Line(c) => area.draw(&PathElement::new(vec![(x, y), (x + swatch, y)], c.stroke_width(2)))?,
            Swatch::Tick(c) => area.draw(&PathElement::new(vec![(x + swatch / 2, y - 6), (x + swatch / 2, y + 6)], c.stroke_width(2)))?,
        }
        area.draw(&Text::new(label.clone(), (x + swatch + gap, y - 7), font.clone()))?;
    }
    Ok(())
}

/// Renders `chart` into an SVG document of `width`×`height` pixels.
pub fn to_svg<C: Chart>(chart: &C, width: u32, height: u32) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        chart.draw(&root).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_near_zero_read_zero() {
        assert_eq!(tick(1.7347e-18, 0.03), "0");
        assert_eq!(tick(0.005, 0.03), "0.005000");
        assert_eq!(tick(-2.0, 10.0), "-2.000");
        assert_eq!(integer_tick(&249.9999), "250");
        assert_eq!(count_tick(0.25, false), "");
        assert_eq!(count_tick(3.0, false), "3");
        assert_eq!(count_tick(0.25, true), "0.2");
    }
}
