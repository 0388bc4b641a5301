//! The app's URL state: every setting of a view lives in the location hash, serialised from one
//! table of fields ([`FIELDS`]), as TensorFlow Playground's `state.ts` does. Reading a hash never
//! fails: a field that is unknown or malformed keeps its default and is reported as a [`Problem`],
//! which the app shows as a notice.

use crate::engine::explore::{RangeSpec, Settings};
use crate::engine::observer::{Granularity, ObserverKind, Tails};
use crate::engine::qparams::QScheme;
use crate::engine::rounding::Rounding;
use crate::engine::synth::{Dist, Outliers};

/// The top-level views, one per tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Explorer,
    Lab,
    Learn,
    /// The in-browser benchmark page (not a tab; linked from About).
    Bench,
}

/// The synthetic distributions the Explorer offers, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DistKind {
    Normal,
    Laplace,
    Uniform,
    StudentT,
    Bimodal,
    PostRelu,
}

impl DistKind {
    /// The family's scale when the URL leaves it on auto: 1, or 0.5 for the bimodal mixture (so
    /// that its modes, 4 apart by default, stand apart).
    pub fn default_scale(self) -> f32 {
        if self == DistKind::Bimodal { 0.5 } else { 1.0 }
    }

    /// Whether the family has a location parameter (Student-t and the bimodal mixture are
    /// centred at 0).
    pub fn has_location(self) -> bool {
        !matches!(self, DistKind::StudentT | DistKind::Bimodal)
    }
}

/// The observers the Explorer offers (their parameters are separate fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObsKind {
    MinMax,
    MovingAverage,
    Percentile,
    Histogram,
    Entropy,
    Mse,
}

impl ObsKind {
    /// The observer with its parameters at their defaults (PyTorch's and NVIDIA's: percentile
    /// 99.99 of |x|, 2048 bins, the entropy search from bin 128), and the moving average's
    /// constant `averaging_constant`.
    pub fn with_defaults(self, averaging_constant: f32) -> ObserverKind {
        match self {
            ObsKind::MinMax => ObserverKind::MinMax,
            ObsKind::MovingAverage => ObserverKind::MovingAverage { averaging_constant },
            ObsKind::Percentile => ObserverKind::Percentile { percentile: 99.99, tails: Tails::Abs },
            ObsKind::Histogram => ObserverKind::Histogram { bins: 2048 },
            ObsKind::Entropy => ObserverKind::Entropy { bins: 2048, start_bin: 128 },
            ObsKind::Mse => ObserverKind::Mse,
        }
    }
}

/// Where the Explorer's tensor comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Synthetic,
    /// A tensor of a file the user opened (`file`, `tensor`). Links carry the names only: the
    /// file itself never leaves the browser, so whoever opens the link opens the file too.
    File,
}

/// Signed or unsigned codes; `Auto` pairs affine with unsigned and symmetric with signed (PyTorch's
/// quint8 / qint8 defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codes {
    Auto,
    Unsigned,
    Signed,
}

/// The rounding modes, by name (stochastic rounding is seeded with the tensor's seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    HalfEven,
    HalfAway,
    Stochastic,
}

/// Names used in URLs and in `<select>` options, for each enumerated setting.
pub const VIEWS: &[(View, &str, &str)] = &[
    (View::Explorer, "explorer", "Explorer"),
    (View::Lab, "lab", "Lab"),
    (View::Learn, "learn", "Learn"),
    (View::Bench, "bench", "Benchmarks"),
];

impl View {
    /// Whether the view has a tab in the header (the benchmark page is reached from About).
    pub fn is_tab(self) -> bool {
        self != View::Bench
    }
}
pub const DISTS: &[(DistKind, &str, &str)] = &[
    (DistKind::Normal, "normal", "Normal N(μ, σ²)"),
    (DistKind::Laplace, "laplace", "Laplace (μ, b = σ)"),
    (DistKind::Uniform, "uniform", "Uniform [μ − σ, μ + σ)"),
    (DistKind::StudentT, "student-t", "Student-t (ν dof, scale σ)"),
    (DistKind::Bimodal, "bimodal", "Bimodal (modes ±sep/2, σ each)"),
    (DistKind::PostRelu, "post-relu", "Post-ReLU max(0, N(μ, σ²))"),
];
pub const SCHEMES: &[(QScheme, &str, &str)] = &[(QScheme::Affine, "affine", "Affine"), (QScheme::Symmetric, "symmetric", "Symmetric")];
/// The lessons of Learn: URL key and title.
pub const LESSONS: &[(&str, &str)] = &[
    ("scale-zero-point", "Scale and zero point"),
    ("outliers", "Outliers and calibration"),
    ("ema", "Moving average against min/max"),
    ("per-channel", "Per tensor against per channel"),
    ("bits", "Bits against error"),
    ("ptq-qat", "PTQ against QAT"),
];

