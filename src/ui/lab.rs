//! The Lab: train a network in the worker, quantize it after training (PTQ) and while training
//! (QAT), run both integer models, and compare. Every setting is in the URL (`l…` fields) and is
//! what `quantscope lab` takes, so a link and a command line give the same numbers.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::charts::canvas::Canvas;
use super::charts::lab::{DecisionChart, DigitsChart, WeightShiftChart, Which};
use super::charts::training::TrainingChart;
use super::format::{percent, sig4};
use super::i18n::{use_tr, LabText as L, Tr};
use super::state::{UrlState, LAB_DATA, LAB_MODELS, OBSERVERS};
use crate::engine::nn::lab::{EpochStats, LabReport, Phase, QuantReport};
use crate::engine::views::jobs::{JobResult, JobSpec};
use crate::worker::{WorkerInput, WorkerOutput};

#[derive(Properties, PartialEq)]
pub struct LabProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The shell's open file: a finished run's models open in the Explorer through it.
    pub files: UseStateHandle<super::files::Files>,
    /// The shell's request to the Model view: a finished run's FP32 model opens there as ONNX.
    pub lab_model: UseStateHandle<Option<super::model::lab::LabHandoff>>,
}

/// The name the Lab's models go by in the Explorer's layer browser.
fn models_name(r: &LabReport) -> String {
    super::i18n::current().f(L::ModelsName, &[&r.config.seed, &r.config.weight_bits, &r.config.act_bits])
}

/// Where the run is.
#[derive(Clone, Debug, PartialEq)]
pub enum RunStatus {
    Idle,
    Running { fraction: f64, phase: Phase, epoch: usize, epochs: usize, paused: bool },
    Done(Rc<LabReport>),
    Failed(String),
    Cancelled,
}

/// The run's state: the latest job's id (older outputs are ignored) and the curves so far.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub id: u64,
    pub status: RunStatus,
    pub history: Vec<EpochStats>,
}

pub enum RunAction {
    Started(u64),
    Output(WorkerOutput),
}

impl Reducible for Run {
    type Action = RunAction;

    fn reduce(self: Rc<Self>, action: RunAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            RunAction::Started(id) => {
                next = Run { id, status: RunStatus::Running { fraction: 0.0, phase: Phase::Fp32, epoch: 0, epochs: 0, paused: false }, history: Vec::new() };
            }
            RunAction::Output(out) => {
                let id = match &out {
                    WorkerOutput::Progress { id, .. }
                    | WorkerOutput::Paused { id }
                    | WorkerOutput::Done { id, .. }
                    | WorkerOutput::Failed { id, .. }
                    | WorkerOutput::Cancelled { id } => *id,
                    WorkerOutput::Ready => return self,
                };
                if id != self.id {
                    return self;
                }
                next.status = match out {
                    WorkerOutput::Progress { detail: crate::worker::explore::Detail { lab: Some(p), .. }, .. } => {
                        if let Some(e) = p.last.clone().filter(|e| next.history.last() != Some(e)) {
                            next.history.push(e);
                        }
                        RunStatus::Running { fraction: p.fraction, phase: p.phase, epoch: p.epoch, epochs: p.epochs, paused: false }
                    }
                    WorkerOutput::Progress { .. } | WorkerOutput::Ready => return self,
                    WorkerOutput::Paused { .. } => match next.status {
                        RunStatus::Running { fraction, phase, epoch, epochs, .. } => RunStatus::Running { fraction, phase, epoch, epochs, paused: true },
                        other => other,
                    },
                    WorkerOutput::Done { result: JobResult::Lab(r), .. } => {
                        next.history = r.history.clone();
                        RunStatus::Done(Rc::new(*r))
                    }
                    WorkerOutput::Done { .. } => RunStatus::Failed(super::i18n::current().s(L::WrongJob).into()),
                    WorkerOutput::Failed { message, .. } => RunStatus::Failed(message),
                    WorkerOutput::Cancelled { .. } => RunStatus::Cancelled,
                };
            }
        }
        Rc::new(next)
    }
}

