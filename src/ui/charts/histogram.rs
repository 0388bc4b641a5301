//! The value histogram with its quantization grid, the clipping range and the clipped mass.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE as C_BLUE, ORANGE, SKY, VERMILLION};
use super::{draw_legend, frame, headroom, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::explore::View;
use crate::ui::format::sig4;
use crate::engine::statistics::histogram::Histogram;
use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::quantize::dequantize_one;
use crate::engine::statistics::stats::Summary;

/// How near (pixels) the pointer must come to a clip end to drag it.
pub const GRAB_PX: f64 = 8.0;

/// Grid lines closer than this many pixels are drawn as a band instead.
pub const MIN_GRID_SPACING_PX: f64 = 4.0;

/// The model of the value histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramChart {
    pub hist: Histogram,
    /// The representable range `[a, b] = [(qmin − z)·s, (qmax − z)·s]` (per channel: the widest
    /// over the channels): values outside are clipped.
    pub clip: (f32, f32),
    /// Scale and zero point (of the first channel), for the grid and the caption.
    pub qparams: QParams,
    pub range: QRange,
    /// Channels with their own grid (1 per tensor).
    pub channels: usize,
    /// Log-scaled counts.
    pub log: bool,
}

impl HistogramChart {
    /// Bins `xs` over the union of the data range and the clip range, so both are in view.
    pub fn new(xs: &[f32], summary: &Summary, qparams: QParams, range: QRange, bins: usize, log: bool) -> Self {
        let clip = qparams.representable_range(range);
        let (lo, hi) = if summary.count > 0 {
            (summary.min.min(clip.0), summary.max.max(clip.1))
        } else {
            clip
        };
        let pad = ((hi - lo) * 0.02).max(f32::EPSILON);
        HistogramChart { hist: Histogram::new(xs, lo - pad, hi + pad, bins), clip, qparams, range, channels: 1, log }
    }

    /// The chart of an Explorer view.
    pub fn of_view(v: &View, log: bool) -> Self {
        HistogramChart { hist: v.values.clone(), clip: v.clip_span(), qparams: v.qparams[0], range: v.range, channels: v.qparams.len(), log }
    }

    /// The chart with grid `p` in place of its own (every channel's): a range set by hand, drawn
    /// over the same values while the view is computed again.
    pub fn with_grid(&self, p: QParams) -> Self {
        HistogramChart { clip: p.representable_range(self.range), qparams: p, ..self.clone() }
    }

    /// The value at `fraction` of the x axis (see [`super::plot_fraction`]).
    pub fn value_at(&self, fraction: f64) -> f32 {
        (self.hist.lo as f64 + fraction * (self.hist.hi as f64 - self.hist.lo as f64)) as f32
    }

    /// The clip end within [`GRAB_PX`] pixels of `fraction` (`pixel`: one pixel as a fraction),
    /// if any: `Some(true)` for the low end, `Some(false)` for the high one; the nearer wins.
    pub fn grab(&self, fraction: f64, pixel: f64) -> Option<bool> {
        let span = self.hist.hi as f64 - self.hist.lo as f64;
        let at = |x: f32| (x as f64 - self.hist.lo as f64) / span;
        let (da, db) = ((fraction - at(self.clip.0)).abs(), (fraction - at(self.clip.1)).abs());
        let reach = GRAB_PX * pixel;
        match (da <= reach, db <= reach) {
            (true, true) => Some(da <= db),
            (true, false) => Some(true),
            (false, true) => Some(false),
            (false, false) => None,
        }
    }

    fn height(&self, count: u64) -> f64 {
        super::count_height(count, self.log)
    }
}

