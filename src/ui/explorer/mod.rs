//! The Explorer: one tensor, its quantization under every setting of the URL, and the charts and
//! readouts of [`crate::engine::explore`]. Nothing numeric is computed here.

mod channels;
pub(crate) mod controls;
mod dynamics;
mod pointer;
mod readouts;
mod source;

use std::rc::Rc;

use yew::prelude::*;

use super::charts::canvas::Canvas;
use super::charts::codes::CodesChart;
use super::charts::errors::{ErrorByValueChart, ErrorChart};
use super::charts::histogram::HistogramChart;
use super::charts::transfer::TransferChart;
use super::files::Files;
use super::state::{Source, UrlState};
use super::sweep::SweepPanel;
use crate::engine::explore::{explore_summarized, View};
use crate::engine::stats::summarize;
use crate::engine::synth::{sample, scale_channels};
use crate::engine::tensor::Tensor;

/// Bins of the value and error histograms.
pub const BINS: usize = 256;

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The opened file, kept by the shell.
    pub files: UseStateHandle<Files>,
}

/// The synthetic tensor of a URL state: `channels × (n / channels)` values, channels scaled apart.
fn synthesize(url: &UrlState) -> Result<Rc<Tensor>, String> {
    let shape = url.shape();
    let mut xs = sample(url.dist(), shape[0] * shape[1], url.seed, url.outliers()).map_err(|e| e.to_string())?;
    scale_channels(&mut xs, shape[0], url.spread);
    Ok(Rc::new(Tensor { name: "synthetic".into(), shape: shape.to_vec(), data: xs, stored_as: "f32".into() }))
}