#[function_component(Lab)]
pub fn lab(props: &LabProps) -> Html {
    let tr = use_tr();
    let run = use_reducer(|| Run { id: 0, status: RunStatus::Idle, history: Vec::new() });
    let client = {
        let dispatch = run.dispatcher();
        super::worker_client::use_worker_client(Callback::from(move |out| dispatch.dispatch(RunAction::Output(out))))
    };
    let url = &props.url;
    let config = url.lab_config();
    let start = {
        let (client, run, config) = (client.clone(), run.clone(), config.clone());
        Callback::from(move |_: ()| {
            let id = run.id + 1;
            run.dispatch(RunAction::Started(id));
            client.emit(WorkerInput::Start { id, spec: JobSpec::Lab { config: config.clone() } });
        })
    };
    let train = start.reform(|_: MouseEvent| ());
    // `lopen=1` (the Learn lesson's presets): train at once, and open the model in the Model
    // view when the run is done.
    {
        let open = url.lab.open_model;
        use_effect_with((), move |_| {
            if open {
                start.emit(());
            }
        });
    }
    {
        let done = match &run.status {
            RunStatus::Done(r) if url.lab.open_model => Some(r.clone()),
            _ => None,
        };
        let (url, on_change, lab_model) = (url.clone(), props.on_change.clone(), props.lab_model.clone());
        use_effect_with((run.id, done.is_some()), move |_| {
            if let Some(r) = done {
                open_in_model_view(&r, &url, &on_change, &lab_model).emit(());
            }
        });
    }
    let (running, paused) = match run.status {
        RunStatus::Running { paused, .. } => (true, paused),
        _ => (false, false),
    };
    let pause = {
        let (client, id) = (client.clone(), run.id);
        Callback::from(move |_: MouseEvent| client.emit(if paused { WorkerInput::Resume { id } } else { WorkerInput::Pause { id } }))
    };
    let cancel = {
        let (client, id) = (client, run.id);
        Callback::from(move |_: MouseEvent| client.emit(WorkerInput::Cancel { id }))
    };
    let status = match &run.status {
        RunStatus::Idle => html! { <p class="hint">{tr.s(L::Idle)}</p> },
        RunStatus::Running { fraction, phase, epoch, epochs, paused } => {
            let what = match phase {
                Phase::Fp32 => tr.f(L::PhaseFp32, &[&epoch, &epochs]),
                Phase::Ptq => tr.s(L::PhasePtq).to_string(),
                Phase::Qat => tr.f(L::PhaseQat, &[&epoch, &epochs]),
                Phase::Done => tr.s(L::PhaseDone).to_string(),
            };
            html! {
                <div class="progress-row">
                    <progress data-testid="lab-progress" max="1000" value={((fraction * 1000.0).round() as u32).to_string()} />
                    <span data-testid="lab-phase">{ if *paused { tr.f(L::Paused, &[&what]) } else { what } }</span>
                </div>
            }
        }
        RunStatus::Failed(m) => {
            html! { <p class="error" role="alert" data-testid="lab-error">{tr.f(L::RunStopped, &[m])}</p> }
        }
        RunStatus::Cancelled => {
            html! { <p class="hint" data-testid="lab-cancelled">{tr.s(L::Cancelled)}</p> }
        }
        RunStatus::Done(_) => html! {},
    };
    let chart = Rc::new(TrainingChart { history: run.history.clone(), epochs: config.epochs, qat_epochs: config.qat_epochs });
    html! {
        <div class="learn">
            { controls(url, &props.on_change, tr) }
            <div class="explorer-main">
                <section class="panel" aria-label={tr.s(L::TrainingLabel)} data-part="training">
                    <div class="panel-head">
                        <h2>{tr.f(L::RunTitle, &[&config.model_name(), &tr.s(url.lab.dataset.short_name()), &config.weight_bits, &config.act_bits])}</h2>
                        <button onclick={train} data-testid="lab-train">{ if running { tr.s(L::Restart) } else { tr.s(L::Train) } }</button>
                        <button onclick={pause} disabled={!running} data-testid="lab-pause">{ if paused { tr.s(L::Resume) } else { tr.s(L::Pause) } }</button>
                        <button onclick={cancel} disabled={!running} data-testid="lab-cancel">{tr.s(L::Cancel)}</button>
                    </div>
                    { status }
                    <Canvas<TrainingChart> chart={chart} testid="chart-lab-training" width={800} height={260} export={Some(AttrValue::from("lab-training"))}
                        label={tr.s(L::TrainingChartLabel)} />
                </section>
                if let RunStatus::Done(r) = &run.status {
                    { results(r, open_in_explorer(r, url, &props.on_change, &props.files), open_in_model_view(r, url, &props.on_change, &props.lab_model), tr) }
                }
                <BitSweep config={config.clone()} />
            </div>
        </div>
    }
}

