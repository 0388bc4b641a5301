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
use super::state::{UrlState, LAB_DATA, LAB_MODELS, OBSERVERS};
use crate::engine::views::jobs::{JobResult, JobSpec};
use crate::engine::nn::lab::{EpochStats, LabReport, Phase, QuantReport};
use crate::worker::{WorkerInput, WorkerOutput};

#[derive(Properties, PartialEq)]
pub struct LabProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The shell's open file: a finished run's models open in the Explorer through it.
    pub files: UseStateHandle<super::files::Files>,
}

/// The name the Lab's models go by in the Explorer's layer browser.
fn models_name(r: &LabReport) -> String {
    format!("Lab models (seed {}, W{}A{})", r.config.seed, r.config.weight_bits, r.config.act_bits)
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
                    WorkerOutput::Progress { id, .. } | WorkerOutput::Paused { id } | WorkerOutput::Done { id, .. } | WorkerOutput::Failed { id, .. } | WorkerOutput::Cancelled { id } => *id,
                    WorkerOutput::Ready => return self,
                };
                if id != self.id {
                    return self;
                }
                next.status = match out {
                    WorkerOutput::Progress { lab: Some(p), .. } => {
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
                    WorkerOutput::Done { .. } => RunStatus::Failed("the worker answered with another job's result".into()),
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
    let run = use_reducer(|| Run { id: 0, status: RunStatus::Idle, history: Vec::new() });
    let client = {
        let dispatch = run.dispatcher();
        super::worker_client::use_worker_client(Callback::from(move |out| dispatch.dispatch(RunAction::Output(out))))
    };
    let url = &props.url;
    let config = url.lab_config();
    let train = {
        let (client, run, config) = (client.clone(), run.clone(), config.clone());
        Callback::from(move |_: MouseEvent| {
            let id = run.id + 1;
            run.dispatch(RunAction::Started(id));
            client.emit(WorkerInput::Start { id, spec: JobSpec::Lab { config: config.clone() } });
        })
    };
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
        RunStatus::Idle => html! { <p class="hint">{"Press Train: the network trains in a background worker, then PTQ and QAT run and both integer models are tested."}</p> },
        RunStatus::Running { fraction, phase, epoch, epochs, paused } => {
            let what = match phase {
                Phase::Fp32 => format!("FP32 training, epoch {epoch} of {epochs}"),
                Phase::Ptq => "PTQ: calibrating and converting to integers".to_string(),
                Phase::Qat => format!("QAT fine-tuning, epoch {epoch} of {epochs}"),
                Phase::Done => "Converting the QAT model".to_string(),
            };
            html! {
                <div class="progress-row">
                    <progress data-testid="lab-progress" max="1000" value={((fraction * 1000.0).round() as u32).to_string()} />
                    <span data-testid="lab-phase">{ if *paused { format!("Paused: {what}") } else { what } }</span>
                </div>
            }
        }
        RunStatus::Failed(m) => html! { <p class="error" role="alert" data-testid="lab-error">{format!("The run stopped: {m}")}</p> },
        RunStatus::Cancelled => html! { <p class="hint" data-testid="lab-cancelled">{"Cancelled."}</p> },
        RunStatus::Done(_) => html! {},
    };
    let chart = Rc::new(TrainingChart { history: run.history.clone(), epochs: config.epochs, qat_epochs: config.qat_epochs });
    html! {
        <div class="learn">
            { controls(url, &props.on_change) }
            <div class="explorer-main">
                <section class="panel" aria-label="Training">
                    <div class="panel-head">
                        <h2>{format!("{} on {}, W{}A{}", config.model_name(), super::state::choice_key(LAB_DATA, &url.lab.dataset), config.weight_bits, config.act_bits)}</h2>
                        <button onclick={train} data-testid="lab-train">{ if running { "Restart" } else { "Train" } }</button>
                        <button onclick={pause} disabled={!running} data-testid="lab-pause">{ if paused { "Resume" } else { "Pause" } }</button>
                        <button onclick={cancel} disabled={!running} data-testid="lab-cancel">{"Cancel"}</button>
                    </div>
                    { status }
                    <Canvas<TrainingChart> chart={chart} testid="chart-lab-training" width={800} height={260} export={Some(AttrValue::from("lab-training"))}
                        label="Test accuracy after each epoch of FP32 training and of QAT" />
                </section>
                if let RunStatus::Done(r) = &run.status {
                    { results(r, open_in_explorer(r, url, &props.on_change, &props.files)) }
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
            narrow: false,
            reduce_range: false,
            quant_min: None,
            quant_max: None,
            lo: None,
            hi: None,
            ..url.clone()
        });
    })
}

