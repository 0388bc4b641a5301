//! [`batch_scales`](super::batch_scales) in SIMD128: Q4_0's, Q5_0's and Q8_0's scales four
//! blocks at a time, lane `j` for block `j`, each step as [`block_scale`] takes it (a block
//! whose value of largest magnitude is tied between the signs, and the _1 types, go through
//! [`block_scale`] itself).

use core::arch::wasm32::*;

use super::super::{BlockType, BLOCK};
use super::{block_scale, levels, portable, Scale, BATCH};

/// The scales of the whole blocks of `batch`, four blocks at a time, the last few by
/// [`block_scale`].
#[inline(always)]
pub(super) fn batch_scales(t: BlockType, batch: &[f32]) -> [Scale; BATCH] {
    if matches!(t, BlockType::Q4_1 | BlockType::Q5_1) {
        // The batch's sixteen cache lines asked for at once: block by block, with a block's
        // scalar work between its loads and the next block's, the misses came one at a time
        // (measured: Q4_1 on 16M values, 43 → 29 ms in V8; the four-block path below loads
        // close enough together, and gains nothing).
        crate::engine::simd::warm(batch);
        return portable(t, batch);
    }
    let blocks = batch.len() / BLOCK;
    let mut scales = [Scale::default(); BATCH];
    let mut done = 0;
    while done + 4 <= blocks {
        let x = &batch[done * BLOCK..(done + 4) * BLOCK];
        four(t, x, (&mut scales[done..done + 4]).try_into().expect("four scales"));
        done += 4;
    }
    for j in done..blocks {
        scales[j] = block_scale(t, batch[j * BLOCK..(j + 1) * BLOCK].try_into().expect("a block"));
    }
    scales
}

/// Four values of `x` from `i`.
#[inline(always)]
fn load(x: &[f32], i: usize) -> v128 {
    let four = &x[i..i + 4];
    // SAFETY: `four` holds four f32, 16 bytes; `v128_load` needs no alignment.
    unsafe { v128_load(four.as_ptr() as *const v128) }
}

// Compares are float compares where the lanes' float order is the integer one wanted: LLVM
// turns a signed integer compare of lanes it knows are not negative into an unsigned one,
// which V8 spells in four instructions; a float compare is one, and `x != x` finds NaN.

/// A vector whose lane `j` is the largest of the four lanes of `v[j]`, by `max`.
#[inline(always)]
fn fold(v: [v128; 4], max: impl Fn(v128, v128) -> v128) -> v128 {
    let ab = max(i32x4_shuffle::<0, 4, 1, 5>(v[0], v[1]), i32x4_shuffle::<2, 6, 3, 7>(v[0], v[1]));
    let cd = max(i32x4_shuffle::<0, 4, 1, 5>(v[2], v[3]), i32x4_shuffle::<2, 6, 3, 7>(v[2], v[3]));
    max(i32x4_shuffle::<0, 1, 4, 5>(ab, cd), i32x4_shuffle::<2, 3, 6, 7>(ab, cd))
}

/// [`f16_round`](crate::engine::formats::gguf::f16_round) lane by lane: the same arithmetic, its
/// tests on the magnitude as float compares (NaN by `x != x`).
#[inline(always)]
fn f16_round(x: v128) -> v128 {
    let a = v128_and(x, u32x4_splat(0x7fff_ffff));
    let normal = v128_and(i32x4_add(i32x4_add(a, u32x4_splat(0x0fff)), v128_and(u32x4_shr(a, 13), u32x4_splat(1))), u32x4_splat(!0x1fff));
    // (Signed compares: below NaN's patterns, which the last select overrides, these are
    // positive.)
    let normal = v128_bitselect(u32x4_splat(0x7f80_0000), normal, i32x4_ge(normal, u32x4_splat(0x4780_0000)));
    let small = f32x4_sub(f32x4_add(a, f32x4_splat(0.5)), f32x4_splat(0.5));
    let finite = v128_bitselect(normal, small, f32x4_ge(a, f32x4_splat(f32::from_bits(0x3880_0000))));
    let magnitude = v128_bitselect(v128_or(a, u32x4_splat(0x0040_0000)), finite, f32x4_ne(a, a));
    v128_or(v128_and(x, u32x4_splat(0x8000_0000)), magnitude)
}

