//! The OCP microscaling (MX v1.0) formats: blocks of 32 values along the last axis that share
//! one power-of-two scale `X`, stored as an E8M0 byte (`X = 2^(b − 127)`, 255 for NaN), each
//! value stored as `cast(x / X)` in the element type, saturating. MXFP8 (E4M3, E5M2), MXFP6
//! (E3M2, E2M3), MXFP4 (E2M1) and MXINT8.
//!
//! The shared exponent is `floor(log2 amax) − emax_elem` in the specification ([`ScaleRounding::
//! Floor`]), `amax` the block's largest |x| and `emax_elem` the exponent of the element type's
//! largest value. Implementations round it differently, and this module computes each as
//! torchao's `mx_formats` reference does (tests/golden/formats/make_mx.py checks every element
//! type and rounding bit for bit):
//! - **floor**, **ceil**: the exponent of `amax` taken from its f32 bits, rounded down or up;
//! - **even**: `amax` first rounded to the element's mantissa width (so that a block whose
//!   largest value would round up into the next binade gets the larger scale), then floor;
//! - **rceil**: `ceil(log2(amax / max_elem))`, so that no value saturates (NVIDIA's definition
//!   for cuBLAS, and the `cvt.rp.satfinite.ue8m0` instruction). The ceiling is exact here; in
//!   eager mode torchao takes it with f32 `log2`, which misses by one just above a power of two
//!   (the golden script records those blocks).
//!
//! Two details follow torchao rather than the letter of the specification: with floor, ceil and
//! even the values are divided by `max(X, 2^−126)` (the smallest normal f32, for an all-tiny
//! block whose `X` is 2^−127), and rceil multiplies by `2^(127 − b)`, by 1 when `b` is 0, by
//! 2^−127 when `amax` is infinite. Values come back as `f32(code) · X` with `X = 2^(b − 127)`
//! exactly; a block with a NaN has scale 255 and decodes to NaN throughout.
//!
//! MXINT8, which torchao does not have, follows the specification: 8-bit two's complement codes
//! with an implicit scale of 2^−6 (values `k / 64`, `emax_elem` 0), rounded to nearest even and
//! clamped to ±127 (the code −128 is not used, so the grid is symmetric); its `even` rounding
//! keeps 6 mantissa bits.

use super::minifloat::Minifloat;
use super::measure::{unless_clipped, Meter};
use super::quantized::{bounds, Affine};
use super::FormatError;

/// Values per block.
pub const BLOCK: usize = 32;
/// The E8M0 code of NaN.
pub const SCALE_NAN: u8 = 255;
const E8M0_BIAS: i32 = 127;

/// An MX element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Element {
    Float(Minifloat),
    /// Two's complement, implicit scale 2^−6.
    Int8,
}

impl Element {
    /// Bits per element.
    pub fn bits(self) -> u32 {
        match self {
            Element::Float(t) => t.bits(),
            Element::Int8 => 8,
        }
    }

    /// The largest finite element value.
    pub fn max(self) -> f32 {
        match self {
            Element::Float(t) => t.max_finite(),
            Element::Int8 => 127.0 / 64.0,
        }
    }

    /// `emax_elem`: the exponent of the largest value.
    pub fn emax(self) -> i32 {
        ((self.max().to_bits() >> 23) & 0xff) as i32 - 127
    }

    /// Mantissa bits, for the `even` rounding of the scale.
    fn mantissa_bits(self) -> u32 {
        match self {
            Element::Float(t) => t.man,
            Element::Int8 => 6,
        }
    }

    /// The element code of `y` (already divided by the scale): nearest, ties to even, saturating.
    #[inline]
    pub fn encode(self, y: f32) -> u8 {
        match self {
            Element::Float(t) => t.encode(y),
            Element::Int8 => {
                let k = crate::engine::quantizer::rounding::round_half_even_small((y * 64.0).clamp(-127.0, 127.0));
                // NaN clamps to NaN and converts to 0; its block decodes to NaN anyway.
                (k as i32) as i8 as u8
            }
        }
    }

