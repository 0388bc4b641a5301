//! Long computations as resumable state machines: each [`Job::step`] does a bounded slice of work
//! and reports progress, so the worker can stream progress and honour a cancel between steps,
//! and native code can simply run a job to completion.

use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::engine::views::explore::session::{ExploreRequest, Explored, Session, SessionStep, Stage, TensorSource};
use crate::engine::formats::compare::{Comparison, Row};
use crate::engine::formats::spec::Format;
use crate::engine::tensor::Tensor;

use crate::engine::statistics::metrics::measure;
use crate::engine::observer::{fake_quant_mse, finite_min_max, Common, Granularity, ObserverKind, Tails};
use crate::engine::quantizer::qparams::{calculate_qparams, QRange, QScheme};
#[cfg(test)]
use crate::engine::synth::{sample, Dist};

/// The observers an observer sweep compares, with their names.
pub const SWEPT_OBSERVERS: &[(&str, ObserverKind)] = &[
    ("minmax", ObserverKind::MinMax),
    ("moving-average", ObserverKind::MovingAverage { averaging_constant: ObserverKind::DEFAULT_AVERAGING_CONSTANT }),
    ("percentile", ObserverKind::Percentile { percentile: 99.99, tails: Tails::Abs }),
    ("histogram", ObserverKind::Histogram { bins: 2048 }),
    ("entropy", ObserverKind::Entropy { bins: 2048, start_bin: 128 }),
    ("mse", ObserverKind::Mse),
];

/// Points of the MSE-against-clip-ratio curve.
const CURVE_POINTS: usize = 60;

/// What a job is asked to compute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JobSpec {
    /// For a tensor (one batch): the SQNR of every observer of [`SWEPT_OBSERVERS`] at every bit
    /// width in `bits`, and at `curve_bits` the MSE against the clipping ratio with each
    /// observer's choice on it.
    ObserverSweep { source: TensorSource, scheme: QScheme, unsigned: bool, bits: (u32, u32), curve_bits: u32 },
    /// What the Explorer shows for one state of its controls.
    Explore { request: ExploreRequest },
    /// The fake-quantized tensor of an Explorer view, as `.npy` bytes.
    Quantized { request: ExploreRequest },
    /// Every format of [`Format::comparison`] on the Explorer's tensor, one format per step.
    Formats { source: TensorSource },
    /// A Lab experiment: FP32 training, PTQ, QAT, both integer models (one epoch per step).
    Lab { config: crate::engine::nn::lab::LabConfig },
    /// PTQ and QAT accuracy at each pair of bit widths of the Lab's sweep.
    LabSweep { config: crate::engine::nn::lab::LabConfig },
}

/// The result of an observer sweep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ObserverSweep {
    /// Per observer (in [`SWEPT_OBSERVERS`] order): its name and SQNR at each bit width.
    pub sqnr: Vec<(String, Vec<SweepPoint>)>,
    pub curve_bits: u32,
    /// `(t, mse)`: the range `[t·min, t·max]` of the data (symmetric: `±t·max|x|`) and its MSE.
    pub curve: Vec<(f64, f64)>,
    /// Each observer's choice as `(name, t, mse)`, `t` its range over the data's.
    pub choices: Vec<(String, f64, f64)>,
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
    ObserverSweep(ObserverSweep),
    Explored(Box<Explored>),
    /// A `.npy` file; its bytes travel beside the message (see `crate::worker`).
    Npy {
        #[serde(skip)]
        bytes: Vec<u8>,
    },
    Lab(Box<crate::engine::nn::lab::LabReport>),
    LabSweep(crate::engine::nn::lab::SweepReport),
    /// The formats side by side, the Pareto front marked.
    Formats(Vec<Row>),
}

/// What one step of a job produced.
#[derive(Clone, Debug, PartialEq)]
pub enum JobStep {
    /// `done` of `total` steps, with the Lab's epoch figures for its live curves, or what the
    /// Explorer's session was busy with.
    Progress { done: usize, total: usize, lab: Option<crate::engine::nn::lab::Progress>, stage: Option<Stage> },
    Done(JobResult),
}

