//! Learn: short lessons, each a preset of the Explorer with a text and the formulas of Jacob et
//! al. (2018) in MathML, filled in with the engine's numbers as the user moves a value through
//! them step by step.

mod math;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use math::{block, call, frac, mi, mint, mn, mo, row};
use crate::engine::views::analysis::analyze;
use crate::engine::quantizer::qparams::{calculate_qparams, nudge, QRange, QScheme};
use crate::engine::quantizer::quantize::{dequantize_one, fake_quantize_nudged, quantize_one};
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::synth::{sample, Dist};
use crate::ui::format::sig4;
use crate::ui::i18n::{use_tr, LearnText as L, Tr};
use crate::ui::state::{UrlState, LESSONS};

/// The formats lesson's layer: 64 rows of 1024 values of N(0, 1), one in 2000 replaced by ±30.
macro_rules! formats_layer {
    () => {
        "view=explorer&dist=normal&n=65536&ch=64&of=0.0005&om=30"
    };
}
const FORMATS_LAYER: &str = formats_layer!();

/// A lesson: its text, and Explorer presets that show it (hash, link text).
pub struct Lesson {
    pub title: L,
    pub text: &'static [L],
    pub presets: &'static [(&'static str, L)],
}

/// The lessons, in the order of [`LESSONS`].
pub fn lesson(key: &str) -> Lesson {
    match key {
        "outliers" => Lesson {
            title: L::OutliersTitle,
            text: &[
                L::OutliersP1,
                L::OutliersP2,
            ],
            presets: &[
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=minmax&bits=8", L::OutliersPreset1),
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=percentile&pct=99.9&bits=8", L::OutliersPreset2),
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=mse&bits=8", L::OutliersPreset3),
            ],
        },
        "ema" => Lesson {
            title: L::EmaTitle,
            text: &[
                L::EmaP1,
                L::EmaP2,
            ],
            presets: &[("view=explorer&dist=laplace&n=100000&nb=40&drift=3&ac=0.1", L::EmaPreset1)],
        },
        "per-channel" => Lesson {
            title: L::NavPerChannel,
            text: &[
                L::PerChannelP1,
                L::PerChannelP2,
            ],
            presets: &[
                ("view=explorer&dist=normal&n=100000&ch=32&spread=100&gran=tensor&scheme=symmetric", L::PerChannelPreset1),
                ("view=explorer&dist=normal&n=100000&ch=32&spread=100&gran=channel&scheme=symmetric", L::PerChannelPreset2),
            ],
        },
        "bits" => Lesson {
            title: L::BitsTitle,
            text: &[
                L::BitsP1,
                L::BitsP2,
            ],
            presets: &[
                ("view=explorer&dist=uniform&n=100000&bits=4", L::BitsPreset1),
                ("view=explorer&dist=normal&n=100000&bits=3&obs=mse", L::BitsPreset2),
            ],
        },
        "ptq-qat" => Lesson {
            title: L::NavPtqQat,
            text: &[
                L::PtqQatP1,
                L::PtqQatP2,
                L::PtqQatP3,
                L::PtqQatP4,
                L::PtqQatP5,
            ],
            presets: &[
                ("view=lab&ldata=digits&lwbits=4&labits=4", L::PtqQatPreset1),
                ("view=lab&ldata=digits&lmodel=cnn&lwbits=2&labits=4&lpc=1", L::PtqQatPreset2),
                ("view=lab&ldata=digits&lwbits=2&labits=2", L::PtqQatPreset3),
                ("view=lab&ldata=moons&lhidden=16,16&lepochs=40&llr=0.01&lwbits=3&labits=3", L::PtqQatPreset4),
            ],
        },
        "real-model" => Lesson {
            title: L::RealModelTitle,
            text: &[
                L::RealModelP1,
                L::RealModelP2,
                L::RealModelP3,
            ],
            presets: &[
                ("view=lab&ldata=digits&lmodel=cnn&lch=8,16&lepochs=10&lqat=0&lwbits=8&labits=8&lopen=1", L::RealModelPreset1),
                ("view=lab&ldata=digits&lmodel=mlp&lhidden=128,128&lepochs=10&lqat=0&lwbits=8&labits=8&lopen=1", L::RealModelPreset2),
                ("view=explorer&dist=laplace&n=100000&nb=40&drift=3&ac=0.1", L::RealModelPreset3),
            ],
        },
        "formats" => Lesson {
            title: L::FormatsTitle,
            text: &[L::FormatsP1, L::FormatsP2, L::FormatsP3, L::FormatsP4],
            presets: &[
                (concat!(formats_layer!(), "&fmt=fp4-e2m1"), L::FormatsPreset1),
                (concat!(formats_layer!(), "&fmt=mxfp4"), L::FormatsPreset2),
                (concat!(formats_layer!(), "&fmt=nvfp4"), L::FormatsPreset3),
                ("view=explorer&dist=normal&n=65536&ch=64&fmt=fp8-e4m3&log=1", L::FormatsPreset4),
                (concat!(formats_layer!(), "&fmt=mxfp4&cmp=1"), L::FormatsPreset5),
                ("view=explorer&src=file&file=gemma-3-270m-q4_k_m.gguf&tensor=blk.3.ffn_down.weight&fmt=fp4-e2m1", L::FormatsPreset6),
            ],
        },
        _ => Lesson {
            title: L::NavScaleZeroPoint,
            text: &[
                L::ScaleP1,
                L::ScaleP2,
            ],
            presets: &[("view=explorer&dist=uniform&n=10000&bits=3", L::ScalePreset1)],
        },
    }
}

