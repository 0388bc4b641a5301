//! The legacy blocks' scales, [`BATCH`] blocks at a time: each block's step `d` (and minimum),
//! `1/d`, their f16 roundings, and the bounds the meter measures the block against.
//!
//! Block by block in portable code ([`block_scale`], the reference). In wasm, Q4_0's, Q5_0's
//! and Q8_0's run in SIMD128 lanes across four blocks at a time ([`simd`]): each block's
//! reduction ends in one vector, four blocks' vectors are folded into one whose lane `j` is
//! block `j`'s, and the divisions, f16 roundings and bounds of the four then take a few vector
//! operations, without a branch. Per block, the scalar path's horizontal reductions, two
//! divisions, branching f16 conversion and float selects (which V8 compiles to branches) cost
//! about as much as the block's 32 values. The two paths give the same scales bit for bit (a
//! wasm test checks, [`scales_agree`]).

use super::{BlockType, BLOCK};
use crate::engine::formats::gguf::f16_round;
use crate::engine::formats::measure::unless_clipped;
use crate::engine::formats::quantized::{bounds, Affine};

/// Blocks whose scales are found together.
pub(super) const BATCH: usize = 8;

/// What a block's values need: the inverse scale the codes are found with, the stored (f16)
/// scale and, for the types with a minimum, the minimum and its stored value; and the bounds
/// the meter measures the block against.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Scale {
    pub id: f32,
    pub d16: f32,
    pub min: f32,
    pub m16: f32,
    /// Q8_0: the codes need no clamp and no NaN check.
    pub plain: bool,
    /// The block's grid widened by half a step ([`bounds`]), or
    /// [`UNCLIPPED`](crate::engine::formats::measure::UNCLIPPED) when none of
    /// its values lies beyond them (the meter then leaves out the clipping checks).
    pub bounds: (f32, f32),
}

/// The scales of the whole blocks of `batch` (at most [`BATCH`]), in order; the rest default.
#[inline(always)]
pub(super) fn batch_scales(t: BlockType, batch: &[f32]) -> [Scale; BATCH] {
    #[cfg(target_arch = "wasm32")]
    {
        simd::batch_scales(t, batch)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        portable(t, batch)
    }
}

/// [`batch_scales`] block by block.
#[inline(always)]
fn portable(t: BlockType, batch: &[f32]) -> [Scale; BATCH] {
    let mut scales = [Scale::default(); BATCH];
    for (s, x) in scales.iter_mut().zip(batch.chunks_exact(BLOCK)) {
        *s = block_scale(t, x.try_into().expect("a block"));
    }
    scales
}

/// The step's divisor: `d = top / levels`.
#[inline(always)]
fn levels(t: BlockType) -> f32 {
    match t {
        BlockType::Q8_0 => 127.0,
        BlockType::Q4_0 => -8.0,
        BlockType::Q5_0 => -16.0,
        BlockType::Q4_1 => 15.0,
        BlockType::Q5_1 => 31.0,
    }
}

/// One block's [`Scale`], as the reference finds it: `d = top / levels`, `top` Q8_0's largest
/// magnitude, Q4_0's and Q5_0's value of largest magnitude, the _1 types' max − min.
#[inline(always)]
pub(super) fn block_scale(t: BlockType, x: &[f32; BLOCK]) -> Scale {
    // The value the step comes from, the minimum, whether every value is finite, and bounds of
    // the values (NaN left out: at most the smallest, at least the largest).
    let (top, min, finite, range) = match t {
        BlockType::Q8_0 => {
            let (a, finite) = amax_and_finite(x);
            (a, 0.0, finite, (-a, a))
        }
        BlockType::Q4_0 | BlockType::Q5_0 => {
            let (max, range) = signed_max(x);
            (max, 0.0, false, range)
        }
        BlockType::Q4_1 | BlockType::Q5_1 => {
            let (min, max) = min_max(x);
            (max - min, min, false, (min, max))
        }
    };
    let d = top / levels(t);
    let d16 = f16_round(d);
    let m16 = f16_round(min);
    let grid = match t {
        BlockType::Q4_0 => symmetric_bounds(d16, 8.0),
        BlockType::Q5_0 => symmetric_bounds(d16, 16.0),
        BlockType::Q8_0 => symmetric_bounds(d16, 128.0),
        BlockType::Q4_1 | BlockType::Q5_1 => {
            // The grid `d16·q + m16`; `bounds` reads the table's two first and two last codes.
            let last = if t == BlockType::Q4_1 { 15.0 } else { 31.0 };
            bounds(Affine { shift: 0.0, scale: d16, offset: m16 }, &[0.0, 1.0, last - 1.0, last])
        }
    };
    Scale {
        id: if d == 0.0 { 0.0 } else { 1.0 / d },
        d16,
        min,
        m16,
        // Finite values over a normal (or zero) step: every `x / d` rounds into ±127.
        plain: t == BlockType::Q8_0 && finite && (d == 0.0 || d >= f32::MIN_POSITIVE),
        bounds: unless_clipped(grid, range),
    }
}

/// The clipping bounds of the grid `d·k`, `k` the whole numbers in `[−n, n − 1]` (Q4_0's,
/// Q5_0's and Q8_0's codes, with their f16 step `d`): `[−(n + ½)·|d|, (n − ½)·|d|]` mirrored
/// when `d < 0`, as `|d|` and `d / 2` give it without a select. They classify every value as
/// [`bounds`] of the grid does (the same f32 values, exact for an f16 `d`; where `d` is ±∞,
/// NaN or 0 they differ only where no value can fall between; a test checks). V8 compiles
/// `bounds`' float `min` and `max` in scalar code to branches, and Q4_0's and Q5_0's steps take
/// the sign of each block's largest value, a coin toss from block to block: measured 6 ms of Q4_0's
/// 24 on 16M values in wasm.
#[inline(always)]
pub(super) fn symmetric_bounds(d: f32, n: f32) -> (f32, f32) {
    let (far, half) = (n * d.abs(), d * 0.5);
    (-far - half, far - half)
}

