//! One Lab experiment: train a network in FP32, quantize it after training (PTQ: calibrate, convert
//! to integers) and with quantization-aware training (QAT: fine-tune with fake-quantization, then
//! convert), run both integer models, and report where they differ. A [`LabRun`] advances one
//! epoch (or one phase) per [`LabRun::step`], so a caller can show progress, pause and cancel
//! between steps; [`run`] drives it to the end.

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

/// Share of each class held out for testing.
pub const TEST_FRACTION: f64 = 0.25;

/// Where the samples come from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum DatasetSpec {
    /// The 8×8 digits (1,797 images).
    Digits,
    /// `n` points of a 2-D set with Gaussian noise of std `noise`.
    Synthetic { kind: Synthetic2d, n: usize, noise: f32 },
}

/// Which network the Lab trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Dense layers of [`LabConfig::hidden`] widths.
    Mlp,
    /// The small CNN of [`Net::cnn`] with [`LabConfig::channels`] (image data only).
    Cnn,
}

/// Every setting of an experiment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabConfig {
    pub dataset: DatasetSpec,
    pub model: ModelKind,
    /// The MLP's hidden layer widths (the input and output widths come from the data).
    pub hidden: Vec<usize>,
    /// The CNN's channels: the 3×3 and depthwise convolutions', then the pointwise one's.
    pub channels: [usize; 2],
    pub activation: Activation,
    pub optimizer: OptimizerKind,
    pub batch: usize,
    /// FP32 training epochs, then QAT fine-tuning epochs at `qat_lr_scale` times the rate.
    pub epochs: usize,
    pub qat_epochs: usize,
    pub qat_lr_scale: f32,
    /// Weight codes: signed, symmetric, `weight_bits` wide; per output channel or per tensor.
    pub weight_bits: u32,
    pub per_channel: bool,
    /// Activation codes: unsigned, affine, `act_bits` wide.
    pub act_bits: u32,
    /// PTQ's activation observer, and how many training samples it sees.
    pub act_observer: ObserverKind,
    pub calib_samples: usize,
    /// QAT's activation observers: a moving average of the range with this constant.
    pub averaging_constant: f32,
    /// QAT stops updating its activation observers after this many epochs (Jacob et al.).
    pub freeze_observers_after: Option<usize>,
    /// QAT stops updating batch norm's statistics after this many epochs and uses the running
    /// ones (Jacob et al. §3.2; PyTorch's `freeze_bn_stats`).
    pub freeze_bn_after: Option<usize>,
    pub seed: u64,
}

impl Default for LabConfig {
    /// The reference run of the issue: the 64-128-128-10 MLP on digits, Adam, 30 epochs, W4A4.
    fn default() -> Self {
        LabConfig {
            dataset: DatasetSpec::Digits,
            model: ModelKind::Mlp,
            hidden: vec![128, 128],
            channels: [8, 16],
            activation: Activation::Relu,
            optimizer: OptimizerKind::Adam { lr: 1e-3 },
            batch: 64,
            epochs: 30,
            qat_epochs: 10,
            qat_lr_scale: 0.5,
            weight_bits: 4,
            per_channel: false,
            act_bits: 4,
            act_observer: ObserverKind::MinMax,
            calib_samples: 256,
            averaging_constant: ObserverKind::DEFAULT_AVERAGING_CONSTANT,
            freeze_observers_after: None,
            freeze_bn_after: None,
            seed: 0,
        }
    }
}

