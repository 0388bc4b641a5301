//! How pictures become a model's input: the settings of every step, as plain data (the page
//! sets them; `images` applies them).

use serde::{Deserialize, Serialize};

/// How the channels are laid out in the batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    /// `[N, C, H, W]` (PyTorch, ONNX exports).
    Nchw,
    /// `[N, H, W, C]` (TensorFlow exports).
    Nhwc,
}

/// The preprocessing of every picture: resize, centre crop, channel order, then
/// `(pixel·scale − mean[c]) / std[c]` per channel, in the order given by `bgr`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// Resize to this `(height, width)` first; with `crop`, the shorter side is resized to
    /// `resize.0` keeping the aspect ratio instead (torchvision's `Resize(256)`).
    pub resize: (u32, u32),
    /// Then cut the centre `(height, width)` out.
    pub crop: Option<(u32, u32)>,
    /// Channels in BGR order (OpenCV pipelines) rather than RGB.
    pub bgr: bool,
    pub layout: Layout,
    /// Pixels (0 to 255) are multiplied by this first.
    pub scale: f32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

/// The usual normalisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Preset {
    /// torchvision's ImageNet models: shorter side to 256, centre 224, [0, 1], then ImageNet's
    /// mean and std.
    ImageNet,
    /// Pixels to [0, 1].
    ZeroOne,
    /// Pixels to [−1, 1]: `(x/255 − 0.5)/0.5` (PaddleOCR's classifier, Inception).
    MinusOneOne,
}

impl Preprocess {
    /// A preset, for a model input of `size` = `(height, width)`.
    pub fn preset(preset: Preset, size: (u32, u32)) -> Preprocess {
        let plain = Preprocess { resize: size, crop: None, bgr: false, layout: Layout::Nchw, scale: 1.0 / 255.0, mean: [0.0; 3], std: [1.0; 3] };
        match preset {
            Preset::ImageNet => {
                let short = (size.0.min(size.1) as f32 * 256.0 / 224.0).round() as u32;
                Preprocess { resize: (short, short), crop: Some(size), mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], ..plain }
            }
            Preset::ZeroOne => plain,
            Preset::MinusOneOne => Preprocess { mean: [0.5; 3], std: [0.5; 3], ..plain },
        }
    }

    /// The `(height, width)` of every picture after resizing and cropping.
    pub fn output_size(&self) -> (u32, u32) {
        self.crop.unwrap_or(self.resize)
    }

    pub fn check(&self) -> Result<(), String> {
        let (h, w) = self.output_size();
        if h == 0 || w == 0 || self.resize.0 == 0 || self.resize.1 == 0 {
            return Err("the picture size must be at least 1×1".into());
        }
        if h > 8192 || w > 8192 || self.resize.0 > 8192 || self.resize.1 > 8192 {
            return Err("the picture size is at most 8192×8192".into());
        }
        if self.std.iter().any(|s| *s == 0.0 || !s.is_finite()) || self.mean.iter().chain([&self.scale]).any(|v| !v.is_finite()) {
            return Err("scale, mean and std must be finite, std non-zero".into());
        }
        Ok(())
    }
}
