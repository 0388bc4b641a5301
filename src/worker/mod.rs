//! The worker: runs the engine's long [`Job`]s off the main thread.
//!
//! The page sends [`WorkerInput`]s and the worker answers with a stream of [`WorkerOutput`]s,
//! both through [`wire`], which moves bulk data (a tensor handed over, a `.npy` handed back) as
//! transferred buffers rather than through the message encoding. Between two job steps the
//! worker yields to its event loop, so a `Cancel` (or a newer `Start`, which replaces the
//! running job) is seen within one step.

pub mod wire;

use std::rc::Rc;

use futures::{FutureExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};

use crate::engine::views::explore::session::{Session, Stage};
use crate::engine::views::jobs::{Job, JobResult, JobSpec, JobStep};
use crate::engine::tensor::Tensor;

/// Path of the worker's loader shim in the built app (made by trunk's `data-loader-shim`).
pub const WORKER_PATH: &str = "./worker_loader.js";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerInput {
    /// Start job `id`, replacing any job still running.
    Start { id: u64, spec: JobSpec },
    /// Stop job `id` if it is still running.
    Cancel { id: u64 },
    /// Hold job `id` after its current step, until `Resume` (or `Cancel`).
    Pause { id: u64 },
    Resume { id: u64 },
    /// Keep this tensor for jobs that name `key` (its values travel as a transferred buffer).
    Load { key: u64, tensor: Tensor },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerOutput {
    /// The worker has started and takes inputs.
    Ready,
    Progress { id: u64, done: usize, total: usize, lab: Option<crate::engine::nn::lab::Progress>, stage: Option<Stage> },
    Paused { id: u64 },
    Done { id: u64, result: JobResult },
    Failed { id: u64, message: String },
    Cancelled { id: u64 },
}

/// Runs jobs from `inputs` until the page goes away, sending what they produce with `send`
/// (which returns `false` once nobody listens).
pub async fn serve(mut inputs: impl Stream<Item = WorkerInput> + Unpin, send: impl Fn(WorkerOutput) -> bool) {
    let mut session = Session::default();
    let mut next = inputs.next().await;
    while let Some(input) = next.take() {
        let (id, spec) = match input {
            WorkerInput::Start { id, spec } => (id, spec),
            WorkerInput::Load { key, tensor } => {
                session.load(key, Rc::new(tensor));
                next = inputs.next().await;
                continue;
            }
            _ => {
                next = inputs.next().await; // a Cancel for a job that is not running
                continue;
            }
        };
        let mut job = match Job::start(&spec) {
            Ok(job) => job,
            Err(e) => {
                if !send(WorkerOutput::Failed { id, message: e.to_string() }) {
                    return;
                }
                next = inputs.next().await;
                continue;
            }
        };
        loop {
            let out = match job.step(&mut session, &now_ms) {
                Ok(JobStep::Done(result)) => WorkerOutput::Done { id, result },
                Ok(JobStep::Progress { done, total, lab, stage }) => WorkerOutput::Progress { id, done, total, lab, stage },
                Err(e) => WorkerOutput::Failed { id, message: e.to_string() },
            };
            let finished = matches!(out, WorkerOutput::Done { .. } | WorkerOutput::Failed { .. });
            if !send(out) {
                return; // the page went away
            }
            if finished {
                next = inputs.next().await;
                break;
            }
            yield_to_event_loop().await;
            let mut input = inputs.next().now_or_never();
            loop {
                match input {
                    // Paused: wait for what comes next, holding the job.
                    Some(Some(WorkerInput::Pause { id: p })) => {
                        if p == id && !send(WorkerOutput::Paused { id }) {
                            return;
                        }
                        input = if p == id { Some(inputs.next().await) } else { inputs.next().now_or_never() };
                    }
                    // A tensor handed over while a job runs: keep it and look again.
                    Some(Some(WorkerInput::Load { key, tensor })) => {
                        session.load(key, Rc::new(tensor));
                        input = inputs.next().now_or_never();
                    }
                    _ => break,
                }
            }
            match input {
                None => {}            // nothing new: keep going
                Some(None) => return, // the page went away
                Some(Some(WorkerInput::Resume { .. } | WorkerInput::Pause { .. } | WorkerInput::Load { .. })) => {}
                Some(Some(WorkerInput::Cancel { id: c })) if c == id => {
                    if !send(WorkerOutput::Cancelled { id }) {
                        return;
                    }
                    next = inputs.next().await;
                    break;
                }
                Some(Some(WorkerInput::Cancel { .. })) => {}
                Some(Some(start)) => {
                    let _ = send(WorkerOutput::Cancelled { id });
                    next = Some(start);
                    break;
                }
            }
        }
    }
}

/// The worker's entry point (`src/bin/worker.rs`): takes the page's messages and serves them.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let (tx, rx) = futures::channel::mpsc::unbounded::<WorkerInput>();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| match wire::receive::<WorkerInput>(&e.data()) {
        Ok(input) => {
            let _ = tx.unbounded_send(input);
        }
        Err(err) => gloo::console::error!(format!("QuantScope worker: {err}")),
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let post = scope.clone();
    wasm_bindgen_futures::spawn_local(serve(rx, move |out| wire::post(&post, out).is_ok()));
    let _ = wire::post(&scope, WorkerOutput::Ready);
}

