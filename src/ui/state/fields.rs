//! The one table of URL fields ([`FIELDS`]), with the parsers that read each value back.

use super::choices::parse_choice;
use super::*;
use crate::ui::i18n::{Msg, ShellText as S};

pub(super) fn parse_int<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(s: &str, lo: T, hi: T) -> Result<T, Msg> {
    match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(Msg::new(S::ExpectWhole).arg(lo).arg(hi)),
    }
}

fn parse_float<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy>(s: &str, lo: T, hi: T, what: S) -> Result<T, Msg> {
    match s.parse::<T>() {
        Ok(v) if v >= lo && v <= hi => Ok(v),
        _ => Err(Msg::new(S::ExpectRange).msg(Msg::new(what)).arg(lo).arg(hi)),
    }
}

/// A value above 0 and at most `hi`.
fn parse_positive<T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy + Default>(s: &str, hi: T, what: S) -> Result<T, Msg> {
    match parse_float(s, T::default(), hi, what)? {
        v if v > T::default() => Ok(v),
        _ => Err(Msg::new(S::ExpectAboveZero).msg(Msg::new(what)).arg(hi)),
    }
}

/// `auto` for none, else a value `parse` accepts.
fn parse_auto<T>(s: &str, parse: impl Fn(&str) -> Result<T, Msg>) -> Result<Option<T>, Msg> {
    if s == "auto" {
        Ok(None)
    } else {
        parse(s).map(Some).map_err(|e| Msg::new(S::OrAuto).msg(e))
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

fn decode_name(s: &str) -> Result<String, Msg> {
    let name = percent_encoding::percent_decode_str(s).decode_utf8().map_err(|_| Msg::new(S::ExpectName))?;
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Msg::new(S::NameTooLong).arg(MAX_NAME_CHARS));
    }
    Ok(name.into_owned())
}

fn auto<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "auto".into(), |v| v.to_string())
}

fn parse_bool(s: &str) -> Result<bool, Msg> {
    match s {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(Msg::new(S::ExpectBool)),
    }
}

