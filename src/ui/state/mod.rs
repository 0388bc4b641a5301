//! The app's URL state: every setting of a view lives in the location hash, serialised from one
//! table of fields ([`FIELDS`]), as TensorFlow Playground's `state.ts` does. Reading a hash never
//! fails: a field that is unknown or malformed keeps its default and is reported as a [`Problem`],
//! which the app shows as a notice.
//!
//! Its parts: `choices.rs`, the enumerated settings and their URL names; `fields.rs`, the table
//! of fields and the parsers behind it; `lab.rs`, the Lab's settings; here, the state itself and
//! reading and writing a hash.

use crate::engine::views::explore::{RangeSpec, Settings};
use crate::engine::observer::{Granularity, ObserverKind, Tails};
use crate::engine::quantizer::qparams::QScheme;
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::synth::{Dist, Outliers};
use crate::ui::i18n::{Lang, Msg, ShellText};

mod choices;
mod embed;
mod fields;
mod lab;

pub use choices::*;
pub use embed::{Hidden, Page, Part, PARTS};
pub use fields::{Field, FIELDS, MAX_NAME_CHARS};
pub use lab::*;
mod stored;

/// Bounds of the numeric settings.
pub const MIN_SAMPLES: usize = 1_000;
pub const MAX_SAMPLES: usize = 10_000_000;
pub const MIN_BITS: u32 = 2;
pub const MAX_BITS: u32 = 16;
pub const MAX_CHANNELS: usize = 1024;
pub const MAX_BATCHES: usize = 1000;
/// The most rows a replayed calibration batch may have (`nbrows`).
pub const MAX_BATCH_ROWS: usize = 1 << 20;
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
/// The largest group of `int` a link may ask for.
pub const MAX_GROUP: usize = 1 << 20;
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
    /// Observer dynamics over a model's activation (a file's tensor): its calibration's batches,
    /// this many rows each along the first axis, replayed in place of `batches` equal ones (0:
    /// equal ones; a synthetic tensor always has equal ones).
    pub batch_rows: usize,
    /// The open lesson (an index into [`LESSONS`]).
    pub lesson: usize,
    /// The transfer function's zoom (1: the whole view) and the value at its centre (`None`:
    /// the middle of the view).
    pub transfer_zoom: f32,
    pub transfer_center: Option<f32>,
    /// The number format shown in place of the integer grid (`None`: the observer's integer
    /// grid), one of [`crate::engine::formats::spec::names`]; `int` takes `bits` and `scheme`.
    pub format: Option<&'static str>,
    /// The format's parameters: `int`'s group size (`None`: one group per tensor or row), the
    /// minifloats' and `int`'s scale, the MX formats' scale rounding.
    pub format_group: Option<usize>,
    pub format_scale: crate::engine::formats::scaled::Scale,
    pub format_rounding: crate::engine::formats::mx::ScaleRounding,
    /// The block whose grid the histogram draws (`None`: the one with the most error).
    pub format_block: Option<usize>,
    /// Runs the side-by-side comparison of every format as soon as its tensor is there.
    pub compare: bool,
    /// The Lab's experiment (see [`UrlState::lab_config`]).
    pub lab: LabSettings,
    /// How the page is shown: parts hidden for embedding, the language.
    pub page: Page,
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
            batch_rows: 0,
            drift: 0.0,
            lesson: 0,
            transfer_zoom: 1.0,
            transfer_center: None,
            format: None,
            format_group: None,
            format_scale: crate::engine::formats::scaled::Scale::Tensor,
            format_rounding: crate::engine::formats::mx::ScaleRounding::Floor,
            format_block: None,
            compare: false,
            lab: LabSettings::default(),
            page: Page::default(),
        }
    }
}

impl UrlState {
    /// The same state with the integer range and the clipping range at their defaults: no
    /// narrow or reduced range, no custom `quant_min`/`quant_max`, no range set by hand. For a
    /// link that puts another tensor on a grid of its own.
    pub fn without_range_edits(&self) -> UrlState {
        UrlState { narrow: false, reduce_range: false, quant_min: None, quant_max: None, lo: None, hi: None, ..self.clone() }
    }

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
    pub fn explore_request(&self, source: crate::engine::views::explore::session::TensorSource, shape: &[usize], bins: usize) -> crate::engine::views::explore::session::ExploreRequest {
        use crate::engine::views::explore::session::{ChannelsRequest, DynamicsRequest, ExploreRequest};
        let settings = self.settings(bins);
        let along = shape.get(self.axis).copied().unwrap_or(0);
        // A number format's view has no per-channel or dynamics panel.
        let channels = (self.format.is_none() && shape.len() >= 2 && (2..=crate::ui::explorer::MAX_DRAWN_CHANNELS).contains(&along))
            .then(|| settings.range.range().ok())
            .flatten()
            .map(|range| ChannelsRequest { axis: self.axis, scheme: settings.scheme, range });
        use crate::engine::views::dynamics::Split;
        let split = if self.replays_batches() { Split::Rows(self.batch_rows) } else { Split::Equal(self.batches) };
        let dynamics = self.format.is_none().then_some(DynamicsRequest { split, averaging_constant: self.averaging_constant, drift: self.drift });
        ExploreRequest { source, settings, channels, dynamics, format: self.format_request(bins) }
    }

