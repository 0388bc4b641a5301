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
use crate::engine::views::explore::session::{Stage, TensorSource};
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

/// A worker job's answer, picked out of the worker's results.
pub trait FromJob: Sized {
    fn from_job(r: JobResult) -> Option<Self>;
}

impl FromJob for ObserverSweep {
    fn from_job(r: JobResult) -> Option<Self> {
        if let JobResult::ObserverSweep(s) = r { Some(s) } else { None }
    }
}

/// Where a panel's job is.
#[derive(Clone, Debug, PartialEq)]
pub enum Status<T> {
    Idle,
    Running { done: usize, total: usize, stage: Option<Stage> },
    Done(Rc<T>),
    Failed(String),
    Cancelled,
}

/// A panel's job: the id of the latest one, so stale outputs are ignored, and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Tracked<T> {
    pub id: u64,
    pub status: Status<T>,
}

impl<T> Default for Tracked<T> {
    fn default() -> Self {
        Tracked { id: 0, status: Status::Idle }
    }
}

pub enum TrackAction {
    Started(u64),
    Output(WorkerOutput),
    /// The panel's tensor changed: back to idle, and whatever the worker still sends for the
    /// job before is ignored.
    Reset,
}

impl<T: FromJob> Reducible for Tracked<T> {
    type Action = TrackAction;

    fn reduce(self: Rc<Self>, action: TrackAction) -> Rc<Self> {
        let (id, status) = match action {
            TrackAction::Started(id) => (id, Status::Running { done: 0, total: 1, stage: None }),
            TrackAction::Reset => (self.id + 1, Status::Idle),
            TrackAction::Output(out) => {
                let (id, status) = match out {
                    WorkerOutput::Progress { id, done, total, detail } => (id, Status::Running { done, total, stage: detail.stage }),
                    WorkerOutput::Done { id, result } => match T::from_job(result) {
                        Some(r) => (id, Status::Done(Rc::new(r))),
                        None => (id, Status::Failed(crate::ui::i18n::current().s(E::WrongJob).into())),
                    },
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
        Rc::new(Tracked { id, status })
    }
}

/// Starts `spec` in the worker for a panel tracked by `tracked`, handing the worker the
/// Explorer's file tensor first when the source is one.
pub fn start_job<T: FromJob + 'static>(tracked: &UseReducerHandle<Tracked<T>>, client: &Callback<WorkerInput>, source: TensorSource, upload: Option<Rc<Tensor>>, spec: JobSpec) {
    let id = tracked.id + 1;
    tracked.dispatch(TrackAction::Started(id));
    if let (TensorSource::Loaded { key }, Some(tensor)) = (source, upload) {
        client.emit(WorkerInput::Load { key, data: (*tensor).clone() });
    }
    client.emit(WorkerInput::Start { id, spec });
}

#[function_component(SweepPanel)]
pub fn sweep_panel(props: &SweepProps) -> Html {
    let t = use_tr();
    let sweep = use_reducer(Tracked::<ObserverSweep>::default);
    let client = {
        let dispatch = sweep.dispatcher();
        super::worker_client::use_worker_client(Callback::from(move |out| dispatch.dispatch(TrackAction::Output(out))))
    };

    // Another tensor: the last sweep's figures were not its own.
    {
        let (sweep, client) = (sweep.clone(), client.clone());
        use_effect_with(props.source, move |_| {
            if matches!(sweep.status, Status::Running { .. }) {
                client.emit(WorkerInput::Cancel { id: sweep.id });
            }
            sweep.dispatch(TrackAction::Reset);
        });
    }
    let start = {
        let (client, sweep, source, upload) = (client.clone(), sweep.clone(), props.source, props.upload.clone());
        let spec = JobSpec::ObserverSweep { source: props.source, scheme: props.scheme, unsigned: props.unsigned, bits: (2, 16), curve_bits: props.bits };
        Callback::from(move |_| start_job(&sweep, &client, source, upload.clone(), spec.clone()))
    };
    let cancel = {
        let (client, id) = (client, sweep.id);
        Callback::from(move |_| client.emit(WorkerInput::Cancel { id }))
    };

    let running = matches!(sweep.status, Status::Running { .. });
    let body = match &sweep.status {
        Status::Idle => html! { <p class="hint">{t.s(E::SweepIdle)}</p> },
        Status::Running { done, total, .. } => html! {
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
