//! Quantization parameters: the integer range and the (scale, zero point) pair, computed
//! exactly as PyTorch's `UniformQuantizationObserverBase._calculate_qparams` and
//! `torch.ao.quantization.utils.calculate_qmin_qmax`.

use serde::{Deserialize, Serialize};

/// The smallest scale PyTorch allows: `torch.finfo(torch.float32).eps`.
pub const SCALE_EPS: f32 = f32::EPSILON;

/// Widest range supported: 16-bit codes.
pub const MAX_LEVELS: i64 = 1 << 16;

/// How real values map onto the integer grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum QScheme {
    /// `x ≈ (q − z)·s` with `z` chosen so that `[min, max]` (widened to hold 0) fills the grid.
    Affine,
    /// `x ≈ (q − z)·s` with the grid centred on 0: `s = max(|min|, |max|) / ((qmax − qmin)/2)`.
    Symmetric,
}

/// The integer type of the codes, as PyTorch's observer `dtype`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DType {
    /// `torch.quint8`: unsigned codes, [0, 255] by default.
    QUInt8,
    /// `torch.qint8`: signed codes, [−128, 127] by default.
    QInt8,
}

/// Why a range or a set of parameters is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RangeError {
    #[error("quant_min {qmin} and quant_max {qmax}: the range must include 0 (quant_min <= 0 <= quant_max)")]
    ExcludesZero { qmin: i64, qmax: i64 },
    #[error("quant_min {qmin} must be less than quant_max {qmax}")]
    Empty { qmin: i64, qmax: i64 },
    #[error("quant_min {qmin}..quant_max {qmax} has {levels} levels; at most {max} are supported")]
    TooWide { qmin: i64, qmax: i64, levels: i64, max: i64 },
    #[error("bit width {0} is not supported (2 to 16)")]
    Bits(u32),
    #[error("a narrow (restricted) range needs signed codes")]
    NarrowUnsigned,
}

/// The integer range `[qmin, qmax]` that codes may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

    /// The range PyTorch's observers use for `dtype`, an optional custom `(quant_min, quant_max)`
    /// and `reduce_range` (`calculate_qmin_qmax`): without a custom range, quint8 is [0, 255]
    /// ([0, 127] reduced) and qint8 [−128, 127] ([−64, 63] reduced); a custom range must include
    /// 0, is halved with floor division when reduced, and may be up to 16 bits wide.
    pub fn for_dtype(dtype: DType, custom: Option<(i64, i64)>, reduce_range: bool) -> Result<QRange, RangeError> {
        let unsigned = dtype == DType::QUInt8;
        let Some((qmin, qmax)) = custom else {
            let (qmin, qmax) = match (dtype, reduce_range) {
                (DType::QUInt8, false) => (0, 255),
                (DType::QUInt8, true) => (0, 127),
                (DType::QInt8, false) => (-128, 127),
                (DType::QInt8, true) => (-64, 63),
            };
            return Ok(QRange { qmin, qmax, unsigned, custom: false });
        };
        if !(qmin <= 0 && 0 <= qmax) {
            return Err(RangeError::ExcludesZero { qmin, qmax });
        }
        if qmin >= qmax {
            return Err(RangeError::Empty { qmin, qmax });
        }
        let levels = qmax - qmin + 1;
        if levels > MAX_LEVELS {
            return Err(RangeError::TooWide { qmin, qmax, levels, max: MAX_LEVELS });
        }
        let (qmin, qmax) = if reduce_range { (qmin.div_euclid(2), qmax.div_euclid(2)) } else { (qmin, qmax) };
        Ok(QRange { qmin: qmin as i32, qmax: qmax as i32, unsigned, custom: true })
    }

    /// The full range of a `bits`-wide integer, unsigned `[0, 2^b − 1]` or signed
    /// `[−2^(b−1), 2^(b−1) − 1]`; at 8 bits exactly `quint8` / `qint8`, otherwise a custom range.
    pub fn with_bits(bits: u32, unsigned: bool) -> Result<QRange, RangeError> {
        if !(2..=16).contains(&bits) {
            return Err(RangeError::Bits(bits));
        }
        let levels = 1i32 << bits;
        let (qmin, qmax) = if unsigned { (0, levels - 1) } else { (-levels / 2, levels / 2 - 1) };
        Ok(QRange { qmin, qmax, unsigned, custom: bits != 8 })
    }

    /// The narrow ("restricted") signed range `[−(2^(b−1) − 1), 2^(b−1) − 1]`, symmetric about 0.
    pub fn narrow(bits: u32) -> Result<QRange, RangeError> {
        let r = QRange::with_bits(bits, false)?;
        Ok(QRange { qmin: r.qmin + 1, custom: true, ..r })
    }

    /// Number of integer levels, `qmax − qmin + 1`.
    pub fn levels(&self) -> u32 {
        (self.qmax - self.qmin + 1) as u32
    }

    /// The zero point of the symmetric scheme: 0 for signed codes; for unsigned codes 128, or
    /// the midpoint `(qmin + qmax) / 2` (rounded down) of a custom range.
    pub fn symmetric_zero_point(&self) -> i32 {
        match (self.unsigned, self.custom) {
            (false, _) => 0,
            (true, false) => 128,
            (true, true) => (self.qmin + self.qmax).div_euclid(2),
        }
    }
}

