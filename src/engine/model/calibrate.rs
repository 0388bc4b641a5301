//! Calibration of a real model: one observer per activation, fed the model's own values batch
//! by batch, as onnxruntime's calibrators and PyTorch's `prepare` → run → `convert` do. The
//! observers sit inside tract's graph ([`super::tap`]), so a calibration run costs little more
//! than a plain one.

use std::sync::{Arc, Mutex, MutexGuard};

use super::feed::Runners;
pub use super::report::{ActivationRange, CalibrationSettings as Settings, PerTensorOrChannel};
use super::runner::{Activation, Capture, Outputs, Runner};
use super::tap::Sink;
use super::ModelError;
use crate::engine::tensor::Tensor;

/// Observers on every activation of a model, fed by its runners' taps.
pub struct Calibration {
    sink: Arc<Mutex<Sink>>,
    activations: Vec<Activation>,
    batches: usize,
}

impl Calibration {
    /// Checks that the settings work (an observer that works per tensor only cannot be asked for
    /// per-channel ranges) and makes an empty calibration.
    pub fn new(settings: &Settings) -> Result<Calibration, String> {
        let granularity =
            if settings.per_channel { crate::engine::observer::Granularity::PerChannel { axis: 1 } } else { crate::engine::observer::Granularity::PerTensor };
        settings.observer.build(settings.common, granularity).map_err(|e| e.to_string())?;
        Ok(Calibration { sink: Arc::new(Mutex::new(Sink::new(*settings))), activations: Vec::new(), batches: 0 })
    }

    /// Runners whose taps feed this calibration.
    pub fn runners(&self) -> Runners {
        Runners::with_capture(Capture::Taps(self.sink.clone()))
    }

    fn sink(&self) -> MutexGuard<'_, Sink> {
        self.sink.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one batch through `runner` (one of [`Calibration::runners`]): its activations go to
    /// the observers; the model's outputs are returned.
    pub fn run(&mut self, runner: &Runner, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
        if self.activations.is_empty() {
            self.activations = runner.activations.clone();
        } else if runner.activations.iter().map(|a| &a.name).ne(self.activations.iter().map(|a| &a.name)) {
            return Err(ModelError::file(runner.file(), "a batch of another shape gives other activations"));
        }
        let out = runner.run(inputs)?;
        if let Some(e) = self.sink().error.take() {
            return Err(ModelError::file(runner.file(), e));
        }
        self.batches += 1;
        Ok(out)
    }

    /// Batches seen so far.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// The range, scale and zero point of every activation, in graph order.
    pub fn ranges(&self) -> Vec<ActivationRange> {
        let sink = self.sink();
        self.activations
            .iter()
            .enumerate()
            .filter_map(|(slot, a)| {
                let obs = sink.observers.get(slot)?.as_ref()?;
                let axis = sink.axes[slot];
                let r = obs.ranges();
                let q = obs.qparams();
                let min_val = r.min.iter().copied().fold(f32::INFINITY, f32::min);
                let max_val = r.max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let (scale, zero_point, ratio) = match axis {
                    None => (PerTensorOrChannel::Tensor(q[0].scale), PerTensorOrChannel::Tensor(q[0].zero_point), None),
                    Some(_) => {
                        let widths: Vec<f32> = r.min.iter().zip(&r.max).map(|(lo, hi)| hi - lo).collect();
                        let widest = widths.iter().copied().fold(0.0, f32::max);
                        let narrowest = widths.iter().copied().fold(f32::INFINITY, f32::min);
                        let ratio = (narrowest > 0.0 && narrowest.is_finite()).then(|| widest / narrowest);
                        (
                            PerTensorOrChannel::Channel(q.iter().map(|p| p.scale).collect()),
                            PerTensorOrChannel::Channel(q.iter().map(|p| p.zero_point).collect()),
                            ratio,
                        )
                    }
                };
                Some(ActivationRange {
                    name: a.name.clone(),
                    node: a.node.clone(),
                    op: a.op.clone(),
                    shape: a.shape.clone(),
                    min_val,
                    max_val,
                    abs_max: sink.abs_max[slot],
                    ch_axis: axis,
                    scale,
                    zero_point,
                    channel_range_ratio: ratio,
                    non_finite: obs.non_finite(),
                })
            })
            .collect()
    }
}
