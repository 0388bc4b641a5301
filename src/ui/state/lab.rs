//! The Lab's settings as the URL carries them (the `l…` fields), with their tables and parsers.

use super::fields::parse_int;
use super::*;

/// The Lab's settings, as the URL carries them (`l…` fields).
#[derive(Clone, Debug, PartialEq)]
pub struct LabSettings {
    pub dataset: LabData,
    pub model: crate::engine::nn::lab::ModelKind,
    pub hidden: Vec<usize>,
    pub channels: [usize; 2],
    pub relu6: bool,
    pub sgd: bool,
    pub lr: f32,
    pub epochs: usize,
    pub qat_epochs: usize,
    pub weight_bits: u32,
    pub act_bits: u32,
    pub per_channel: bool,
    pub observer: ObsKind,
    pub calib_samples: usize,
    pub averaging_constant: f32,
    pub freeze_after: Option<usize>,
    pub freeze_bn_after: Option<usize>,
    pub points: usize,
    pub noise: f32,
    pub seed: u64,
    /// Train at once and open the FP32 model as ONNX in the Model view when done (`lopen=1`:
    /// the Learn lesson's presets).
    pub open_model: bool,
}

impl Default for LabSettings {
    /// The CLI's defaults (`quantscope lab`), so a link and a command line agree.
    fn default() -> Self {
        LabSettings {
            dataset: LabData::Digits,
            model: crate::engine::nn::lab::ModelKind::Mlp,
            hidden: vec![128, 128],
            channels: [8, 16],
            relu6: false,
            sgd: false,
            lr: 1e-3,
            epochs: 30,
            qat_epochs: 10,
            weight_bits: 4,
            act_bits: 4,
            per_channel: false,
            observer: ObsKind::MinMax,
            calib_samples: 256,
            averaging_constant: ObserverKind::DEFAULT_AVERAGING_CONSTANT,
            freeze_after: None,
            freeze_bn_after: None,
            points: 1000,
            noise: 0.1,
            seed: 0,
            open_model: false,
        }
    }
}

/// The Lab's data sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabData {
    Digits,
    Synthetic(crate::engine::nn::data::Synthetic2d),
}

use crate::ui::i18n::LabText;

pub const LAB_DATA: &[(LabData, &str, LabText)] = {
    use crate::engine::nn::data::Synthetic2d as S;
    &[
        (LabData::Digits, "digits", LabText::DataDigits),
        (LabData::Synthetic(S::Moons), "moons", LabText::DataMoons),
        (LabData::Synthetic(S::Circles), "circles", LabText::DataCircles),
        (LabData::Synthetic(S::Xor), "xor", LabText::DataXor),
        (LabData::Synthetic(S::Spiral), "spiral", LabText::DataSpiral),
        (LabData::Synthetic(S::Blobs), "blobs", LabText::DataBlobs),
    ]
};

impl LabData {
    /// Its short name, for the run's title.
    pub fn short_name(self) -> LabText {
        use crate::engine::nn::data::Synthetic2d as S;
        match self {
            LabData::Digits => LabText::ShortDigits,
            LabData::Synthetic(S::Moons) => LabText::ShortMoons,
            LabData::Synthetic(S::Circles) => LabText::ShortCircles,
            LabData::Synthetic(S::Xor) => LabText::ShortXor,
            LabData::Synthetic(S::Spiral) => LabText::ShortSpiral,
            LabData::Synthetic(S::Blobs) => LabText::ShortBlobs,
        }
    }
}

/// The Lab's networks.
pub const LAB_MODELS: &[(crate::engine::nn::lab::ModelKind, &str, LabText)] = {
    use crate::engine::nn::lab::ModelKind as M;
    &[(M::Mlp, "mlp", LabText::ModelMlp), (M::Cnn, "cnn", LabText::ModelCnn)]
};

/// The CNN's two channel counts, `8,16`.
pub(crate) fn parse_channels(v: &str) -> Result<[usize; 2], crate::ui::i18n::Msg> {
    let c: Result<Vec<usize>, _> = v.split(',').map(|w| parse_int(w.trim(), 1, 256)).collect();
    match c.as_deref() {
        Ok(&[a, b]) => Ok([a, b]),
        _ => Err(crate::ui::i18n::Msg::new(crate::ui::i18n::ShellText::ExpectChannels)),
    }
}

/// The MLP's hidden widths, `128,128`.
pub(crate) fn parse_widths(v: &str) -> Result<Vec<usize>, crate::ui::i18n::Msg> {
    let widths: Result<Vec<usize>, _> = v.split(',').map(|w| parse_int(w.trim(), 1, 4096)).collect();
    match widths {
        Ok(w) if (1..=4).contains(&w.len()) => Ok(w),
        _ => Err(crate::ui::i18n::Msg::new(crate::ui::i18n::ShellText::ExpectWidths)),
    }
}