#[derive(Properties, PartialEq)]
pub struct LearnProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
}

#[function_component(Learn)]
pub fn learn(props: &LearnProps) -> Html {
    let t = use_tr();
    let current = props.url.lesson;
    let l = lesson(LESSONS[current].0);
    let nav = LESSONS.iter().enumerate().map(|(i, (key, title))| {
        let href = format!("#{}", UrlState { lesson: i, ..props.url.clone() }.to_hash());
        html! {
            <li><a {href} class={classes!((i == current).then_some("selected"))} aria-current={(i == current).then_some("page")}
                   data-testid={format!("lesson-{key}")}>{t.s(*title)}</a></li>
        }
    });
    let worked = match LESSONS[current].0 {
        "scale-zero-point" => html! { <WorkedExample /> },
        "bits" => bits_table(t),
        "formats" => html! { <FormatsTables /> },
        _ => html! {},
    };
    html! {
        <div class="learn" data-testid="learn">
            <nav class="panel lessons" aria-label={t.s(L::LessonsLabel)} data-part="lessons"><ol>{ for nav }</ol></nav>
            <article class="panel lesson" data-testid="lesson">
                <h2>{t.s(l.title)}</h2>
                { for l.text.iter().map(|p| html! { <p>{t.s(*p)}</p> }) }
                {worked}
                <p class="presets">
                    { for l.presets.iter().map(|(hash, label)| html! { <a class="preset" href={format!("#{hash}")} data-testid="lesson-preset">{t.s(*label)}</a> }) }
                </p>
            </article>
        </div>
    }
}

