//! The model worker: real ONNX models run by tract, in a worker of their own
//! (`src/bin/model_worker.rs`, built with the `models` feature) that the page spawns only when a
//! model is opened. It keeps the files handed over (the model, pictures, arrays) and serves
//! three jobs: read a model (what it declares, and whether tract can run it), calibrate every
//! activation, and simulate PTQ per tensor and per channel side by side. Every job steps one
//! batch (or a few pictures) at a time, for progress and cancel.
//!
//! The messages are plain data, compiled without tract for the page; `Models`, the service,
//! needs the `models` feature.

use serde::{Deserialize, Serialize};

use super::wire::{Bulk, Carries};
use super::{Input, Output};
use crate::engine::model::declared::{InputInfo, NodeInfo};
use crate::engine::model::preprocess::Preprocess;
use crate::engine::model::report::{ActivationRange, CalibrationSettings, PtqSettings, Report};
use crate::engine::nn::lab::LabModel;

/// Path of the model worker's loader shim in the built app.
pub const MODEL_WORKER_PATH: &str = "./model_worker_loader.js";

/// A file handed to the model worker: its name (a relative path when a folder was given, so
/// that class folders label pictures) and bytes, which travel as a transferred buffer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileData {
    pub name: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Carries for FileData {
    fn take_bulk(&mut self) -> Option<Bulk> {
        Some(Bulk::Bytes(std::mem::take(&mut self.bytes)))
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match bulk {
            Bulk::Bytes(b) => {
                self.bytes = b;
                Ok(())
            }
            Bulk::F32(_) => Err("a file came as numbers".into()),
        }
    }
}

/// The data a model is fed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Data {
    /// PNG and JPEG files handed over, prepared for the model's first input; pictures in class
    /// folders (or named `class_…`) label themselves.
    Pictures { files: Vec<u64>, preprocess: Preprocess },
    /// `.npy`/`.npz` files handed over, matched to the inputs by name.
    Arrays { files: Vec<u64> },
    /// `samples` seeded N(0, 1) samples at each input's default shape.
    Synthetic { samples: usize, seed: u64 },
}

/// What the model worker is asked. `model` is the key its file was handed over under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelSpec {
    /// Read the model: what it declares, and whether tract can run it.
    Open { model: u64 },
    /// Run `data` through the model `batch` samples at a time, every activation observed.
    Calibrate { model: u64, data: Data, batch: usize, settings: CalibrationSettings },
    /// Simulate PTQ on `data` (calibration and evaluation alike) twice: weights per tensor and
    /// per channel (`settings.per_channel` is ignored), everything else the same.
    Ptq { model: u64, data: Data, batch: usize, settings: PtqSettings },
    /// Time the model's workloads (`engine::model::bench`: a plain run, a calibration run, the
    /// PTQ simulation's quantized run) on `data` as one batch: one warm-up call of each, then
    /// `runs` timed ones. For the benchmark page.
    Bench { model: u64, data: Data, runs: usize },
    /// Write the Lab's model as ONNX with its test split and labels
    /// (`engine::io::onnx::export::lab_files`, in the model worker only), for the page to open.
    Export { lab: Box<LabModel> },
}

/// What a job is busy with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Reading,
    /// Decoding and preparing pictures.
    Preparing,
    Calibrating,
    /// A PTQ simulation: per tensor, then per channel.
    Simulating { per_channel: bool },
    /// Timing the benchmark's workloads.
    Timing,
}

/// What a model declares, and whether tract can run it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Declared {
    pub file: String,
    pub inputs: Vec<InputInfo>,
    pub outputs: Vec<String>,
    pub nodes: Vec<NodeInfo>,
    /// Why tract cannot run the model (its message names the node and op), if it cannot.
    pub cannot_run: Option<String>,
}

/// A calibration's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrated {
    pub samples: usize,
    pub batches: usize,
    pub synthetic: bool,
    pub activations: Vec<ActivationRange>,
}

/// A model's workloads timed in the model worker, in milliseconds per call (the warm-up call of
/// each left out).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// The inputs' shapes: the data, as one batch.
    pub shapes: Vec<Vec<usize>>,
    pub synthetic: bool,
    pub run: Vec<f64>,
    pub calibrate: Vec<f64>,
    pub ptq: Vec<f64>,
}

/// PTQ per tensor and per channel on the same model and data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Compared {
    pub per_tensor: Report,
    pub per_channel: Report,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ModelResult {
    Opened(Box<Declared>),
    Calibrated(Box<Calibrated>),
    Compared(Box<Compared>),
    Timed(Box<Timings>),
    /// The Lab's model, test split and labels, as files.
    Exported(Files),
}

/// Files in one buffer (a message carries one): names and sizes in order, the bytes end to end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Files {
    pub names: Vec<(String, usize)>,
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl Files {
    pub fn new(files: impl IntoIterator<Item = (String, Vec<u8>)>) -> Files {
        let mut out = Files::default();
        for (name, bytes) in files {
            out.names.push((name, bytes.len()));
            out.bytes.extend(bytes);
        }
        out
    }

    /// Each file with its bytes (`None` if the sizes do not add up to the bytes).
    pub fn files(&self) -> Option<Vec<FileData>> {
        let mut at = 0usize;
        let mut out = Vec::with_capacity(self.names.len());
        for (name, size) in &self.names {
            let end = at.checked_add(*size).filter(|&e| e <= self.bytes.len())?;
            out.push(FileData { name: name.clone(), bytes: self.bytes[at..end].to_vec() });
            at = end;
        }
        (at == self.bytes.len()).then_some(out)
    }
}