/// The largest |x| of a block (0 for none; NaN ignored), in integer lanes
/// ([`block_magnitudes`](crate::engine::simd::block_magnitudes)), and whether every value of the
/// block is finite.
#[inline(always)]
fn amax_and_finite(x: &[f32; BLOCK]) -> (f32, bool) {
    let (m, raw) = crate::engine::simd::block_magnitudes(x);
    (f32::from_bits(m), raw < crate::engine::simd::INFINITY_BITS)
}

/// The value of largest magnitude, the first of equals (NumPy's argmax), 0 for none; NaN left
/// out. The largest magnitude of each sign ([`block_signed_magnitudes`]) decides it, unless the
/// two are equal (and not 0): then the first value of that magnitude does. Also the bounds of
/// the block's values, NaN left out: minus the largest negative magnitude, the largest positive.
///
/// [`block_signed_magnitudes`]: crate::engine::simd::block_signed_magnitudes
#[inline(always)]
fn signed_max(x: &[f32; BLOCK]) -> (f32, (f32, f32)) {
    let (pos, neg) = crate::engine::simd::block_signed_magnitudes(x);
    let range = (-f32::from_bits(neg), f32::from_bits(pos));
    if pos == neg && pos != 0 {
        return (first_of_magnitude(x, f32::from_bits(pos)), range);
    }
    // Without a branch on the sign, which is a coin toss from block to block.
    (f32::from_bits(pos.max(neg) | (u32::from(neg > pos) << 31)), range)
}

/// The first value of `x` whose magnitude is `a` (which one is).
#[cold]
#[inline(never)]
fn first_of_magnitude(x: &[f32; BLOCK], a: f32) -> f32 {
    x.iter().copied().find(|v| v.abs() == a).unwrap_or(0.0)
}

/// The smallest and the largest value of a block, NaN ignored (±∞ for none), as llama.cpp's loop
/// in order finds them: of equal zeros (−0, +0), the first.
#[inline(always)]
fn min_max(x: &[f32; BLOCK]) -> (f32, f32) {
    let (lo, hi) = crate::engine::simd::block_min_max(x, false);
    let first_zero = || x.iter().copied().find(|&v| v == 0.0).unwrap_or(0.0);
    (if lo == 0.0 { first_zero() } else { lo }, if hi == 0.0 { first_zero() } else { hi })
}

/// Whether this target's [`batch_scales`] gives [`block_scale`]'s scales bit for bit for every
/// type, on every whole batch of `xs` (a multiple of the block): for the wasm test (natively
/// they are the same code).
#[doc(hidden)]
pub fn scales_agree(xs: &[f32]) -> bool {
    let bits = |s: &Scale| [s.id, s.d16, s.min, s.m16, s.bounds.0, s.bounds.1].map(f32::to_bits);
    BlockType::ALL.into_iter().all(|t| {
        xs.chunks(BATCH * BLOCK).all(|batch| {
            let batch = &batch[..batch.len() / BLOCK * BLOCK];
            let fast = batch_scales(t, batch);
            fast.iter().zip(batch.chunks_exact(BLOCK)).all(|(s, x)| {
                let want = block_scale(t, x.try_into().expect("a block"));
                bits(s) == bits(&want) && s.plain == want.plain
            })
        })
    })
}

#[cfg(target_arch = "wasm32")]
mod simd;

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    /// The closed-form bounds classify values as the grid's [`bounds`] do: for steps of both
    /// signs from f16 (normal, subnormal, the largest), ±0, ±∞ and NaN, every value at, just
    /// inside and just beyond each bound, and ±∞.
    #[test]
    fn symmetric_bounds_classify_as_the_grids_bounds() {
        let mut steps: Vec<f32> = [0.0f32, -0.0, 1.0, 0.3, 65504.0, 6.0e-8, 3.0e-5, 1.2e-3, f32::INFINITY, f32::NAN].into_iter().map(|d| f16::from_f32(d).to_f32()).collect();
        steps.extend(steps.clone().iter().map(|d| -d));
        let mut seed = 3u32;
        steps.extend((0..300).map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            f16::from_bits((seed >> 16) as u16).to_f32()
        }));
        for n in [8i32, 16, 128] {
            let table = crate::engine::formats::quantized::ints(-n, n - 1);
            for &d in &steps {
                let (lo, hi) = bounds(Affine::scaled(d), &table);
                let (a, b) = symmetric_bounds(d, n as f32);
                let near = |v: f32| [v, v.next_up(), v.next_down(), -v];
                for x in near(lo).into_iter().chain(near(hi)).chain(near(a)).chain(near(b)).chain([f32::INFINITY, f32::NEG_INFINITY, 0.0, 1.0, -1.0]) {
                    assert_eq!((x < a, x > b), (x < lo, x > hi), "n {n}, d {d:e}, x {x:e}: ({a:e}, {b:e}) against ({lo:e}, {hi:e})");
                }
                if d.is_finite() && d != 0.0 {
                    assert_eq!((a.to_bits(), b.to_bits()), (lo.to_bits(), hi.to_bits()), "n {n}, d {d:e}");
                }
            }
        }
    }

}
