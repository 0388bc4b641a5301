//! The grid of every block (or K-quant sub-block) of GGUF bytes: the scale and minimum each one
//! decodes with, read from the bytes as the decoders read them, so that a block's grid holds
//! exactly the values it decodes to.

use super::kquants::{half, q3_scale, scale_min, KQuant, QK_K};
use super::legacy::{BlockType, BLOCK};
use super::GgufType;
use crate::engine::formats::quantized::{ints, Affine, ScaleCodes};

/// What [`grids`] finds.
pub struct Grids {
    /// Values per group.
    pub group: usize,
    /// The codes' values before scaling (integers), ascending.
    pub table: Vec<f32>,
    pub groups: Vec<Affine>,
    pub scale_codes: ScaleCodes,
}

/// The grids of `bytes`, whole blocks of type `t`.
pub fn grids(t: GgufType, bytes: &[u8]) -> Grids {
    let blocks = bytes.chunks_exact(t.type_size());
    match t {
        GgufType::Legacy(l) => {
            let table = match l {
                BlockType::Q4_0 => ints(-8, 7),
                BlockType::Q5_0 => ints(-16, 15),
                BlockType::Q4_1 => ints(0, 15),
                BlockType::Q5_1 => ints(0, 31),
                BlockType::Q8_0 => ints(-128, 127),
            };
            let with_min = matches!(l, BlockType::Q4_1 | BlockType::Q5_1);
            let groups = blocks.map(|b| Affine { shift: 0.0, scale: half(b, 0), offset: if with_min { half(b, 2) } else { 0.0 } }).collect();
            Grids { group: BLOCK, table, groups, scale_codes: ScaleCodes::Plain }
        }
        GgufType::K(k) => {
            let (mut groups, mut supers, mut subs) = (Vec::new(), Vec::new(), Vec::new());
            let (group, table) = match k {
                KQuant::Q2K => (16, ints(0, 3)),
                KQuant::Q3K => (16, ints(-4, 3)),
                KQuant::Q4K => (32, ints(0, 15)),
                KQuant::Q5K => (32, ints(0, 31)),
                KQuant::Q6K => (16, ints(-32, 31)),
            };
            for b in blocks {
                match k {
                    KQuant::Q2K => {
                        let (d, dmin) = (half(b, 80), half(b, 82));
                        supers.push(d);
                        for &g in &b[..16] {
                            subs.push(i32::from(g & 0x0f));
                            groups.push(Affine { shift: 0.0, scale: d * f32::from(g & 0x0f), offset: -(dmin * f32::from(g >> 4)) });
                        }
                    }
                    KQuant::Q3K => {
                        let d = half(b, 108);
                        supers.push(d);
                        for g in 0..16 {
                            let sc = q3_scale(&b[96..108], g);
                            subs.push(i32::from(sc));
                            groups.push(Affine::scaled(d * f32::from(sc)));
                        }
                    }
                    KQuant::Q4K | KQuant::Q5K => {
                        let (d, dmin) = (half(b, 0), half(b, 2));
                        supers.push(d);
                        let (sc, min) = scale_min(&b[4..16]);
                        for g in 0..8 {
                            subs.push(i32::from(sc[g]));
                            groups.push(Affine { shift: 0.0, scale: d * f32::from(sc[g]), offset: -(dmin * f32::from(min[g])) });
                        }
                    }
                    KQuant::Q6K => {
                        let d = half(b, 208);
                        supers.push(d);
                        for &s in &b[192..208] {
                            subs.push(i32::from(s as i8));
                            groups.push(Affine::scaled(d * f32::from(s as i8)));
                        }
                    }
                }
            }
            debug_assert_eq!(groups.len() * group, supers.len() * QK_K);
            Grids { group, table, groups, scale_codes: ScaleCodes::Sub { supers, subs } }
        }
    }
}