/// One URL field: its key, how to write it, and how to read it back.
pub struct Field {
    pub key: &'static str,
    pub get: fn(&UrlState) -> String,
    pub set: fn(&mut UrlState, &str) -> Result<(), Msg>,
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
        set: |s, v| Ok(s.mu = parse_float(v, -MAX_DIST_PARAM, MAX_DIST_PARAM, S::WhatLocation)?),
    },
    Field {
        key: "sigma",
        get: |s| auto(s.sigma),
        set: |s, v| match parse_auto(v, |v| parse_float(v, 0.0, MAX_DIST_PARAM, S::WhatScale))? {
            Some(x) if x <= 0.0 => Err(Msg::new(S::ExpectScaleOrAuto)),
            x => Ok(s.sigma = x),
        },
    },
    Field { key: "dof", get: |s| s.dof.to_string(), set: |s, v| Ok(s.dof = parse_float(v, 0.5, 1000.0, S::WhatDof)?) },
    Field { key: "sep", get: |s| s.sep.to_string(), set: |s, v| Ok(s.sep = parse_float(v, 0.0, MAX_DIST_PARAM, S::WhatSeparation)?) },
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
        set: |s, v| Ok(s.spread = parse_float(v, 1.0, MAX_SPREAD, S::WhatRatio)?),
    },
    Field {
        key: "of",
        get: |s| s.outlier_fraction.to_string(),
        set: |s, v| Ok(s.outlier_fraction = parse_float(v, 0.0, 0.5, S::WhatFraction)?),
    },
    Field {
        key: "om",
        get: |s| s.outlier_magnitude.to_string(),
        set: |s, v| Ok(s.outlier_magnitude = parse_float(v, 0.0, MAX_ABS_VALUE, S::WhatMagnitude)?),
    },
    Field {
        key: "obs",
        get: |s| choice_key(OBSERVERS, &s.observer).into(),
        set: |s, v| Ok(s.observer = parse_choice(OBSERVERS, v)?),
    },
    Field {
        key: "ac",
        get: |s| s.averaging_constant.to_string(),
        set: |s, v| Ok(s.averaging_constant = parse_positive(v, 1.0, S::WhatAveraging)?),
    },
    Field {
        key: "pct",
        get: |s| s.percentile.to_string(),
        set: |s, v| Ok(s.percentile = parse_positive(v, 100.0, S::WhatPercentile)?),
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
            None => Err(Msg::new(S::ExpectOneOf).arg(LESSONS.iter().map(|l| l.0).collect::<Vec<_>>().join(", "))),
        },
    },
    Field { key: "nb", get: |s| s.batches.to_string(), set: |s, v| Ok(s.batches = parse_int(v, 1, MAX_BATCHES)?) },
    Field { key: "nbrows", get: |s| s.batch_rows.to_string(), set: |s, v| Ok(s.batch_rows = parse_int(v, 0, MAX_BATCH_ROWS)?) },
    Field {
        key: "drift",
        get: |s| s.drift.to_string(),
        set: |s, v| Ok(s.drift = parse_float(v, 0.0, MAX_DRIFT, S::WhatDrift)?),
    },
    Field {
        key: "tzoom",
        get: |s| s.transfer_zoom.to_string(),
        set: |s, v| Ok(s.transfer_zoom = parse_float(v, 1.0, MAX_TRANSFER_ZOOM, S::WhatZoom)?),
    },
    Field {
        key: "tcenter",
        get: |s| auto(s.transfer_center),
        set: |s, v| Ok(s.transfer_center = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, S::WhatValue))?),
    },
    Field {
        key: "fmt",
        get: |s| s.format.unwrap_or("grid").into(),
        set: |s, v| match (v, crate::engine::formats::spec::names().into_iter().find(|n| *n == v)) {
            ("grid", _) => Ok(s.format = None),
            (_, Some(name)) => Ok(s.format = Some(name)),
            _ => Err(Msg::new(S::ExpectOneOf).arg(format!("grid, {}", crate::engine::formats::spec::names().join(", ")))),
        },
    },
    Field { key: "fgroup", get: |s| auto(s.format_group), set: |s, v| Ok(s.format_group = parse_auto(v, |v| parse_int(v, 1, MAX_GROUP))?) },
    Field { key: "fscale", get: |s| choice_key(FORMAT_SCALES, &s.format_scale).into(), set: |s, v| Ok(s.format_scale = parse_choice(FORMAT_SCALES, v)?) },
    Field { key: "fround", get: |s| choice_key(SCALE_ROUNDINGS, &s.format_rounding).into(), set: |s, v| Ok(s.format_rounding = parse_choice(SCALE_ROUNDINGS, v)?) },
    Field { key: "fblock", get: |s| auto(s.format_block), set: |s, v| Ok(s.format_block = parse_auto(v, |v| parse_int(v, 0, usize::MAX))?) },
    Field { key: "cmp", get: |s| u8::from(s.compare).to_string(), set: |s, v| Ok(s.compare = parse_bool(v)?) },
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
        set: |s, v| Ok(s.lab.lr = parse_positive(v, 10.0, S::WhatLearningRate)?),
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
        set: |s, v| Ok(s.lab.averaging_constant = parse_positive(v, 1.0, S::WhatAveraging)?),
    },
    Field { key: "lfreeze", get: |s| auto(s.lab.freeze_after), set: |s, v| Ok(s.lab.freeze_after = parse_auto(v, |v| parse_int(v, 0, 1000))?) },
    Field { key: "lfreezebn", get: |s| auto(s.lab.freeze_bn_after), set: |s, v| Ok(s.lab.freeze_bn_after = parse_auto(v, |v| parse_int(v, 0, 1000))?) },
    Field { key: "lpoints", get: |s| s.lab.points.to_string(), set: |s, v| Ok(s.lab.points = parse_int(v, 20, 100_000)?) },
    Field { key: "lnoise", get: |s| s.lab.noise.to_string(), set: |s, v| Ok(s.lab.noise = parse_float(v, 0.0, 10.0, S::WhatNoise)?) },
    Field { key: "lseed", get: |s| s.lab.seed.to_string(), set: |s, v| Ok(s.lab.seed = parse_int(v, 0, u64::MAX)?) },
    Field { key: "lopen", get: |s| u8::from(s.lab.open_model).to_string(), set: |s, v| Ok(s.lab.open_model = parse_bool(v)?) },
    Field {
        key: "lo",
        get: |s| auto(s.lo),
        set: |s, v| Ok(s.lo = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, S::WhatValue))?),
    },
    Field {
        key: "hi",
        get: |s| auto(s.hi),
        set: |s, v| Ok(s.hi = parse_auto(v, |v| parse_float(v, -MAX_ABS_VALUE, MAX_ABS_VALUE, S::WhatValue))?),
    },
];

