//! One per-tensor analysis: statistics, min/max qparams and error metrics, as the Explorer shows.

use serde::{Deserialize, Serialize};

use crate::engine::statistics::histogram::Histogram;
use crate::engine::statistics::metrics::{measure_with_codes, QuantMetrics};
use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantizer::quantize::fake_quantize_into;
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::statistics::stats::{summarize, Summary};

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
pub fn default_range(scheme: QScheme, bits: u32) -> Result<QRange, crate::engine::quantizer::qparams::RangeError> {
    QRange::with_bits(bits, scheme == QScheme::Affine)
}

/// Min/max calibration of `xs` over `range` with `scheme`, and what it costs.
pub fn analyze(xs: &[f32], scheme: QScheme, range: QRange) -> Analysis {
    analyze_with_codes(xs, scheme, range).0
}

/// [`analyze`], and the histogram of the integer codes (one bin per level, `qmin` first).
pub fn analyze_with_codes(xs: &[f32], scheme: QScheme, range: QRange) -> (Analysis, Vec<u64>) {
    let summary = summarize(xs);
    let qparams = calculate_qparams(summary.min, summary.max, scheme, range);
    let (metrics, codes) = measure_with_codes(xs, qparams, range);
    (Analysis { summary, range, qparams, metrics }, codes)
}

/// Everything one view of a tensor shows: the [`Analysis`], the histograms of the values
/// (`bins` bins over the finite range), of the codes, and of the error `x̂ − x`.
#[derive(Clone, Debug, PartialEq)]
pub struct Views {
    pub analysis: Analysis,
    pub values: Histogram,
    pub codes: Vec<u64>,
    pub errors: Histogram,
}

/// The full per-tensor analysis behind a redraw: observer (min/max), qparams, fake-quantization,
/// metrics and the three histograms. `scratch` holds `x̂ − x` (reused between calls).
pub fn analyze_views(xs: &[f32], scheme: QScheme, range: QRange, bins: usize, scratch: &mut Vec<f32>) -> Views {
    let (analysis, codes) = analyze_with_codes(xs, scheme, range);
    let values = Histogram::new(xs, analysis.summary.min, analysis.summary.max, bins);
    scratch.resize(xs.len(), 0.0);
    fake_quantize_into(xs, analysis.qparams, range, Rounding::HalfEven, scratch);
    for (e, &x) in scratch.iter_mut().zip(xs) {
        *e -= x;
    }
    // The rounding error lies within half a step; wider errors are clipping.
    let half = analysis.qparams.scale / 2.0;
    let reach = (analysis.metrics.max_abs_err as f32).max(half);
    let errors = Histogram::new(scratch, -reach, reach, bins);
    Views { analysis, values, codes, errors }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_count_every_finite_value_once() {
        let xs = [-1.0f32, 0.0, 0.25, 2.0, f32::NAN, f32::INFINITY];
        let mut scratch = Vec::new();
        let v = analyze_views(&xs, QScheme::Affine, QRange::QUINT8, 16, &mut scratch);
        let a = v.analysis;
        // [-1, 2] quint8 affine: s = 3/255, z = 85 (the public test vector).
        assert_eq!((a.qparams.scale, a.qparams.zero_point), (3.0 / 255.0, 85));
        assert_eq!(v.values.counts.iter().sum::<u64>(), 4);
        assert_eq!(v.codes.iter().sum::<u64>(), 4);
        assert_eq!(v.codes[85], 1); // 0.0 is exact
        assert_eq!(v.errors.counts.iter().sum::<u64>(), 4);
        assert_eq!(v.errors.non_finite, 2);
        assert_eq!(v.values.non_finite, 2);
        // Every error is rounding error: within half a step.
        assert!(v.errors.hi <= a.qparams.scale / 2.0 + f32::EPSILON);
    }

    #[test]
    fn views_of_empty_and_constant_tensors() {
        let mut scratch = Vec::new();
        let v = analyze_views(&[], QScheme::Symmetric, QRange::QINT8, 8, &mut scratch);
        assert_eq!(v.analysis.summary.count, 0);
        assert_eq!(v.values.counts, vec![0; 8]);
        assert_eq!(v.codes.iter().sum::<u64>(), 0);
        let v = analyze_views(&[3.0; 5], QScheme::Symmetric, QRange::QINT8, 8, &mut scratch);
        assert_eq!(v.values.counts.iter().sum::<u64>(), 5);
        assert_eq!(v.analysis.metrics.levels_used, 1);
    }
}
