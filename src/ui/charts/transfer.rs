//! The transfer function x → x̂: the staircase of the quantizer, flat beyond the clip range.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::histogram::MIN_GRID_SPACING_PX;
use super::palette::{BLUE, GRID, ORANGE};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::qparams::{QParams, QRange};
use crate::engine::quantize::{dequantize_one, quantize_one};
use crate::engine::rounding::Rounding;
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

impl Chart for TransferChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let (lo, hi) = (self.lo as f64, self.hi as f64);
        let y_format = |v: &f64| sig4(Some(*v));
        let axes = Axes { x: "x", y: "x̂", y_format: &y_format, x_format: None };
        let caption = format!("transfer function x → x̂ · step {}", sig4(Some(self.qparams.scale as f64)));
        let mut chart = frame(root, &caption, lo..hi, lo..hi, axes)?;
        chart.draw_series(std::iter::once(PathElement::new(vec![(lo, lo), (hi, hi)], GRID.stroke_width(1))))?;
        let width = root.dim_in_pixel().0.saturating_sub(84).max(1) as f64;
        let (a, b) = self.qparams.representable_range(self.range);
        let (a, b) = (a as f64, b as f64);
        let (line, label) = match self.steps(width) {
            Some(pts) => (pts, "x̂ (one step per level)".to_string()),
            // Too many steps to see: the clamp they follow.
            None => (vec![(lo, a.max(lo).min(hi)), (a.max(lo), a.max(lo)), (b.min(hi), b.min(hi)), (hi, b.min(hi).max(lo))], "x̂ (steps too fine to draw)".to_string()),
        };
        chart.draw_series(std::iter::once(PathElement::new(line, BLUE.stroke_width(2))))?;
        chart.draw_series(
            [a, b].into_iter().filter(|x| (lo..=hi).contains(x)).map(|x| PathElement::new(vec![(x, lo), (x, hi)], ORANGE.stroke_width(1))),
        )?;
        let entries = [
            (label, Swatch::Line(BLUE.to_rgba())),
            ("x̂ = x".to_string(), Swatch::Line(GRID.to_rgba())),
            ("clip range".to_string(), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::qparams::{calculate_qparams, QScheme};
    use crate::ui::charts::to_svg;

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
