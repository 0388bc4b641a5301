//! llama.cpp's legacy GGUF block types, 32 values a block along the last axis: Q4_0, Q4_1,
//! Q5_0, Q5_1 and Q8_0, quantized and dequantized as the `gguf` package's `quants.py` does it
//! (its NumPy port of ggml's reference quantizers), step for step in f32 so that the bytes agree:
//! - Q8_0: `d = amax / 127`, `q = round(x / d)` (half away from zero, through `1/d`); 34 bytes.
//! - Q4_0, Q5_0: `d = max / −8` (or `−16`), `max` the value of largest magnitude, with its sign;
//!   `q = trunc(x · (1/d) + 8.5)` (or `16.5`), clipped to the code range; 18 and 22 bytes.
//! - Q4_1, Q5_1: `d = (max − min) / 15` (or 31), `m = min`; `q = trunc((x − m) · (1/d) + 0.5)`;
//!   20 and 24 bytes.
//!
//! Scales and minimums are stored as f16 (rounded to nearest even), while the codes are computed
//! with the f32 `1/d`, as in the reference. Multiplications and additions are rounded one at a
//! time, never fused: gguf-py computes them so, where ggml's C may fuse them (which is why
//! gguf-py calls Q4_0's and Q5_0's rounding FMA-dependent). NaN in a block gives the reference's
//! platform-dependent codes, and is not compared.

use half::f16;

mod kernel;
mod scales;

use crate::engine::formats::measure::Meter;
use crate::engine::formats::quantized::Affine;
use crate::engine::formats::FormatError;

use kernel::{fake_quantize_blocks, measure_blocks};
pub use scales::scales_agree;

/// Values per block.
pub const BLOCK: usize = 32;

/// A legacy block type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockType {
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
}

impl BlockType {
    pub const ALL: [BlockType; 5] = [BlockType::Q4_0, BlockType::Q4_1, BlockType::Q5_0, BlockType::Q5_1, BlockType::Q8_0];

    /// The name gguf-py gives it (`Q4_0`).
    pub fn name(self) -> &'static str {
        match self {
            BlockType::Q4_0 => "Q4_0",
            BlockType::Q4_1 => "Q4_1",
            BlockType::Q5_0 => "Q5_0",
            BlockType::Q5_1 => "Q5_1",
            BlockType::Q8_0 => "Q8_0",
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        match self {
            BlockType::Q4_0 => 18,
            BlockType::Q4_1 => 20,
            BlockType::Q5_0 => 22,
            BlockType::Q5_1 => 24,
            BlockType::Q8_0 => 34,
        }
    }

    /// Bits per weight, the block's scales included.
    pub fn bits_per_weight(self) -> f64 {
        (self.type_size() * 8) as f64 / BLOCK as f64
    }

    /// Quantizes `xs`, whose length must be a multiple of [`BLOCK`] (the last axis is).
    pub fn quantize(self, xs: &[f32]) -> Result<Vec<u8>, FormatError> {
        if !xs.len().is_multiple_of(BLOCK) {
            return Err(FormatError::BlockSize { values: xs.len(), block: BLOCK });
        }
        let mut out = Vec::with_capacity(xs.len() / BLOCK * self.type_size());
        for block in xs.chunks_exact(BLOCK) {
            self.quantize_block(block.try_into().expect("chunks of BLOCK"), &mut out);
        }
        Ok(out)
    }

    /// The values `bytes` (whole blocks) stand for.
    pub fn dequantize(self, bytes: &[u8]) -> Result<Vec<f32>, FormatError> {
        if !bytes.len().is_multiple_of(self.type_size()) {
            return Err(FormatError::BlockBytes { bytes: bytes.len(), block: self.type_size() });
        }
        let mut out = Vec::with_capacity(bytes.len() / self.type_size() * BLOCK);
        for block in bytes.chunks_exact(self.type_size()) {
            out.extend(self.dequantize_block(block));
        }
        Ok(out)
    }

    /// The values [`BlockType::quantize`] then [`BlockType::dequantize`] give, and each block's
    /// grid, in one pass without the bytes: the same codes from the same f32 operations, decoded
    /// with the f16-rounded scale (and minimum) the bytes would hold. Bit for bit the two-step
    /// path (a test checks it), two to three times faster.
    pub fn fake_quantize(self, xs: &[f32]) -> Result<(Vec<f32>, Vec<Affine>), FormatError> {
        if !xs.len().is_multiple_of(BLOCK) {
            return Err(FormatError::BlockSize { values: xs.len(), block: BLOCK });
        }
        let mut values = vec![0f32; xs.len()];
        let mut groups = Vec::with_capacity(xs.len() / BLOCK);
        crate::engine::simd::dispatch!(fake_quantize_blocks(self, xs, &mut values, &mut groups));
        Ok((values, groups))
    }