impl LabConfig {
    fn check(&self) -> Result<(), NnError> {
        let bad = |m: String| Err(NnError::Config(m));
        if !(2..=8).contains(&self.weight_bits) || !(2..=8).contains(&self.act_bits) {
            return bad(format!("weight and activation bits must be 2 to 8, got W{} A{}", self.weight_bits, self.act_bits));
        }
        if self.batch == 0 || self.batch > 4096 {
            return bad(format!("batch size {} must be 1 to 4096", self.batch));
        }
        if self.epochs > 1000 || self.qat_epochs > 1000 {
            return bad("at most 1000 epochs per phase".into());
        }
        let lr = self.optimizer.lr();
        let rate_ok = lr.is_finite() && lr > 0.0 && lr <= 10.0 && self.qat_lr_scale.is_finite() && self.qat_lr_scale > 0.0;
        if !rate_ok {
            return bad(format!("learning rate {lr} (×{} for QAT) must be positive and at most 10", self.qat_lr_scale));
        }
        if !(self.averaging_constant > 0.0 && self.averaging_constant <= 1.0) {
            return bad(format!("averaging constant {} must be in (0, 1]", self.averaging_constant));
        }
        if self.model == ModelKind::Cnn && self.channels.iter().any(|&c| c == 0 || c > 256) {
            return bad(format!("CNN channels must be 1 to 256, got {:?}", self.channels));
        }
        if self.calib_samples == 0 {
            return bad("PTQ needs at least one calibration sample".into());
        }
        Ok(())
    }

    /// "MLP [128, 128]" or "CNN [8, 16]".
    pub fn model_name(&self) -> String {
        match self.model {
            ModelKind::Mlp => format!("MLP {:?}", self.hidden),
            ModelKind::Cnn => format!("CNN {:?}", self.channels),
        }
    }

    fn weight_quant(&self) -> WeightQuant {
        WeightQuant { range: QRange::with_bits(self.weight_bits, false).expect("bits checked"), per_channel: self.per_channel }
    }

    fn act_range(&self) -> QRange {
        QRange::with_bits(self.act_bits, true).expect("bits checked")
    }
}

/// The train and test splits of a config's data.
pub fn load_data(spec: &DatasetSpec, seed: u64) -> Result<(Dataset, Dataset), NnError> {
    let all = match *spec {
        DatasetSpec::Digits => digits()?,
        DatasetSpec::Synthetic { kind, n, noise } => {
            if !(20..=100_000).contains(&n) {
                return Err(NnError::Config(format!("a 2-D set of {n} points: choose 20 to 100000")));
            }
            synthetic_2d(kind, n, noise, seed)?
        }
    };
    Ok(stratified_split(&all, TEST_FRACTION, seed))
}

/// How a model does on the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub accuracy: f64,
    pub loss: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    /// Test samples it gets wrong (indices into the test split), and its prediction for each.
    pub misclassified: Vec<(usize, u8)>,
}

impl Eval {
    fn of(logits: &[f32], labels: &[u8], classes: usize) -> Eval {
        let (loss, _) = softmax_cross_entropy(logits, labels, classes);
        let mut confusion = vec![vec![0u32; classes]; classes];
        let mut misclassified = Vec::new();
        for (i, (row, &y)) in logits.chunks(classes).zip(labels).enumerate() {
            let p = row.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (j, &v)| if v > bv { (j, v) } else { (bi, bv) }).0;
            confusion[y as usize][p] += 1;
            if p != y as usize {
                misclassified.push((i, p as u8));
            }
        }
        let correct = labels.len() - misclassified.len();
        Eval { accuracy: correct as f64 / labels.len().max(1) as f64, loss: loss as f64, confusion, misclassified }
    }
}

/// A quantized model's results: the integer model on the test split, the fake-quantized
/// simulation it should equal, their agreement, and SQNR layer by layer (like PyTorch's Numeric
/// Suite: float against quantized weights, and float against quantized activations on the test
/// split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantReport {
    pub integer: Eval,
    pub simulated: Eval,
    pub agreement: Agreement,
    pub weight_sqnr: Vec<Option<f64>>,
    pub activation_sqnr: Vec<Option<f64>>,
    /// Per layer: the widest output channel's weight range over the narrowest (batch norm
    /// folded), where per-tensor quantization hurts (`None` for fewer than two channels).
    pub weight_range_ratio: Vec<Option<f64>>,
    /// Per layer: the share of weights whose integer code differs from the FP32 model's, both
    /// rounded on this model's grid (batch norm folded): 0 for PTQ, which converts the FP32
    /// weights; for QAT, how many codes fine-tuning moved ([`WeightQuant::share_recoded`]).
    ///
    /// [`WeightQuant::share_recoded`]: super::net::WeightQuant::share_recoded
    pub weight_codes_changed: Vec<f64>,
    pub sim: QuantSim,
    pub model: IntNet,
}

