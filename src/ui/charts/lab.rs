//! The Lab's pictures: a model's decision regions over a 2-D set, and misclassified digits.

use plotters::coord::Shift;
use plotters::prelude::*;

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
        let b = &self.boundaries;
        let (name, classes) = match self.which {
            Which::Fp32 => ("FP32", &b.fp32),
            Which::Ptq => ("PTQ, integer", &b.ptq),
            Which::Qat => ("QAT, integer", &b.qat),
        };
        let fmt = |v: &f64| format!("{v:.1}");
        let axes = Axes { x: "x₁", y: "x₂", y_format: &fmt, x_format: Some(&fmt) };
        let (x0, x1, y0, y1) = (b.x.0 as f64, b.x.1 as f64, b.y.0 as f64, b.y.1 as f64);
        let caption = format!("{name}: {:.1}% of the test points", self.accuracy * 100.0);
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
        root.fill(&WHITE)?;
        let (width, _) = root.dim_in_pixel();
        let style = ("sans-serif", 13).into_font().color(&INK);
        root.draw(&Text::new(format!("{} ({} misclassified shown)", self.title, self.images.len()), (8, 6), style.clone()))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::to_svg;

    #[test]
    fn regions_and_points_are_drawn() {
        let b = Boundaries { x: (-1.0, 1.0), y: (-1.0, 1.0), resolution: 4, fp32: vec![0, 0, 1, 1].repeat(4), ptq: vec![0; 16], qat: vec![1; 16] };
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
}
