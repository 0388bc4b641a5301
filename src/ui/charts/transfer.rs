//! The transfer function x → x̂: the staircase of the quantizer, flat beyond the clip range.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::histogram::MIN_GRID_SPACING_PX;
use super::palette::{BLUE, GRID, ORANGE};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::quantize::{dequantize_one, quantize_one};
use crate::engine::quantizer::rounding::Rounding;
use crate::ui::format::sig4;

/// The model of the transfer function over `[lo, hi]`.
#[derive(Clone, Debug, PartialEq)]
pub struct TransferChart {
    pub lo: f32,
    pub hi: f32,
    pub qparams: QParams,
    pub range: QRange,
}

impl TransferChart {
    /// The chart of an Explorer view: the values' span, or at `zoom` a `1/zoom` part of it
    /// centred on `center` (`None`: the span's middle).
    pub fn of_view(v: &crate::engine::views::explore::View, zoom: f32, center: Option<f32>) -> Self {
        let (lo, hi) = zoomed((v.values.lo, v.values.hi), zoom, center);
        TransferChart { lo, hi, qparams: v.qparams[0], range: v.range }
    }

    /// The staircase's corners over `[lo, hi]`, from the engine's own quantizer: one step per
    /// level in view. `None` when the steps are too many to tell apart at `width_px`.
    pub fn steps(&self, width_px: f64) -> Option<Vec<(f64, f64)>> {
        let (lo, hi) = (self.lo as f64, self.hi as f64);
        let s = self.qparams.scale as f64;
        if s / (hi - lo) * width_px < MIN_GRID_SPACING_PX {
            return None;
        }
        let q = |x: f64| quantize_one(x as f32, self.qparams, self.range, Rounding::HalfEven, 0);
        let (q0, q1) = (q(lo), q(hi));
        let mut pts = vec![(lo, dequantize_one(q0, self.qparams) as f64)];
        for code in q0..q1 {
            // The step between `code` and `code + 1` is half-way between their values.
            let (a, b) = (dequantize_one(code, self.qparams) as f64, dequantize_one(code + 1, self.qparams) as f64);
            let edge = (a + b) / 2.0;
            pts.push((edge, a));
            pts.push((edge, b));
        }
        pts.push((hi, dequantize_one(q1, self.qparams) as f64));
        Some(pts)
    }
}

/// The part of `span` seen at `zoom` (≥ 1) around `center` (`None`: the middle of `span`).
pub fn zoomed(span: (f32, f32), zoom: f32, center: Option<f32>) -> (f32, f32) {
    let (lo, hi) = (span.0 as f64, span.1 as f64);
    let half = (hi - lo) / 2.0 / zoom.max(1.0) as f64;
    let c = center.map_or((lo + hi) / 2.0, |c| c as f64);
    let (a, b) = ((c - half) as f32, (c + half) as f32);
    // A view too narrow for f32 to tell its ends apart is widened to a few ulps.
    if a < b { (a, b) } else { (a - f32::EPSILON * a.abs().max(1.0), b + f32::EPSILON * b.abs().max(1.0)) }
}

/// The zoom and centre after one wheel step (`steps > 0`: in, ×2) with the pointer at
/// `fraction` of the current view `[lo, hi]`: the value under the pointer stays under it. Back at
/// zoom 1 the centre returns to auto.
pub fn wheel_zoom(zoom: f32, lo: f32, hi: f32, fraction: f64, steps: f64) -> (f32, Option<f32>) {
    let factor = if steps > 0.0 { 2.0 } else { 0.5 };
    let next = (zoom * factor).clamp(1.0, crate::ui::state::MAX_TRANSFER_ZOOM);
    if next <= 1.0 {
        return (1.0, None);
    }
    let (lo, hi) = (lo as f64, hi as f64);
    let under = lo + fraction.clamp(0.0, 1.0) * (hi - lo);
    let width = (hi - lo) * (zoom / next) as f64;
    (next, Some((under - (fraction.clamp(0.0, 1.0) - 0.5) * width) as f32))
}

