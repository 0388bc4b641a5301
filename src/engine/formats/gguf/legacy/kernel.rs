//! The legacy blocks' fake quantization in one pass: each block's values from its scale
//! ([`scales`](super::scales)), made a batch at a time and, for the metrics, measured at once.

use super::scales::{batch_scales, Scale, BATCH};
use super::{BlockType, BLOCK};
use crate::engine::formats::measure::Meter;
use crate::engine::formats::quantized::Affine;

/// `x` rounded half away from zero, as `f32::round` (which is a call, not a vector instruction):
/// `trunc(x ± 0.49999997)`, the largest f32 below ½ with `x`'s sign. The sum rounds up to the
/// next integer exactly when `x` is at or past a half (a half plus 0.49999997 is a tie that
/// rounds to the even, upper integer). Equal to `f32::round` on all 2³² patterns, zeros' signs
/// included (checked once exhaustively; a test of the parent module sweeps every 97th); NaN
/// stays NaN and ±∞ stays ±∞.
#[inline(always)]
pub(super) fn round_half_away(x: f32) -> f32 {
    (x + 0.499_999_97f32.copysign(x)).trunc()
}

/// [`BlockType::fake_quantize`]'s loop over whole blocks.
#[inline(always)]
pub(super) fn fake_quantize_blocks(t: BlockType, xs: &[f32], values: &mut [f32], groups: &mut Vec<Affine>) {
    let mut outs = values.chunks_exact_mut(BLOCK);
    each_block(t, xs, #[inline(always)] |x, s| {
        let out = outs.next().expect("a block of values").try_into().expect("a block");
        groups.push(block_values(t, x, s, out));
    });
}

/// [`BlockType::measure_fake_quantized`]'s loop: the blocks' values made ([`each_block`]) and
/// measured a batch at a time against each block's bounds ([`Scale::bounds`]).
#[inline(always)]
pub(super) fn measure_blocks(t: BlockType, xs: &[f32], meter: &mut Meter) {
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    crate::engine::formats::measure::measure_batches::<BLOCK>(&mut m, xs, #[inline(always)] |x, out, grids| {
        let (mut outs, mut grids) = (out.chunks_exact_mut(BLOCK), grids.iter_mut());
        each_block(t, x, #[inline(always)] |x, s| {
            let out = outs.next().expect("a block of values").try_into().expect("a block");
            block_values(t, x, s, out);
            *grids.next().expect("a block's bounds") = s.bounds;
        });
    });
    *meter = m;
}

/// Each whole block of `xs` with its scale, in order: the scales of [`BATCH`] blocks found
/// together ([`batch_scales`]), then their values.
#[inline(always)]
fn each_block(t: BlockType, xs: &[f32], mut f: impl FnMut(&[f32; BLOCK], &Scale)) {
    for batch in xs.chunks(BATCH * BLOCK) {
        let batch = &batch[..batch.len() / BLOCK * BLOCK];
        for (s, x) in batch_scales(t, batch).iter().zip(batch.chunks_exact(BLOCK)) {
            f(x.try_into().expect("a block"), s);
        }
    }
}

/// A whole number `q` as a saturating cast to an integer code and back to f32 gives it (NaN to
/// 0, clamped to `[lo, hi]`, −0 to +0), without the cast, which does not vectorize.
#[inline(always)]
fn cast_back(q: f32, lo: f32, hi: f32) -> f32 {
    let c = if q < lo { lo } else if q > hi { hi } else { q };
    (if q.is_nan() { 0.0 } else { c }) + 0.0
}

/// A whole number `q` as a saturating cast to an unsigned code below `top` and back to f32
/// gives it (NaN to 0, clamped to `[0, top]`, −0 to +0), as a vector max and min: `0 < q`
/// fails for NaN and −0 alike, which take the 0.
#[inline(always)]
fn clamp_code(q: f32, top: f32) -> f32 {
    let c = if 0.0 < q { q } else { 0.0 };
    if c < top { c } else { top }
}

/// One block's values into `out`, from its [`Scale`], and its grid.
#[inline(always)]
fn block_values(t: BlockType, x: &[f32; BLOCK], s: &Scale, out: &mut [f32; BLOCK]) -> Affine {
    let &Scale { id, d16, min, m16, plain, .. } = s;
    match t {
        BlockType::Q8_0 => {
            if plain {
                for (o, &v) in out.iter_mut().zip(x) {
                    // −0 to +0, as the cast gives.
                    *o = (round_half_away(v * id) + 0.0) * d16;
                }
            } else {
                for (o, &v) in out.iter_mut().zip(x) {
                    *o = cast_back(round_half_away(v * id), -128.0, 127.0) * d16;
                }
            }
            Affine::scaled(d16)
        }
        BlockType::Q4_0 | BlockType::Q5_0 => {
            let (levels, top) = if t == BlockType::Q4_0 { (-8.0f32, 15.0) } else { (-16.0, 31.0) };
            let offset = -levels;
            for (o, &v) in out.iter_mut().zip(x) {
                let q = clamp_code((v * id + (-levels + 0.5)).trunc(), top);
                *o = d16 * (q - offset);
            }
            Affine::scaled(d16)
        }
        BlockType::Q4_1 | BlockType::Q5_1 => {
            let top = if t == BlockType::Q4_1 { 15.0f32 } else { 31.0 };
            for (o, &v) in out.iter_mut().zip(x) {
                let q = clamp_code(((v - min) * id + 0.5).trunc(), top);
                *o = d16 * q + m16;
            }
            Affine { shift: 0.0, scale: d16, offset: m16 }
        }
    }
}