/// A callback that makes the run's FP32 and QAT weights the Explorer's file and shows `layer`'s
/// weight (the Explorer's built-in samples: look at what QAT did to the weights).
fn open_in_explorer(r: &Rc<LabReport>, url: &UrlState, on_change: &Callback<UrlState>, files: &UseStateHandle<super::files::Files>) -> Callback<String> {
    let (r, url, on_change, files) = (r.clone(), url.clone(), on_change.clone(), files.clone());
    Callback::from(move |tensor: String| {
        let mut tensors = r.fp32_model.tensors("fp32/");
        tensors.extend(r.qat_model.tensors("qat/"));
        let name = models_name(&r);
        let open = super::files::OpenFile::parsed(&name, tensors, None, false);
        files.set(super::files::Files { open: Some(Rc::new(open)), generation: files.generation + 1, busy: None, error: None });
        // On the run's weight grid: signed symmetric codes of its width, per channel if it was.
        let c = &r.config;
        on_change.emit(UrlState {
            view: super::state::View::Explorer,
            source: super::state::Source::File,
            file: name,
            tensor,
            scheme: crate::engine::quantizer::qparams::QScheme::Symmetric,
            codes: super::state::Codes::Signed,
            bits: c.weight_bits,
            per_channel: c.per_channel,
            axis: 0,
            observer: super::state::ObsKind::MinMax,
            ..url.without_range_edits()
        });
    })
}

/// A callback that hands the run's FP32 model and test split to the Model view and goes there.
fn open_in_model_view(r: &Rc<LabReport>, url: &UrlState, on_change: &Callback<UrlState>, lab_model: &UseStateHandle<Option<super::model::lab::LabHandoff>>) -> Callback<()> {
    let (r, url, on_change, lab_model) = (r.clone(), url.clone(), on_change.clone(), lab_model.clone());
    Callback::from(move |_| {
        let request = lab_model.as_ref().map_or(1, |h| h.request + 1);
        lab_model.set(Some(super::model::lab::LabHandoff { request, model: Rc::new(r.model()) }));
        // Done: coming back to the Lab does not train again.
        let lab = super::state::LabSettings { open_model: false, ..url.lab.clone() };
        on_change.emit(UrlState { view: super::state::View::Model, lab, ..url.clone() });
    })
}