/// One epoch's figures, for the curves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub phase: Phase,
    pub epoch: usize,
    pub train_loss: f64,
    pub test_accuracy: f64,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Fp32,
    Ptq,
    Qat,
    Done,
}

/// Milliseconds each phase took (by the caller's clock).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub fp32_ms: f64,
    pub ptq_ms: f64,
    pub qat_ms: f64,
    /// Integer inference over the whole test split, PTQ's model.
    pub integer_inference_ms: f64,
}

/// Everything an experiment found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    pub config: LabConfig,
    pub train_samples: usize,
    pub test_samples: usize,
    pub fp32: Eval,
    pub ptq: QuantReport,
    pub qat: QuantReport,
    pub history: Vec<EpochStats>,
    pub timings: Timings,
    /// The FP32 model, and the QAT-trained one (float weights, batch norm not folded).
    pub fp32_model: Net,
    pub qat_model: Net,
    /// The test split (for the misclassified samples' pictures).
    pub test: TestSet,
    /// For 2-D data: each model's class over a grid (the decision boundary).
    pub boundaries: Option<Boundaries>,
}

/// The test split's samples, as the report carries them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestSet {
    pub x: Vec<f32>,
    pub y: Vec<u8>,
    pub features: usize,
    pub image: Option<(usize, usize)>,
}

/// Classes over a `resolution × resolution` grid spanning `x` × `y` (row 0 at `y.0`), for the
/// FP32 model and both integer models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    pub x: (f32, f32),
    pub y: (f32, f32),
    pub resolution: usize,
    pub fp32: Vec<u8>,
    pub ptq: Vec<u8>,
    pub qat: Vec<u8>,
}

/// Cells per side of the decision-boundary grid.
pub const BOUNDARY_RESOLUTION: usize = 80;

/// The grid over `data`'s span (with a margin), and each model's class at every cell's centre.
fn boundaries(data: &Dataset, fp32: &Net, ptq: &IntNet, qat: &IntNet) -> Boundaries {
    let n = BOUNDARY_RESOLUTION;
    let span = |k: usize| {
        let v = data.x.iter().skip(k).step_by(2);
        let (lo, hi) = v.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = ((hi - lo) * 0.1).max(0.1);
        (lo - pad, hi + pad)
    };
    let (x, y) = (span(0), span(1));
    let mut grid = Vec::with_capacity(2 * n * n);
    for row in 0..n {
        for col in 0..n {
            grid.push(x.0 + (col as f32 + 0.5) / n as f32 * (x.1 - x.0));
            grid.push(y.0 + (row as f32 + 0.5) / n as f32 * (y.1 - y.0));
        }
    }
    let cells = Dataset { name: "grid".into(), x: grid, y: vec![0; n * n], features: 2, classes: data.classes, image: None };
    let mut tape = Tape::default();
    fp32.forward(&cells.x, n * n, Quant::Float, false, &mut tape);
    let float = tape.output.chunks(data.classes).map(|r| r.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (j, &v)| if v > bv { (j, v) } else { (bi, bv) }).0 as u8).collect();
    let int = |m: &IntNet| predictions(&run_integer(m, &cells).0).into_iter().map(|c| c as u8).collect();
    Boundaries { x, y, resolution: n, fp32: float, ptq: int(ptq), qat: int(qat) }
}

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