impl Chart for TransferChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let (lo, hi) = (self.lo as f64, self.hi as f64);
        let y_format = |v: &f64| sig4(Some(*v));
        let axes = Axes { x: "x", y: "x̂", y_format: &y_format, x_format: None };
        let caption = t.f(C::TransferCaption, &[&sig4(Some(self.qparams.scale as f64))]);
        // x̂ at the view's ends: beyond the clip range the staircase is flat, possibly out of
        // [lo, hi] when zoomed in there.
        let end = |x: f64| dequantize_one(quantize_one(x as f32, self.qparams, self.range, Rounding::HalfEven, 0), self.qparams) as f64;
        let (y0, y1) = (lo.min(end(lo)), hi.max(end(hi)));
        let pad = (y1 - y0) * 0.02;
        let mut chart = frame(root, &caption, lo..hi, (y0 - pad)..(y1 + pad), axes)?;
        chart.draw_series(std::iter::once(PathElement::new(vec![(lo, lo), (hi, hi)], GRID.stroke_width(1))))?;
        let width = super::plot_width_px(root.dim_in_pixel().0);
        let (a, b) = self.qparams.representable_range(self.range);
        let (a, b) = (a as f64, b as f64);
        let (line, label) = match self.steps(width) {
            Some(pts) => (pts, t.s(C::OneStepPerLevel).to_string()),
            // Too many steps to see: the clamp they follow.
            None => (vec![(lo, a.max(lo).min(hi)), (a.max(lo), a.max(lo)), (b.min(hi), b.min(hi)), (hi, b.min(hi).max(lo))], t.s(C::StepsTooFine).to_string()),
        };
        chart.draw_series(std::iter::once(PathElement::new(line, BLUE.stroke_width(2))))?;
        chart.draw_series(
            [a, b]
                .into_iter()
                .filter(|x| (lo..=hi).contains(x))
                .map(|x| PathElement::new(vec![(x, y0 - pad), (x, y1 + pad)], ORANGE.stroke_width(1))),
        )?;
        let entries = [
            (label, Swatch::Line(BLUE.to_rgba())),
            ("x̂ = x".to_string(), Swatch::Line(GRID.to_rgba())),
            (t.s(C::ClipRange).to_string(), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{calculate_qparams, QScheme};
    use crate::ui::charts::to_svg;

    #[test]
    fn zoom_keeps_the_value_under_the_pointer() {
        assert_eq!(zoomed((-4.0, 4.0), 1.0, None), (-4.0, 4.0));
        assert_eq!(zoomed((-4.0, 4.0), 4.0, None), (-1.0, 1.0));
        assert_eq!(zoomed((-4.0, 4.0), 4.0, Some(3.0)), (2.0, 4.0));
        let (a, b) = zoomed((-4.0, 4.0), 65536.0, Some(1e5));
        assert!(a < b, "{a} {b}");
        // The pointer at 3/4 of [−4, 4] is over 2; after zooming in, 2 is still at 3/4.
        let (zoom, center) = wheel_zoom(1.0, -4.0, 4.0, 0.75, 1.0);
        assert_eq!((zoom, center), (2.0, Some(1.0)));
        let (lo, hi) = zoomed((-4.0, 4.0), zoom, center);
        assert_eq!(lo + 0.75 * (hi - lo), 2.0);
        assert_eq!(wheel_zoom(2.0, -2.0, 2.0, 0.3, -1.0), (1.0, None), "back to the whole view");
        assert_eq!(wheel_zoom(crate::ui::state::MAX_TRANSFER_ZOOM, -1.0, 1.0, 0.5, 1.0).0, crate::ui::state::MAX_TRANSFER_ZOOM);
    }

    #[test]
    fn staircase_has_one_step_per_level_in_view() {
        let range = QRange::with_bits(2, true).unwrap();
        let p = calculate_qparams(0.0, 3.0, QScheme::Affine, range); // s = 1, z = 0: codes 0..=3
        let c = TransferChart { lo: -1.0, hi: 4.0, qparams: p, range };
        let pts = c.steps(600.0).unwrap();
        // Flat at 0 from −1, steps at 0.5, 1.5, 2.5, flat at 3 to 4.
        assert_eq!(pts, vec![(-1.0, 0.0), (0.5, 0.0), (0.5, 1.0), (1.5, 1.0), (1.5, 2.0), (2.5, 2.0), (2.5, 3.0), (4.0, 3.0)]);
        assert!(to_svg(&c, 600, 300).unwrap().contains("one step per level"));
        let fine = TransferChart { qparams: calculate_qparams(0.0, 3.0, QScheme::Affine, QRange::with_bits(16, true).unwrap()), range: QRange::with_bits(16, true).unwrap(), ..c };
        assert!(fine.steps(600.0).is_none());
        assert!(to_svg(&fine, 600, 300).unwrap().contains("too fine"));
    }
}
