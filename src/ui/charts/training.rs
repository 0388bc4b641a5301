//! The Lab's charts: test accuracy per epoch (FP32, then QAT), and accuracy against bit width.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GRID, ORANGE};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::nn::lab::{EpochStats, Phase, SweepReport};

/// The model of the curves: every epoch so far, and how many there will be.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingChart {
    pub history: Vec<EpochStats>,
    pub epochs: usize,
    pub qat_epochs: usize,
}

impl Chart for TrainingChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let total = (self.epochs + self.qat_epochs).max(1) as f64;
        let accs: Vec<f64> = self.history.iter().map(|e| e.test_accuracy * 100.0).collect();
        let low = accs.iter().copied().fold(100.0f64, f64::min).clamp(0.0, 90.0);
        // No ticks in the legend's headroom above 100%.
        let y_format = |v: &f64| if *v > 100.5 { String::new() } else { format!("{v:.0}%") };
        let axes = Axes { x: t.s(C::EpochAxis), y: t.s(C::TestAccuracy), y_format: &y_format, x_format: Some(&super::integer_tick) };
        // Headroom above 100% for the legend.
        let top = 100.5 + (100.0 - low + 1.0) * 0.35;
        let mut chart = frame(root, t.s(C::TestAccuracyCaption), 0.0..total + 0.5, (low - 1.0)..top, axes)?;
        for (phase, color, offset) in [(Phase::Fp32, BLUE, 0usize), (Phase::Qat, ORANGE, self.epochs)] {
            let pts: Vec<(f64, f64)> =
                self.history.iter().filter(|e| e.phase == phase).map(|e| ((e.epoch + offset) as f64, e.test_accuracy * 100.0)).collect();
            chart.draw_series(std::iter::once(PathElement::new(pts.clone(), color.stroke_width(2))))?;
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        let entries = [
            (t.s(C::Fp32Training).to_string(), Swatch::Line(BLUE.to_rgba())),
            (t.s(C::QatFakeQuant).to_string(), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

/// The model of the bit-width sweep: PTQ and QAT accuracy per pair, FP32 as a line.
#[derive(Clone, Debug, PartialEq)]
pub struct BitSweepChart {
    pub sweep: SweepReport,
}

impl Chart for BitSweepChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let pts = &self.sweep.points;
        let n = pts.len().max(1);
        let labels: Vec<String> = pts.iter().map(|p| format!("W{}A{}", p.weight_bits, p.act_bits)).collect();
        let x_format = move |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 { labels.get(i as usize).cloned().unwrap_or_default() } else { String::new() }
        };
        // No ticks in the legend's headroom above 100%.
        let y_format = |v: &f64| if *v > 100.5 { String::new() } else { format!("{v:.0}%") };
        let axes = Axes { x: t.s(C::WeightActBits), y: t.s(C::TestAccuracy), y_format: &y_format, x_format: Some(&x_format) };
        // Headroom above 100% for the legend.
        let mut chart = frame(root, t.s(C::SweepCaption), -0.5..n as f64 - 0.5, 0.0..130.0, axes)?;
        let fp32 = self.sweep.fp32 * 100.0;
        chart.draw_series(std::iter::once(PathElement::new(vec![(-0.5, fp32), (n as f64 - 0.5, fp32)], GRID.stroke_width(2))))?;
        for (pick, color) in [(0usize, ORANGE), (1, BLUE)] {
            let line: Vec<(f64, f64)> = pts.iter().enumerate().map(|(i, p)| (i as f64, 100.0 * if pick == 0 { p.ptq } else { p.qat })).collect();
            chart.draw_series(std::iter::once(PathElement::new(line.clone(), color.stroke_width(2))))?;
            chart.draw_series(line.into_iter().map(|p| Circle::new(p, 4, color.filled())))?;
        }
        let entries = [
            (format!("FP32 {fp32:.1}%"), Swatch::Line(GRID.to_rgba())),
            ("PTQ".to_string(), Swatch::Line(ORANGE.to_rgba())),
            ("QAT".to_string(), Swatch::Line(BLUE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::to_svg;

    #[test]
    fn draws_both_phases() {
        let e = |phase, epoch, acc| EpochStats { phase, epoch, train_loss: 0.1, test_accuracy: acc };
        let c = TrainingChart { history: vec![e(Phase::Fp32, 1, 0.9), e(Phase::Fp32, 2, 0.95), e(Phase::Qat, 1, 0.93)], epochs: 2, qat_epochs: 2 };
        let svg = to_svg(&c, 600, 300).unwrap();
        assert!(svg.contains("QAT (fake-quantized)") && svg.contains("test accuracy"));
        assert_eq!(svg.matches("<circle").count(), 3, "one marker per epoch");
        assert!(to_svg(&TrainingChart { history: vec![], epochs: 0, qat_epochs: 0 }, 300, 200).is_ok());
    }

    #[test]
    fn the_sweep_names_each_pair() {
        use crate::engine::nn::lab::SweepPoint;
        let sweep = SweepReport { fp32: 0.97, points: vec![SweepPoint { weight_bits: 8, act_bits: 8, ptq: 0.97, qat: 0.975 }, SweepPoint { weight_bits: 2, act_bits: 2, ptq: 0.3, qat: 0.8 }] };
        let svg = to_svg(&BitSweepChart { sweep }, 600, 300).unwrap();
        assert!(svg.contains("W8A8") && svg.contains("W2A2") && svg.contains("FP32 97.0%"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(to_svg(&BitSweepChart { sweep: SweepReport::default() }, 300, 200).is_ok());
    }
}
