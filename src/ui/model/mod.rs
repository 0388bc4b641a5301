//! The Model view: a real ONNX model opened by the user, read, calibrated and quantized in the
//! model worker ([`crate::worker::model`]), which the page spawns only when a model is opened
//! (tract never enters the app's own module). Files are read in the page and handed to the
//! worker; nothing leaves the browser. One job runs at a time, with progress and cancel; a
//! worker that stops (a trap in tract) fails its job with a message, and the next job spawns a
//! new one, to which the files are handed again.

pub mod explore;
pub mod lab;
pub mod tables;

use std::rc::Rc;

use yew::prelude::*;

use crate::engine::model::preprocess::{Layout, Preprocess, Preset};
use crate::engine::model::report::{CalibrationSettings, PtqSettings};
use crate::engine::observer::Common;
use crate::engine::quantizer::qparams::{QRange, QScheme};
use crate::ui::i18n::{use_tr, ModelText as M, Tr};
use crate::ui::state::{ObsKind, OBSERVERS};
use crate::worker::model::{Calibrated, Compared, Data, Declared, FileData, ModelInput, ModelOutput, ModelResult, ModelSpec, Stage, Timings, Values, MODEL_WORKER_PATH};
use crate::worker::{Input, Output};

/// Where the model's input comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feed {
    Pictures,
    Arrays,
    Synthetic,
}

/// The view's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct Choices {
    pub feed: Feed,
    pub samples: usize,
    pub seed: u64,
    pub preset: Preset,
    /// `None`: the model input's fixed size, else 224×224.
    pub size: Option<(u32, u32)>,
    pub nhwc: bool,
    pub bgr: bool,
    pub batch: usize,
    pub observer: ObsKind,
    pub per_channel: bool,
    pub act_bits: u32,
    pub weight_bits: u32,
    pub weights_only: bool,
    pub fold_bn: bool,
}

impl Default for Choices {
    fn default() -> Choices {
        Choices {
            feed: Feed::Synthetic,
            samples: 8,
            seed: 0,
            preset: Preset::ImageNet,
            size: None,
            nhwc: false,
            bgr: false,
            batch: 1,
            observer: ObsKind::MinMax,
            per_channel: false,
            act_bits: 8,
            weight_bits: 8,
            weights_only: false,
            fold_bn: true,
        }
    }
}

impl Choices {
    /// The picture size for `declared`'s first input.
    pub fn picture_size(&self, declared: Option<&Declared>) -> (u32, u32) {
        self.size.or_else(|| declared.and_then(|d| d.inputs.first()?.picture_size(self.nhwc))).unwrap_or((224, 224))
    }

    pub fn preprocess(&self, declared: Option<&Declared>) -> Preprocess {
        let p = Preprocess::preset(self.preset, self.picture_size(declared));
        Preprocess { layout: if self.nhwc { Layout::Nhwc } else { Layout::Nchw }, bgr: self.bgr, ..p }
    }

    pub fn calibration(&self) -> CalibrationSettings {
        let range = QRange::with_bits(self.act_bits, true).unwrap_or_else(|_| QRange::with_bits(8, true).expect("8 bits"));
        CalibrationSettings { observer: self.observer.with_defaults(crate::engine::observer::ObserverKind::DEFAULT_AVERAGING_CONSTANT), common: Common { scheme: QScheme::Affine, range }, per_channel: self.per_channel }
    }

    pub fn ptq(&self) -> PtqSettings {
        PtqSettings {
            weight_bits: self.weight_bits,
            per_channel: false,
            act_bits: (!self.weights_only).then_some(self.act_bits),
            act_observer: self.observer.with_defaults(crate::engine::observer::ObserverKind::DEFAULT_AVERAGING_CONSTANT),
            fold_bn: self.fold_bn,
        }
    }
}

/// A job's state.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Idle,
    Running { done: usize, total: usize, stage: Option<Stage> },
    Failed(String),
    Cancelled,
}