/// The results table, agreement, per-layer SQNR and confusion matrices.
fn results(r: &LabReport, open: Callback<String>, open_model: Callback<()>, tr: Tr) -> Html {
    let row = |name: &'static str, id: &'static str, acc: f64, loss: f64, agreement: Option<&QuantReport>| {
        html! {
            <tr>
                <th scope="row">{name}</th>
                <td class="num" data-testid={format!("lab-{id}-accuracy")}>{percent(acc)}</td>
                <td class="num" data-testid={format!("lab-{id}-loss")}>{format!("{loss:.4}")}</td>
                <td class="num" data-testid={format!("lab-{id}-agreement")}>{ agreement.map(|q| {
                    let a = &q.agreement;
                    tr.f(L::Identical, &[&a.identical, &a.samples, &a.max_code_diff])
                }).unwrap_or_default() }</td>
            </tr>
        }
    };
    let t = &r.timings;
    html! {
        <>
            <section class="panel" aria-label={tr.s(L::ResultsLabel)} data-testid="lab-results" data-part="results">
                <h2>{tr.f(L::ResultsTitle, &[&r.test_samples, &r.train_samples])}</h2>
                <table class="bench-table">
                    <thead><tr><th scope="col">{tr.s(L::Model)}</th><th scope="col">{tr.s(L::Accuracy)}</th><th scope="col">{tr.s(L::Loss)}</th><th scope="col">{tr.s(L::IntegerEqualsSim)}</th></tr></thead>
                    <tbody>
                        { row(tr.s(L::Fp32), "fp32", r.fp32.accuracy, r.fp32.loss, None) }
                        { row(tr.s(L::PtqInteger), "ptq", r.ptq.integer.accuracy, r.ptq.integer.loss, Some(&r.ptq)) }
                        { row(tr.s(L::QatInteger), "qat", r.qat.integer.accuracy, r.qat.integer.loss, Some(&r.qat)) }
                    </tbody>
                </table>
                { for [("ptq", L::Ptq, &r.ptq), ("qat", L::Qat, &r.qat)].into_iter().filter(|(_, _, q)| !q.agreement.examples.is_empty()).map(|(id, name, q)| html! {
                    <p class="hint" data-testid={format!("lab-{id}-disagreements")}>
                        {tr.f(L::Disagreements, &[&tr.s(name)])}{" "}
                        { for q.agreement.examples.iter().map(|(i, int, sim)| html! { <span class="mono">{tr.f(L::DisagreementSample, &[i, &format!("{int:?}"), &format!("{sim:?}")])}{" "}</span> }) }
                    </p>
                }) }
                <p class="hint">{tr.f(L::Timings, &[
                    &format!("{:.0}", t.fp32_ms),
                    &format!("{:.1}", t.fp32_ms / r.config.epochs.max(1) as f64),
                    &format!("{:.0}", t.ptq_ms),
                    &format!("{:.0}", t.qat_ms),
                    &format!("{:.1}", t.qat_ms / r.config.qat_epochs.max(1) as f64),
                    &format!("{:.2}", t.integer_inference_ms),
                ])}</p>
                <div class="row">
                    <button onclick={open_model.reform(|_: MouseEvent| ())} data-testid="lab-open-model">{tr.s(L::OpenInModelView)}</button>
                    <span class="hint">{tr.s(L::OpenInModelViewHint)}</span>
                </div>
            </section>
            <section class="panel" aria-label={tr.s(L::SqnrLabel)} data-part="sqnr">
                <h2>{tr.s(L::SqnrTitle)}</h2>
                <table class="bench-table" data-testid="lab-sqnr">
                    <thead><tr><th scope="col">{tr.s(L::Layer)}</th><th scope="col">{tr.s(L::WeightsPtq)}</th><th scope="col">{tr.s(L::WeightsQat)}</th><th scope="col">{tr.s(L::ActivationsPtq)}</th><th scope="col">{tr.s(L::ActivationsQat)}</th><th scope="col">{tr.s(L::ChannelRanges)}</th></tr></thead>
                    <tbody>
                        { for (0..r.ptq.weight_sqnr.len()).map(|l| {
                            // With batch norm, the weights quantized are the folded ones.
                            let layer = &r.fp32_model.layers[l];
                            let (tensor, what) = if layer.bn.is_some() { ("folded.weight", format!(" {}", tr.s(L::BnFolded))) } else { ("weight", String::new()) };
                            html! {
                            <tr>
                                <th scope="row">
                                    {format!("{l}: {} ", layer.describe())}
                                    <button class="link" data-testid={format!("lab-open-fp32-{l}")} onclick={open.reform(move |_| format!("fp32/layer{l}.{tensor}"))}>{tr.f(L::Fp32Weights, &[&what])}</button>
                                    <button class="link" data-testid={format!("lab-open-qat-{l}")} onclick={open.reform(move |_| format!("qat/layer{l}.{tensor}"))}>{tr.f(L::QatWeights, &[&what])}</button>
                                </th>
                                <td class="num">{sig4(r.ptq.weight_sqnr[l])}</td>
                                <td class="num">{sig4(r.qat.weight_sqnr[l])}</td>
                                <td class="num">{sig4(r.ptq.activation_sqnr[l])}</td>
                                <td class="num">{sig4(r.qat.activation_sqnr[l])}</td>
                                <td class="num">{r.ptq.weight_range_ratio[l].map_or_else(|| "—".to_string(), |v| format!("{v:.1}×"))}</td>
                            </tr>
                        }}) }
                    </tbody>
                </table>
            </section>
            <section class="panel" aria-label={tr.s(L::WeightsLabel)} data-testid="lab-weights" data-part="weights">
                <h2>{tr.s(L::WeightsTitle)}</h2>
                <p class="hint">{tr.s(L::WeightsHint)}</p>
                <p class="legend-line">
                    <span><span class="swatch fp32"></span>{tr.s(L::Fp32WeightsLegend)}</span>
                    <span><span class="swatch qat"></span>{tr.s(L::AfterQat)}</span>
                    <span><span class="swatch grid"></span>{if r.qat.sim.weights.per_channel { tr.s(L::GridPerChannel) } else { tr.s(L::Grid) }}</span>
                </p>
                <div class="chart-trio">
                    { for r.fp32_model.layers.iter().zip(&r.qat_model.layers).enumerate().map(|(l, (f, q))| {
                        let chart = Rc::new(WeightShiftChart::new(&tr.f(L::LayerName, &[&l, &f.describe().split(',').next().unwrap_or_default()]), f, q, r.qat.sim.weights));
                        let caption = tr.f(L::NearGrid, &[
                            &format!("{:.0}", chart.on_grid.1 * 100.0),
                            &format!("{:.0}", chart.on_grid.0 * 100.0),
                            &r.qat.weight_codes_changed.get(l).map_or_else(|| "—".to_string(), |&v| percent(v)),
                        ]);
                        html! {
                            <figure class="chart-cell">
                                <Canvas<WeightShiftChart> chart={chart} testid={format!("chart-lab-weights-{l}")} width={380} height={260}
                                    label={tr.f(L::WeightsChartLabel, &[&l, &f.describe()])} />
                                <figcaption class="hint" data-testid={format!("lab-recoded-{l}")}>{caption}</figcaption>
                            </figure>
                        }
                    }) }
                </div>
            </section>
            if let Some(b) = &r.boundaries {
                <section class="panel" aria-label={tr.s(L::BoundariesLabel)} data-part="regions">
                    <h2>{tr.s(L::BoundariesTitle)}</h2>
                    <div class="chart-trio">
                        { for [(Which::Fp32, r.fp32.accuracy), (Which::Ptq, r.ptq.integer.accuracy), (Which::Qat, r.qat.integer.accuracy)].into_iter().map(|(which, accuracy)| html! {
                            <Canvas<DecisionChart> chart={Rc::new(DecisionChart { boundaries: b.clone(), which, test: r.test.clone(), accuracy })}
                                testid={format!("chart-lab-boundary-{}", format!("{which:?}").to_lowercase())} width={380} height={340}
                                label={tr.s(L::BoundaryChartLabel)} />
                        }) }
                    </div>
                </section>
            }
            if r.test.image.is_some() {
                <section class="panel" aria-label={tr.s(L::MisclassifiedLabel)} data-part="misclassified">
                    <h2>{tr.s(L::MisclassifiedTitle)}</h2>
                    { for [("fp32", L::Fp32, &r.fp32.misclassified), ("ptq", L::Ptq, &r.ptq.integer.misclassified), ("qat", L::Qat, &r.qat.integer.misclassified)].into_iter().filter_map(|(id, name, wrong)| {
                        DigitsChart::of(tr.s(name), &r.test, wrong, 32).map(|c| html! {
                            <Canvas<DigitsChart> chart={Rc::new(c)} testid={format!("chart-lab-misclassified-{id}")} width={800} height={130}
                                label={tr.f(L::MisclassifiedChartLabel, &[&tr.s(name)])} />
                        })
                    }) }
                </section>
            }
            <section class="panel" aria-label={tr.s(L::ConfusionLabel)} data-part="confusion">
                <h2>{tr.s(L::ConfusionTitle)}</h2>
                <div class="chart-pair">
                    { for [("fp32", L::Fp32, &r.fp32.confusion), ("ptq", L::Ptq, &r.ptq.integer.confusion), ("qat", L::Qat, &r.qat.integer.confusion)].into_iter().map(|(id, name, m)| html! {
                        <table class="confusion" data-testid={format!("lab-confusion-{id}")}>
                            <caption>{tr.s(name)}</caption>
                            <tbody>
                                { for m.iter().enumerate().map(|(i, row)| html! {
                                    <tr>{ for row.iter().enumerate().map(|(j, &c)| html! {
                                        <td class={classes!(if i == j { "hit" } else if c > 0 { "miss" } else { "" })}>{c}</td>
                                    }) }</tr>
                                }) }
                            </tbody>
                        </table>
                    }) }
                </div>
            </section>
        </>
    }
}