/// The bit widths the sweep compares, weights then activations.
pub const SWEEP_BITS: [(u32, u32); 7] = [(8, 8), (6, 6), (4, 8), (4, 4), (3, 3), (2, 4), (2, 2)];

/// PTQ and QAT test accuracy (of the integer models) at one pair of bit widths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub weight_bits: u32,
    pub act_bits: u32,
    pub ptq: f64,
    pub qat: f64,
}

/// What the sweep found: the FP32 model's accuracy, and PTQ and QAT at each of [`SWEEP_BITS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub fp32: f64,
    pub points: Vec<SweepPoint>,
}

/// Accuracy against bit width: the FP32 model is trained once, then PTQ and QAT run from it at
/// each pair of [`SWEEP_BITS`] (the config's own bit widths are ignored). One epoch per step.
pub struct LabSweep {
    base: LabRun,
    current: Option<LabRun>,
    next: usize,
    out: SweepReport,
}

impl LabSweep {
    pub fn new(cfg: LabConfig) -> Result<LabSweep, NnError> {
        Ok(LabSweep { base: LabRun::new(cfg)?, current: None, next: 0, out: SweepReport::default() })
    }

    /// Steps in all: FP32's epochs and its hand-over, then per pair PTQ, QAT's epochs and its
    /// conversion.
    pub fn total_steps(&self) -> usize {
        let c = &self.base.cfg;
        c.epochs + 1 + SWEEP_BITS.len() * (c.qat_epochs + 2)
    }

    /// Does the next step; `Some` when the sweep is done.
    pub fn step(&mut self, now: &dyn Fn() -> f64) -> Result<Option<SweepReport>, NnError> {
        if self.base.phase == Phase::Fp32 {
            self.base.step(now)?;
            if self.base.phase == Phase::Ptq {
                self.out.fp32 = self.base.fp32.as_ref().map_or(0.0, |(e, _)| e.accuracy);
            }
            return Ok(None);
        }
        let run = match self.current.as_mut() {
            Some(run) => run,
            None => {
                let (w, a) = SWEEP_BITS[self.next];
                let cfg = LabConfig { weight_bits: w, act_bits: a, ..self.base.cfg.clone() };
                cfg.check()?;
                let base = &self.base;
                self.current.insert(LabRun {
                    cfg,
                    train: base.train.clone(),
                    test: base.test.clone(),
                    phase: Phase::Ptq,
                    epoch: 0,
                    model: base.model.clone(),
                    optimizer: Optimizer::new(base.cfg.optimizer),
                    history: Vec::new(),
                    timings: Timings::default(),
                    fp32: base.fp32.clone(),
                    ptq: None,
                    qat_observers: None,
                    report: None,
                })
            }
        };
        run.step(now)?;
        if let Some(r) = run.report() {
            self.out.points.push(SweepPoint { weight_bits: r.config.weight_bits, act_bits: r.config.act_bits, ptq: r.ptq.integer.accuracy, qat: r.qat.integer.accuracy });
            self.current = None;
            self.next += 1;
            if self.next == SWEEP_BITS.len() {
                return Ok(Some(std::mem::take(&mut self.out)));
            }
        }
        Ok(None)
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

/// Mini-batches of `indices` in order: each the samples' features and labels.
fn batches<'a>(d: &'a Dataset, indices: &'a [usize], batch: usize) -> impl Iterator<Item = (Vec<f32>, Vec<u8>)> + 'a {
    indices.chunks(batch).map(move |chunk| {
        let mut x = Vec::with_capacity(chunk.len() * d.features);
        for &i in chunk {
            x.extend_from_slice(d.sample(i));
        }
        (x, chunk.iter().map(|&i| d.y[i]).collect())
    })
}

/// One pass over `train` in shuffled mini-batches (seeded by the run's seed and `epoch`), in
/// float or, with `qat`, fake-quantized with the observers updated on each batch. Batch norm
/// trains on batch statistics and updates its running ones, unless `freeze_bn`. Returns the
/// mean training loss.
pub fn train_epoch(model: &mut Net, optimizer: &mut Optimizer, train: &Dataset, cfg: &LabConfig, epoch: usize, mut qat: Option<&mut ActObservers>, freeze_bn: bool) -> Result<f64, NnError> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)));
    let mut tape = Tape::default();
    let mut grads = Grads::new();
    let (mut total, mut seen) = (0f64, 0usize);
    for (x, y) in batches(train, &order, cfg.batch) {
        match qat.as_mut() {
            Some(observers) => {
                let mut sim = observers.sim(cfg.weight_quant());
                model.forward(&x, y.len(), Quant::Sim(&mut sim, Some(&mut **observers as &mut dyn ActObserve)), !freeze_bn, &mut tape);
            }
            None => model.forward(&x, y.len(), Quant::Float, !freeze_bn, &mut tape),
        }
        let loss = model.backward(&tape, &y, &mut grads);
        if !loss.is_finite() {
            return Err(NnError::Model(format!("the loss became {loss} at epoch {}: lower the learning rate", epoch + 1)));
        }
        total += loss as f64 * y.len() as f64;
        seen += y.len();
        if !freeze_bn {
            model.update_batch_norm(&tape);
        }
        let flat: Vec<&Vec<f32>> = grads.iter().collect();
        optimizer.step(model.params_mut(), &flat);
    }
    Ok(total / seen.max(1) as f64)
}

