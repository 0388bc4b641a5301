//! Quantize, dequantize and fake-quantize with per-tensor parameters.
//!
//! The arithmetic mirrors PyTorch's CPU kernels bit for bit: the input is multiplied by
//! `inv_scale = 1/scale` (computed once in f32), rounded half to even (`std::nearbyint`), offset by
//! the zero point, clamped to `[qmin, qmax]`, and mapped back as `(q − z)·s`.

use super::qparams::{QParams, QRange};

/// The integer code of `x`: `clamp(round(x·inv_scale) + z, qmin, qmax)`, rounding half to even.
/// ±∞ and huge values saturate to the ends of the range. NaN (undefined in PyTorch's kernel) maps
/// to the code of 0.0, so that it never turns into an extreme value.
#[inline]
pub fn quantize_one(x: f32, inv_scale: f32, zero_point: i32, range: QRange) -> i32 {
    let r = (x * inv_scale).round_ties_even();
    if r.is_nan() {
        return zero_point.clamp(range.qmin, range.qmax);
    }
    // f32 → i64 saturates in Rust, so huge values clamp instead of wrapping.
    let q = (r as i64).saturating_add(zero_point as i64);
    q.clamp(range.qmin as i64, range.qmax as i64) as i32
}

/// The real value of code `q`: `(q − z)·s`.
#[inline]
pub fn dequantize_one(q: i32, p: QParams) -> f32 {
    (q - p.zero_point) as f32 * p.scale
}

/// `x̂ = (clamp(round(x/s) + z, qmin, qmax) − z)·s` for every element, written into `out`.
///
/// `out` must have the length of `xs` (extra elements are left untouched).
pub fn fake_quantize_into(xs: &[f32], p: QParams, range: QRange, out: &mut [f32]) {
    let inv_scale = 1.0 / p.scale;
    for (o, &x) in out.iter_mut().zip(xs) {
        *o = dequantize_one(quantize_one(x, inv_scale, p.zero_point, range), p);
    }
}

/// [`fake_quantize_into`] returning a new vector.
pub fn fake_quantize(xs: &[f32], p: QParams, range: QRange) -> Vec<f32> {
    let mut out = vec![0.0; xs.len()];
    fake_quantize_into(xs, p, range, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::qparams::{calculate_qparams, QScheme};
    use proptest::prelude::*;

    // PyTorch: torch.fake_quantize_per_tensor_affine(torch.tensor([2.0]), 2/127.5, 0, -128, 127)
    // -> tensor([1.9921569824])
    #[test]
    fn symmetric_qint8_two_matches_pytorch() {
        let p = calculate_qparams(-1.0, 2.0, QScheme::Symmetric, QRange::QINT8);
        let y = fake_quantize(&[2.0], p, QRange::QINT8);
        assert_eq!(y[0], 127.0 * (2.0f32 / 127.5));
        assert!((y[0] - 1.99216).abs() < 1e-5);
    }

    #[test]
    fn edge_inputs() {
        let p = QParams { scale: 0.1, zero_point: 10 };
        let r = QRange::QUINT8;
        assert!(fake_quantize(&[], p, r).is_empty());
        let y = fake_quantize(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30, -1e30, 0.0], p, r);
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], dequantize_one(255, p));
        assert_eq!(y[2], dequantize_one(0, p));
        assert_eq!(y[3], dequantize_one(255, p));
        assert_eq!(y[4], dequantize_one(0, p));
        assert_eq!(y[5], 0.0);
    }

    proptest! {
        /// Inside the representable range the error is at most half a step, codes stay in range,
        /// zero is exact, and fake-quantizing twice changes nothing.
        #[test]
        fn invariants(lo in -1e3f32..0.0, hi in 0.0f32..1e3, bits in 2u32..=16, unsigned: bool,
                      symmetric: bool, xs in proptest::collection::vec(-2e3f32..2e3, 1..64)) {
            let range = QRange::with_bits(bits, unsigned).unwrap();
            let scheme = if symmetric { QScheme::Symmetric } else { QScheme::Affine };
            let p = calculate_qparams(lo, hi, scheme, range);
            let inv = 1.0 / p.scale;
            let (a, b) = p.representable_range(range);
            let y = fake_quantize(&xs, p, range);
            for (&x, &yh) in xs.iter().zip(&y) {
                let q = quantize_one(x, inv, p.zero_point, range);
                prop_assert!(q >= range.qmin && q <= range.qmax);
                if x >= a && x <= b {
                    // Half a step, plus the f32 round-off of x·(1/s) and of (q − z)·s.
                    let tol = p.scale * 0.5 + 4.0 * f32::EPSILON * x.abs().max(p.scale);
                    prop_assert!((x - yh).abs() <= tol, "x={x} y={yh} s={}", p.scale);
                }
            }
            prop_assert_eq!(fake_quantize(&y, p, range), y);
            prop_assert_eq!(fake_quantize(&[0.0], p, range)[0], 0.0);
        }
    }
}
