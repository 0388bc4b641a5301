//! The app's URL state: every setting of a view lives in the location hash, serialised from one
//! table of fields ([`FIELDS`]), as TensorFlow Playground's `state.ts` does. Reading a hash never
//! fails: a field that is unknown or malformed keeps its default and is reported as a [`Problem`],
//! which the app shows as a notice.

use crate::engine::qparams::QScheme;
use crate::engine::synth::Dist;

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
    /// The standard member of each family (unit scale, centred).
    pub fn dist(self) -> Dist {
        match self {
            DistKind::Normal => Dist::Normal { mean: 0.0, std: 1.0 },
            DistKind::Laplace => Dist::Laplace { loc: 0.0, b: 1.0 },
            DistKind::Uniform => Dist::Uniform { lo: -1.0, hi: 1.0 },
            DistKind::StudentT => Dist::StudentT { dof: 3.0, scale: 1.0 },
            DistKind::Bimodal => Dist::Bimodal { sep: 4.0, std: 0.5 },
            DistKind::PostRelu => Dist::PostRelu { mean: 0.0, std: 1.0 },
        }
    }
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
    (DistKind::Normal, "normal", "Normal N(0, 1)"),
    (DistKind::Laplace, "laplace", "Laplace (b = 1)"),
    (DistKind::Uniform, "uniform", "Uniform [−1, 1)"),
    (DistKind::StudentT, "student-t", "Student-t (3 dof)"),
    (DistKind::Bimodal, "bimodal", "Bimodal (±2, σ 0.5)"),
    (DistKind::PostRelu, "post-relu", "Post-ReLU"),
];
pub const SCHEMES: &[(QScheme, &str, &str)] =
    &[(QScheme::Affine, "affine", "Affine (quint)"), (QScheme::Symmetric, "symmetric", "Symmetric (qint)")];

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

/// Everything the URL can say.
#[derive(Clone, Debug, PartialEq)]
pub struct UrlState {
    pub view: View,
    pub dist: DistKind,
    /// Number of synthetic values.
    pub n: usize,
    pub seed: u64,
    pub bits: u32,
    pub scheme: QScheme,
    /// Log-scaled counts in the histogram.
    pub log: bool,
}

impl Default for UrlState {
    fn default() -> Self {
        UrlState {
            view: View::Explorer,
            dist: DistKind::Normal,
            n: 100_000,
            seed: 42,
            bits: 8,
            scheme: QScheme::Affine,
            log: false,
        }
    }
}

/// One URL field: its key, how to write it, and how to read it back.
pub struct Field {
    pub key: &'static str,
    pub get: fn(&UrlState) -> String,
    pub set: fn(&mut UrlState, &str) -> Result<(), String>,
}

/// The one table of URL fields, in the order they are written.
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
    Field { key: "n", get: |s| s.n.to_string(), set: |s, v| Ok(s.n = parse_int(v, MIN_SAMPLES, MAX_SAMPLES)?) },
    Field { key: "seed", get: |s| s.seed.to_string(), set: |s, v| Ok(s.seed = parse_int(v, 0, u64::MAX)?) },
    Field { key: "bits", get: |s| s.bits.to_string(), set: |s, v| Ok(s.bits = parse_int(v, MIN_BITS, MAX_BITS)?) },
    Field {
        key: "scheme",
        get: |s| choice_key(SCHEMES, &s.scheme).into(),
        set: |s, v| Ok(s.scheme = parse_choice(SCHEMES, v)?),
    },
    Field { key: "log", get: |s| u8::from(s.log).to_string(), set: |s, v| Ok(s.log = parse_bool(v)?) },
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
    use proptest::prelude::*;

    #[test]
    fn default_round_trips() {
        let s = UrlState::default();
        assert_eq!(s.to_hash(), "view=explorer&dist=normal&n=100000&seed=42&bits=8&scheme=affine&log=0");
        assert_eq!(UrlState::from_hash(&format!("#{}", s.to_hash())), (s, vec![]));
        assert_eq!(UrlState::from_hash(""), (UrlState::default(), vec![]));
    }

    #[test]
    fn every_field_is_written_once() {
        let hash = UrlState::default().to_hash();
        for f in FIELDS {
            assert_eq!(hash.matches(&format!("{}=", f.key)).count(), 1, "{}", f.key);
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

    fn any_state() -> impl Strategy<Value = UrlState> {
        (0..VIEWS.len(), 0..DISTS.len(), MIN_SAMPLES..=MAX_SAMPLES, any::<u64>(), MIN_BITS..=MAX_BITS, any::<bool>(), any::<bool>())
            .prop_map(|(v, d, n, seed, bits, sym, log)| UrlState {
                view: VIEWS[v].0,
                dist: DISTS[d].0,
                n,
                seed,
                bits,
                scheme: if sym { QScheme::Symmetric } else { QScheme::Affine },
                log,
            })
    }

    proptest! {
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
