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

use super::calibrate::{Calibration, PerTensorOrChannel, Settings as CalibrationSettings};
use super::feed::{Dataset, Runners};
use super::graph::Model;
pub use super::report::{LayerReport, PtqSettings as Settings, Report};
use super::runner::Runner;
use super::ModelError;
use crate::engine::io::onnx::fold::fold_batch_norms;
use crate::engine::observer::Common;
use crate::engine::quantizer::qparams::{QParams, QRange, QScheme};
use crate::engine::statistics::stats::{sqnr_energies, sqnr_from_energies};
use crate::engine::tensor::Tensor;
use fakequant::FakeQuant;

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

/// A PTQ simulation in steps, one batch each (calibration batches first, then evaluation
/// batches), so that the model worker can report progress and stop between two. The datasets
/// are given at each step (always the same ones).
pub struct Simulation {
    settings: Settings,
    batch: usize,
    folded: usize,
    float: Model,
    quantized_weights: Model,
    qweights: Vec<weights::WeightLayer>,
    /// Activation calibration while it runs (`None` once done, or for weights only).
    calibration: Option<(Calibration, Runners, QRange)>,
    quantizers: Vec<(String, FakeQuant)>,
    eval: Evaluation,
    /// Steps done.
    done: usize,
    calibrated_on_synthetic: bool,
}

/// The evaluation so far: the float and the quantized model side by side.
#[derive(Default)]
struct Evaluation {
    fp_runners: Vec<Runner>,
    q_runners: Vec<Runner>,
    out_energy: Energy,
    layer_energy: Vec<Energy>,
    agree: usize,
    rows: usize,
    correct: usize,
    fp_correct: usize,
    /// Every activation's value, node and op, in graph order.
    names: Vec<(String, String, String)>,
    /// Layers run alone, per set of input shapes: the weighted layers and the quantized values.
    locals: Vec<HashMap<String, Option<local::LocalLayer>>>,
    local_energy: HashMap<String, Energy>,
    local_names: HashSet<String>,
}

impl Simulation {
    /// Folds, quantizes the weights and prepares the activations' calibration.
    pub fn new(model: &Model, batch: usize, settings: &Settings) -> Result<Simulation, ModelError> {
        let file = model.file.as_str();
        let mut proto = model.proto.clone();
        let graph = proto.graph.as_mut().ok_or_else(|| ModelError::file(file, "the model has no graph"))?;
        let folded = if settings.fold_bn { fold_batch_norms(file, graph).map_err(|e| ModelError::file(file, e.problem))?.len() } else { 0 };
        let float = Model::from_proto(file, proto.clone())?;
        let qweights = weights::quantize_weights(file, proto.graph.as_mut().expect("checked"), settings.weight_bits, settings.per_channel)
            .map_err(|e| ModelError::file(file, e.to_string()))?;
        let quantized_weights = Model::from_proto(file, proto)?;
        let calibration = match settings.act_bits {
            None => None,
            Some(bits) => {
                let range = act_range(bits).map_err(|e| ModelError::file(file, e))?;
                let cal_settings =
                    CalibrationSettings { observer: settings.act_observer, common: Common { scheme: QScheme::Affine, range }, per_channel: false };
                let calibration = Calibration::new(&cal_settings).map_err(|e| ModelError::file(file, e))?;
                let runners = calibration.runners();
                Some((calibration, runners, range))
            }
        };
        let local_names = qweights.iter().map(|w| w.output.clone()).collect();
        let eval = Evaluation { local_names, ..Evaluation::default() };
        Ok(Simulation {
            settings: *settings,
            batch: batch.max(1),
            folded,
            float,
            quantized_weights,
            qweights,
            calibration,
            quantizers: Vec::new(),
            eval,
            done: 0,
            calibrated_on_synthetic: false,
        })
    }

    /// Steps done and steps in all, for these datasets.
    pub fn progress(&self, calib: &Dataset, eval: &Dataset) -> (usize, usize) {
        let calibrating = if self.settings.act_bits.is_some() { calib.batch_count(self.batch) } else { 0 };
        (self.done, calibrating + eval.batch_count(self.batch))
    }

