//! The Lab's pictures: a model's decision regions over a 2-D set, and misclassified digits.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GREEN, INK, ORANGE, VERMILLION};
use super::{frame, Axes, Chart, DrawResult};
use crate::engine::nn::lab::{Boundaries, TestSet};

/// Class colours (up to five classes, then repeating).
const CLASS: [RGBColor; 5] = [BLUE, ORANGE, GREEN, VERMILLION, INK];

/// Which model's regions a [`DecisionChart`] shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Fp32,
    Ptq,
    Qat,
}

/// The model of a decision-region picture: the grid's classes, and the test points on top.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionChart {
    pub boundaries: Boundaries,
    pub which: Which,
    pub test: TestSet,
    pub accuracy: f64,
}

impl Chart for DecisionChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let b = &self.boundaries;
        let (name, classes) = match self.which {
            Which::Fp32 => ("FP32", &b.fp32),
            Which::Ptq => (t.s(C::PtqInteger), &b.ptq),
            Which::Qat => (t.s(C::QatInteger), &b.qat),
        };
        let fmt = |v: &f64| format!("{v:.1}");
        let axes = Axes { x: "x₁", y: "x₂", y_format: &fmt, x_format: Some(&fmt) };
        let (x0, x1, y0, y1) = (b.x.0 as f64, b.x.1 as f64, b.y.0 as f64, b.y.1 as f64);
        let caption = t.f(C::RegionsCaption, &[&name, &format!("{:.1}", self.accuracy * 100.0)]);
        let mut chart = frame(root, &caption, x0..x1, y0..y1, axes)?;
        let n = b.resolution.max(1);
        let (w, h) = ((x1 - x0) / n as f64, (y1 - y0) / n as f64);
        chart.draw_series(classes.iter().enumerate().map(|(k, &c)| {
            let (row, col) = (k / n, k % n);
            let (x, y) = (x0 + col as f64 * w, y0 + row as f64 * h);
            Rectangle::new([(x, y), (x + w, y + h)], CLASS[c as usize % CLASS.len()].mix(0.22).filled())
        }))?;
        chart.draw_series(self.test.x.chunks(2).zip(&self.test.y).map(|(p, &c)| {
            Circle::new((p[0] as f64, p[1] as f64), 3, CLASS[c as usize % CLASS.len()].filled())
        }))?;
        Ok(())
    }
}

/// The model of a row of misclassified digits: each image with its true and predicted class.
#[derive(Clone, Debug, PartialEq)]
pub struct DigitsChart {
    pub title: String,
    /// Grey levels in [0, 1], `height × width` each, with (true, predicted).
    pub images: Vec<(Vec<f32>, u8, u8)>,
    pub size: (usize, usize),
}

impl DigitsChart {
    /// Up to `max` misclassified test samples.
    pub fn of(title: &str, test: &TestSet, misclassified: &[(usize, u8)], max: usize) -> Option<DigitsChart> {
        let size = test.image?;
        let images = misclassified
            .iter()
            .take(max)
            .map(|&(i, pred)| (test.x[i * test.features..(i + 1) * test.features].to_vec(), test.y[i], pred))
            .collect();
        Some(DigitsChart { title: title.into(), images, size })
    }
}

impl Chart for DigitsChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        root.fill(&WHITE)?;
        let (width, _) = root.dim_in_pixel();
        let style = ("sans-serif", 13).into_font().color(&INK);
        root.draw(&Text::new(t.f(C::MisclassifiedShown, &[&self.title, &self.images.len()]), (8, 6), style.clone()))?;
        let (h, w) = self.size;
        let px = 5i32;
        let cell = (w as i32 * px + 14, h as i32 * px + 22);
        let per_row = ((width as i32 - 8) / cell.0).max(1);
        for (k, (pixels, truth, pred)) in self.images.iter().enumerate() {
            let (ox, oy) = (8 + (k as i32 % per_row) * cell.0, 26 + (k as i32 / per_row) * cell.1);
            for (j, &v) in pixels.iter().enumerate() {
                let (r, c) = ((j / w) as i32, (j % w) as i32);
                let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
                root.draw(&Rectangle::new([(ox + c * px, oy + r * px), (ox + (c + 1) * px, oy + (r + 1) * px)], RGBColor(g, g, g).filled()))?;
            }
            root.draw(&Text::new(format!("{truth}→{pred}"), (ox, oy + h as i32 * px + 3), ("sans-serif", 12).into_font().color(&VERMILLION)))?;
        }
        Ok(())
    }
}

