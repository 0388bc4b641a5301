//! The Explorer's controls: every setting of the URL state, labelled and keyboard reachable.
//! Each control writes one field through the state's table; only the settings that apply to the
//! chosen observer and scheme are shown.

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::engine::synth::Outliers;
use crate::ui::format::group_thousands;
use crate::ui::i18n::{use_tr, ExplorerText as E, FormatText as F, Tr};
use crate::ui::state::{
    Codes, DistKind, ObsKind, Source, UrlState, CODES, DISTS, FORMAT_SCALES, GRANULARITIES, MAX_AXIS, MAX_BITS, MAX_CHANNELS, MAX_DIST_PARAM,
    MAX_OBSERVER_BINS, MIN_BITS, OBSERVERS, ROUNDINGS, SCALE_ROUNDINGS, SCHEMES, TAILS,
};

/// Sample sizes offered by the size control.
const SIZES: &[usize] = &[1_000, 10_000, 100_000, 1_000_000, 10_000_000];

#[derive(Properties, PartialEq)]
pub struct ControlsProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The observer's range (per channel), shown as the hand-set range's starting point.
    pub observed: Option<(Vec<f32>, Vec<f32>)>,
    /// The current tensor's shape, for the channel axis.
    pub shape: Option<Vec<usize>>,
}

/// A callback that applies `f` with the control's text to a copy of the state and emits it.
fn edit(props: &ControlsProps, f: impl Fn(&mut UrlState, &str) + 'static) -> Callback<String> {
    let (url, cb) = (props.url.clone(), props.on_change.clone());
    Callback::from(move |value: String| {
        let mut next = url.clone();
        f(&mut next, &value);
        if next != url {
            cb.emit(next);
        }
    })
}

/// A labelled `<select>` over a choice table.
fn choice<T: PartialEq + Copy + 'static>(
    id: &'static str,
    label: &str,
    table: &'static [(T, &'static str, E)],
    current: T,
    props: &ControlsProps,
    f: fn(&mut UrlState, T),
    t: Tr,
) -> Html {
    let on = edit(props, move |s, v| {
        if let Some((t, _, _)) = table.iter().find(|(_, k, _)| *k == v) {
            f(s, *t);
        }
    });
    html! {
        <>
            <label for={id}>{label}</label>
            <select id={id} data-testid={id} onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for table.iter().map(|(v, key, text)| html! { <option value={*key} selected={*v == current}>{t.s(*text)}</option> }) }
            </select>
        </>
    }
}

/// A labelled number input, committed on change (Enter or leaving the field). An empty field
/// is passed on as "" (for the settings that can be "auto").
fn number(id: &'static str, label: &str, value: String, step: &'static str, on: Callback<String>) -> Html {
    html! {
        <>
            <label for={id}>{label}</label>
            <input id={id} data-testid={id} type="number" step={step} value={value}
                   onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().value())} />
        </>
    }
}

/// A labelled checkbox.
pub(crate) fn check(id: &'static str, label: &str, checked: bool, on: Callback<String>) -> Html {
    html! {
        <label class="check">
            <input type="checkbox" id={id} data-testid={id} checked={checked}
                   onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlInputElement>().checked().to_string())} />
            {label}
        </label>
    }
}

fn parse_or<T: std::str::FromStr>(v: &str, keep: T) -> T {
    v.trim().parse().unwrap_or(keep)
}

