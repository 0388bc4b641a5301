//! What the Model view shows of a calibration and of a PTQ comparison: the activations in graph
//! order, and the layers per tensor beside per channel with their SQNR as heat-coloured bars.
//! Every number's exact value sits in its cell's `data-value` (the end-to-end test compares
//! them with the CLI's JSON); the text shows four significant digits.
//!
//! The tables are ARIA grids of `div`s, not `<table>`s: rows come in chunks of
//! [`ROWS_PER_FRAME`], each chunk a row group the browser neither lays out nor paints while it is
//! scrolled out of view (`content-visibility: auto`, which internal table boxes cannot have). A
//! `<table>` of a few hundred rows is laid out and painted whole each time rows are added: 15 ms a
//! frame here, over 50 ms on a busy machine.

use std::collections::HashMap;
use std::rc::Rc;

use yew::prelude::*;

use crate::engine::model::report::{ActivationRange, LayerReport, PerTensorOrChannel, Report};
use crate::ui::format::sig4;
use crate::ui::i18n::{ModelText as M, Tr};
use crate::engine::views::inspect::RATIO_FLAG;
use crate::worker::model::{Calibrated, Compared, Declared, Weight};

/// A numeric cell: four significant digits shown, the exact value in `data-value`.
fn num(v: f64) -> Html {
    html! { <span role="cell" class="num" data-value={v.to_string()}>{sig4(Some(v))}</span> }
}

/// A cell for an optional dB value (`n/a` where there is none).
fn db(v: Option<f64>, t: Tr) -> Html {
    match v {
        Some(v) if v.is_infinite() => html! { <span role="cell" class="num" data-value="inf">{"∞"}</span> },
        Some(v) => html! { <span role="cell" class="num" data-value={v.to_string()}>{format!("{v:.1}")}</span> },
        None => html! { <span role="cell" class="num na">{t.s(M::NotApplicable)}</span> },
    }
}

/// The colour of an SQNR: red at 0 dB and below, through yellow, to green at 40 dB and above.
pub fn heat(db: f64) -> String {
    let hue = (db.clamp(0.0, 40.0) / 40.0 * 120.0).round();
    format!("hsl({hue}, 70%, 45%)")
}

/// A bar for an SQNR, its length up to 60 dB: an SVG rectangle, whose size and colour are
/// attributes (the page's CSP allows no inline style).
fn bar(v: Option<f64>, testid: &str) -> Html {
    match v {
        Some(v) if v.is_finite() => {
            let width = (v.clamp(0.0, 60.0) / 60.0 * 100.0).max(1.0);
            html! {
                <div class="sqnr-bar" data-testid={testid.to_string()}>
                    <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true"><rect width={format!("{width:.1}")} height="10" fill={heat(v)} /></svg>
                    <em>{format!("{v:.1}")}</em>
                </div>
            }
        }
        _ => html! { <div class="sqnr-bar" data-testid={testid.to_string()}><em>{"∞"}</em></div> },
    }
}

/// The heat class of an SQNR, for text: bad below 10 dB, fair below 25, good above.
fn heat_class(db: Option<f64>) -> &'static str {
    match db {
        Some(v) if v < 10.0 => "heat-bad",
        Some(v) if v < 25.0 => "heat-fair",
        _ => "heat-good",
    }
}

fn scale_text(scale: &PerTensorOrChannel<f32>) -> String {
    match scale {
        PerTensorOrChannel::Tensor(s) => sig4(Some(*s as f64)),
        PerTensorOrChannel::Channel(v) => {
            let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
            let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            format!("{}…{} ({})", sig4(Some(lo as f64)), sig4(Some(hi as f64)), v.len())
        }
    }
}

fn zero_point_text(zp: &PerTensorOrChannel<i32>) -> String {
    match zp {
        PerTensorOrChannel::Tensor(z) => z.to_string(),
        PerTensorOrChannel::Channel(v) => {
            let lo = v.iter().min().copied().unwrap_or(0);
            let hi = v.iter().max().copied().unwrap_or(0);
            if lo == hi { lo.to_string() } else { format!("{lo}…{hi}") }
        }
    }
}

