//! A real model's three workloads, as the benchmarks time them: natively (`benches/models.rs`)
//! and in the model worker for the benchmark page. The same code in both, so that the browser's
//! figures and criterion's measure the same thing:
//! - [`Workload::Run`]: a plain FP32 run;
//! - [`Workload::Calibrate`]: a run whose every activation feeds a min/max observer (the
//!   issue's bound: at most 1.5× a plain run);
//! - [`Workload::Ptq`]: the W8A8 simulation's quantized run, with a fake-quant op after every
//!   activation the placement quantizes (at most 2× a plain run). Its quantizers have fixed
//!   parameters: the cost of a fake-quant op does not depend on them.

use serde::{Deserialize, Serialize};

use super::calibrate::{Calibration, Settings};
use super::feed::Runners;
use super::ptq::fakequant::FakeQuant;
use super::ptq::placement::{act_quant_values, quantized_inputs};
use super::{Model, ModelError, Runner};
use crate::engine::observer::{Common, ObserverKind};
use crate::engine::quantizer::qparams::{DType, QParams, QRange, QScheme};
use crate::engine::tensor::Tensor;

/// What one timed call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Workload {
    Run,
    Calibrate,
    Ptq,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Run, Workload::Calibrate, Workload::Ptq];

    /// The name criterion's groups and the benchmark page's JSON use.
    pub fn key(self) -> &'static str {
        match self {
            Workload::Run => "run",
            Workload::Calibrate => "calibrate",
            Workload::Ptq => "ptq",
        }
    }
}

/// A model prepared for the three workloads on one set of inputs.
pub struct Workloads {
    inputs: Vec<Tensor>,
    model: Model,
    plain: Runner,
    calibration: Calibration,
    tapped: Runners,
    quantized: Runner,
}

impl Workloads {
    /// Plans the three runs of `model` for `inputs` (one tensor per model input).
    pub fn new(model: Model, inputs: Vec<Tensor>) -> Result<Workloads, ModelError> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape.clone()).collect();
        let plain = Runner::new(&model, &shapes, false)?;
        let range = QRange::for_dtype(DType::QUInt8, None, false).map_err(|e| ModelError::file(&model.file, e.to_string()))?;
        let settings = Settings { observer: ObserverKind::MinMax, common: Common { scheme: QScheme::Affine, range }, per_channel: false };
        let calibration = Calibration::new(&settings).map_err(|e| ModelError::file(&model.file, e))?;
        let mut tapped = calibration.runners();
        tapped.for_inputs(&model, &inputs)?;
        let fq = FakeQuant { params: QParams { scale: 0.05, zero_point: 128 }, range };
        let quantizers: Vec<(String, FakeQuant)> = act_quant_values(&model).into_iter().chain(quantized_inputs(&model)).map(|n| (n, fq.clone())).collect();
        let quantized = Runner::with_fake_quant(&model, &shapes, false, &quantizers)?;
        Ok(Workloads { inputs, model, plain, calibration, tapped, quantized })
    }

    /// The inputs' shapes.
    pub fn shapes(&self) -> Vec<Vec<usize>> {
        self.inputs.iter().map(|t| t.shape.clone()).collect()
    }

    /// Does `w` once.
    pub fn run(&mut self, w: Workload) -> Result<(), ModelError> {
        match w {
            Workload::Run => self.plain.run(&self.inputs).map(drop),
            Workload::Calibrate => {
                let runner = self.tapped.for_inputs(&self.model, &self.inputs)?;
                self.calibration.run(runner, &self.inputs).map(drop)
            }
            Workload::Ptq => self.quantized.run(&self.inputs).map(drop),
        }
    }
}