/// The model of one layer's weights before and after QAT (both with batch norm folded, as they
/// are quantized), over the QAT model's weight grid: how far training moved them.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightShiftChart {
    pub layer: String,
    pub before: crate::engine::statistics::histogram::Histogram,
    pub after: crate::engine::statistics::histogram::Histogram,
    /// The grid's points within the histograms' span (per channel: the first channel's).
    pub grid: Vec<f32>,
    pub per_channel: bool,
    /// The share of the QAT weights within a tenth of a step of a point of their grid, and of
    /// the FP32 weights of theirs (PTQ's), for the caption.
    pub on_grid: (f64, f64),
}

/// Bins in each histogram.
pub const WEIGHT_SHIFT_BINS: usize = 80;

/// "Near the grid": within this many steps of a grid point.
pub const NEAR_GRID: f32 = 0.1;

impl WeightShiftChart {
    /// One layer (`name` for the caption) of both models: their folded weights, quantized as
    /// `weights` says.
    pub fn new(name: &str, fp32: &crate::engine::nn::net::Layer, qat: &crate::engine::nn::net::Layer, weights: crate::engine::nn::net::WeightQuant) -> WeightShiftChart {
        use crate::engine::statistics::histogram::Histogram;
        let (f, q) = (fp32.folded(), qat.folded());
        let params = weights.qparams(&q.w, q.inputs);
        let (lo0, hi0, _) = crate::engine::observer::finite_min_max(&f.w);
        let (lo1, hi1, _) = crate::engine::observer::finite_min_max(&q.w);
        let (lo, hi) = (lo0.min(lo1), hi0.max(hi1));
        let pad = ((hi - lo) * 0.03).max(f32::EPSILON);
        let (lo, hi) = (lo - pad, hi + pad);
        let p = params[0];
        let grid = (weights.range.qmin..=weights.range.qmax).map(|c| crate::engine::quantizer::quantize::dequantize_one(c, p)).filter(|x| (lo..=hi).contains(x)).collect();
        WeightShiftChart {
            layer: name.to_string(),
            before: Histogram::new(&f.w, lo, hi, WEIGHT_SHIFT_BINS),
            after: Histogram::new(&q.w, lo, hi, WEIGHT_SHIFT_BINS),
            grid,
            per_channel: weights.per_channel,
            on_grid: (weights.share_near_grid(&q.w, q.inputs, NEAR_GRID), weights.share_near_grid(&f.w, f.inputs, NEAR_GRID)),
        }
    }
}

