//! The model worker's service: the files handed over, the model last read, and the jobs, each
//! stepped one batch (or a few pictures) at a time.

use std::collections::HashMap;

use super::*;
use crate::engine::model::bench::{Workload, Workloads};
use crate::engine::model::calibrate::Calibration;
use crate::engine::model::capture::Capturing;
use crate::engine::model::feed::{concat_rows, is_labels_file, synthetic};
use crate::engine::model::ptq::Simulation;
use crate::engine::model::{images, Dataset, Model, ModelError, Runner, Runners};
use crate::engine::tensor::Tensor;
use crate::worker::{Service, Step};

/// A dataset ready to feed, with the labels its pictures' names give.
type Ready = (Dataset, Option<Vec<usize>>);

/// Pictures decoded per step.
const PICTURES_PER_STEP: usize = 4;

/// The model worker's files and the model last read.
#[derive(Default)]
pub struct Models {
    files: HashMap<u64, FileData>,
    /// The model read from file `key`.
    model: Option<(u64, Model)>,
}

/// Data being made ready: pictures decoded a few at a time.
pub struct Preparing {
    data: Data,
    next: usize,
    pictures: Option<Tensor>,
}

pub enum ModelJob {
    Open(u64),
    Export(Box<LabModel>),
    Calibrate { preparing: Option<Preparing>, ready: Option<Ready>, batch: usize, calibration: Calibration, runners: Runners, done: usize },
    Ptq { preparing: Option<Preparing>, ready: Option<Ready>, sims: Vec<Simulation>, reports: Vec<Report> },
    Bench(Box<Bench>),
    Capture { preparing: Option<Preparing>, ready: Option<Ready>, capturing: Box<Capturing> },
    Weight(String),
    Read(bool),
}

/// A benchmark under way: the workload (of [`Workload::ALL`]) being timed, and whether its
/// warm-up call is done.
pub struct Bench {
    preparing: Option<Preparing>,
    ready: Option<Ready>,
    runs: usize,
    workloads: Option<Workloads>,
    timings: Timings,
    at: usize,
    warm: bool,
}

/// The timings of `w`.
fn times(t: &mut Timings, w: Workload) -> &mut Vec<f64> {
    match w {
        Workload::Run => &mut t.run,
        Workload::Calibrate => &mut t.calibrate,
        Workload::Ptq => &mut t.ptq,
    }
}

/// Milliseconds from an arbitrary start: `performance.now()` in the browser.
#[cfg(target_arch = "wasm32")]
fn now_ms() -> f64 {
    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(js_namespace = performance, js_name = now)]
        fn performance_now() -> f64;
    }
    performance_now()
}

#[cfg(not(target_arch = "wasm32"))]
fn now_ms() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1e3
}

impl Models {
    /// The model read from file `key` (read again only when another file is asked for).
    fn model(&mut self, key: u64) -> Result<&Model, String> {
        if self.model.as_ref().is_none_or(|(k, _)| *k != key) {
            let file = self.files.get(&key).ok_or("the model was never handed to the model worker")?;
            self.model = Some((key, Model::read(&file.name, &file.bytes).map_err(|e| e.to_string())?));
        }
        Ok(&self.model.as_ref().expect("read just above").1)
    }

    /// The weights of file `key` in graph order, batch norm folded (as PTQ folds it), with the
    /// node that reads each.
    fn weights(&self, key: u64) -> Result<crate::engine::io::onnx::Read, String> {
        let f = file(&self.files, key)?;
        crate::engine::io::onnx::read_with_uses(&f.name, &f.bytes, true).map_err(|e| e.to_string())
    }

    /// One step of making the data ready, while it is not: its progress (`None` once
    /// `ready` holds it).
    fn get_ready(&mut self, key: u64, preparing: &mut Option<Preparing>, ready: &mut Option<Ready>) -> Result<Option<Step<Stage, ModelResult>>, String> {
        let Some(p) = preparing.as_mut() else { return Ok(None) };
        match self.prepare(key, p)? {
            None => Ok(Some(preparing_progress(p))),
            Some(r) => {
                *ready = Some(r);
                *preparing = None;
                Ok(None)
            }
        }
    }

    /// One step of making `p` ready for model `key`.
    fn prepare(&mut self, key: u64, p: &mut Preparing) -> Result<Option<Ready>, String> {
        self.model(key)?;
        let m = &self.model.as_ref().expect("read just above").1;
        prepare(&self.files, m, p)
    }
}