    /// The metrics of [`BlockType::fake_quantize`]'s values, without keeping them: each block is
    /// quantized into one block's buffer and measured at once into `meter`, against its grid
    /// widened by half a step ([`bounds`](crate::engine::formats::quantized::bounds)). The same
    /// sums in the same order as measuring the kept values, so the same metrics bit for bit (a
    /// test checks).
    pub fn measure_fake_quantized(self, xs: &[f32], meter: &mut Meter) -> Result<(), FormatError> {
        if !xs.len().is_multiple_of(BLOCK) {
            return Err(FormatError::BlockSize { values: xs.len(), block: BLOCK });
        }
        crate::engine::simd::dispatch!(measure_blocks(self, xs, meter));
        Ok(())
    }

    fn quantize_block(self, x: &[f32; BLOCK], out: &mut Vec<u8>) {
        let inverse = |d: f32| if d == 0.0 { 0.0 } else { 1.0 / d };
        match self {
            BlockType::Q8_0 => {
                let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                let d = amax / 127.0;
                let id = inverse(d);
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(x.iter().map(|&v| (v * id).round() as i8 as u8));
            }
            BlockType::Q4_0 | BlockType::Q5_0 => {
                let (levels, top) = if self == BlockType::Q4_0 { (-8.0f32, 15u8) } else { (-16.0, 31) };
                // The value of largest magnitude, the first of equals (NumPy's argmax).
                let max = x.iter().copied().fold(0f32, |m, v| if v.abs() > m.abs() { v } else { m });
                let d = max / levels;
                let id = inverse(d);
                let q: [u8; BLOCK] = std::array::from_fn(|i| ((x[i] * id + (-levels + 0.5)).trunc() as u8).min(top));
                out.extend(f16::from_f32(d).to_le_bytes());
                pack(self, &q, out);
            }
            BlockType::Q4_1 | BlockType::Q5_1 => {
                let (steps, top) = if self == BlockType::Q4_1 { (15.0f32, 15u8) } else { (31.0, 31) };
                let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let min = x.iter().copied().fold(f32::INFINITY, f32::min);
                let d = (max - min) / steps;
                let id = inverse(d);
                let q: [u8; BLOCK] = std::array::from_fn(|i| (((x[i] - min) * id + 0.5).trunc() as u8).min(top));
                out.extend(f16::from_f32(d).to_le_bytes());
                out.extend(f16::from_f32(min).to_le_bytes());
                pack(self, &q, out);
            }
        }
    }

    fn dequantize_block(self, b: &[u8]) -> [f32; BLOCK] {
        let half = |i: usize| f16::from_le_bytes([b[i], b[i + 1]]).to_f32();
        let d = half(0);
        let mut out = [0f32; BLOCK];
        match self {
            BlockType::Q8_0 => {
                for (o, &q) in out.iter_mut().zip(&b[2..]) {
                    *o = q as i8 as f32 * d;
                }
            }
            BlockType::Q4_0 | BlockType::Q5_0 => {
                let offset = if self == BlockType::Q4_0 { 8 } else { 16 };
                let q = unpack(self, &b[2..]);
                for (o, &q) in out.iter_mut().zip(&q) {
                    *o = d * (i32::from(q) - offset) as f32;
                }
            }
            BlockType::Q4_1 | BlockType::Q5_1 => {
                let m = half(2);
                let q = unpack(self, &b[4..]);
                for (o, &q) in out.iter_mut().zip(&q) {
                    *o = d * f32::from(q) + m;
                }
            }
        }
        out
    }
}

/// The codes' low nibbles, two a byte (value `i` low, `i + 16` high), after the fifth bits as a
/// little-endian u32 for the 5-bit types.
fn pack(t: BlockType, q: &[u8], out: &mut Vec<u8>) {
    if matches!(t, BlockType::Q5_0 | BlockType::Q5_1) {
        let high = q.iter().enumerate().fold(0u32, |h, (i, &c)| h | (u32::from(c >> 4) << i));
        out.extend(high.to_le_bytes());
    }
    out.extend((0..BLOCK / 2).map(|i| (q[i] & 0x0f) | (q[i + BLOCK / 2] << 4)));
}