/// Exported files carry their bytes as the message's bulk data; other results carry none.
impl Carries for ModelResult {
    fn take_bulk(&mut self) -> Option<Bulk> {
        match self {
            ModelResult::Exported(files) => Some(Bulk::Bytes(std::mem::take(&mut files.bytes))),
            _ => None,
        }
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match (self, bulk) {
            (ModelResult::Exported(files), Bulk::Bytes(b)) => {
                files.bytes = b;
                Ok(())
            }
            _ => Err("a model result came with data it does not carry".into()),
        }
    }
}

pub type ModelInput = Input<ModelSpec, FileData>;
pub type ModelOutput = Output<Stage, ModelResult>;

#[cfg(feature = "models")]
pub use service::Models;

#[cfg(feature = "models")]
mod service {
    use std::collections::HashMap;

    use super::*;
    use crate::engine::model::bench::{Workload, Workloads};
    use crate::engine::model::calibrate::Calibration;
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
                    let declared = Declared { file: m.file.clone(), inputs: m.inputs.clone(), outputs: m.outputs.clone(), nodes: m.nodes.clone(), cannot_run };
                    Ok(Step::Done(ModelResult::Opened(Box::new(declared))))
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::report::PerTensorOrChannel;
    use crate::worker::wire::{join, split};

    fn range(name: &str, scale: PerTensorOrChannel<f32>, zero_point: PerTensorOrChannel<i32>) -> ActivationRange {
        let ch_axis = matches!(scale, PerTensorOrChannel::Channel(_)).then_some(1);
        ActivationRange { name: name.into(), node: "n".into(), op: "Conv".into(), shape: vec![1, 2], min_val: -1.0, max_val: f32::INFINITY, abs_max: 3.0, ch_axis, scale, zero_point, channel_range_ratio: None, non_finite: 2 }
    }

    /// Results cross the wire whole (per-tensor and per-channel values alike), and JSON writes
    /// the values bare, as the CLI's report shows them.
    #[test]
    fn results_cross_the_wire_and_json_stays_bare() {
        let calibrated = Calibrated {
            samples: 3,
            batches: 2,
            synthetic: true,
            activations: vec![
                range("a", PerTensorOrChannel::Tensor(0.5), PerTensorOrChannel::Tensor(3)),
                range("b", PerTensorOrChannel::Channel(vec![0.5, 0.25]), PerTensorOrChannel::Channel(vec![0, 1])),
            ],
        };
        let out: ModelOutput = Output::Done { id: 4, result: ModelResult::Calibrated(Box::new(calibrated.clone())) };
        let (head, bulk) = split(out.clone()).unwrap();
        assert_eq!(join::<ModelOutput>(&head, bulk).unwrap(), out);
        let json = serde_json::to_value(&calibrated.activations).unwrap();
        assert_eq!((json[0]["scale"].clone(), json[1]["zero_point"].clone()), (serde_json::json!(0.5), serde_json::json!([0, 1])));
        let back: PerTensorOrChannel<f32> = serde_json::from_value(json[1]["scale"].clone()).unwrap();
        assert_eq!(back, calibrated.activations[1].scale);
        // Exported files travel as one buffer beside the head, and come apart again.
        let files = Files::new([("m.onnx".to_string(), vec![1, 2, 3]), ("e.npy".to_string(), vec![]), ("l.npy".to_string(), vec![9])]);
        let out: ModelOutput = Output::Done { id: 5, result: ModelResult::Exported(files.clone()) };
        let (head, bulk) = split(out.clone()).unwrap();
        assert!(matches!(&bulk, Some(Bulk::Bytes(b)) if b == &[1, 2, 3, 9]), "the bytes travel as the bulk");
        let back = join::<ModelOutput>(&head, bulk).unwrap();
        assert_eq!(back, out);
        let Output::Done { result: ModelResult::Exported(back), .. } = back else { unreachable!() };
        let named: Vec<(String, Vec<u8>)> = back.files().unwrap().into_iter().map(|f| (f.name, f.bytes)).collect();
        assert_eq!(named, [("m.onnx".to_string(), vec![1, 2, 3]), ("e.npy".to_string(), vec![]), ("l.npy".to_string(), vec![9])]);
        assert_eq!(Files { names: vec![("x".into(), 4)], bytes: vec![0; 3] }.files(), None, "sizes past the bytes");
        // A file's bytes travel beside the head.
        let load: ModelInput = Input::Load { key: 2, data: FileData { name: "m.onnx".into(), bytes: vec![1, 2, 3] } };
        let (head, bulk) = split(load.clone()).unwrap();
        assert!(head.len() < 32 && bulk.is_some());
        assert_eq!(join::<ModelInput>(&head, bulk).unwrap(), load);
    }
}
