//! The quantization error: its histogram, with rounding error (within half a step; a step when rounding stochastically) and clipping
//! error told apart, and the error against x (its least and greatest value per value bin).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GRID, ORANGE, VERMILLION};
use super::{draw_legend, frame, headroom, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::explore::View;
use crate::engine::statistics::histogram::Histogram;
use crate::ui::format::sig4;

/// The model of the error histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorChart {
    /// Histogram of `x̂ − x`.
    pub errors: Histogram,
    /// Half the (largest) step: the reach of rounding error.
    /// How far rounding alone moves a value (see `View::rounding_bound`).
    pub bound: f32,
    pub log: bool,
}

impl ErrorChart {
    pub fn of_view(v: &View, log: bool) -> Self {
        ErrorChart { errors: v.errors.clone(), bound: v.rounding_bound(), log }
    }
}

impl Chart for ErrorChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let h = &self.errors;
        let (lo, hi) = (h.lo as f64, h.hi as f64);
        let height = |c: u64| super::count_height(c, self.log);
        let top = headroom(height(h.max_count()));
        let log = self.log;
        let y_format = move |v: &f64| super::count_tick(*v, log);
        let caption = t.f(C::ErrorCaption, &[&sig4(Some(self.bound as f64))]);
        let axes = Axes { x: "x̂ − x", y: if log { t.s(C::LogCount) } else { t.s(C::Count) }, y_format: &y_format, x_format: None };
        let mut chart = frame(root, &caption, lo..hi, 0.0..top, axes)?;
        let w = h.bin_width() as f64;
        let half = self.bound as f64 * (1.0 + 1e-6);
        chart.draw_series(h.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = h.bin_lo(i) as f64;
            let clipping = x0 + w < -half || x0 > half;
            Rectangle::new([(x0, 0.0), (x0 + w, height(c))], if clipping { VERMILLION } else { BLUE }.filled())
        }))?;
        chart.draw_series([-half, half].into_iter().map(|x| PathElement::new(vec![(x, 0.0), (x, top)], ORANGE.stroke_width(1))))?;
        let entries = [
            (t.s(C::RoundingError).to_string(), Swatch::Fill(BLUE.to_rgba())),
            (t.s(C::ClippingError).to_string(), Swatch::Fill(VERMILLION.to_rgba())),
            (format!("± {}", sig4(Some(self.bound as f64))), Swatch::Tick(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

/// The model of the error against x.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorByValueChart {
    /// Bins of x (the value histogram's) and, per bin, the least and greatest error.
    pub x: (f32, f32),
    pub envelope: Vec<Option<(f32, f32)>>,
    /// How far rounding alone moves a value (see `View::rounding_bound`).
    pub bound: f32,
    pub clip: (f32, f32),
}

impl ErrorByValueChart {
    pub fn of_view(v: &View) -> Self {
        ErrorByValueChart { x: (v.values.lo, v.values.hi), envelope: v.error_by_value.clone(), bound: v.rounding_bound(), clip: v.clip_span() }
    }
}

impl Chart for ErrorByValueChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let (lo, hi) = (self.x.0 as f64, self.x.1 as f64);
        let reach = self
            .envelope
            .iter()
            .flatten()
            .fold(self.bound as f64, |m, &(a, b)| m.max((a as f64).abs()).max((b as f64).abs()))
            .max(f64::MIN_POSITIVE)
            * 1.1;
        let y_format = |v: &f64| sig4(Some(*v));
        let axes = Axes { x: t.s(C::ValueX), y: "x̂ − x", y_format: &y_format, x_format: None };
        let mut chart = frame(root, t.s(C::ErrorByValueCaption), lo..hi, -reach..reach, axes)?;
        let n = self.envelope.len().max(1) as f64;
        let w = (hi - lo) / n;
        let (a, b) = (self.clip.0 as f64, self.clip.1 as f64);
        chart.draw_series(self.envelope.iter().enumerate().filter_map(|(i, e)| {
            let (e0, e1) = (*e)?;
            let x = lo + (i as f64 + 0.5) * w;
            let color = if x < a || x > b { VERMILLION } else { BLUE };
            Some(PathElement::new(vec![(x, e0 as f64), (x, e1 as f64)], color.stroke_width(2)))
        }))?;
        let half = self.bound as f64;
        chart.draw_series([-half, half].into_iter().map(|y| PathElement::new(vec![(lo, y), (hi, y)], ORANGE.stroke_width(1))))?;
        chart.draw_series(std::iter::once(PathElement::new(vec![(lo, 0.0), (hi, 0.0)], GRID.stroke_width(1))))?;
        let entries = [
            (t.s(C::InsideClip).to_string(), Swatch::Line(BLUE.to_rgba())),
            (t.s(C::Clipped).to_string(), Swatch::Line(VERMILLION.to_rgba())),
            (t.f(C::RoundingBound, &[&sig4(Some(self.bound as f64))]), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::to_svg;

    #[test]
    fn rounding_and_clipping_are_told_apart() {
        let errors = Histogram::new(&[-0.05, 0.01, 0.02, 0.9, 1.0], -1.0, 1.0, 40);
        let c = ErrorChart { errors, bound: 0.05, log: false };
        let svg = to_svg(&c, 600, 300).unwrap();
        assert!(svg.contains("rounding error within ±0.05000"), "{}", &svg[..600]);
        // Bins of −0.05, 0.01/0.02 (one bin) in blue; 0.9 and 1.0 (the last bin) in vermillion.
        assert_eq!(svg.matches(r##"opacity="1" fill="#0072B2""##).count() - 1, 2);
        assert_eq!(svg.matches(r##"opacity="1" fill="#D55E00""##).count() - 1, 2);
    }

    #[test]
    fn envelope_draws_one_segment_per_filled_bin() {
        let c = ErrorByValueChart {
            x: (-2.0, 2.0),
            envelope: vec![Some((0.5, 1.0)), None, Some((-0.01, 0.01)), Some((-1.0, -0.5))],
            bound: 0.01,
            clip: (-1.0, 1.0),
        };
        let svg = to_svg(&c, 600, 300).unwrap();
        assert!(svg.contains("error against x"));
        assert_eq!(svg.matches(r##"stroke="#D55E00" stroke-width="2""##).count() - 1, 2, "two clipped bins");
        assert_eq!(svg.matches(r##"stroke="#0072B2" stroke-width="2""##).count() - 1, 1, "one bin inside");
    }
}
