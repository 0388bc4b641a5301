//! The Explorer's readouts, each with a stable `data-testid` named after its field.

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E, Tr};

use crate::engine::views::explore::View;
use crate::ui::format::{percent, sig4};

fn range_text(lo: f32, hi: f32) -> String {
    format!("[{}, {}]", sig4(Some(lo as f64)), sig4(Some(hi as f64)))
}

/// The readouts of a view (per channel: the first channel's scale and zero point, and how many
/// channels there are).
pub fn readouts(v: &View, t: Tr) -> Html {
    let m = &v.metrics;
    let p = v.qparams[0];
    let channels = v.qparams.len();
    let clips = v.clip_ranges();
    let (a, b) = clips[0];
    let (omin, omax) = (v.observed.min[0], v.observed.max[0]);
    let suffix = if channels > 1 { format!(" {}", t.f(E::ChannelOf, &[&channels])) } else { String::new() };
    let items: Vec<(&str, String, String)> = vec![
        ("metric-scale", t.f(E::Scale, &[&suffix]), sig4(Some(p.scale as f64))),
        ("metric-zero-point", t.f(E::ZeroPoint, &[&suffix]), p.zero_point.to_string()),
        ("metric-observed", t.f(E::ObservedRange, &[&suffix]), range_text(omin, omax)),
        ("metric-range", t.f(E::ClipRange, &[&suffix]), range_text(a, b)),
        ("metric-sqnr-db", t.s(E::SqnrDb).into(), sig4(m.sqnr_db)),
        ("metric-mse", t.s(E::Mse).into(), sig4(Some(m.mse))),
        ("metric-mse-split", t.s(E::MseSplit).into(), format!("{} / {}", sig4(Some(m.clip_mse)), sig4(Some(m.round_mse)))),
        ("metric-max-error", t.s(E::MaxError).into(), sig4(Some(m.max_abs_err))),
        ("metric-clipped", t.s(E::Clipped).into(), percent(m.clipped_fraction())),
        ("metric-levels-used", t.s(E::LevelsUsed).into(), format!("{} / {}", m.levels_used, v.range.levels())),
        ("metric-non-finite", t.s(E::NonFinite).into(), m.non_finite.to_string()),
    ];
    html! {
        <section class="panel readouts" aria-label={t.s(E::Readouts)} data-part="readouts">
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
    /// The tensor's name and shape.
    pub name: String,
    pub shape: Vec<usize>,
    pub view: std::rc::Rc<Result<View, String>>,
    /// The stem of the saved files' names.
    pub stem: String,
    /// Saves the fake-quantized tensor under the given name (on the page, or from the worker).
    pub save_npy: Callback<String>,
    /// What the last `.npy` save said.
    pub status: String,
}

/// Saves the readouts (CSV, JSON) and the fake-quantized tensor (`.npy`).
#[function_component(ExportBar)]
pub fn export_bar(props: &ExportBarProps) -> Html {
    let t = use_tr();
    let status = use_state(String::new);
    if props.view.is_err() {
        return html! {};
    }
    let button = |kind: &'static str, label: &'static str| {
        let (name, shape, view, stem, status, save_npy) = (props.name.clone(), props.shape.clone(), props.view.clone(), props.stem.clone(), status.clone(), props.save_npy.clone());
        let onclick = Callback::from(move |_: MouseEvent| {
            let Ok(v) = view.as_ref() else { return };
            use crate::engine::views::export::{readouts_csv, readouts_json};
            let (file, mime, bytes) = match kind {
                "csv" => (format!("{stem}-readouts.csv"), "text/csv", readouts_csv(&name, v).into_bytes()),
                "json" => (format!("{stem}-readouts.json"), "application/json", readouts_json(&name, &shape, v).into_bytes()),
                _ => {
                    status.set(String::new());
                    return save_npy.emit(format!("{stem}-quantized.npy"));
                }
            };
            status.set(match crate::ui::download::save(&file, mime, &bytes) {
                Ok(()) => t.f(E::Saved, &[&file]),
                Err(e) => t.f(E::CannotSave, &[&file, &e]),
            });
        });
        html! { <button class="export" {onclick} data-testid={format!("export-{kind}")}>{label}</button> }
    };
    let said = if status.is_empty() { props.status.clone() } else { (*status).clone() };
    html! {
        <div class="export-bar" aria-label={t.s(E::Export)} data-part="readouts">
            <span class="hint">{t.s(E::Save)}</span>
            { button("csv", t.s(E::ReadoutsCsv)) }
            { button("json", t.s(E::ReadoutsJson)) }
            { button("npy", t.s(E::QuantizedNpy)) }
            <span class="hint" role="status" data-testid="export-status">{said}</span>
        </div>
    }
}
