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

#[derive(Properties, PartialEq)]
pub struct ExportBarProps {
    pub tensor: Option<std::rc::Rc<crate::engine::tensor::Tensor>>,
    pub view: std::rc::Rc<Result<View, String>>,
    pub url: crate::ui::state::UrlState,
}

/// Saves the readouts (CSV, JSON) and the fake-quantized tensor (`.npy`).
#[function_component(ExportBar)]
pub fn export_bar(props: &ExportBarProps) -> Html {
    let status = use_state(String::new);
    let (Some(t), Ok(_)) = (props.tensor.clone(), props.view.as_ref()) else { return html! {} };
    let stem = super::export_stem(&props.url);
    let button = |kind: &'static str, label: &'static str| {
        let (t, view, url, stem, status) = (t.clone(), props.view.clone(), props.url.clone(), stem.clone(), status.clone());
        let onclick = Callback::from(move |_: MouseEvent| {
            let Ok(v) = view.as_ref() else { return };
            use crate::engine::export::{fake_quantized_npy, readouts_csv, readouts_json};
            let (name, mime, bytes) = match kind {
                "csv" => (format!("{stem}-readouts.csv"), "text/csv", readouts_csv(&t.name, v).into_bytes()),
                "json" => (format!("{stem}-readouts.json"), "application/json", readouts_json(&t.name, &t.shape, v).into_bytes()),
                _ => match fake_quantized_npy(&t.data, &t.shape, &url.settings(0), &v.qparams, v.range) {
                    Ok(b) => (format!("{stem}-quantized.npy"), "application/octet-stream", b),
                    Err(e) => return status.set(format!("Cannot save: {e}")),
                },
            };
            status.set(match crate::ui::download::save(&name, mime, &bytes) {
                Ok(()) => format!("Saved {name}"),
                Err(e) => format!("Cannot save {name}: {e}"),
            });
        });
        html! { <button class="export" {onclick} data-testid={format!("export-{kind}")}>{label}</button> }
    };
    html! {
        <div class="export-bar" aria-label="Export">
            <span class="hint">{"Save:"}</span>
            { button("csv", "Readouts CSV") }
            { button("json", "Readouts JSON") }
            { button("npy", "Quantized tensor .npy") }
            <span class="hint" role="status" data-testid="export-status">{(*status).clone()}</span>
        </div>
    }
}
