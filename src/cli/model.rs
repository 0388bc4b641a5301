//! `quantscope run` and `quantscope calibrate`: a real ONNX model, run by tract on the user's
//! arrays, batch by batch.

use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::ObserverOpts;
use crate::engine::io::{load, npy, LoadOptions};
use crate::engine::model::calibrate::{ActivationRange, Calibration, Settings};
use crate::engine::model::images::{self, Preprocess};
use crate::engine::model::ptq::{simulate, Settings as PtqSettings};
use crate::engine::model::feed::concat_rows;
use crate::engine::model::{Dataset, Model, Runners};
use crate::engine::observer::{Common, ObserverKind, Tails};
use crate::engine::tensor::Tensor;

/// Where the model's inputs come from.
#[derive(Args, Debug)]
pub struct InputOpts {
    /// The ONNX model.
    pub model: PathBuf,
    /// The input arrays: X.npy (a one-input model, or NAME=X.npy for each input), an .npz with
    /// one array per input name, or PNG/JPEG pictures and folders of them (for the first
    /// input), or synthetic:N[:SEED] (N seeded N(0, 1) samples at each input's default shape,
    /// labelled synthetic in the results). Batches are cut along the first axis.
    #[arg(long = "input", required = true, num_args = 1..)]
    pub inputs: Vec<String>,
    /// Samples per batch.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    #[command(flatten)]
    pub pictures: PictureOpts,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputOpts,
    /// Write the output (all batches, along the first axis) to this .npy file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Which output --out writes, for a model with several (default: the first).
    #[arg(long)]
    pub output: Option<String>,
}

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub input: InputOpts,
    #[command(flatten)]
    pub observer: ObserverOpts,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PtqArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// Calibration arrays, as run's --input.
    #[arg(long, required = true, num_args = 1..)]
    pub calib: Vec<String>,
    /// Evaluation arrays (default: the calibration arrays).
    #[arg(long, num_args = 1..)]
    pub eval: Vec<String>,
    /// Class labels of the evaluation samples: a 1-D integer .npy (a file named labels.npy among
    /// the inputs is taken as labels too).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Samples per batch, for calibration and evaluation.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Weight bits (symmetric, signed codes).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub weight_bits: u32,
    /// One weight scale per output channel.
    #[arg(long)]
    pub per_channel: bool,
    /// Activation bits (affine, unsigned codes).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16), conflicts_with = "weights_only")]
    pub act_bits: u32,
    /// Quantize the weights only; activations stay in float.
    #[arg(long)]
    pub weights_only: bool,
    /// The activations' observer.
    #[arg(long, value_enum, default_value_t = super::ObserverArg::Minmax)]
    pub act_observer: super::ObserverArg,
    /// Moving average: c in (0, 1].
    #[arg(long, default_value_t = ObserverKind::DEFAULT_AVERAGING_CONSTANT)]
    pub averaging_constant: f32,
    /// Fold BatchNormalization into the preceding Conv first.
    #[arg(long)]
    pub fold_bn: bool,
    #[command(flatten)]
    pub pictures: PictureOpts,
    #[arg(long)]
    pub json: bool,
}

fn read_model(path: &Path) -> Result<Model, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    Model::read(&shown, &bytes).map_err(|e| e.to_string())
}

/// How pictures given as input become a batch.
#[derive(Args, Debug, Clone)]
pub struct PictureOpts {
    /// Pictures (PNG, JPEG, or folders of them): the normalisation. imagenet also resizes the
    /// shorter side and crops the centre.
    #[arg(long, value_enum, default_value_t = PresetArg::ZeroOne)]
    pub preset: PresetArg,
    /// Pictures: the size fed to the model, HxW (default: the model input's, else 224x224).
    #[arg(long)]
    pub size: Option<String>,
    /// Pictures: channels in BGR order.
    #[arg(long)]
    pub bgr: bool,
    /// Pictures: an [N, H, W, C] batch rather than [N, C, H, W].
    #[arg(long)]
    pub nhwc: bool,
    /// Pictures: the per-channel mean and std after scaling to [0, 1] (three values each),
    /// instead of the preset's.
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub mean: Option<Vec<f32>>,
    #[arg(long, value_delimiter = ',', num_args = 1)]
    pub std: Option<Vec<f32>>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetArg {
    Imagenet,
    ZeroOne,
    MinusOneOne,
}

const PICTURES: &[&str] = &["png", "jpg", "jpeg"];

fn is_picture(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| PICTURES.contains(&e.to_ascii_lowercase().as_str()))
}

