//! The app's worker: the Explorer's and the Lab's jobs ([`crate::engine::views::jobs`]) on
//! tensors the page hands over.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::{Input, Output, Service, Step};
use crate::engine::nn::lab::Progress as LabProgress;
use crate::engine::tensor::Tensor;
use crate::engine::views::explore::session::{Session, Stage};
use crate::engine::views::jobs::{Job, JobResult, JobSpec, JobStep};

/// Path of the worker's loader shim in the built app (made by trunk's `data-loader-shim`).
pub const WORKER_PATH: &str = "./worker_loader.js";

/// What a step of a job was busy with: the Lab's epoch figures for its live curves, or the
/// Explorer session's stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub lab: Option<LabProgress>,
    pub stage: Option<Stage>,
}

pub type WorkerInput = Input<JobSpec, Tensor>;
pub type WorkerOutput = Output<Detail, JobResult>;

/// The Explorer's session of tensors handed over, serving [`Job`]s.
#[derive(Default)]
pub struct Explore {
    session: Session,
}

impl Service for Explore {
    type Spec = JobSpec;
    type Load = Tensor;
    type Detail = Detail;
    type Result = JobResult;
    type Job = Job;

    fn load(&mut self, key: u64, tensor: Tensor) {
        self.session.load(key, Rc::new(tensor));
    }

    fn start(&mut self, spec: JobSpec) -> Result<Job, String> {
        Job::start(&spec).map_err(|e| e.to_string())
    }

    fn step(&mut self, job: &mut Job) -> Result<Step<Detail, JobResult>, String> {
        Ok(match job.step(&mut self.session, &super::now_ms).map_err(|e| e.to_string())? {
            JobStep::Done(result) => Step::Done(result),
            JobStep::Progress { done, total, lab, stage } => Step::Progress { done, total, detail: Detail { lab, stage } },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        tx.unbounded_send(WorkerInput::Load { key: 5, data: tensor }).unwrap();
        tx.unbounded_send(WorkerInput::Start { id: 1, spec: sweep(5) }).unwrap();
        let tx = RefCell::new(Some(tx));
        let out = RefCell::new(Vec::new());
        futures::executor::block_on(super::super::serve(&mut Explore::default(), rx, |o| {
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