pub const SOURCES: &[(Source, &str, &str)] = &[(Source::Synthetic, "synth", "Synthetic"), (Source::File, "file", "A file")];
pub const OBSERVERS: &[(ObsKind, &str, &str)] = &[
    (ObsKind::MinMax, "minmax", "Min/max"),
    (ObsKind::MovingAverage, "moving-average", "Moving-average min/max (EMA)"),
    (ObsKind::Percentile, "percentile", "Percentile"),
    (ObsKind::Histogram, "histogram", "Histogram (L2 search, PyTorch)"),
    (ObsKind::Entropy, "entropy", "Entropy / KL (NVIDIA)"),
    (ObsKind::Mse, "mse", "MSE-optimal clipping"),
];
pub const TAILS: &[(Tails, &str, &str)] = &[(Tails::Abs, "abs", "of |x|"), (Tails::Both, "both", "of each tail")];
pub const CODES: &[(Codes, &str, &str)] = &[
    (Codes::Auto, "auto", "Auto (from the scheme)"),
    (Codes::Unsigned, "quint", "Unsigned (quint)"),
    (Codes::Signed, "qint", "Signed (qint)"),
];
pub const GRANULARITIES: &[(bool, &str, &str)] = &[(false, "tensor", "Per tensor"), (true, "channel", "Per channel")];
pub const ROUNDINGS: &[(RoundKind, &str, &str)] = &[
    (RoundKind::HalfEven, "half-even", "Half to even (torch.round)"),
    (RoundKind::HalfAway, "half-away", "Half away from zero"),
    (RoundKind::Stochastic, "stochastic", "Stochastic"),
];

/// Looks up the URL name of `value` in a choice table.
pub fn choice_key<T: PartialEq>(table: &[(T, &'static str, &'static str)], value: &T) -> &'static str {
    table.iter().find(|(v, _, _)| v == value).map(|(_, k, _)| *k).unwrap_or("")
}

fn parse_choice<T: Copy>(table: &[(T, &'static str, &'static str)], s: &str) -> Result<T, String> {
    table.iter().find(|(_, k, _)| *k == s).map(|(v, _, _)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(_, k, _)| *k).collect();
        format!("expected one of {}", names.join(", "))
    })
}

fn parse_int<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(s: &str, lo: T, hi: T) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(format!("expected a whole number from {lo} to {hi}")),
    }
}

fn parse_float<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(s: &str, lo: T, hi: T, what: &str) -> Result<T, String> {
    match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(format!("expected {what} from {lo} to {hi}")),
    }
}

/// `auto` for none, else a value `parse` accepts.
fn parse_auto<T>(s: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    if s == "auto" {
        Ok(None)
    } else {
        parse(s).map(Some).map_err(|e| format!("{e}, or auto"))
    }
}

/// Characters kept as they are in names written to the hash; everything else is %-encoded.
const NAME_SAFE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/').remove(b':');

/// Longest file or tensor name a link may carry.
pub const MAX_NAME_CHARS: usize = 300;

fn encode_name(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, NAME_SAFE).to_string()
}

fn decode_name(s: &str) -> Result<String, String> {
    let name = percent_encoding::percent_decode_str(s).decode_utf8().map_err(|_| "expected a %-encoded UTF-8 name".to_string())?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("expected a name of at most {MAX_NAME_CHARS} characters"));
    }
    Ok(name.into_owned())
}

fn auto<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "auto".into(), |v| v.to_string())
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err("expected 0 or 1".into()),
    }
}

/// Bounds of the numeric settings.
pub const MIN_SAMPLES: usize = 1_000;
pub const MAX_SAMPLES: usize = 10_000_000;
pub const MIN_BITS: u32 = 2;
pub const MAX_BITS: u32 = 16;
pub const MAX_CHANNELS: usize = 1024;
pub const MAX_BATCHES: usize = 1000;
pub const MAX_DRIFT: f32 = 10.0;
pub const MAX_SPREAD: f32 = 10_000.0;
/// Hand-set range ends and outlier magnitudes are kept within ±this.
pub const MAX_ABS_VALUE: f32 = 1e6;
/// Distribution parameters (location, scale, separation) are kept within ±this.
pub const MAX_DIST_PARAM: f32 = 1e4;
/// Highest channel axis a link may name (tensors of higher rank are rare).
pub const MAX_AXIS: usize = 7;
/// Deepest zoom of the transfer function.
pub const MAX_TRANSFER_ZOOM: f32 = 65536.0;
/// Bins of the histogram-based observers.
pub const MAX_OBSERVER_BINS: usize = 1 << 16;

/// Everything the URL can say.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlState {
    pub view: View,
    pub dist: DistKind,
    /// The distribution's location μ (mean, or centre; Student-t and bimodal ignore it), scale
    /// σ (`None`: the family's default), Student-t degrees of freedom ν and bimodal separation.
    pub mu: f32,
    pub sigma: Option<f32>,
    pub dof: f32,
    pub sep: f32,
    /// Number of synthetic values.
    pub n: usize,
    pub seed: u64,
    pub bits: u32,
    pub scheme: QScheme,
    /// Log-scaled counts in the histogram.
    pub log: bool,
    /// Channels of the synthetic tensor (shape `[ch, n/ch]`), and the ratio of the widest
    /// channel's scale to the narrowest's (channel c is scaled by `spread^(c/(ch−1))`).
    pub channels: usize,
    pub spread: f32,
    /// Outlier injection: fraction of values replaced by ±magnitude.
    pub outlier_fraction: f32,
    pub outlier_magnitude: f32,
    pub observer: ObsKind,
    pub averaging_constant: f32,
    pub percentile: f64,
    pub tails: Tails,
    /// Bins of PyTorch's HistogramObserver, and of the entropy calibrator with its first bin.
    pub hist_bins: usize,
    pub entropy_bins: usize,
    pub entropy_start: usize,
    pub codes: Codes,
    pub narrow: bool,
    pub reduce_range: bool,
    pub quant_min: Option<i64>,
    pub quant_max: Option<i64>,
    pub per_channel: bool,
    /// The channel axis, per channel and in the per-channel view.
    pub axis: usize,
    pub rounding: RoundKind,
    /// A clipping range set by hand (both ends, or none).
    pub lo: Option<f32>,
    pub hi: Option<f32>,
    pub source: Source,
    /// The opened file's name and the chosen tensor's (empty: none yet).
    pub file: String,
    pub tensor: String,
    /// ONNX: fold each BatchNormalization into the Conv before it.
    pub fold_bn: bool,
    /// The per-channel view sorts channels by range.
    pub channel_sort: bool,
    /// Observer dynamics: batches the tensor is fed in, and how much wider the last batch is
    /// than the first (a drifting stream).
    pub batches: usize,
    pub drift: f32,
    /// The open lesson (an index into [`LESSONS`]).
    pub lesson: usize,
    /// The transfer function's zoom (1: the whole view) and the value at its centre (`None`:
    /// the middle of the view).
    pub transfer_zoom: f32,
    pub transfer_center: Option<f32>,
    /// The Lab's experiment (see [`UrlState::lab_config`]).
    pub lab: LabSettings,
}

