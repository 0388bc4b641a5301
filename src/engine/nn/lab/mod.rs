//! One Lab experiment: train a network in FP32, quantize it after training (PTQ: calibrate, convert
//! to integers) and with quantization-aware training (QAT: fine-tune with fake-quantization, then
//! convert), run both integer models, and report where they differ. A [`LabRun`] advances one
//! epoch (or one phase) per [`LabRun::step`], so a caller can show progress, pause and cancel
//! between steps; [`run`] drives it to the end.

mod config;
mod report;
mod sweep;
mod train;
#[cfg(test)]
mod tests;

pub use config::{TEST_FRACTION, DatasetSpec, ModelKind, LabConfig, load_data};
pub use report::{Eval, QuantReport, EpochStats, Phase, Timings, LabReport, LabModel, TestSet, Boundaries, BOUNDARY_RESOLUTION};
use report::boundaries;
pub use sweep::{SWEEP_BITS, SweepPoint, SweepReport, LabSweep};
pub use train::{train_epoch, calibrate, run_integer, predictions};
use train::{batches, evaluate_float, evaluate_sim, quant_report};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::data::{digits, stratified_split, synthetic_2d, Dataset, Synthetic2d};
use super::net::{softmax_cross_entropy, ActObserve, Activation, Grads, Net, Quant, QuantSim, Tape, WeightQuant};
use super::optim::{Optimizer, OptimizerKind};
use super::quant::{argmax_i32, ActObservers, Agreement, IntNet};
use super::NnError;
use crate::engine::observer::ObserverKind;
use crate::engine::quantizer::qparams::QRange;
use crate::engine::quantizer::quantize::quantize_one;
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::statistics::stats::sqnr_db;

/// An experiment in progress.
pub struct LabRun {
    cfg: LabConfig,
    train: Dataset,
    test: Dataset,
    phase: Phase,
    epoch: usize,
    model: Net,
    optimizer: Optimizer,
    history: Vec<EpochStats>,
    timings: Timings,
    fp32: Option<(Eval, Net)>,
    ptq: Option<QuantReport>,
    qat_observers: Option<ActObservers>,
    report: Option<LabReport>,
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub phase: Phase,
    /// Epochs done in this phase, and how many it has.
    pub epoch: usize,
    pub epochs: usize,
    /// The share of the whole run done, in [0, 1].
    pub fraction: f64,
    pub last: Option<EpochStats>,
}