/// A channel-range ratio, flagged from [`RATIO_FLAG`] up as the layer browser flags it (`n/a`
/// where there is none).
fn ratio_cell(ratio: Option<f64>, t: Tr) -> Html {
    match ratio {
        Some(q) => html! { <span role="cell" class={classes!("num", (q >= RATIO_FLAG).then_some("flag"))} data-value={q.to_string()}>{sig4(Some(q))}</span> },
        None => html! { <span role="cell" class="num na">{t.s(M::NotApplicable)}</span> },
    }
}

fn activation_row(a: &ActivationRange, on_open: &Callback<Opening>, t: Tr) -> Html {
    let ratio = ratio_cell(a.channel_range_ratio.map(f64::from), t);
    html! {
        <div role="row" data-testid="act-row" data-name={a.name.clone()}>
            <span role="cell" class="name" title={a.node.clone()}>
                <button class="link" onclick={on_open.reform({ let n = a.name.clone(); move |_: MouseEvent| Opening::Activation(n.clone()) })}
                        data-testid="act-open" aria-label={t.f(M::OpenActivation, &[&a.name])}>{&a.name}</button>
            </span>
            <span role="cell">{&a.op}</span>
            <span role="cell">{format!("{:?}", a.shape)}</span>
            { num(a.min_val as f64) }
            { num(a.max_val as f64) }
            { num(a.abs_max as f64) }
            <span role="cell" class="num">{scale_text(&a.scale)}</span>
            <span role="cell" class="num">{zero_point_text(&a.zero_point)}</span>
            { ratio }
            <span role="cell" class={classes!("num", (a.non_finite > 0).then_some("flag"))}>{a.non_finite}</span>
        </div>
    }
}

/// Rows added per frame, in one chunk: a few hundred rows built at once hold the page's thread
/// for over 100 ms. A frame that adds a chunk lays out and paints only the chunks in view.
pub const ROWS_PER_FRAME: usize = 5;

/// How many of `total` rows are shown: [`ROWS_PER_FRAME`] more each frame until all are.
#[hook]
fn use_rows_shown(total: usize) -> usize {
    let shown = use_state(|| ROWS_PER_FRAME.min(total));
    {
        let shown = shown.clone();
        use_effect_with((*shown, total), move |&(now, total)| {
            // The frame is cancelled if the table goes before it comes.
            #[cfg(target_arch = "wasm32")]
            let frame = (now < total).then(|| {
                let next = (now + ROWS_PER_FRAME).min(total);
                gloo::render::request_animation_frame(move |_| shown.set(next))
            });
            #[cfg(not(target_arch = "wasm32"))]
            let frame = {
                let _ = (shown, now, total);
                None::<Vec<()>>
            };
            move || drop(frame)
        });
    }
    (*shown).min(total)
}

/// The badge of results from synthetic input.
fn synthetic_badge(synthetic: bool, t: Tr) -> Html {
    if synthetic {
        html! { <span class="badge" data-testid="synthetic">{t.s(M::SyntheticLabel)}</span> }
    } else {
        html! {}
    }
}

/// A row of the layer table to open in the Explorer.
#[derive(Clone, Debug, PartialEq)]
pub enum Opening {
    Weight(String),
    Activation(String),
}

/// A row of the layer table: a weight of the model, or an activation of the calibration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layer {
    Weight(usize),
    Activation(usize),
}

/// The layer table's rows: the model's weights and, once calibrated, its activations, in graph
/// order and grouped by node (a node's weights, then its outputs); weights no top-level node
/// reads (those in subgraphs) last.
pub struct Layers {
    pub declared: Rc<Declared>,
    pub calibrated: Option<Rc<Calibrated>>,
    pub rows: Vec<Layer>,
}