fn file(files: &HashMap<u64, FileData>, key: u64) -> Result<&FileData, String> {
    files.get(&key).ok_or_else(|| "a file was never handed to the model worker".to_string())
}

/// One step of making `p` ready: a few pictures decoded, or the arrays read or drawn. `Some`
/// once the dataset (and the labels the pictures' names give) is ready.
fn prepare(files: &HashMap<u64, FileData>, m: &Model, p: &mut Preparing) -> Result<Option<Ready>, String> {
    match &p.data {
        Data::Synthetic { samples, seed } => {
            let arrays = synthetic(m, *samples, *seed).map_err(|e| e.to_string())?;
            Ok(Some((Dataset::new(m, arrays).map_err(|e| e.to_string())?, None)))
        }
        Data::Arrays { files: keys } => {
            let (mut arrays, mut labels) = (Vec::new(), None);
            for &k in keys {
                let f = file(files, k)?;
                let lower = f.name.to_ascii_lowercase();
                if !(lower.ends_with(".npy") || lower.ends_with(".npz")) {
                    return Err(format!("{}: inputs are .npy or .npz arrays, or PNG/JPEG pictures", f.name));
                }
                if is_labels_file(m, &f.name) {
                    labels = Some(crate::engine::io::npy::read_labels(&f.name, &f.bytes).map_err(|e| e.to_string())?);
                    continue;
                }
                arrays.extend(crate::engine::io::load(&f.name, &f.bytes, Default::default()).map_err(|e| e.to_string())?);
            }
            Ok(Some((Dataset::new(m, arrays).map_err(|e| e.to_string())?, labels)))
        }
        Data::Pictures { files: keys, preprocess } => {
            if m.inputs.len() != 1 {
                return Err(format!("{}: pictures feed a model with one input; this one has {}", m.file, m.inputs.len()));
            }
            if keys.is_empty() {
                return Err("no pictures were given".into());
            }
            let end = (p.next + PICTURES_PER_STEP).min(keys.len());
            let chunk = keys[p.next..end].iter().map(|&k| file(files, k).map(|f| (f.name.clone(), f.bytes.clone()))).collect::<Result<Vec<_>, _>>()?;
            let part = images::batch(&m.inputs[0].name, &chunk, preprocess)?;
            match p.pictures.as_mut() {
                None => p.pictures = Some(part),
                Some(all) => concat_rows(all, part)?,
            }
            p.next = end;
            if end < keys.len() {
                return Ok(None);
            }
            let names = keys.iter().map(|&k| file(files, k).map(|f| f.name.clone())).collect::<Result<Vec<_>, _>>()?;
            let labels = images::labels_from_names(&names).map(|(l, _)| l);
            let pictures = p.pictures.take().expect("decoded above");
            Ok(Some((Dataset::new(m, vec![pictures]).map_err(|e| e.to_string())?, labels)))
        }
    }
}

/// The layer table's rows of the weights `read` (in graph order): each with the node of `nodes`
/// that reads it first (the engine's [`crate::engine::io::onnx::Use`], named as `nodes` are), or
/// for a weight inside a subgraph the node that holds the subgraph; none for a weight nothing
/// reads.
fn weights(nodes: &[NodeInfo], read: crate::engine::io::onnx::Read) -> Vec<Weight> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().rev().map(|(k, n)| (n.name.as_str(), k)).collect();
    // A subgraph's node is named `holder.attribute/inner`.
    let holder = |name: &str| nodes.iter().position(|n| name.strip_prefix(n.name.as_str()).is_some_and(|rest| rest.starts_with('.') && rest.contains('/')));
    read.tensors
        .iter()
        .map(|t| {
            let r = crate::engine::views::inspect::inspect(t);
            let used = read.uses.get(&t.name);
            let node = used.and_then(|u| index.get(u.node.as_str()).copied().or_else(|| holder(&u.node)));
            let (op, input) = used.filter(|_| node.is_some()).map_or((String::new(), 0), |u| (u.op.clone(), u.input));
            Weight { name: r.name, node, op, input, shape: r.shape, dtype: r.dtype, summary: r.summary, channel_range_ratio: r.channel_range_ratio }
        })
        .collect()
}

/// Progress of preparing: pictures decoded of all.
fn preparing_progress(p: &Preparing) -> Step<Stage, ModelResult> {
    let total = match &p.data {
        Data::Pictures { files, .. } => files.len(),
        _ => 1,
    };
    Step::Progress { done: p.next, total, detail: Stage::Preparing }
}