/// The results table, agreement, per-layer SQNR and confusion matrices.
fn results(r: &LabReport, open: Callback<String>) -> Html {
    let row = |name: &'static str, id: &'static str, acc: f64, loss: f64, agreement: Option<&QuantReport>| {
        html! {
            <tr>
                <th scope="row">{name}</th>
                <td class="num" data-testid={format!("lab-{id}-accuracy")}>{percent(acc)}</td>
                <td class="num" data-testid={format!("lab-{id}-loss")}>{format!("{loss:.4}")}</td>
                <td class="num" data-testid={format!("lab-{id}-agreement")}>{ agreement.map(|q| {
                    let a = &q.agreement;
                    format!("{} / {} identical (max Δ {} code)", a.identical, a.samples, a.max_code_diff)
                }).unwrap_or_default() }</td>
            </tr>
        }
    };
    let t = &r.timings;
    html! {
        <>
            <section class="panel" aria-label="Results" data-testid="lab-results">
                <h2>{format!("Test accuracy on {} held-out samples ({} trained on)", r.test_samples, r.train_samples)}</h2>
                <table class="bench-table">
                    <thead><tr><th scope="col">{"Model"}</th><th scope="col">{"Accuracy"}</th><th scope="col">{"Loss"}</th><th scope="col">{"Integer model = fake-quant simulation"}</th></tr></thead>
                    <tbody>
                        { row("FP32", "fp32", r.fp32.accuracy, r.fp32.loss, None) }
                        { row("PTQ (integer model)", "ptq", r.ptq.integer.accuracy, r.ptq.integer.loss, Some(&r.ptq)) }
                        { row("QAT (integer model)", "qat", r.qat.integer.accuracy, r.qat.integer.loss, Some(&r.qat)) }
                    </tbody>
                </table>
                { for [("PTQ", &r.ptq), ("QAT", &r.qat)].into_iter().filter(|(_, q)| !q.agreement.examples.is_empty()).map(|(name, q)| html! {
                    <p class="hint" data-testid={format!("lab-{}-disagreements", name.to_lowercase())}>
                        {format!("{name}: where the integer model and the simulation differ (output codes): ")}
                        { for q.agreement.examples.iter().map(|(i, int, sim)| html! { <span class="mono">{format!("sample {i}: {int:?} against {sim:?}; ")}</span> }) }
                    </p>
                }) }
                <p class="hint">{format!(
                    "Times in this browser's worker: FP32 {:.0} ms ({:.1} ms per epoch), PTQ {:.0} ms, QAT {:.0} ms ({:.1} ms per epoch), integer inference over the test samples {:.2} ms.",
                    t.fp32_ms, t.fp32_ms / r.config.epochs.max(1) as f64, t.ptq_ms, t.qat_ms, t.qat_ms / r.config.qat_epochs.max(1) as f64, t.integer_inference_ms
                )}</p>
            </section>
            <section class="panel" aria-label="Per-layer SQNR">
                <h2>{"SQNR per layer (dB): float against quantized, on the test samples"}</h2>
                <table class="bench-table" data-testid="lab-sqnr">
                    <thead><tr><th scope="col">{"Layer"}</th><th scope="col">{"Weights, PTQ"}</th><th scope="col">{"Weights, QAT"}</th><th scope="col">{"Activations, PTQ"}</th><th scope="col">{"Activations, QAT"}</th><th scope="col">{"Channel ranges, max/min (FP32, BN folded)"}</th></tr></thead>
                    <tbody>
                        { for (0..r.ptq.weight_sqnr.len()).map(|l| {
                            // With batch norm, the weights quantized are the folded ones.
                            let layer = &r.fp32_model.layers[l];
                            let (tensor, what) = if layer.bn.is_some() { ("folded.weight", " (BN folded)") } else { ("weight", "") };
                            html! {
                            <tr>
                                <th scope="row">
                                    {format!("{l}: {} ", layer.describe())}
                                    <button class="link" data-testid={format!("lab-open-fp32-{l}")} onclick={open.reform(move |_| format!("fp32/layer{l}.{tensor}"))}>{format!("FP32 weights{what}")}</button>
                                    <button class="link" data-testid={format!("lab-open-qat-{l}")} onclick={open.reform(move |_| format!("qat/layer{l}.{tensor}"))}>{format!("QAT weights{what}")}</button>
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
            <section class="panel" aria-label="Weights before and after QAT" data-testid="lab-weights">
                <h2>{"What QAT did to the weights: each layer's FP32 and QAT weights (batch norm folded), over the grid the QAT model is converted on"}</h2>
                <p class="hint">{"QAT does not aim to pull the float weights onto the grid, and at a small learning rate they move by a fraction of a step. What counts is the weights that cross a rounding threshold, which changes their integer code, and the rest of the network adjusting to every weight's rounding. The captions count both."}</p>
                <p class="legend-line">
                    <span><span class="swatch fp32"></span>{"FP32 weights (what PTQ converts)"}</span>
                    <span><span class="swatch qat"></span>{"after QAT"}</span>
                    <span><span class="swatch grid"></span>{if r.qat.sim.weights.per_channel { "the grid QAT's integer model rounds to (channel 0's: each channel has its own)" } else { "the grid QAT's integer model rounds to" }}</span>
                </p>
                <div class="chart-trio">
                    { for r.fp32_model.layers.iter().zip(&r.qat_model.layers).enumerate().map(|(l, (f, q))| {
                        let chart = Rc::new(WeightShiftChart::new(&format!("layer {l}: {}", f.describe().split(',').next().unwrap_or_default()), f, q, r.qat.sim.weights));
                        let caption = format!(
                            "Near a grid point (within a tenth of a step, each on its own grid): FP32 {:.0}%, after QAT {:.0}%. QAT changed the integer code of {} of the weights.",
                            chart.on_grid.1 * 100.0,
                            chart.on_grid.0 * 100.0,
                            r.qat.weight_codes_changed.get(l).map_or_else(|| "—".to_string(), |&v| percent(v))
                        );
                        html! {
                            <figure class="chart-cell">
                                <Canvas<WeightShiftChart> chart={chart} testid={format!("chart-lab-weights-{l}")} width={380} height={260}
                                    label={format!("Histograms of layer {l}'s weights ({}) before and after QAT, over the quantization grid", f.describe())} />
                                <figcaption class="hint" data-testid={format!("lab-recoded-{l}")}>{caption}</figcaption>
                            </figure>
                        }
                    }) }
                </div>
            </section>
            if let Some(b) = &r.boundaries {
                <section class="panel" aria-label="Decision boundaries">
                    <h2>{"Decision regions: FP32, and the PTQ and QAT integer models"}</h2>
                    <div class="chart-trio">
                        { for [(Which::Fp32, r.fp32.accuracy), (Which::Ptq, r.ptq.integer.accuracy), (Which::Qat, r.qat.integer.accuracy)].into_iter().map(|(which, accuracy)| html! {
                            <Canvas<DecisionChart> chart={Rc::new(DecisionChart { boundaries: b.clone(), which, test: r.test.clone(), accuracy })}
                                testid={format!("chart-lab-boundary-{}", format!("{which:?}").to_lowercase())} width={380} height={340}
                                label="The class the model gives each point of the plane, with the test points" />
                        }) }
                    </div>
                </section>
            }
            if r.test.image.is_some() {
                <section class="panel" aria-label="Misclassified digits">
                    <h2>{"Misclassified test digits (true → predicted)"}</h2>
                    { for [("FP32", &r.fp32.misclassified), ("PTQ", &r.ptq.integer.misclassified), ("QAT", &r.qat.integer.misclassified)].into_iter().filter_map(|(name, wrong)| {
                        DigitsChart::of(name, &r.test, wrong, 32).map(|c| html! {
                            <Canvas<DigitsChart> chart={Rc::new(c)} testid={format!("chart-lab-misclassified-{}", name.to_lowercase())} width={800} height={130}
                                label={format!("The test digits the {name} model gets wrong")} />
                        })
                    }) }
                </section>
            }
            <section class="panel" aria-label="Confusion matrices">
                <h2>{"Confusion matrices (rows: true class, columns: predicted)"}</h2>
                <div class="chart-pair">
                    { for [("FP32", &r.fp32.confusion), ("PTQ", &r.ptq.integer.confusion), ("QAT", &r.qat.integer.confusion)].into_iter().map(|(name, m)| html! {
                        <table class="confusion" data-testid={format!("lab-confusion-{}", name.to_lowercase())}>
                            <caption>{name}</caption>
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
fn controls(url: &UrlState, on_change: &Callback<UrlState>) -> Html {
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
    let number = |id: &'static str, label: &'static str, value: String, f: fn(&mut UrlState, &str)| {
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
    let check = |id: &'static str, label: &'static str, checked: bool, f: fn(&mut UrlState, &str)| super::explorer::controls::check(id, label, checked, edit(f));
    html! {
        <section class="panel controls" aria-label="Lab settings">
            <h2>{"Data and model"}</h2>
            <label for="lab-data">{"Data"}</label>
            <select id="lab-data" data-testid="lab-data" onchange={on_data.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for LAB_DATA.iter().map(|(d, key, text)| html! { <option value={*key} selected={*d == l.dataset}>{*text}</option> }) }
            </select>
            if l.dataset != super::state::LabData::Digits {
                { number("lab-points", "Points", l.points.to_string(), |s, v| s.lab.points = v.trim().parse().unwrap_or(s.lab.points).clamp(20, 100_000)) }
                { number("lab-noise", "Noise (std)", l.noise.to_string(), |s, v| s.lab.noise = v.trim().parse().unwrap_or(s.lab.noise).clamp(0.0, 10.0)) }
            }
            <label for="lab-model">{"Network"}</label>
            <select id="lab-model" data-testid="lab-model" onchange={on_model.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for LAB_MODELS.iter().map(|(m, key, text)| html! { <option value={*key} selected={*m == l.model}>{*text}</option> }) }
            </select>
            if cnn {
                { number("lab-channels", "CNN channels (conv, pointwise)", format!("{},{}", l.channels[0], l.channels[1]), |s, v| {
                    if let Ok(c) = super::state::parse_channels(v) { s.lab.channels = c; }
                }) }
            } else {
                { number("lab-hidden", "Hidden widths", l.hidden.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(","), |s, v| {
                    if let Ok(w) = super::state::parse_widths(v) { s.lab.hidden = w; }
                }) }
            }
            { check("lab-relu6", "ReLU6 (else ReLU)", l.relu6, |s, v| s.lab.relu6 = v == "true") }
            <h2>{"Training"}</h2>
            { check("lab-sgd", "SGD with momentum (else Adam)", l.sgd, |s, v| s.lab.sgd = v == "true") }
            { number("lab-lr", "Learning rate", l.lr.to_string(), |s, v| s.lab.lr = v.trim().parse::<f32>().ok().filter(|x| *x > 0.0 && *x <= 10.0).unwrap_or(s.lab.lr)) }
            { number("lab-epochs", "FP32 epochs", l.epochs.to_string(), |s, v| s.lab.epochs = v.trim().parse().unwrap_or(s.lab.epochs).min(1000)) }
            { number("lab-seed", "Seed", l.seed.to_string(), |s, v| s.lab.seed = v.trim().parse().unwrap_or(s.lab.seed)) }
            <h2>{"Quantization"}</h2>
            { number("lab-wbits", "Weight bits (signed, symmetric)", l.weight_bits.to_string(), |s, v| s.lab.weight_bits = v.trim().parse().unwrap_or(s.lab.weight_bits).clamp(2, 8)) }
            { number("lab-abits", "Activation bits (unsigned, affine)", l.act_bits.to_string(), |s, v| s.lab.act_bits = v.trim().parse().unwrap_or(s.lab.act_bits).clamp(2, 8)) }
            { check("lab-per-channel", "Weights per output channel", l.per_channel, |s, v| s.lab.per_channel = v == "true") }
            <label for="lab-observer">{"PTQ activation observer"}</label>
            <select id="lab-observer" data-testid="lab-observer" onchange={on_obs.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for OBSERVERS.iter().map(|(o, key, text)| html! { <option value={*key} selected={*o == l.observer}>{*text}</option> }) }
            </select>
            { number("lab-calib", "PTQ calibration samples", l.calib_samples.to_string(), |s, v| s.lab.calib_samples = v.trim().parse().unwrap_or(s.lab.calib_samples).clamp(1, 100_000)) }
            { number("lab-qat-epochs", "QAT epochs", l.qat_epochs.to_string(), |s, v| s.lab.qat_epochs = v.trim().parse().unwrap_or(s.lab.qat_epochs).min(1000)) }
            { number("lab-ac", "QAT activation EMA constant", l.averaging_constant.to_string(), |s, v| s.lab.averaging_constant = v.trim().parse::<f32>().ok().filter(|c| *c > 0.0 && *c <= 1.0).unwrap_or(s.lab.averaging_constant)) }
            { number("lab-freeze", "QAT: freeze observers after epoch (empty: never)", l.freeze_after.map_or_else(String::new, |f| f.to_string()), |s, v| s.lab.freeze_after = v.trim().parse().ok()) }
            if cnn {
                { number("lab-freeze-bn", "QAT: freeze batch-norm statistics after epoch (empty: never)", l.freeze_bn_after.map_or_else(String::new, |f| f.to_string()), |s, v| s.lab.freeze_bn_after = v.trim().parse().ok()) }
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
    let state = use_state(|| (0u64, SweepStatus::Idle));
    let client = {
        let state = state.clone();
        super::worker_client::use_worker_client(Callback::from(move |out: WorkerOutput| {
            let (id, status) = match out {
                WorkerOutput::Progress { id, done, total, .. } => (id, SweepStatus::Running { done, total }),
                WorkerOutput::Done { id, result: JobResult::LabSweep(r) } => (id, SweepStatus::Done(Rc::new(r))),
                WorkerOutput::Done { id, .. } => (id, SweepStatus::Failed("the worker answered with another job's result".into())),
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
        SweepStatus::Idle => html! { <p class="hint">{"Train the FP32 model once, then run PTQ and QAT at W8A8, W6A6, W4A8, W4A4, W3A3, W2A4 and W2A2, and test every integer model."}</p> },
        SweepStatus::Running { done, total } => html! {
            <div class="progress-row">
                <progress data-testid="lab-sweep-progress" max={total.to_string()} value={done.to_string()} />
                <span>{format!("{done} / {total} epochs and conversions")}</span>
            </div>
        },
        SweepStatus::Failed(m) => html! { <p class="error" role="alert">{format!("The sweep stopped: {m}")}</p> },
        SweepStatus::Cancelled => html! { <p class="hint">{"Cancelled."}</p> },
        SweepStatus::Done(r) => html! {
            <>
                <Canvas<super::charts::training::BitSweepChart> chart={Rc::new(super::charts::training::BitSweepChart { sweep: (**r).clone() })}
                    testid="chart-lab-sweep" width={800} height={300} export={Some(AttrValue::from("lab-bit-sweep"))}
                    label="PTQ and QAT test accuracy of the integer models against bit width, with FP32 as a line" />
                <table class="bench-table" data-testid="lab-sweep-table">
                    <thead><tr><th scope="col">{"Bits"}</th><th scope="col">{"PTQ"}</th><th scope="col">{"QAT"}</th><th scope="col">{"QAT − PTQ"}</th></tr></thead>
                    <tbody>
                        { for r.points.iter().map(|p| html! {
                            <tr data-testid={format!("lab-sweep-w{}a{}", p.weight_bits, p.act_bits)}>
                                <th scope="row">{format!("W{}A{}", p.weight_bits, p.act_bits)}</th>
                                <td class="num">{percent(p.ptq)}</td>
                                <td class="num">{percent(p.qat)}</td>
                                <td class="num">{format!("{:+.2} points", (p.qat - p.ptq) * 100.0)}</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
            </>
        },
    };
    html! {
        <section class="panel" aria-label="Accuracy against bit width">
            <div class="panel-head">
                <h2>{"Accuracy against bit width"}</h2>
                <button onclick={start} data-testid="lab-sweep-run">{ if running { "Restart" } else { "Run the sweep" } }</button>
                <button onclick={cancel} disabled={!running} data-testid="lab-sweep-cancel">{"Cancel"}</button>
            </div>
            { body }
        </section>
    }
}
