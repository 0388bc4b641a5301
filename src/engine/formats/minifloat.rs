//! Small floating-point element types: FP8 (E4M3FN, E5M2), FP6 (E3M2, E2M3) and FP4 (E2M1), as
//! the OCP 8-bit and microscaling specifications define them and `ml_dtypes` implements them.
//!
//! A code is a sign bit, `exp` exponent bits (bias `2^(exp−1) − 1`) and `man` mantissa bits; an
//! exponent field of 0 holds subnormals `m · 2^(1 − bias − man)`. What the all-ones exponent
//! means differs:
//! - E5M2 is IEEE-like: infinity and NaN there;
//! - E4M3FN ("finite, NaN") keeps it for numbers but for one NaN per sign (`S.1111.111`), so its
//!   largest value is 448;
//! - the FP6 and FP4 types have neither infinity nor NaN.
//!
//! [`Minifloat::encode`] rounds to nearest, ties to even, and **saturates**: anything beyond the
//! largest finite value (infinity included) becomes ±max, as quantizers want (`ml_dtypes` itself
//! casts overflow to NaN or infinity). NaN becomes the type's NaN, or for the types without one
//! the code `ml_dtypes` gives it (a zero); the formats built on these keep NaN as NaN.

/// One element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minifloat {
    /// Its name in the CLI and URL element names (`e4m3`).
    pub name: &'static str,
    pub exp: u32,
    pub man: u32,
    pub special: Special,
}

/// What the all-ones exponent field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    /// Infinity (mantissa 0) and NaN (any other), as IEEE 754.
    Ieee,
    /// Numbers, but for the all-ones mantissa: NaN.
    FiniteNan,
    /// Numbers only.
    Finite,
}

/// FP8 E4M3FN: bias 7, largest 448, no infinity.
pub const E4M3: Minifloat = Minifloat { name: "e4m3", exp: 4, man: 3, special: Special::FiniteNan };
/// FP8 E5M2: bias 15, largest 57344, with infinity and NaN.
pub const E5M2: Minifloat = Minifloat { name: "e5m2", exp: 5, man: 2, special: Special::Ieee };
/// FP6 E3M2: bias 3, largest 28.
pub const E3M2: Minifloat = Minifloat { name: "e3m2", exp: 3, man: 2, special: Special::Finite };
/// FP6 E2M3: bias 1, largest 7.5.
pub const E2M3: Minifloat = Minifloat { name: "e2m3", exp: 2, man: 3, special: Special::Finite };
/// FP4 E2M1: bias 1, largest 6; its values are 0, 0.5, 1, 1.5, 2, 3, 4, 6.
pub const E2M1: Minifloat = Minifloat { name: "e2m1", exp: 2, man: 1, special: Special::Finite };

pub const ALL: [Minifloat; 5] = [E4M3, E5M2, E3M2, E2M3, E2M1];

/// `2^k` as an f32, for `k` in the normal range of f32 (exact, no platform maths).
fn pow2(k: i32) -> f32 {
    debug_assert!((-126..=127).contains(&k));
    f32::from_bits(((k + 127) as u32) << 23)
}

impl Minifloat {
    /// Bits per code: sign, exponent, mantissa.
    pub const fn bits(self) -> u32 {
        1 + self.exp + self.man
    }