/// The pictures in `dir` and in its sub-folders (one level: a folder per class), sorted.
fn pictures_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let list = |d: &Path| -> Result<Vec<PathBuf>, String> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        v.sort();
        Ok(v)
    };
    let mut out = Vec::new();
    for p in list(dir)? {
        if p.is_dir() {
            out.extend(list(&p)?.into_iter().filter(|q| is_picture(q)));
        } else if is_picture(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// The preprocessing for `model`'s first input.
fn preprocess(model: &Model, o: &PictureOpts) -> Result<Preprocess, String> {
    use crate::engine::model::images::{Layout, Preset};
    let declared = model.inputs[0].picture_size(o.nhwc);
    let size = match &o.size {
        Some(text) => {
            let (h, w) = text.split_once(['x', 'X']).ok_or_else(|| format!("--size {text}: expected HxW, e.g. 224x224"))?;
            (h.trim().parse().map_err(|_| format!("--size {text}: bad height"))?, w.trim().parse().map_err(|_| format!("--size {text}: bad width"))?)
        }
        None => declared.unwrap_or((224, 224)),
    };
    let preset = match o.preset {
        PresetArg::Imagenet => Preset::ImageNet,
        PresetArg::ZeroOne => Preset::ZeroOne,
        PresetArg::MinusOneOne => Preset::MinusOneOne,
    };
    let mut pre = Preprocess::preset(preset, size);
    pre.bgr = o.bgr;
    pre.layout = if o.nhwc { Layout::Nhwc } else { Layout::Nchw };
    for (given, slot, what) in [(&o.mean, &mut pre.mean, "--mean"), (&o.std, &mut pre.std, "--std")] {
        if let Some(v) = given {
            *slot = <[f32; 3]>::try_from(v.as_slice()).map_err(|_| format!("{what}: three values, one per channel"))?;
        }
    }
    Ok(pre)
}

/// The arrays named by `--input`: `X.npy`, `NAME=X.npy`, an `.npz`, or pictures (files and
/// folders, one batch for the model's first input, with the labels their names give).
fn read_inputs(specs: &[String], model: &Model, pics: &PictureOpts) -> Result<(Vec<Tensor>, Option<Vec<usize>>), String> {
    let (mut out, mut pictures, mut labels) = (Vec::new(), Vec::new(), None);
    for spec in specs {
        let (name, path) = match spec.split_once('=') {
            Some((n, p)) if !Path::new(spec).exists() => (Some(n), p),
            _ => (None, spec.as_str()),
        };
        if let Some(rest) = spec.strip_prefix("synthetic:") {
            let mut parts = rest.splitn(2, ':').map(|p| p.trim().parse::<u64>());
            let bad = || format!("{spec}: expected synthetic:N or synthetic:N:SEED (N samples, seeded)");
            let samples = parts.next().and_then(Result::ok).filter(|&n| n > 0).ok_or_else(bad)?;
            let seed = parts.next().map_or(Ok(0), |s| s.map_err(|_| bad()))?;
            out.extend(crate::engine::model::feed::synthetic(model, samples as usize, seed).map_err(|e| e.to_string())?);
            continue;
        }
        let p = Path::new(path);
        if p.is_dir() {
            pictures.extend(pictures_in(p)?);
            continue;
        }
        if is_picture(p) {
            pictures.push(p.to_path_buf());
            continue;
        }
        if !(path.ends_with(".npy") || path.ends_with(".npz")) {
            return Err(format!("{path}: inputs are .npy or .npz arrays, or PNG/JPEG pictures"));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        if crate::engine::model::feed::is_labels_file(model, path) {
            labels = Some(crate::engine::io::npy::read_labels(path, &bytes).map_err(|e| e.to_string())?);
            continue;
        }
        let mut tensors = load(path, &bytes, LoadOptions::default()).map_err(|e| e.to_string())?;
        if let (Some(n), [t]) = (name, tensors.as_mut_slice()) {
            t.name = n.to_string();
        }
        out.extend(tensors);
    }
    if !pictures.is_empty() {
        let files = pictures
            .iter()
            .map(|p| std::fs::read(p).map(|b| (p.display().to_string(), b)).map_err(|e| format!("{}: {e}", p.display())))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(images::batch(&model.inputs[0].name, &files, &preprocess(model, pics)?)?);
        let names: Vec<String> = pictures.iter().map(|p| p.display().to_string()).collect();
        labels = labels.or_else(|| images::labels_from_names(&names).map(|(l, _)| l));
    }
    Ok((out, labels))
}

fn dataset(opts: &InputOpts) -> Result<(Model, Dataset), String> {
    let model = read_model(&opts.model)?;
    let data = Dataset::new(&model, read_inputs(&opts.inputs, &model, &opts.pictures)?.0).map_err(|e| e.to_string())?;
    Ok((model, data))
}

/// `quantscope run`.
pub fn run(a: &RunArgs) -> Result<String, String> {
    let (model, data) = dataset(&a.input)?;
    let batch = a.input.batch as usize;
    let mut runners = Runners::new(false);
    let mut outputs: Vec<Tensor> = Vec::new();
    for i in 0..data.batch_count(batch) {
        let inputs = data.batch(i, batch);
        let run = runners.for_inputs(&model, &inputs).and_then(|r| r.run(&inputs)).map_err(|e| e.to_string())?;
        if outputs.is_empty() {
            outputs = run.outputs;
        } else {
            for (all, part) in outputs.iter_mut().zip(run.outputs) {
                concat_rows(all, part).map_err(|p| format!("{}: output “{}”: {p}", model.file, all.name))?;
            }
        }
    }
    if let Some(path) = &a.out {
        let chosen = match &a.output {
            Some(name) => {
                outputs.iter().find(|t| &t.name == name).ok_or_else(|| format!("{}: no output “{name}” (it has: {})", model.file, model.outputs.join(", ")))?
            }
            None => &outputs[0],
        };
        std::fs::write(path, npy::write_f32(&chosen.shape, &chosen.data)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut table = format!("{:<40} {:<18} {:>12} {:>12} {:>12}\n", "output", "shape", "min", "max", "mean");
    for t in &outputs {
        let (lo, hi) = t.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        let mean = t.data.iter().map(|&v| v as f64).sum::<f64>() / t.data.len().max(1) as f64;
        table += &format!("{:<40} {:<18} {lo:>12.6} {hi:>12.6} {mean:>12.6}\n", t.name, format!("{:?}", t.shape));
    }
    Ok(table.trim_end().to_string())
}

#[derive(Serialize)]
struct CalibrationReport<'a> {
    model: &'a str,
    /// Whether the input was seeded synthetic data (`--input synthetic:N`).
    synthetic: bool,
    samples: usize,
    batches: usize,
    activations: Vec<ActivationRange>,
}

/// `quantscope calibrate`.
pub fn calibrate(a: &CalibrateArgs) -> Result<String, String> {
    let (model, data) = dataset(&a.input)?;
    let (observer, range, scheme, per_channel) = a.observer.resolve()?;
    let settings = Settings { observer, common: Common { scheme, range }, per_channel };
    let batch = a.input.batch as usize;
    let mut cal = Calibration::new(&settings).map_err(|e| format!("{}: {e}", model.file))?;
    let mut runners = cal.runners();
    for i in 0..data.batch_count(batch) {
        let inputs = data.batch(i, batch);
        let runner = runners.for_inputs(&model, &inputs).map_err(|e| e.to_string())?;
        cal.run(runner, &inputs).map_err(|e| e.to_string())?;
    }
    let report = CalibrationReport { model: &model.file, synthetic: data.is_synthetic(), samples: data.samples(), batches: cal.batches(), activations: cal.ranges() };
    if a.json {
        return serde_json::to_string_pretty(&report).map_err(|e| e.to_string());
    }
    let synthetic = if report.synthetic { " (synthetic input)" } else { "" };
    let mut table = format!("{} — {} samples{synthetic} in {} batches\n", report.model, report.samples, report.batches);
    table += &format!("{:<44} {:<18} {:<16} {:>11} {:>11} {:>11} {:>6}\n", "activation", "op", "shape", "min", "max", "scale", "zp");
    for r in &report.activations {
        let (scale, zp) = match (&r.scale, &r.zero_point) {
            (crate::engine::model::calibrate::PerTensorOrChannel::Tensor(s), crate::engine::model::calibrate::PerTensorOrChannel::Tensor(z)) => {
                (format!("{s:.6}"), z.to_string())
            }
            _ => ("per chan.".into(), "…".into()),
        };
        table += &format!("{:<44} {:<18} {:<16} {:>11.5} {:>11.5} {scale:>11} {zp:>6}\n", r.name, r.op, format!("{:?}", r.shape), r.min_val, r.max_val);
    }
    Ok(table.trim_end().to_string())
}

/// `quantscope ptq`.
pub fn ptq(a: &PtqArgs) -> Result<String, String> {
    let model = read_model(&a.model)?;
    let (calib_arrays, calib_labels) = read_inputs(&a.calib, &model, &a.pictures)?;
    let calib = Dataset::new(&model, calib_arrays).map_err(|e| e.to_string())?;
    let (eval, named_labels) = if a.eval.is_empty() {
        (calib.clone(), calib_labels)
    } else {
        let (arrays, labels) = read_inputs(&a.eval, &model, &a.pictures)?;
        (Dataset::new(&model, arrays).map_err(|e| e.to_string())?, labels)
    };
    let labels = match &a.labels {
        Some(path) => {
            let shown = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
            Some(npy::read_labels(&shown, &bytes).map_err(|e| e.to_string())?)
        }
        // Pictures in class folders (or named class_…) label themselves.
        None => named_labels,
    };
    let act_observer = a.act_observer.kind(a.averaging_constant, 99.99, Tails::Abs, 2048);
    let settings = PtqSettings {
        weight_bits: a.weight_bits,
        per_channel: a.per_channel,
        act_bits: (!a.weights_only).then_some(a.act_bits),
        act_observer,
        fold_bn: a.fold_bn,
    };
    let report = simulate(&model, &calib, &eval, a.batch as usize, labels.as_deref(), &settings).map_err(|e| e.to_string())?;
    if a.json {
        return serde_json::to_string_pretty(&report).map_err(|e| e.to_string());
    }
    let db = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.2}"));
    let mut out = format!(
        "{}{}: output SQNR {} dB, top-1 agreement {:.2}%{}\n",
        model.file,
        if report.synthetic { " (synthetic input)" } else { "" },
        db(report.output_sqnr_db),
        100.0 * report.top1_agreement,
        report.accuracy.zip(report.fp32_accuracy).map(|(q, f)| format!(", accuracy {:.2}% (FP32 {:.2}%)", 100.0 * q, 100.0 * f)).unwrap_or_default()
    );
    out += &format!("{:<44} {:<18} {:>10} {:>10} {:>10}\n", "layer", "op", "weight dB", "local dB", "cumul. dB");
    for l in report.layers.iter().filter(|l| l.weight_sqnr_db.is_some() || l.act_quantized) {
        out += &format!("{:<44} {:<18} {:>10} {:>10} {:>10}\n", l.name, l.op, db(l.weight_sqnr_db), db(l.local_sqnr_db), db(l.cumulative_sqnr_db));
    }
    Ok(out.trim_end().to_string())
}
