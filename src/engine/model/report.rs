//! What calibration and PTQ simulation are asked and what they report, as plain data: the
//! CLI writes it as JSON, the model worker sends it to the page, which shows it without tract.

use serde::{Deserialize, Serialize};

use crate::engine::observer::{Common, ObserverKind};

/// How activations are calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSettings {
    pub observer: ObserverKind,
    pub common: Common,
    /// Per channel means along axis 1 (NCHW's channels, a Gemm output's features) for
    /// activations of rank 2 or more; lower ranks stay per tensor.
    pub per_channel: bool,
}

/// One value or one per channel. JSON (and any human-readable format) writes it bare, a number
/// or a list, as the CLI's report shows it; the model worker's binary messages tag it, since
/// they cannot tell a bare number from a list by looking.
#[derive(Clone, Debug, PartialEq)]
pub enum PerTensorOrChannel<T> {
    Tensor(T),
    Channel(Vec<T>),
}

/// The tagged form, for formats that are not self-describing.
#[derive(Serialize, Deserialize)]
enum Tagged<T> {
    Tensor(T),
    Channel(Vec<T>),
}

/// The bare form, for human-readable formats.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Bare<T> {
    Tensor(T),
    Channel(Vec<T>),
}

impl<T: Serialize + Clone> Serialize for PerTensorOrChannel<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let human = serializer.is_human_readable();
        match (self, human) {
            (PerTensorOrChannel::Tensor(v), true) => Bare::Tensor(v.clone()).serialize(serializer),
            (PerTensorOrChannel::Channel(v), true) => Bare::<T>::Channel(v.clone()).serialize(serializer),
            (PerTensorOrChannel::Tensor(v), false) => Tagged::Tensor(v.clone()).serialize(serializer),
            (PerTensorOrChannel::Channel(v), false) => Tagged::<T>::Channel(v.clone()).serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PerTensorOrChannel<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(if deserializer.is_human_readable() {
            match Bare::deserialize(deserializer)? {
                Bare::Tensor(v) => PerTensorOrChannel::Tensor(v),
                Bare::Channel(v) => PerTensorOrChannel::Channel(v),
            }
        } else {
            match Tagged::deserialize(deserializer)? {
                Tagged::Tensor(v) => PerTensorOrChannel::Tensor(v),
                Tagged::Channel(v) => PerTensorOrChannel::Channel(v),
            }
        })
    }
}

/// What calibration found for one activation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    pub ch_axis: Option<usize>,
    pub scale: PerTensorOrChannel<f32>,
    pub zero_point: PerTensorOrChannel<i32>,
    /// The widest channel range over the narrowest (per channel only; `None` if one is zero).
    pub channel_range_ratio: Option<f32>,
    /// NaN and infinite values seen (never part of a range).
    pub non_finite: usize,
}

/// What to simulate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PtqSettings {
    /// Weight bits, 2 to 16 (symmetric, signed codes).
    pub weight_bits: u32,
    /// One scale per output channel of each weight, rather than one per tensor.
    pub per_channel: bool,
    /// Activation bits, 2 to 16 (affine, unsigned codes); `None` leaves activations in float.
    pub act_bits: Option<u32>,
    /// The activations' observer (min/max by default, as onnxruntime's and PyTorch's).
    pub act_observer: ObserverKind,
    pub fold_bn: bool,
}

/// One layer of the report, in graph order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerReport {
    /// The value the layer makes (its ONNX output name), the node and its op.
    pub name: String,
    pub node: String,
    pub op: String,
    /// SQNR of the layer's fake-quantized weight (layers with a weight).
    pub weight_sqnr_db: Option<f64>,
    /// SQNR of the layer run alone on the float model's input to it (its own quantizers only)
    /// against the float value: what the layer costs by itself.
    pub local_sqnr_db: Option<f64>,
    /// SQNR of the quantized model's value against the float model's, over the evaluation data:
    /// what the layer costs with everything before it.
    pub cumulative_sqnr_db: Option<f64>,
    /// Whether an activation quantizer sits on this value.
    pub act_quantized: bool,
}

/// The outcome of a PTQ simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub output_sqnr_db: Option<f64>,
    /// How often the quantized model's top class (argmax over the first output's last axis)
    /// equals the float model's.
    pub top1_agreement: f64,
    /// Accuracy of the quantized and the float model, when labels are given.
    pub accuracy: Option<f64>,
    pub fp32_accuracy: Option<f64>,
    /// Batch norms folded.
    pub folded: usize,
    pub eval_samples: usize,
    /// Whether the data was seeded synthetic input rather than the user's.
    pub synthetic: bool,
    pub layers: Vec<LayerReport>,
}