/// A value moved through s, z, q and x̂, with the engine's numbers.
#[function_component(WorkedExample)]
fn worked_example() -> Html {
    let t = use_tr();
    let a = use_state(|| -1.0f32);
    let b = use_state(|| 2.0f32);
    let bits = use_state(|| 8u32);
    let r = use_state(|| 0.5f32);
    let number = |h: &UseStateHandle<f32>, id: &'static str, label: &str, step: &'static str| {
        let h2 = h.clone();
        let on = Callback::from(move |e: Event| {
            if let Ok(v) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<f32>() {
                if v.is_finite() && v.abs() <= 1e6 {
                    h2.set(v);
                }
            }
        });
        html! { <label>{label}{" "}<input type="number" step={step} value={h.to_string()} onchange={on} data-testid={id} /></label> }
    };
    let on_bits = {
        let bits = bits.clone();
        Callback::from(move |e: InputEvent| bits.set(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(8)))
    };
    let on_r = {
        let r = r.clone();
        Callback::from(move |e: InputEvent| r.set(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0.0)))
    };
    let range = QRange::with_bits(*bits, true).unwrap_or(QRange::QUINT8);
    let p = calculate_qparams(*a, *b, QScheme::Affine, range);
    let q = quantize_one(*r, p, range, Rounding::HalfEven, 0);
    let xhat = dequantize_one(q, p);
    let (na, nb, ns) = nudge(*a, *b, range.levels());
    let seed_form = fake_quantize_nudged(*r, *a, *b, range.levels());
    let (lo, hi) = (a.min(0.0) * 1.25 - 0.1, b.max(0.0) * 1.25 + 0.1);
    html! {
        <div class="worked" data-testid="worked-example">
            <div class="controls-row">
                { number(&a, "learn-a", t.s(L::InputA), "0.1") }
                { number(&b, "learn-b", t.s(L::InputB), "0.1") }
                <label>{t.f(L::BitsSlider, &[&*bits])}{" "}<input type="range" min="2" max="8" value={bits.to_string()} oninput={on_bits} data-testid="learn-bits" /></label>
                <label>{format!("r = {} ", sig4(Some(*r as f64)))}<input type="range" min={lo.to_string()} max={hi.to_string()} step="any" value={r.to_string()} oninput={on_r} data-testid="learn-r" /></label>
            </div>
            { block(t.s(L::BlockScale), vec![mi("s"), mo("="), frac(row(vec![mi("b"), mo("−"), mi("a")]), row(vec![mi("qmax"), mo("−"), mi("qmin")])), mo("="),
                frac(row(vec![mn(b.max(0.0) as f64), mo("−"), mo("("), mn(a.min(0.0) as f64), mo(")")]), row(vec![mint(range.qmax as i64), mo("−"), mint(range.qmin as i64)])),
                mo("="), html! { <mn data-testid="learn-scale">{sig4(Some(p.scale as f64))}</mn> }]) }
            { block(t.s(L::BlockZeroPoint), vec![mi("z"), mo("="), mi("qmin"), mo("−"), call("round", vec![frac(mi("a"), mi("s"))]), mo("="),
                mint(range.qmin as i64), mo("−"), call("round", vec![mn((a.min(0.0) / p.scale) as f64)]), mo("="), html! { <mn data-testid="learn-zero-point">{p.zero_point.to_string()}</mn> }]) }
            { block(t.s(L::BlockQuantize), vec![mi("q"), mo("="), call("clamp", vec![row(vec![call("round", vec![frac(mi("r"), mi("s"))]), mo("+"), mi("z")]), mi("qmin"), mi("qmax")]), mo("="),
                call("clamp", vec![row(vec![call("round", vec![mn((*r / p.scale) as f64)]), mo("+"), mint(p.zero_point as i64)]), mint(range.qmin as i64), mint(range.qmax as i64)]), mo("="),
                html! { <mn data-testid="learn-q">{q.to_string()}</mn> }]) }
            { block(t.s(L::BlockDequantize), vec![mi("x̂"), mo("="), row(vec![mo("("), mi("q"), mo("−"), mi("z"), mo(")")]), mo("·"), mi("s"), mo("="),
                row(vec![mo("("), mint(q as i64), mo("−"), mint(p.zero_point as i64), mo(")")]), mo("·"), mn(p.scale as f64), mo("="),
                html! { <mn data-testid="learn-xhat">{sig4(Some(xhat as f64))}</mn> }, mo(","), mi(t.s(L::ErrorSymbol)), mo("="), mn((xhat - *r) as f64)]) }
            { block(t.s(L::BlockSeedForm), vec![call("q", vec![mi("r"), mi("a"), mi("b"), mi("n")]), mo("="),
                call("round", vec![frac(row(vec![call("clamp", vec![mi("r"), mi("a"), mi("b")]), mo("−"), mi("a")]), mi("s"))]), mo("·"), mi("s"), mo("+"), mi("a"), mo("="),
                html! { <mn data-testid="learn-seed-form">{sig4(Some(seed_form as f64))}</mn> }]) }
            <p class="hint">{t.f(L::Nudged, &[&sig4(Some(na as f64)), &sig4(Some(nb as f64)), &sig4(Some(ns as f64)), &range.levels()])}</p>
        </div>
    }
}

/// SQNR of uniform full-scale data against bits, computed by the engine, beside 6.02·b.
fn bits_table(t: Tr) -> Html {
    let xs = sample(Dist::Uniform { lo: -1.0, hi: 1.0 }, 20_000, 1, None).unwrap_or_default();
    let rows = (2..=12).map(|bits| {
        let range = QRange::with_bits(bits, true).unwrap_or(QRange::QUINT8);
        let sqnr = analyze(&xs, QScheme::Affine, range).metrics.sqnr_db;
        let theory = 20.0 * libm::log10(((1u64 << bits) - 1) as f64);
        html! { <tr><td>{bits}</td><td data-testid={format!("bits-sqnr-{bits}")}>{sig4(sqnr)}</td><td>{sig4(Some(theory))}</td><td>{sig4(Some(6.02 * bits as f64))}</td></tr> }
    });
    html! {
        <table class="sweep" data-testid="bits-table">
            <thead><tr><th>{t.s(L::BitsColumn)}</th><th>{t.s(L::SqnrMeasured)}</th><th>{"20·log10(2^b − 1)"}</th><th>{"6.02·b"}</th></tr></thead>
            <tbody>{ for rows }</tbody>
        </table>
    }
}