/// The Lab's settings, as the URL carries them (`l…` fields).
#[derive(Clone, Debug, PartialEq)]
pub struct LabSettings {
    pub dataset: LabData,
    pub model: crate::engine::nn::lab::ModelKind,
    pub hidden: Vec<usize>,
    pub channels: [usize; 2],
    pub relu6: bool,
    pub sgd: bool,
    pub lr: f32,
    pub epochs: usize,
    pub qat_epochs: usize,
    pub weight_bits: u32,
    pub act_bits: u32,
    pub per_channel: bool,
    pub observer: ObsKind,
    pub calib_samples: usize,
    pub averaging_constant: f32,
    pub freeze_after: Option<usize>,
    pub freeze_bn_after: Option<usize>,
    pub points: usize,
    pub noise: f32,
    pub seed: u64,
}

impl Default for LabSettings {
    /// The CLI's defaults (`quantscope lab`), so a link and a command line agree.
    fn default() -> Self {
        LabSettings {
            dataset: LabData::Digits,
            model: crate::engine::nn::lab::ModelKind::Mlp,
            hidden: vec![128, 128],
            channels: [8, 16],
            relu6: false,
            sgd: false,
            lr: 1e-3,
            epochs: 30,
            qat_epochs: 10,
            weight_bits: 4,
            act_bits: 4,
            per_channel: false,
            observer: ObsKind::MinMax,
            calib_samples: 256,
            averaging_constant: ObserverKind::DEFAULT_AVERAGING_CONSTANT,
            freeze_after: None,
            freeze_bn_after: None,
            points: 1000,
            noise: 0.1,
            seed: 0,
        }
    }
}

/// The Lab's data sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabData {
    Digits,
    Synthetic(crate::engine::nn::data::Synthetic2d),
}

pub const LAB_DATA: &[(LabData, &str, &str)] = {
    use crate::engine::nn::data::Synthetic2d as S;
    &[
        (LabData::Digits, "digits", "8×8 digits (1,797 images)"),
        (LabData::Synthetic(S::Moons), "moons", "2-D: moons"),
        (LabData::Synthetic(S::Circles), "circles", "2-D: circles"),
        (LabData::Synthetic(S::Xor), "xor", "2-D: XOR"),
        (LabData::Synthetic(S::Spiral), "spiral", "2-D: spiral"),
        (LabData::Synthetic(S::Blobs), "blobs", "2-D: three blobs"),
    ]
};

/// The Lab's networks.
pub const LAB_MODELS: &[(crate::engine::nn::lab::ModelKind, &str, &str)] = {
    use crate::engine::nn::lab::ModelKind as M;
    &[(M::Mlp, "mlp", "MLP"), (M::Cnn, "cnn", "CNN: conv, depthwise, pointwise (digits)")]
};

/// The CNN's two channel counts, `8,16`.
pub(crate) fn parse_channels(v: &str) -> Result<[usize; 2], String> {
    let c: Result<Vec<usize>, _> = v.split(',').map(|w| parse_int(w.trim(), 1, 256)).collect();
    match c.as_deref() {
        Ok(&[a, b]) => Ok([a, b]),
        _ => Err("expected two channel counts from 1 to 256, comma-separated".into()),
    }
}

/// The MLP's hidden widths, `128,128`.
pub(crate) fn parse_widths(v: &str) -> Result<Vec<usize>, String> {
    let widths: Result<Vec<usize>, _> = v.split(',').map(|w| parse_int(w.trim(), 1, 4096)).collect();
    match widths {
        Ok(w) if (1..=4).contains(&w.len()) => Ok(w),
        _ => Err("expected 1 to 4 layer widths from 1 to 4096, comma-separated".into()),
    }
}