    /// Runs the next batch: `Some(report)` after the last one.
    pub fn step(&mut self, calib: &Dataset, eval: &Dataset, labels: Option<&[usize]>) -> Result<Option<Report>, ModelError> {
        let calib_batches = calib.batch_count(self.batch);
        if let Some((calibration, runners, _)) = self.calibration.as_mut() {
            if self.done < calib_batches {
                let inputs = calib.batch(self.done, self.batch);
                calibration.run(runners.for_inputs(&self.float, &inputs)?, &inputs)?;
                self.calibrated_on_synthetic |= calib.is_synthetic();
                self.done += 1;
                return Ok(None);
            }
            self.quantize_activations(calib)?;
        }
        let calibrated = if self.settings.act_bits.is_some() { calib_batches } else { 0 };
        let i = self.done - calibrated;
        if i < eval.batch_count(self.batch) {
            self.evaluate(&eval.batch(i, self.batch), labels)?;
            self.done += 1;
        }
        if self.done - calibrated < eval.batch_count(self.batch) {
            return Ok(None);
        }
        self.report(eval, labels).map(Some)
    }

    /// The activation quantizers from the finished calibration: the values an int8 runtime
    /// quantizes, and the model inputs that feed quantized layers (from their own range).
    fn quantize_activations(&mut self, calib: &Dataset) -> Result<(), ModelError> {
        let Some((calibration, _, range)) = self.calibration.take() else {
            return Ok(());
        };
        let file = self.float.file.clone();
        let places = placement::act_quant_values(&self.float);
        for r in calibration.ranges().into_iter().filter(|r| places.contains(&r.name)) {
            if let (PerTensorOrChannel::Tensor(scale), PerTensorOrChannel::Tensor(zero_point)) = (r.scale, r.zero_point) {
                self.quantizers.push((r.name, FakeQuant { params: QParams { scale, zero_point }, range }));
            }
        }
        for input in placement::quantized_inputs(&self.float) {
            let mut observer = self
                .settings
                .act_observer
                .build(Common { scheme: QScheme::Affine, range }, crate::engine::observer::Granularity::PerTensor)
                .map_err(|e| ModelError::file(&file, e.to_string()))?;
            let Some(k) = self.float.inputs.iter().position(|i| i.name == input) else {
                continue;
            };
            for i in 0..calib.batch_count(self.batch) {
                let b = calib.batch(i, self.batch);
                observer.observe(&b[k].data, &b[k].shape).map_err(|e| ModelError::input(&file, &input, e.to_string()))?;
            }
            self.quantizers.push((input, FakeQuant { params: observer.qparams()[0], range }));
        }
        self.eval.local_names.extend(self.quantizers.iter().map(|(n, _)| n.clone()));
        Ok(())
    }

