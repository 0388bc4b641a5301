//! Charts: each is a plain model struct that draws itself on any plotters `DrawingBackend`, so the
//! same code paints a `<canvas>` in the app ([`canvas::Canvas`]) and an SVG string in native tests
//! ([`to_svg`]).

pub mod canvas;
pub mod histogram;

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
    let font = ("sans-serif", 12).into_font().color(&palette::INK);
    let (pad, swatch, gap, line_h) = (8i32, 14i32, 6i32, 18i32);
    let mut text_w = 0i32;
    for (label, _) in entries {
        text_w = text_w.max(area.estimate_text_size(label, &font)?.0 as i32);
    }
    let (w, _) = area.dim_in_pixel();
    let box_w = pad * 2 + swatch + gap + text_w;
    let box_h = pad * 2 + line_h * entries.len() as i32 - (line_h - 12);
    let x0 = w as i32 - box_w - 8;
    let y0 = 8;
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