/// A job in progress.
pub enum Job {
    /// Step `k` of `observers × widths + 1` (the last step draws the curve).
    ObserverSweep { source: TensorSource, tensor: Option<Rc<Tensor>>, scheme: QScheme, unsigned: bool, first: u32, last: u32, curve_bits: u32, k: usize, out: ObserverSweep },
    Explore(Box<ExploreRequest>),
    Quantized(Box<ExploreRequest>),
    /// The tensor once held, and the comparison on it.
    Formats { source: TensorSource, tensor: Option<Rc<Tensor>>, comparison: Option<Box<Comparison>> },
    Lab(Box<crate::engine::nn::lab::LabRun>),
    /// The sweep, and the steps done.
    LabSweep(Box<crate::engine::nn::lab::LabSweep>, usize),
}

/// How long one step of the comparison works, about (ms): it ends with the first format on a
/// slice to end after this.
const STEP_MS: f64 = 30.0;

/// Why a job could not start.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JobError {
    #[error("bit widths must satisfy 2 <= from <= to <= 16, got {0}..={1}")]
    Bits(u32, u32),
    #[error("{0}")]
    Lab(#[from] crate::engine::nn::NnError),
    /// The Explorer's tensor could not be had (bad parameters, never handed over), or its view
    /// cannot be quantized.
    #[error("{0}")]
    Tensor(String),
}

impl Job {
    /// Prepares a job (draws its data). Cheap steps follow.
    pub fn start(spec: &JobSpec) -> Result<Job, JobError> {
        match *spec {
            JobSpec::ObserverSweep { source, scheme, unsigned, bits: (first, last), curve_bits } => {
                if !(2 <= first && first <= last && last <= 16 && (2..=16).contains(&curve_bits)) {
                    return Err(JobError::Bits(first, last));
                }
                let sqnr = SWEPT_OBSERVERS.iter().map(|(name, _)| (name.to_string(), Vec::new())).collect();
                let out = ObserverSweep { sqnr, curve_bits, curve: Vec::new(), choices: Vec::new() };
                Ok(Job::ObserverSweep { source, tensor: None, scheme, unsigned, first, last, curve_bits, k: 0, out })
            }
            JobSpec::Explore { ref request } => Ok(Job::Explore(Box::new(request.clone()))),
            JobSpec::Quantized { ref request } => Ok(Job::Quantized(Box::new(request.clone()))),
            JobSpec::Formats { source } => Ok(Job::Formats { source, tensor: None, comparison: None }),
            JobSpec::Lab { ref config } => Ok(Job::Lab(Box::new(crate::engine::nn::lab::LabRun::new(config.clone())?))),
            JobSpec::LabSweep { ref config } => Ok(Job::LabSweep(Box::new(crate::engine::nn::lab::LabSweep::new(config.clone())?), 0)),
        }
    }