impl Default for UrlState {
    fn default() -> Self {
        UrlState {
            view: View::Explorer,
            dist: DistKind::Normal,
            mu: 0.0,
            sigma: None,
            dof: 3.0,
            sep: 4.0,
            n: 100_000,
            seed: 42,
            bits: 8,
            scheme: QScheme::Affine,
            log: false,
            channels: 1,
            spread: 1.0,
            outlier_fraction: 0.0,
            outlier_magnitude: 20.0,
            observer: ObsKind::MinMax,
            averaging_constant: ObserverKind::DEFAULT_AVERAGING_CONSTANT,
            percentile: 99.99,
            tails: Tails::Abs,
            hist_bins: 2048,
            entropy_bins: 2048,
            entropy_start: 128,
            codes: Codes::Auto,
            narrow: false,
            reduce_range: false,
            quant_min: None,
            quant_max: None,
            per_channel: false,
            axis: 0,
            rounding: RoundKind::HalfEven,
            lo: None,
            hi: None,
            source: Source::Synthetic,
            file: String::new(),
            tensor: String::new(),
            fold_bn: false,
            channel_sort: false,
            batches: 20,
            drift: 0.0,
            lesson: 0,
            transfer_zoom: 1.0,
            transfer_center: None,
            lab: LabSettings::default(),
        }
    }
}

impl UrlState {
    /// The engine's settings for this state (`bins` bins for the histograms).
    pub fn settings(&self, bins: usize) -> Settings {
        let observer = match self.observer {
            ObsKind::MinMax => ObserverKind::MinMax,
            ObsKind::MovingAverage => ObserverKind::MovingAverage { averaging_constant: self.averaging_constant },
            ObsKind::Percentile => ObserverKind::Percentile { percentile: self.percentile, tails: self.tails },
            ObsKind::Histogram => ObserverKind::Histogram { bins: self.hist_bins },
            ObsKind::Entropy => ObserverKind::Entropy { bins: self.entropy_bins, start_bin: self.entropy_start },
            ObsKind::Mse => ObserverKind::Mse,
        };
        let unsigned = match self.codes {
            Codes::Auto => self.scheme == QScheme::Affine,
            Codes::Unsigned => true,
            Codes::Signed => false,
        };
        let rounding = match self.rounding {
            RoundKind::HalfEven => Rounding::HalfEven,
            RoundKind::HalfAway => Rounding::HalfAwayFromZero,
            RoundKind::Stochastic => Rounding::Stochastic { seed: self.seed },
        };
        Settings {
            observer,
            scheme: self.scheme,
            range: RangeSpec {
                bits: self.bits,
                unsigned,
                narrow: self.narrow,
                reduce_range: self.reduce_range,
                custom: self.quant_min.zip(self.quant_max),
            },
            granularity: if self.per_channel { Granularity::PerChannel { axis: self.axis } } else { Granularity::PerTensor },
            rounding,
            manual: self.lo.zip(self.hi),
            bins,
        }
    }

    /// Moves one end of the clip range set by hand to `x` (the low end if `low`); the other end
    /// starts at the observer's `observed` range when none is set yet. The ends are kept in order
    /// and within ±[`MAX_ABS_VALUE`]; a non-finite `x` changes nothing. With the symmetric scheme,
    /// whose range is `±max(|min|, |max|)`, the range becomes `±|x|`: moving one end moves both,
    /// as the quantizer would.
    pub fn set_clip_end(&mut self, low: bool, x: f32, observed: (Option<f32>, Option<f32>)) {
        if !x.is_finite() {
            return;
        }
        let x = x.clamp(-MAX_ABS_VALUE, MAX_ABS_VALUE);
        if self.scheme == QScheme::Symmetric {
            (self.lo, self.hi) = (Some(-x.abs()), Some(x.abs()));
            return;
        }
        let (lo, hi) = (self.lo.or(observed.0), self.hi.or(observed.1));
        let (lo, hi) = if low { (Some(x), hi) } else { (lo, Some(x)) };
        if let (Some(lo), Some(hi)) = (lo, hi) {
            (self.lo, self.hi) = (Some(lo.min(hi)), Some(hi.max(lo)));
        }
    }

    /// The Lab experiment these settings describe (what `quantscope lab` runs with the same
    /// flags; batch 64 and QAT at half the learning rate, as its defaults).
    pub fn lab_config(&self) -> crate::engine::nn::lab::LabConfig {
        use crate::engine::nn::lab::{DatasetSpec, LabConfig};
        use crate::engine::nn::net::Activation;
        use crate::engine::nn::optim::OptimizerKind;
        let l = &self.lab;
        let act_observer = l.observer.with_defaults(l.averaging_constant);
        LabConfig {
            dataset: match l.dataset {
                LabData::Digits => DatasetSpec::Digits,
                LabData::Synthetic(kind) => DatasetSpec::Synthetic { kind, n: l.points, noise: l.noise },
            },
            model: l.model,
            hidden: l.hidden.clone(),
            channels: l.channels,
            activation: if l.relu6 { Activation::Relu6 } else { Activation::Relu },
            optimizer: if l.sgd { OptimizerKind::Sgd { lr: l.lr, momentum: 0.9 } } else { OptimizerKind::Adam { lr: l.lr } },
            epochs: l.epochs,
            qat_epochs: l.qat_epochs,
            weight_bits: l.weight_bits,
            per_channel: l.per_channel,
            act_bits: l.act_bits,
            act_observer,
            calib_samples: l.calib_samples,
            averaging_constant: l.averaging_constant,
            freeze_observers_after: l.freeze_after,
            freeze_bn_after: l.freeze_bn_after,
            seed: l.seed,
            ..LabConfig::default()
        }
    }

