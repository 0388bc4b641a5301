//! What a Lab experiment is asked to do ([`LabConfig`]: data, model, training, bit widths), and its data.

use super::*;

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
    pub(super) fn check(&self) -> Result<(), NnError> {
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

    pub(super) fn weight_quant(&self) -> WeightQuant {
        WeightQuant { range: QRange::with_bits(self.weight_bits, false).expect("bits checked"), per_channel: self.per_channel }
    }

    pub(super) fn act_range(&self) -> QRange {
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