impl Service for Models {
    type Spec = ModelSpec;
    type Load = FileData;
    type Detail = Stage;
    type Result = ModelResult;
    type Job = (u64, ModelJob);

    fn load(&mut self, key: u64, data: FileData) {
        self.forget(key);
        self.files.insert(key, data);
    }

    fn forget(&mut self, key: u64) {
        if self.model.as_ref().is_some_and(|(k, _)| *k == key) {
            self.model = None;
        }
        self.files.remove(&key);
    }

    fn start(&mut self, spec: ModelSpec) -> Result<(u64, ModelJob), String> {
        Ok(match spec {
            ModelSpec::Open { model } => (model, ModelJob::Open(model)),
            ModelSpec::Export { lab } => (0, ModelJob::Export(lab)),
            ModelSpec::Weight { model, name } => (model, ModelJob::Weight(name)),
            ModelSpec::Read { model, fold_bn } => (model, ModelJob::Read(fold_bn)),
            ModelSpec::Capture { model, data, batch, activation } => {
                let preparing = Some(Preparing { data, next: 0, pictures: None });
                (model, ModelJob::Capture { preparing, ready: None, capturing: Box::new(Capturing::new(&activation, batch)) })
            }
            ModelSpec::Bench { model, data, runs } => {
                let preparing = Some(Preparing { data, next: 0, pictures: None });
                let bench = Bench { preparing, ready: None, runs: runs.max(1), workloads: None, timings: Timings::default(), at: 0, warm: false };
                (model, ModelJob::Bench(Box::new(bench)))
            }
            ModelSpec::Calibrate { model, data, batch, settings } => {
                let calibration = Calibration::new(&settings)?;
                let runners = calibration.runners();
                (model, ModelJob::Calibrate { preparing: Some(Preparing { data, next: 0, pictures: None }), ready: None, batch: batch.max(1), calibration, runners, done: 0 })
            }
            ModelSpec::Ptq { model, data, batch, settings } => {
                let m = self.model(model)?;
                let sims = [false, true]
                    .into_iter()
                    .map(|per_channel| Simulation::new(m, batch.max(1), &PtqSettings { per_channel, ..settings }))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                (model, ModelJob::Ptq { preparing: Some(Preparing { data, next: 0, pictures: None }), ready: None, sims, reports: Vec::new() })
            }
        })
    }

