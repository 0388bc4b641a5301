//! The observer sweep: SQNR against bit width for every observer, and the MSE against the
//! clipping ratio with each observer's choice marked (the clipping/rounding trade-off).

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GREEN, INK, ORANGE, SKY, VERMILLION};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::jobs::{ObserverSweep, SweepPoint};
use crate::ui::format::sig4;

/// One colour per observer, in `SWEPT_OBSERVERS` order (Okabe–Ito).
const COLORS: [RGBColor; 6] = [BLUE, ORANGE, GREEN, VERMILLION, SKY, INK];

/// SQNR against bits, one line per observer.
#[derive(Clone, Debug, PartialEq)]
pub struct SqnrChart {
    pub series: Vec<(String, Vec<SweepPoint>)>,
}

impl Chart for SqnrChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let pts = || self.series.iter().flat_map(|(_, p)| p.iter());
        let (b0, b1) = pts().fold((u32::MAX, 0), |(a, b), p| (a.min(p.bits), b.max(p.bits)));
        let (b0, b1) = if b0 <= b1 { (b0 as f64, b1 as f64) } else { (2.0, 16.0) };
        let top = pts().filter_map(|p| p.sqnr_db).filter(|v| v.is_finite()).fold(10.0f64, f64::max) * 1.1;
        let y_format = |v: &f64| format!("{v:.0}");
        let axes = Axes { x: t.s(C::Bits), y: t.s(C::SqnrDb), y_format: &y_format, x_format: Some(&super::integer_tick) };
        let mut chart = frame(root, t.s(C::SqnrCaption), b0 - 0.3..b1 + 0.3, 0.0..top, axes)?;
        let mut entries = Vec::new();
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let line: Vec<(f64, f64)> = points.iter().filter_map(|p| p.sqnr_db.filter(|v| v.is_finite()).map(|v| (p.bits as f64, v))).collect();
            chart.draw_series(std::iter::once(PathElement::new(line.clone(), color.stroke_width(2))))?;
            chart.draw_series(line.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
            entries.push((crate::ui::state::observer_label(name, t), Swatch::Line(color.to_rgba())));
        }
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

/// MSE against the clip ratio, with the observers' choices.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipCurveChart {
    pub sweep: ObserverSweep,
}

impl Chart for ClipCurveChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let log = |m: f64| m.max(1e-30).log10();
        let ys = || self.sweep.curve.iter().map(|p| log(p.1)).chain(self.sweep.choices.iter().map(|c| log(c.2)));
        let (lo, hi) = ys().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 1.0, lo + 1.0) };
        let pad = (hi - lo) * 0.08;
        let caption = t.f(C::ClipCurveCaption, &[&self.sweep.curve_bits]);
        let y_format = |v: &f64| sig4(Some(10f64.powf(*v)));
        let axes = Axes { x: t.s(C::ClipRatio), y: t.s(C::MseLog), y_format: &y_format, x_format: None };
        let mut chart = frame(root, &caption, 0.0..1.02, lo - pad..hi + pad, axes)?;
        let line: Vec<(f64, f64)> = self.sweep.curve.iter().map(|&(t, m)| (t, log(m))).collect();
        chart.draw_series(std::iter::once(PathElement::new(line, INK.mix(0.6).stroke_width(2))))?;
        let mut entries = vec![(t.s(C::MseAtRatio).to_string(), Swatch::Line(INK.mix(0.6)))];
        for (i, (name, ratio, m)) in self.sweep.choices.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart.draw_series(std::iter::once(Circle::new((*ratio, log(*m)), 6, color.stroke_width(2))))?;
            entries.push((format!("{}: t = {}", crate::ui::state::observer_label(name, t), sig4(Some(*ratio))), Swatch::Fill(color.to_rgba())));
        }
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::jobs::{Job, JobResult, JobSpec};
    use crate::engine::quantizer::qparams::QScheme;
    use crate::engine::views::explore::session::{Session, TensorSource};
    use crate::engine::synth::{Dist, SynthSpec};
    use crate::ui::charts::to_svg;

    #[test]
    fn both_charts_draw_every_observer() {
        let spec = SynthSpec { dist: Dist::Normal { mean: 0.0, std: 1.0 }, n: 5_000, seed: 1, outliers: None, channels: 1, spread: 1.0 };
        let spec = JobSpec::ObserverSweep { source: TensorSource::Synthetic(spec), scheme: QScheme::Affine, unsigned: true, bits: (2, 6), curve_bits: 4 };
        let Ok(JobResult::ObserverSweep(sweep)) = Job::start(&spec).unwrap().run(&mut Session::default()) else { panic!("a sweep") };
        let svg = to_svg(&SqnrChart { series: sweep.sqnr.clone() }, 700, 320).unwrap();
        for name in ["Min/max", "Moving-average min/max (EMA)", "Percentile", "Histogram (L2 search, PyTorch)", "Entropy / KL (NVIDIA)", "MSE-optimal clipping"] {
            assert!(svg.contains(name), "{name}");
        }
        let curve = to_svg(&ClipCurveChart { sweep }, 700, 320).unwrap();
        assert!(curve.contains("at 4 bits") && curve.contains("MSE-optimal clipping: t = "));
    }
}
