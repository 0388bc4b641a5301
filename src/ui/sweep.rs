//! The observer sweep, run in the worker with a progress bar and a cancel button: every
//! observer's SQNR at every bit width, and the MSE against the clipping ratio with each
//! observer's choice. Long for large tensors, so it never runs on the page's thread.

use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};
use crate::ui::state::observer_label;

use super::charts::canvas::Canvas;
use super::charts::sweep::{ClipCurveChart, SqnrChart};
use super::format::sig4;
use crate::engine::quantizer::qparams::QScheme;
use crate::engine::tensor::Tensor;
use crate::engine::views::explore::session::TensorSource;
use crate::engine::views::jobs::{JobResult, JobSpec, ObserverSweep};
use crate::worker::{WorkerInput, WorkerOutput};

#[derive(Properties, PartialEq)]
pub struct SweepProps {
    /// The Explorer's tensor: the worker draws a synthetic one itself, and is handed a file's.
    pub source: TensorSource,
    pub upload: Option<Rc<Tensor>>,
    pub scheme: QScheme,
    pub unsigned: bool,
    /// The bit width of the clip curve (the Explorer's).
    pub bits: u32,
}

/// Where the current sweep is.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Idle,
    Running { done: usize, total: usize },
    Done(Rc<ObserverSweep>),
    Failed(String),
    Cancelled,
}

/// The panel's state: the id of the latest job, so stale outputs are ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub id: u64,
    pub status: Status,
}

pub enum SweepAction {
    Started(u64),
    Output(WorkerOutput),
}

impl Reducible for Sweep {
    type Action = SweepAction;

    fn reduce(self: Rc<Self>, action: SweepAction) -> Rc<Self> {
        let (id, status) = match action {
            SweepAction::Started(id) => (id, Status::Running { done: 0, total: 1 }),
            SweepAction::Output(out) => {
                let (id, status) = match out {
                    WorkerOutput::Progress { id, done, total, .. } => (id, Status::Running { done, total }),
                    WorkerOutput::Done { id, result: JobResult::ObserverSweep(r) } => (id, Status::Done(Rc::new(r))),
                    WorkerOutput::Done { id, .. } => (id, Status::Failed(crate::ui::i18n::current().s(E::WrongJob).into())),
                    WorkerOutput::Paused { .. } | WorkerOutput::Ready => return self,
                    WorkerOutput::Failed { id, message } => (id, Status::Failed(message)),
                    WorkerOutput::Cancelled { id } => (id, Status::Cancelled),
                };
                if id != self.id {
                    return self;
                }
                (id, status)
            }
        };
        Rc::new(Sweep { id, status })
    }
}

#[function_component(SweepPanel)]
pub fn sweep_panel(props: &SweepProps) -> Html {
    let t = use_tr();
    let sweep = use_reducer(|| Sweep { id: 0, status: Status::Idle });
    let client = {
        let dispatch = sweep.dispatcher();
        super::worker_client::use_worker_client(Callback::from(move |out| dispatch.dispatch(SweepAction::Output(out))))
    };

    let start = {
        let (client, sweep) = (client.clone(), sweep.clone());
        let upload = props.upload.clone().zip(match props.source {
            TensorSource::Loaded { key } => Some(key),
            TensorSource::Synthetic(_) => None,
        });
        let spec = JobSpec::ObserverSweep { source: props.source, scheme: props.scheme, unsigned: props.unsigned, bits: (2, 16), curve_bits: props.bits };
        Callback::from(move |_| {
            let id = sweep.id + 1;
            sweep.dispatch(SweepAction::Started(id));
            if let Some((tensor, key)) = &upload {
                client.emit(WorkerInput::Load { key: *key, data: (**tensor).clone() });
            }
            client.emit(WorkerInput::Start { id, spec: spec.clone() });
        })
    };
    let cancel = {
        let (client, id) = (client, sweep.id);
        Callback::from(move |_| client.emit(WorkerInput::Cancel { id }))
    };

    let running = matches!(sweep.status, Status::Running { .. });
    let body = match &sweep.status {
        Status::Idle => html! { <p class="hint">{t.s(E::SweepIdle)}</p> },
        Status::Running { done, total } => html! {
            <div class="progress-row">
                <progress data-testid="sweep-progress" max={total.to_string()} value={done.to_string()} />
                <span>{format!("{done} / {total}")}</span>
            </div>
        },
        Status::Cancelled => {
            html! { <p class="hint" data-testid="sweep-cancelled">{t.s(E::Cancelled)}</p> }
        }
        Status::Failed(message) => {
            html! { <p class="error" role="alert">{t.f(E::SweepFailed, &[message])}</p> }
        }
        Status::Done(r) => html! {
            <>
                <Canvas<SqnrChart> chart={Rc::new(SqnrChart { series: r.sqnr.clone() })} testid="chart-sweep-sqnr" width={800} height={320}
                    export={Some(AttrValue::from("sweep-sqnr"))} label={t.s(E::SweepSqnrLabel)} />
                <Canvas<ClipCurveChart> chart={Rc::new(ClipCurveChart { sweep: (**r).clone() })} testid="chart-sweep-clip" width={800} height={320}
                    export={Some(AttrValue::from("sweep-clip"))} label={t.s(E::SweepClipLabel)} />
                <div class="table-scroll">
                    <table class="sweep" data-testid="sweep-result">
                        <thead><tr><th scope="col">{t.s(E::SqnrDbShort)}</th>{ for r.sqnr[0].1.iter().map(|p| html! { <th scope="col">{p.bits}</th> }) }</tr></thead>
                        <tbody>
                            { for r.sqnr.iter().map(|(name, pts)| html! {
                                <tr data-testid={format!("sweep-row-{name}")}><th scope="row">{observer_label(name, t)}</th>{ for pts.iter().map(|p| html! { <td>{sig4(p.sqnr_db)}</td> }) }</tr>
                            }) }
                        </tbody>
                    </table>
                </div>
            </>
        },
    };
    html! {
        <section class="panel sweep-panel" aria-label={t.s(E::SweepLabel)} data-part="sweep">
            <div class="panel-head">
                <h2>{t.s(E::SweepHeading)}</h2>
                <button onclick={start} disabled={running} data-testid="sweep-start">{t.s(E::RunSweep)}</button>
                <button onclick={cancel} disabled={!running} data-testid="sweep-cancel">{t.s(E::Cancel)}</button>
            </div>
            {body}
        </section>
    }
}