/// The tensor the URL asks for, or why there is none (yet).
fn tensor_of(url: &UrlState, files: &Files) -> Result<Rc<Tensor>, String> {
    if url.source == Source::Synthetic {
        return synthesize(url);
    }
    let Some(open) = files.open.as_ref().filter(|o| o.name == url.file) else {
        return Err(if url.file.is_empty() {
            "Open a file to look at its tensors.".into()
        } else {
            format!("This view is of tensor “{}” of the file “{}”. Open that file to see it: files never leave your browser, so links carry only their names.", url.tensor, url.file)
        });
    };
    if !open.has(&url.tensor) {
        return Err(format!("The file “{}” has no tensor “{}”: choose one in the list.", open.name, url.tensor));
    }
    open.tensor(&url.tensor).ok_or_else(|| format!("Reading tensor “{}”…", url.tensor))
}

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
    let url = &props.url;
    let files = &*props.files;
    let synth_key = (url.dist(), url.n, url.seed, url.channels, url.spread, url.outlier_fraction, url.outlier_magnitude);
    let file_key = (files.open.as_ref().map(|o| Rc::as_ptr(o) as usize), files.generation, url.file.clone(), url.tensor.clone());
    let data = {
        let (url, files) = (url.clone(), files.clone());
        use_memo((url.source, synth_key, file_key), move |_| tensor_of(&url, &files))
    };
    use_file_upkeep(url, &props.files);
    let settings = url.settings(BINS);
    // The summary depends on the tensor alone: computed once per tensor, not per setting.
    let summary = use_memo(data.clone(), |data| data.as_ref().as_ref().ok().map(|t| summarize(&t.data)));
    let view = use_memo((data.clone(), summary, settings), move |(data, summary, settings)| {
        let t = data.as_ref().as_ref().map_err(Clone::clone)?;
        let summary = summary.as_ref().as_ref().ok_or("no summary")?;
        explore_summarized(&t.data, &t.shape, summary, settings).map_err(|e| format!("Cannot quantize this tensor: {e}"))
    });
    let charts = use_memo((view.clone(), url.log, url.transfer_zoom, url.transfer_center), |(view, log, zoom, center)| {
        view.as_ref().as_ref().ok().map(|v| Charts::of(v, *log, *zoom, *center))
    });
    let dragging = use_mut_ref(|| None::<bool>);

    let body = match (view.as_ref(), charts.as_ref()) {
        (Err(e), _) => html! {
            <div class="panel message" role="status" data-testid="explorer-error">{e.clone()}</div>
        },
        (Ok(v), Some(c)) => html! {
            <>
                <section class="panel chart-panel">
                    <h2>{"Values and the quantization grid"}</h2>
                    <Canvas<HistogramChart> chart={c.values.clone()} testid="chart-histogram" export={Some(AttrValue::from(format!("{}-values", export_stem(url))))}
                        on_pointer={Some(pointer::drag_clip_ends(url, &props.on_change, &c.values, v, dragging.clone()))}
                        label={format!("Histogram of {} values with the {}-level grid", v.summary.count, v.range.levels())} />
                </section>
                { readouts::readouts(v) }
                <readouts::ExportBar tensor={data.as_ref().as_ref().ok().cloned()} view={view.clone()} url={url.clone()} />
                <div class="chart-pair">
                    <section class="panel chart-panel">
                        <h2>{"Integer codes"}</h2>
                        <Canvas<CodesChart> chart={c.codes.clone()} testid="chart-codes" export={Some(AttrValue::from(format!("{}-codes", export_stem(url))))} width={560} height={300}
                            label={format!("Histogram of the integer codes: {} of {} levels used", v.metrics.levels_used, v.range.levels())} />
                    </section>
                    <section class="panel chart-panel">
                        <div class="panel-head">
                            <h2>{"Transfer function"}</h2>
                            { pointer::zoom_controls(url, &props.on_change) }
                        </div>
                        <Canvas<TransferChart> chart={c.transfer.clone()} testid="chart-transfer" export={Some(AttrValue::from(format!("{}-transfer", export_stem(url))))} width={560} height={300}
                            on_pointer={Some(pointer::zoom_transfer(url, &props.on_change, &c.transfer))}
                            label="The quantizer's staircase from x to its quantized value (the wheel zooms, a double-click shows it all)" />
                    </section>
                    <section class="panel chart-panel">
                        <h2>{"Error"}</h2>
                        <Canvas<ErrorChart> chart={c.errors.clone()} testid="chart-errors" export={Some(AttrValue::from(format!("{}-errors", export_stem(url))))} width={560} height={300}
                            label="Histogram of the quantization error, rounding and clipping apart" />
                    </section>
                    <section class="panel chart-panel">
                        <h2>{"Error against x"}</h2>
                        <Canvas<ErrorByValueChart> chart={c.error_by_value.clone()} testid="chart-error-by-value" export={Some(AttrValue::from(format!("{}-error-by-value", export_stem(url))))} width={560} height={300}
                            label="The least and greatest error of the values in each bin of x" />
                    </section>
                </div>
            </>
        },
        (Ok(_), None) => html! {},
    };
    html! {
        <div class="explorer">
            <controls::Controls url={url.clone()} on_change={props.on_change.clone()}
                observed={view.as_ref().as_ref().ok().map(|v| (v.observed.min.clone(), v.observed.max.clone()))}
                shape={data.as_ref().as_ref().ok().map(|t| t.shape.clone())} />
            <div class="explorer-main">
                <source::SourcePanel url={url.clone()} on_change={props.on_change.clone()} files={props.files.clone()} />
                {body}
                if let Ok(t) = data.as_ref() {
                    <channels::ChannelsPanel tensor={t.clone()} url={url.clone()} on_change={props.on_change.clone()} />
                    <dynamics::DynamicsPanel tensor={t.clone()} url={url.clone()} on_change={props.on_change.clone()} />
                }
                if let Ok(t) = data.as_ref() {
                    <SweepPanel tensor={t.clone()} scheme={url.scheme} unsigned={settings.range.unsigned} bits={url.bits} />
                }
            </div>
        </div>
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
                match read::refold(&open, url.fold_bn) {
                    Ok(f) => files.set(Files { open: Some(Rc::new(f)), generation: files.generation + 1, ..(*files).clone() }),
                    Err(e) => files.set(Files { error: Some(e.to_string()), ..(*files).clone() }),
                }
            } else if open.has(&url.tensor) && open.tensor(&url.tensor).is_none() {
                let name = url.tensor.clone();
                files.set(Files { busy: Some(format!("Reading tensor “{name}”…")), ..(*files).clone() });
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
