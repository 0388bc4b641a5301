//! The Explorer: one tensor, its quantization under every setting of the URL, and the charts and
//! readouts of [`crate::engine::views::explore`]. Nothing numeric is computed here.

mod channels;
mod compare;
mod compute;
pub(crate) mod controls;
mod dynamics;
mod formats;
mod pointer;
mod readouts;
mod source;

use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E, Tr};

use super::charts::canvas::Canvas;
use super::charts::codes::CodesChart;
use super::charts::errors::{ErrorByValueChart, ErrorChart};
use super::charts::histogram::HistogramChart;
use super::charts::transfer::TransferChart;
use super::files::Files;
use super::state::{Source, UrlState};
use super::sweep::SweepPanel;
use crate::engine::views::explore::session::{Stage, TensorSource};
use crate::engine::views::explore::View;
use crate::engine::tensor::Tensor;

/// Bins of the value and error histograms.
pub const BINS: usize = 256;

pub use channels::MAX_DRAWN_CHANNELS;

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The opened file, kept by the shell.
    pub files: UseStateHandle<Files>,
}

/// Where the view's tensor comes from: drawn from the URL's distribution, or a file's tensor the
/// page has read (with the key the worker knows it by).
fn source_of(url: &UrlState, files: &Files) -> Result<(TensorSource, Option<Rc<Tensor>>), String> {
    if url.source == Source::Synthetic {
        return Ok((TensorSource::Synthetic(url.synth_spec()), None));
    }
    let tr = crate::ui::i18n::current();
    let Some(open) = files.open.as_ref().filter(|o| o.name == url.file) else {
        return Err(if url.file.is_empty() { tr.s(E::OpenFileFirst).into() } else { tr.f(E::LinkedFile, &[&url.tensor, &url.file]) });
    };
    if !open.has(&url.tensor) {
        return Err(tr.f(E::NoSuchTensor, &[&open.name, &url.tensor]));
    }
    let t = open.tensor(&url.tensor).ok_or_else(|| tr.f(E::ReadingTensor, &[&url.tensor]))?;
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (Rc::as_ptr(open) as usize, files.generation, &url.tensor, open.fold_bn).hash(&mut h);
    Ok((TensorSource::Loaded { key: h.finish() }, Some(t)))
}

/// Requests that cost more than this (see [`ExploreRequest::estimated_ms`](crate::engine::views::explore::session::ExploreRequest::estimated_ms)) go to the worker.
pub const INLINE_MS: f64 = 12.0;

/// The charts of one view, each behind an `Rc` so an unchanged chart is not repainted.
#[derive(PartialEq)]
pub struct Charts {
    pub values: Rc<HistogramChart>,
    pub codes: Rc<CodesChart>,
    pub errors: Rc<ErrorChart>,
    pub error_by_value: Rc<ErrorByValueChart>,
    pub transfer: Rc<TransferChart>,
}

impl Charts {
    /// The charts of `v`, with log-scaled counts if `log`, the transfer function at `zoom` around
    /// `center`.
    pub fn of(v: &View, log: bool, zoom: f32, center: Option<f32>) -> Charts {
        Charts {
            values: Rc::new(HistogramChart::of_view(v, log)),
            codes: Rc::new(CodesChart::of_view(v, log)),
            errors: Rc::new(ErrorChart::of_view(v, log)),
            error_by_value: Rc::new(ErrorByValueChart::of_view(v)),
            transfer: Rc::new(TransferChart::of_view(v, zoom, center)),
        }
    }
}