    /// The element value of `code`.
    #[inline]
    pub fn decode(self, code: u8) -> f32 {
        match self {
            Element::Float(t) => t.decode(code),
            Element::Int8 => f32::from(code as i8) / 64.0,
        }
    }
}

/// How the shared exponent is rounded (`--scale-rounding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleRounding {
    /// The specification's `floor(log2 amax) − emax_elem`.
    #[default]
    Floor,
    Ceil,
    Even,
    /// `ceil(log2(amax / max_elem))`: nothing saturates.
    Rceil,
}

impl ScaleRounding {
    pub const ALL: [ScaleRounding; 4] = [ScaleRounding::Floor, ScaleRounding::Ceil, ScaleRounding::Even, ScaleRounding::Rceil];

    pub fn name(self) -> &'static str {
        match self {
            ScaleRounding::Floor => "floor",
            ScaleRounding::Ceil => "ceil",
            ScaleRounding::Even => "even",
            ScaleRounding::Rceil => "rceil",
        }
    }

    pub fn parse(s: &str) -> Option<ScaleRounding> {
        ScaleRounding::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// The value of an E8M0 scale: `2^(b − 127)`, NaN for 255.
#[inline]
pub fn scale_value(b: u8) -> f32 {
    match b {
        SCALE_NAN => f32::NAN,
        _ => pow2(i32::from(b) - E8M0_BIAS),
    }
}

/// `2^k` for `k` from −149 to 127 (exact; subnormal below −126).
fn pow2(k: i32) -> f32 {
    if k >= -126 { f32::from_bits(((k + 127) as u32) << 23) } else { f32::from_bits(1 << (k + 149)) }
}

/// The exact `ceil(log2 d)` of a positive finite `d`.
fn ceil_log2(d: f32) -> i32 {
    let b = d.to_bits();
    let (e, m) = ((b >> 23) & 0xff, b & 0x7f_ffff);
    if e == 0 {
        // A subnormal, m · 2^−149.
        (31 - m.leading_zeros() as i32) - 149 + i32::from(!m.is_power_of_two())
    } else {
        e as i32 - 127 + i32::from(m != 0)
    }
}

/// A block's E8M0 scale from its `amax` (NaN when the block holds one), and the factor its values
/// are multiplied by before they are cast.
#[inline]
pub fn block_scale(elem: Element, rounding: ScaleRounding, amax: f32) -> (u8, f32) {
    if rounding == ScaleRounding::Rceil {
        let d = amax / elem.max();
        let b = if d.is_nan() {
            SCALE_NAN
        } else if d.is_infinite() {
            254
        } else if d == 0.0 {
            0
        } else {
            (ceil_log2(d).clamp(-E8M0_BIAS, E8M0_BIAS) + E8M0_BIAS) as u8
        };
        let factor = match b {
            SCALE_NAN => f32::NAN,
            254 => scale_value(0),
            0 => 1.0,
            _ => pow2(E8M0_BIAS - i32::from(b)),
        };
        return (b, factor);
    }
    if amax.is_nan() {
        return (SCALE_NAN, 0.0);
    }
    let mut bits = amax.to_bits();
    if rounding == ScaleRounding::Even {
        bits = bits.wrapping_add(1 << (23 - elem.mantissa_bits() - 1)) & 0xff80_0000;
    }
    let mut exp = ((bits >> 23) & 0xff) as i32 - 127;
    if rounding == ScaleRounding::Ceil && bits & 0x7f_ffff != 0 {
        exp += 1;
    }
    let b = ((exp - elem.emax()).clamp(-E8M0_BIAS, E8M0_BIAS + 1) + E8M0_BIAS) as u8;
    // Divide by max(X, 2^−126), as a multiplication by an exact power of two (for 255, an
    // infinite X: zero).
    let factor = match b {
        SCALE_NAN => 0.0,
        0 | 1 => pow2(126),
        _ => pow2(E8M0_BIAS - i32::from(b)),
    };
    (b, factor)
}

/// A tensor in an MX format.
#[derive(Clone, Debug, PartialEq)]
pub struct Mx {
    /// One element code per value.
    pub codes: Vec<u8>,
    /// One E8M0 scale per block of [`BLOCK`].
    pub scales: Vec<u8>,
    pub values: Vec<f32>,
}

/// The largest |x| of a block (NaN if it holds one, as `torch.amax`), in integer lanes
/// ([`block_magnitudes`](crate::engine::simd::block_magnitudes)).
#[inline(always)]
pub(crate) fn block_amax(block: &[f32]) -> f32 {
    let (_, raw) = crate::engine::simd::block_magnitudes(block);
    if raw > crate::engine::simd::INFINITY_BITS { f32::NAN } else { f32::from_bits(raw) }
}

/// Quantizes `xs` (row-major, shaped `shape`) in blocks of [`BLOCK`] along the last axis.
pub fn quantize(elem: Element, rounding: ScaleRounding, xs: &[f32], shape: &[usize]) -> Result<Mx, FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let mut out = Mx { codes: vec![0; xs.len()], scales: Vec::with_capacity(xs.len() / BLOCK), values: vec![0.0; xs.len()] };
    for ((block, codes), values) in xs.chunks_exact(BLOCK).zip(out.codes.chunks_exact_mut(BLOCK)).zip(out.values.chunks_exact_mut(BLOCK)) {
        let (b, factor) = block_scale(elem, rounding, block_amax(block));
        let x_scale = scale_value(b);
        for ((&x, c), v) in block.iter().zip(codes.iter_mut()).zip(values.iter_mut()) {
            // An exact power-of-two factor: the product is the reference's quotient.
            *c = elem.encode(x * factor);
            *v = elem.decode(*c) * x_scale;
        }
        out.scales.push(b);
    }
    Ok(out)
}