/// Shows `x`'s float activations (the input, then each layer's output before pooling) to
/// `observers`.
pub fn calibrate(model: &Net, x: &[f32], observers: &mut ActObservers) {
    let batch = x.len() / model.inputs().max(1);
    model.forward(x, batch, Quant::Observe(observers), false, &mut Tape::default());
}

fn evaluate_float(model: &Net, test: &Dataset) -> Eval {
    let mut tape = Tape::default();
    model.forward(&test.x, test.len(), Quant::Float, false, &mut tape);
    Eval::of(&tape.output, &test.y, test.classes)
}

/// The simulation of `model` (batch norm folded) on `test`.
fn evaluate_sim(model: &Net, sim: &QuantSim, test: &Dataset) -> Eval {
    let mut tape = Tape::default();
    let mut sim = sim.clone();
    model.forward(&test.x, test.len(), Quant::Sim(&mut sim, None), false, &mut tape);
    Eval::of(&tape.output, &test.y, test.classes)
}

/// Converts `model` under `sim`, runs the integer model and the simulation on `test`, and
/// compares them with each other and with the float model, and its weights' codes with those of
/// `fp32` (the FP32 model, batch norm folded as `model` is). Also returns the milliseconds the
/// integer model took over the test split.
fn quant_report(model: &Net, fp32: &Net, sim: QuantSim, test: &Dataset, now: &dyn Fn() -> f64) -> Result<(QuantReport, f64), NnError> {
    let int = IntNet::convert(model, &sim)?;
    let classes = test.classes;
    // The simulation, layer by layer.
    let (mut float, mut quant) = (Tape::default(), Tape::default());
    model.forward(&test.x, test.len(), Quant::Float, false, &mut float);
    let mut s = sim.clone();
    model.forward(&test.x, test.len(), Quant::Sim(&mut s, None), false, &mut quant);
    let simulated = Eval::of(&quant.output, &test.y, classes);
    let out = *sim.outputs.last().expect("layers");
    let sim_codes: Vec<Vec<i32>> = quant.output.chunks(classes).map(|r| r.iter().map(|&v| quantize_one(v, out, sim.act_range, Rounding::HalfEven, 0)).collect()).collect();
    // The integer model, sample by sample.
    let t = now();
    let (int_codes, logits) = run_integer(&int, test);
    let integer_ms = now() - t;
    let integer = Eval::of(&logits, &test.y, classes);
    let agreement = Agreement::of(&int_codes, &sim_codes);
    // SQNR of each layer's weights, and of each layer's output on the test split.
    let wq = sim.weights;
    let weight_sqnr = model
        .layers
        .iter()
        .map(|layer| {
            let params = wq.qparams(&layer.w, layer.inputs);
            let (mut q, mut m) = (Vec::new(), Vec::new());
            wq.fake_quantize(&layer.w, layer.inputs, &params, &mut q, &mut m);
            sqnr_db(&layer.w, &q)
        })
        .collect();
    let activation_sqnr = (0..model.layers.len()).map(|l| sqnr_db(float.layer_output(l), quant.layer_output(l))).collect();
    let weight_range_ratio = model
        .layers
        .iter()
        .map(|layer| {
            let ranges: Vec<f32> = layer.w.chunks(layer.inputs.max(1)).map(crate::engine::observer::finite_min_max).map(|(lo, hi, _)| hi - lo).collect();
            crate::engine::views::inspect::range_ratio(&ranges)
        })
        .collect();
    let weight_codes_changed = fp32.layers.iter().zip(&model.layers).map(|(f, q)| wq.share_recoded(&f.w, &q.w, q.inputs)).collect();
    Ok((QuantReport { integer, simulated, agreement, weight_sqnr, activation_sqnr, weight_range_ratio, weight_codes_changed, sim, model: int }, integer_ms))
}

