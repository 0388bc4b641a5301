//! Post-training quantization of a real model, simulated and explained layer by layer.
//!
//! 1. Batch norm is folded into its Conv (optional, as `--fold-bn`).
//! 2. Weights are fake-quantized in the model ([`weights`]): symmetric min/max, per tensor or
//!    per output channel, at any bit width.
//! 3. Activations are calibrated on the float model and fake-quantized where an int8 runtime
//!    quantizes them ([`placement`]), with [`fakequant::FakeQuant`] ops in tract's graph.
//! 4. The float and the quantized model run side by side on evaluation batches: the output's
//!    SQNR, top-1 agreement and accuracy, and each layer's SQNR: local (the layer alone, fed the
//!    float input, [`local`]), cumulative (the quantized model's own value against the float
//!    one) and, for the weights, against the float weight.

pub mod fakequant;
pub mod local;
pub mod placement;
pub mod weights;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::calibrate::{Calibration, PerTensorOrChannel, Settings as CalibrationSettings};
use super::feed::Dataset;
use super::graph::Model;
use super::runner::Runner;
use super::ModelError;
use crate::engine::io::onnx::fold::fold_batch_norms;
use crate::engine::observer::{Common, ObserverKind};
use crate::engine::quantizer::qparams::{QParams, QRange, QScheme};
use crate::engine::statistics::stats::{sqnr_energies, sqnr_from_energies};
use crate::engine::tensor::Tensor;
use fakequant::FakeQuant;

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// Weight bits, 2 to 16 (symmetric, signed codes).
    pub weight_bits: u32,
    /// One scale per output channel of each weight, rather than one per tensor.
    pub per_channel: bool,
    /// Activation bits, 2 to 16 (affine, unsigned codes); `None` leaves activations in float.
    pub act_bits: Option<u32>,
    /// The activations' observer (min/max by default, as onnxruntime's and PyTorch's).
    pub act_observer: ObserverKind,
    pub fold_bn: bool,
}

/// One layer of the report, in graph order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerReport {
    /// The value the layer makes (its ONNX output name), the node and its op.
    pub name: String,
    pub node: String,
    pub op: String,
    /// SQNR of the layer's fake-quantized weight (layers with a weight).
    pub weight_sqnr_db: Option<f64>,
    /// SQNR of the layer run alone on the float model's input to it (its own quantizers only)
    /// against the float value: what the layer costs by itself.
    pub local_sqnr_db: Option<f64>,
    /// SQNR of the quantized model's value against the float model's, over the evaluation data:
    /// what the layer costs with everything before it.
    pub cumulative_sqnr_db: Option<f64>,
    /// Whether an activation quantizer sits on this value.
    pub act_quantized: bool,
}

/// The outcome of a PTQ simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub output_sqnr_db: Option<f64>,
    /// How often the quantized model's top class (argmax over the first output's last axis)
    /// equals the float model's.
    pub top1_agreement: f64,
    /// Accuracy of the quantized and the float model, when labels are given.
    pub accuracy: Option<f64>,
    pub fp32_accuracy: Option<f64>,
    /// Batch norms folded.
    pub folded: usize,
    pub eval_samples: usize,
    pub layers: Vec<LayerReport>,
}

/// Running sums of squares for an SQNR.
#[derive(Clone, Copy, Default)]
struct Energy {
    signal: f64,
    noise: f64,
}

impl Energy {
    fn add(&mut self, x: &[f32], xhat: &[f32]) {
        let (signal, noise, _) = sqnr_energies(x, xhat);
        self.signal += signal;
        self.noise += noise;
    }

    fn db(self) -> Option<f64> {
        sqnr_from_energies(self.signal, self.noise)
    }
}

/// Index of the largest value of each row of `data` (rows of `width`).
fn argmax_rows(data: &[f32], width: usize) -> Vec<usize> {
    data.chunks(width.max(1)).map(crate::engine::nn::quant::argmax).collect()
}