    /// The synthetic distribution with this state's parameters.
    pub fn dist(&self) -> Dist {
        let (mu, sigma) = (self.mu, self.sigma.unwrap_or(self.dist.default_scale()));
        match self.dist {
            DistKind::Normal => Dist::Normal { mean: mu, std: sigma },
            DistKind::Laplace => Dist::Laplace { loc: mu, b: sigma },
            DistKind::Uniform => Dist::Uniform { lo: mu - sigma, hi: mu + sigma },
            DistKind::StudentT => Dist::StudentT { dof: self.dof, scale: sigma },
            DistKind::Bimodal => Dist::Bimodal { sep: self.sep, std: sigma },
            DistKind::PostRelu => Dist::PostRelu { mean: mu, std: sigma },
        }
    }

    /// The outliers to inject, if any.
    pub fn outliers(&self) -> Option<Outliers> {
        (self.outlier_fraction > 0.0).then_some(Outliers { fraction: self.outlier_fraction, magnitude: self.outlier_magnitude })
    }

    /// What the Explorer asks of the engine for this state, for a tensor of `shape` from
    /// `source`, with `bins` histogram bins: the view, and the panels that apply.
    pub fn explore_request(&self, source: crate::engine::explore::session::TensorSource, shape: &[usize], bins: usize) -> crate::engine::explore::session::ExploreRequest {
        use crate::engine::explore::session::{ChannelsRequest, DynamicsRequest, ExploreRequest};
        let settings = self.settings(bins);
        let along = shape.get(self.axis).copied().unwrap_or(0);
        let channels = (shape.len() >= 2 && (2..=crate::ui::explorer::MAX_DRAWN_CHANNELS).contains(&along))
            .then(|| settings.range.range().ok())
            .flatten()
            .map(|range| ChannelsRequest { axis: self.axis, scheme: settings.scheme, range });
        let dynamics = Some(DynamicsRequest { batches: self.batches, averaging_constant: self.averaging_constant, drift: self.drift });
        ExploreRequest { source, settings, channels, dynamics }
    }

    /// Everything that makes the synthetic tensor.
    pub fn synth_spec(&self) -> crate::engine::synth::SynthSpec {
        crate::engine::synth::SynthSpec { dist: self.dist(), n: self.n, seed: self.seed, outliers: self.outliers(), channels: self.channels.clamp(1, MAX_CHANNELS), spread: self.spread }
    }

    /// The synthetic tensor's shape: `[channels, n / channels]` (n is rounded down to a
    /// multiple of the channels).
    pub fn shape(&self) -> [usize; 2] {
        let ch = self.channels.clamp(1, MAX_CHANNELS);
        [ch, (self.n / ch).max(1)]
    }
}

/// One URL field: its key, how to write it, and how to read it back.
pub struct Field {
    pub key: &'static str,
    pub get: fn(&UrlState) -> String,
    pub set: fn(&mut UrlState, &str) -> Result<(), String>,
}