impl Layers {
    pub fn new(declared: Rc<Declared>, calibrated: Option<Rc<Calibrated>>) -> Layers {
        let index: HashMap<&str, usize> = declared.nodes.iter().enumerate().map(|(k, n)| (n.name.as_str(), k)).collect();
        let mut keyed: Vec<((usize, u8), Layer)> = declared.weights.iter().enumerate().map(|(i, w)| ((w.node.unwrap_or(usize::MAX), 0), Layer::Weight(i))).collect();
        if let Some(c) = &calibrated {
            keyed.extend(c.activations.iter().enumerate().map(|(i, a)| ((index.get(a.node.as_str()).copied().unwrap_or(usize::MAX), 1), Layer::Activation(i))));
        }
        // Stable: within a node, weights keep their input order and activations theirs.
        keyed.sort_by_key(|(k, _)| *k);
        let rows = keyed.into_iter().map(|(_, l)| l).collect();
        Layers { declared, calibrated, rows }
    }
}

fn weight_row(w: &Weight, on_open: &Callback<Opening>, t: Tr) -> Html {
    let r = w.report();
    let na = || html! { <span role="cell" class="num na">{t.s(M::NotApplicable)}</span> };
    let ratio = ratio_cell(r.channel_range_ratio, t);
    let non_finite = r.summary.nan + r.summary.inf;
    let op = if w.op.is_empty() { html! { <span role="cell">{"—"}</span> } } else { html! { <span role="cell">{t.f(M::WeightOf, &[&w.op, &w.input])}</span> } };
    html! {
        <div role="row" class="weight" data-testid="weight-row" data-name={w.name.clone()}>
            <span role="cell" class="name">
                <button class="link" onclick={on_open.reform({ let n = w.name.clone(); move |_: MouseEvent| Opening::Weight(n.clone()) })}
                        aria-label={t.f(M::OpenWeight, &[&w.name])}>{&w.name}</button>
            </span>
            { op }
            <span role="cell">{format!("{:?}", w.shape)}</span>
            { num(r.summary.min as f64) }
            { num(r.summary.max as f64) }
            { num(r.summary.absmax as f64) }
            { na() }
            { na() }
            { ratio }
            <span role="cell" class={classes!("num", (non_finite > 0).then_some("flag"))}>{non_finite}</span>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct LayerTableProps {
    pub declared: Rc<Declared>,
    pub calibrated: Option<Rc<Calibrated>>,
    /// A row's name clicked: open it in the Explorer.
    #[prop_or_default]
    pub on_open: Callback<Opening>,
}

/// The model's weights and the calibration's activations, together in graph order.
#[function_component(LayerTable)]
pub fn layer_table(props: &LayerTableProps) -> Html {
    let t = use_context::<Tr>().unwrap_or_default();
    let layers = use_memo((props.declared.clone(), props.calibrated.clone()), |(d, c)| Layers::new(d.clone(), c.clone()));
    let total = layers.rows.len();
    let shown = use_rows_shown(total);
    let line = match &props.calibrated {
        Some(c) => html! {
            <p data-testid="calibrated" data-samples={c.samples.to_string()} data-batches={c.batches.to_string()}>
                {t.f(M::Calibrated, &[&c.activations.len(), &c.samples, &c.batches])}{" "}{ synthetic_badge(c.synthetic, t) }
            </p>
        },
        None => html! { <p class="hint" data-testid="layers-weights">{t.f(M::LayersWeights, &[&props.declared.weights.len()])}</p> },
    };
    html! {
        <div data-testid="calibration">
            { line }
            <div class="table-scroll">
                <div role="table" class="rows acts">
                    <div role="rowgroup" class="head"><div role="row">
                        <span role="columnheader">{t.s(M::ColTensor)}</span><span role="columnheader">{t.s(M::ColOp)}</span><span role="columnheader">{t.s(M::ColShape)}</span>
                        <span role="columnheader">{t.s(M::ColMin)}</span><span role="columnheader">{t.s(M::ColMax)}</span><span role="columnheader">{t.s(M::ColAbsMax)}</span>
                        <span role="columnheader">{t.s(M::ColScale)}</span><span role="columnheader">{t.s(M::ColZeroPoint)}</span><span role="columnheader">{t.s(M::ColRatio)}</span><span role="columnheader">{t.s(M::ColNonFinite)}</span>
                    </div></div>
                    <div class="body" data-complete={(shown == total).to_string()}>{ for chunks(shown).map(|(start, end)| html! { <LayerChunk key={start} data={layers.clone()} {start} {end} on_open={props.on_open.clone()} /> }) }</div>
                </div>
            </div>
        </div>
    }
}

/// The summary of one PTQ run: output SQNR, top-1 agreement, accuracy.
fn summary(r: &Report, head: M, key: &str, t: Tr) -> Html {
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    let accuracy = r.accuracy.zip(r.fp32_accuracy).map(|(q, f)| {
        html! { <li data-testid={format!("ptq-{key}-accuracy")} data-value={q.to_string()}>{t.f(M::AccuracyOf, &[&pct(q), &pct(f)])}</li> }
    });
    let out = r.output_sqnr_db;
    html! {
        <div class="ptq-summary">
            <h3>{t.s(head)}</h3>
            <p class={classes!("big", heat_class(out))} data-testid={format!("ptq-{key}-output-sqnr")} data-value={out.map_or("none".into(), |v| v.to_string())}>
                {t.s(M::OutputSqnr)}{": "}{out.map_or("∞".into(), |v| t.f(M::Decibels, &[&format!("{v:.2}")]))}
            </p>
            <ul>
                <li data-testid={format!("ptq-{key}-top1")} data-value={r.top1_agreement.to_string()}>{pct(r.top1_agreement)}{" "}{t.s(M::TopOne)}</li>
                { for accuracy }
            </ul>
        </div>
    }
}

/// The layers worth a row: those with a weight or an activation quantizer.
fn shown(l: &LayerReport) -> bool {
    l.weight_sqnr_db.is_some() || l.act_quantized
}

/// The layer that costs most on its own per tensor (lowest finite local SQNR), with its local
/// SQNR per channel.
pub fn blame(c: &Compared) -> Option<(&LayerReport, f64, Option<f64>)> {
    let worst = c.per_tensor.layers.iter().filter(|l| shown(l)).filter_map(|l| l.local_sqnr_db.filter(|v| v.is_finite()).map(|v| (l, v))).min_by(|a, b| a.1.total_cmp(&b.1))?;
    let channel = c.per_channel.layers.iter().find(|l| l.name == worst.0.name).and_then(|l| l.local_sqnr_db);
    Some((worst.0, worst.1, channel))
}

#[derive(Properties, PartialEq)]
pub struct ComparisonProps {
    pub compared: Rc<Compared>,
}

/// Per tensor beside per channel: the summaries, the layer that breaks the model, and every
/// layer in graph order.
#[function_component(ComparisonTable)]
pub fn comparison_table(props: &ComparisonProps) -> Html {
    let t = use_context::<Tr>().unwrap_or_default();
    let c = &*props.compared;
    let total = layer_pairs(c).len();
    let count = use_rows_shown(total);
    let synthetic = synthetic_badge(c.per_tensor.synthetic, t);
    let blame = blame(c).map(|(l, tensor, channel)| {
        let channel = channel.map_or("∞".into(), |v| format!("{v:.1}"));
        html! { <p class="blame" data-testid="ptq-blame" data-name={l.name.clone()}>{t.f(M::Blame, &[&l.name, &l.op, &format!("{tensor:.1}"), &channel])}</p> }
    });
    let rows = chunks(count).map(|(start, end)| html! { <LayerRows key={start} data={props.compared.clone()} {start} {end} /> });
    html! {
        <div data-testid="ptq">
            <p class="hint">{t.f(M::EvalOn, &[&c.per_tensor.eval_samples, &c.per_tensor.folded])}{" "}{ synthetic }</p>
            <div class="ptq-pair">
                { summary(&c.per_tensor, M::PerTensorHead, "tensor", t) }
                { summary(&c.per_channel, M::PerChannelHead, "channel", t) }
            </div>
            { for blame }
            <p class="hint">{t.s(M::LayersHint)}</p>
            <div class="table-scroll tall">
                <div role="table" class="rows layers">
                    // One grid of two rows: the layer and op headers span both, weight and local
                    // span their two columns (per tensor, per channel).
                    <div role="rowgroup" class="head">
                        <span role="columnheader" class="span-rows">{t.s(M::ColLayer)}</span><span role="columnheader" class="span-rows">{t.s(M::ColOp)}</span>
                        <span role="columnheader" class="span-cols">{t.s(M::ColWeight)}</span><span role="columnheader" class="span-cols">{t.s(M::ColLocal)}</span>
                        <span role="columnheader">{t.s(M::ColCumulative)}</span>
                        <span role="columnheader">{t.s(M::PerTensorHead)}</span><span role="columnheader">{t.s(M::PerChannelHead)}</span>
                        <span role="columnheader">{t.s(M::PerTensorHead)}</span><span role="columnheader">{t.s(M::PerChannelHead)}</span>
                        <span role="columnheader">{t.s(M::PerTensorHead)}{" / "}{t.s(M::PerChannelHead)}</span>
                    </div>
                    <div class="body" data-complete={(count == total).to_string()}>{ for rows }</div>
                </div>
            </div>
        </div>
    }
}

/// The layers worth a row, per tensor beside per channel.
fn layer_pairs(c: &Compared) -> Vec<(&LayerReport, &LayerReport)> {
    c.per_tensor.layers.iter().zip(&c.per_channel.layers).filter(|(a, _)| shown(a)).collect()
}

/// `0..total` in slices of [`ROWS_PER_FRAME`].
fn chunks(total: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..total).step_by(ROWS_PER_FRAME).map(move |s| (s, (s + ROWS_PER_FRAME).min(total)))
}

/// Rows `start..end` of a table, one row group, rendered once: a frame that adds rows leaves these
/// alone (their props compare by pointer, not by the whole report).
#[derive(Properties)]
pub struct ChunkProps<T: 'static> {
    pub data: Rc<T>,
    pub start: usize,
    pub end: usize,
    /// A row's name clicked (the layer table: open the weight or activation in the Explorer).
    #[prop_or_default]
    pub on_open: Callback<Opening>,
}