/// The view's state: the files handed to the worker and what it answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// The last job's id.
    pub job: u64,
    pub model: Option<(u64, String)>,
    pub declared: Option<Rc<Declared>>,
    pub pictures: Vec<(u64, String)>,
    pub arrays: Vec<(u64, String)>,
    pub status: Status,
    pub calibrated: Option<Rc<Calibrated>>,
    pub compared: Option<Rc<Compared>>,
    /// The benchmark page's timings.
    pub timed: Option<Rc<Timings>>,
    /// An activation's values over the calibration data, with the id of the job that kept them,
    /// until they are taken to the Explorer.
    pub captured: Option<(u64, Rc<std::cell::RefCell<Option<Values>>>)>,
    /// The Lab's model and data as files, with the id of the job that wrote them.
    pub exported: Option<(u64, Rc<Vec<FileData>>)>,
}

impl Default for Page {
    fn default() -> Page {
        Page { job: 0, model: None, declared: None, pictures: Vec::new(), arrays: Vec::new(), status: Status::Idle, calibrated: None, compared: None, timed: None, captured: None, exported: None }
    }
}

pub enum Action {
    /// A model file handed over under this key.
    Model(u64, String),
    Pictures(Vec<(u64, String)>),
    Arrays(Vec<(u64, String)>),
    Started(u64),
    Output(ModelOutput),
    /// A file the page could not read.
    Unreadable(String),
}

impl Reducible for Page {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Model(key, name) => {
                next.model = Some((key, name));
                next.declared = None;
                next.calibrated = None;
                next.compared = None;
            }
            Action::Pictures(p) => next.pictures = p,
            Action::Arrays(a) => next.arrays = a,
            Action::Started(id) => {
                next.job = id;
                next.timed = None;
                next.status = Status::Running { done: 0, total: 1, stage: None };
            }
            Action::Unreadable(m) => next.status = Status::Failed(m),
            Action::Output(out) => {
                let id = match &out {
                    Output::Ready => return self,
                    Output::Progress { id, .. } | Output::Paused { id } | Output::Done { id, .. } | Output::Failed { id, .. } | Output::Cancelled { id } => *id,
                };
                // A worker that stopped fails "its last job" (0 if it never started one).
                if id != self.job && id != 0 {
                    return self;
                }
                match out {
                    Output::Progress { done, total, detail, .. } => next.status = Status::Running { done, total, stage: Some(detail) },
                    Output::Done { result, .. } => {
                        next.status = Status::Idle;
                        match result {
                            ModelResult::Opened(d) => next.declared = Some(Rc::new(*d)),
                            ModelResult::Calibrated(c) => next.calibrated = Some(Rc::new(*c)),
                            ModelResult::Compared(c) => next.compared = Some(Rc::new(*c)),
                            ModelResult::Timed(t) => next.timed = Some(Rc::new(*t)),
                            ModelResult::Captured(a) => next.captured = Some((id, Rc::new(std::cell::RefCell::new(Some(*a))))),
                            // The Explorer's reading of a file: never asked here.
                            ModelResult::Read(_) => {}
                            ModelResult::Exported(files) => match files.files() {
                                Some(files) => next.exported = Some((id, Rc::new(files))),
                                None => next.status = Status::Failed(crate::ui::i18n::current().s(M::FilesApart).into()),
                            },
                        }
                    }
                    Output::Failed { message, .. } => next.status = Status::Failed(message),
                    Output::Cancelled { .. } => next.status = Status::Cancelled,
                    Output::Ready | Output::Paused { .. } => {}
                }
            }
        }
        Rc::new(next)
    }
}

/// The next job's id, from the view's counters (jobs, file keys).
pub fn next_job(ids: &std::cell::RefCell<(u64, u64)>) -> u64 {
    let mut ids = ids.borrow_mut();
    ids.0 += 1;
    ids.0
}