#[function_component(Explorer)]
pub fn explorer(props: &ExplorerProps) -> Html {
    let t = use_tr();
    let url = &props.url;
    let files = &*props.files;
    use_file_upkeep(url, &props.files);
    let source = source_of(url, files);
    let (request, upload, problem) = match &source {
        Ok((src, upload)) => {
            let shape = upload.as_ref().map_or_else(|| url.shape().to_vec(), |t| t.shape.clone());
            (Some(url.explore_request(*src, &shape, BINS)), upload.clone(), None)
        }
        Err(e) => (None, None, Some(e.clone())),
    };
    let computed = compute::use_compute(request.clone(), url, upload.clone(), props.on_change.clone());
    let shown = computed.shown.clone();
    let explored = shown.as_ref().and_then(|s| s.result.as_ref().ok());
    let view: Rc<Result<View, String>> = Rc::new(match (&problem, shown.as_ref().map(|s| &s.result)) {
        (Some(p), _) => Err(p.clone()),
        (None, Some(Ok(e))) => e.view.clone(),
        (None, Some(Err(e))) => Err(e.clone()),
        (None, None) => Err(String::new()),
    });
    let charts = use_memo((view.clone(), url.log, url.transfer_zoom, url.transfer_center), |(view, log, zoom, center)| {
        view.as_ref().as_ref().ok().map(|v| Charts::of(v, *log, *zoom, *center))
    });
    let dragging = use_mut_ref(|| None::<bool>);
    // A range set by hand while the worker computes its view: the histogram shows its grid now.
    let preview = computed.pending.as_ref().zip(shown.as_ref()).and_then(|(p, s)| compute::manual_preview(&s.request, &p.request));
    // The view on screen answers this URL (the previous one while the worker works).
    let shown_url = shown.as_ref().map_or(url, |s| &s.url);
    let name = explored.map_or_else(|| "synthetic".to_string(), |e| e.name.clone());
    let shape = explored.map(|e| e.shape.clone());

    let pending = computed.pending.as_ref().map(|p| {
        let label = p.stage.map_or_else(|| t.s(E::Starting).to_string(), |s| describe(&s, t));
        let cancel = computed.cancel.reform(|_: MouseEvent| ());
        html! {
            <div class="panel pending-bar" role="status" aria-live="polite" data-testid="explore-progress">
                <progress max={p.total.max(1).to_string()} value={p.done.to_string()} />
                <span data-testid="explore-stage">{label}</span>
                <button onclick={cancel} data-testid="explore-cancel">{t.s(E::Cancel)}</button>
            </div>
        }
    });
    let format = explored.and_then(|e| e.format.clone()).filter(|_| problem.is_none());
    let body = match (view.as_ref(), charts.as_ref()) {
        _ if format.is_some() => match format.clone().expect("checked") {
            Ok(f) => html! { <formats::FormatBody view={Rc::new(f)} url={shown_url.clone()} on_change={props.on_change.clone()} stem={export_stem(url)} /> },
            Err(e) => html! { <div class="panel message" role="status" data-testid="explorer-error">{e}</div> },
        },
        (Err(e), _) if e.is_empty() => html! {},
        (Err(e), _) => html! {
            <div class="panel message" role="status" data-testid="explorer-error">{e.clone()}</div>
        },
        (Ok(v), Some(c)) => {
            let values = preview.map_or_else(|| c.values.clone(), |grid| Rc::new(c.values.with_grid(grid)));
            html! {
            <>
                // Drawn with the dragged range at once, so not dimmed with the rest.
                <section class={classes!("panel", "chart-panel", preview.is_some().then_some("live"))} data-part="histogram">
                    <h2>{t.s(E::ValuesAndGrid)}</h2>
                    <Canvas<HistogramChart> chart={values.clone()} testid="chart-histogram" export={Some(AttrValue::from(format!("{}-values", export_stem(url))))}
                        on_pointer={Some(pointer::drag_clip_ends(url, &props.on_change, &values, v, dragging.clone()))}
                        label={t.f(E::HistogramLabel, &[&v.summary.count, &v.range.levels()])} />
                </section>
                { readouts::readouts(v, t) }
                <readouts::ExportBar name={name.clone()} shape={shape.clone().unwrap_or_default()} view={view.clone()} stem={export_stem(url)}
                    save_npy={computed.save_npy.clone()} status={computed.save_status.clone()} />
                <div class="chart-pair">
                    <section class="panel chart-panel" data-part="codes">
                        <h2>{t.s(E::IntegerCodes)}</h2>
                        <Canvas<CodesChart> chart={c.codes.clone()} testid="chart-codes" export={Some(AttrValue::from(format!("{}-codes", export_stem(url))))} width={560} height={300}
                            label={t.f(E::CodesLabel, &[&v.metrics.levels_used, &v.range.levels()])} />
                    </section>
                    <section class="panel chart-panel" data-part="transfer">
                        <div class="panel-head">
                            <h2>{t.s(E::TransferFunction)}</h2>
                            { pointer::zoom_controls(url, &props.on_change, t) }
                        </div>
                        <Canvas<TransferChart> chart={c.transfer.clone()} testid="chart-transfer" export={Some(AttrValue::from(format!("{}-transfer", export_stem(url))))} width={560} height={300}
                            on_pointer={Some(pointer::zoom_transfer(url, &props.on_change, &c.transfer))}
                            label={t.s(E::TransferLabel)} />
                    </section>
                    <section class="panel chart-panel" data-part="errors">
                        <h2>{t.s(E::Error)}</h2>
                        <Canvas<ErrorChart> chart={c.errors.clone()} testid="chart-errors" export={Some(AttrValue::from(format!("{}-errors", export_stem(url))))} width={560} height={300}
                            label={t.s(E::ErrorLabel)} />
                    </section>
                    <section class="panel chart-panel" data-part="errors">
                        <h2>{t.s(E::ErrorAgainstX)}</h2>
                        <Canvas<ErrorByValueChart> chart={c.error_by_value.clone()} testid="chart-error-by-value" export={Some(AttrValue::from(format!("{}-error-by-value", export_stem(url))))} width={560} height={300}
                            label={t.s(E::ErrorByValueLabel)} />
                    </section>
                </div>
            </>
            }
        }
        (Ok(_), None) => html! {},
    };
    let sweep_source = source.as_ref().ok().map(|(s, _)| *s);
    let settings = url.settings(BINS);
    html! {
        <div class="explorer">
            <controls::Controls url={url.clone()} on_change={props.on_change.clone()}
                observed={view.as_ref().as_ref().ok().map(|v| (v.observed.min.clone(), v.observed.max.clone()))}
                shape={shape.clone()} />
            <div class="explorer-main">
                <source::SourcePanel url={url.clone()} on_change={props.on_change.clone()} files={props.files.clone()} />
                {pending.clone().unwrap_or_default()}
                <div class={classes!("explorer-results", computed.pending.is_some().then_some("stale"))} data-testid="explorer-results" aria-busy={computed.pending.is_some().to_string()}>
                    {body}
                    if let Some(e) = explored {
                        <channels::ChannelsPanel name={e.name.clone()} shape={e.shape.clone()} channels={e.channels.clone().map(Rc::new)} url={shown_url.clone()} on_change={props.on_change.clone()} />
                        if let Some(steps) = e.dynamics.clone() {
                            <dynamics::DynamicsPanel steps={Rc::new(steps)} url={shown_url.clone()} on_change={props.on_change.clone()} />
                        }
                    }
                </div>
                if let Some(source) = sweep_source {
                    <compare::ComparePanel source={source} upload={upload.clone()} url={url.clone()} on_change={props.on_change.clone()} stem={export_stem(url)} />
                    <SweepPanel source={source} upload={upload.clone()} scheme={url.scheme} unsigned={settings.range.unsigned} bits={url.bits} />
                }
            </div>
        </div>
    }
}

