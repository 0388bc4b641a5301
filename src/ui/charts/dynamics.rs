//! Observer dynamics: per batch, the batch's own range, and the ranges MinMax and the moving
//! average hold after it, up to the current step.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GRID, INK, ORANGE};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::dynamics::Step;

/// The model of the dynamics chart.
#[derive(Clone, Debug, PartialEq)]
pub struct DynamicsChart {
    pub steps: Vec<Step>,
    /// Steps shown: `0..=current`.
    pub current: usize,
    pub averaging_constant: f32,
}

impl Chart for DynamicsChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let finite = |v: f32| v.is_finite().then_some(v as f64);
        let all = self.steps.iter().flat_map(|s| [s.batch.0, s.batch.1, s.minmax.0, s.minmax.1]).filter_map(finite);
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo < hi { (lo, hi) } else { (lo.min(0.0) - 1.0, hi.max(0.0) + 1.0) };
        let pad = (hi - lo) * 0.08;
        let n = self.steps.len().max(1);
        let caption = t.f(C::DynamicsCaption, &[&(self.current + 1).min(n), &n, &self.averaging_constant]);
        let y_format = |v: &f64| super::tick(*v, hi - lo);
        let axes = Axes { x: t.s(C::Batch), y: t.s(C::Range), y_format: &y_format, x_format: Some(&super::integer_tick) };
        let mut chart = frame(root, &caption, -0.5..n as f64 - 0.5, lo - pad..hi + 2.0 * pad, axes)?;
        let shown = &self.steps[..(self.current + 1).min(self.steps.len())];
        // Each batch's own range, as a grey bar.
        chart.draw_series(shown.iter().enumerate().filter_map(|(k, s)| {
            let (a, b) = (finite(s.batch.0)?, finite(s.batch.1)?);
            Some(PathElement::new(vec![(k as f64, a), (k as f64, b)], GRID.stroke_width(3)))
        }))?;
        for (pick, color) in [(0usize, BLUE), (1, ORANGE)] {
            for end in 0..2 {
                let line: Vec<(f64, f64)> = shown
                    .iter()
                    .enumerate()
                    .filter_map(|(k, s)| {
                        let r = if pick == 0 { s.minmax } else { s.ema };
                        finite(if end == 0 { r.0 } else { r.1 }).map(|v| (k as f64, v))
                    })
                    .collect();
                chart.draw_series(std::iter::once(PathElement::new(line, color.stroke_width(2))))?;
            }
        }
        let x = self.current.min(n - 1) as f64;
        chart.draw_series(std::iter::once(PathElement::new(vec![(x, lo - pad), (x, hi + 2.0 * pad)], INK.mix(0.3).stroke_width(1))))?;
        let entries = [
            (t.s(C::BatchMinMax).to_string(), Swatch::Line(GRID.to_rgba())),
            (t.s(C::MinMaxRunning).to_string(), Swatch::Line(BLUE.to_rgba())),
            (t.s(C::MovingAverage).to_string(), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::dynamics::run;
    use crate::ui::charts::to_svg;

    #[test]
    fn draws_the_steps_up_to_the_current_one() {
        let xs: Vec<f32> = (1..=6).flat_map(|k| [-(k as f32), k as f32]).collect();
        let steps = run(&xs, &[xs.len()], crate::engine::views::dynamics::Split::Equal(6), 0.1, 0.0).unwrap();
        let c = DynamicsChart { steps, current: 2, averaging_constant: 0.1 };
        let svg = to_svg(&c, 600, 300).unwrap();
        assert!(svg.contains("batch 3 of 6"));
        // Three batch bars (grey, width 3) and a legend swatch.
        assert_eq!(svg.matches(r##"stroke="#9AA3B0" stroke-width="3""##).count(), 3, "{}", &svg[..300]);
        assert!(to_svg(&DynamicsChart { steps: vec![], current: 0, averaging_constant: 0.1 }, 300, 200).is_ok());
    }
}
