//! Calibration of a real model: one observer per activation, fed the model's own values batch
//! by batch, as onnxruntime's calibrators and PyTorch's `prepare` → run → `convert` do.

use serde::Serialize;

use super::runner::{Activation, Outputs};
use crate::engine::observer::{finite_min_max, Common, Granularity, Observer, ObserverKind};

/// How activations are calibrated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub observer: ObserverKind,
    pub common: Common,
    /// Per channel means along axis 1 (NCHW's channels, a Gemm output's features) for
    /// activations of rank 2 or more; lower ranks stay per tensor.
    pub per_channel: bool,
}

/// One value or one per channel, as the JSON report writes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerTensorOrChannel<T> {
    Tensor(T),
    Channel(Vec<T>),
}

/// What calibration found for one activation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivationRange {
    /// The ONNX name of the value.
    pub name: String,
    pub node: String,
    pub op: String,
    pub shape: Vec<usize>,
    /// The range the observer chose (per channel: the widest channel's ends).
    pub min_val: f32,
    pub max_val: f32,
    /// The largest |x| seen.
    pub abs_max: f32,
    /// The channel axis when calibrated per channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ch_axis: Option<usize>,
    pub scale: PerTensorOrChannel<f32>,
    pub zero_point: PerTensorOrChannel<i32>,
    /// The widest channel range over the narrowest (per channel only; `None` if one is zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_range_ratio: Option<f32>,
    /// NaN and infinite values seen (never part of a range).
    pub non_finite: usize,
}

/// Observers on every activation of a capturing [`super::Runner`].
pub struct Calibration {
    activations: Vec<Activation>,
    observers: Vec<Box<dyn Observer>>,
    axes: Vec<Option<usize>>,
    abs_max: Vec<f32>,
    batches: usize,
}

impl Calibration {
    /// Observers for `activations`, or why the settings do not work (an observer that works
    /// per tensor only, asked for per-channel ranges).
    pub fn new(activations: &[Activation], settings: &Settings) -> Result<Calibration, String> {
        let mut observers = Vec::with_capacity(activations.len());
        let mut axes = Vec::with_capacity(activations.len());
        for a in activations {
            let axis = (settings.per_channel && a.shape.len() >= 2).then_some(1);
            let granularity = axis.map_or(Granularity::PerTensor, |axis| Granularity::PerChannel { axis });
            observers.push(settings.observer.build(settings.common, granularity).map_err(|e| e.to_string())?);
            axes.push(axis);
        }
        Ok(Calibration { activations: activations.to_vec(), observers, axes, abs_max: vec![0.0; activations.len()], batches: 0 })
    }

    /// Batches seen so far.
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Feeds one run's activations.
    pub fn observe(&mut self, run: &Outputs) -> Result<(), String> {
        if run.activations.len() != self.observers.len() {
            return Err(format!("{} activations for {} observers", run.activations.len(), self.observers.len()));
        }
        for ((obs, t), abs_max) in self.observers.iter_mut().zip(&run.activations).zip(&mut self.abs_max) {
            obs.observe(&t.data, &t.shape).map_err(|e| format!("activation “{}”: {e}", t.name))?;
            let (lo, hi, _) = finite_min_max(&t.data);
            if lo <= hi {
                *abs_max = abs_max.max(lo.abs()).max(hi.abs());
            }
        }
        self.batches += 1;
        Ok(())
    }

    /// The range, scale and zero point of every activation, in graph order.
    pub fn ranges(&self) -> Vec<ActivationRange> {
        self.activations
            .iter()
            .zip(&self.observers)
            .zip(&self.axes)
            .zip(&self.abs_max)
            .map(|(((a, obs), &axis), &abs_max)| {
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
                ActivationRange {
                    name: a.name.clone(),
                    node: a.node.clone(),
                    op: a.op.clone(),
                    shape: a.shape.clone(),
                    min_val,
                    max_val,
                    abs_max,
                    ch_axis: axis,
                    scale,
                    zero_point,
                    channel_range_ratio: ratio,
                    non_finite: obs.non_finite(),
                }
            })
            .collect()
    }
}
