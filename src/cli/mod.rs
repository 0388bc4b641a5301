//! The native command-line interface. Output is a human table, or JSON with `--json`; errors are
//! one line on stderr (`quantscope: …`) with exit code 1 (bad input) or 2 (bad flags).

mod formats;
mod lab;
mod model;
mod report;
mod stream;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::views::analysis::{analyze, default_range};
use crate::engine::io::{load, Format, LoadOptions};
use crate::engine::observer::{Granularity, ObserverKind, Tails};
use crate::engine::quantizer::qparams::{DType, QRange, QScheme};
use crate::engine::synth::{sample, Dist};
use crate::engine::tensor::Tensor;

#[derive(Parser, Debug)]
#[command(name = "quantscope", version, about = "See and understand neural-network quantization.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List every tensor of a file (.npy, .npz, .safetensors, .gguf, .onnx) with its statistics
    /// (.safetensors and .gguf files tensor by tensor).
    Inspect(InspectArgs),
    /// Calibrate a tensor with an observer and report its quantization parameters and error.
    Qparams(QparamsArgs),
    /// Draw a seeded synthetic tensor and report its min/max quantization.
    Synth(SynthArgs),
    /// Compute what the Explorer shows for a link (the whole URL, or its part after `#`): the
    /// readouts, the same numbers as the page's to the bit.
    View(ViewArgs),
    /// Train a network, quantize it after training (PTQ) and while training (QAT), run both
    /// integer models, and compare them with FP32.
    Lab(lab::LabArgs),
    /// Run an ONNX model on inputs (.npy, or .npz with one array per input) and print or save
    /// its FP32 outputs.
    Run(model::RunArgs),
    /// Run an ONNX model on calibration data and report every node output's range, scale and
    /// zero point.
    Calibrate(model::CalibrateArgs),
    /// Quantize one tensor to a number format (the integer grid, FP8/FP6/FP4, MX, NVFP4, NF4,
    /// GGUF) and report its bits per weight and error; --out writes the dequantized values.
    Quantize(formats::QuantizeArgs),
    /// Decode one stored tensor (a GGUF block type, BF16, …) to float32 values in a .npy file.
    Dequant(formats::DequantArgs),
    /// Every number format side by side on one tensor: bits per weight against error, with the
    /// Pareto front marked.
    Formats(formats::FormatsArgs),
    /// Simulate post-training quantization of an ONNX model (weights, and activations unless
    /// --weights-only) and report its error against FP32, layer by layer.
    Ptq(model::PtqArgs),
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    pub file: PathBuf,
    /// ONNX: fold BatchNormalization into the preceding Conv's weight.
    #[arg(long)]
    pub fold_bn: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObserverArg {
    Minmax,
    MovingAverage,
    Percentile,
    Histogram,
    Entropy,
    Mse,
}