/// The progress bar's label for what the worker is doing.
fn describe(stage: &Stage, t: Tr) -> String {
    use crate::ui::format::count;
    match stage {
        Stage::Drawing { drawn, of } => t.f(E::StageDrawing, &[&count(*drawn), &count(*of)]),
        Stage::Summarizing => t.s(E::StageSummarizing).into(),
        Stage::Searching { percent } => t.f(E::StageSearching, &[percent]),
        Stage::Quantizing => t.s(E::StageQuantizing).into(),
        Stage::Channels => t.s(E::StageChannels).into(),
        Stage::Dynamics => t.s(E::StageDynamics).into(),
        Stage::Format => t.s(crate::ui::i18n::FormatText::StageFormat).into(),
        Stage::Comparing { formats } => t.f(crate::ui::i18n::FormatText::StageCompare, &[formats]),
    }
}

/// Keeps the open file in step with the URL: reads a chosen tensor of a large `.safetensors`
/// file when it is not read yet, and parses an ONNX file again when batch-norm folding changes.
#[hook]
fn use_file_upkeep(url: &UrlState, files: &UseStateHandle<Files>) {
    let key = (url.source, url.file.clone(), url.tensor.clone(), url.fold_bn, files.open.as_ref().map(|o| Rc::as_ptr(o) as usize));
    let (url, files) = (url.clone(), files.clone());
    use_effect_with(key, move |_| {
        #[cfg(target_arch = "wasm32")]
        if let Some(open) = files.open.clone().filter(|o| url.source == Source::File && o.name == url.file) {
            use crate::ui::files::{read, Content};
            if open.fold_bn != url.fold_bn && matches!(open.content, Content::Parsed { bytes: Some(_), .. }) {
                files.set(Files { busy: Some(crate::ui::i18n::current().f(E::ReadingFile, &[&open.name])), ..(*files).clone() });
                let (files, fold_bn) = (files.clone(), url.fold_bn);
                yew::platform::spawn_local(async move {
                    let before = (*files).clone();
                    match read::refold(&open, fold_bn).await {
                        Ok(f) => files.set(Files { open: Some(Rc::new(f)), generation: before.generation + 1, busy: None, ..before }),
                        Err(e) => files.set(Files { busy: None, error: Some(e.to_string()), ..before }),
                    }
                });
            } else if open.has(&url.tensor) && open.tensor(&url.tensor).is_none() {
                let name = url.tensor.clone();
                files.set(Files { busy: Some(crate::ui::i18n::current().f(E::ReadingTensor, &[&name])), ..(*files).clone() });
                let files = files.clone();
                yew::platform::spawn_local(async move {
                    let before = (*files).clone();
                    match read::tensor(&open, &name).await {
                        Ok(_) => files.set(Files { generation: before.generation + 1, busy: None, ..before }),
                        Err(e) => files.set(Files { busy: None, error: Some(e.to_string()), ..before }),
                    }
                });
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (url, files);
    });
}

/// The stem of exported files' names: the tensor's name, or the synthetic distribution's.
fn export_stem(url: &UrlState) -> String {
    let raw = if url.source == Source::File { url.tensor.clone() } else { format!("{}-seed{}", super::state::choice_key(super::state::DISTS, &url.dist), url.seed) };
    raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '_' }).collect()
}