#[function_component(Controls)]
pub fn controls(props: &ControlsProps) -> Html {
    let t = use_tr();
    let url = &props.url;
    let on_size = edit(props, |s, v| s.n = parse_or(v, s.n));
    let on_bits = edit(props, |s, v| s.bits = parse_or(v, s.bits).clamp(MIN_BITS, MAX_BITS));
    let observer_params = match url.observer {
        ObsKind::MovingAverage => html! {
            <>
                { number(
                    "ctl-averaging-constant",
                    t.s(E::AveragingConstant),
                    url.averaging_constant.to_string(),
                    "0.001",
                    edit(props, |s, v| s.averaging_constant = parse_or(v, s.averaging_constant).clamp(1e-6, 1.0)),
                ) }
                <p class="hint">{t.s(E::AveragingHint)}</p>
            </>
        },
        ObsKind::Histogram => number("ctl-hist-bins", t.s(E::HistBins), url.hist_bins.to_string(), "1",
            edit(props, |s, v| s.hist_bins = parse_or(v, s.hist_bins).clamp(16, MAX_OBSERVER_BINS))),
        ObsKind::Entropy => html! {
            <>
                { number("ctl-entropy-bins", t.s(E::EntropyBins), url.entropy_bins.to_string(), "1",
                         edit(props, |s, v| s.entropy_bins = parse_or(v, s.entropy_bins).clamp(16, MAX_OBSERVER_BINS))) }
                { number("ctl-entropy-start", t.s(E::EntropyStart), url.entropy_start.to_string(), "1",
                         edit(props, |s, v| s.entropy_start = parse_or(v, s.entropy_start).clamp(1, MAX_OBSERVER_BINS))) }
            </>
        },
        ObsKind::Percentile => html! {
            <>
                { number("ctl-percentile", t.s(E::ObsPercentile), url.percentile.to_string(), "0.01",
                         edit(props, |s, v| s.percentile = parse_or(v, s.percentile).clamp(1e-3, 100.0))) }
                { choice("ctl-tails", t.s(E::Taken), TAILS, url.tails, props, |s, v| s.tails = v, t) }
            </>
        },
        _ => html! {},
    };
    let unsigned = match url.codes {
        Codes::Auto => url.scheme == crate::engine::quantizer::qparams::QScheme::Affine,
        Codes::Unsigned => true,
        Codes::Signed => false,
    };
    let auto_text = |v: Option<String>| v.unwrap_or_default();
    let (omin, omax) = props.observed.as_ref().map_or((None, None), |(lo, hi)| (lo.first().copied(), hi.first().copied()));
    let reset_range = {
        let on = edit(props, |s, _| (s.lo, s.hi) = (None, None));
        Callback::from(move |_: MouseEvent| on.emit(String::new()))
    };
    let hand_set = url.lo.is_some() && url.hi.is_some();

    html! {
        <section class="panel controls" aria-label={t.s(E::ControlsLabel)} data-part="controls">
            <h2>{t.s(E::Tensor)}</h2>
            if url.source == Source::File {
                if !url.file.is_empty() {
                    <p class="hint" data-testid="tensor-from-file">{t.f(E::TensorOfFile, &[&url.tensor, &url.file])}</p>
                }
            } else {
            { choice("ctl-dist", t.s(E::Distribution), DISTS, url.dist, props, |s, d| s.dist = d, t) }
            <div class="pair">
                if url.dist.has_location() {
                    { number("ctl-mu", t.s(E::Mu), url.mu.to_string(), "any",
                             edit(props, |s, v| s.mu = parse_or(v, s.mu).clamp(-MAX_DIST_PARAM, MAX_DIST_PARAM))) }
                }
                { number("ctl-sigma", t.s(E::Sigma), url.sigma.unwrap_or(url.dist.default_scale()).to_string(), "any",
                         edit(props, |s, v| s.sigma = v.trim().parse::<f32>().ok().filter(|x| *x > 0.0).map(|x| x.min(MAX_DIST_PARAM)).or(s.sigma))) }
                if url.dist == DistKind::StudentT {
                    { number("ctl-dof", t.s(E::Dof), url.dof.to_string(), "any", edit(props, |s, v| s.dof = parse_or(v, s.dof).clamp(0.5, 1000.0))) }
                }
                if url.dist == DistKind::Bimodal {
                    { number("ctl-sep", t.s(E::Sep), url.sep.to_string(), "any", edit(props, |s, v| s.sep = parse_or(v, s.sep).clamp(0.0, MAX_DIST_PARAM))) }
                }
            </div>
            <label for="ctl-n">{t.s(E::Values)}</label>
            <select id="ctl-n" data-testid="ctl-n" onchange={on_size.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for SIZES.iter().map(|n| html! {
                    <option value={n.to_string()} selected={*n == url.n}>{group_thousands(*n)}</option>
                }) }
                if !SIZES.contains(&url.n) {
                    <option value={url.n.to_string()} selected=true>{group_thousands(url.n)}</option>
                }
            </select>
            { number("ctl-seed", t.s(E::Seed), url.seed.to_string(), "1", edit(props, |s, v| s.seed = parse_or(v, s.seed))) }
            { number("ctl-channels", t.s(E::Channels), url.channels.to_string(), "1",
                     edit(props, |s, v| s.channels = parse_or(v, s.channels).clamp(1, MAX_CHANNELS))) }
            if url.channels > 1 {
                { number("ctl-spread", t.s(E::Spread), url.spread.to_string(), "any",
                         edit(props, |s, v| s.spread = parse_or(v, s.spread).clamp(1.0, crate::ui::state::MAX_SPREAD))) }
            }
            { number("ctl-outlier-fraction", t.s(E::OutlierFraction), url.outlier_fraction.to_string(), "0.0001",
                     edit(props, |s, v| s.outlier_fraction = parse_or(v, s.outlier_fraction).clamp(0.0, 0.5))) }
            if url.outliers().is_some_and(|o: Outliers| o.fraction > 0.0) {
                { number("ctl-outlier-magnitude", t.s(E::OutlierMagnitude), url.outlier_magnitude.to_string(), "any",
                         edit(props, |s, v| s.outlier_magnitude = parse_or(v, s.outlier_magnitude).clamp(0.0, crate::ui::state::MAX_ABS_VALUE))) }
            }

            }
            { format_section(props, t) }
            if url.format.is_none() {
            <h2>{t.s(E::Observer)}</h2>
            { choice("ctl-observer", t.s(E::RangeFrom), OBSERVERS, url.observer, props, |s, o| s.observer = o, t) }
            { observer_params }

            <h2>{t.s(E::Quantization)}</h2>
            { choice("ctl-scheme", t.s(E::Scheme), SCHEMES, url.scheme, props, |s, v| s.scheme = v, t) }
            { choice("ctl-dtype", t.s(E::Codes), CODES, url.codes, props, |s, v| s.codes = v, t) }
            <label for="ctl-bits">{t.f(E::BitWidth, &[&url.bits])}</label>
            <input id="ctl-bits" data-testid="ctl-bits" type="range" min={MIN_BITS.to_string()} max={MAX_BITS.to_string()}
                   value={url.bits.to_string()} oninput={on_bits.reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value())} />
            if !unsigned {
                { check("ctl-narrow", t.s(E::Narrow), url.narrow, edit(props, |s, v| s.narrow = v == "true")) }
            }
            { check("ctl-reduce-range", t.s(E::ReduceRange), url.reduce_range, edit(props, |s, v| s.reduce_range = v == "true")) }
            <div class="pair">
                { number("ctl-quant-min", t.s(E::QuantMin), auto_text(url.quant_min.map(|v| v.to_string())), "1",
                         edit(props, |s, v| s.quant_min = v.trim().parse().ok())) }
                { number("ctl-quant-max", t.s(E::QuantMax), auto_text(url.quant_max.map(|v| v.to_string())), "1",
                         edit(props, |s, v| s.quant_max = v.trim().parse().ok())) }
            </div>
            <p class="hint">{t.s(E::QuantRangeHint)}</p>
            { choice("ctl-granularity", t.s(E::Granularity), GRANULARITIES, url.per_channel, props, |s, v| s.per_channel = v, t) }
            if url.per_channel {
                { axis_choice(props, t) }
            }
            { choice("ctl-rounding", t.s(E::Rounding), ROUNDINGS, url.rounding, props, |s, v| s.rounding = v, t) }

            <h2>{t.s(E::ClipByHand)}</h2>
            <div class="pair">
                { number("ctl-range-lo", t.s(E::RangeLo), url.lo.map_or_else(|| omin.map_or_else(String::new, |v| v.to_string()), |v| v.to_string()), "any",
                         edit(props, move |s, v| s.set_clip_end(true, parse_or(v, f32::NAN), (omin, omax)))) }
                { number("ctl-range-hi", t.s(E::RangeHi), url.hi.map_or_else(|| omax.map_or_else(String::new, |v| v.to_string()), |v| v.to_string()), "any",
                         edit(props, move |s, v| s.set_clip_end(false, parse_or(v, f32::NAN), (omin, omax)))) }
            </div>
            <button class="link" onclick={reset_range} disabled={!hand_set} data-testid="ctl-range-reset">{t.s(E::UseObserverRange)}</button>
            }

            <h2>{t.s(E::ViewHeading)}</h2>
            { check("ctl-log", t.s(E::LogCounts), url.log, edit(props, |s, v| s.log = v == "true")) }
        </section>
    }
}