    pub const fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }

    /// The sign bit's place.
    const fn sign_bit(self) -> u32 {
        self.exp + self.man
    }

    /// The largest finite code of either sign, without its sign bit.
    fn max_code(self) -> u32 {
        let all = (1u32 << (self.exp + self.man)) - 1;
        match self.special {
            // The all-ones exponent is infinity and NaN: one exponent less, every mantissa bit.
            Special::Ieee => all - (1 << self.man),
            // The all-ones code is NaN.
            Special::FiniteNan => all - 1,
            Special::Finite => all,
        }
    }

    /// The largest finite value.
    pub fn max_finite(self) -> f32 {
        self.decode(self.max_code() as u8)
    }

    /// The value of `code` (its low [`Minifloat::bits`] bits).
    pub fn decode(self, code: u8) -> f32 {
        let code = u32::from(code) & ((1 << self.bits()) - 1);
        let sign = if code >> self.sign_bit() == 1 { -1.0 } else { 1.0 };
        let e = (code >> self.man) & ((1 << self.exp) - 1);
        let m = code & ((1 << self.man) - 1);
        let all_ones = e == (1 << self.exp) - 1;
        match self.special {
            Special::Ieee if all_ones => return if m == 0 { sign * f32::INFINITY } else { f32::NAN },
            Special::FiniteNan if all_ones && m == (1 << self.man) - 1 => return f32::NAN,
            _ => {}
        }
        let step = pow2(1 - self.bias() - self.man as i32);
        let magnitude = if e == 0 { m as f32 * step } else { ((1 << self.man) + m) as f32 * pow2(e as i32 - self.bias() - self.man as i32) };
        sign * magnitude
    }

    /// The code of `x`: rounded to nearest, ties to even, saturating at ±max finite.
    pub fn encode(self, x: f32) -> u8 {
        let sign = (x.to_bits() >> 31) << self.sign_bit();
        if x.is_nan() {
            return match self.special {
                // The all-ones exponent with the quiet bit.
                Special::Ieee => (sign | (((1 << self.exp) - 1) << self.man) | (1 << (self.man - 1))) as u8,
                Special::FiniteNan => (sign | (self.max_code() + 1)) as u8,
                // No NaN: ml_dtypes gives the zero of the other sign.
                Special::Finite => ((sign ^ (1 << self.sign_bit())) & (1 << self.sign_bit())) as u8,
            };
        }
        let a = x.abs();
        if a >= self.max_finite() {
            return (sign | self.max_code()) as u8;
        }
        // The binade of `a` (the subnormals' for anything below the smallest normal), and `a` in
        // units of that binade's spacing, rounded to an integer: exact f32 arithmetic.
        // (Zero and f32 subnormals, far below every type's smallest subnormal, take the
        // subnormals' binade and round to 0.)
        let binade = ((a.to_bits() >> 23) as i32 - 127).max(1 - self.bias());
        let units = a * pow2(self.man as i32 - binade);
        let r = crate::engine::quantizer::rounding::round_half_even_small(units) as u32;
        // r ≤ 2^(man+1): the top is the next binade's first value.
        let magnitude = if r < 1 << self.man {
            r // subnormal (binade == min_exp), exponent field 0
        } else {
            let field = (binade + self.bias()) as u32;
            (field << self.man) + (r - (1 << self.man))
        };
        (sign | magnitude.min(self.max_code())) as u8
    }
}

/// A type's rounding in f32 arithmetic, for the hot loops: [`Rounder::round`] gives the value
/// `decode(encode(y))` directly (NaN for NaN), branch-free.
#[derive(Clone, Copy, Debug)]
pub struct Rounder {
    max: f32,
    /// Twice the largest value: magnitudes beyond saturate anyway, and capped there every
    /// binade's magic number stays finite.
    cap: f32,
    /// The exponent bits of the smallest normal: the subnormals round in its binade's spacing.
    min_binade: u32,
    /// `(23 − man) << 23`: added to a binade's exponent bits, the magic number `2^(e + 23 − man)`.
    offset: u32,
}

impl Minifloat {
    pub fn rounder(self) -> Rounder {
        Rounder { max: self.max_finite(), cap: 2.0 * self.max_finite(), min_binade: ((1 - self.bias() + 127) as u32) << 23, offset: (23 - self.man) << 23 }
    }
}

