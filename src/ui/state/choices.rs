//! The enumerated settings (views, distributions, observers, codes, rounding) with their URL
//! names and labels, one table each.

use super::*;

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

pub(super) fn parse_choice<T: Copy>(table: &[(T, &'static str, &'static str)], s: &str) -> Result<T, String> {
    table.iter().find(|(_, k, _)| *k == s).map(|(v, _, _)| *v).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(_, k, _)| *k).collect();
        format!("expected one of {}", names.join(", "))
    })
}