/// The scales and values of [`quantize`] without the codes: the hot path (the element rounded in
/// f32 arithmetic, [`super::minifloat::Rounder`]), equal to it bit for bit.
pub fn fake_quantize(elem: Element, rounding: ScaleRounding, xs: &[f32], shape: &[usize]) -> Result<(Vec<u8>, Vec<f32>), FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let mut values = vec![0f32; xs.len()];
    let mut scales = Vec::with_capacity(xs.len() / BLOCK);
    for (block, out) in xs.chunks_exact(BLOCK).zip(values.chunks_exact_mut(BLOCK)) {
        scales.push(block_values(elem, rounding, block, out).0);
    }
    Ok((scales, values))
}

/// The metrics of [`fake_quantize`]'s values without keeping them: each block made into one
/// block's buffer and measured at once into `meter` against its grid (`table`, the element's
/// values, scaled), in the order [`super::measure::measure`] sums them.
pub fn measure_fake_quantized(elem: Element, rounding: ScaleRounding, xs: &[f32], shape: &[usize], table: &[f32], meter: &mut Meter) -> Result<(), FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    crate::engine::simd::dispatch!(measure_blocks(elem, rounding, xs, table, meter));
    Ok(())
}

#[inline(always)]
fn measure_blocks(elem: Element, rounding: ScaleRounding, xs: &[f32], table: &[f32], meter: &mut Meter) {
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    super::measure::measure_blocks::<BLOCK>(&mut m, xs, #[inline(always)] |block, out| {
        let (b, amax) = block_values(elem, rounding, block, out);
        let grid = bounds(Affine::scaled(scale_value(b)), table);
        // No |x| beyond the block's largest (NaN there when the block holds one): a block whose
        // largest lies within its bounds is measured without the clipping checks.
        unless_clipped(grid, (-amax, amax))
    });
    *meter = m;
}