/// A per-tensor (or one channel's) scale and zero point.
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
/// - symmetric: `s = max(max(−min⁻, max⁺)/((qmax − qmin)/2), ε)`, `z` =
///   [`QRange::symmetric_zero_point`];
///
/// with `ε = f32::EPSILON` and round half to even, all in f32 like PyTorch. A non-finite `min` or
/// `max` (an observer that has seen nothing) or `min > max` gives [`QParams::UNOBSERVED`].
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
            QParams { scale, zero_point: range.symmetric_zero_point() }
        }
        QScheme::Affine => {
            // (max⁺ − min⁻) can overflow to +∞ for ranges near f32::MAX; PyTorch gives ∞ too.
            let scale = ((max_pos - min_neg) / span).max(SCALE_EPS);
            let zp = range.qmin as f32 - (min_neg / scale).round_ties_even();
            let zero_point = if zp.is_nan() { range.qmin } else { (zp as i64).clamp(range.qmin as i64, range.qmax as i64) as i32 };
            QParams { scale, zero_point }
        }
    }
}

/// [`calculate_qparams`] for each channel's `(min, max)`.
pub fn calculate_qparams_per_channel(mins: &[f32], maxs: &[f32], scheme: QScheme, range: QRange) -> Vec<QParams> {
    mins.iter().zip(maxs).map(|(&lo, &hi)| calculate_qparams(lo, hi, scheme, range)).collect()
}