/// A labelled `<select>` over a table of the formats' choices, `current` its chosen key.
fn format_choice<T>(id: &'static str, label: &str, table: &'static [(T, &'static str, F)], on: Callback<String>, current: &str, t: Tr) -> Html {
    html! {
        <>
            <label for={id}>{label.to_string()}</label>
            <select id={id} data-testid={id} onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for table.iter().map(|(_, key, text)| html! { <option value={*key} selected={*key == current}>{t.s(*text)}</option> }) }
            </select>
        </>
    }
}

/// The number format: the integer grid of the sections below, or a format with the parameters
/// that apply to it (`int` takes the scheme and a bit width of 2 to 8 here).
fn format_section(props: &ControlsProps, t: Tr) -> Html {
    use crate::engine::formats::spec::{names, Family, Format, Params};
    use crate::ui::charts::formats::family_text;
    let url = &props.url;
    let family = url.format.and_then(|n| Format::parse(n, &Params::default()).ok()).map(|f| f.family());
    let on_format = edit(props, |s, v| {
        s.format = names().into_iter().find(|n| *n == v);
        s.format_block = None;
        if s.format == Some("int") {
            s.bits = s.bits.clamp(2, 8);
        }
    });
    let families = Family::ALL.map(|f| (f, names().into_iter().filter(|n| Format::parse(n, &Params::default()).is_ok_and(|g| g.family() == f)).collect::<Vec<_>>()));
    let scale_key = crate::ui::state::choice_key(FORMAT_SCALES, &url.format_scale);
    let rounding_key = crate::ui::state::choice_key(SCALE_ROUNDINGS, &url.format_rounding);
    let on_scale = edit(props, |s, v| s.format_scale = FORMAT_SCALES.iter().find(|c| c.1 == v).map_or(s.format_scale, |c| c.0));
    let on_rounding = edit(props, |s, v| s.format_rounding = SCALE_ROUNDINGS.iter().find(|c| c.1 == v).map_or(s.format_rounding, |c| c.0));
    let int_scales = &FORMAT_SCALES[..2];
    let hint = match family {
        None => F::HintGrid,
        Some(Family::Int) => F::HintInt,
        Some(Family::Float) => F::HintFloat,
        Some(Family::Mx) => F::HintMx,
        Some(Family::Nvfp4) => F::HintNvfp4,
        Some(Family::Nf4) => F::HintNf4,
        Some(Family::Gguf) => F::HintGguf,
    };
    let on_bits = edit(props, |s, v| s.bits = parse_or(v, s.bits).clamp(2, 8));
    html! {
        <>
            <h2>{t.s(F::NumberFormat)}</h2>
            <label for="ctl-format">{t.s(F::Format)}</label>
            <select id="ctl-format" data-testid="ctl-format" onchange={on_format.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                <option value="grid" selected={url.format.is_none()}>{t.s(F::IntegerGrid)}</option>
                { for families.iter().map(|(f, members)| html! {
                    <optgroup label={t.s(family_text(*f))}>
                        { for members.iter().map(|n| html! { <option value={*n} selected={url.format == Some(*n)}>{*n}</option> }) }
                    </optgroup>
                }) }
            </select>
            <p class="hint" data-testid="format-hint">{t.s(hint)}</p>
            if family == Some(Family::Int) {
                { choice("ctl-format-scheme", t.s(E::Scheme), SCHEMES, url.scheme, props, |s, v| s.scheme = v, t) }
                <label for="ctl-format-bits">{t.f(F::IntBits, &[&url.bits])}</label>
                <input id="ctl-format-bits" data-testid="ctl-format-bits" type="range" min="2" max="8"
                       value={url.bits.to_string()} oninput={on_bits.reform(|e: InputEvent| e.target_unchecked_into::<HtmlInputElement>().value())} />
                { number("ctl-format-group", t.s(F::GroupSize), url.format_group.map_or_else(String::new, |g| g.to_string()), "1",
                         edit(props, |s, v| s.format_group = v.trim().parse::<usize>().ok().filter(|g| *g > 0).map(|g| g.min(crate::ui::state::MAX_GROUP)))) }
                if url.format_group.is_none() {
                    { format_choice("ctl-format-scale", t.s(F::Scale), int_scales, on_scale.clone(), scale_key, t) }
                }
            }
            if family == Some(Family::Float) {
                { format_choice("ctl-format-scale", t.s(F::Scale), FORMAT_SCALES, on_scale, scale_key, t) }
            }
            if family == Some(Family::Mx) {
                { format_choice("ctl-format-rounding", t.s(F::ScaleRounding), SCALE_ROUNDINGS, on_rounding, rounding_key, t) }
            }
        </>
    }
}

/// The channel axis: one option per dimension of the tensor, with its length.
fn axis_choice(props: &ControlsProps, t: Tr) -> Html {
    let url = &props.url;
    let shape = props.shape.clone().unwrap_or_default();
    let on = edit(props, |s, v| s.axis = parse_or(v, s.axis).min(MAX_AXIS));
    let rank = shape.len().clamp(1, MAX_AXIS + 1);
    html! {
        <>
            <label for="ctl-axis">{t.s(E::ChannelAxis)}</label>
            <select id="ctl-axis" data-testid="ctl-axis" onchange={on.reform(|e: Event| e.target_unchecked_into::<HtmlSelectElement>().value())}>
                { for (0..rank.max(url.axis + 1)).map(|a| html! {
                    <option value={a.to_string()} selected={a == url.axis}>
                        { match shape.get(a) { Some(n) => t.f(E::AxisChannels, &[&a, &group_thousands(*n)]), None => t.f(E::AxisNotInTensor, &[&a]) } }
                    </option>
                }) }
            </select>
        </>
    }
}
