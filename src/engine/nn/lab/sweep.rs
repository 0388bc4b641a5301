//! The bit-width sweep: one FP32 model, then PTQ and QAT at each pair of [`SWEEP_BITS`].

use super::*;

/// The bit widths the sweep compares, weights then activations.
pub const SWEEP_BITS: [(u32, u32); 7] = [(8, 8), (6, 6), (4, 8), (4, 4), (3, 3), (2, 4), (2, 2)];

/// PTQ and QAT test accuracy (of the integer models) at one pair of bit widths.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepPoint {
    pub weight_bits: u32,
    pub act_bits: u32,
    pub ptq: f64,
    pub qat: f64,
}

/// What the sweep found: the FP32 model's accuracy, and PTQ and QAT at each of [`SWEEP_BITS`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub fp32: f64,
    pub points: Vec<SweepPoint>,
}

/// Accuracy against bit width: the FP32 model is trained once, then PTQ and QAT run from it at
/// each pair of [`SWEEP_BITS`] (the config's own bit widths are ignored). One epoch per step.
pub struct LabSweep {
    base: LabRun,
    current: Option<LabRun>,
    next: usize,
    out: SweepReport,
}

impl LabSweep {
    pub fn new(cfg: LabConfig) -> Result<LabSweep, NnError> {
        Ok(LabSweep { base: LabRun::new(cfg)?, current: None, next: 0, out: SweepReport::default() })
    }

    /// Steps in all: FP32's epochs and its hand-over, then per pair PTQ, QAT's epochs and its
    /// conversion.
    pub fn total_steps(&self) -> usize {
        let c = &self.base.cfg;
        c.epochs + 1 + SWEEP_BITS.len() * (c.qat_epochs + 2)
    }

    /// Does the next step; `Some` when the sweep is done.
    pub fn step(&mut self, now: &dyn Fn() -> f64) -> Result<Option<SweepReport>, NnError> {
        if self.base.phase == Phase::Fp32 {
            self.base.step(now)?;
            if self.base.phase == Phase::Ptq {
                self.out.fp32 = self.base.fp32.as_ref().map_or(0.0, |(e, _)| e.accuracy);
            }
            return Ok(None);
        }
        let run = match self.current.as_mut() {
            Some(run) => run,
            None => {
                let (w, a) = SWEEP_BITS[self.next];
                let cfg = LabConfig { weight_bits: w, act_bits: a, ..self.base.cfg.clone() };
                cfg.check()?;
                let base = &self.base;
                self.current.insert(LabRun {
                    cfg,
                    train: base.train.clone(),
                    test: base.test.clone(),
                    phase: Phase::Ptq,
                    epoch: 0,
                    model: base.model.clone(),
                    optimizer: Optimizer::new(base.cfg.optimizer),
                    history: Vec::new(),
                    timings: Timings::default(),
                    fp32: base.fp32.clone(),
                    ptq: None,
                    qat_observers: None,
                    report: None,
                })
            }
        };
        run.step(now)?;
        if let Some(r) = run.report() {
            self.out.points.push(SweepPoint { weight_bits: r.config.weight_bits, act_bits: r.config.act_bits, ptq: r.ptq.integer.accuracy, qat: r.qat.integer.accuracy });
            self.current = None;
            self.next += 1;
            if self.next == SWEEP_BITS.len() {
                return Ok(Some(std::mem::take(&mut self.out)));
            }
        }
        Ok(None)
    }
}
