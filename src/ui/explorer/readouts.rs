//! The Explorer's readouts, each with a stable `data-testid` named after its field.

use yew::prelude::*;

use crate::engine::explore::View;
use crate::ui::format::{percent, sig4};

fn range_text(lo: f32, hi: f32) -> String {
    format!("[{}, {}]", sig4(Some(lo as f64)), sig4(Some(hi as f64)))
}

/// The readouts of a view (per channel: the first channel's scale and zero point, and how many
/// channels there are).
pub fn readouts(v: &View) -> Html {
    let m = &v.metrics;
    let p = v.qparams[0];
    let channels = v.qparams.len();
    let clips = v.clip_ranges();
    let (a, b) = clips[0];
    let (omin, omax) = (v.observed.min[0], v.observed.max[0]);
    let suffix = if channels > 1 { format!(" (channel 0 of {channels})") } else { String::new() };
    let items: Vec<(&str, String, String)> = vec![
        ("metric-scale", format!("Scale s{suffix}"), sig4(Some(p.scale as f64))),
        ("metric-zero-point", format!("Zero point z{suffix}"), p.zero_point.to_string()),
        ("metric-observed", format!("Observer's min/max{suffix}"), range_text(omin, omax)),
        ("metric-range", format!("Clip range{suffix}"), range_text(a, b)),
        ("metric-sqnr-db", "SQNR (dB)".into(), sig4(m.sqnr_db)),
        ("metric-mse", "MSE".into(), sig4(Some(m.mse))),
        ("metric-mse-split", "MSE: clipping / rounding".into(), format!("{} / {}", sig4(Some(m.clip_mse)), sig4(Some(m.round_mse)))),
        ("metric-max-error", "Max |error|".into(), sig4(Some(m.max_abs_err))),
        ("metric-clipped", "Clipped".into(), percent(m.clipped_fraction())),
        ("metric-levels-used", "Levels used".into(), format!("{} / {}", m.levels_used, v.range.levels())),
        ("metric-non-finite", "NaN/Inf skipped".into(), m.non_finite.to_string()),
    ];
    html! {
        <section class="panel readouts" aria-label="Readouts">
            <dl>
                { for items.into_iter().map(|(id, label, value)| html! {
                    <div class="readout"><dt>{label}</dt><dd data-testid={id}>{value}</dd></div>
                }) }
            </dl>
        </section>
    }
}
