//! Integer requantization for integer-only inference (Jacob et al. 2018, eq. 5–6; gemmlowp's
//! fixed-point arithmetic): a real multiplier `M = s_w·s_x/s_y` in (0, 1) is stored as an int32
//! `M0` in [2³⁰, 2³¹) and a right shift `n`, `M ≈ M0·2⁻³¹·2⁻ⁿ`, and an int32 accumulator `acc` is
//! scaled as `rounding_right_shift(saturating_rounding_doubling_high_mul(acc, M0), n)`.

use serde::{Deserialize, Serialize};

/// A real multiplier as gemmlowp/TFLite store it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixedMultiplier {
    /// The significand, in [2³⁰, 2³¹) (0 for a zero multiplier).
    pub m0: i32,
    /// Right shift after the high multiply (negative: a left shift, for multipliers >= 1).
    pub shift: i32,
}

/// Why a multiplier cannot be represented.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RequantError {
    #[error("multiplier {0} must be finite and non-negative")]
    Invalid(f64),
    #[error("multiplier {0} is too large for a 31-bit left shift")]
    TooLarge(f64),
}

impl FixedMultiplier {
    /// `QuantizeMultiplier`: `m = frac·2^exp` with frac in [0.5, 1); `M0 = round(frac·2³¹)`
    /// (a carry to 2³¹ halves it and bumps the exponent); `shift = −exp`.
    pub fn from_real(m: f64) -> Result<FixedMultiplier, RequantError> {
        if !m.is_finite() || m < 0.0 {
            return Err(RequantError::Invalid(m));
        }
        if m == 0.0 {
            return Ok(FixedMultiplier { m0: 0, shift: 0 });
        }
        let mut exp = libm::log2(m).floor() as i32 + 1; // m = frac·2^exp, frac in [0.5, 1)
        let mut frac = m / 2f64.powi(exp);
        // log2 can round across a power of two: renormalise.
        if frac < 0.5 {
            frac *= 2.0;
            exp -= 1;
        } else if frac >= 1.0 {
            frac /= 2.0;
            exp += 1;
        }
        let mut q = (frac * (1u64 << 31) as f64).round() as i64;
        if q == 1 << 31 {
            q /= 2;
            exp += 1;
        }
        if exp > 30 {
            return Err(RequantError::TooLarge(m));
        }
        if exp < -62 {
            return Ok(FixedMultiplier { m0: 0, shift: 0 });
        }
        Ok(FixedMultiplier { m0: q as i32, shift: -exp })
    }

    /// The real value it stands for.
    pub fn to_real(self) -> f64 {
        self.m0 as f64 / (1u64 << 31) as f64 * 2f64.powi(-self.shift)
    }

    /// `acc·M` rounded once, to nearest with ties away from zero: the 64-bit product `acc·M0`
    /// shifted right by `31 + shift` with one rounding (fbgemm's requantization). Integer
    /// arithmetic only; it equals `round(acc·to_real())` exactly, where [`FixedMultiplier::apply`]
    /// (gemmlowp's two roundings) can be one off when `acc·M0·2⁻³¹` is small: at 4-bit
    /// activations, often. Saturates to the i32 range.
    pub fn apply_once(self, acc: i32) -> i32 {
        let product = acc as i64 * self.m0 as i64;
        let total = 31 + self.shift;
        let rounded = if total <= 0 {
            product.checked_shl((-total) as u32).filter(|_| -total < 32).unwrap_or(if product >= 0 { i64::MAX } else { i64::MIN })
        } else if total >= 63 {
            0
        } else {
            let half = 1i64 << (total - 1);
            // Ties away from zero: shift the magnitude.
            let magnitude = (product.unsigned_abs() + half as u64) >> total;
            if product < 0 { -(magnitude as i64) } else { magnitude as i64 }
        };
        rounded.clamp(i32::MIN as i64, i32::MAX as i64) as i32
    }

    /// [`FixedMultiplier::apply_once`] split for a branch-free loop: `(m0, t)` such that
    /// `apply_once(acc)` is `p = acc·m0` shifted right arithmetically by `t` after adding
    /// `2^(t−1) − [p < 0]` (rounding to nearest, ties away from zero, without taking the
    /// magnitude), then saturated to i32. `None` for a multiplier of 2³⁰ or more (a left shift),
    /// which no quantized layer has. `|p| < 2⁶²`, so the sum cannot overflow.
    pub fn rounding_shift(self) -> Option<(i64, u32)> {
        match 31 + self.shift {
            ..=0 => None,
            // Every product shifted this far rounds to 0.
            63.. => Some((0, 1)),
            t => Some((self.m0 as i64, t as u32)),
        }
    }