/// The one table of URL fields, in the order they are written. Each setter assigns and passes an
/// error on in one expression, `Ok(s.field = parse(v)?)`, which clippy's `unit_arg` flags.
#[allow(clippy::unit_arg)]
pub const FIELDS: &[Field] = &[
    Field {
        key: "view",
        get: |s| choice_key(VIEWS, &s.view).into(),
        set: |s, v| Ok(s.view = parse_choice(VIEWS, v)?),
    },
    Field {
        key: "dist",
        get: |s| choice_key(DISTS, &s.dist).into(),
        set: |s, v| Ok(s.dist = parse_choice(DISTS, v)?),
    },
    Field {
        key: "mu",
        get: |s| s.mu.to_string(),
        set: |s, v| Ok(s.mu = parse_float(v, -MAX_DIST_PARAM, MAX_DIST_PARAM, "a location")?),
    },
    Field {
        key: "sigma",
        get: |s| auto(s.sigma),
        set: |s, v| match parse_auto(v, |v| parse_float(v, 0.0, MAX_DIST_PARAM, "a scale"))? {
            Some(x) if x <= 0.0 => Err("expected a scale above 0, or auto".into()),
            x => Ok(s.sigma = x),
        },
    },
    Field { key: "dof", get: |s| s.dof.to_string(), set: |s, v| Ok(s.dof = parse_float(v, 0.5, 1000.0, "degrees of freedom")?) },
    Field { key: "sep", get: |s| s.sep.to_string(), set: |s, v| Ok(s.sep = parse_float(v, 0.0, MAX_DIST_PARAM, "a separation")?) },
    Field { key: "n", get: |s| s.n.to_string(), set: |s, v| Ok(s.n = parse_int(v, MIN_SAMPLES, MAX_SAMPLES)?) },
    Field { key: "seed", get: |s| s.seed.to_string(), set: |s, v| Ok(s.seed = parse_int(v, 0, u64::MAX)?) },
    Field { key: "bits", get: |s| s.bits.to_string(), set: |s, v| Ok(s.bits = parse_int(v, MIN_BITS, MAX_BITS)?) },
    Field {
        key: "scheme",
        get: |s| choice_key(SCHEMES, &s.scheme).into(),
        set: |s, v| Ok(s.scheme = parse_choice(SCHEMES, v)?),
    },
    Field { key: "log", get: |s| u8::from(s.log).to_string(), set: |s, v| Ok(s.log = parse_bool(v)?) },
    Field { key: "ch", get: |s| s.channels.to_string(), set: |s, v| Ok(s.channels = parse_int(v, 1, MAX_CHANNELS)?) },
    Field {
        key: "spread",
        get: |s| s.spread.to_string(),
        set: |s, v| Ok(s.spread = parse_float(v, 1.0, MAX_SPREAD, "a ratio")?),
    },
    Field {
        key: "of",
        get: |s| s.outlier_fraction.to_string(),
        set: |s, v| Ok(s.outlier_fraction = parse_float(v, 0.0, 0.5, "a fraction")?),
    },
    Field {
        key: "om",
        get: |s| s.outlier_magnitude.to_string(),
        set: |s, v| Ok(s.outlier_magnitude = parse_float(v, 0.0, MAX_ABS_VALUE, "a magnitude")?),
    },
    Field {
        key: "obs",
        get: |s| choice_key(OBSERVERS, &s.observer).into(),
        set: |s, v| Ok(s.observer = parse_choice(OBSERVERS, v)?),
    },
    Field {
        key: "ac",
        get: |s| s.averaging_constant.to_string(),
        set: |s, v| match parse_float(v, 0.0, 1.0, "an averaging constant")? {
            c if c > 0.0 => Ok(s.averaging_constant = c),
            _ => Err("expected an averaging constant above 0, at most 1".into()),
        },
    },
    Field {
        key: "pct",
        get: |s| s.percentile.to_string(),
        set: |s, v| match parse_float(v, 0.0, 100.0, "a percentile")? {
            p if p > 0.0 => Ok(s.percentile = p),
            _ => Err("expected a percentile above 0, at most 100".into()),
        },
    },
    Field { key: "tails", get: |s| choice_key(TAILS, &s.tails).into(), set: |s, v| Ok(s.tails = parse_choice(TAILS, v)?) },
    Field { key: "hbins", get: |s| s.hist_bins.to_string(), set: |s, v| Ok(s.hist_bins = parse_int(v, 16, MAX_OBSERVER_BINS)?) },
    Field { key: "ebins", get: |s| s.entropy_bins.to_string(), set: |s, v| Ok(s.entropy_bins = parse_int(v, 16, MAX_OBSERVER_BINS)?) },
    Field { key: "estart", get: |s| s.entropy_start.to_string(), set: |s, v| Ok(s.entropy_start = parse_int(v, 1, MAX_OBSERVER_BINS)?) },
    Field { key: "dtype", get: |s| choice_key(CODES, &s.codes).into(), set: |s, v| Ok(s.codes = parse_choice(CODES, v)?) },
    Field { key: "narrow", get: |s| u8::from(s.narrow).to_string(), set: |s, v| Ok(s.narrow = parse_bool(v)?) },
    Field { key: "reduce", get: |s| u8::from(s.reduce_range).to_string(), set: |s, v| Ok(s.reduce_range = parse_bool(v)?) },
    Field {
        key: "qmin",
        get: |s| auto(s.quant_min),
        set: |s, v| Ok(s.quant_min = parse_auto(v, |v| parse_int(v, -(1 << 16), 0))?),
    },
    Field {
        key: "qmax",
        get: |s| auto(s.quant_max),
        set: |s, v| Ok(s.quant_max = parse_auto(v, |v| parse_int(v, 0, 1 << 16))?),
    },
    Field {
        key: "gran",
        get: |s| choice_key(GRANULARITIES, &s.per_channel).into(),
        set: |s, v| Ok(s.per_channel = parse_choice(GRANULARITIES, v)?),
    },
    Field { key: "axis", get: |s| s.axis.to_string(), set: |s, v| Ok(s.axis = parse_int(v, 0, MAX_AXIS)?) },
    Field {
        key: "round",
        get: |s| choice_key(ROUNDINGS, &s.rounding).into(),
        set: |s, v| Ok(s.rounding = parse_choice(ROUNDINGS, v)?),
    },
    Field { key: "src", get: |s| choice_key(SOURCES, &s.source).into(), set: |s, v| Ok(s.source = parse_choice(SOURCES, v)?) },
    Field { key: "file", get: |s| encode_name(&s.file), set: |s, v| Ok(s.file = decode_name(v)?) },
    Field { key: "tensor", get: |s| encode_name(&s.tensor), set: |s, v| Ok(s.tensor = decode_name(v)?) },
    Field { key: "foldbn", get: |s| u8::from(s.fold_bn).to_string(), set: |s, v| Ok(s.fold_bn = parse_bool(v)?) },
    Field { key: "chsort", get: |s| u8::from(s.channel_sort).to_string(), set: |s, v| Ok(s.channel_sort = parse_bool(v)?) },
    Field {
        key: "lesson",
        get: |s| LESSONS[s.lesson.min(LESSONS.len() - 1)].0.into(),
        set: |s, v| match LESSONS.iter().position(|(k, _)| *k == v) {
            Some(i) => Ok(s.lesson = i),
            None => Err(format!("expected one of {}", LESSONS.iter().map(|l| l.0).collect::<Vec<_>>().join(", "))),
        },
    },
    Field { key: "nb", get: |s| s.batches.to_string(), set: |s, v| Ok(s.batches = parse_int(v, 1, MAX_BATCHES)?) },
    Field {
        key: "drift",
        get: |s| s.drift.to_string(),
        set: |s, v| Ok(s.drift = parse_float(v, 0.0, MAX_DRIFT, "a drift")?),
    },
    Field {
        key: "tzoom",
        get: |s| s.transfer_zoom.to_string(),
        set: |s, v| Ok(s.transfer_zoom = parse_float(v, 1.0, MAX_TRANSFER_ZOOM, "a zoom")?),
    },
    Field {
        key: "tcenter",
        get: |s| auto(s.transfer_center),
        set: |s, v| Ok(s.transfer_center = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, "a value"))?),
    },
    Field { key: "ldata", get: |s| choice_key(LAB_DATA, &s.lab.dataset).into(), set: |s, v| Ok(s.lab.dataset = parse_choice(LAB_DATA, v)?) },
    Field { key: "lmodel", get: |s| choice_key(LAB_MODELS, &s.lab.model).into(), set: |s, v| Ok(s.lab.model = parse_choice(LAB_MODELS, v)?) },
    Field {
        key: "lhidden",
        get: |s| s.lab.hidden.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(","),
        set: |s, v| Ok(s.lab.hidden = parse_widths(v)?),
    },
    Field {
        key: "lch",
        get: |s| format!("{},{}", s.lab.channels[0], s.lab.channels[1]),
        set: |s, v| Ok(s.lab.channels = parse_channels(v)?),
    },
    Field { key: "lrelu6", get: |s| u8::from(s.lab.relu6).to_string(), set: |s, v| Ok(s.lab.relu6 = parse_bool(v)?) },
    Field { key: "lsgd", get: |s| u8::from(s.lab.sgd).to_string(), set: |s, v| Ok(s.lab.sgd = parse_bool(v)?) },
    Field {
        key: "llr",
        get: |s| s.lab.lr.to_string(),
        set: |s, v| match parse_float(v, 0.0, 10.0, "a learning rate")? {
            lr if lr > 0.0 => Ok(s.lab.lr = lr),
            _ => Err("expected a learning rate above 0, at most 10".into()),
        },
    },
    Field { key: "lepochs", get: |s| s.lab.epochs.to_string(), set: |s, v| Ok(s.lab.epochs = parse_int(v, 0, 1000)?) },
    Field { key: "lqat", get: |s| s.lab.qat_epochs.to_string(), set: |s, v| Ok(s.lab.qat_epochs = parse_int(v, 0, 1000)?) },
    Field { key: "lwbits", get: |s| s.lab.weight_bits.to_string(), set: |s, v| Ok(s.lab.weight_bits = parse_int(v, 2, 8)?) },
    Field { key: "labits", get: |s| s.lab.act_bits.to_string(), set: |s, v| Ok(s.lab.act_bits = parse_int(v, 2, 8)?) },
    Field { key: "lpc", get: |s| u8::from(s.lab.per_channel).to_string(), set: |s, v| Ok(s.lab.per_channel = parse_bool(v)?) },
    Field { key: "lobs", get: |s| choice_key(OBSERVERS, &s.lab.observer).into(), set: |s, v| Ok(s.lab.observer = parse_choice(OBSERVERS, v)?) },
    Field { key: "lcalib", get: |s| s.lab.calib_samples.to_string(), set: |s, v| Ok(s.lab.calib_samples = parse_int(v, 1, 100_000)?) },
    Field {
        key: "lac",
        get: |s| s.lab.averaging_constant.to_string(),
        set: |s, v| match parse_float(v, 0.0, 1.0, "an averaging constant")? {
            c if c > 0.0 => Ok(s.lab.averaging_constant = c),
            _ => Err("expected an averaging constant above 0, at most 1".into()),
        },
    },
    Field { key: "lfreeze", get: |s| auto(s.lab.freeze_after), set: |s, v| Ok(s.lab.freeze_after = parse_auto(v, |v| parse_int(v, 0, 1000))?) },
    Field { key: "lfreezebn", get: |s| auto(s.lab.freeze_bn_after), set: |s, v| Ok(s.lab.freeze_bn_after = parse_auto(v, |v| parse_int(v, 0, 1000))?) },
    Field { key: "lpoints", get: |s| s.lab.points.to_string(), set: |s, v| Ok(s.lab.points = parse_int(v, 20, 100_000)?) },
    Field { key: "lnoise", get: |s| s.lab.noise.to_string(), set: |s, v| Ok(s.lab.noise = parse_float(v, 0.0, 10.0, "a noise level")?) },
    Field { key: "lseed", get: |s| s.lab.seed.to_string(), set: |s, v| Ok(s.lab.seed = parse_int(v, 0, u64::MAX)?) },
    Field {
        key: "lo",
        get: |s| auto(s.lo),
        set: |s, v| Ok(s.lo = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, "a value"))?),
    },
    Field {
        key: "hi",
        get: |s| auto(s.hi),
        set: |s, v| Ok(s.hi = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, "a value"))?),
    },
];

