//! The worker: runs the engine's long [`Job`]s off the main thread.
//!
//! The page sends [`WorkerInput`]s over a yew-agent reactor bridge; the worker answers with a
//! stream of [`WorkerOutput`]s. Between two job steps the worker yields to its event loop, so a
//! `Cancel` (or a newer `Start`, which replaces the running job) is seen within one step.

use futures::{FutureExt, SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use yew_agent::reactor::{reactor, ReactorScope};

use crate::engine::jobs::{Job, JobResult, JobSpec, JobStep};

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
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum WorkerOutput {
    Progress { id: u64, done: usize, total: usize, lab: Option<crate::engine::nn::lab::Progress> },
    Paused { id: u64 },
    Done { id: u64, result: JobResult },
    Failed { id: u64, message: String },
    Cancelled { id: u64 },
}

/// The reactor registered by `src/bin/worker.rs`.
#[reactor(JobReactor)]
pub async fn job_reactor(mut scope: ReactorScope<WorkerInput, WorkerOutput>) {
    let mut next = scope.next().await;
    while let Some(input) = next.take() {
        let WorkerInput::Start { id, spec } = input else {
            next = scope.next().await; // a Cancel for a job that is not running
            continue;
        };
        let mut job = match Job::start(&spec) {
            Ok(job) => job,
            Err(e) => {
                if scope.send(WorkerOutput::Failed { id, message: e.to_string() }).await.is_err() {
                    return;
                }
                next = scope.next().await;
                continue;
            }
        };
        loop {
            let out = match job.step(&now_ms) {
                Ok(JobStep::Done(result)) => WorkerOutput::Done { id, result },
                Ok(JobStep::Progress { done, total, lab }) => WorkerOutput::Progress { id, done, total, lab },
                Err(e) => WorkerOutput::Failed { id, message: e.to_string() },
            };
            let finished = matches!(out, WorkerOutput::Done { .. } | WorkerOutput::Failed { .. });
            if scope.send(out).await.is_err() {
                return; // the page went away
            }
            if finished {
                next = scope.next().await;
                break;
            }
            yield_to_event_loop().await;
            let mut input = scope.next().now_or_never();
            // Paused: wait for what comes next, holding the job.
            while let Some(Some(WorkerInput::Pause { id: p })) = input {
                if p == id && scope.send(WorkerOutput::Paused { id }).await.is_err() {
                    return;
                }
                input = if p == id { Some(scope.next().await) } else { scope.next().now_or_never() };
            }
            match input {
                None => {}                  // nothing new: keep going
                Some(None) => return,       // bridge closed
                Some(Some(WorkerInput::Resume { .. } | WorkerInput::Pause { .. })) => {}
                Some(Some(WorkerInput::Cancel { id: c })) if c == id => {
                    if scope.send(WorkerOutput::Cancelled { id }).await.is_err() {
                        return;
                    }
                    next = scope.next().await;
                    break;
                }
                Some(Some(WorkerInput::Cancel { .. })) => {}
                Some(Some(start)) => {
                    let _ = scope.send(WorkerOutput::Cancelled { id }).await;
                    next = Some(start);
                    break;
                }
            }
        }
    }
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

/// Lets the worker's message handler run (a `setTimeout(0)` turn), so inputs reach the scope.
async fn yield_to_event_loop() {
    #[cfg(target_arch = "wasm32")]
    gloo::timers::future::TimeoutFuture::new(0).await;
}