fn unpack(t: BlockType, b: &[u8]) -> [u8; BLOCK] {
    let (high, low) = if matches!(t, BlockType::Q5_0 | BlockType::Q5_1) { (u32::from_le_bytes([b[0], b[1], b[2], b[3]]), &b[4..]) } else { (0, b) };
    let mut q = [0u8; BLOCK];
    for i in 0..BLOCK / 2 {
        q[i] = (low[i] & 0x0f) | (((high >> i) & 1) as u8) << 4;
        q[i + BLOCK / 2] = (low[i] >> 4) | (((high >> (i + BLOCK / 2)) & 1) as u8) << 4;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass values and grids are the bytes' own, bit for bit, for every type: random
    /// blocks, constant, zero, tiny, huge and NaN ones.
    #[test]
    fn one_pass_equals_quantize_then_dequantize() {
        let mut seed = 5u32;
        // 403 blocks: the scales are found eight blocks at a time, and the last batch is short.
        let mut xs: Vec<f32> = (0..BLOCK * 403)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let u = (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                u * [1.0f32, 1e-3, 40.0, 3e4][i / BLOCK % 4]
            })
            .collect();
        xs[..BLOCK].fill(0.0);
        xs[BLOCK..2 * BLOCK].fill(0.25);
        xs[2 * BLOCK..3 * BLOCK].iter_mut().for_each(|v| *v *= 1e-30);
        xs[3 * BLOCK + 5] = 6.0e4;
        xs[4 * BLOCK + 7] = f32::NAN;
        // Equal magnitudes of both signs: the first in the block decides Q4_0's and Q5_0's sign,
        // whichever lane and round of lanes it falls in.
        for (block, first, second) in [(5, 9, 3), (6, 3, 27), (7, 12, 20), (8, 30, 31)] {
            xs[block * BLOCK + first] = -1e6;
            xs[block * BLOCK + second] = 1e6;
        }
        // Negative zeros and tiny negatives (whose codes' zero must come out +0), ±∞, all NaN.
        xs[9 * BLOCK..10 * BLOCK].iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { -0.0 } else { -1e-9 * i as f32 });
        xs[10 * BLOCK + 2] = f32::INFINITY;
        xs[10 * BLOCK + 4] = f32::NEG_INFINITY;
        xs[11 * BLOCK..12 * BLOCK].fill(f32::NAN);
        xs[12 * BLOCK + 31] = f32::NEG_INFINITY;
        // A block whose Q8_0 step is subnormal: 1/d is far from 127/amax, and codes clamp.
        xs[13 * BLOCK..14 * BLOCK].iter_mut().for_each(|v| *v *= 1e-35);
        // Q4_0's step just normal (Q5_0's subnormal), and both subnormal (their codes clamp).
        xs[14 * BLOCK..15 * BLOCK].iter_mut().enumerate().for_each(|(i, v)| *v = (i as f32 - 15.0) * 0.7e-38);
        xs[15 * BLOCK..16 * BLOCK].iter_mut().enumerate().for_each(|(i, v)| *v = (i as f32 - 15.0) * 1e-39);
        for t in BlockType::ALL {
            let bytes = t.quantize(&xs).unwrap();
            let want = t.dequantize(&bytes).unwrap();
            let (got, groups) = t.fake_quantize(&xs).unwrap();
            for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{}: value {i}: {a} against {b}", t.name());
            }
            let grids = super::super::grids(super::super::GgufType::Legacy(t), &bytes);
            assert_eq!(groups, grids.groups, "{}", t.name());
        }
        assert!(BlockType::Q8_0.fake_quantize(&[1.0; 33]).is_err());
        // The vectorizable rounding is `f32::round`, on every 97th f32 pattern and the halves.
        for bits in (0..=u32::MAX).step_by(97).chain([0x3f00_0000, 0xbf00_0000, 0x3fc0_0000, 0x4b00_0001, 0x7f80_0000, 0xff80_0000]) {
            let x = f32::from_bits(bits);
            let (a, b) = (kernel::round_half_away(x), x.round());
            assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{x:e}: {a} against {b}");
        }
    }

    #[test]
    fn blocks_round_trip_their_own_values_and_refuse_partial_blocks() {
        let x: Vec<f32> = (0..64).map(|i| (i as f32 - 30.0) * 0.1).collect();
        for t in BlockType::ALL {
            let bytes = t.quantize(&x).unwrap();
            assert_eq!(bytes.len(), 2 * t.type_size());
            let once = t.dequantize(&bytes).unwrap();
            let twice = t.dequantize(&t.quantize(&once).unwrap()).unwrap();
            let err = |a: &[f32]| a.iter().zip(&x).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(err(&once) < 0.3, "{}: {}", t.name(), err(&once));
            assert!(err(&twice) <= err(&once) + 0.3, "{}", t.name());
            assert!(matches!(t.quantize(&x[..40]), Err(FormatError::BlockSize { values: 40, block: 32 })));
            assert!(t.dequantize(&bytes[..3]).is_err());
        }
        assert_eq!(BlockType::Q4_0.bits_per_weight(), 4.5);
        assert_eq!(BlockType::Q8_0.bits_per_weight(), 8.5);
        // An all-zero block: d = 0, every value 0 again.
        for t in BlockType::ALL {
            assert!(t.dequantize(&t.quantize(&[0.0; 32]).unwrap()).unwrap().iter().all(|&v| v == 0.0));
        }
    }
}