/// A part of the hash that was ignored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub part: String,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "“{}”: {}", self.part, self.reason)
    }
}

impl UrlState {
    /// `view=explorer&dist=normal&…`, every field of [`FIELDS`] in order (no leading `#`).
    pub fn to_hash(&self) -> String {
        FIELDS.iter().map(|f| format!("{}={}", f.key, (f.get)(self))).collect::<Vec<_>>().join("&")
    }

    /// Reads a hash (with or without its leading `#`). Unknown keys, repeated keys, parts without
    /// `=` and malformed values are skipped and reported; their fields keep the default.
    pub fn from_hash(hash: &str) -> (UrlState, Vec<Problem>) {
        let mut state = UrlState::default();
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        let body = hash.strip_prefix('#').unwrap_or(hash);
        for part in body.split('&').filter(|p| !p.is_empty()) {
            let problem = |reason: String| Problem { part: truncate(part, 60), reason };
            let Some((key, value)) = part.split_once('=') else {
                problems.push(problem("not a key=value pair".into()));
                continue;
            };
            let Some(field) = FIELDS.iter().find(|f| f.key == key) else {
                problems.push(problem("unknown setting".into()));
                continue;
            };
            if seen.contains(&key) {
                problems.push(problem("repeated setting (the first one is used)".into()));
                continue;
            }
            seen.push(key);
            let mut candidate = state.clone();
            match (field.set)(&mut candidate, value) {
                Ok(()) => state = candidate,
                Err(reason) => problems.push(problem(format!("{reason}; using the default"))),
            }
        }
        (state, problems)
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        s.to_string()
    } else {
        s.chars().take(max_chars).chain(['…']).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::url_strategy::{any_lab, any_state};
    use proptest::prelude::*;

    #[test]
    fn default_round_trips() {
        let s = UrlState::default();
        assert_eq!(
            s.to_hash(),
            "view=explorer&dist=normal&mu=0&sigma=auto&dof=3&sep=4&n=100000&seed=42&bits=8&scheme=affine&log=0&ch=1&spread=1&of=0&om=20\
             &obs=minmax&ac=0.01&pct=99.99&tails=abs&hbins=2048&ebins=2048&estart=128&dtype=auto&narrow=0&reduce=0&qmin=auto&qmax=auto\
             &gran=tensor&axis=0&round=half-even&src=synth&file=&tensor=&foldbn=0&chsort=0&lesson=scale-zero-point&nb=20&drift=0&tzoom=1&tcenter=auto\
             &ldata=digits&lmodel=mlp&lhidden=128,128&lch=8,16&lrelu6=0&lsgd=0&llr=0.001&lepochs=30&lqat=10&lwbits=4&labits=4&lpc=0&lobs=minmax\
             &lcalib=256&lac=0.01&lfreeze=auto&lfreezebn=auto&lpoints=1000&lnoise=0.1&lseed=0&lo=auto&hi=auto"
        );
        assert_eq!(UrlState::from_hash(&format!("#{}", s.to_hash())), (s, vec![]));
        assert_eq!(UrlState::from_hash(""), (UrlState::default(), vec![]));
    }

    #[test]
    fn every_field_is_written_once() {
        let hash = UrlState::default().to_hash();
        for f in FIELDS {
            let n = hash.split('&').filter(|part| part.split('=').next() == Some(f.key)).count();
            assert_eq!(n, 1, "{}", f.key);
        }
    }

    #[test]
    fn malformed_parts_fall_back_with_problems() {
        let (s, problems) = UrlState::from_hash("#view=lab&bits=99&junk&color=red&n=abc&view=learn&seed=7");
        assert_eq!(s.view, View::Lab);
        assert_eq!(s.bits, 8);
        assert_eq!(s.n, 100_000);
        assert_eq!(s.seed, 7);
        let parts: Vec<&str> = problems.iter().map(|p| p.part.as_str()).collect();
        assert_eq!(parts, ["bits=99", "junk", "color=red", "n=abc", "view=learn"]);
        assert!(problems[0].reason.contains("2 to 16"), "{}", problems[0]);
    }

    #[test]
    fn clip_ends_start_at_the_observer_and_stay_in_order() {
        let mut s = UrlState::default();
        s.set_clip_end(true, -1.0, (Some(-3.0), Some(3.0)));
        assert_eq!((s.lo, s.hi), (Some(-1.0), Some(3.0)));
        s.set_clip_end(false, -2.0, (Some(-3.0), Some(3.0)));
        assert_eq!((s.lo, s.hi), (Some(-2.0), Some(-1.0)), "dragged past the other end: swapped");
        s.set_clip_end(false, f32::NAN, (None, None));
        assert_eq!((s.lo, s.hi), (Some(-2.0), Some(-1.0)));
        s.set_clip_end(false, 1e30, (None, None));
        assert_eq!(s.hi, Some(MAX_ABS_VALUE));
        let mut t = UrlState::default();
        t.set_clip_end(true, 0.5, (None, None));
        assert_eq!((t.lo, t.hi), (None, None), "no observed range yet: nothing to pair with");
        let mut sym = UrlState { scheme: QScheme::Symmetric, ..UrlState::default() };
        sym.set_clip_end(true, -2.5, (Some(-3.0), Some(4.0)));
        assert_eq!((sym.lo, sym.hi), (Some(-2.5), Some(2.5)), "symmetric: both ends move");
    }

    proptest! {
        #[test]
        fn any_lab_settings_round_trip(lab in any_lab()) {
            let s = UrlState { lab, ..UrlState::default() };
            prop_assert_eq!(UrlState::from_hash(&s.to_hash()), (s, vec![]));
        }

        #[test]
        fn any_state_round_trips(s in any_state()) {
            prop_assert_eq!(UrlState::from_hash(&s.to_hash()), (s, vec![]));
        }

        /// Arbitrary text never panics and always yields a state within bounds.
        #[test]
        fn arbitrary_hash_never_panics(h in ".{0,200}") {
            let (s, _) = UrlState::from_hash(&h);
            prop_assert!((MIN_BITS..=MAX_BITS).contains(&s.bits));
            prop_assert!((MIN_SAMPLES..=MAX_SAMPLES).contains(&s.n));
        }
    }
}
