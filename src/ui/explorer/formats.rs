//! The Explorer's body when a number format is chosen: the values against a block's grid, the
//! format's readouts and error, its block-scale anatomy and the blocks with the most error.

use std::rc::Rc;

use yew::prelude::*;

use crate::engine::views::formats::FormatView;
use crate::ui::charts::canvas::Canvas;
use crate::ui::charts::errors::{ErrorByValueChart, ErrorChart};
use crate::ui::charts::formats::{FormatHistogramChart, ScaleChart};
use crate::ui::format::{group_thousands, percent, sig4};
use crate::ui::i18n::{use_tr, ExplorerText as E, FormatText as F};
use crate::ui::state::UrlState;

#[derive(Properties, PartialEq)]
pub struct FormatBodyProps {
    pub view: Rc<FormatView>,
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The stem of exported files' names.
    pub stem: String,
}

/// The charts of one format view, each behind an `Rc` so an unchanged chart is not repainted.
#[derive(PartialEq)]
struct Charts {
    values: Rc<FormatHistogramChart>,
    errors: Rc<ErrorChart>,
    error_by_value: Rc<ErrorByValueChart>,
    scales: Vec<Rc<ScaleChart>>,
}

impl Charts {
    fn of(v: &FormatView, log: bool) -> Charts {
        // With one grid for the whole tensor, values beyond it are clipped; with blocks, a value
        // beyond the drawn block's ends may sit well inside its own block's.
        let clip = if v.blocks == 1 { v.bounds } else { (f32::NEG_INFINITY, f32::INFINITY) };
        Charts {
            values: Rc::new(FormatHistogramChart::of_view(v, log)),
            errors: Rc::new(ErrorChart { errors: v.errors.clone(), bound: v.rounding_bound, log }),
            error_by_value: Rc::new(ErrorByValueChart { x: (v.values.lo, v.values.hi), envelope: v.error_by_value.clone(), bound: v.rounding_bound, clip }),
            scales: v.scales.iter().map(|s| Rc::new(ScaleChart { scales: s.clone() })).collect(),
        }
    }
}

#[function_component(FormatBody)]
pub fn format_body(props: &FormatBodyProps) -> Html {
    let t = use_tr();
    let v = &props.view;
    let charts = use_memo((props.view.clone(), props.url.log), |(v, log)| Charts::of(v, *log));
    let m = &v.metrics;
    let at = v.at;
    let items: Vec<(&str, String, String)> = vec![
        ("format-label", t.s(F::Format).into(), v.label.clone()),
        ("format-bits-per-weight", t.s(F::BitsPerWeight).into(), format!("{:.4}", v.bits_per_weight)),
        ("format-sqnr-db", t.s(E::SqnrDb).into(), sig4(m.sqnr_db)),
        ("format-mse", t.s(E::Mse).into(), sig4(Some(m.mse))),
        ("format-mse-split", t.s(E::MseSplit).into(), format!("{} / {}", sig4(Some(m.clip_mse)), sig4(Some(m.round_mse)))),
        ("format-max-error", t.s(E::MaxError).into(), sig4(Some(m.max_abs_err))),
        ("format-saturated", t.s(F::Saturated).into(), percent(m.clipped_fraction())),
        ("format-flushed", t.s(F::Flushed).into(), group_thousands(v.flushed)),
        ("format-blocks", t.s(F::Blocks).into(), t.f(F::BlocksOf, &[&group_thousands(v.blocks), &group_thousands(v.group)])),
        ("format-block", t.s(F::BlockDrawn).into(), t.f(F::BlockAt, &[&v.block, &at.0, &at.1])),
        ("format-non-finite", t.s(E::NonFinite).into(), m.non_finite.to_string()),
    ];
    let draw = |block: usize| {
        let (url, on_change) = (props.url.clone(), props.on_change.clone());
        Callback::from(move |_: MouseEvent| on_change.emit(UrlState { format_block: Some(block), ..url.clone() }))
    };
    let stem = &props.stem;
    html! {
        <>
            <section class="panel chart-panel" data-part="histogram">
                <h2>{t.s(F::ValuesAndGrid)}</h2>
                <Canvas<FormatHistogramChart> chart={charts.values.clone()} testid="chart-format-histogram" export={Some(AttrValue::from(format!("{stem}-{}-values", v.label.replace(' ', "_"))))}
                    label={t.f(F::HistLabel, &[&v.metrics.count, &v.block, &v.grid.len()])} />
            </section>
            <section class="panel readouts" aria-label={t.s(F::Readouts)} data-part="readouts">
                <dl>
                    { for items.into_iter().map(|(id, label, value)| html! {
                        <div class="readout"><dt>{label}</dt><dd data-testid={id}>{value}</dd></div>
                    }) }
                </dl>
            </section>
            <div class="chart-pair">
                <section class="panel chart-panel" data-part="errors">
                    <h2>{t.s(E::Error)}</h2>
                    <Canvas<ErrorChart> chart={charts.errors.clone()} testid="chart-format-errors" width={560} height={300} label={t.s(E::ErrorLabel)} />
                </section>
                <section class="panel chart-panel" data-part="errors">
                    <h2>{t.s(E::ErrorAgainstX)}</h2>
                    <Canvas<ErrorByValueChart> chart={charts.error_by_value.clone()} testid="chart-format-error-by-value" width={560} height={300} label={t.s(E::ErrorByValueLabel)} />
                </section>
            </div>
            <section class="panel" data-part="anatomy" data-testid="format-anatomy">
                <h2>{t.s(F::Anatomy)}</h2>
                if charts.scales.is_empty() {
                    <p class="hint">{t.s(F::NoScales)}</p>
                }
                <div class="chart-pair">
                    { for charts.scales.iter().enumerate().map(|(i, c)| html! {
                        <Canvas<ScaleChart> chart={c.clone()} testid={format!("chart-format-scales-{i}")} width={560} height={280} label={t.s(F::AnatomyLabel)} />
                    }) }
                </div>
                <h3>{t.s(F::WorstBlocks)}</h3>
                <p class="hint">{t.s(F::WorstHint)}</p>
                <div class="table-scroll">
                    <table data-testid="format-worst">
                        <thead><tr>
                            <th scope="col">{t.s(F::ColBlock)}</th><th scope="col">{t.s(F::ColRow)}</th><th scope="col">{t.s(F::ColColumn)}</th>
                            <th scope="col">{t.s(F::ColSse)}</th><th scope="col">{t.s(F::ColShare)}</th><th></th>
                        </tr></thead>
                        <tbody>
                            { for v.worst.iter().map(|w| html! {
                                <tr data-testid={format!("format-worst-{}", w.block)}>
                                    <td>{w.block}</td><td>{w.row}</td><td>{w.col}</td><td>{sig4(Some(w.sse))}</td><td>{percent(w.share)}</td>
                                    <td>
                                        if w.block == v.block {
                                            {t.s(F::Drawn)}
                                        } else {
                                            <button class="link" onclick={draw(w.block)} data-testid={format!("format-draw-{}", w.block)}>{t.s(F::Draw)}</button>
                                        }
                                    </td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            </section>
        </>
    }
}