/// Every test sample through the integer model: output codes and the logits read off them.
pub fn run_integer(int: &IntNet, test: &Dataset) -> (Vec<Vec<i32>>, Vec<f32>) {
    let mut codes = Vec::new();
    int.quantize_input(&test.x, &mut codes);
    let out = int.run_batch(&codes, test.len());
    let logits = int.logits(&out);
    (out.chunks(test.classes).map(<[i32]>::to_vec).collect(), logits)
}

/// The class the integer model predicts for each sample's output codes.
pub fn predictions(codes: &[Vec<i32>]) -> Vec<usize> {
    codes.iter().map(|c| argmax_i32(c)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> f64 {
        0.0
    }

    /// The Learn lesson's account of what QAT does to the reference MLP's weights at W2A4 (and
    /// the Lab's weight histograms show): they move by a fraction of a step, about a fifth lie
    /// within a tenth of a step of a grid point before QAT and after (chance), and QAT changes
    /// the integer code of a few percent of them, while it recovers accuracy.
    #[test]
    fn qat_changes_a_few_codes_and_does_not_pull_the_weights_onto_the_grid() {
        let cfg = LabConfig { weight_bits: 2, act_bits: 4, ..LabConfig::default() };
        let r = run(cfg, &clock, &mut |_| true).unwrap();
        assert!(r.qat.integer.accuracy >= r.ptq.integer.accuracy + 0.03, "QAT {} PTQ {}", r.qat.integer.accuracy, r.ptq.integer.accuracy);
        let wq = r.qat.sim.weights;
        assert!(r.ptq.weight_codes_changed.iter().all(|&c| c == 0.0), "PTQ converts the FP32 weights: {:?}", r.ptq.weight_codes_changed);
        for (l, (f, q)) in r.fp32_model.layers.iter().zip(&r.qat_model.layers).enumerate() {
            let recoded = r.qat.weight_codes_changed[l];
            assert!((0.01..0.06).contains(&recoded), "layer {l}: {recoded} of the codes changed");
            let (before, after) = (wq.share_near_grid(&f.w, f.inputs, 0.1), wq.share_near_grid(&q.w, q.inputs, 0.1));
            assert!((0.15..0.27).contains(&before) && (after - before).abs() < 0.02, "layer {l}: near the grid {before} before, {after} after");
        }
    }

    #[test]
    fn a_small_run_goes_through_every_phase() {
        let cfg = LabConfig {
            dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Moons, n: 400, noise: 0.1 },
            hidden: vec![16, 16],
            epochs: 30,
            qat_epochs: 3,
            weight_bits: 8,
            act_bits: 8,
            optimizer: OptimizerKind::Adam { lr: 0.01 },
            ..LabConfig::default()
        };
        let mut steps = Vec::new();
        let r = run(cfg.clone(), &clock, &mut |p| {
            steps.push((p.phase, p.fraction));
            true
        })
        .unwrap();
        assert_eq!((r.train_samples, r.test_samples), (300, 100));
        assert!(r.fp32.accuracy > 0.95, "moons are easy: {}", r.fp32.accuracy);
        assert!(r.ptq.integer.accuracy > 0.9 && r.qat.integer.accuracy > 0.9, "{} {}", r.ptq.integer.accuracy, r.qat.integer.accuracy);
        assert!(r.ptq.agreement.max_code_diff <= 1 && r.qat.agreement.max_code_diff <= 1);
        assert_eq!(r.history.len(), 33);
        assert!(steps.windows(2).all(|w| w[0].1 <= w[1].1) && steps.last() == Some(&(Phase::Done, 1.0)));
        assert_eq!(r.ptq.weight_sqnr.len(), 3);
        // The decision boundary of moons: each model agrees with the labels of most test points'
        // cells, and the grid has every cell.
        let b = r.boundaries.as_ref().unwrap();
        assert_eq!(b.fp32.len(), BOUNDARY_RESOLUTION * BOUNDARY_RESOLUTION);
        let cell = |x: f32, y: f32| {
            let col = (((x - b.x.0) / (b.x.1 - b.x.0)) * b.resolution as f32) as usize;
            let row = (((y - b.y.0) / (b.y.1 - b.y.0)) * b.resolution as f32) as usize;
            row.min(b.resolution - 1) * b.resolution + col.min(b.resolution - 1)
        };
        let hits = r.test.x.chunks(2).zip(&r.test.y).filter(|(p, &y)| b.fp32[cell(p[0], p[1])] == y).count();
        assert!(hits as f64 >= 0.9 * r.test.y.len() as f64, "{hits} of {}", r.test.y.len());
        assert!(b.ptq.iter().zip(&b.fp32).filter(|(p, f)| p == f).count() > b.fp32.len() * 9 / 10);
        // Seeded: the same config gives the same report.
        assert_eq!(run(cfg, &clock, &mut |_| true).unwrap(), r);
    }

    #[test]
    fn the_sweep_runs_every_pair_from_one_fp32_model() {
        let cfg = LabConfig {
            dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Circles, n: 300, noise: 0.05 },
            hidden: vec![16],
            epochs: 20,
            qat_epochs: 1,
            optimizer: OptimizerKind::Adam { lr: 0.02 },
            ..LabConfig::default()
        };
        let mut sweep = LabSweep::new(cfg.clone()).unwrap();
        let total = sweep.total_steps();
        let mut steps = 0;
        let report = loop {
            steps += 1;
            if let Some(r) = sweep.step(&clock).unwrap() {
                break r;
            }
        };
        assert_eq!(steps, total);
        assert_eq!(report.points.iter().map(|p| (p.weight_bits, p.act_bits)).collect::<Vec<_>>(), SWEEP_BITS.to_vec());
        // W8A8 PTQ equals the full run's PTQ at W8A8 (the same FP32 model, the same calibration).
        let full = run(LabConfig { weight_bits: 8, act_bits: 8, ..cfg }, &clock, &mut |_| true).unwrap();
        assert_eq!((report.fp32, report.points[0].ptq, report.points[0].qat), (full.fp32.accuracy, full.ptq.integer.accuracy, full.qat.integer.accuracy));
    }

    #[test]
    fn the_cnn_folds_batch_norm_and_its_integer_model_agrees() {
        let cfg = LabConfig { model: ModelKind::Cnn, channels: [4, 8], epochs: 5, qat_epochs: 2, weight_bits: 8, act_bits: 8, freeze_bn_after: Some(0), ..LabConfig::default() };
        let r = run(cfg.clone(), &clock, &mut |_| true).unwrap();
        assert!(r.fp32.accuracy > 0.8, "five epochs on digits: {}", r.fp32.accuracy);
        assert!((r.ptq.integer.accuracy - r.fp32.accuracy).abs() < 0.03, "W8A8 PTQ {} FP32 {}", r.ptq.integer.accuracy, r.fp32.accuracy);
        for q in [&r.ptq, &r.qat] {
            assert!(q.agreement.max_code_diff <= 1 && q.agreement.identical * 100 >= q.agreement.samples * 95, "{:?}", q.agreement);
            assert_eq!((q.weight_sqnr.len(), q.model.layers.len()), (4, 4));
        }
        // PTQ converts the FP32 weights; two QAT epochs move folded codes (at W8 a step is
        // small: most of them).
        assert_eq!(r.ptq.weight_codes_changed, vec![0.0; 4]);
        assert!(r.qat.weight_codes_changed.iter().all(|&c| c > 0.0 && c <= 1.0), "{:?}", r.qat.weight_codes_changed);
        // Frozen from QAT's first epoch: the running statistics are FP32's; else QAT moves them.
        let stats = |n: &Net| n.layers.iter().filter_map(|l| l.bn.as_ref().map(|b| (b.running_mean.clone(), b.running_var.clone()))).collect::<Vec<_>>();
        assert_eq!(stats(&r.qat_model), stats(&r.fp32_model));
        assert_ne!(r.qat_model.layers[0].w, r.fp32_model.layers[0].w, "QAT trains the weights");
        let moving = run(LabConfig { freeze_bn_after: None, ..cfg.clone() }, &clock, &mut |_| true).unwrap();
        assert_ne!(stats(&moving.qat_model), stats(&moving.fp32_model));
        assert_eq!(stats(&moving.fp32_model), stats(&r.fp32_model), "the same FP32 run");
        // The sweep runs the CNN too, every pair from the one FP32 model.
        let small = LabConfig { channels: [2, 4], epochs: 2, qat_epochs: 1, freeze_bn_after: None, ..cfg.clone() };
        let mut sweep = LabSweep::new(small).unwrap();
        let report = loop {
            if let Some(r) = sweep.step(&clock).unwrap() {
                break r;
            }
        };
        assert_eq!(report.points.len(), SWEEP_BITS.len());
        assert!(report.points.iter().all(|p| p.ptq > 0.0 && p.qat > 0.0));
        // The CNN needs images.
        let flat = LabConfig { model: ModelKind::Cnn, dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Moons, n: 100, noise: 0.1 }, ..LabConfig::default() };
        assert!(matches!(LabRun::new(flat), Err(NnError::Config(m)) if m.contains("needs images")));
    }

    #[test]
    fn cancel_and_bad_settings_are_errors() {
        let cfg = LabConfig { dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Xor, n: 100, noise: 0.0 }, epochs: 2, ..LabConfig::default() };
        assert_eq!(run(cfg.clone(), &clock, &mut |_| false).unwrap_err(), NnError::Cancelled);
        for bad in [
            LabConfig { weight_bits: 1, ..cfg.clone() },
            LabConfig { batch: 0, ..cfg.clone() },
            LabConfig { optimizer: OptimizerKind::Adam { lr: f32::NAN }, ..cfg.clone() },
            LabConfig { calib_samples: 0, ..cfg.clone() },
            LabConfig { dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Xor, n: 5, noise: 0.0 }, ..cfg.clone() },
        ] {
            assert!(matches!(LabRun::new(bad), Err(NnError::Config(_))));
        }
    }
}