/// The nudged clipping range of Jacob et al. 2018 (eq. 12) and TensorFlow's `FakeQuantWithMinMax`:
/// `[a, b]` is shifted so that 0.0 falls exactly on a grid point, keeping `s = (b − a)/(n − 1)`
/// for `n` levels. Returns `(a', b', s)`. Requires `a <= 0 <= b`, `a < b` and `n >= 2`; other
/// inputs are widened to hold 0 first and a degenerate range gets the smallest scale.
pub fn nudge(a: f32, b: f32, levels: u32) -> (f32, f32, f32) {
    let (a, b) = (a.min(0.0), b.max(0.0));
    let steps = (levels.max(2) - 1) as f32;
    let s = ((b - a) / steps).max(SCALE_EPS);
    let zero_from_min = -a / s;
    let nudged_zero = if zero_from_min <= 0.0 {
        0.0
    } else if zero_from_min >= steps {
        steps
    } else {
        zero_from_min.round_ties_even()
    };
    ((0.0 - nudged_zero) * s, (steps - nudged_zero) * s, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Scales are compared to one f32 unit of round-off.
    const SCALE_RTOL: f32 = f32::EPSILON;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= SCALE_RTOL * b.abs().max(f32::MIN_POSITIVE)
    }

    // The public test vectors of the issue, from PyTorch 2.15:
    // >>> o = MinMaxObserver(dtype=torch.quint8); o(torch.tensor([-1., 2.])); o.calculate_qparams()
    // (tensor([0.0117647061]), tensor([85]))
    // >>> o = MinMaxObserver(dtype=torch.quint8, reduce_range=True); ...
    // (tensor([0.0236220472]), tensor([42]))
    // >>> o = MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric); ...
    // (tensor([0.0156862754]), tensor([0]))
    #[test]
    fn public_test_vectors() {
        let q = calculate_qparams(-1.0, 2.0, QScheme::Affine, QRange::QUINT8);
        assert!(close(q.scale, 3.0f32 / 255.0), "{q:?}");
        assert_eq!(q.zero_point, 85);
        let reduced = QRange::for_dtype(DType::QUInt8, None, true).unwrap();
        let q = calculate_qparams(-1.0, 2.0, QScheme::Affine, reduced);
        assert!(close(q.scale, 3.0f32 / 127.0), "{q:?}");
        assert!((q.scale - 0.0236220).abs() < 1e-7);
        assert_eq!(q.zero_point, 42);
        let q = calculate_qparams(-1.0, 2.0, QScheme::Symmetric, QRange::QINT8);
        assert!(close(q.scale, 2.0f32 / 127.5), "{q:?}");
        assert_eq!(q.zero_point, 0);
    }

    #[test]
    fn symmetric_zero_points() {
        assert_eq!(calculate_qparams(-1.0, 1.0, QScheme::Symmetric, QRange::QUINT8).zero_point, 128);
        let custom = QRange::for_dtype(DType::QUInt8, Some((0, 15)), false).unwrap();
        assert_eq!(calculate_qparams(-1.0, 1.0, QScheme::Symmetric, custom).zero_point, 7);
        let narrow = QRange::narrow(8).unwrap();
        assert_eq!((narrow.qmin, narrow.qmax), (-127, 127));
        let q = calculate_qparams(-1.0, 2.0, QScheme::Symmetric, narrow);
        assert_eq!(q.zero_point, 0);
        assert!(close(q.scale, 2.0 / 127.0));
    }

    #[test]
    fn dtype_ranges_match_calculate_qmin_qmax() {
        let r = |d, c, red| QRange::for_dtype(d, c, red).map(|r| (r.qmin, r.qmax));
        assert_eq!(r(DType::QUInt8, None, false), Ok((0, 255)));
        assert_eq!(r(DType::QUInt8, None, true), Ok((0, 127)));
        assert_eq!(r(DType::QInt8, None, false), Ok((-128, 127)));
        assert_eq!(r(DType::QInt8, None, true), Ok((-64, 63)));
        assert_eq!(r(DType::QInt8, Some((-8, 7)), true), Ok((-4, 3)));
        assert_eq!(r(DType::QInt8, Some((-7, 7)), true), Ok((-4, 3)), "floor division");
        assert_eq!(r(DType::QUInt8, Some((1, 5)), false), Err(RangeError::ExcludesZero { qmin: 1, qmax: 5 }));
        assert_eq!(r(DType::QUInt8, Some((0, 0)), false), Err(RangeError::Empty { qmin: 0, qmax: 0 }));
        assert!(matches!(r(DType::QInt8, Some((-70000, 0)), false), Err(RangeError::TooWide { .. })));
    }

    #[test]
    fn unobserved_and_degenerate_ranges() {
        assert_eq!(
            calculate_qparams(f32::INFINITY, f32::NEG_INFINITY, QScheme::Affine, QRange::QUINT8),
            QParams::UNOBSERVED
        );
        assert_eq!(calculate_qparams(f32::NAN, 1.0, QScheme::Affine, QRange::QUINT8), QParams::UNOBSERVED);
        assert_eq!(calculate_qparams(2.0, 1.0, QScheme::Affine, QRange::QUINT8), QParams::UNOBSERVED);
        // A constant zero tensor: the scale falls back to eps, zero is exact.
        assert_eq!(calculate_qparams(0.0, 0.0, QScheme::Affine, QRange::QUINT8), QParams { scale: SCALE_EPS, zero_point: 0 });
        // One positive value: the range still starts at 0.
        let q = calculate_qparams(3.0, 3.0, QScheme::Affine, QRange::QUINT8);
        assert_eq!(q.zero_point, 0);
        assert!(close(q.scale, 3.0 / 255.0));
        // Huge values stay defined.
        let q = calculate_qparams(-f32::MAX, f32::MAX, QScheme::Symmetric, QRange::QINT8);
        assert!(q.scale.is_finite() && q.scale > 0.0);
        let q = calculate_qparams(-f32::MAX, f32::MAX, QScheme::Affine, QRange::QUINT8);
        assert!((0..=255).contains(&q.zero_point));
    }

    #[test]
    fn bit_ranges() {
        assert_eq!(QRange::with_bits(8, true), Ok(QRange::QUINT8));
        assert_eq!(QRange::with_bits(8, false), Ok(QRange::QINT8));
        assert_eq!(QRange::with_bits(4, false).map(|r| (r.qmin, r.qmax)), Ok((-8, 7)));
        assert_eq!(QRange::with_bits(16, false).map(|r| r.levels()), Ok(65536));
        assert_eq!(QRange::with_bits(1, true), Err(RangeError::Bits(1)));
        assert_eq!(QRange::with_bits(17, true), Err(RangeError::Bits(17)));
    }

    // TensorFlow: tf.quantization.fake_quant_with_min_max_args(x, min=-0.1, max=1.0, num_bits=8)
    // nudges [-0.1, 1.0] to [-0.0993..., 1.0006...] so that zero is code 23 exactly.
    #[test]
    fn nudge_makes_zero_exact() {
        let (a, b, s) = nudge(-0.1, 1.0, 256);
        assert!((s - 1.1 / 255.0).abs() < 1e-9);
        assert!((a / s).round() == a / s || ((a / s) - (a / s).round()).abs() < 1e-4);
        assert!((a - (-23.0 * s)).abs() < 1e-7, "{a}");
        assert!((b - 232.0 * s).abs() < 1e-6, "{b}");
        // Already aligned or one-sided ranges.
        assert_eq!(nudge(0.0, 2.55, 256).0, 0.0);
        let (a, b, _) = nudge(-2.0, -1.0, 4);
        assert!(a < 0.0 && b == 0.0);
    }

    proptest! {
        /// The scale is positive and finite, the zero point a valid code, and symmetric signed
        /// ranges centre on 0. (That 0.0 is exact is checked on the kernels, in quantize.rs.)
        #[test]
        fn qparams_are_valid(lo in -1e6f32..1e6, width in 0f32..1e6, bits in 2u32..=16, unsigned: bool, symmetric: bool) {
            let range = QRange::with_bits(bits, unsigned).unwrap();
            let scheme = if symmetric { QScheme::Symmetric } else { QScheme::Affine };
            let p = calculate_qparams(lo, lo + width, scheme, range);
            prop_assert!(p.scale > 0.0 && p.scale.is_finite());
            prop_assert!(p.zero_point >= range.qmin && p.zero_point <= range.qmax);
            if symmetric && !unsigned {
                prop_assert_eq!(p.zero_point, 0);
            }
        }

        #[test]
        fn nudged_grid_holds_zero(a in -1e3f32..0.0, b in 0.0f32..1e3, bits in 2u32..=16) {
            let (na, nb, s) = nudge(a, b, 1 << bits);
            let k = -na / s;
            prop_assert!((k - k.round()).abs() < 1e-3 * k.abs().max(1.0), "zero is on the grid: {k}");
            prop_assert!(nb > na);
        }
    }
}