/// The status line of a job.
pub fn status_line(status: &Status, t: Tr) -> Html {
    match status {
        Status::Idle => html! {},
        Status::Running { done, total, stage } => {
            let (d, n) = (done.to_string(), total.to_string());
            let what = match stage {
                None => t.s(M::Reading).to_string(),
                Some(Stage::Reading) => t.s(M::Reading).to_string(),
                Some(Stage::Preparing) => t.f(M::StagePreparing, &[&d, &n]),
                Some(Stage::Calibrating) => t.f(M::StageCalibrating, &[&d, &n]),
                Some(Stage::Simulating { per_channel: false }) => t.f(M::StageSimulating, &[&d, &n]),
                Some(Stage::Simulating { per_channel: true }) => t.f(M::StageSimulatingChannel, &[&d, &n]),
                Some(Stage::Timing) => t.f(M::StageTiming, &[&d, &n]),
                Some(Stage::Capturing) => t.f(M::StageCapturing, &[&d, &n]),
            };
            html! {
                <div class="progress-row">
                    <progress data-testid="model-progress" max={n.clone()} value={d.clone()} />
                    <span data-testid="model-stage">{what}</span>
                </div>
            }
        }
        Status::Failed(m) => html! { <p class="error" role="alert" data-testid="model-error">{t.f(M::Failed, &[m])}</p> },
        Status::Cancelled => html! { <p class="hint" data-testid="model-cancelled">{t.s(M::Cancelled)}</p> },
    }
}

/// What the model declares, or why tract cannot run it.
pub fn declared_line(d: &Declared, t: Tr) -> Html {
    let inputs: Vec<String> = d.inputs.iter().map(|i| format!("{} {}", i.name, i.dims_text())).collect();
    let cannot = d.cannot_run.as_ref().map(|m| html! { <p class="error" role="alert" data-testid="model-cannot-run">{t.f(M::CannotRun, &[m])}</p> });
    html! {
        <>
            <p data-testid="model-declared">{t.f(M::Declared, &[&d.file, &d.nodes.len(), &inputs.join(", "), &d.outputs.join(", ")])}</p>
            { for cannot }
        </>
    }
}

#[derive(Properties, PartialEq, Default)]
pub struct ModelViewProps {
    /// The Lab's request to open its model.
    #[prop_or_default]
    pub lab: Option<lab::LabHandoff>,
    /// An activation to open in the Explorer, with its values over the calibration data.
    #[prop_or_default]
    pub on_open: Callback<explore::Opened>,
}

