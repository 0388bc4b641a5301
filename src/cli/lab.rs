//! `quantscope lab`: the Lab's experiment, headless: FP32 training, PTQ and QAT, both integer
//! models run, with the same engine (and so the same numbers, for the same seed) as the browser.

use clap::{Args, ValueEnum};

use super::ObserverArg;
use crate::engine::nn::data::Synthetic2d;
use crate::engine::nn::lab::{run, DatasetSpec, LabConfig, LabReport, ModelKind, QuantReport};
use crate::engine::nn::net::Activation;
use crate::engine::nn::optim::OptimizerKind;
use crate::engine::observer::ObserverKind;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetArg {
    Digits,
    Moons,
    Circles,
    Xor,
    Spiral,
    Blobs,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    Mlp,
    Cnn,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightObserverArg {
    /// Min/max of each weight tensor.
    Minmax,
    /// Min/max of each output channel's weights.
    PerChannelMinmax,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptimizerArg {
    Adam,
    Sgd,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationArg {
    Relu,
    Relu6,
}

#[derive(Args, Debug)]
pub struct LabArgs {
    #[arg(long, value_enum, default_value_t = DatasetArg::Digits)]
    pub dataset: DatasetArg,
    #[arg(long, value_enum, default_value_t = ModelArg::Mlp)]
    pub model: ModelArg,
    /// Hidden layer widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "128,128")]
    pub hidden: Vec<usize>,
    /// The CNN's channels: the 3×3 and depthwise convolutions', then the pointwise one's.
    #[arg(long, value_delimiter = ',', default_value = "8,16")]
    pub channels: Vec<usize>,
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu)]
    pub activation: ActivationArg,
    /// Weight codes: signed, symmetric, 2 to 8 bits.
    #[arg(long, default_value_t = 4)]
    pub weight_bits: u32,
    /// Activation codes: unsigned, affine, 2 to 8 bits.
    #[arg(long, default_value_t = 4)]
    pub act_bits: u32,
    #[arg(long, default_value_t = 30)]
    pub epochs: usize,
    #[arg(long, default_value_t = 10)]
    pub qat_epochs: usize,
    /// QAT's learning rate as a multiple of the FP32 one.
    #[arg(long, default_value_t = 0.5)]
    pub qat_lr_scale: f32,
    /// Training samples PTQ calibrates on.
    #[arg(long, default_value_t = 256)]
    pub calib_samples: usize,
    #[arg(long, value_enum, default_value_t = WeightObserverArg::Minmax)]
    pub weight_observer: WeightObserverArg,
    /// Same as --weight-observer per-channel-minmax.
    #[arg(long)]
    pub per_channel: bool,
    /// PTQ's activation observer.
    #[arg(long, value_enum, default_value_t = ObserverArg::Minmax)]
    pub act_observer: ObserverArg,
    /// QAT's moving-average constant (and the moving-average PTQ observer's).
    #[arg(long, default_value_t = ObserverKind::DEFAULT_AVERAGING_CONSTANT)]
    pub averaging_constant: f32,
    /// QAT freezes its activation observers after this many epochs.
    #[arg(long)]
    pub freeze_observers_after: Option<usize>,
    /// QAT freezes batch norm's statistics after this many epochs (the CNN).
    #[arg(long)]
    pub freeze_bn_after: Option<usize>,
    #[arg(long, value_enum, default_value_t = OptimizerArg::Adam)]
    pub optimizer: OptimizerArg,
    /// Learning rate (default: 0.001 for Adam, 0.05 for SGD).
    #[arg(long)]
    pub lr: Option<f32>,
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// 2-D sets: number of points and the noise's standard deviation.
    #[arg(long, default_value_t = 1000)]
    pub points: usize,
    #[arg(long, default_value_t = 0.1)]
    pub noise: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
    /// Writes the trained FP32 model as ONNX (lab-mlp.onnx or lab-cnn.onnx), the test split
    /// shaped for its input (lab-test-input.npy) and the split's labels (labels.npy) into this
    /// directory: `calibrate` and `ptq` take them as they are, and so does onnxruntime.
    #[arg(long, value_name = "DIR")]
    pub export: Option<std::path::PathBuf>,
}

impl LabArgs {
    pub fn config(&self) -> Result<LabConfig, String> {
        let dataset = match self.dataset {
            DatasetArg::Digits => DatasetSpec::Digits,
            other => {
                let kind = match other {
                    DatasetArg::Moons => Synthetic2d::Moons,
                    DatasetArg::Circles => Synthetic2d::Circles,
                    DatasetArg::Xor => Synthetic2d::Xor,
                    DatasetArg::Spiral => Synthetic2d::Spiral,
                    _ => Synthetic2d::Blobs,
                };
                DatasetSpec::Synthetic { kind, n: self.points, noise: self.noise }
            }
        };
        let optimizer = match self.optimizer {
            OptimizerArg::Adam => OptimizerKind::Adam { lr: self.lr.unwrap_or(1e-3) },
            OptimizerArg::Sgd => OptimizerKind::Sgd { lr: self.lr.unwrap_or(0.05), momentum: 0.9 },
        };
        use crate::ui::state::ObsKind;
        let act_observer = match self.act_observer {
            ObserverArg::Minmax => ObsKind::MinMax,
            ObserverArg::MovingAverage => ObsKind::MovingAverage,
            ObserverArg::Percentile => ObsKind::Percentile,
            ObserverArg::Histogram => ObsKind::Histogram,
            ObserverArg::Entropy => ObsKind::Entropy,
            ObserverArg::Mse => ObsKind::Mse,
        }
        .with_defaults(self.averaging_constant);
        let channels = match self.channels[..] {
            [a, b] => [a, b],
            _ => return Err(format!("--channels takes two numbers (e.g. 8,16), got {:?}", self.channels)),
        };
        Ok(LabConfig {
            dataset,
            model: if self.model == ModelArg::Cnn { ModelKind::Cnn } else { ModelKind::Mlp },
            hidden: self.hidden.clone(),
            channels,
            activation: if self.activation == ActivationArg::Relu { Activation::Relu } else { Activation::Relu6 },
            optimizer,
            batch: self.batch,
            epochs: self.epochs,
            qat_epochs: self.qat_epochs,
            qat_lr_scale: self.qat_lr_scale,
            weight_bits: self.weight_bits,
            per_channel: self.per_channel || self.weight_observer == WeightObserverArg::PerChannelMinmax,
            act_bits: self.act_bits,
            act_observer,
            calib_samples: self.calib_samples,
            averaging_constant: self.averaging_constant,
            freeze_observers_after: self.freeze_observers_after,
            freeze_bn_after: self.freeze_bn_after,
            seed: self.seed,
        })
    }
}

/// Runs the experiment and returns its report (JSON, or a table).
pub fn lab(a: &LabArgs) -> Result<String, String> {
    let cfg = a.config()?;
    let start = std::time::Instant::now();
    let clock = move || start.elapsed().as_secs_f64() * 1000.0;
    let report = run(cfg, &clock, &mut |_| true).map_err(|e| format!("lab: {e}"))?;
    if let Some(dir) = &a.export {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in crate::engine::io::onnx::export::lab_files(&report.model()).map_err(|e| format!("lab --export: {e}"))? {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    if a.json {
        serde_json::to_string_pretty(&Summary::of(&report)).map_err(|e| e.to_string())
    } else {
        Ok(table(&report))
    }
}

/// What `--json` prints: the figures, not the models.
#[derive(serde::Serialize)]
struct Summary<'a> {
    config: &'a LabConfig,
    train_samples: usize,
    test_samples: usize,
    fp32: Figures,
    ptq: QuantFigures<'a>,
    qat: QuantFigures<'a>,
    timings_ms: &'a crate::engine::nn::lab::Timings,
    history: &'a [crate::engine::nn::lab::EpochStats],
}

#[derive(serde::Serialize)]
struct Figures {
    accuracy: f64,
    loss: f64,
}

#[derive(serde::Serialize)]
struct QuantFigures<'a> {
    accuracy: f64,
    loss: f64,
    simulated_accuracy: f64,
    agreement: &'a crate::engine::nn::quant::Agreement,
    weight_sqnr_db: &'a [Option<f64>],
    activation_sqnr_db: &'a [Option<f64>],
    weight_range_ratio: &'a [Option<f64>],
    weight_codes_changed: &'a [f64],
}

impl<'a> Summary<'a> {
    fn of(r: &'a LabReport) -> Summary<'a> {
        let q = |q: &'a QuantReport| QuantFigures {
            accuracy: q.integer.accuracy,
            loss: q.integer.loss,
            simulated_accuracy: q.simulated.accuracy,
            agreement: &q.agreement,
            weight_sqnr_db: &q.weight_sqnr,
            activation_sqnr_db: &q.activation_sqnr,
            weight_range_ratio: &q.weight_range_ratio,
            weight_codes_changed: &q.weight_codes_changed,
        };
        Summary {
            config: &r.config,
            train_samples: r.train_samples,
            test_samples: r.test_samples,
            fp32: Figures { accuracy: r.fp32.accuracy, loss: r.fp32.loss },
            ptq: q(&r.ptq),
            qat: q(&r.qat),
            timings_ms: &r.timings,
            history: &r.history,
        }
    }
}

fn db(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1}"))
}

