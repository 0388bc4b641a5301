//! The Lab's benchmark workloads, shared by the native benchmarks (benches/engine.rs) and the
//! in-browser benchmark page, so both time the same work: one FP32 training epoch, one QAT
//! epoch (the reference MLP, or the CNN, on the digits' training split, batch 64), and
//! the integer model over all 1,797 digits.

use super::data::{digits, Dataset};
use super::lab::{calibrate, load_data, train_epoch, LabConfig, ModelKind};
use super::net::Net;
use super::optim::Optimizer;
use super::quant::{ActObservers, IntNet};
use super::NnError;
use crate::engine::observer::ObserverKind;
use crate::engine::quantizer::qparams::QRange;

/// FP32 epochs trained before timing, so activations are as sparse as a trained network's.
pub const WARM_EPOCHS: usize = 3;

/// A model mid-training, with everything an epoch or an inference needs.
pub struct LabBench {
    cfg: LabConfig,
    train: Dataset,
    all: Dataset,
    model: Net,
    fp32: Optimizer,
    qat: Optimizer,
    observers: ActObservers,
    int: IntNet,
    codes: Vec<i32>,
    epoch: usize,
}

impl LabBench {
    /// The reference config (W4A4, Adam) with `model`, trained [`WARM_EPOCHS`] epochs.
    pub fn new(model: ModelKind) -> Result<LabBench, NnError> {
        let cfg = LabConfig { model, ..LabConfig::default() };
        let (train, _) = load_data(&cfg.dataset, cfg.seed)?;
        let all = digits()?;
        let mut net = match model {
            ModelKind::Mlp => Net::mlp(&[64, 128, 128, 10], cfg.activation, cfg.seed)?,
            ModelKind::Cnn => Net::cnn((8, 8), cfg.channels, 10, cfg.activation, cfg.seed)?,
        };
        let mut fp32 = Optimizer::new(cfg.optimizer);
        for epoch in 0..WARM_EPOCHS {
            train_epoch(&mut net, &mut fp32, &train, &cfg, epoch, None, false)?;
        }
        let range = QRange::with_bits(cfg.act_bits, true).map_err(|e| NnError::Config(e.to_string()))?;
        let folded = net.folded();
        let mut calib = ActObservers::new(ObserverKind::MinMax, range, folded.layers.len() + 1)?;
        calibrate(&folded, &train.x[..256 * train.features], &mut calib);
        let weights = crate::engine::nn::net::WeightQuant { range: QRange::with_bits(cfg.weight_bits, false).map_err(|e| NnError::Config(e.to_string()))?, per_channel: cfg.per_channel };
        let int = IntNet::convert(&folded, &calib.sim(weights))?;
        let observers = ActObservers::new(ObserverKind::MovingAverage { averaging_constant: cfg.averaging_constant }, range, net.layers.len() + 1)?;
        let qat = Optimizer::new(cfg.optimizer.with_lr(cfg.optimizer.lr() * cfg.qat_lr_scale));
        Ok(LabBench { cfg, train, all, model: net, fp32, qat, observers, int, codes: Vec::new(), epoch: WARM_EPOCHS })
    }

    /// One FP32 epoch over the training split (1,346 digits in batches of 64); the mean loss.
    pub fn fp32_epoch(&mut self) -> f64 {
        self.epoch += 1;
        train_epoch(&mut self.model, &mut self.fp32, &self.train, &self.cfg, self.epoch, None, false).unwrap_or(f64::NAN)
    }

    /// One QAT epoch: fake-quantized weights and EMA-observed activations, STE.
    pub fn qat_epoch(&mut self) -> f64 {
        self.epoch += 1;
        train_epoch(&mut self.model, &mut self.qat, &self.train, &self.cfg, self.epoch, Some(&mut self.observers), false).unwrap_or(f64::NAN)
    }

    /// The integer model over all 1,797 digits, from float input to output codes; the sum of
    /// the codes (so the work cannot be skipped).
    pub fn integer_inference(&mut self) -> i64 {
        self.int.quantize_input(&self.all.x, &mut self.codes);
        self.int.run_batch(&self.codes, self.all.len()).iter().map(|&c| c as i64).sum()
    }
}
