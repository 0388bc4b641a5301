//! Long computations as resumable state machines: each [`Job::step`] does a bounded slice of work
//! and reports progress, so the worker can stream progress and honour a cancel between steps,
//! and native code can simply run a job to completion.

use serde::{Deserialize, Serialize};

use super::analysis::{analyze, default_range};
use super::qparams::QScheme;
use super::synth::{sample, Dist, SynthError};

/// What a job is asked to compute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobSpec {
    /// SQNR of min/max fake-quantization of a synthetic tensor at every bit width in `bits`.
    BitSweep { dist: Dist, n: usize, seed: u64, scheme: QScheme, bits: (u32, u32) },
}

/// One point of a bit-width sweep.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub bits: u32,
    /// `None` when the tensor has no signal (all zeros) or no finite value.
    pub sqnr_db: Option<f64>,
}

/// The result of a finished job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobResult {
    BitSweep(Vec<SweepPoint>),
}

/// What one step of a job produced.
#[derive(Clone, Debug, PartialEq)]
pub enum JobStep {
    Progress { done: usize, total: usize },
    Done(JobResult),
}

/// A job in progress.
pub enum Job {
    BitSweep { xs: Vec<f32>, scheme: QScheme, next: u32, last: u32, first: u32, out: Vec<SweepPoint> },
}

/// Why a job could not start.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JobError {
    #[error(transparent)]
    Synth(#[from] SynthError),
    #[error("bit widths must satisfy 2 <= from <= to <= 16, got {0}..={1}")]
    Bits(u32, u32),
}

impl Job {
    /// Prepares a job (draws its data). Cheap steps follow.
    pub fn start(spec: &JobSpec) -> Result<Job, JobError> {
        match *spec {
            JobSpec::BitSweep { dist, n, seed, scheme, bits: (first, last) } => {
                if !(2 <= first && first <= last && last <= 16) {
                    return Err(JobError::Bits(first, last));
                }
                let xs = sample(dist, n, seed, None)?;
                Ok(Job::BitSweep { xs, scheme, next: first, last, first, out: Vec::new() })
            }
        }
    }

    /// Does one bounded slice of work.
    pub fn step(&mut self) -> JobStep {
        match self {
            Job::BitSweep { xs, scheme, next, last, first, out } => {
                if let Some(range) = default_range(*scheme, *next).ok().filter(|_| *next <= *last) {
                    out.push(SweepPoint { bits: *next, sqnr_db: analyze(xs, *scheme, range).metrics.sqnr_db });
                    *next += 1;
                }
                let total = (*last - *first + 1) as usize;
                if out.len() == total {
                    JobStep::Done(JobResult::BitSweep(std::mem::take(out)))
                } else {
                    JobStep::Progress { done: out.len(), total }
                }
            }
        }
    }

    /// Runs the job to the end (native callers and tests).
    pub fn run(mut self) -> JobResult {
        loop {
            if let JobStep::Done(r) = self.step() {
                return r;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_sweep_follows_six_db_per_bit() {
        let spec = JobSpec::BitSweep {
            dist: Dist::Uniform { lo: -1.0, hi: 1.0 },
            n: 100_000,
            seed: 1,
            scheme: QScheme::Affine,
            bits: (8, 14),
        };
        let JobResult::BitSweep(points) = Job::start(&spec).unwrap().run();
        assert_eq!(points.iter().map(|p| p.bits).collect::<Vec<_>>(), (8..=14).collect::<Vec<_>>());
        // Full-scale uniform data: SQNR ≈ 6.02·b dB; each extra bit adds ≈ 6.02 dB. (Below ~8 bits
        // the zero-point nudge that makes 0.0 exact clips up to half a step and bends the line.)
        for w in points.windows(2) {
            let gain = w[1].sqnr_db.unwrap() - w[0].sqnr_db.unwrap();
            assert!((gain - 6.02).abs() < 0.05, "{w:?}");
        }
        let eight = points.iter().find(|p| p.bits == 8).unwrap().sqnr_db.unwrap();
        assert!((eight - 48.1).abs() < 0.2, "{eight}");
    }

    #[test]
    fn progress_then_done_and_bad_specs() {
        let spec = JobSpec::BitSweep {
            dist: Dist::Normal { mean: 0.0, std: 1.0 },
            n: 10,
            seed: 0,
            scheme: QScheme::Symmetric,
            bits: (2, 3),
        };
        let mut job = Job::start(&spec).unwrap();
        assert_eq!(job.step(), JobStep::Progress { done: 1, total: 2 });
        assert!(matches!(job.step(), JobStep::Done(JobResult::BitSweep(p)) if p.len() == 2));
        let with = |dist: Dist, bits: (u32, u32)| JobSpec::BitSweep { dist, n: 10, seed: 0, scheme: QScheme::Affine, bits };
        let normal = Dist::Normal { mean: 0.0, std: 1.0 };
        assert_eq!(Job::start(&with(normal, (1, 8))).err(), Some(JobError::Bits(1, 8)));
        assert_eq!(Job::start(&with(normal, (9, 8))).err(), Some(JobError::Bits(9, 8)));
        assert!(matches!(Job::start(&with(Dist::Normal { mean: 0.0, std: f32::NAN }, (2, 8))), Err(JobError::Synth(_))));
    }
}
