//! llama.cpp's GGUF block types: the legacy blocks of 32 ([`legacy`]: Q4_0, Q4_1, Q5_0, Q5_1,
//! Q8_0) and the K-quants' super-blocks of 256 ([`kquants`] decodes them, [`kquantize`] is
//! llama.cpp's reference quantizer for them, which searches each sub-block's scale).

mod grid;
pub mod kquantize;
pub mod kquants;
pub mod legacy;
pub mod other;

pub use grid::{grids, Grids};
pub use kquants::{KQuant, QK_K};
pub use legacy::{BlockType, BLOCK};

use super::measure::Meter;
use super::quantized::bounds;
use super::FormatError;

/// Super-blocks quantized, decoded and measured together by [`GgufType::measure_quantized`]
/// (64 K-quant super-blocks: 64 KiB of values, and as much decoded, in L2).
const MEASURED_BLOCKS: usize = 64;

/// `x` rounded to the nearest f16 value and back to f32, as `f16::from_f32(x).to_f32()` gives it
/// (ties to even, past 65504 to ±∞, f16's subnormals, ±0 kept; NaN stays NaN), in integer and
/// float operations without a branch, so that a loop over blocks' scales runs in vector lanes
/// (`half`'s conversion branches on the exponent, and V8 compiles it as scalar code).
#[inline(always)]
pub(crate) fn f16_round(x: f32) -> f32 {
    let bits = x.to_bits();
    let (sign, a) = (bits & 0x8000_0000, bits & 0x7fff_ffff);
    // Normal f16 range: the f32 mantissa rounded to 10 bits, to even; a carry past 65504 gives
    // 65536's bits or more, which are f16's infinity.
    let normal = (a + 0x0fff + ((a >> 13) & 1)) & !0x1fff;
    let normal = if normal >= 0x4780_0000 { 0x7f80_0000 } else { normal };
    // Below 2^-14: a multiple of f16's smallest step, 2^-24, which is the f32 step at 0.5.
    let small = ((f32::from_bits(a) + 0.5) - 0.5).to_bits();
    let magnitude = if a > 0x7f80_0000 { a | 0x0040_0000 } else if a >= 0x3880_0000 { normal } else { small };
    f32::from_bits(sign | magnitude)
}

/// A GGUF block type this engine quantizes and decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgufType {
    Legacy(BlockType),
    K(KQuant),
}

impl GgufType {
    pub const ALL: [GgufType; 10] = [
        GgufType::Legacy(BlockType::Q4_0),
        GgufType::Legacy(BlockType::Q4_1),
        GgufType::Legacy(BlockType::Q5_0),
        GgufType::Legacy(BlockType::Q5_1),
        GgufType::Legacy(BlockType::Q8_0),
        GgufType::K(KQuant::Q2K),
        GgufType::K(KQuant::Q3K),
        GgufType::K(KQuant::Q4K),
        GgufType::K(KQuant::Q5K),
        GgufType::K(KQuant::Q6K),
    ];

    /// The name gguf-py gives it (`Q4_K`).
    pub fn name(self) -> &'static str {
        match self {
            GgufType::Legacy(t) => t.name(),
            GgufType::K(t) => t.name(),
        }
    }

    /// Values per block (or super-block).
    pub fn block_size(self) -> usize {
        match self {
            GgufType::Legacy(_) => BLOCK,
            GgufType::K(_) => QK_K,
        }
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        match self {
            GgufType::Legacy(t) => t.type_size(),
            GgufType::K(t) => t.type_size(),
        }
    }

    pub fn bits_per_weight(self) -> f64 {
        (self.type_size() * 8) as f64 / self.block_size() as f64
    }

    /// Quantizes `xs` (a whole number of blocks) as llama.cpp's reference quantizer does.
    pub fn quantize(self, xs: &[f32]) -> Result<Vec<u8>, FormatError> {
        match self {
            GgufType::Legacy(t) => t.quantize(xs),
            GgufType::K(t) => kquantize::quantize(t, xs),
        }
    }

    /// The values `bytes` (whole blocks) stand for.
    pub fn dequantize(self, bytes: &[u8]) -> Result<Vec<f32>, FormatError> {
        match self {
            GgufType::Legacy(t) => t.dequantize(bytes),
            GgufType::K(t) => t.dequantize(bytes),
        }
    }

    /// The metrics of [`GgufType::quantize`]'s values as [`GgufType::dequantize`] decodes them,
    /// without keeping them: a few super-blocks at a time quantized, decoded and measured into
    /// `meter`, each (sub-)block against its grid ([`grids`]), in the order that measuring the
    /// kept values sums them (the same metrics bit for bit; a test checks).
    pub fn measure_quantized(self, xs: &[f32], meter: &mut Meter) -> Result<(), FormatError> {
        let block = self.block_size();
        if !xs.len().is_multiple_of(block) {
            return Err(FormatError::BlockSize { values: xs.len(), block });
        }
        let table = grids(self, &[]).table;
        let mut values = vec![0f32; MEASURED_BLOCKS * block];
        for chunk in xs.chunks(MEASURED_BLOCKS * block) {
            let values = &mut values[..chunk.len()];
            let bytes = match self {
                GgufType::K(t) => kquantize::quantize_with_values(t, chunk, values)?,
                GgufType::Legacy(_) => {
                    let bytes = self.quantize(chunk)?;
                    values.copy_from_slice(&self.dequantize(&bytes)?);
                    bytes
                }
            };
            let g = grids(self, &bytes);
            crate::engine::simd::dispatch!(measure_groups(chunk, values, &g, &table, meter));
        }
        Ok(())
    }
}

/// Each group of `xs` and its `values` into `meter`, against its grid.
#[inline(always)]
fn measure_groups(xs: &[f32], values: &[f32], g: &Grids, table: &[f32], meter: &mut Meter) {
    let bounds: Vec<(f32, f32)> = g.groups.iter().map(|a| bounds(*a, table)).collect();
    meter.add_blocks(xs, values, g.group, &bounds);
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// `f16_round` is `half`'s round trip on a sweep of every f32 pattern, and on every pattern
    /// near the edges: f16's largest value and overflow, its subnormals and the values that
    /// round to 0, and ties at every exponent.
    #[test]
    fn f16_round_is_halfs_round_trip() {
        let dense = |lo: u32, hi: u32| lo..=hi;
        let ties = (0u32..256).flat_map(|e| [0x1000u32, 0x3000, 0x7f_f000, 0x40_1000].map(move |m| (e << 23) | m));
        let patterns = (0..=u32::MAX)
            .step_by(4099)
            .chain(dense(0x477f_e000, 0x4780_0100))
            .chain(dense(0x387f_f000, 0x3880_1000))
            .chain(dense(0x32ff_f000, 0x3380_1000))
            .chain(dense(0x7f7f_ff00, 0x7fc0_0100))
            .chain(dense(0, 0x1000))
            .chain(ties);
        for bits in patterns {
            for b in [bits, bits | 0x8000_0000] {
                let x = f32::from_bits(b);
                let (got, want) = (f16_round(x), f16::from_f32(x).to_f32());
                assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{x:e} ({b:#x}): {got:e} against {want:e}");
            }
        }
    }
}