    /// Does one bounded slice of work; `now` is the caller's clock in milliseconds (the Lab
    /// reports how long each phase took). The Explorer's jobs keep their tensor in `session`.
    pub fn step(&mut self, session: &mut Session, now: &dyn Fn() -> f64) -> Result<JobStep, JobError> {
        let explore_step = |s: SessionStep| match s {
            SessionStep::Progress { done, total, stage } => Ok(JobStep::Progress { done, total, lab: None, stage: Some(stage) }),
            SessionStep::Done(e) => Err(e),
        };
        match self {
            Job::Explore(request) => Ok(match explore_step(session.step(request).map_err(JobError::Tensor)?) {
                Ok(progress) => progress,
                Err(e) => JobStep::Done(JobResult::Explored(e)),
            }),
            Job::Quantized(request) => {
                let e = match explore_step(session.step(request).map_err(JobError::Tensor)?) {
                    Ok(progress) => return Ok(progress),
                    Err(e) => e,
                };
                let view = e.view.map_err(JobError::Tensor)?;
                let t = session.tensor(&request.source).ok_or_else(|| JobError::Tensor("the tensor went away".into()))?;
                let bytes = crate::engine::views::export::fake_quantized_npy(&t.data, &t.shape, &request.settings, &view.qparams, view.range).map_err(|e| JobError::Tensor(e.to_string()))?;
                Ok(JobStep::Done(JobResult::Npy { bytes }))
            }
            Job::Formats { source, tensor, comparison } => {
                if tensor.is_none() {
                    if let Some((drawn, of)) = session.hold(source).map_err(JobError::Tensor)? {
                        return Ok(JobStep::Progress { done: 0, total: 1, lab: None, stage: Some(Stage::Drawing { drawn, of }) });
                    }
                    *tensor = session.tensor(source);
                }
                let t = tensor.as_ref().expect("held just above");
                // A step ends once STEP_MS have passed, after a format on a slice (a K-quant on
                // a slice takes about a millisecond: a cancel waits for no more).
                let c = comparison.get_or_insert_with(|| Box::new(Comparison::new(&Format::comparison(), &t.data, &t.shape)));
                let start = now();
                c.step(&t.data);
                while !c.finished() && now() - start < STEP_MS {
                    c.step(&t.data);
                }
                if !c.finished() {
                    return Ok(JobStep::Progress { done: c.done(), total: c.total(), lab: None, stage: Some(Stage::Comparing { formats: Format::comparison().len() }) });
                }
                let c = comparison.take().expect("just above");
                Ok(JobStep::Done(JobResult::Formats(c.rows())))
            }
            Job::LabSweep(sweep, done) => {
                let result = sweep.step(now)?;
                *done += 1;
                Ok(match result {
                    Some(r) => JobStep::Done(JobResult::LabSweep(r)),
                    None => JobStep::Progress { done: *done, total: sweep.total_steps(), lab: None, stage: None },
                })
            }
            Job::Lab(lab) => {
                let p = lab.step(now)?;
                Ok(match lab.report() {
                    Some(r) => JobStep::Done(JobResult::Lab(Box::new(r.clone()))),
                    None => JobStep::Progress { done: (p.fraction * 1000.0).round() as usize, total: 1000, lab: Some(p), stage: None },
                })
            }
            Job::ObserverSweep { source, tensor, scheme, unsigned, first, last, curve_bits, k, out } => {
                if tensor.is_none() {
                    if let Some((drawn, of)) = session.hold(source).map_err(JobError::Tensor)? {
                        return Ok(JobStep::Progress { done: 0, total: 1, lab: None, stage: Some(Stage::Drawing { drawn, of }) });
                    }
                    *tensor = session.tensor(source);
                }
                let xs = &tensor.as_ref().expect("held just above").data;
                let widths = (*last - *first + 1) as usize;
                let total = SWEPT_OBSERVERS.len() * widths + 1;
                if *k + 1 < total {
                    let (o, b) = (*k / widths, *first + (*k % widths) as u32);
                    let sqnr = QRange::with_bits(b, *unsigned).ok().and_then(|range| observe_and_measure(xs, SWEPT_OBSERVERS[o].1, *scheme, range).map(|(_, m)| m));
                    out.sqnr[o].1.push(SweepPoint { bits: b, sqnr_db: sqnr.flatten() });
                } else if let Ok(range) = QRange::with_bits(*curve_bits, *unsigned) {
                    let (curve, choices) = clip_curve(xs, *scheme, range);
                    out.curve = curve;
                    out.choices = choices;
                }
                *k += 1;
                Ok(if *k >= total {
                    JobStep::Done(JobResult::ObserverSweep(std::mem::take(out)))
                } else {
                    JobStep::Progress { done: *k, total, lab: None, stage: None }
                })
            }
        }
    }

    /// Runs the job to the end (native callers and tests).
    pub fn run(mut self, session: &mut Session) -> Result<JobResult, JobError> {
        loop {
            if let JobStep::Done(r) = self.step(session, &|| 0.0)? {
                return Ok(r);
            }
        }
    }
}

/// Observes `xs` as one batch and measures: the chosen `(min, max)` and the SQNR.
fn observe_and_measure(xs: &[f32], kind: ObserverKind, scheme: QScheme, range: QRange) -> Option<((f32, f32), Option<f64>)> {
    let mut o = kind.build(Common { scheme, range }, Granularity::PerTensor).ok()?;
    o.observe(xs, &[xs.len()]).ok()?;
    let r = o.ranges();
    let p = o.qparams()[0];
    Some(((r.min[0], r.max[0]), measure(xs, p, range).sqnr_db))
}