    /// `acc·M`, rounded, in integer arithmetic only.
    pub fn apply(self, acc: i32) -> i32 {
        let (left, right) = if self.shift < 0 { (-self.shift, 0) } else { (0, self.shift) };
        let x = acc.saturating_mul(1i32.checked_shl(left as u32).unwrap_or(i32::MAX));
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x, self.m0), right)
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b`, rounded to
/// nearest (ties away from zero), saturating the one overflow case `a = b = i32::MIN`.
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = a as i64 * b as i64;
    let nudge = if ab >= 0 { 1i64 << 30 } else { 1 - (1i64 << 30) };
    // Division truncating toward zero, as C's.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero.
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent <= 0 {
        return x;
    }
    if exponent > 62 {
        return 0;
    }
    // In i64 so that shifts of 31 and more are defined too.
    let x = x as i64;
    let mask = (1i64 << exponent) - 1;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i64::from(x < 0);
    ((x >> exponent) + i64::from(remainder > threshold)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // gemmlowp's reference behaviour on hand-checked cases.
    #[test]
    fn primitives() {
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        assert_eq!(saturating_rounding_doubling_high_mul(-(1 << 30), 1 << 30), -(1 << 29));
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 → 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 0), 6);
    }

    /// Table test: for multipliers across (0, 1) and accumulators across the int32 range, the
    /// integer result is the float result rounded, within one unit.
    #[test]
    fn table_against_float() {
        let multipliers = [1e-6, 0.000_123_4, 0.003_921_568_6, 0.25, 0.333_333, 0.5, 0.75, 0.999_999];
        let accs = [0, 1, -1, 17, -17, 1000, -1000, 123_456, -123_456, 1 << 24, -(1 << 24), i32::MAX / 2, i32::MIN / 2];
        for &m in &multipliers {
            let f = FixedMultiplier::from_real(m).unwrap();
            assert!((1 << 30..=i32::MAX).contains(&f.m0), "{m}: {f:?}");
            assert!((f.to_real() - m).abs() <= m * 2f64.powi(-30), "{m}: {}", f.to_real());
            for &acc in &accs {
                let exact = acc as f64 * m;
                let got = f.apply(acc);
                assert!((got as f64 - exact).abs() <= 1.0, "acc {acc} · {m} = {exact}, got {got}");
            }
        }
    }

    #[test]
    fn edge_multipliers() {
        assert_eq!(FixedMultiplier::from_real(0.0), Ok(FixedMultiplier { m0: 0, shift: 0 }));
        assert!(FixedMultiplier::from_real(-0.5).is_err());
        assert!(FixedMultiplier::from_real(f64::NAN).is_err());
        assert!(FixedMultiplier::from_real(1e12).is_err());
        // Multipliers >= 1 use a left shift.
        let two = FixedMultiplier::from_real(2.0).unwrap();
        assert_eq!((two.m0, two.shift), (1 << 30, -2));
        assert_eq!(two.apply(21), 42);
        // Just under a power of two rounds up to it (the carry case).
        let c = FixedMultiplier::from_real(0.5 - 1e-12).unwrap();
        assert_eq!((c.m0, c.shift), (1 << 30, 0));
    }

    proptest! {
        #[test]
        fn within_one_unit(m in 1e-6f64..1.0, acc in -(1i32 << 28)..(1i32 << 28)) {
            let f = FixedMultiplier::from_real(m).unwrap();
            prop_assert!((f.apply(acc) as f64 - acc as f64 * m).abs() <= 1.0);
        }

        /// One rounding: exactly the stored multiplier's product rounded (in i128, ties away
        /// from zero), and never more than one from gemmlowp's two roundings.
        #[test]
        fn apply_once_rounds_once(m in 1e-6f64..4.0, acc in -(1i32 << 24)..(1i32 << 24)) {
            let f = FixedMultiplier::from_real(m).unwrap();
            let num = acc as i128 * f.m0 as i128;
            let shift = 31 + f.shift;
            let exact = if shift <= 0 {
                num << (-shift)
            } else {
                let d = 1i128 << shift;
                let q = (num.abs() + d / 2) / d;
                if num < 0 { -q } else { q }
            };
            prop_assert_eq!(f.apply_once(acc) as i128, exact);
            prop_assert!((f.apply_once(acc) - f.apply(acc)).abs() <= 1);
        }
    }

    proptest! {
        #[test]
        fn the_branch_free_split_rounds_as_apply_once(m in prop_oneof![1e-25f64..1e-15, 1e-9f64..1e9], acc in any::<i32>()) {
            let f = FixedMultiplier::from_real(m).unwrap();
            let (m0, t) = f.rounding_shift().unwrap();
            let p = acc as i64 * m0;
            let r = (p + (1i64 << (t - 1)) + (p >> 63)) >> t;
            prop_assert_eq!(r.clamp(i32::MIN as i64, i32::MAX as i64) as i32, f.apply_once(acc));
        }
    }

    #[test]
    fn apply_once_where_gemmlowp_rounds_twice() {
        // From the Lab's 4-bit integer MLP (M0 = 1618010053, shift 4, M ≈ 0.04709): 95·M =
        // 4.4736; gemmlowp rounds 95·M0·2⁻³¹ = 71.58 to 72 first, then 72/16 = 4.5 up to 5.
        let f = FixedMultiplier { m0: 1_618_010_053, shift: 4 };
        assert_eq!((f.apply(95), f.apply_once(95)), (5, 4));
        assert_eq!(f.apply_once(-95), -4);
        assert_eq!(FixedMultiplier::from_real(2.0).unwrap().apply_once(21), 42);
        assert_eq!(FixedMultiplier { m0: 0, shift: 0 }.apply_once(12345), 0);
        assert_eq!(FixedMultiplier::from_real(1e9).unwrap().apply_once(i32::MAX), i32::MAX, "saturates");
        assert_eq!(FixedMultiplier { m0: 1 << 30, shift: -31 }.rounding_shift(), None, "a left shift");
        assert_eq!(FixedMultiplier::from_real(1e-30).unwrap().rounding_shift(), Some((0, 31)));
    }
}