fn table(r: &LabReport) -> String {
    let c = &r.config;
    let mut out = format!(
        "{} ({} train / {} test), {}, W{}A{}{}, seed {}\n\n",
        match c.dataset {
            DatasetSpec::Digits => "digits".to_string(),
            DatasetSpec::Synthetic { kind, n, noise } => format!("{} ({n} points, noise {noise})", kind.name()),
        },
        r.train_samples,
        r.test_samples,
        c.model_name(),
        c.weight_bits,
        c.act_bits,
        if c.per_channel { " per channel" } else { "" },
        c.seed
    );
    out += &format!("{:<6} {:>9} {:>8} {:>20} {:>10}\n", "model", "accuracy", "loss", "int = simulation", "time (ms)");
    out += &format!("{:<6} {:>8.2}% {:>8.4} {:>20} {:>10.0}\n", "FP32", r.fp32.accuracy * 100.0, r.fp32.loss, "", r.timings.fp32_ms);
    for (name, q, ms) in [("PTQ", &r.ptq, r.timings.ptq_ms), ("QAT", &r.qat, r.timings.qat_ms)] {
        let a = &q.agreement;
        let agree = format!("{}/{} (max Δ {})", a.identical, a.samples, a.max_code_diff);
        out += &format!("{:<6} {:>8.2}% {:>8.4} {:>20} {:>10.0}\n", name, q.integer.accuracy * 100.0, q.integer.loss, agree, ms);
    }
    out += &format!("\nInteger inference over the {} test samples: {:.2} ms\n", r.test_samples, r.timings.integer_inference_ms);
    out += "\nSQNR (dB)   weights PTQ / QAT   activations PTQ / QAT   channel ranges (max/min)   codes QAT changed\n";
    for l in 0..r.ptq.weight_sqnr.len() {
        out += &format!(
            "layer {l:<5} {:>8} / {:<8} {:>12} / {:<8} {:>12}   {:>17}   {}\n",
            db(r.ptq.weight_sqnr[l]),
            db(r.qat.weight_sqnr[l]),
            db(r.ptq.activation_sqnr[l]),
            db(r.qat.activation_sqnr[l]),
            r.ptq.weight_range_ratio[l].map_or_else(|| "—".into(), |v| format!("{v:.1}×")),
            r.qat.weight_codes_changed.get(l).map_or_else(|| "—".into(), |v| format!("{:.2}%", v * 100.0)),
            r.fp32_model.layers.get(l).map_or(String::new(), |x| x.describe())
        );
    }
    out.trim_end().to_string()
}