    /// The number format to show, with its parameters (`None`: the integer grid).
    pub fn format_request(&self, bins: usize) -> Option<crate::engine::views::formats::FormatRequest> {
        use crate::engine::formats::spec::Params;
        let params = Params { bits: self.bits, scheme: self.scheme, group: self.format_group, scale: self.format_scale, rounding: self.format_rounding };
        self.format.map(|name| crate::engine::views::formats::FormatRequest { name: name.into(), params, block: self.format_block, bins })
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

/// A part of the hash that was ignored, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub part: String,
    pub reason: Msg,
}

impl Problem {
    /// `“part”: reason`, in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        Msg::new(ShellText::ProblemPart).arg(&self.part).msg(self.reason.clone()).render(lang)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl UrlState {
    /// Whether the dynamics view replays a calibration's batches (`nbrows`) rather than cutting
    /// equal ones: only over a file's tensor, a model's activation.
    pub fn replays_batches(&self) -> bool {
        self.batch_rows > 0 && self.source == Source::File
    }

    /// `view=explorer&dist=normal&…`, every field of [`FIELDS`] in order (no leading `#`).
    pub fn to_hash(&self) -> String {
        FIELDS.iter().map(|f| format!("{}={}", f.key, (f.get)(self))).chain(self.page.pairs()).collect::<Vec<_>>().join("&")
    }

    /// Reads a hash (with or without its leading `#`). Unknown keys, repeated keys, parts without
    /// `=` and malformed values are skipped and reported; their fields keep the default.
    pub fn from_hash(hash: &str) -> (UrlState, Vec<Problem>) {
        let mut state = UrlState::default();
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        let body = hash.strip_prefix('#').unwrap_or(hash);
        for part in body.split('&').filter(|p| !p.is_empty()) {
            let problem = |reason: Msg| Problem { part: truncate(part, 60), reason };
            let Some((key, value)) = part.split_once('=') else {
                problems.push(problem(Msg::new(ShellText::NotAPair)));
                continue;
            };
            let field = FIELDS.iter().find(|f| f.key == key);
            if field.is_none() && !Page::knows(key) {
                problems.push(problem(Msg::new(ShellText::UnknownSetting)));
                continue;
            }
            if seen.contains(&key) {
                problems.push(problem(Msg::new(ShellText::RepeatedSetting)));
                continue;
            }
            seen.push(key);
            let read = match field {
                Some(field) => {
                    let mut candidate = state.clone();
                    (field.set)(&mut candidate, value).map(|()| state = candidate)
                }
                None => state.page.read(key, value).unwrap_or(Ok(())),
            };
            if let Err(reason) = read {
                problems.push(problem(Msg::new(ShellText::UsingDefault).msg(reason)));
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
    use crate::ui::url_strategy::{any_lab, any_page, any_state};
    use proptest::prelude::*;

    #[test]
    fn default_round_trips() {
        let s = UrlState::default();
        assert_eq!(
            s.to_hash(),
            "view=explorer&dist=normal&mu=0&sigma=auto&dof=3&sep=4&n=100000&seed=42&bits=8&scheme=affine&log=0&ch=1&spread=1&of=0&om=20\
             &obs=minmax&ac=0.01&pct=99.99&tails=abs&hbins=2048&ebins=2048&estart=128&dtype=auto&narrow=0&reduce=0&qmin=auto&qmax=auto\
             &gran=tensor&axis=0&round=half-even&src=synth&file=&tensor=&foldbn=0&chsort=0&lesson=scale-zero-point&nb=20&nbrows=0&drift=0&tzoom=1&tcenter=auto\
             &fmt=grid&fgroup=auto&fscale=tensor&fround=floor&fblock=auto&cmp=0\
             &ldata=digits&lmodel=mlp&lhidden=128,128&lch=8,16&lrelu6=0&lsgd=0&llr=0.001&lepochs=30&lqat=10&lwbits=4&labits=4&lpc=0&lobs=minmax\
             &lcalib=256&lac=0.01&lfreeze=auto&lfreezebn=auto&lpoints=1000&lnoise=0.1&lseed=0&lopen=0&lo=auto&hi=auto"
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
        assert!(problems[0].to_string().contains("2 to 16"), "{}", problems[0]);
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
        fn any_state_round_trips(s in any_state(), page in any_page()) {
            let s = UrlState { page, ..s };
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