impl Rounder {
    /// `y` rounded to the type's nearest value, ties to even, saturating at ±max; NaN stays NaN
    /// (a NaN, perhaps with another payload).
    ///
    /// `|y|` in binade `e` (the subnormals' below the smallest normal) plus `c = 2^(e + 23 − man)`
    /// lands in `[c, 2c)`, where f32's spacing is the type's spacing in that binade: the addition
    /// rounds `|y|` to the type's grid, ties to even, and subtracting `c` is exact. A carry into
    /// the next binade is that binade's first value, as it should be.
    #[inline(always)]
    pub fn round(&self, y: f32) -> f32 {
        let bits = y.to_bits();
        let a = f32::from_bits(bits & 0x7fff_ffff);
        let a = if a > self.cap { self.cap } else { a };
        let c = f32::from_bits((a.to_bits() & 0x7f80_0000).max(self.min_binade).wrapping_add(self.offset));
        let r = (a + c) - c;
        let r = if r > self.max { self.max } else { r };
        f32::from_bits(r.to_bits() | (bits & 0x8000_0000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, ..ProptestConfig::default() })]
        /// The rounder gives exactly what encoding then decoding gives, for any f32.
        #[test]
        fn the_rounder_is_encode_then_decode(bits in any::<u32>(), small in -40i32..20, m in any::<u32>()) {
            // Any bit pattern, and values near the types' ranges (where every case lies).
            let near = f32::from_bits(((small + 127) as u32) << 23 | (m & 0x807f_ffff));
            for x in [f32::from_bits(bits), near] {
                for t in ALL {
                    let (r, d) = (t.rounder().round(x), t.decode(t.encode(x)));
                    if x.is_nan() {
                        prop_assert!(r.is_nan());
                    } else {
                        prop_assert_eq!(r.to_bits(), d.to_bits(), "{} of {:e}", t.name, x);
                    }
                }
            }
        }
    }

    proptest! {
        /// Any f32 bit pattern encodes to a code of the type's width whose value is NaN only for
        /// NaN, and within ±max finite.
        #[test]
        fn every_f32_has_a_code(bits in any::<u32>()) {
            let x = f32::from_bits(bits);
            for t in ALL {
                let c = t.encode(x);
                prop_assert!(u32::from(c) < 1 << t.bits());
                let v = t.decode(c);
                if x.is_nan() {
                    prop_assert!(v.is_nan() || (t.special == Special::Finite && v == 0.0));
                } else {
                    prop_assert!(v.abs() <= t.max_finite() && (v == 0.0 || v.is_sign_negative() == x.is_sign_negative()));
                }
            }
        }
    }

    /// The rounder against encode-then-decode over a sweep of every 251st f32 bit pattern.
    #[test]
    fn the_rounder_agrees_over_a_sweep_of_f32() {
        for t in ALL {
            let r = t.rounder();
            for bits in (0..=u32::MAX).step_by(251) {
                let x = f32::from_bits(bits);
                let (a, b) = (r.round(x), t.decode(t.encode(x)));
                assert!(a.to_bits() == b.to_bits() || (x.is_nan() && a.is_nan()), "{} of {x:e} ({bits:#x}): {a} against {b}", t.name);
            }
        }
    }

    #[test]
    fn the_types_have_their_published_ranges() {
        let max: Vec<f32> = ALL.iter().map(|t| t.max_finite()).collect();
        assert_eq!(max, [448.0, 57344.0, 28.0, 7.5, 6.0]);
        let fp4: Vec<f32> = (0..8).map(|c| E2M1.decode(c)).collect();
        assert_eq!(fp4, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0]);
        assert_eq!(E4M3.decode(1), 2f32.powi(-9), "the smallest subnormal");
        assert_eq!(E5M2.decode(1), 2f32.powi(-16));
        assert!(E4M3.decode(0x7f).is_nan() && E5M2.decode(0x7c) == f32::INFINITY && E5M2.decode(0x7d).is_nan());
        assert_eq!(ALL.map(|t| t.bits()), [8, 8, 6, 6, 4]);
    }

    #[test]
    fn encoding_rounds_ties_to_even_and_saturates() {
        // 2.5 lies between FP4's 2 and 3: to the even mantissa (2); 5 between 4 and 6: to 4.
        assert_eq!(E2M1.decode(E2M1.encode(2.5)), 2.0);
        assert_eq!(E2M1.decode(E2M1.encode(5.0)), 4.0);
        assert_eq!(E2M1.decode(E2M1.encode(5.01)), 6.0);
        for t in ALL {
            assert_eq!(t.decode(t.encode(1e30)), t.max_finite(), "{}", t.name);
            assert_eq!(t.decode(t.encode(f32::NEG_INFINITY)), -t.max_finite(), "{}", t.name);
            assert_eq!(t.encode(-0.0), 1 << t.sign_bit(), "{}: −0 keeps its sign", t.name);
            for code in 0..(1u32 << t.bits()) as u8 {
                let v = t.decode(code);
                if v.is_finite() {
                    assert_eq!(t.decode(t.encode(v)).to_bits(), v.to_bits(), "{} code {code}", t.name);
                }
            }
        }
    }
}
