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
use crate::engine::io::onnx::quantized::Stored;
use crate::engine::io::onnx::{Read, Use};
use crate::engine::io::LoadError;
use crate::engine::statistics::stats::Summary;
use crate::engine::tensor::Tensor;
use crate::engine::views::inspect::TensorReport;
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
    /// Run `data` `batch` samples at a time, as a calibration does, and keep one activation's
    /// values over all of it: for the Explorer, whose dynamics view replays those batches.
    Capture { model: u64, data: Data, batch: usize, activation: String },
    /// One weight's values (batch norm folded, as [`Declared::weights`] lists them), for the
    /// Explorer.
    Weight { model: u64, name: String },
    /// Read an ONNX file's weights for the Explorer's layer browser, batch norm folded or not:
    /// the engine's reader, here where tract's protobuf types are.
    Read { model: u64, fold_bn: bool },
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
    /// Running batches to keep one activation.
    Capturing,
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
    /// Its weights in graph order, batch norm folded into the convolutions as PTQ folds it.
    pub weights: Vec<Weight>,
}

/// A weight of the model as the Model view's layer table lists it: where it is read, and its
/// statistics (those of the Explorer's layer browser).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    pub name: String,
    /// The first node (in [`Declared::nodes`]) that reads it, that node's op and the input it
    /// is; no node for a weight inside a subgraph or read by none.
    pub node: Option<usize>,
    pub op: String,
    pub input: usize,
    pub shape: Vec<usize>,
    pub dtype: String,
    pub summary: Summary,
    pub channel_range_ratio: Option<f64>,
}

impl Weight {
    /// Its row of the layer browser.
    pub fn report(&self) -> TensorReport {
        TensorReport { name: self.name.clone(), shape: self.shape.clone(), dtype: self.dtype.clone(), summary: self.summary, channel_range_ratio: self.channel_range_ratio }
    }
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

/// A tensor's values kept by the model worker for the Explorer, in `shape`: one activation's
/// over the data (`engine::model::capture`, the batches' rows end to end along the first axis),
/// or a weight's. The values travel as the message's bulk.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Values {
    pub name: String,
    pub shape: Vec<usize>,
    /// A weight's (no batches), not an activation's.
    pub weight: bool,
    /// Rows each batch gave (the last may have given fewer), and how many batches ran.
    pub batch_rows: usize,
    pub batches: usize,
    pub synthetic: bool,
    #[serde(skip)]
    pub values: Vec<f32>,
}

/// An ONNX file's weights as the engine reads them (`engine::io::onnx::Read`), for the page: each
/// tensor's name, shape and stored type in graph order, their values end to end (the message's
/// bulk), where each is read and how quantized ones are stored; or why the file cannot be read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeightsRead {
    pub tensors: Vec<(String, Vec<usize>, String)>,
    pub uses: Vec<(String, Use)>,
    pub stored: Vec<(String, Stored)>,
    pub error: Option<LoadError>,
    #[serde(skip)]
    pub values: Vec<f32>,
}

impl WeightsRead {
    pub fn new(read: Result<Read, LoadError>) -> WeightsRead {
        match read {
            Err(e) => WeightsRead { error: Some(e), ..Default::default() },
            Ok(r) => WeightsRead {
                tensors: r.tensors.iter().map(|t| (t.name.clone(), t.shape.clone(), t.stored_as.clone())).collect(),
                values: r.tensors.into_iter().flat_map(|t| t.data).collect(),
                uses: r.uses.into_iter().collect(),
                stored: r.stored.into_iter().collect(),
                error: None,
            },
        }
    }

    /// The engine's `Read` again (`file` names a message about values that do not add up).
    pub fn into_read(self, file: &str) -> Result<Read, LoadError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut at = 0usize;
        let mut tensors = Vec::with_capacity(self.tensors.len());
        for (name, shape, stored_as) in self.tensors {
            let end = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).and_then(|n| at.checked_add(n)).filter(|&e| e <= self.values.len());
            let end = end.ok_or_else(|| LoadError::new(file, Some(&name), "the model worker sent fewer values than the shapes hold"))?;
            tensors.push(Tensor { name, shape, data: self.values[at..end].to_vec(), stored_as });
            at = end;
        }
        Ok(Read { tensors, uses: self.uses.into_iter().collect(), stored: self.stored.into_iter().collect() })
    }
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
    Captured(Box<Values>),
    Read(Box<WeightsRead>),
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

/// Exported files and a captured activation carry their bytes or values as the message's bulk
/// data; other results carry none.
impl Carries for ModelResult {
    fn take_bulk(&mut self) -> Option<Bulk> {
        match self {
            ModelResult::Exported(files) => Some(Bulk::Bytes(std::mem::take(&mut files.bytes))),
            ModelResult::Captured(a) => Some(Bulk::F32(std::mem::take(&mut a.values))),
            ModelResult::Read(r) => Some(Bulk::F32(std::mem::take(&mut r.values))),
            _ => None,
        }
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match (self, bulk) {
            (ModelResult::Exported(files), Bulk::Bytes(b)) => {
                files.bytes = b;
                Ok(())
            }
            (ModelResult::Captured(a), Bulk::F32(v)) => {
                a.values = v;
                Ok(())
            }
            (ModelResult::Read(r), Bulk::F32(v)) => {
                r.values = v;
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
mod service;

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