/// The curve's points `(t, mse)`, and each observer's name with its `(t, mse)`.
type ClipCurve = (Vec<(f64, f64)>, Vec<(String, f64, f64)>);

/// The MSE against the clip ratio `t` (the range `[t·min, t·max]`, or `±t·max|x|` symmetric),
/// and each observer's choice placed on it.
fn clip_curve(xs: &[f32], scheme: QScheme, range: QRange) -> ClipCurve {
    let (lo, hi, _) = finite_min_max(xs);
    // No finite value: (+∞, −∞).
    if lo > hi {
        return (Vec::new(), Vec::new());
    }
    let finite: Vec<f32> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    let absmax = lo.abs().max(hi.abs());
    let at = |t: f64| {
        let t = t as f32;
        let (a, b) = if scheme == QScheme::Symmetric { (-t * absmax, t * absmax) } else { (t * lo, t * hi) };
        fake_quant_mse(&finite, calculate_qparams(a, b, scheme, range), range)
    };
    let curve = (1..=CURVE_POINTS).map(|i| i as f64 / CURVE_POINTS as f64).map(|t| (t, at(t))).collect();
    let choices = SWEPT_OBSERVERS
        .iter()
        .filter_map(|(name, kind)| {
            let ((a, b), _) = observe_and_measure(xs, *kind, scheme, range)?;
            let t = if scheme == QScheme::Symmetric {
                (a.abs().max(b.abs()) / absmax.max(f32::MIN_POSITIVE)) as f64
            } else {
                ((b as f64 - a as f64) / (hi as f64 - lo as f64).max(f64::MIN_POSITIVE)).min(1.0)
            };
            let p = calculate_qparams(a, b, scheme, range);
            Some((name.to_string(), t, fake_quant_mse(&finite, p, range)))
        })
        .collect();
    (curve, choices)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::compare::compare_one;

    /// A session holding `data` (as one row), and its source.
    fn holding(data: Vec<f32>) -> (Session, TensorSource) {
        let mut s = Session::default();
        s.load(1, Rc::new(Tensor { name: "t".into(), shape: vec![data.len()], data, stored_as: "f32".into() }));
        (s, TensorSource::Loaded { key: 1 })
    }

    fn run_to_end(data: Vec<f32>, spec: impl Fn(TensorSource) -> JobSpec) -> ObserverSweep {
        let (mut session, source) = holding(data);
        match Job::start(&spec(source)).unwrap().run(&mut session).unwrap() {
            JobResult::ObserverSweep(r) => r,
            _ => panic!("a sweep gives a sweep"),
        }
    }

    #[test]
    fn min_max_follows_six_db_per_bit() {
        let data = sample(Dist::Uniform { lo: -1.0, hi: 1.0 }, 100_000, 1, None).unwrap();
        let r = run_to_end(data, |source| JobSpec::ObserverSweep { source, scheme: QScheme::Affine, unsigned: true, bits: (8, 14), curve_bits: 8 });
        let points = &r.sqnr[0].1;
        assert_eq!(r.sqnr[0].0, "minmax");
        assert_eq!(points.iter().map(|p| p.bits).collect::<Vec<_>>(), (8..=14).collect::<Vec<_>>());
        // Full-scale uniform data: SQNR = 20·log10(2^b − 1) ≈ 6.02·b dB; each extra bit adds ≈ 6.02 dB.
        for w in points.windows(2) {
            let gain = w[1].sqnr_db.unwrap() - w[0].sqnr_db.unwrap();
            assert!((gain - 6.02).abs() < 0.05, "{w:?}");
        }
        let eight = points[0].sqnr_db.unwrap();
        assert!((eight - 48.1).abs() < 0.2, "{eight}");
    }

    #[test]
    fn progress_then_done_and_bad_specs() {
        let (mut session, source) = holding(vec![1.0, -2.0, 0.5]);
        let spec = JobSpec::ObserverSweep { source, scheme: QScheme::Symmetric, unsigned: false, bits: (2, 3), curve_bits: 2 };
        let mut job = Job::start(&spec).unwrap();
        let total = SWEPT_OBSERVERS.len() * 2 + 1;
        let clock = || 0.0;
        assert_eq!(job.step(&mut session, &clock), Ok(JobStep::Progress { done: 1, total, lab: None, stage: None }));
        let steps = std::iter::from_fn(|| job.step(&mut session, &clock).ok()).take_while(|s| !matches!(s, JobStep::Done(_))).count();
        assert_eq!(steps, total - 2, "progress after every step but the last");
        let with = |bits: (u32, u32), curve_bits| JobSpec::ObserverSweep { source, scheme: QScheme::Affine, unsigned: true, bits, curve_bits };
        assert_eq!(Job::start(&with((1, 8), 4)).err(), Some(JobError::Bits(1, 8)));
        assert_eq!(Job::start(&with((9, 8), 4)).err(), Some(JobError::Bits(9, 8)));
        assert!(Job::start(&with((2, 8), 17)).is_err(), "the curve's bit width is checked too");
        // An empty tensor sweeps without a signal: no SQNR, no curve, no panic.
        let empty = run_to_end(vec![], |source| JobSpec::ObserverSweep { source, scheme: QScheme::Affine, unsigned: true, bits: (2, 2), curve_bits: 2 });
        // A source the worker never had fails with a message.
        let never = JobSpec::ObserverSweep { source: TensorSource::Loaded { key: 99 }, scheme: QScheme::Affine, unsigned: true, bits: (2, 2), curve_bits: 2 };
        assert!(matches!(Job::start(&never).unwrap().run(&mut session), Err(JobError::Tensor(_))));
        assert!(empty.sqnr.iter().all(|(_, p)| p[0].sqnr_db.is_none()));
        assert!(empty.curve.is_empty());
    }

    /// On a layer of two million values, with a clock past the step's time at every look, a
    /// step makes one format on one slice: the progress counts every format on every slice (a
    /// cancel waits for one), and the rows are each format's alone, bit for bit.
    #[test]
    fn the_formats_job_makes_a_format_on_a_slice_a_step_when_time_is_up() {
        let (rows_n, cols) = (2048, 1024);
        let data = sample(Dist::Laplace { loc: 0.0, b: 1.0 }, rows_n * cols, 6, None).unwrap();
        let mut session = Session::default();
        session.load(1, Rc::new(Tensor { name: "w".into(), shape: vec![rows_n, cols], data: data.clone(), stored_as: "f32".into() }));
        let mut job = Job::start(&JobSpec::Formats { source: TensorSource::Loaded { key: 1 } }).unwrap();
        let clock = std::cell::Cell::new(0.0);
        let tick = || {
            clock.set(clock.get() + STEP_MS);
            clock.get()
        };
        let formats = Format::comparison();
        let total = Comparison::new(&formats, &data, &[rows_n, cols]).total();
        assert!(total >= 8 * formats.len(), "{total} steps");
        let mut steps = 0;
        let rows = loop {
            match job.step(&mut session, &tick).unwrap() {
                JobStep::Progress { done, total: of, stage, .. } => {
                    steps += 1;
                    assert_eq!((done, of, stage), (steps, total, Some(Stage::Comparing { formats: formats.len() })));
                }
                JobStep::Done(JobResult::Formats(rows)) => break rows,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(steps + 1, total, "a step a format on a slice");
        let mut expect: Vec<Row> = formats.iter().map(|&f| compare_one(f, &data, &[rows_n, cols])).collect();
        crate::engine::formats::compare::mark_pareto(&mut expect);
        assert_eq!(format!("{rows:?}"), format!("{expect:?}"));
    }

    /// With time to spare, a small layer's comparison is one step: each format's row alone.
    #[test]
    fn the_formats_job_on_a_small_layer_is_one_step() {
        let data = sample(Dist::Laplace { loc: 0.0, b: 1.0 }, 4096, 5, None).unwrap();
        let (mut session, source) = holding(data.clone());
        let mut job = Job::start(&JobSpec::Formats { source }).unwrap();
        let Ok(JobStep::Done(JobResult::Formats(rows))) = job.step(&mut session, &|| 0.0) else { panic!("one step") };
        let mut expect: Vec<Row> = Format::comparison().iter().map(|&f| compare_one(f, &data, &[4096])).collect();
        crate::engine::formats::compare::mark_pareto(&mut expect);
        // NaN bits per weight (formats that do not fit) compare unequal: compare the debug text.
        assert_eq!(format!("{rows:?}"), format!("{expect:?}"));
        assert!(rows.iter().any(|r| r.pareto));
    }

    #[test]
    fn observer_sweep_compares_every_observer() {
        let data = sample(Dist::Laplace { loc: 0.0, b: 1.0 }, 20_000, 3, None).unwrap();
        let (mut session, source) = holding(data);
        let spec = JobSpec::ObserverSweep { source, scheme: QScheme::Symmetric, unsigned: false, bits: (3, 8), curve_bits: 4 };
        let mut job = Job::start(&spec).unwrap();
        let clock = || 0.0;
        assert_eq!(job.step(&mut session, &clock), Ok(JobStep::Progress { done: 1, total: 6 * 6 + 1, lab: None, stage: None }));
        let mut job_result = None;
        for _ in 0..100 {
            if let Ok(JobStep::Done(r)) = job.step(&mut session, &clock) {
                job_result = Some(r);
                break;
            }
        }
        let Some(JobResult::ObserverSweep(r)) = job_result else { panic!("the sweep should finish") };
        assert_eq!(r.sqnr.len(), SWEPT_OBSERVERS.len());
        assert!(r.sqnr.iter().all(|(_, pts)| pts.len() == 6));
        let at = |name: &str, bits: u32| r.sqnr.iter().find(|(n, _)| n == name).unwrap().1.iter().find(|p| p.bits == bits).unwrap().sqnr_db.unwrap();
        // Heavy tails at 4 bits: the MSE observer beats min/max clearly.
        assert!(at("mse", 4) > at("minmax", 4) + 2.0, "{} vs {}", at("mse", 4), at("minmax", 4));
        // The curve has a minimum inside (0, 1), and the MSE observer's choice sits near it.
        let (t_best, m_best) = r.curve.iter().copied().fold((1.0, f64::INFINITY), |b, p| if p.1 < b.1 { p } else { b });
        assert!(t_best < 0.9, "{t_best}");
        let mse_choice = r.choices.iter().find(|c| c.0 == "mse").unwrap();
        assert!(mse_choice.2 <= m_best * 1.02, "{mse_choice:?} vs best of the curve {m_best}");
        let minmax = r.choices.iter().find(|c| c.0 == "minmax").unwrap();
        assert!((minmax.1 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn a_lab_job_reports_each_epoch_then_the_report() {
        use crate::engine::nn::data::Synthetic2d;
        use crate::engine::nn::lab::{DatasetSpec, LabConfig, Phase};
        let config = LabConfig { dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Blobs, n: 120, noise: 0.1 }, hidden: vec![8], epochs: 2, qat_epochs: 1, ..LabConfig::default() };
        let mut job = Job::start(&JobSpec::Lab { config: config.clone() }).unwrap();
        let clock = || 0.0;
        let mut phases = Vec::new();
        let report = loop {
            match job.step(&mut Session::default(), &clock).unwrap() {
                JobStep::Progress { lab: Some(p), done, total, .. } => {
                    assert!(done <= total);
                    phases.push(p.phase);
                }
                JobStep::Progress { lab: None, .. } => panic!("a Lab job tells its epochs"),
                JobStep::Done(JobResult::Lab(r)) => break r,
                JobStep::Done(_) => panic!("a Lab job gives a Lab report"),
            }
        };
        assert_eq!(phases, [Phase::Fp32, Phase::Fp32, Phase::Ptq, Phase::Qat, Phase::Qat]);
        assert_eq!(report.config, config);
        assert!(matches!(Job::start(&JobSpec::Lab { config: LabConfig { weight_bits: 9, ..config } }), Err(JobError::Lab(_))));
    }
}
