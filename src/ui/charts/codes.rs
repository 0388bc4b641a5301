//! The histogram of the integer codes: one bar per level, and how many of the 2^b levels are used.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, GRID, VERMILLION};
use super::{draw_legend, frame, headroom, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::explore::View;
use crate::engine::quantizer::qparams::QRange;

/// The model of the code histogram.
#[derive(Clone, Debug, PartialEq)]
pub struct CodesChart {
    /// One count per code, `range.qmin` first.
    pub counts: Vec<u64>,
    pub range: QRange,
    /// The zero point (of the first channel): the code of 0.0.
    pub zero_point: i32,
    pub log: bool,
}

impl CodesChart {
    pub fn of_view(v: &View, log: bool) -> Self {
        CodesChart { counts: v.codes.clone(), range: v.range, zero_point: v.qparams[0].zero_point, log }
    }

    fn height(&self, count: u64) -> f64 {
        super::count_height(count, self.log)
    }
}

impl Chart for CodesChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let used = self.counts.iter().filter(|&&c| c > 0).count();
        let levels = self.range.levels();
        let caption = t.f(C::CodesCaption, &[&self.range.qmin, &self.range.qmax, &used, &levels]);
        let (lo, hi) = (self.range.qmin as f64 - 0.5, self.range.qmax as f64 + 0.5);
        let top = headroom(self.height(self.counts.iter().copied().max().unwrap_or(0)));
        let log = self.log;
        let y_format = move |v: &f64| super::count_tick(*v, log);
        let axes = Axes { x: t.s(C::IntegerCode), y: if log { t.s(C::LogCount) } else { t.s(C::Count) }, y_format: &y_format, x_format: Some(&super::integer_tick) };
        let mut chart = frame(root, &caption, lo..hi, 0.0..top, axes)?;
        // The end codes hold the clipped values too: drawn in vermillion.
        let last = self.counts.len().saturating_sub(1);
        chart.draw_series(self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| {
            let q = self.range.qmin as f64 + i as f64;
            let color = if i == 0 || i == last { VERMILLION } else { BLUE };
            Rectangle::new([(q - 0.45, 0.0), (q + 0.45, self.height(c))], color.filled())
        }))?;
        let z = self.zero_point as f64;
        chart.draw_series(std::iter::once(PathElement::new(vec![(z, 0.0), (z, top)], GRID.stroke_width(1))))?;
        let entries = [
            (t.f(C::LevelsUsed, &[&used, &levels]), Swatch::Fill(BLUE.to_rgba())),
            (t.s(C::EndCodes).to_string(), Swatch::Fill(VERMILLION.to_rgba())),
            (t.f(C::ZeroPointTick, &[&self.zero_point]), Swatch::Tick(GRID.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::charts::to_svg;

    #[test]
    fn one_bar_per_used_code() {
        let range = QRange::with_bits(3, true).unwrap();
        let c = CodesChart { counts: vec![5, 0, 3, 9, 0, 0, 1, 2], range, zero_point: 3, log: false };
        let svg = to_svg(&c, 600, 300).unwrap();
        assert!(svg.contains("5 of 8 levels used"));
        assert!(svg.contains("zero point 3"));
        // Bars: codes 2, 3, 6 in blue; the end codes 0 and 7 in vermillion (+1 swatch each).
        assert_eq!(svg.matches(r##"opacity="1" fill="#0072B2""##).count() - 1, 3);
        assert_eq!(svg.matches(r##"opacity="1" fill="#D55E00""##).count() - 1, 2);
        let log = CodesChart { log: true, ..c };
        assert!(to_svg(&log, 600, 300).unwrap().contains("log10(1 + count)"));
    }
}