impl<T> PartialEq for ChunkProps<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.data, &other.data) && (self.start, self.end) == (other.start, other.end) && self.on_open == other.on_open
    }
}

#[function_component(LayerChunk)]
fn layer_chunk(props: &ChunkProps<Layers>) -> Html {
    let t = use_context::<Tr>().unwrap_or_default();
    let l = &*props.data;
    let rows = l.rows[props.start..props.end].iter().map(|row| match *row {
        Layer::Weight(i) => weight_row(&l.declared.weights[i], &props.on_open, t),
        Layer::Activation(i) => match &l.calibrated {
            Some(c) => activation_row(&c.activations[i], &props.on_open, t),
            None => html! {},
        },
    });
    html! { <div role="rowgroup" class="chunk">{ for rows }</div> }
}

#[function_component(LayerRows)]
fn layer_rows(props: &ChunkProps<Compared>) -> Html {
    let t = use_context::<Tr>().unwrap_or_default();
    let pairs = layer_pairs(&props.data);
    let rows = pairs[props.start..props.end].iter().map(|(a, b)| {
        html! {
            <div role="row" data-testid="ptq-row" data-name={a.name.clone()}>
                <span role="cell" class="name" title={a.node.clone()}>{&a.name}</span>
                <span role="cell">{&a.op}</span>
                { db(a.weight_sqnr_db, t) }{ db(b.weight_sqnr_db, t) }
                { db(a.local_sqnr_db, t) }{ db(b.local_sqnr_db, t) }
                <span role="cell" class="bars">{ bar(a.cumulative_sqnr_db, "bar-tensor") }{ bar(b.cumulative_sqnr_db, "bar-channel") }</span>
            </div>
        }
    });
    html! { <div role="rowgroup" class="chunk">{ for rows }</div> }
}