#[function_component(ModelView)]
pub fn model_view(props: &ModelViewProps) -> Html {
    let t = use_tr();
    let page = use_reducer(Page::default);
    let choices = use_state(Choices::default);
    let client: Callback<ModelInput> = {
        let dispatch = page.dispatcher();
        crate::ui::worker_client::use_client(MODEL_WORKER_PATH, true, Callback::from(move |out| dispatch.dispatch(Action::Output(out))))
    };
    // Counters that outlive renders (a file read finishes after its render's state is stale).
    let ids = use_mut_ref(|| (0u64, 0u64));
    let start = {
        let (client, page, ids) = (client.clone(), page.clone(), ids.clone());
        Callback::from(move |spec: ModelSpec| {
            let id = next_job(&ids);
            page.dispatch(Action::Started(id));
            client.emit(Input::Start { id, spec });
        })
    };
    lab::use_lab_handoff(props.lab.clone(), &page, &choices, &client, &ids, &start);
    // What the calibration shown ran on (an activation opened in the Explorer is run on the
    // same), and what the one under way runs on, which takes its place once it is done.
    let calibrated_with = use_mut_ref(|| None::<explore::CalibratedWith>);
    let calibrating_with = use_mut_ref(|| None::<explore::CalibratedWith>);
    {
        let (with, pending) = (calibrated_with.clone(), calibrating_with.clone());
        use_effect_with(page.calibrated.as_ref().map(|c| Rc::as_ptr(c) as usize), move |shown| {
            if shown.is_some() {
                if let Some(p) = pending.borrow_mut().take() {
                    *with.borrow_mut() = Some(p);
                }
            }
        });
    }
    let open_activation = explore::use_capture(&client, &page, &ids, &calibrated_with, &choices, &props.on_open);
    let running = matches!(page.status, Status::Running { .. });
    let declared = page.declared.as_deref();
    let ready = declared.is_some_and(|d| d.cannot_run.is_none()) && !running;
    let data = match choices.feed {
        Feed::Pictures => Data::Pictures { files: page.pictures.iter().map(|p| p.0).collect(), preprocess: choices.preprocess(declared) },
        Feed::Arrays => Data::Arrays { files: page.arrays.iter().map(|p| p.0).collect() },
        Feed::Synthetic => Data::Synthetic { samples: choices.samples.max(1), seed: choices.seed },
    };
    let calibrate = {
        let (start, data, page, c, with) = (start.clone(), data.clone(), page.clone(), (*choices).clone(), calibrating_with.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some((model, name)) = page.model.clone() {
                *with.borrow_mut() = Some(explore::CalibratedWith { model, name, data: data.clone(), choices: c.clone() });
                start.emit(ModelSpec::Calibrate { model, data: data.clone(), batch: c.batch.max(1), settings: c.calibration() });
            }
        })
    };
    let ptq = {
        let (start, data, page, c) = (start.clone(), data, page.clone(), (*choices).clone());
        Callback::from(move |_: MouseEvent| {
            if let Some((model, _)) = page.model.clone() {
                start.emit(ModelSpec::Ptq { model, data: data.clone(), batch: c.batch.max(1), settings: c.ptq() });
            }
        })
    };
    let cancel = {
        let (client, id) = (client.clone(), page.job);
        Callback::from(move |_: MouseEvent| client.emit(Input::Cancel { id }))
    };
    let on_model = files_input(&client, &page, &ids, FileKind::Model, start.clone());
    let on_pictures = files_input(&client, &page, &ids, FileKind::Pictures, start.clone());
    let on_arrays = files_input(&client, &page, &ids, FileKind::Arrays, start);
    let set = |f: fn(&mut Choices, &str)| {
        let choices = choices.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            let mut c = (*choices).clone();
            f(&mut c, &value);
            choices.set(c);
        })
    };
    let toggle = |f: fn(&mut Choices, bool)| {
        let choices = choices.clone();
        Callback::from(move |e: Event| {
            let on = e.target_unchecked_into::<web_sys::HtmlInputElement>().checked();
            let mut c = (*choices).clone();
            f(&mut c, on);
            choices.set(c);
        })
    };
    let c = &*choices;
    let size = c.picture_size(declared);
    let observers = OBSERVERS.iter().map(|(k, key, label)| html! { <option value={*key} selected={*k == c.observer}>{t.s(*label)}</option> });
    let model_line = match (&page.model, declared) {
        (None, _) => html! { <p class="hint">{t.s(M::NoModel)}</p> },
        (Some(_), Some(d)) => declared_line(d, t),
        (Some(_), None) => html! {},
    };
    let from_lab = page.exported.as_ref().filter(|(_, files)| files.first().map(|f| &f.name) == page.model.as_ref().map(|m| &m.1)).map(|(_, files)| {
        let samples = props.lab.as_ref().map_or(0, |l| l.model.test.y.len());
        lab::lab_files_line(files, samples, t)
    });
    let feed_choice = |feed: Feed, label: M, testid: &'static str| {
        let choices = choices.clone();
        let onchange = Callback::from(move |_: Event| choices.set(Choices { feed, ..(*choices).clone() }));
        html! { <label><input type="radio" name="feed" checked={c.feed == feed} onchange={onchange} data-testid={testid} />{t.s(label)}</label> }
    };
    html! {
        <div class="learn model-view">
            <section class="panel" data-part="model">
                <h2>{t.s(M::Title)}</h2>
                <p class="hint">{t.s(M::Intro)}</p>
                <label class="file">{t.s(M::ModelFile)}{" "}
                    <input type="file" accept=".onnx" onchange={on_model} data-testid="model-file" />
                </label>
                { model_line }
                { for from_lab }
                { status_line(&page.status, t) }
                if running { <button onclick={cancel} data-testid="model-cancel">{t.s(M::Cancel)}</button> }
            </section>
            <section class="panel" data-part="model-data">
                <h2>{t.s(M::DataTitle)}</h2>
                <div class="row">
                    { feed_choice(Feed::Pictures, M::DataPictures, "feed-pictures") }
                    { feed_choice(Feed::Arrays, M::DataArrays, "feed-arrays") }
                    { feed_choice(Feed::Synthetic, M::DataSynthetic, "feed-synthetic") }
                </div>
                if c.feed == Feed::Pictures {
                    <div class="row">
                        <input type="file" multiple=true accept="image/png,image/jpeg" onchange={on_pictures} data-testid="model-pictures" />
                        <span>{t.f(M::PicturesChosen, &[&page.pictures.len()])}</span>
                    </div>
                    <div class="row">
                        <label>{t.s(M::Preset)}{" "}
                            <select onchange={set(|c, v| c.preset = match v { "imagenet" => Preset::ImageNet, "minus-one-one" => Preset::MinusOneOne, _ => Preset::ZeroOne })} data-testid="model-preset">
                                <option value="imagenet" selected={c.preset == Preset::ImageNet}>{t.s(M::PresetImageNet)}</option>
                                <option value="zero-one" selected={c.preset == Preset::ZeroOne}>{t.s(M::PresetZeroOne)}</option>
                                <option value="minus-one-one" selected={c.preset == Preset::MinusOneOne}>{t.s(M::PresetMinusOneOne)}</option>
                            </select>
                        </label>
                        <label>{t.s(M::Size)}{" "}
                            <input type="text" size="9" value={format!("{}x{}", size.0, size.1)} data-testid="model-size"
                                   onchange={set(|c, v| c.size = parse_size(v).or(c.size))} />
                        </label>
                        <label><input type="checkbox" checked={c.nhwc} onchange={toggle(|c, on| c.nhwc = on)} />{t.s(M::Nhwc)}</label>
                        <label><input type="checkbox" checked={c.bgr} onchange={toggle(|c, on| c.bgr = on)} />{t.s(M::Bgr)}</label>
                    </div>
                }
                if c.feed == Feed::Arrays {
                    <div class="row">
                        <input type="file" multiple=true accept=".npy,.npz" onchange={on_arrays} data-testid="model-arrays" />
                        <span>{t.f(M::ArraysChosen, &[&page.arrays.len()])}</span>
                    </div>
                }
                if c.feed == Feed::Synthetic {
                    <div class="row">
                        <label>{t.s(M::Samples)}{" "}<input type="number" min="1" max="4096" value={c.samples.to_string()} data-testid="model-samples"
                            onchange={set(|c, v| c.samples = v.parse::<usize>().map_or(c.samples, |n| n.clamp(1, 4096)))} /></label>
                        <label>{t.s(M::Seed)}{" "}<input type="number" min="0" value={c.seed.to_string()} onchange={set(|c, v| c.seed = v.parse().unwrap_or(c.seed))} /></label>
                    </div>
                }
                <div class="row">
                    <label>{t.s(M::Batch)}{" "}<input type="number" min="1" max="256" value={c.batch.to_string()} data-testid="model-batch"
                        onchange={set(|c, v| c.batch = v.parse::<usize>().map_or(c.batch, |n| n.clamp(1, 256)))} /></label>
                </div>
            </section>
            <section class="panel" data-part="model-calibration">
                <h2>{t.s(M::CalibrateTitle)}</h2>
                <div class="row">
                    <label>{t.s(M::Observer)}{" "}
                        <select data-testid="model-observer" onchange={set(|c, v| if let Some((k, _, _)) = OBSERVERS.iter().find(|o| o.1 == v) { c.observer = *k })}>{ for observers }</select>
                    </label>
                    <label><input type="checkbox" checked={c.per_channel} onchange={toggle(|c, on| c.per_channel = on)} data-testid="model-per-channel" />{t.s(M::PerChannel)}</label>
                    <label>{t.s(M::ActBits)}{" "}<input type="number" min="2" max="16" value={c.act_bits.to_string()}
                        onchange={set(|c, v| c.act_bits = v.parse::<u32>().map_or(c.act_bits, |b| b.clamp(2, 16)))} /></label>
                    <button onclick={calibrate} disabled={!ready} data-testid="model-calibrate">{t.s(M::Calibrate)}</button>
                </div>
                if let Some(d) = &page.declared {
                    <tables::LayerTable declared={d.clone()} calibrated={page.calibrated.clone()} on_open={open_activation} />
                }
            </section>
            <section class="panel" data-part="model-ptq">
                <h2>{t.s(M::PtqTitle)}</h2>
                <div class="row">
                    <label>{t.s(M::WeightBits)}{" "}<input type="number" min="2" max="16" value={c.weight_bits.to_string()} data-testid="model-weight-bits"
                        onchange={set(|c, v| c.weight_bits = v.parse::<u32>().map_or(c.weight_bits, |b| b.clamp(2, 16)))} /></label>
                    <label><input type="checkbox" checked={c.weights_only} onchange={toggle(|c, on| c.weights_only = on)} data-testid="model-weights-only" />{t.s(M::WeightsOnly)}</label>
                    <label><input type="checkbox" checked={c.fold_bn} onchange={toggle(|c, on| c.fold_bn = on)} data-testid="model-fold-bn" />{t.s(M::FoldBn)}</label>
                    <button onclick={ptq} disabled={!ready} data-testid="model-ptq">{t.s(M::RunPtq)}</button>
                </div>
                if let Some(cmp) = &page.compared { <tables::ComparisonTable compared={cmp.clone()} /> }
            </section>
        </div>
    }
}

