//! Quantization parameters: the integer range and the (scale, zero point) pair, computed
//! exactly as PyTorch's `UniformQuantizationObserverBase._calculate_qparams`.

use serde::{Deserialize, Serialize};

/// The smallest scale PyTorch allows: `torch.finfo(torch.float32).eps`.
pub const SCALE_EPS: f32 = f32::EPSILON;

/// How real values map onto the integer grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QScheme {
    /// `x ≈ (q − z)·s` with `z` chosen so that `[min, max]` (widened to hold 0) fills the grid.
    Affine,
    /// `x ≈ (q − z)·s` with the grid centred on 0: `s = max(|min|, |max|) / ((qmax − qmin)/2)`.
    Symmetric,
}

/// The integer range `[qmin, qmax]` that codes may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QRange {
    pub qmin: i32,
    pub qmax: i32,
    /// Unsigned codes (`quint8`-like). Decides the symmetric zero point.
    pub unsigned: bool,
    /// The range was given by the user rather than derived from a dtype (PyTorch's
    /// `has_customized_qrange`): the symmetric unsigned zero point is then `(qmin + qmax) / 2`.
    pub custom: bool,
}

impl QRange {
    /// `torch.quint8`: [0, 255].
    pub const QUINT8: QRange = QRange { qmin: 0, qmax: 255, unsigned: true, custom: false };
    /// `torch.qint8`: [−128, 127].
    pub const QINT8: QRange = QRange { qmin: -128, qmax: 127, unsigned: false, custom: false };

    /// The full range of a `bits`-wide integer, unsigned `[0, 2^b − 1]` or signed
    /// `[−2^(b−1), 2^(b−1) − 1]`. Returns `None` unless `2 <= bits <= 16`.
    pub fn with_bits(bits: u32, unsigned: bool) -> Option<QRange> {
        if !(2..=16).contains(&bits) {
            return None;
        }
        let levels = 1i32 << bits;
        let (qmin, qmax) = if unsigned { (0, levels - 1) } else { (-levels / 2, levels / 2 - 1) };
        Some(QRange { qmin, qmax, unsigned, custom: bits != 8 })
    }

    /// Number of integer levels, `qmax − qmin + 1`.
    pub fn levels(&self) -> u32 {
        (self.qmax - self.qmin + 1) as u32
    }
}

/// A per-tensor scale and zero point.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct QParams {
    pub scale: f32,
    pub zero_point: i32,
}

impl QParams {
    /// What an observer that has seen nothing reports (PyTorch: scale 1.0, zero point 0).
    pub const UNOBSERVED: QParams = QParams { scale: 1.0, zero_point: 0 };

    /// The real interval the grid covers: `[(qmin − z)·s, (qmax − z)·s]`.
    pub fn representable_range(&self, range: QRange) -> (f32, f32) {
        (
            (range.qmin - self.zero_point) as f32 * self.scale,
            (range.qmax - self.zero_point) as f32 * self.scale,
        )
    }
}

/// Computes `(scale, zero_point)` from an observed `[min, max]`, as PyTorch does:
///
/// - the range is widened to hold 0: `min⁻ = min(min, 0)`, `max⁺ = max(max, 0)`;
/// - affine: `s = max((max⁺ − min⁻)/(qmax − qmin), ε)`, `z = clamp(qmin − round(min⁻/s), qmin, qmax)`;
/// - symmetric: `s = max(max(−min⁻, max⁺)/((qmax − qmin)/2), ε)`, `z = 0` for signed codes and
///   `128` for unsigned (`(qmin + qmax)/2` for a custom range);
///
/// with `ε = f32::EPSILON` and round half to even. All arithmetic is in f32, like PyTorch's.
/// A non-finite `min` or `max` (an observer that has seen nothing) gives [`QParams::UNOBSERVED`].
pub fn calculate_qparams(min: f32, max: f32, scheme: QScheme, range: QRange) -> QParams {
    if !min.is_finite() || !max.is_finite() || min > max {
        return QParams::UNOBSERVED;
    }
    let min_neg = min.min(0.0);
    let max_pos = max.max(0.0);
    let span = (range.qmax - range.qmin) as f32;
    match scheme {
        QScheme::Symmetric => {
            let scale = ((-min_neg).max(max_pos) / (span / 2.0)).max(SCALE_EPS);
            let zero_point = match (range.unsigned, range.custom) {
                (false, _) => 0,
                (true, false) => 128,
                (true, true) => (range.qmin + range.qmax).div_euclid(2),
            };
            QParams { scale, zero_point }
        }
        QScheme::Affine => {
            let scale = ((max_pos - min_neg) / span).max(SCALE_EPS);
            let zp = range.qmin as f32 - (min_neg / scale).round_ties_even();
            let zero_point = (zp as i64).clamp(range.qmin as i64, range.qmax as i64) as i32;
            QParams { scale, zero_point }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative tolerance for scales: one f32 unit of round-off.
    const SCALE_RTOL: f32 = f32::EPSILON;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= SCALE_RTOL * b.abs().max(f32::MIN_POSITIVE)
    }

    // Golden values from PyTorch 2.x:
    // >>> o = torch.ao.quantization.MinMaxObserver(dtype=torch.quint8); o(torch.tensor([-1., 2.]))
    // >>> o.calculate_qparams()   # (tensor([0.0117647061]), tensor([85]))
    #[test]
    fn quint8_affine_matches_pytorch() {
        let q = calculate_qparams(-1.0, 2.0, QScheme::Affine, QRange::QUINT8);
        assert!(close(q.scale, 3.0f32 / 255.0), "{q:?}");
        assert_eq!(q.zero_point, 85);
    }

    // >>> o = torch.ao.quantization.MinMaxObserver(dtype=torch.qint8,
    // ...     qscheme=torch.per_tensor_symmetric); o(torch.tensor([-1., 2.])); o.calculate_qparams()
    // (tensor([0.0156862754]), tensor([0]))
    #[test]
    fn qint8_symmetric_matches_pytorch() {
        let q = calculate_qparams(-1.0, 2.0, QScheme::Symmetric, QRange::QINT8);
        assert!(close(q.scale, 2.0f32 / 127.5), "{q:?}");
        assert_eq!(q.zero_point, 0);
    }

    #[test]
    fn unobserved_and_degenerate_ranges() {
        assert_eq!(
            calculate_qparams(f32::INFINITY, f32::NEG_INFINITY, QScheme::Affine, QRange::QUINT8),
            QParams::UNOBSERVED
        );
        assert_eq!(calculate_qparams(f32::NAN, 1.0, QScheme::Affine, QRange::QUINT8), QParams::UNOBSERVED);
        // A constant zero tensor: the scale falls back to eps, zero is exact.
        let q = calculate_qparams(0.0, 0.0, QScheme::Affine, QRange::QUINT8);
        assert_eq!(q, QParams { scale: SCALE_EPS, zero_point: 0 });
        // Huge values stay finite.
        let q = calculate_qparams(-f32::MAX, f32::MAX, QScheme::Symmetric, QRange::QINT8);
        assert!(q.scale.is_finite() && q.scale > 0.0);
    }

    #[test]
    fn bit_ranges() {
        assert_eq!(QRange::with_bits(8, true).map(|r| (r.qmin, r.qmax)), Some((0, 255)));
        assert_eq!(QRange::with_bits(4, false).map(|r| (r.qmin, r.qmax)), Some((-8, 7)));
        assert_eq!(QRange::with_bits(16, false).map(|r| r.levels()), Some(65536));
        assert_eq!(QRange::with_bits(1, true), None);
        assert_eq!(QRange::with_bits(17, true), None);
    }
}