/// The Lab's settings.
fn controls(url: &UrlState, on_change: &Callback<UrlState>, tr: Tr) -> Html {
    let edit = |f: fn(&mut UrlState, &str)| {
        let (url, cb) = (url.clone(), on_change.clone());
        Callback::from(move |v: String| {
            let mut next = url.clone();
            f(&mut next, &v);
            if next != url {
                cb.emit(next);
            }
        })
    };
    let number = |id: &'static str, label: &str, value: String, f: fn(&mut UrlState, &str)| {
        let on = edit(f);
        html! {
            <>
                <label for={id}>{label}</label>
                <input id={id} data-testid={id} type="text" inputmode="decimal" value={value}
                       onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value())} />
            </>
        }
    };
    let l = &url.lab;
    let on_data = edit(|s, v| {
        if let Some((d, _, _)) = LAB_DATA.iter().find(|(_, k, _)| *k == v) {
            s.lab.dataset = *d;
        }
    });
    let on_obs = edit(|s, v| {
        if let Some((o, _, _)) = OBSERVERS.iter().find(|(_, k, _)| *k == v) {
            s.lab.observer = *o;
        }
    });
    let on_model = edit(|s, v| {
        if let Some((m, _, _)) = LAB_MODELS.iter().find(|(_, k, _)| *k == v) {
            s.lab.model = *m;
        }
    });
    let cnn = l.model == crate::engine::nn::lab::ModelKind::Cnn;
    let check = |id: &'static str, label: &str, checked: bool, f: fn(&mut UrlState, &str)| super::explorer::controls::check(id, label, checked, edit(f));
    html! {
        <section class="panel controls" aria-label={tr.s(L::SettingsLabel)} data-part="controls">
            <h2>{tr.s(L::DataAndModel)}</h2>
            <label for="lab-data">{tr.s(L::Data)}</label>
            <select id="lab-data" data-testid="lab-data" onchange={on_data.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for LAB_DATA.iter().map(|(d, key, text)| html! { <option value={*key} selected={*d == l.dataset}>{tr.s(*text)}</option> }) }
            </select>
            if l.dataset != super::state::LabData::Digits {
                { number("lab-points", tr.s(L::Points), l.points.to_string(), |s, v| s.lab.points = v.trim().parse().unwrap_or(s.lab.points).clamp(20, 100_000)) }
                { number("lab-noise", tr.s(L::Noise), l.noise.to_string(), |s, v| s.lab.noise = v.trim().parse().unwrap_or(s.lab.noise).clamp(0.0, 10.0)) }
            }
            <label for="lab-model">{tr.s(L::Network)}</label>
            <select id="lab-model" data-testid="lab-model" onchange={on_model.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for LAB_MODELS.iter().map(|(m, key, text)| html! { <option value={*key} selected={*m == l.model}>{tr.s(*text)}</option> }) }
            </select>
            if cnn {
                { number("lab-channels", tr.s(L::CnnChannels), format!("{},{}", l.channels[0], l.channels[1]), |s, v| {
                    if let Ok(c) = super::state::parse_channels(v) { s.lab.channels = c; }
                }) }
            } else {
                { number("lab-hidden", tr.s(L::HiddenWidths), l.hidden.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(","), |s, v| {
                    if let Ok(w) = super::state::parse_widths(v) { s.lab.hidden = w; }
                }) }
            }
            { check("lab-relu6", tr.s(L::Relu6), l.relu6, |s, v| s.lab.relu6 = v == "true") }
            <h2>{tr.s(L::TrainingLabel)}</h2>
            { check("lab-sgd", tr.s(L::Sgd), l.sgd, |s, v| s.lab.sgd = v == "true") }
            { number("lab-lr", tr.s(L::LearningRate), l.lr.to_string(), |s, v| s.lab.lr = v.trim().parse::<f32>().ok().filter(|x| *x > 0.0 && *x <= 10.0).unwrap_or(s.lab.lr)) }
            { number("lab-epochs", tr.s(L::Fp32Epochs), l.epochs.to_string(), |s, v| s.lab.epochs = v.trim().parse().unwrap_or(s.lab.epochs).min(1000)) }
            { number("lab-seed", tr.s(L::Seed), l.seed.to_string(), |s, v| s.lab.seed = v.trim().parse().unwrap_or(s.lab.seed)) }
            <h2>{tr.s(L::Quantization)}</h2>
            { number("lab-wbits", tr.s(L::WeightBits), l.weight_bits.to_string(), |s, v| s.lab.weight_bits = v.trim().parse().unwrap_or(s.lab.weight_bits).clamp(2, 8)) }
            { number("lab-abits", tr.s(L::ActBits), l.act_bits.to_string(), |s, v| s.lab.act_bits = v.trim().parse().unwrap_or(s.lab.act_bits).clamp(2, 8)) }
            { check("lab-per-channel", tr.s(L::PerChannel), l.per_channel, |s, v| s.lab.per_channel = v == "true") }
            <label for="lab-observer">{tr.s(L::PtqObserver)}</label>
            <select id="lab-observer" data-testid="lab-observer" onchange={on_obs.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for OBSERVERS.iter().map(|(o, key, text)| html! { <option value={*key} selected={*o == l.observer}>{tr.s(*text)}</option> }) }
            </select>
            { number("lab-calib", tr.s(L::CalibSamples), l.calib_samples.to_string(), |s, v| s.lab.calib_samples = v.trim().parse().unwrap_or(s.lab.calib_samples).clamp(1, 100_000)) }
            { number("lab-qat-epochs", tr.s(L::QatEpochs), l.qat_epochs.to_string(), |s, v| s.lab.qat_epochs = v.trim().parse().unwrap_or(s.lab.qat_epochs).min(1000)) }
            { number("lab-ac", tr.s(L::QatEma), l.averaging_constant.to_string(), |s, v| s.lab.averaging_constant = v.trim().parse::<f32>().ok().filter(|c| *c > 0.0 && *c <= 1.0).unwrap_or(s.lab.averaging_constant)) }
            { number("lab-freeze", tr.s(L::FreezeObservers), l.freeze_after.map_or_else(String::new, |f| f.to_string()), |s, v| s.lab.freeze_after = v.trim().parse().ok()) }
            if cnn {
                { number("lab-freeze-bn", tr.s(L::FreezeBn), l.freeze_bn_after.map_or_else(String::new, |f| f.to_string()), |s, v| s.lab.freeze_bn_after = v.trim().parse().ok()) }
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct BitSweepProps {
    config: crate::engine::nn::lab::LabConfig,
}

/// Where the bit-width sweep is.
#[derive(Clone, Debug, PartialEq)]
enum SweepStatus {
    Idle,
    Running { done: usize, total: usize },
    Done(Rc<crate::engine::nn::lab::SweepReport>),
    Failed(String),
    Cancelled,
}

/// Accuracy against bit width (W8A8 … W2A2) for PTQ and QAT, in the worker, with a progress bar.
#[function_component(BitSweep)]
fn bit_sweep(props: &BitSweepProps) -> Html {
    let tr = use_tr();
    let state = use_state(|| (0u64, SweepStatus::Idle));
    let client = {
        let state = state.clone();
        super::worker_client::use_worker_client(Callback::from(move |out: WorkerOutput| {
            let (id, status) = match out {
                WorkerOutput::Progress { id, done, total, .. } => (id, SweepStatus::Running { done, total }),
                WorkerOutput::Done { id, result: JobResult::LabSweep(r) } => (id, SweepStatus::Done(Rc::new(r))),
                WorkerOutput::Done { id, .. } => (id, SweepStatus::Failed(super::i18n::current().s(L::WrongJob).into())),
                WorkerOutput::Failed { id, message } => (id, SweepStatus::Failed(message)),
                WorkerOutput::Cancelled { id } => (id, SweepStatus::Cancelled),
                WorkerOutput::Paused { .. } | WorkerOutput::Ready => return,
            };
            if id == state.0 {
                state.set((id, status));
            }
        }))
    };
    let start = {
        let (client, state, config) = (client.clone(), state.clone(), props.config.clone());
        Callback::from(move |_: MouseEvent| {
            let id = state.0 + 1;
            state.set((id, SweepStatus::Running { done: 0, total: 1 }));
            client.emit(WorkerInput::Start { id, spec: JobSpec::LabSweep { config: config.clone() } });
        })
    };
    let cancel = {
        let (client, id) = (client, state.0);
        Callback::from(move |_: MouseEvent| client.emit(WorkerInput::Cancel { id }))
    };
    let running = matches!(state.1, SweepStatus::Running { .. });
    let body = match &state.1 {
        SweepStatus::Idle => html! { <p class="hint">{tr.s(L::SweepIdle)}</p> },
        SweepStatus::Running { done, total } => html! {
            <div class="progress-row">
                <progress data-testid="lab-sweep-progress" max={total.to_string()} value={done.to_string()} />
                <span>{tr.f(L::SweepProgress, &[done, total])}</span>
            </div>
        },
        SweepStatus::Failed(m) => {
            html! { <p class="error" role="alert">{tr.f(L::SweepStopped, &[m])}</p> }
        }
        SweepStatus::Cancelled => html! { <p class="hint">{tr.s(L::Cancelled)}</p> },
        SweepStatus::Done(r) => html! {
            <>
                <Canvas<super::charts::training::BitSweepChart> chart={Rc::new(super::charts::training::BitSweepChart { sweep: (**r).clone() })}
                    testid="chart-lab-sweep" width={800} height={300} export={Some(AttrValue::from("lab-bit-sweep"))}
                    label={tr.s(L::SweepChartLabel)} />
                <table class="bench-table" data-testid="lab-sweep-table">
                    <thead><tr><th scope="col">{tr.s(L::Bits)}</th><th scope="col">{tr.s(L::Ptq)}</th><th scope="col">{tr.s(L::Qat)}</th><th scope="col">{tr.s(L::QatMinusPtq)}</th></tr></thead>
                    <tbody>
                        { for r.points.iter().map(|p| html! {
                            <tr data-testid={format!("lab-sweep-w{}a{}", p.weight_bits, p.act_bits)}>
                                <th scope="row">{format!("W{}A{}", p.weight_bits, p.act_bits)}</th>
                                <td class="num">{percent(p.ptq)}</td>
                                <td class="num">{percent(p.qat)}</td>
                                <td class="num">{tr.f(L::Points2, &[&format!("{:+.2}", (p.qat - p.ptq) * 100.0)])}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </>
        },
    };
    html! {
        <section class="panel" aria-label={tr.s(L::SweepLabel)} data-part="labsweep">
            <div class="panel-head">
                <h2>{tr.s(L::SweepLabel)}</h2>
                <button onclick={start} data-testid="lab-sweep-run">{ if running { tr.s(L::Restart) } else { tr.s(L::RunTheSweep) } }</button>
                <button onclick={cancel} disabled={!running} data-testid="lab-sweep-cancel">{tr.s(L::Cancel)}</button>
            </div>
            { body }
        </section>
    }
}