impl Chart for WeightShiftChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        use super::headroom;
        use super::palette::SKY;
        let (lo, hi) = (self.before.lo as f64, self.before.hi as f64);
        let top = headroom(self.before.max_count().max(self.after.max_count()) as f64);
        let y_format = |v: &f64| format!("{v:.0}");
        let x_format = |v: &f64| format!("{:.2}", (v * 100.0).round() / 100.0 + 0.0);
        let axes = Axes { x: t.s(C::WeightFolded), y: t.s(C::Count), y_format: &y_format, x_format: Some(&x_format) };
        let mut chart = frame(root, &self.layer, lo..hi, 0.0..top, axes)?;
        let grid = SKY.mix(0.9);
        chart.draw_series(self.grid.iter().map(|&x| PathElement::new(vec![(x as f64, 0.0), (x as f64, top)], grid.stroke_width(1))))?;
        let w = self.before.bin_width() as f64;
        chart.draw_series(self.before.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = self.before.bin_lo(i) as f64;
            Rectangle::new([(x0, 0.0), (x0 + w, c as f64)], BLUE.mix(0.35).filled())
        }))?;
        chart.draw_series(self.after.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let x0 = self.after.bin_lo(i) as f64;
            Rectangle::new([(x0 + w * 0.25, 0.0), (x0 + w * 0.75, c as f64)], ORANGE.filled())
        }))?;
        // The legend is the page's, beside the three layers' charts: over the bars it hid the
        // peak of a centred histogram.
        Ok(())
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::to_svg;

    #[test]
    fn regions_and_points_are_drawn() {
        let b = Boundaries { x: (-1.0, 1.0), y: (-1.0, 1.0), resolution: 4, fp32: [0, 0, 1, 1].repeat(4), ptq: vec![0; 16], qat: vec![1; 16] };
        let test = TestSet { x: vec![-0.5, 0.0, 0.5, 0.0], y: vec![0, 1], features: 2, image: None };
        let svg = to_svg(&DecisionChart { boundaries: b, which: Which::Fp32, test, accuracy: 1.0 }, 400, 300).unwrap();
        assert!(svg.contains("FP32: 100.0%"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn digits_show_truth_and_prediction() {
        let test = TestSet { x: vec![0.5; 3 * 64], y: vec![7, 1, 3], features: 64, image: Some((8, 8)) };
        let c = DigitsChart::of("QAT", &test, &[(0, 1), (2, 8)], 10).unwrap();
        let svg = to_svg(&c, 600, 120).unwrap();
        assert!(svg.contains("7→1") && svg.contains("3→8") && svg.contains("2 misclassified"));
        assert!(DigitsChart::of("x", &TestSet { image: None, ..test }, &[], 1).is_none());
    }
    use crate::engine::nn::net::{Activation, Net, WeightQuant};
    use crate::engine::quantizer::qparams::QRange;

    #[test]
    fn weights_on_the_grid_are_counted_and_drawn() {
        let fp32 = Net::mlp(&[8, 6, 3], Activation::Relu, 1).unwrap();
        // "QAT" that put layer 0's weights on its 4-bit symmetric grid: the grid comes from the
        // weights' own min/max, so the largest (7.5 steps: PyTorch's max/7.5 scale) sits half a
        // step off it and the other 47 on it.
        let wq = WeightQuant { range: QRange::with_bits(4, false).unwrap(), per_channel: false };
        let mut qat = fp32.clone();
        let step = 0.0625f32;
        qat.layers[0].w = (0..48).map(|i| if i == 0 { 7.5 * step } else { ((i % 15) as f32 - 7.0) * step }).collect();
        let c = WeightShiftChart::new("layer 0", &fp32.layers[0], &qat.layers[0], wq);
        assert_eq!(c.on_grid.0, 47.0 / 48.0);
        assert!(c.on_grid.1 < 0.5, "random weights are mostly between grid points: {}", c.on_grid.1);
        assert_eq!(c.before.counts.iter().sum::<u64>(), 48);
        assert!(c.grid.len() >= 15 && c.grid.len() <= 16, "{}", c.grid.len());
        let svg = crate::ui::charts::to_svg(&c, 400, 260).unwrap();
        assert!(svg.contains("layer 0") && svg.matches("<polyline").count() >= c.grid.len(), "the caption and a line per grid point: {}", &svg[..600]);
        let cnn = Net::cnn((4, 4), [2, 3], 3, Activation::Relu, 0).unwrap();
        let per_channel = WeightShiftChart::new("layer 1", &cnn.layers[1], &cnn.layers[1], WeightQuant { per_channel: true, ..wq });
        assert!(per_channel.per_channel && !per_channel.grid.is_empty());
    }
}
