//! Every channel's range as a bar, beside the one per-tensor clip range: how much of a shared
//! grid the narrow channels get.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::ui::i18n::ChartText as C;
use super::palette::{BLUE, ORANGE, VERMILLION};
use super::{draw_legend, frame, Axes, Chart, DrawResult, Swatch};
use crate::engine::views::explore::ChannelView;
use crate::ui::format::sig4;

/// The model of the channel-range chart.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelChart {
    /// `(channel, min, max)` in drawing order.
    pub bars: Vec<(usize, f32, f32)>,
    pub tensor_clip: (f32, f32),
    pub ratio: Option<f64>,
    pub sorted: bool,
}

impl ChannelChart {
    /// Channels in order, or sorted by range (narrowest first).
    pub fn of(c: &ChannelView, sorted: bool) -> Self {
        let mut bars: Vec<(usize, f32, f32)> =
            c.mins.iter().zip(&c.maxs).enumerate().filter(|(_, (a, _))| a.is_finite()).map(|(i, (&a, &b))| (i, a, b)).collect();
        if sorted {
            bars.sort_by(|x, y| (x.2 - x.1).total_cmp(&(y.2 - y.1)));
        }
        ChannelChart { bars, tensor_clip: c.tensor_clip, ratio: c.ratio, sorted }
    }
}

impl Chart for ChannelChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        let t = crate::ui::i18n::current();
        let (a, b) = (self.tensor_clip.0 as f64, self.tensor_clip.1 as f64);
        let lo = self.bars.iter().fold(a, |m, x| m.min(x.1 as f64));
        let hi = self.bars.iter().fold(b, |m, x| m.max(x.2 as f64));
        let pad = ((hi - lo) * 0.05).max(f64::MIN_POSITIVE);
        let n = self.bars.len().max(1) as f64;
        let caption = t.f(C::ChannelsCaption, &[&self.bars.len(), &if self.sorted { t.s(C::NarrowestFirst) } else { "" }, &sig4(self.ratio)]);
        let y_format = |v: &f64| super::tick(*v, hi - lo);
        let x_desc = if self.sorted { t.s(C::ChannelsByRange) } else { t.s(C::Channel) };
        let axes = Axes { x: x_desc, y: t.s(C::Value), y_format: &y_format, x_format: Some(&super::integer_tick) };
        let mut chart = frame(root, &caption, -0.5..n - 0.5, lo - pad..hi + pad, axes)?;
        let half = (0.4f64).min(0.45 * (n.max(1.0) / n));
        // A channel whose range uses under a tenth of the shared range gets few levels: vermillion.
        let shared = (b - a).max(f64::MIN_POSITIVE);
        chart.draw_series(self.bars.iter().enumerate().map(|(k, &(_, mn, mx))| {
            let x = k as f64;
            let starved = ((mx - mn) as f64) < shared / 10.0;
            let color = if starved { VERMILLION } else { BLUE };
            Rectangle::new([(x - half, mn as f64), (x + half, (mx as f64).max(mn as f64 + pad * 0.02))], color.filled())
        }))?;
        chart.draw_series([a, b].into_iter().map(|y| PathElement::new(vec![(-0.5, y), (n - 0.5, y)], ORANGE.stroke_width(2))))?;
        let entries = [
            (t.s(C::ChannelRange).to_string(), Swatch::Fill(BLUE.to_rgba())),
            (t.s(C::UnderTenth).to_string(), Swatch::Fill(VERMILLION.to_rgba())),
            (t.s(C::PerTensorClip).to_string(), Swatch::Line(ORANGE.to_rgba())),
        ];
        draw_legend(&chart.plotting_area().strip_coord_spec(), &entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::explore::channels;
    use crate::engine::quantizer::qparams::{QRange, QScheme};
    use crate::ui::charts::to_svg;

    #[test]
    fn narrow_channels_are_marked_and_sorting_orders_by_range() {
        // Three channels with ranges 2, 0.02, 1.
        let xs = [-1.0f32, 1.0, -0.01, 0.01, -0.5, 0.5];
        let c = channels(&xs, &[3, 2], 0, QScheme::Affine, QRange::QUINT8).unwrap();
        let in_order = ChannelChart::of(&c, false);
        assert_eq!(in_order.bars.iter().map(|b| b.0).collect::<Vec<_>>(), [0, 1, 2]);
        let sorted = ChannelChart::of(&c, true);
        assert_eq!(sorted.bars.iter().map(|b| b.0).collect::<Vec<_>>(), [1, 2, 0]);
        let svg = to_svg(&sorted, 600, 300).unwrap();
        assert!(svg.contains("3 channels, narrowest first"));
        assert!(svg.contains("range 100.0"), "ratio 2/0.02");
        assert_eq!(svg.matches(r##"opacity="1" fill="#D55E00""##).count() - 1, 1, "one starved channel");
        assert_eq!(svg.matches(r##"opacity="1" fill="#0072B2""##).count() - 1, 2);
    }
}