/// The unsigned range of `bits`-bit activation codes.
fn act_range(bits: u32) -> Result<QRange, String> {
    if !(2..=16).contains(&bits) {
        return Err(format!("activation bits must be 2 to 16, not {bits}"));
    }
    QRange::for_dtype(crate::engine::quantizer::qparams::DType::QUInt8, Some((0, (1i64 << bits) - 1)), false).map_err(|e| e.to_string())
}

/// Simulates PTQ of `model`: calibrates on `calib`, evaluates on `eval` (batches of `batch`),
/// with `labels` (one class per evaluation sample) when given.
pub fn simulate(model: &Model, calib: &Dataset, eval: &Dataset, batch: usize, labels: Option<&[usize]>, settings: &Settings) -> Result<Report, ModelError> {
    let file = model.file.as_str();
    let mut proto = model.proto.clone();
    let graph = proto.graph.as_mut().ok_or_else(|| ModelError::file(file, "the model has no graph"))?;
    let folded = if settings.fold_bn { fold_batch_norms(file, graph).map_err(|e| ModelError::file(file, e.problem))?.len() } else { 0 };
    let float = Model::from_proto(file, proto.clone())?;
    let qweights = weights::quantize_weights(file, proto.graph.as_mut().expect("checked"), settings.weight_bits, settings.per_channel).map_err(|e| ModelError::file(file, e.to_string()))?;
    let quantized_weights = Model::from_proto(file, proto)?;

    // Activation ranges, calibrated on the float (folded) model.
    let mut quantizers: Vec<(String, FakeQuant)> = Vec::new();
    if let Some(bits) = settings.act_bits {
        let range = act_range(bits).map_err(|e| ModelError::file(file, e))?;
        let places = placement::act_quant_values(&float);
        let cal_settings = CalibrationSettings { observer: settings.act_observer, common: Common { scheme: QScheme::Affine, range }, per_channel: false };
        let mut calibration = Calibration::new(&cal_settings).map_err(|e| ModelError::file(file, e))?;
        let mut runners = calibration.runners(&float);
        for i in 0..calib.batch_count(batch) {
            let inputs = calib.batch(i, batch);
            let runner = runners.for_inputs(&inputs)?;
            calibration.run(runner, &inputs)?;
        }
        let ranges = calibration.ranges();
        for r in ranges.into_iter().filter(|r| places.contains(&r.name)) {
            if let (PerTensorOrChannel::Tensor(scale), PerTensorOrChannel::Tensor(zero_point)) = (r.scale, r.zero_point) {
                quantizers.push((r.name, FakeQuant { params: QParams { scale, zero_point }, range }));
            }
        }
        // Model inputs that feed quantized layers are quantized too, from their own range.
        for input in placement::quantized_inputs(&float) {
            let mut observer = settings.act_observer.build(Common { scheme: QScheme::Affine, range }, crate::engine::observer::Granularity::PerTensor).map_err(|e| ModelError::file(file, e.to_string()))?;
            let Some(k) = float.inputs.iter().position(|i| i.name == input) else { continue };
            for i in 0..calib.batch_count(batch) {
                let b = calib.batch(i, batch);
                observer.observe(&b[k].data, &b[k].shape).map_err(|e| ModelError::input(file, &input, e.to_string()))?;
            }
            quantizers.push((input, FakeQuant { params: observer.qparams()[0], range }));
        }
    }

    // Evaluation: the float and the quantized model side by side.
    let mut fp_runners: Vec<Runner> = Vec::new();
    let mut q_runners: Vec<Runner> = Vec::new();
    let mut out_energy = Energy::default();
    let mut layer_energy: Vec<Energy> = Vec::new();
    let (mut agree, mut rows, mut correct, mut fp_correct) = (0usize, 0usize, 0usize, 0usize);
    let mut names: Vec<(String, String, String)> = Vec::new();
    // Layers run alone, per set of input shapes: the weighted layers and the quantized values.
    let mut locals: Vec<HashMap<String, Option<local::LocalLayer>>> = Vec::new();
    let mut local_energy: HashMap<String, Energy> = HashMap::new();
    let local_names: HashSet<String> = qweights.iter().map(|w| w.output.clone()).chain(quantizers.iter().map(|(n, _)| n.clone())).collect();
    for i in 0..eval.batch_count(batch) {
        let inputs = eval.batch(i, batch);
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape.clone()).collect();
        let k = match fp_runners.iter().position(|r| r.input_shapes() == shapes) {
            Some(k) => k,
            None => {
                fp_runners.push(Runner::new(&float, &shapes, true)?);
                q_runners.push(Runner::with_fake_quant(&quantized_weights, &shapes, true, &quantizers)?);
                locals.push(HashMap::new());
                fp_runners.len() - 1
            }
        };
        let fp = fp_runners[k].run(&inputs)?;
        let q = q_runners[k].run(&inputs)?;
        if names.is_empty() {
            names = fp_runners[k].activations.iter().map(|a| (a.name.clone(), a.node.clone(), a.op.clone())).collect();
            layer_energy = vec![Energy::default(); names.len()];
        }
        out_energy.add(&fp.outputs[0].data, &q.outputs[0].data);
        let values: HashMap<&str, &Tensor> = fp.activations.iter().map(|t| (t.name.as_str(), t)).chain(float.inputs.iter().zip(&inputs).map(|(i, t)| (i.name.as_str(), t))).collect();
        let value_shapes: HashMap<String, Vec<usize>> = values.iter().map(|(n, t)| (n.to_string(), t.shape.clone())).collect();
        for a in fp.activations.iter().filter(|a| local_names.contains(&a.name)) {
            if !locals[k].contains_key(&a.name) {
                let layer = local::LocalLayer::new(&quantized_weights, &a.name, &value_shapes, &quantizers)?;
                locals[k].insert(a.name.clone(), layer);
            }
            if let Some(layer) = &locals[k][&a.name] {
                if let Some(out) = layer.run(&values)? {
                    local_energy.entry(a.name.clone()).or_default().add(&a.data, &out.data);
                }
            }
        }
        for ((e, a), b) in layer_energy.iter_mut().zip(&fp.activations).zip(&q.activations) {
            e.add(&a.data, &b.data);
        }
        let width = fp.outputs[0].shape.last().copied().unwrap_or(1);
        let (top_fp, top_q) = (argmax_rows(&fp.outputs[0].data, width), argmax_rows(&q.outputs[0].data, width));
        agree += top_fp.iter().zip(&top_q).filter(|(a, b)| a == b).count();
        if let Some(labels) = labels {
            let first = rows;
            for (r, (f, q)) in top_fp.iter().zip(&top_q).enumerate() {
                let label = labels.get(first + r).copied();
                fp_correct += usize::from(label == Some(*f));
                correct += usize::from(label == Some(*q));
            }
        }
        rows += top_fp.len();
    }
    if let Some(labels) = labels {
        if labels.len() != rows {
            return Err(ModelError::file(file, format!("{} labels for {rows} evaluation rows", labels.len())));
        }
    }
    let quantized: HashSet<&str> = quantizers.iter().map(|(n, _)| n.as_str()).collect();
    let layers = names
        .into_iter()
        .zip(layer_energy)
        .map(|((name, node, op), e)| LayerReport {
            weight_sqnr_db: qweights.iter().find(|w| w.output == name).and_then(|w| w.sqnr_db),
            local_sqnr_db: local_energy.get(&name).and_then(|e| e.db()),
            cumulative_sqnr_db: e.db(),
            act_quantized: quantized.contains(name.as_str()),
            name,
            node,
            op,
        })
        .collect();
    let share = |n: usize| if rows == 0 { 0.0 } else { n as f64 / rows as f64 };
    Ok(Report {
        output_sqnr_db: out_energy.db(),
        top1_agreement: share(agree),
        accuracy: labels.map(|_| share(correct)),
        fp32_accuracy: labels.map(|_| share(fp_correct)),
        folded,
        eval_samples: eval.samples(),
        layers,
    })
}