impl ObserverArg {
    /// The observer with its parameters.
    pub fn kind(self, averaging_constant: f32, percentile: f64, tails: Tails, bins: usize) -> ObserverKind {
        match self {
            ObserverArg::Minmax => ObserverKind::MinMax,
            ObserverArg::MovingAverage => ObserverKind::MovingAverage { averaging_constant },
            ObserverArg::Percentile => ObserverKind::Percentile { percentile, tails },
            ObserverArg::Histogram => ObserverKind::Histogram { bins },
            ObserverArg::Entropy => ObserverKind::Entropy { bins, start_bin: 128 },
            ObserverArg::Mse => ObserverKind::Mse,
        }
    }
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum QSchemeArg {
    PerTensorAffine,
    PerTensorSymmetric,
    PerChannelAffine,
    PerChannelSymmetric,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DTypeArg {
    Quint8,
    Qint8,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TailsArg {
    Abs,
    Both,
}

#[derive(Args, Debug)]
pub struct QparamsArgs {
    pub file: PathBuf,
    /// The tensor to calibrate (default: every float tensor of the file).
    #[arg(long)]
    pub tensor: Option<String>,
    #[arg(long)]
    pub fold_bn: bool,
    #[command(flatten)]
    pub observer: ObserverOpts,
    /// The channel axis of per-channel schemes.
    #[arg(long, default_value_t = 0)]
    pub ch_axis: usize,
    /// Feed the slices along this axis to the observer one at a time (otherwise the tensor is
    /// one batch).
    #[arg(long)]
    pub batch_axis: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

/// The observer and its integer grid, as `qparams` and `calibrate` take them.
#[derive(Args, Debug)]
pub struct ObserverOpts {
    #[arg(long, value_enum)]
    pub observer: ObserverArg,
    #[arg(long, value_enum, default_value_t = QSchemeArg::PerTensorAffine)]
    pub qscheme: QSchemeArg,
    #[arg(long, value_enum, default_value_t = DTypeArg::Quint8)]
    pub dtype: DTypeArg,
    /// A custom integer range (both or neither), e.g. --quant-min 0 --quant-max 15 for 4 bits.
    #[arg(long, requires = "quant_max", allow_hyphen_values = true)]
    pub quant_min: Option<i64>,
    #[arg(long, requires = "quant_min", allow_hyphen_values = true)]
    pub quant_max: Option<i64>,
    #[arg(long)]
    pub reduce_range: bool,
    /// Moving average: c in (0, 1].
    #[arg(long, default_value_t = ObserverKind::DEFAULT_AVERAGING_CONSTANT)]
    pub averaging_constant: f32,
    /// Percentile observer: p in (0, 100].
    #[arg(long, default_value_t = 99.99)]
    pub percentile: f64,
    /// Percentile observer: of |x|, or of each tail.
    #[arg(long, value_enum, default_value_t = TailsArg::Abs)]
    pub tails: TailsArg,
    /// Histogram and entropy observers: number of bins.
    #[arg(long, default_value_t = 2048)]
    pub bins: usize,
}

impl ObserverOpts {
    /// The observer, the integer range, and the scheme with whether it is per channel.
    fn resolve(&self) -> Result<(ObserverKind, QRange, QScheme, bool), String> {
        let dtype = match self.dtype {
            DTypeArg::Quint8 => DType::QUInt8,
            DTypeArg::Qint8 => DType::QInt8,
        };
        let range = QRange::for_dtype(dtype, self.quant_min.zip(self.quant_max), self.reduce_range).map_err(|e| e.to_string())?;
        let (per_channel, scheme) = match self.qscheme {
            QSchemeArg::PerTensorAffine => (false, QScheme::Affine),
            QSchemeArg::PerTensorSymmetric => (false, QScheme::Symmetric),
            QSchemeArg::PerChannelAffine => (true, QScheme::Affine),
            QSchemeArg::PerChannelSymmetric => (true, QScheme::Symmetric),
        };
        let tails = if self.tails == TailsArg::Abs { Tails::Abs } else { Tails::Both };
        let kind = self.observer.kind(self.averaging_constant, self.percentile, tails, self.bins);
        Ok((kind, range, scheme, per_channel))
    }
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// The distribution to draw from.
    #[arg(long, value_enum, default_value_t = DistArg::Normal)]
    pub dist: DistArg,
    /// Number of values.
    #[arg(long, default_value_t = 100_000)]
    pub n: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Bit width, 2 to 16 (unsigned codes for affine, signed for symmetric).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=16))]
    pub bits: u32,
    #[arg(long, value_enum, default_value_t = SchemeArg::Affine)]
    pub scheme: SchemeArg,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ViewArgs {
    /// The Explorer's link, e.g. 'http://127.0.0.1:8080/#n=1000000&obs=entropy&ebins=8192'.
    pub link: String,
    /// The file a link to a file's tensor (`src=file`) is about: files never go into links.
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DistArg {
    Normal,
    Laplace,
    Uniform,
    StudentT,
    Bimodal,
    PostRelu,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SchemeArg {
    Affine,
    Symmetric,
}

impl DistArg {
    fn dist(self) -> Dist {
        use crate::ui::state::DistKind as K;
        let kind = match self {
            DistArg::Normal => K::Normal,
            DistArg::Laplace => K::Laplace,
            DistArg::Uniform => K::Uniform,
            DistArg::StudentT => K::StudentT,
            DistArg::Bimodal => K::Bimodal,
            DistArg::PostRelu => K::PostRelu,
        };
        // The family's standard member: the Explorer's defaults.
        crate::ui::state::UrlState { dist: kind, ..Default::default() }.dist()
    }
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    // A panic is a bug, but it still gets one line and exit code 1: the release build aborts on
    // panics, so the hook reports and exits before that.
    std::panic::set_hook(Box::new(|info| {
        let text = info.payload().downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| info.payload().downcast_ref::<String>().cloned()).unwrap_or_default();
        let at = info.location().map(|l| format!(" (at {}:{})", l.file().rsplit("/src/").next().unwrap_or(l.file()), l.line())).unwrap_or_default();
        eprintln!("quantscope: internal error: {text}{at}");
        std::process::exit(1);
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            let _ = e.print(); // --help, --version
            return 0;
        }
        Err(e) => {
            let text = e.render().to_string();
            let line = text.lines().next().unwrap_or("invalid arguments").trim_start_matches("error: ");
            eprintln!("quantscope: {line} (see quantscope --help)");
            return 2;
        }
    };
    let result = run(cli);
    // For the tests of memory use: the peak resident memory (Linux's VmHWM), on stderr.
    if std::env::var_os("QUANTSCOPE_REPORT_PEAK_MEMORY").is_some() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            eprintln!("quantscope: peak memory {}", line.trim_start_matches("VmHWM:").trim());
        }
    }
    match result {
        Ok(out) => {
            use std::io::Write;
            // A closed pipe (`quantscope … | head`) is not an error worth a panic.
            let _ = writeln!(std::io::stdout(), "{out}");
            0
        }
        Err(message) => {
            eprintln!("quantscope: {message}");
            1
        }
    }
}

fn read_file(path: &PathBuf, fold_bn: bool) -> Result<Vec<Tensor>, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
    load(&shown, &bytes, LoadOptions { fold_bn }).map_err(|e| e.to_string())
}

/// Runs a parsed command and returns what it prints.
pub fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Inspect(a) => {
            // An ONNX model's quantized tensors (dequantized in `tensors`) and how they are stored.
            let (tensors, stored) = if Format::of(&a.file.display().to_string()) == Some(Format::Onnx) {
                let shown = a.file.display().to_string();
                let bytes = std::fs::read(&a.file).map_err(|e| format!("{shown}: {e}"))?;
                let read = crate::engine::io::onnx::read_with_uses(&shown, &bytes, a.fold_bn).map_err(|e| e.to_string())?;
                (read.tensors, read.stored)
            } else {
                (Vec::new(), Default::default())
            };
            let mut rows: Vec<_> = tensors.iter().map(crate::engine::views::inspect::inspect).collect();
            // Other files tensor by tensor: a large checkpoint need not fit in memory.
            let mut preamble = String::new();
            if tensors.is_empty() {
                let source = stream::open(&a.file, a.fold_bn)?;
                if let stream::Source::Indexed(ix) = &source {
                    if let Some(h) = ix.gguf() {
                        preamble = report::gguf_preamble(h);
                    }
                }
                source.each(|t| {
                    rows.push(crate::engine::views::inspect::inspect_threads(t, stream::threads()));
                    Ok(())
                })?;
            }
            if a.json {
                let rows: Vec<serde_json::Value> = rows.iter().map(|r| report::inspect_json(r, stored.get(&r.name))).collect::<Result<_, _>>()?;
                serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())
            } else {
                for r in &mut rows {
                    if let Some(s) = stored.get(&r.name) {
                        r.dtype = report::stored_text(s);
                    }
                }
                Ok(format!("{preamble}{}", report::inspect_table(&rows)))
            }
        }
        Command::Qparams(a) => {
            let (kind, range, scheme, per_channel) = a.observer.resolve()?;
            let granularity = if per_channel { Granularity::PerChannel { axis: a.ch_axis } } else { Granularity::PerTensor };
            let file = a.file.display().to_string();
            // Tensor by tensor: a large .safetensors or GGUF file need not fit in memory.
            let source = stream::open(&a.file, a.fold_bn)?;
            let mut reports = Vec::new();
            match &a.tensor {
                Some(name) => {
                    let t = source.tensor(Some(name), &file)?;
                    reports.push(report::calibrate(&file, &t, &kind, scheme, range, granularity, a.batch_axis)?);
                }
                None => source.each(|t| {
                    reports.push(report::calibrate(&file, t, &kind, scheme, range, granularity, a.batch_axis)?);
                    Ok(())
                })?,
            }
            if a.json {
                let value = if reports.len() == 1 { serde_json::to_value(&reports[0]) } else { serde_json::to_value(&reports) };
                value.and_then(|v| serde_json::to_string_pretty(&v)).map_err(|e| e.to_string())
            } else {
                Ok(report::qparams_table(&reports))
            }
        }
        Command::Lab(a) => lab::lab(&a),
        Command::Quantize(a) => formats::quantize_cmd(&a),
        Command::Formats(a) => formats::formats_cmd(&a),
        Command::Dequant(a) => formats::dequant_cmd(&a),
        Command::Run(a) => model::run(&a),
        Command::Calibrate(a) => model::calibrate(&a),
        Command::Ptq(a) => model::ptq(&a),
        Command::View(a) => view(&a),
        Command::Synth(a) => {
            let scheme = match a.scheme {
                SchemeArg::Affine => QScheme::Affine,
                SchemeArg::Symmetric => QScheme::Symmetric,
            };
            let range = default_range(scheme, a.bits).map_err(|e| e.to_string())?;
            let dist = a.dist.dist();
            let xs = sample(dist, a.n, a.seed, None).map_err(|e| e.to_string())?;
            let analysis = analyze(&xs, scheme, range);
            if a.json {
                let report = report::SynthReport { dist, n: a.n, seed: a.seed, analysis: &analysis };
                serde_json::to_string_pretty(&report).map_err(|e| e.to_string())
            } else {
                Ok(report::synth_table(&analysis))
            }
        }
    }
}