impl Chart for HistogramChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let (lo, hi) = (self.hist.lo as f64, self.hist.hi as f64);
        let top = headroom(self.height(self.hist.max_count()));
        let levels = self.range.levels();
        let caption = if self.channels > 1 {
            t.f(C::HistogramPerChannel, &[&levels, &self.channels])
        } else {
            t.f(C::HistogramCaption, &[&levels, &sig4(Some(self.qparams.scale as f64)), &self.qparams.zero_point])
        };
        let log = self.log;
        let y_format = move |v: &f64| super::count_tick(*v, log);
        let axes = Axes { x: t.s(C::Value), y: if log { t.s(C::LogCount) } else { t.s(C::Count) }, y_format: &y_format, x_format: None };
        let mut chart = frame(root, &caption, lo..hi, 0.0..top, axes)?;

        // Clipped regions, shaded.
        let (a, b) = (self.clip.0 as f64, self.clip.1 as f64);
        let shade = VERMILLION.mix(0.12).filled();
        chart.draw_series(
            [(lo, a.min(hi)), (b.max(lo), hi)]
                .into_iter()
                .filter(|(x0, x1)| x1 > x0)
                .map(|(x0, x1)| Rectangle::new([(x0, 0.0), (x1, top)], shade)),
        )?;

        // The grid: every level if they can be told apart (one grid only), else a band over [a, b].
        let plot_px = super::plot_width_px(root.dim_in_pixel().0);
        let spacing_px = self.qparams.scale as f64 / (hi - lo) * plot_px;
        let grid_entry = if spacing_px >= MIN_GRID_SPACING_PX && self.channels == 1 {
            let grid = SKY.mix(0.8);
            chart.draw_series(
                (self.range.qmin..=self.range.qmax)
                    .map(|q| dequantize_one(q, self.qparams) as f64)
                    .filter(|x| (lo..=hi).contains(x))
                    .map(|x| PathElement::new(vec![(x, 0.0), (x, top)], grid.stroke_width(1))),
            )?;
            (t.f(C::GridLevels, &[&levels]), Swatch::Tick(grid))
        } else {
            let band = SKY.mix(0.15);
            chart.draw_series(std::iter::once(Rectangle::new([(a.max(lo), 0.0), (b.min(hi), top)], band.filled())))?;
            let why = if self.channels > 1 { t.s(C::OneGridPerChannel) } else { t.s(C::TooDense) };
            (t.f(C::GridWhy, &[&levels, &why]), Swatch::Fill(band))
        };

        // Bars: inside the range in blue, clipped mass in vermillion.
        let w = self.hist.bin_width() as f64;
        let bar = |i: usize, c: u64| {
            let x0 = self.hist.bin_lo(i) as f64;
            let clipped = x0 + w <= a || x0 >= b;
            let color = if clipped { VERMILLION } else { C_BLUE };
            Rectangle::new([(x0, 0.0), (x0 + w, self.height(c))], color.filled())
        };
        chart.draw_series(self.hist.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| bar(i, c)))?;

        // The clip range ends, each with a grip at the top to drag it by.
        let edge = ORANGE.stroke_width(2);
        let ends: Vec<f64> = [a, b].into_iter().filter(|x| (lo..=hi).contains(x)).collect();
        chart.draw_series(ends.iter().map(|&x| PathElement::new(vec![(x, 0.0), (x, top)], edge)))?;
        let grip = (hi - lo) * 3.0 / super::plot_width_px(root.dim_in_pixel().0);
        chart.draw_series(ends.iter().map(|&x| Rectangle::new([(x - grip, top * 0.9), (x + grip, top)], ORANGE.filled())))?;

        let entries = [
            (t.s(C::Values).to_string(), Swatch::Fill(C_BLUE.to_rgba())),
            (t.s(C::ClippedValues).to_string(), Swatch::Fill(VERMILLION.to_rgba())),
            (t.f(C::ClipRangeDrag, &[&format!("{a:.3}"), &format!("{b:.3}")]), Swatch::Line(ORANGE.to_rgba())),
            grid_entry,
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{calculate_qparams, QScheme};
    use crate::engine::statistics::stats::summarize;
    use crate::ui::charts::to_svg;

    fn chart(bits: u32, xs: &[f32]) -> HistogramChart {
        let range = QRange::with_bits(bits, true).unwrap();
        let s = summarize(xs);
        let p = calculate_qparams(s.min, s.max, QScheme::Affine, range);
        HistogramChart::new(xs, &s, p, range, 64, false)
    }

    #[test]
    fn clip_ends_are_grabbed_near_them() {
        let xs: Vec<f32> = (0..=100).map(|i| i as f32 / 10.0).collect(); // [0, 10]
        let c = chart(8, &xs);
        let (a, b) = c.clip;
        let span = (c.hist.hi - c.hist.lo) as f64;
        let frac = |x: f32| (x - c.hist.lo) as f64 / span;
        let pixel = 1.0 / 700.0;
        assert_eq!(c.grab(frac(a) + 3.0 * pixel, pixel), Some(true));
        assert_eq!(c.grab(frac(b) - 7.0 * pixel, pixel), Some(false));
        assert_eq!(c.grab(frac(5.0), pixel), None, "the middle grabs nothing");
        assert!((c.value_at(frac(5.0)) - 5.0).abs() < 1e-5);
    }

    #[test]
    fn coarse_grid_draws_every_level() {
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 / 999.0) * 2.0 - 1.0).collect();
        let c = chart(3, &xs);
        // 8 levels over [−1, 1]: s = 2/7 and, in f32, −1/s = −3.4999998, so z = 3 (not the 4 that
        // exact arithmetic would round 3.5 to). NumPy agrees:
        // >>> s = np.float32(2)/np.float32(7); np.float32(-1)/s, np.round(np.float32(-1)/s)
        // (np.float32(-3.4999998), np.float32(-3.0))
        let s = 2.0f32 / 7.0;
        assert_eq!((c.qparams.scale, c.qparams.zero_point), (s, 3));
        assert_eq!(c.clip, (-3.0 * s, 4.0 * s));
        let svg = to_svg(&c, 800, 360).unwrap();
        assert!(svg.contains("grid: 8 levels"), "legend names the levels");
        assert!(!svg.contains("too dense"));
        assert!(svg.contains("clip range [-0.857, 1.143]"), "{}", &svg[..svg.len().min(400)]);
        // One bar per non-empty bin: blue (#0072B2) inside [a, b], vermillion (#D55E00) for the
        // values below a = −0.857 that the range clips (the clipped regions are shaded in the same
        // colour at opacity 0.12). The legend adds one swatch of each.
        let bars = c.hist.counts.iter().filter(|n| **n > 0).count();
        let blue = svg.matches(r##"opacity="1" fill="#0072B2""##).count() - 1;
        let clipped = svg.matches(r##"opacity="1" fill="#D55E00""##).count() - 1;
        assert_eq!(blue + clipped, bars);
        let below: u64 = (0..c.hist.counts.len()).filter(|&i| c.hist.bin_lo(i) + c.hist.bin_width() <= c.clip.0).map(|i| c.hist.counts[i]).sum();
        assert!(clipped > 0 && below > 0);
    }

    #[test]
    fn dense_grid_becomes_a_band() {
        let xs: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let svg = to_svg(&chart(12, &xs), 800, 360).unwrap();
        assert!(svg.contains("grid: 4096 levels (too dense to draw)"));
    }

    #[test]
    fn empty_and_constant_tensors_draw() {
        assert!(to_svg(&chart(8, &[]), 400, 200).is_ok());
        assert!(to_svg(&chart(8, &[2.5; 10]), 400, 200).is_ok());
    }
}