/// Bits per value: the element's, and the 8-bit scale shared by a block.
pub fn bits_per_weight(elem: Element) -> f64 {
    f64::from(elem.bits()) + 8.0 / BLOCK as f64
}

/// One block's values into `out`; returns its E8M0 scale and its largest |x| ([`block_amax`]).
#[inline(always)]
fn block_values(elem: Element, rounding: ScaleRounding, block: &[f32], out: &mut [f32]) -> (u8, f32) {
    let amax = block_amax(block);
    let (b, factor) = block_scale(elem, rounding, amax);
    let x_scale = scale_value(b);
    match elem {
        Element::Float(t) => {
            let r = t.rounder();
            for (o, &x) in out.iter_mut().zip(block) {
                *o = r.round(x * factor) * x_scale;
            }
        }
        Element::Int8 => {
            for (o, &x) in out.iter_mut().zip(block) {
                let k = crate::engine::quantizer::rounding::round_half_even_small((x * factor * 64.0).clamp(-127.0, 127.0));
                *o = if k.is_nan() { 0.0 } else { k / 64.0 } * x_scale;
            }
        }
    }
    (b, amax)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::minifloat::{E2M1, E4M3};

    #[test]
    fn the_specification_example_scales() {
        // amax 6 in FP4: floor(log2 6) − 2 = 0, X = 1; amax 7 under floor: X = 1 and 7 saturates
        // to 6; under rceil: ceil(log2(7/6)) = 1, X = 2.
        let fp4 = Element::Float(E2M1);
        assert_eq!(block_scale(fp4, ScaleRounding::Floor, 6.0).0, 127);
        assert_eq!(block_scale(fp4, ScaleRounding::Floor, 7.0).0, 127);
        assert_eq!(block_scale(fp4, ScaleRounding::Rceil, 7.0).0, 128);
        assert_eq!(block_scale(fp4, ScaleRounding::Ceil, 4.0).0, 127);
        assert_eq!(block_scale(fp4, ScaleRounding::Ceil, 4.5).0, 128);
        // Even: 7.9 rounds to 8 at one mantissa bit, so the scale is 2.
        assert_eq!(block_scale(fp4, ScaleRounding::Even, 7.9).0, 128);
        assert_eq!(block_scale(fp4, ScaleRounding::Even, 5.9).0, 127);
        assert_eq!(block_scale(Element::Float(E4M3), ScaleRounding::Floor, f32::NAN).0, SCALE_NAN);
        assert_eq!(Element::Int8.emax(), 0);
        assert_eq!([Element::Float(E4M3).emax(), Element::Float(E2M1).emax()], [8, 2]);
    }

    #[test]
    fn exact_ceil_log2() {
        for k in -149..128 {
            let p = pow2(k);
            assert_eq!(ceil_log2(p), k, "2^{k}");
            // (The f32 after 2^−149 is 2^−148 itself.)
            if (-148..127).contains(&k) {
                assert_eq!(ceil_log2(f32::from_bits(p.to_bits() + 1)), k + 1, "just above 2^{k}");
            }
        }
        assert_eq!(ceil_log2(3.0 * 2f32.powi(-149)), -147);
    }

    #[test]
    fn blocks_run_along_the_last_axis() {
        let xs: Vec<f32> = (0..64).map(|i| i as f32 / 8.0).collect();
        let q = quantize(Element::Int8, ScaleRounding::Floor, &xs, &[2, 32]).unwrap();
        assert_eq!(q.scales.len(), 2);
        // The first block: amax 3.875, X = 2; the second: amax 7.875, X = 4.
        assert_eq!(q.scales, [128, 129]);
        assert_eq!(q.values[1], 0.125);
        assert!(matches!(quantize(Element::Int8, ScaleRounding::Floor, &xs, &[4, 16]), Err(FormatError::BlockSize { values: 16, block: 32 })));
        assert!(quantize(Element::Int8, ScaleRounding::Floor, &[], &[0, 32]).unwrap().codes.is_empty());
    }
}