/// `quantscope view LINK`: the Explorer's readouts for a link.
fn view(a: &ViewArgs) -> Result<String, String> {
    use crate::engine::views::explore::session::{Session, TensorSource};
    use crate::ui::state::{Source, UrlState};
    let hash = a.link.split_once('#').map_or(a.link.as_str(), |(_, h)| h);
    let (url, problems) = UrlState::from_hash(hash);
    if let Some(p) = problems.first() {
        return Err(format!("the link's {p}"));
    }
    let mut session = Session::default();
    let (source, shape) = match url.source {
        Source::Synthetic => (TensorSource::Synthetic(url.synth_spec()), url.shape().to_vec()),
        Source::File => {
            let path = a.file.as_ref().ok_or_else(|| format!("the link is about tensor “{}” of the file “{}”: give the file with --file", url.tensor, url.file))?;
            let t = read_file(path, url.fold_bn)?.into_iter().find(|t| t.name == url.tensor).ok_or_else(|| format!("{}: no tensor “{}”", path.display(), url.tensor))?;
            let shape = t.shape.clone();
            session.load(0, std::rc::Rc::new(t));
            (TensorSource::Loaded { key: 0 }, shape)
        }
    };
    let request = url.explore_request(source, &shape, crate::ui::explorer::BINS);
    let e = session.run(&request)?;
    if let Some(f) = e.format {
        let f = f?;
        return Ok(if a.json { report::format_view_json(&e.name, &e.shape, &f) } else { report::format_view_table(&e.name, &e.shape, &f) });
    }
    let v = e.view?;
    if a.json {
        Ok(crate::engine::views::export::readouts_json(&e.name, &e.shape, &v))
    } else {
        Ok(report::view_table(&e.name, &e.shape, &v))
    }
}
