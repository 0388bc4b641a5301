//! Every number format side by side on the Explorer's tensor, run in the worker a format a step
//! with a progress bar and a cancel button: SQNR (or MSE, or max error) against bits per weight
//! with the Pareto front, a table, and a CSV export. A row's button shows that format above.

use std::rc::Rc;

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::engine::formats::compare::{to_csv, Row};
use crate::engine::formats::spec::{Format, Params};
use crate::engine::tensor::Tensor;
use crate::engine::views::explore::session::TensorSource;
use crate::engine::views::jobs::{JobResult, JobSpec};
use crate::ui::charts::canvas::Canvas;
use crate::ui::charts::formats::{CompareChart, Metric};
use crate::ui::format::{percent, sig4};
use crate::ui::i18n::{use_tr, ExplorerText as E, FormatText as F};
use crate::ui::state::UrlState;
use crate::ui::sweep::{start_job, FromJob, Status, TrackAction, Tracked};

/// The comparison's rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Rows(pub Vec<Row>);

impl FromJob for Rows {
    fn from_job(r: JobResult) -> Option<Self> {
        if let JobResult::Formats(rows) = r { Some(Rows(rows)) } else { None }
    }
}

#[derive(Properties, PartialEq)]
pub struct CompareProps {
    pub source: TensorSource,
    pub upload: Option<Rc<Tensor>>,
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    /// The stem of the CSV file's name.
    pub stem: String,
}

/// The URL state that shows `row`'s format with its parameters.
pub fn showing(url: &UrlState, row: &Row) -> UrlState {
    let name = crate::engine::formats::spec::names().into_iter().find(|n| *n == row.format);
    let p: Params = row.params;
    let int = row.format == "int";
    UrlState {
        format: name,
        format_block: None,
        format_group: if int { p.group } else { url.format_group },
        format_scale: p.scale,
        format_rounding: p.rounding,
        bits: if int { p.bits } else { url.bits },
        scheme: if int { p.scheme } else { url.scheme },
        ..url.clone()
    }
}

