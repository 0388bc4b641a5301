//! One per-tensor analysis: statistics, min/max qparams and error metrics, as the Explorer shows.

use serde::{Deserialize, Serialize};

use super::metrics::{measure, QuantMetrics};
use super::qparams::{calculate_qparams, QParams, QRange, QScheme};
use super::stats::{summarize, Summary};

/// The result of [`analyze`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub summary: Summary,
    pub range: QRange,
    pub qparams: QParams,
    pub metrics: QuantMetrics,
}

/// The integer range conventionally paired with a scheme: unsigned codes for affine, signed for
/// symmetric (PyTorch's quint8 / qint8 defaults), at `bits` bits (2..=16).
pub fn default_range(scheme: QScheme, bits: u32) -> Result<QRange, super::qparams::RangeError> {
    QRange::with_bits(bits, scheme == QScheme::Affine)
}

/// Min/max calibration of `xs` over `range` with `scheme`, and what it costs.
pub fn analyze(xs: &[f32], scheme: QScheme, range: QRange) -> Analysis {
    let summary = summarize(xs);
    let qparams = calculate_qparams(summary.min, summary.max, scheme, range);
    Analysis { summary, range, qparams, metrics: measure(xs, qparams, range) }
}
