//! The other GGUF block types this engine decodes (not quantizes): IQ4_NL (a non-linear 4-bit
//! code, blocks of 32 with an f16 scale) and ggml's MXFP4 (E2M1 values doubled, blocks of 32
//! with an E8M0 scale halved), as the `gguf` package's quants.py decodes them.

use crate::engine::formats::FormatError;

/// Values per block of both.
pub const BLOCK: usize = 32;

/// IQ4_NL's code values.
pub const IQ4_NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];
/// ggml's MXFP4 code values: E2M1's, doubled.
pub const MXFP4: [i8; 16] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/// ggml's `e8m0_to_fp32_half`: `2^(x − 127) / 2`, exactly.
pub fn e8m0_half(x: u8) -> f32 {
    if x < 2 { f32::from_bits(0x0020_0000 << x) } else { f32::from_bits(u32::from(x - 1) << 23) }
}

/// The two block types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Other {
    Iq4Nl,
    Mxfp4,
}

impl Other {
    pub fn name(self) -> &'static str {
        match self {
            Other::Iq4Nl => "IQ4_NL",
            Other::Mxfp4 => "MXFP4",
        }
    }

    pub fn type_size(self) -> usize {
        match self {
            Other::Iq4Nl => 18,
            Other::Mxfp4 => 17,
        }
    }

    /// The scale of a block and where its codes start.
    fn scale(self, b: &[u8]) -> (f32, usize) {
        match self {
            Other::Iq4Nl => (half::f16::from_le_bytes([b[0], b[1]]).to_f32(), 2),
            Other::Mxfp4 => (e8m0_half(b[0]), 1),
        }
    }

    /// The code values.
    pub fn table(self) -> &'static [i8; 16] {
        match self {
            Other::Iq4Nl => &IQ4_NL,
            Other::Mxfp4 => &MXFP4,
        }
    }

    /// The scale of each block of `bytes`.
    pub fn scales(self, bytes: &[u8]) -> Vec<f32> {
        bytes.chunks_exact(self.type_size()).map(|b| self.scale(b).0).collect()
    }

    /// The values `bytes` (whole blocks) stand for.
    pub fn dequantize(self, bytes: &[u8]) -> Result<Vec<f32>, FormatError> {
        if !bytes.len().is_multiple_of(self.type_size()) {
            return Err(FormatError::BlockBytes { bytes: bytes.len(), block: self.type_size() });
        }
        let table = self.table();
        let mut out = Vec::with_capacity(bytes.len() / self.type_size() * BLOCK);
        for b in bytes.chunks_exact(self.type_size()) {
            let (d, at) = self.scale(b);
            let qs = &b[at..at + 16];
            out.extend(qs.iter().map(|&q| d * f32::from(table[usize::from(q & 0x0f)])));
            out.extend(qs.iter().map(|&q| d * f32::from(table[usize::from(q >> 4)])));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e8m0_half_is_half_the_power_of_two() {
        for x in 0..=254u8 {
            let want = libm::exp2(f64::from(x) - 128.0);
            assert_eq!(f64::from(e8m0_half(x)), want, "{x}");
        }
    }
}
