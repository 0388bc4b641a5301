//! The Lab's training curves: test accuracy per epoch, FP32 then QAT.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette::{BLUE, ORANGE};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::nn::lab::{EpochStats, Phase};

/// The model of the curves: every epoch so far, and how many there will be.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingChart {
    pub history: Vec<EpochStats>,
    pub epochs: usize,
    pub qat_epochs: usize,
}

impl Chart for TrainingChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let total = (self.epochs + self.qat_epochs).max(1) as f64;
        let accs: Vec<f64> = self.history.iter().map(|e| e.test_accuracy * 100.0).collect();
        let low = accs.iter().copied().fold(100.0f64, f64::min).min(90.0).max(0.0);
        let y_format = |v: &f64| format!("{v:.0}%");
        let axes = Axes { x: "epoch (FP32, then QAT)", y: "test accuracy", y_format: &y_format, x_format: Some(&super::integer_tick) };
        let mut chart = frame(root, "test accuracy after each epoch", 0.0..total + 0.5, (low - 1.0)..100.5, axes)?;
        for (phase, color, offset) in [(Phase::Fp32, BLUE, 0usize), (Phase::Qat, ORANGE, self.epochs)] {
            let pts: Vec<(f64, f64)> =
                self.history.iter().filter(|e| e.phase == phase).map(|e| ((e.epoch + offset) as f64, e.test_accuracy * 100.0)).collect();
            chart.draw_series(std::iter::once(PathElement::new(pts.clone(), color.stroke_width(2))))?;
            chart.draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))?;
        }
        let entries = [
            ("FP32 training".to_string(), Swatch::Line(BLUE.to_rgba())),
            ("QAT (fake-quantized)".to_string(), Swatch::Line(ORANGE.to_rgba())),
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
}