    fn step(&mut self, (key, job): &mut (u64, ModelJob)) -> Result<Step<Stage, ModelResult>, String> {
        let key = *key;
        match job {
            ModelJob::Open(_) => {
                let m = self.model(key)?;
                // A plan at the default shapes: an op or a shape tract cannot handle is the
                // model's. An input that declares no shape is for the data to settle (a plan
                // at a guessed rank would fail for the guess, not for the model).
                let shapes: Vec<Vec<usize>> = m.inputs.iter().map(InputInfo::default_shape).collect();
                let declared = m.inputs.iter().all(|i| i.dims.is_some());
                let cannot_run = match declared.then(|| Runner::new(m, &shapes, false)) {
                    Some(Err(e @ (ModelError::Node { .. } | ModelError::File { .. }))) => Some(e.to_string()),
                    _ => None,
                };
                let (file, nodes) = (m.file.clone(), m.nodes.clone());
                let (inputs, outputs) = (m.inputs.clone(), m.outputs.clone());
                let weights = weights(&nodes, self.weights(key)?);
                let declared = Declared { file, inputs, outputs, nodes, cannot_run, weights };
                Ok(Step::Done(ModelResult::Opened(Box::new(declared))))
            }
            ModelJob::Read(fold_bn) => {
                let f = file(&self.files, key)?;
                let read = crate::engine::io::onnx::read_with_uses(&f.name, &f.bytes, *fold_bn);
                Ok(Step::Done(ModelResult::Read(Box::new(WeightsRead::new(read)))))
            }
            ModelJob::Weight(name) => {
                let t = self.weights(key)?.tensors.into_iter().find(|t| t.name == *name).ok_or_else(|| format!("the model has no weight “{name}”"))?;
                let v = Values { name: t.name, shape: t.shape, weight: true, batch_rows: 0, batches: 0, synthetic: false, values: t.data };
                Ok(Step::Done(ModelResult::Captured(Box::new(v))))
            }
            ModelJob::Export(lab) => {
                let files = crate::engine::io::onnx::export::lab_files(lab)?;
                Ok(Step::Done(ModelResult::Exported(Files::new(files))))
            }
            ModelJob::Calibrate { preparing, ready, batch, calibration, runners, done } => {
                if let Some(progress) = self.get_ready(key, preparing, ready)? {
                    return Ok(progress);
                }
                let (data, _) = ready.as_ref().expect("prepared above");
                let total = data.batch_count(*batch);
                let m = self.model(key)?;
                let inputs = data.batch(*done, *batch);
                calibration.run(runners.for_inputs(m, &inputs).map_err(|e| e.to_string())?, &inputs).map_err(|e| e.to_string())?;
                *done += 1;
                if *done < total {
                    return Ok(Step::Progress { done: *done, total, detail: Stage::Calibrating });
                }
                let calibrated = Calibrated { samples: data.samples(), batches: calibration.batches(), synthetic: data.is_synthetic(), activations: calibration.ranges() };
                Ok(Step::Done(ModelResult::Calibrated(Box::new(calibrated))))
            }
            ModelJob::Ptq { preparing, ready, sims, reports } => {
                if let Some(progress) = self.get_ready(key, preparing, ready)? {
                    return Ok(progress);
                }
                let (data, labels) = ready.as_ref().expect("prepared above");
                let k = reports.len();
                if let Some(report) = sims[k].step(data, data, labels.as_deref()).map_err(|e| e.to_string())? {
                    reports.push(report);
                }
                if reports.len() == sims.len() {
                    let per_channel = reports.pop().expect("two reports");
                    let per_tensor = reports.pop().expect("two reports");
                    return Ok(Step::Done(ModelResult::Compared(Box::new(Compared { per_tensor, per_channel }))));
                }
                let (done, each) = sims[reports.len()].progress(data, data);
                Ok(Step::Progress { done: reports.len() * each + done, total: sims.len() * each, detail: Stage::Simulating { per_channel: reports.len() == 1 } })
            }
            ModelJob::Capture { preparing, ready, capturing } => {
                if let Some(progress) = self.get_ready(key, preparing, ready)? {
                    return Ok(progress);
                }
                let (data, _) = ready.as_ref().expect("prepared above");
                let m = self.model(key)?;
                match capturing.step(m, data).map_err(|e| e.to_string())? {
                    None => {
                        let (done, total) = capturing.progress(data);
                        Ok(Step::Progress { done, total, detail: Stage::Capturing })
                    }
                    Some(c) => {
                        let a = Values { name: c.tensor.name, shape: c.tensor.shape, weight: false, batch_rows: c.batch_rows, batches: c.batches, synthetic: data.is_synthetic(), values: c.tensor.data };
                        Ok(Step::Done(ModelResult::Captured(Box::new(a))))
                    }
                }
            }
            ModelJob::Bench(b) => {
                if let Some(progress) = self.get_ready(key, &mut b.preparing, &mut b.ready)? {
                    return Ok(progress);
                }
                let per = b.runs + 1;
                let total = Workload::ALL.len() * per;
                let Some(workloads) = b.workloads.as_mut() else {
                    let (data, _) = b.ready.as_ref().expect("prepared above");
                    let inputs = data.batch(0, data.samples().max(1));
                    let m = self.model(key)?.clone();
                    let workloads = Workloads::new(m, inputs).map_err(|e| e.to_string())?;
                    b.timings.shapes = workloads.shapes();
                    b.timings.synthetic = data.is_synthetic();
                    b.workloads = Some(workloads);
                    return Ok(Step::Progress { done: 0, total, detail: Stage::Timing });
                };
                let w = Workload::ALL[b.at];
                let t0 = now_ms();
                workloads.run(w).map_err(|e| e.to_string())?;
                let ms = now_ms() - t0;
                if b.warm {
                    times(&mut b.timings, w).push(ms);
                }
                b.warm = true;
                if times(&mut b.timings, w).len() == b.runs {
                    (b.at, b.warm) = (b.at + 1, false);
                    if b.at == Workload::ALL.len() {
                        return Ok(Step::Done(ModelResult::Timed(Box::new(std::mem::take(&mut b.timings)))));
                    }
                }
                let done = b.at * per + times(&mut b.timings, Workload::ALL[b.at]).len() + usize::from(b.warm);
                Ok(Step::Progress { done, total, detail: Stage::Timing })
            }
        }
    }
}
