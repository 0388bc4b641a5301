//! The workers: run the engine's long jobs off the main thread.
//!
//! The page sends [`Input`]s and a worker answers with a stream of [`Output`]s, both through
//! [`wire`], which moves bulk data (a tensor or a file handed over, a `.npy` handed back) as
//! transferred buffers rather than through the message encoding. Between two job steps the
//! worker yields to its event loop, so a `Cancel` (or a newer `Start`, which replaces the
//! running job) is seen within one step.
//!
//! Two workers speak this protocol, each a [`Service`]: [`explore`] (the Explorer's and the Lab's
//! jobs, spawned with the app) and [`model`] (real ONNX models with tract, a module of its own
//! fetched only when a model is opened, so that neither the app's first load nor the Lab's worker
//! carries tract).

pub mod explore;
pub mod model;
pub mod wire;

use futures::{FutureExt, Stream, StreamExt};
use serde::{Deserialize, Serialize};

pub use explore::{WorkerInput, WorkerOutput, WORKER_PATH};

/// What the page sends a worker: jobs of spec `S` and data `L` handed over for them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input<S, L> {
    /// Start job `id`, replacing any job still running.
    Start { id: u64, spec: S },
    /// Stop job `id` if it is still running.
    Cancel { id: u64 },
    /// Hold job `id` after its current step, until `Resume` (or `Cancel`).
    Pause { id: u64 },
    Resume { id: u64 },
    /// Keep this for jobs that name `key` (its bulk travels as a transferred buffer).
    Load { key: u64, data: L },
    /// Let go of what was handed over as `keys` (a file the user replaced).
    Forget { keys: Vec<u64> },
}

/// What a worker answers: progress with detail `P`, results `R`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Output<P, R> {
    /// The worker has started and takes inputs.
    Ready,
    Progress { id: u64, done: usize, total: usize, detail: P },
    Paused { id: u64 },
    Done { id: u64, result: R },
    Failed { id: u64, message: String },
    Cancelled { id: u64 },
}

/// One step of a job: progress, or its result.
pub enum Step<P, R> {
    Progress { done: usize, total: usize, detail: P },
    Done(R),
}

/// A worker's state and jobs.
pub trait Service {
    type Spec;
    type Load;
    type Detail;
    type Result;
    type Job;
    /// Keeps data handed over.
    fn load(&mut self, key: u64, data: Self::Load);
    /// Lets go of data handed over (nothing to do for a service that keeps none for long).
    fn forget(&mut self, _key: u64) {}
    /// Prepares a job (cheap steps follow).
    fn start(&mut self, spec: Self::Spec) -> Result<Self::Job, String>;
    /// Does one bounded slice of `job`.
    fn step(&mut self, job: &mut Self::Job) -> Result<Step<Self::Detail, Self::Result>, String>;
}

/// Runs jobs from `inputs` until the page goes away, sending what they produce with `send`
/// (which returns `false` once nobody listens).
pub async fn serve<Svc: Service>(
    service: &mut Svc,
    mut inputs: impl Stream<Item = Input<Svc::Spec, Svc::Load>> + Unpin,
    send: impl Fn(Output<Svc::Detail, Svc::Result>) -> bool,
) {
    let mut next = inputs.next().await;
    while let Some(input) = next.take() {
        let (id, spec) = match input {
            Input::Start { id, spec } => (id, spec),
            Input::Load { key, data } => {
                service.load(key, data);
                next = inputs.next().await;
                continue;
            }
            Input::Forget { keys } => {
                keys.into_iter().for_each(|k| service.forget(k));
                next = inputs.next().await;
                continue;
            }
            _ => {
                next = inputs.next().await; // a Cancel for a job that is not running
                continue;
            }
        };
        let mut job = match service.start(spec) {
            Ok(job) => job,
            Err(message) => {
                if !send(Output::Failed { id, message }) {
                    return;
                }
                next = inputs.next().await;
                continue;
            }
        };
        loop {
            let out = match service.step(&mut job) {
                Ok(Step::Done(result)) => Output::Done { id, result },
                Ok(Step::Progress { done, total, detail }) => Output::Progress { id, done, total, detail },
                Err(message) => Output::Failed { id, message },
            };
            let finished = matches!(out, Output::Done { .. } | Output::Failed { .. });
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
                    Some(Some(Input::Pause { id: p })) => {
                        if p == id && !send(Output::Paused { id }) {
                            return;
                        }
                        input = if p == id { Some(inputs.next().await) } else { inputs.next().now_or_never() };
                    }
                    // Data handed over while a job runs: keep it and look again.
                    Some(Some(Input::Load { key, data })) => {
                        service.load(key, data);
                        input = inputs.next().now_or_never();
                    }
                    // The running job may still need what is forgotten: it keeps its own copy of
                    // the data it has made ready; a file it has yet to read fails it, by name.
                    Some(Some(Input::Forget { keys })) => {
                        keys.into_iter().for_each(|k| service.forget(k));
                        input = inputs.next().now_or_never();
                    }
                    _ => break,
                }
            }
            match input {
                None => {}            // nothing new: keep going
                Some(None) => return, // the page went away
                Some(Some(Input::Resume { .. } | Input::Pause { .. } | Input::Load { .. } | Input::Forget { .. })) => {}
                Some(Some(Input::Cancel { id: c })) if c == id => {
                    if !send(Output::Cancelled { id }) {
                        return;
                    }
                    next = inputs.next().await;
                    break;
                }
                Some(Some(Input::Cancel { .. })) => {}
                Some(Some(start)) => {
                    let _ = send(Output::Cancelled { id });
                    next = Some(start);
                    break;
                }
            }
        }
    }
}

/// A worker's entry point (`src/bin/`): takes the page's messages and serves them with `service`.
#[cfg(target_arch = "wasm32")]
pub fn start<Svc>(mut service: Svc)
where
    Svc: Service + 'static,
    Input<Svc::Spec, Svc::Load>: wire::Carries + serde::de::DeserializeOwned + 'static,
    Output<Svc::Detail, Svc::Result>: wire::Carries + Serialize,
{
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Input<Svc::Spec, Svc::Load>>();
    let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| match wire::receive::<Input<Svc::Spec, Svc::Load>>(&e.data()) {
        Ok(input) => {
            let _ = tx.unbounded_send(input);
        }
        Err(err) => gloo::console::error!(format!("QuantScope worker: {err}")),
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let post = scope.clone();
    wasm_bindgen_futures::spawn_local(async move { serve(&mut service, rx, move |out| wire::post(&post, out).is_ok()).await });
    let _ = wire::post(&scope, Output::<Svc::Detail, Svc::Result>::Ready);
}

/// The worker's clock in milliseconds (the Lab times its phases with it).
pub(crate) fn now_ms() -> f64 {
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
