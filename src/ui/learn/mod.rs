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
use crate::ui::state::{UrlState, LESSONS};

/// A lesson: its text, and Explorer presets that show it (hash, link text).
pub struct Lesson {
    pub title: &'static str,
    pub text: &'static [&'static str],
    pub presets: &'static [(&'static str, &'static str)],
}

/// The lessons, in the order of [`LESSONS`].
pub fn lesson(key: &str) -> Lesson {
    match key {
        "outliers" => Lesson {
            title: "Why one outlier ruins min/max",
            text: &[
                "Min/max calibration stretches the grid to the largest value it sees. Replace one value in a thousand of a N(0, 1) tensor by ±50, and the step grows about twelvefold: the bulk of the values, within ±3, now falls on a handful of levels.",
                "Percentile calibration ignores the extreme tail; the histogram (L2), entropy (KL) and MSE observers choose the clipping range that costs least error, accepting a little clipping error for much less rounding error. Compare the MSE split readout: clipping against rounding.",
            ],
            presets: &[
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=minmax&bits=8", "Min/max with outliers"),
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=percentile&pct=99.9&bits=8", "Percentile 99.9"),
                ("view=explorer&dist=normal&n=100000&of=0.001&om=50&obs=mse&bits=8", "MSE-optimal clipping"),
            ],
        },
        "ema" => Lesson {
            title: "Moving average against min/max during calibration",
            text: &[
                "Calibration feeds an observer a few batches. MinMax keeps the widest range it has ever seen; MovingAverageMinMax moves a fraction c of the way from its range to each new batch's (min += c·(batch_min − min)), which is what PyTorch uses for activations during QAT (c = 0.01).",
                "Play the observer dynamics of a drifting stream: MinMax is set by the widest batch for good, the moving average lags behind and forgets. Raise c while it plays and it follows each batch.",
            ],
            presets: &[("view=explorer&dist=laplace&n=100000&nb=40&drift=3&ac=0.1", "A stream that widens 4× over 40 batches")],
        },
        "per-channel" => Lesson {
            title: "Per tensor against per channel",
            text: &[
                "Folding batch norm into a convolution scales each output channel's weights by γ/√(var + ε). In MobileNet's depthwise layers those factors differ widely, and channel ranges can differ 100×. One grid for the whole tensor is then far too coarse for the narrow channels: they round to a few levels, or to zero.",
                "Per-channel quantization gives each channel its own scale and zero point. The per-channel view shows every channel's range against the shared clip range, and the SQNR of both choices. Open an ONNX model with “fold batch norm” to see it on real weights: the layer browser flags them.",
            ],
            presets: &[
                ("view=explorer&dist=normal&n=100000&ch=32&spread=100&gran=tensor&scheme=symmetric", "32 channels, 100× apart, per tensor"),
                ("view=explorer&dist=normal&n=100000&ch=32&spread=100&gran=channel&scheme=symmetric", "The same, per channel"),
            ],
        },
        "bits" => Lesson {
            title: "Bits against error: about 6 dB per bit",
            text: &[
                "Each bit halves the step s, which quarters the rounding noise s²/12: SQNR grows by 10·log10(4) ≈ 6.02 dB per bit. For uniform full-scale data on 2^b levels that include the ends, SQNR = 20·log10(2^b − 1) ≈ 6.02·b dB (48.1 dB at 8 bits); the table below is measured live by the engine on 20 000 values.",
                "The rule breaks where rounding noise is not what limits: with few bits a Gaussian's optimal grid clips its tails (clipping error dominates), with outliers min/max wastes levels, and per tensor the narrow channels lose whatever the bits buy.",
            ],
            presets: &[
                ("view=explorer&dist=uniform&n=100000&bits=4", "Uniform data at 4 bits"),
                ("view=explorer&dist=normal&n=100000&bits=3&obs=mse", "A Gaussian at 3 bits, MSE-optimal"),
            ],
        },
        "ptq-qat" => Lesson {
            title: "PTQ against QAT",
            text: &[
                "Post-training quantization calibrates ranges on a little data and converts a trained FP32 model to integers: cheap, and close to FP32 at 8 bits. At 4 bits and below, on small models and with outliers, it loses accuracy.",
                "Quantization-aware training puts fake-quantize nodes (quantize then dequantize) on weights and activations and fine-tunes through them with a straight-through estimator, so that training lowers the loss of the rounded model, not of the float one.",
                "What the Lab shows with the 64-128-128-10 MLP on the digits (seed 0): FP32 97.6%. At W8A8, PTQ keeps 97.8%: 256 levels leave rounding noise far below what the network cares about. At W4A4, PTQ drops to 96.5% and QAT recovers 97.6%. At W2A4 PTQ falls to about 91% and at W2A2 to 65%, while QAT holds 97% and 83%: with four weight levels, rounding moves most weights by a large share of their size, and only training through that rounding lets the other weights compensate. (A PyTorch reference run of the same MLP: FP32 96.9%, W4A4 93.8 / 96.2%, W2A4 10 / 78%: the same shape.)",
                "Each integer model runs with integers only (uint8 activations, int8 weights, int32 accumulators and biases, a fixed-point multiplier and shift per output) and the Lab checks it against the fake-quantized simulation sample by sample. Run the sweep to see accuracy against bit width. The Lab's weight histograms show what QAT did to the weights: on the digits MLP they move by a fraction of a step, and about a fifth lie within a tenth of a step of a grid point before QAT and after (what chance gives). QAT does not pull them onto the grid; it changes the integer code of a few of them (about 3% at W2A4, 7 to 14% at W4A4) and lets every other weight adjust to the rounding, and that recovers six points of accuracy at W2A4. Open any layer in the Explorer to look closer.",
                "The Lab's CNN adds batch norm. PTQ folds it into the convolutions first (W' = W·γ/σ, b' = β − μ·γ/σ), so the weights it quantizes are the folded ones. QAT trains through the fold as PyTorch's ConvBn2d does: it scales the weights by γ/σ before fake-quantizing them, so training sees the grid the integer model will use, and it can freeze batch norm's statistics after a few epochs (Jacob et al. §3.2). On the digits (seed 0, 8 and 16 channels) FP32 reaches 99.1%; at W8A8 PTQ keeps 99.1%; at W2A4 PTQ falls to 59% per tensor and 56% per channel, and QAT recovers 81% per tensor but 96% per channel: with four weight levels, a grid per channel is what lets training recover. Here the folded depthwise channels differ only 2.6× in range; in MobileNet they can differ 100×, and then per-channel weights matter at 8 bits too (the per-channel lesson).",
            ],
            presets: &[
                ("view=lab&ldata=digits&lwbits=4&labits=4", "W4A4 on the digits"),
                ("view=lab&ldata=digits&lmodel=cnn&lwbits=2&labits=4&lpc=1", "The CNN at W2A4, per channel"),
                ("view=lab&ldata=digits&lwbits=2&labits=2", "W2A2: where PTQ breaks"),
                ("view=lab&ldata=moons&lhidden=16,16&lepochs=40&llr=0.01&lwbits=3&labits=3", "Decision regions at 3 bits"),
            ],
        },
        _ => Lesson {
            title: "Scale and zero point",
            text: &[
                "Affine quantization maps a real range [a, b] onto the integers [qmin, qmax] with a scale s and a zero point z chosen so that 0.0 is exactly representable (zero padding and ReLU produce many exact zeros). Move r below and follow it through each formula, with the engine's numbers.",
                "The seed paper writes the same quantizer as q(r; a, b, n) = round((clamp(r; a, b) − a)/s)·s + a over n levels, after nudging [a, b] so that 0 falls on the grid (Jacob et al. 2018, eq. 12).",
            ],
            presets: &[("view=explorer&dist=uniform&n=10000&bits=3", "Three bits in the Explorer")],
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
    let current = props.url.lesson;
    let l = lesson(LESSONS[current].0);
    let nav = LESSONS.iter().enumerate().map(|(i, (key, title))| {
        let href = format!("#{}", UrlState { lesson: i, ..props.url.clone() }.to_hash());
        html! {
            <li><a {href} class={classes!((i == current).then_some("selected"))} aria-current={(i == current).then_some("page")}
                   data-testid={format!("lesson-{key}")}>{*title}</a></li>
        }
    });
    let worked = match LESSONS[current].0 {
        "scale-zero-point" => html! { <WorkedExample /> },
        "bits" => bits_table(),
        _ => html! {},
    };
    html! {
        <div class="learn" data-testid="learn">
            <nav class="panel lessons" aria-label="Lessons"><ol>{ for nav }</ol></nav>
            <article class="panel lesson" data-testid="lesson">
                <h2>{l.title}</h2>
                { for l.text.iter().map(|p| html! { <p>{*p}</p> }) }
                {worked}
                <p class="presets">
                    { for l.presets.iter().map(|(hash, label)| html! { <a class="preset" href={format!("#{hash}")} data-testid="lesson-preset">{*label}</a> }) }
                </p>
            </article>
        </div>
    }
}

/// A value moved through s, z, q and x̂, with the engine's numbers.
#[function_component(WorkedExample)]
fn worked_example() -> Html {
    let a = use_state(|| -1.0f32);
    let b = use_state(|| 2.0f32);
    let bits = use_state(|| 8u32);
    let r = use_state(|| 0.5f32);
    let number = |h: &UseStateHandle<f32>, id: &'static str, label: &'static str, step: &'static str| {
        let h2 = h.clone();
        let on = Callback::from(move |e: Event| {
            if let Ok(v) = e.target_unchecked_into::<HtmlInputElement>().value().parse::<f32>() {
                if v.is_finite() && v.abs() <= 1e6 {
                    h2.set(v);
                }
            }
        });
        html! { <label>{label}<input type="number" step={step} value={h.to_string()} onchange={on} data-testid={id} /></label> }
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
                { number(&a, "learn-a", "a (min) ", "0.1") }
                { number(&b, "learn-b", "b (max) ", "0.1") }
                <label>{format!("bits {} ", *bits)}<input type="range" min="2" max="8" value={bits.to_string()} oninput={on_bits} data-testid="learn-bits" /></label>
                <label>{format!("r = {} ", sig4(Some(*r as f64)))}<input type="range" min={lo.to_string()} max={hi.to_string()} step="any" value={r.to_string()} oninput={on_r} data-testid="learn-r" /></label>
            </div>
            { block("scale", vec![mi("s"), mo("="), frac(row(vec![mi("b"), mo("−"), mi("a")]), row(vec![mi("qmax"), mo("−"), mi("qmin")])), mo("="),
                frac(row(vec![mn(b.max(0.0) as f64), mo("−"), mo("("), mn(a.min(0.0) as f64), mo(")")]), row(vec![mint(range.qmax as i64), mo("−"), mint(range.qmin as i64)])),
                mo("="), html! { <mn data-testid="learn-scale">{sig4(Some(p.scale as f64))}</mn> }]) }
            { block("zero point", vec![mi("z"), mo("="), mi("qmin"), mo("−"), call("round", vec![frac(mi("a"), mi("s"))]), mo("="),
                mint(range.qmin as i64), mo("−"), call("round", vec![mn((a.min(0.0) / p.scale) as f64)]), mo("="), html! { <mn data-testid="learn-zero-point">{p.zero_point.to_string()}</mn> }]) }
            { block("quantize", vec![mi("q"), mo("="), call("clamp", vec![row(vec![call("round", vec![frac(mi("r"), mi("s"))]), mo("+"), mi("z")]), mi("qmin"), mi("qmax")]), mo("="),
                call("clamp", vec![row(vec![call("round", vec![mn((*r / p.scale) as f64)]), mo("+"), mint(p.zero_point as i64)]), mint(range.qmin as i64), mint(range.qmax as i64)]), mo("="),
                html! { <mn data-testid="learn-q">{q.to_string()}</mn> }]) }
            { block("dequantize", vec![mi("x̂"), mo("="), row(vec![mo("("), mi("q"), mo("−"), mi("z"), mo(")")]), mo("·"), mi("s"), mo("="),
                row(vec![mo("("), mint(q as i64), mo("−"), mint(p.zero_point as i64), mo(")")]), mo("·"), mn(p.scale as f64), mo("="),
                html! { <mn data-testid="learn-xhat">{sig4(Some(xhat as f64))}</mn> }, mo(","), mi("error"), mo("="), mn((xhat - *r) as f64)]) }
            { block("the seed paper's form", vec![call("q", vec![mi("r"), mi("a"), mi("b"), mi("n")]), mo("="),
                call("round", vec![frac(row(vec![call("clamp", vec![mi("r"), mi("a"), mi("b")]), mo("−"), mi("a")]), mi("s"))]), mo("·"), mi("s"), mo("+"), mi("a"), mo("="),
                html! { <mn data-testid="learn-seed-form">{sig4(Some(seed_form as f64))}</mn> }]) }
            <p class="hint">{format!("Nudged so that 0 is on the grid: [a, b] = [{}, {}], s = {}, n = {} levels. The two forms agree except on exact ties: rounding half to even before adding an odd zero point (PyTorch) and after (the paper's form) can pick different neighbours.", sig4(Some(na as f64)), sig4(Some(nb as f64)), sig4(Some(ns as f64)), range.levels())}</p>
        </div>
    }
}

/// SQNR of uniform full-scale data against bits, computed by the engine, beside 6.02·b.
fn bits_table() -> Html {
    let xs = sample(Dist::Uniform { lo: -1.0, hi: 1.0 }, 20_000, 1, None).unwrap_or_default();
    let rows = (2..=12).map(|bits| {
        let range = QRange::with_bits(bits, true).unwrap_or(QRange::QUINT8);
        let sqnr = analyze(&xs, QScheme::Affine, range).metrics.sqnr_db;
        let theory = 20.0 * libm::log10(((1u64 << bits) - 1) as f64);
        html! { <tr><td>{bits}</td><td data-testid={format!("bits-sqnr-{bits}")}>{sig4(sqnr)}</td><td>{sig4(Some(theory))}</td><td>{sig4(Some(6.02 * bits as f64))}</td></tr> }
    });
    html! {
        <table class="sweep" data-testid="bits-table">
            <thead><tr><th>{"bits"}</th><th>{"SQNR (dB), measured"}</th><th>{"20·log10(2^b − 1)"}</th><th>{"6.02·b"}</th></tr></thead>
            <tbody>{ for rows }</tbody>
        </table>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every preset of every lesson is a link the app reads without a notice.
    #[test]
    fn every_preset_is_a_clean_link() {
        for (key, _) in LESSONS {
            for (hash, label) in lesson(key).presets {
                let (_, problems) = UrlState::from_hash(hash);
                assert!(problems.is_empty(), "lesson {key}, preset {label}: {problems:?}");
            }
        }
    }
}