impl LabRun {
    pub fn new(cfg: LabConfig) -> Result<LabRun, NnError> {
        cfg.check()?;
        let (train, test) = load_data(&cfg.dataset, cfg.seed)?;
        if train.is_empty() || test.is_empty() {
            return Err(NnError::Data("the split left no training or no test samples".into()));
        }
        let model = match cfg.model {
            ModelKind::Mlp => {
                let mut widths = vec![train.features];
                widths.extend_from_slice(&cfg.hidden);
                widths.push(train.classes);
                Net::mlp(&widths, cfg.activation, cfg.seed)?
            }
            ModelKind::Cnn => {
                let image = train.image.ok_or_else(|| NnError::Config(format!("the CNN needs images; {} has {} features a sample: use the MLP", train.name, train.features)))?;
                Net::cnn(image, cfg.channels, train.classes, cfg.activation, cfg.seed)?
            }
        };
        let optimizer = Optimizer::new(cfg.optimizer);
        Ok(LabRun { cfg, train, test, phase: Phase::Fp32, epoch: 0, model, optimizer, history: Vec::new(), timings: Timings::default(), fp32: None, ptq: None, qat_observers: None, report: None })
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn test_set(&self) -> &Dataset {
        &self.test
    }

    /// The finished report (after the last step).
    pub fn report(&self) -> Option<&LabReport> {
        self.report.as_ref()
    }

    /// Does the next epoch or phase; `now` is the caller's clock in milliseconds.
    pub fn step(&mut self, now: &dyn Fn() -> f64) -> Result<Progress, NnError> {
        let start = now();
        match self.phase {
            Phase::Fp32 if self.epoch < self.cfg.epochs => {
                let loss = train_epoch(&mut self.model, &mut self.optimizer, &self.train, &self.cfg, self.epoch, None, false)?;
                self.epoch += 1;
                let acc = evaluate_float(&self.model, &self.test).accuracy;
                self.history.push(EpochStats { phase: Phase::Fp32, epoch: self.epoch, train_loss: loss, test_accuracy: acc });
                self.timings.fp32_ms += now() - start;
            }
            Phase::Fp32 => {
                self.fp32 = Some((evaluate_float(&self.model, &self.test), self.model.clone()));
                self.phase = Phase::Ptq;
                self.epoch = 0;
            }
            Phase::Ptq => {
                // Fold batch norm, calibrate, convert.
                let folded = self.model.folded();
                let mut observers = ActObservers::new(self.cfg.act_observer, self.cfg.act_range(), folded.layers.len() + 1)?;
                let n = self.cfg.calib_samples.min(self.train.len());
                for (xs, _) in batches(&self.train, &(0..n).collect::<Vec<_>>(), self.cfg.batch) {
                    calibrate(&folded, &xs, &mut observers);
                }
                let sim = observers.sim(self.cfg.weight_quant());
                let (report, integer_ms) = quant_report(&folded, &folded, sim, &self.test, now)?;
                self.timings.integer_inference_ms = integer_ms;
                self.timings.ptq_ms += now() - start;
                self.ptq = Some(report);
                // QAT starts from the FP32 model, with a fresh optimizer at its own rate.
                self.optimizer = Optimizer::new(self.cfg.optimizer.with_lr(self.cfg.optimizer.lr() * self.cfg.qat_lr_scale));
                let kind = ObserverKind::MovingAverage { averaging_constant: self.cfg.averaging_constant };
                self.qat_observers = Some(ActObservers::new(kind, self.cfg.act_range(), self.model.layers.len() + 1)?);
                self.phase = Phase::Qat;
            }
            Phase::Qat if self.epoch < self.cfg.qat_epochs => {
                let observers = self.qat_observers.as_mut().expect("set when PTQ ended");
                observers.frozen = self.cfg.freeze_observers_after.is_some_and(|f| self.epoch >= f);
                let freeze_bn = self.cfg.freeze_bn_after.is_some_and(|f| self.epoch >= f);
                let loss = train_epoch(&mut self.model, &mut self.optimizer, &self.train, &self.cfg, self.epoch + self.cfg.epochs, Some(observers), freeze_bn)?;
                self.epoch += 1;
                let sim = observers.sim(self.cfg.weight_quant());
                let acc = evaluate_sim(&self.model.folded(), &sim, &self.test).accuracy;
                self.history.push(EpochStats { phase: Phase::Qat, epoch: self.epoch, train_loss: loss, test_accuracy: acc });
                self.timings.qat_ms += now() - start;
            }
            Phase::Qat => {
                let observers = self.qat_observers.as_ref().expect("set when PTQ ended");
                let folded = self.model.folded();
                // Without QAT epochs the observers saw nothing: calibrate them as QAT's first
                // batch would have.
                let sim = if self.cfg.qat_epochs == 0 {
                    let mut o = ActObservers::new(ObserverKind::MinMax, self.cfg.act_range(), folded.layers.len() + 1)?;
                    let n = self.cfg.batch.min(self.train.len());
                    calibrate(&folded, &self.train.x[..n * self.train.features], &mut o);
                    o.sim(self.cfg.weight_quant())
                } else {
                    observers.sim(self.cfg.weight_quant())
                };
                let (fp32, fp32_model) = self.fp32.take().expect("set after FP32");
                let (qat, _) = quant_report(&folded, &fp32_model.folded(), sim, &self.test, now)?;
                self.timings.qat_ms += now() - start;
                let ptq = self.ptq.take().expect("set after PTQ");
                let boundaries = (self.test.features == 2).then(|| boundaries(&self.test, &fp32_model, &ptq.model, &qat.model));
                let test = TestSet { x: self.test.x.clone(), y: self.test.y.clone(), features: self.test.features, image: self.test.image };
                self.report = Some(LabReport {
                    config: self.cfg.clone(),
                    train_samples: self.train.len(),
                    test_samples: self.test.len(),
                    fp32,
                    ptq,
                    qat,
                    history: std::mem::take(&mut self.history),
                    timings: self.timings.clone(),
                    fp32_model,
                    qat_model: self.model.clone(),
                    test,
                    boundaries,
                });
                self.phase = Phase::Done;
            }
            Phase::Done => {}
        }
        Ok(self.progress())
    }

    fn progress(&self) -> Progress {
        let total = (self.cfg.epochs + self.cfg.qat_epochs + 3) as f64;
        let done = match self.phase {
            Phase::Fp32 => self.epoch,
            Phase::Ptq => self.cfg.epochs + 1,
            Phase::Qat => self.cfg.epochs + 2 + self.epoch,
            Phase::Done => self.cfg.epochs + self.cfg.qat_epochs + 3,
        } as f64;
        let epochs = match self.phase {
            Phase::Fp32 => self.cfg.epochs,
            Phase::Qat => self.cfg.qat_epochs,
            _ => 0,
        };
        Progress { phase: self.phase, epoch: self.epoch, epochs, fraction: done / total, last: self.history.last().cloned() }
    }
}

/// Runs an experiment to the end; `progress` is told after each step and returns `false` to
/// cancel.
pub fn run(cfg: LabConfig, now: &dyn Fn() -> f64, progress: &mut dyn FnMut(&Progress) -> bool) -> Result<LabReport, NnError> {
    let mut lab = LabRun::new(cfg)?;
    while lab.phase() != Phase::Done {
        let p = lab.step(now)?;
        if !progress(&p) {
            return Err(NnError::Cancelled);
        }
    }
    Ok(lab.report.take().expect("a finished run has its report"))
}