/// The worker's clock in milliseconds (the Lab times its phases with it).
fn now_ms() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}

/// Lets the worker's message handler run, so inputs reach the queue: one turn of the event loop,
/// by a message to itself on a `MessageChannel`. (A `setTimeout(0)` turn is clamped to 4 ms once
/// timeouts nest five deep, as a job's steps do: 0.1 s of idling over a 10M-value draw's steps,
/// 0.4 s over the MSE search's.) Messages from the page come from the same task source, first
/// come first served, so one posted before the yield is handled before the job goes on.
async fn yield_to_event_loop() {
    #[cfg(target_arch = "wasm32")]
    {
        use wasm_bindgen::JsCast;
        thread_local! {
            static CHANNEL: Option<web_sys::MessageChannel> = web_sys::MessageChannel::new().ok();
        }
        let turn = CHANNEL.with(|c| {
            let c = c.as_ref()?;
            let (port1, port2) = (c.port1(), c.port2());
            Some(js_sys::Promise::new(&mut |resolve, _| {
                port1.set_onmessage(Some(resolve.unchecked_ref()));
                let _ = port2.post_message(&wasm_bindgen::JsValue::NULL);
            }))
        });
        match turn {
            Some(p) => drop(wasm_bindgen_futures::JsFuture::from(p).await),
            None => gloo::timers::future::TimeoutFuture::new(0).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::views::jobs::JobSpec;
    use crate::engine::quantizer::qparams::QScheme;
    use crate::engine::views::explore::session::TensorSource;
    use std::cell::RefCell;

    fn sweep(key: u64) -> JobSpec {
        JobSpec::ObserverSweep { source: TensorSource::Loaded { key }, scheme: QScheme::Affine, unsigned: true, bits: (2, 3), curve_bits: 2 }
    }

    /// The protocol natively: a tensor handed over, a job on it, a newer start replacing an
    /// older one, and a failure for a tensor never handed over.
    #[test]
    fn serves_loads_starts_replacements_and_failures() {
        let tensor = Tensor { name: "t".into(), shape: vec![4], data: vec![0.0, 1.0, -1.0, 0.5], stored_as: "f32".into() };
        let (tx, rx) = futures::channel::mpsc::unbounded();
        tx.unbounded_send(WorkerInput::Load { key: 5, tensor }).unwrap();
        tx.unbounded_send(WorkerInput::Start { id: 1, spec: sweep(5) }).unwrap();
        let tx = RefCell::new(Some(tx));
        let out = RefCell::new(Vec::new());
        futures::executor::block_on(serve(rx, |o| {
            let push = |i| tx.borrow().as_ref().unwrap().unbounded_send(i).unwrap();
            match &o {
                WorkerOutput::Progress { id: 1, done: 1, .. } => push(WorkerInput::Start { id: 2, spec: sweep(5) }),
                WorkerOutput::Done { id: 2, .. } => push(WorkerInput::Start { id: 3, spec: sweep(6) }),
                WorkerOutput::Failed { id: 3, .. } => drop(tx.borrow_mut().take()),
                _ => {}
            }
            out.borrow_mut().push(o);
            true
        }));
        let out = out.into_inner();
        assert!(matches!(out[0], WorkerOutput::Progress { id: 1, .. }), "{:?}", out[0]);
        assert_eq!(out[1], WorkerOutput::Cancelled { id: 1 }, "a newer start replaces the running job");
        assert!(out.iter().any(|o| matches!(o, WorkerOutput::Done { id: 2, result: JobResult::ObserverSweep(_) })));
        assert!(matches!(out.last(), Some(WorkerOutput::Failed { id: 3, message }) if message.contains("never handed")), "{:?}", out.last());
    }
}