#[function_component(ComparePanel)]
pub fn compare_panel(props: &CompareProps) -> Html {
    let t = use_tr();
    let job = use_reducer(Tracked::<Rows>::default);
    let metric = use_state(|| Metric::Sqnr);
    let saved = use_state(String::new);
    let client = {
        let dispatch = job.dispatcher();
        crate::ui::worker_client::use_worker_client(Callback::from(move |out| dispatch.dispatch(TrackAction::Output(out))))
    };
    let start = {
        let (client, job, source, upload) = (client.clone(), job.clone(), props.source, props.upload.clone());
        Callback::from(move |_: ()| start_job(&job, &client, source, upload.clone(), JobSpec::Formats { source }))
    };
    // A link with `cmp=1` runs the comparison as soon as its tensor is there, once per tensor,
    // and brings the panel into view.
    let panel = use_node_ref();
    {
        let (start, panel, job, client) = (start.clone(), panel.clone(), job.clone(), client.clone());
        use_effect_with((props.source, props.url.compare), move |(_, auto)| {
            // Another tensor: the last comparison was not of it.
            if matches!(job.status, Status::Running { .. }) {
                client.emit(crate::worker::WorkerInput::Cancel { id: job.id });
            }
            job.dispatch(TrackAction::Reset);
            if *auto {
                start.emit(());
                if let Some(e) = panel.cast::<web_sys::Element>() {
                    e.scroll_into_view();
                }
            }
        });
    }
    let cancel = {
        let (client, id) = (client, job.id);
        Callback::from(move |_: MouseEvent| client.emit(crate::worker::WorkerInput::Cancel { id }))
    };
    let running = matches!(job.status, Status::Running { .. });
    let count = Format::comparison().len();
    let body = match &job.status {
        Status::Idle => html! { <p class="hint">{t.f(F::CompareIdle, &[&count])}</p> },
        Status::Running { done, total, .. } => {
            let next = Format::comparison().get(*done).map(|f| f.label()).unwrap_or_default();
            html! {
                <div class="progress-row" role="status">
                    <progress data-testid="compare-progress" max={total.to_string()} value={done.to_string()} />
                    <span>{t.f(F::CompareProgress, &[done, total, &next])}</span>
                </div>
            }
        }
        Status::Cancelled => html! { <p class="hint" data-testid="compare-cancelled">{t.s(E::Cancelled)}</p> },
        Status::Failed(message) => html! { <p class="error" role="alert">{t.f(F::CompareFailed, &[message])}</p> },
        Status::Done(rows) => {
            let rows = &rows.0;
            let on_metric = {
                let metric = metric.clone();
                Callback::from(move |e: Event| {
                    let v = e.target_unchecked_into::<HtmlSelectElement>().value();
                    if let Some(m) = Metric::ALL.iter().find(|m| m.1 == v) {
                        metric.set(m.0);
                    }
                })
            };
            let save = {
                let (rows, stem, saved) = (rows.clone(), props.stem.clone(), saved.clone());
                Callback::from(move |_: MouseEvent| {
                    let name = format!("{stem}-formats.csv");
                    saved.set(match crate::ui::download::save(&name, "text/csv", to_csv(&rows).as_bytes()) {
                        Ok(()) => crate::ui::i18n::current().f(E::Saved, &[&name]),
                        Err(e) => crate::ui::i18n::current().f(E::CannotSave, &[&name, &e]),
                    })
                })
            };
            let show = |row: &Row| {
                let (next, on_change) = (showing(&props.url, row), props.on_change.clone());
                Callback::from(move |_: MouseEvent| on_change.emit(next.clone()))
            };
            html! {
                <>
                    <div class="panel-head">
                        <label for="compare-metric">{t.s(F::ChartMetric)}</label>
                        <select id="compare-metric" data-testid="compare-metric" onchange={on_metric}>
                            { for Metric::ALL.iter().map(|(m, key, text)| html! { <option value={*key} selected={*m == *metric}>{t.s(*text)}</option> }) }
                        </select>
                        <button onclick={save} data-testid="compare-csv">{t.s(F::SaveCsv)}</button>
                        <span class="hint" role="status">{(*saved).clone()}</span>
                    </div>
                    <Canvas<CompareChart> chart={Rc::new(CompareChart { rows: rows.clone(), metric: *metric })} testid="chart-compare" width={900} height={420}
                        export={Some(AttrValue::from(format!("{}-formats", props.stem)))} label={t.f(F::CompareChartLabel, &[&t.s(Metric::ALL.iter().find(|m| m.0 == *metric).expect("listed").2)])} />
                    <div class="table-scroll">
                        <table data-testid="compare-table">
                            <thead><tr>
                                <th scope="col">{t.s(F::ColFormat)}</th><th scope="col">{t.s(F::BitsPerWeight)}</th><th scope="col">{t.s(E::SqnrDb)}</th>
                                <th scope="col">{t.s(E::Mse)}</th><th scope="col">{t.s(E::MaxError)}</th><th scope="col">{t.s(F::Saturated)}</th>
                                <th scope="col">{t.s(F::ColPareto)}</th><th></th>
                            </tr></thead>
                            <tbody>
                                { for rows.iter().map(|r| {
                                    let m = r.metrics;
                                    html! {
                                        <tr data-testid={format!("compare-row-{}", r.label.replace(' ', "-"))} class={classes!(r.pareto.then_some("front"))}>
                                            <th scope="row">{r.label.clone()}</th>
                                            <td>{if r.bits_per_weight.is_finite() { format!("{:.4}", r.bits_per_weight) } else { String::new() }}</td>
                                            if let Some(e) = &r.error {
                                                <td colspan="4" class="error">{e.clone()}</td>
                                            } else {
                                                <td>{sig4(m.and_then(|m| m.sqnr_db))}</td>
                                                <td>{sig4(m.map(|m| m.mse))}</td>
                                                <td>{sig4(m.map(|m| m.max_abs_err))}</td>
                                                <td>{r.saturated().map(percent).unwrap_or_default()}</td>
                                            }
                                            <td>{if r.pareto { t.s(F::OnFront) } else { "" }}</td>
                                            <td><button class="link" onclick={show(r)} disabled={r.error.is_some()}>{t.s(F::Show)}</button></td>
                                        </tr>
                                    }
                                }) }
                            </tbody>
                        </table>
                    </div>
                </>
            }
        }
    };
    let run = start.reform(|_: MouseEvent| ());
    html! {
        <section ref={panel} class="panel sweep-panel" aria-label={t.s(F::CompareHeading)} data-part="compare" data-testid="compare-panel">
            <div class="panel-head">
                <h2>{t.s(F::CompareHeading)}</h2>
                <button onclick={run} disabled={running} data-testid="compare-start">{t.s(F::RunCompare)}</button>
                <button onclick={cancel} disabled={!running} data-testid="compare-cancel">{t.s(E::Cancel)}</button>
            </div>
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::compare::compare_one;

    #[test]
    fn a_rows_button_shows_its_format_with_its_parameters() {
        let xs: Vec<f32> = (0..512).map(|i| (i as f32 - 256.0) / 100.0).collect();
        let url = UrlState { bits: 8, format_block: Some(3), ..UrlState::default() };
        for f in Format::comparison() {
            let row = compare_one(f, &xs, &[2, 256]);
            let next = showing(&url, &row);
            let shown = next.format_request(64).expect("a format").format().unwrap();
            assert_eq!(shown, f, "{}", f.label());
            assert_eq!(next.format_block, None);
        }
    }
}