/// The scales of four whole blocks `x` into `out`.
#[inline(always)]
fn four(t: BlockType, x: &[f32], out: &mut [Scale; 4]) {
    let (abs, inf, zero) = (u32x4_splat(0x7fff_ffff), u32x4_splat(0x7f80_0000), u32x4_splat(0));
    // top: the value the step comes from; (lo, hi): bounds of the values; finite: Q8_0's check.
    let (top, lo, hi, finite, tie) = match t {
        BlockType::Q8_0 => {
            let (mut m, mut raw) = ([zero; 4], [zero; 4]);
            for j in 0..4 {
                let (mut mj, mut rj) = (zero, zero);
                for k in 0..BLOCK / 4 {
                    let b = load(x, j * BLOCK + 4 * k);
                    let a = v128_and(b, abs);
                    rj = u32x4_max(rj, a);
                    mj = u32x4_max(mj, v128_andnot(a, f32x4_ne(b, b)));
                }
                (m[j], raw[j]) = (mj, rj);
            }
            let (a, raw) = (fold(m, |a, b| u32x4_max(a, b)), fold(raw, |a, b| u32x4_max(a, b)));
            (a, v128_or(a, u32x4_splat(0x8000_0000)), a, f32x4_lt(raw, inf), zero)
        }
        _ => {
            // The largest magnitude with the sign clear (an i32 maximum of the bits) and with
            // it set (a u32 maximum), as `block_signed_magnitudes`.
            let (mut pos, mut neg) = ([zero; 4], [zero; 4]);
            for j in 0..4 {
                let (mut pj, mut nj) = (zero, zero);
                for k in 0..BLOCK / 4 {
                    let b = load(x, j * BLOCK + 4 * k);
                    let b = v128_andnot(b, f32x4_ne(b, b));
                    pj = i32x4_max(pj, b);
                    nj = u32x4_max(nj, b);
                }
                (pos[j], neg[j]) = (pj, nj);
            }
            let (pos, neg) = (fold(pos, |a, b| i32x4_max(a, b)), fold(neg, |a, b| u32x4_max(a, b)));
            let neg = v128_and(v128_and(neg, abs), i32x4_lt(neg, zero));
            let tie = v128_andnot(i32x4_eq(pos, neg), i32x4_eq(pos, zero));
            let max = v128_or(u32x4_max(pos, neg), v128_and(f32x4_gt(neg, pos), u32x4_splat(0x8000_0000)));
            (max, v128_or(neg, u32x4_splat(0x8000_0000)), pos, zero, tie)
        }
    };
    let d = f32x4_div(top, f32x4_splat(levels(t)));
    let id = v128_andnot(f32x4_div(f32x4_splat(1.0), d), f32x4_eq(d, zero));
    let d16 = f16_round(d);
    let n = match t {
        BlockType::Q4_0 => 8.0,
        BlockType::Q5_0 => 16.0,
        _ => 128.0,
    };
    // `symmetric_bounds`, and the unclipped ones replaced.
    let (far, half) = (f32x4_mul(f32x4_splat(n), f32x4_abs(d16)), f32x4_mul(d16, f32x4_splat(0.5)));
    let (glo, ghi) = (f32x4_sub(f32x4_neg(far), half), f32x4_sub(far, half));
    let unclipped = v128_and(f32x4_le(glo, lo), f32x4_le(hi, ghi));
    let blo = v128_bitselect(f32x4_splat(f32::NEG_INFINITY), glo, unclipped);
    let bhi = v128_bitselect(f32x4_splat(f32::INFINITY), ghi, unclipped);
    let plain = v128_and(finite, v128_or(f32x4_eq(d, zero), f32x4_ge(d, f32x4_splat(f32::MIN_POSITIVE))));
    let lane = |v: v128, j: usize| match j {
        0 => f32x4_extract_lane::<0>(v),
        1 => f32x4_extract_lane::<1>(v),
        2 => f32x4_extract_lane::<2>(v),
        _ => f32x4_extract_lane::<3>(v),
    };
    for (j, s) in out.iter_mut().enumerate() {
        *s = Scale { id: lane(id, j), d16: lane(d16, j), min: 0.0, m16: 0.0, plain: lane(plain, j).to_bits() != 0, bounds: (lane(blo, j), lane(bhi, j)) };
    }
    if v128_any_true(tie) {
        for (j, s) in out.iter_mut().enumerate() {
            if lane(tie, j).to_bits() != 0 {
                *s = block_scale(t, x[j * BLOCK..(j + 1) * BLOCK].try_into().expect("a block"));
            }
        }
    }
}