/// `HxW` (or `H×W`) as a size of at most 8192 on each side.
pub fn parse_size(text: &str) -> Option<(u32, u32)> {
    let (h, w) = text.split_once(['x', 'X', '×'])?;
    let (h, w) = (h.trim().parse::<u32>().ok()?, w.trim().parse::<u32>().ok()?);
    ((1..=8192).contains(&h) && (1..=8192).contains(&w)).then_some((h, w))
}

#[derive(Clone, Copy, PartialEq)]
enum FileKind {
    Model,
    Pictures,
    Arrays,
}

/// A file input's handler: reads the chosen files (asynchronously, off the page's critical
/// path), hands them to the model worker and records their keys; a model is then read.
fn files_input(client: &Callback<ModelInput>, page: &UseReducerHandle<Page>, ids: &Rc<std::cell::RefCell<(u64, u64)>>, kind: FileKind, start: Callback<ModelSpec>) -> Callback<Event> {
    let (client, page, ids) = (client.clone(), page.clone(), ids.clone());
    Callback::from(move |e: Event| {
        let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
        let Some(list) = input.files() else { return };
        let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
        if files.is_empty() {
            return;
        }
        let first = {
            let mut ids = ids.borrow_mut();
            ids.1 += files.len() as u64;
            ids.1 - files.len() as u64 + 1
        };
        let (client, page, start) = (client.clone(), page.clone(), start.clone());
        #[cfg(target_arch = "wasm32")]
        wasm_bindgen_futures::spawn_local(async move {
            let mut named = Vec::new();
            for (k, f) in files.into_iter().enumerate() {
                let key = first + k as u64;
                let name = f.name();
                match gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(f)).await {
                    Ok(bytes) => {
                        client.emit(Input::Load { key, data: crate::worker::model::FileData { name: name.clone(), bytes } });
                        named.push((key, name));
                    }
                    Err(e) => return page.dispatch(Action::Unreadable(crate::ui::i18n::current().f(M::CannotRead, &[&name, &e]))),
                }
            }
            // What these files replace is let go of, in the worker and in the page.
            let replaced: Vec<u64> = match kind {
                FileKind::Model => page.model.iter().map(|m| m.0).collect(),
                FileKind::Pictures => page.pictures.iter().map(|p| p.0).collect(),
                FileKind::Arrays => page.arrays.iter().map(|p| p.0).collect(),
            };
            if !replaced.is_empty() {
                client.emit(Input::Forget { keys: replaced });
            }
            match kind {
                FileKind::Model => {
                    if let Some((key, name)) = named.pop() {
                        page.dispatch(Action::Model(key, name));
                        start.emit(ModelSpec::Open { model: key });
                    }
                }
                FileKind::Pictures => page.dispatch(Action::Pictures(named)),
                FileKind::Arrays => page.dispatch(Action::Arrays(named)),
            }
        });
        #[cfg(not(target_arch = "wasm32"))]
        let _ = (files, first, client, page, start, kind);
    })
}