    /// One evaluation batch through the float and the quantized model.
    fn evaluate(&mut self, inputs: &[Tensor], labels: Option<&[usize]>) -> Result<(), ModelError> {
        let e = &mut self.eval;
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape.clone()).collect();
        let k = match e.fp_runners.iter().position(|r| r.input_shapes() == shapes) {
            Some(k) => k,
            None => {
                e.fp_runners.push(Runner::new(&self.float, &shapes, true)?);
                e.q_runners.push(Runner::with_fake_quant(&self.quantized_weights, &shapes, true, &self.quantizers)?);
                e.locals.push(HashMap::new());
                e.fp_runners.len() - 1
            }
        };
        let fp = e.fp_runners[k].run(inputs)?;
        let q = e.q_runners[k].run(inputs)?;
        if e.names.is_empty() {
            e.names = e.fp_runners[k].activations.iter().map(|a| (a.name.clone(), a.node.clone(), a.op.clone())).collect();
            e.layer_energy = vec![Energy::default(); e.names.len()];
        }
        e.out_energy.add(&fp.outputs[0].data, &q.outputs[0].data);
        let values: HashMap<&str, &Tensor> =
            fp.activations.iter().map(|t| (t.name.as_str(), t)).chain(self.float.inputs.iter().zip(inputs).map(|(i, t)| (i.name.as_str(), t))).collect();
        let value_shapes: HashMap<String, Vec<usize>> = values.iter().map(|(n, t)| (n.to_string(), t.shape.clone())).collect();
        for a in fp.activations.iter().filter(|a| e.local_names.contains(&a.name)) {
            if !e.locals[k].contains_key(&a.name) {
                let layer = local::LocalLayer::new(&self.quantized_weights, &a.name, &value_shapes, &self.quantizers)?;
                e.locals[k].insert(a.name.clone(), layer);
            }
            if let Some(layer) = &e.locals[k][&a.name] {
                if let Some(out) = layer.run(&values)? {
                    e.local_energy.entry(a.name.clone()).or_default().add(&a.data, &out.data);
                }
            }
        }
        for ((energy, a), b) in e.layer_energy.iter_mut().zip(&fp.activations).zip(&q.activations) {
            energy.add(&a.data, &b.data);
        }
        let width = fp.outputs[0].shape.last().copied().unwrap_or(1);
        let (top_fp, top_q) = (argmax_rows(&fp.outputs[0].data, width), argmax_rows(&q.outputs[0].data, width));
        e.agree += top_fp.iter().zip(&top_q).filter(|(a, b)| a == b).count();
        if let Some(labels) = labels {
            for (r, (f, q)) in top_fp.iter().zip(&top_q).enumerate() {
                let label = labels.get(e.rows + r).copied();
                e.fp_correct += usize::from(label == Some(*f));
                e.correct += usize::from(label == Some(*q));
            }
        }
        e.rows += top_fp.len();
        Ok(())
    }

    fn report(&self, eval: &Dataset, labels: Option<&[usize]>) -> Result<Report, ModelError> {
        let e = &self.eval;
        if let Some(labels) = labels {
            if labels.len() != e.rows {
                return Err(ModelError::file(&self.float.file, format!("{} labels for {} evaluation rows", labels.len(), e.rows)));
            }
        }
        let quantized: HashSet<&str> = self.quantizers.iter().map(|(n, _)| n.as_str()).collect();
        let layers = e
            .names
            .iter()
            .zip(&e.layer_energy)
            .map(|((name, node, op), energy)| LayerReport {
                weight_sqnr_db: self.qweights.iter().find(|w| &w.output == name).and_then(|w| w.sqnr_db),
                local_sqnr_db: e.local_energy.get(name).and_then(|e| e.db()),
                cumulative_sqnr_db: energy.db(),
                act_quantized: quantized.contains(name.as_str()),
                name: name.clone(),
                node: node.clone(),
                op: op.clone(),
            })
            .collect();
        let share = |n: usize| {
            if e.rows == 0 {
                0.0
            } else {
                n as f64 / e.rows as f64
            }
        };
        Ok(Report {
            output_sqnr_db: e.out_energy.db(),
            top1_agreement: share(e.agree),
            accuracy: labels.map(|_| share(e.correct)),
            fp32_accuracy: labels.map(|_| share(e.fp_correct)),
            folded: self.folded,
            eval_samples: eval.samples(),
            synthetic: eval.is_synthetic() || self.calibrated_on_synthetic,
            layers,
        })
    }
}

/// Simulates PTQ of `model`: calibrates on `calib`, evaluates on `eval` (batches of `batch`),
/// with `labels` (one class per evaluation sample) when given.
pub fn simulate(model: &Model, calib: &Dataset, eval: &Dataset, batch: usize, labels: Option<&[usize]>, settings: &Settings) -> Result<Report, ModelError> {
    let mut sim = Simulation::new(model, batch, settings)?;
    loop {
        if let Some(report) = sim.step(calib, eval, labels)? {
            return Ok(report);
        }
    }
}
