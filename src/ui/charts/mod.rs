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
