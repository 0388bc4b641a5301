//! llama.cpp's K-quant super-blocks (256 values): Q2_K, Q3_K, Q4_K, Q5_K and Q6_K, decoded as the
//! `gguf` package's quants.py decodes them, step for step in f32 (each sub-block's scale is
//! `d · sc` first, then times the code; the minimum subtracted after), so that the values agree
//! bit for bit. Their quantizers are in [`super::kquantize`].

use half::f16;

use crate::engine::formats::FormatError;

/// Values per super-block.
pub const QK_K: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KQuant {
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
}

/// The f16 at byte `at` of `b`, as f32.
pub(super) fn half(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

/// Q4_K's and Q5_K's eight 6-bit scales and minimums, packed in 12 bytes.
pub(super) fn scale_min(s: &[u8]) -> ([u8; 8], [u8; 8]) {
    let (mut sc, mut min) = ([0u8; 8], [0u8; 8]);
    for i in 0..4 {
        sc[i] = s[i] & 0x3f;
        min[i] = s[4 + i] & 0x3f;
        sc[4 + i] = (s[8 + i] & 0x0f) | ((s[i] >> 2) & 0x30);
        min[4 + i] = (s[8 + i] >> 4) | ((s[4 + i] >> 2) & 0x30);
    }
    (sc, min)
}

/// Q3_K's sub-block `g`'s 6-bit signed scale, from its 12 packed bytes `s`.
pub(super) fn q3_scale(s: &[u8], g: usize) -> i8 {
    let low = (s[g % 8] >> (4 * (g / 8))) & 0x0f;
    let high = (s[8 + g % 4] >> (2 * (g / 4))) & 0x03;
    ((low | (high << 4)) as i8).wrapping_sub(32)
}

impl KQuant {
    pub const ALL: [KQuant; 5] = [KQuant::Q2K, KQuant::Q3K, KQuant::Q4K, KQuant::Q5K, KQuant::Q6K];

    /// The name gguf-py gives it (`Q4_K`).
    pub fn name(self) -> &'static str {
        match self {
            KQuant::Q2K => "Q2_K",
            KQuant::Q3K => "Q3_K",
            KQuant::Q4K => "Q4_K",
            KQuant::Q5K => "Q5_K",
            KQuant::Q6K => "Q6_K",
        }
    }

    /// Bytes per super-block.
    pub fn type_size(self) -> usize {
        match self {
            KQuant::Q2K => 84,
            KQuant::Q3K => 110,
            KQuant::Q4K => 144,
            KQuant::Q5K => 176,
            KQuant::Q6K => 210,
        }
    }

    /// Bits per weight, every scale included.
    pub fn bits_per_weight(self) -> f64 {
        (self.type_size() * 8) as f64 / QK_K as f64
    }

    /// The values `bytes` (whole super-blocks) stand for.
    pub fn dequantize(self, bytes: &[u8]) -> Result<Vec<f32>, FormatError> {
        if !bytes.len().is_multiple_of(self.type_size()) {
            return Err(FormatError::BlockBytes { bytes: bytes.len(), block: self.type_size() });
        }
        let mut out = vec![0f32; bytes.len() / self.type_size() * QK_K];
        crate::engine::simd::dispatch!(decode_blocks(self, bytes, &mut out));
        Ok(out)
    }
}

#[inline(always)]
fn decode_blocks(t: KQuant, bytes: &[u8], out: &mut [f32]) {
    for (b, o) in bytes.chunks_exact(t.type_size()).zip(out.chunks_exact_mut(QK_K)) {
        decode(t, b, o.try_into().expect("a super-block"));
    }
}

/// One super-block's values, a run of codes at a time (loops over fixed spans that vectorize).
/// Value `p` of Q2_K, Q3_K and Q4_K/Q5_K reads the byte of `qs` at `32·(p / 128 or 64) + p % 32`
/// (shifted by its place in between), Q3_K's and Q5_K's high bit at `p % 32`, bit `p / 32`.
#[inline(always)]
fn decode(t: KQuant, b: &[u8], out: &mut [f32; QK_K]) {
    match t {
        KQuant::Q2K => {
            // scales (16) | qs (64) | d | dmin
            let (scales, qs) = (&b[..16], &b[16..80]);
            let (d, dmin) = (half(b, 80), half(b, 82));
            for (run, o) in out.chunks_exact_mut(16).enumerate() {
                let (j, s, l0) = (run / 8, (run % 8) / 2, 16 * (run % 2));
                let g = scales[run];
                let (dl, ml) = (d * f32::from(g & 0x0f), dmin * f32::from(g >> 4));
                for (l, o) in o.iter_mut().enumerate() {
                    let q = ((qs[j * 32 + l0 + l] >> (2 * s)) & 3) as f32;
                    *o = dl * q - ml;
                }
            }
        }
        KQuant::Q3K => {
            // hmask (32) | qs (64) | scales (12) | d
            let (hmask, qs, s) = (&b[..32], &b[32..96], &b[96..108]);
            let d = half(b, 108);
            for (run, o) in out.chunks_exact_mut(16).enumerate() {
                let (j, s2, l0) = (run / 8, (run % 8) / 2, 16 * (run % 2));
                let dl = d * f32::from(q3_scale(s, run));
                let bit = run / 2;
                for (l, o) in o.iter_mut().enumerate() {
                    let low = ((qs[j * 32 + l0 + l] >> (2 * s2)) & 3) as i8;
                    // The offset of 4 applies where the mask bit is 0.
                    let high = ((hmask[l0 + l] >> bit) & 1) ^ 1;
                    *o = dl * f32::from(low - ((high << 2) as i8));
                }
            }
        }
        KQuant::Q4K | KQuant::Q5K => {
            // d | dmin | scales (12) | [qh (32)] | qs (128)
            let (d, dmin) = (half(b, 0), half(b, 2));
            let (sc, min) = scale_min(&b[4..16]);
            let five = t == KQuant::Q5K;
            let (qh, qs) = if five { (&b[16..48], &b[48..176]) } else { (&b[16..16], &b[16..144]) };
            for (g, o) in out.chunks_exact_mut(32).enumerate() {
                let (j, h) = (g / 2, g % 2);
                let (dl, ml) = (d * f32::from(sc[g]), dmin * f32::from(min[g]));
                for (l, o) in o.iter_mut().enumerate() {
                    let mut q = (qs[j * 32 + l] >> (4 * h)) & 0x0f;
                    if five {
                        q |= ((qh[l] >> g) & 1) << 4;
                    }
                    *o = dl * f32::from(q) - ml;
                }
            }
        }
        KQuant::Q6K => {
            // ql (128) | qh (64) | scales (16, int8) | d
            let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
            let d = half(b, 208);
            for (run, o) in out.chunks_exact_mut(16).enumerate() {
                let (j, r0) = (run / 8, 16 * (run % 8));
                let dl = d * f32::from(scales[run] as i8);
                for (i, o) in o.iter_mut().enumerate() {
                    let r = r0 + i;
                    let low = (ql[j * 64 + r % 64] >> (4 * (r / 64))) & 0x0f;
                    let high = (qh[j * 32 + r % 32] >> (2 * (r / 32))) & 0x03;
                    let q = ((low | (high << 4)) as i8).wrapping_sub(32);
                    *o = dl * f32::from(q);
                }
            }
        }
    }
}