/// The formats the lesson's table compares on its layer.
const LESSON_FORMATS: [&str; 8] = ["fp4-e2m1", "fp4-e2m1&fscale=row", "mxfp4", "nvfp4", "nf4", "int&bits=4&fgroup=128&scheme=symmetric", "q4_k", "fp8-e4m3"];

/// Each lesson format's label, bits per weight and SQNR on the lesson's layer with outliers.
pub fn lesson_formats() -> Vec<(String, f64, Option<f64>)> {
    use crate::engine::formats::{measure::measure, quantized::quantize};
    LESSON_FORMATS
        .iter()
        .filter_map(|f| {
            let (url, _) = UrlState::from_hash(&format!("{FORMATS_LAYER}&fmt={f}"));
            let xs = url.synth_spec().generate().ok()?;
            let format = url.format_request(1)?.format().ok()?;
            let q = quantize(format, &xs, &url.shape()).ok()?;
            Some((format.label(), q.bits_per_weight, measure(&xs, &q).0.sqnr_db))
        })
        .collect()
}

/// E4M3's step at a few magnitudes, and the lesson's formats on its layer, from the engine.
#[function_component(FormatsTables)]
fn formats_tables() -> Html {
    use crate::engine::formats::minifloat::E4M3;
    let t = use_tr();
    let rows = use_memo((), |_| lesson_formats());
    let spacing = [1.0f32 / 64.0, 0.1, 1.0, 10.0, 100.0, 400.0].map(|x| {
        let code = E4M3.encode(x);
        let (v, next) = (E4M3.decode(code), E4M3.decode(code + 1));
        (v, next - v)
    });
    html! {
        <div class="worked" data-testid="formats-tables">
            <table class="sweep" data-testid="formats-spacing">
                <thead><tr><th>{t.s(L::SpacingValue)}</th><th>{t.s(L::SpacingStep)}</th><th>{t.s(L::SpacingRelative)}</th></tr></thead>
                <tbody>{ for spacing.iter().map(|(v, step)| html! { <tr><td>{sig4(Some(*v as f64))}</td><td>{sig4(Some(*step as f64))}</td><td>{sig4(Some((*step / *v) as f64))}</td></tr> }) }</tbody>
            </table>
            <p class="hint">{t.s(L::FormatsTableCaption)}</p>
            <table class="sweep" data-testid="formats-lesson-table">
                <thead><tr><th>{t.s(L::ColFormat)}</th><th>{t.s(L::ColBitsPerWeight)}</th><th>{t.s(crate::ui::i18n::ExplorerText::SqnrDb)}</th></tr></thead>
                <tbody>{ for rows.iter().map(|(label, bits, sqnr)| html! {
                    <tr data-testid={format!("formats-lesson-{}", label.replace(' ', "-"))}><td>{label.clone()}</td><td>{format!("{bits:.4}")}</td><td>{sig4(*sqnr)}</td></tr>
                }) }</tbody>
            </table>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lesson's claim on its synthetic layer: FP4 with one scale per tensor falls to a few
    /// dB, the block formats keep most of it.
    #[test]
    fn blocks_beat_one_scale_per_tensor_on_the_lessons_layer() {
        let rows = lesson_formats();
        assert_eq!(rows.len(), LESSON_FORMATS.len());
        let sqnr = |label: &str| rows.iter().find(|r| r.0 == label).and_then(|r| r.2).unwrap();
        assert!(sqnr("fp4-e2m1") < 6.0, "{rows:?}");
        assert!(sqnr("mxfp4") > sqnr("fp4-e2m1") + 10.0, "{rows:?}");
        assert!(sqnr("nvfp4") > sqnr("mxfp4") && sqnr("fp8-e4m3") > 30.0, "{rows:?}");
    }

    /// Every preset of every lesson is a link the app reads without a notice.
    #[test]
    fn every_preset_is_a_clean_link() {
        for (key, _) in LESSONS {
            for (hash, label) in lesson(key).presets {
                let (_, problems) = UrlState::from_hash(hash);
                assert!(problems.is_empty(), "lesson {key}, preset {label:?}: {problems:?}");
            }
        }
    }
}
