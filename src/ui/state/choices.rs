//! The enumerated settings (views, distributions, observers, codes, rounding) with their URL
//! names and labels, one table each.

use super::*;
use crate::ui::i18n::{ExplorerText as E, FormatText as F, LearnText as L};

/// The top-level views, one per tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Explorer,
    Lab,
    /// A real ONNX model run in the model worker: calibration and PTQ.
    Model,
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
pub const VIEWS: &[(View, &str, E)] = &[
    (View::Explorer, "explorer", E::ViewExplorer),
    (View::Lab, "lab", E::ViewLab),
    (View::Model, "model", E::ViewModel),
    (View::Learn, "learn", E::ViewLearn),
    (View::Bench, "bench", E::ViewBench),
];

impl View {
    /// Whether the view has a tab in the header (the benchmark page is reached from About).
    pub fn is_tab(self) -> bool {
        self != View::Bench
    }
}
pub const DISTS: &[(DistKind, &str, E)] = &[
    (DistKind::Normal, "normal", E::DistNormal),
    (DistKind::Laplace, "laplace", E::DistLaplace),
    (DistKind::Uniform, "uniform", E::DistUniform),
    (DistKind::StudentT, "student-t", E::DistStudentT),
    (DistKind::Bimodal, "bimodal", E::DistBimodal),
    (DistKind::PostRelu, "post-relu", E::DistPostRelu),
];
pub const SCHEMES: &[(QScheme, &str, E)] = &[(QScheme::Affine, "affine", E::SchemeAffine), (QScheme::Symmetric, "symmetric", E::SchemeSymmetric)];
/// The lessons of Learn: URL key and title.
pub const LESSONS: &[(&str, L)] = &[
    ("scale-zero-point", L::NavScaleZeroPoint),
    ("outliers", L::NavOutliers),
    ("ema", L::NavEma),
    ("per-channel", L::NavPerChannel),
    ("bits", L::NavBits),
    ("ptq-qat", L::NavPtqQat),
    ("real-model", L::NavRealModel),
    ("formats", L::NavFormats),
];

pub const SOURCES: &[(Source, &str, E)] = &[(Source::Synthetic, "synth", E::SourceSynthetic), (Source::File, "file", E::SourceFile)];
pub const OBSERVERS: &[(ObsKind, &str, E)] = &[
    (ObsKind::MinMax, "minmax", E::ObsMinMax),
    (ObsKind::MovingAverage, "moving-average", E::ObsMovingAverage),
    (ObsKind::Percentile, "percentile", E::ObsPercentile),
    (ObsKind::Histogram, "histogram", E::ObsHistogram),
    (ObsKind::Entropy, "entropy", E::ObsEntropy),
    (ObsKind::Mse, "mse", E::ObsMse),
];
pub const TAILS: &[(Tails, &str, E)] = &[(Tails::Abs, "abs", E::TailsAbs), (Tails::Both, "both", E::TailsBoth)];
pub const CODES: &[(Codes, &str, E)] = &[
    (Codes::Auto, "auto", E::CodesAuto),
    (Codes::Unsigned, "quint", E::CodesUnsigned),
    (Codes::Signed, "qint", E::CodesSigned),
];
pub const GRANULARITIES: &[(bool, &str, E)] = &[(false, "tensor", E::PerTensor), (true, "channel", E::PerChannel)];
pub const ROUNDINGS: &[(RoundKind, &str, E)] = &[
    (RoundKind::HalfEven, "half-even", E::RoundHalfEven),
    (RoundKind::HalfAway, "half-away", E::RoundHalfAway),
    (RoundKind::Stochastic, "stochastic", E::RoundStochastic),
];

/// The scale of `int` and the scaled minifloats.
pub const FORMAT_SCALES: &[(crate::engine::formats::scaled::Scale, &str, F)] = &[
    (crate::engine::formats::scaled::Scale::Tensor, "tensor", F::ScaleTensor),
    (crate::engine::formats::scaled::Scale::Row, "row", F::ScaleRow),
    (crate::engine::formats::scaled::Scale::None, "none", F::ScaleNone),
];
/// How the MX formats round their shared exponent.
pub const SCALE_ROUNDINGS: &[(crate::engine::formats::mx::ScaleRounding, &str, F)] = &[
    (crate::engine::formats::mx::ScaleRounding::Floor, "floor", F::RoundFloor),
    (crate::engine::formats::mx::ScaleRounding::Ceil, "ceil", F::RoundCeil),
    (crate::engine::formats::mx::ScaleRounding::Even, "even", F::RoundEven),
    (crate::engine::formats::mx::ScaleRounding::Rceil, "rceil", F::RoundRceil),
];

/// An observer's name as the page shows it, from its URL name (the engine's sweep names its
/// series so); the URL name itself when it is not one.
pub fn observer_label(key: &str, t: crate::ui::i18n::Tr) -> String {
    OBSERVERS.iter().find(|o| o.1 == key).map_or_else(|| key.to_string(), |o| t.s(o.2).to_string())
}

/// Looks up the URL name of `value` in a choice table.
pub fn choice_key<T: PartialEq, L>(table: &[(T, &'static str, L)], value: &T) -> &'static str {
    table.iter().find(|(v, _, _)| v == value).map(|(_, k, _)| *k).unwrap_or("")
}

pub(super) fn parse_choice<T: Copy, L>(table: &[(T, &'static str, L)], s: &str) -> Result<T, crate::ui::i18n::Msg> {
    table.iter().find(|(_, k, _)| *k == s).map(|(v, _, _)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(_, k, _)| *k).collect();
        crate::ui::i18n::Msg::new(crate::ui::i18n::ShellText::ExpectOneOf).arg(names.join(", "))
    })
}
