//! NVIDIA's NVFP4: E2M1 values in blocks of 16 along the last axis, each block with an E4M3
//! scale, and one FP32 scale for the tensor, computed step for step as torchao's NVFP4 reference
//! (`nvfp4_quantize` with a per-tensor scale; tests/golden/formats/make_nvfp4.py):
//! - tensor scale `t = amax / (448 · 6)`, `amax` the tensor's largest finite |x| (1 when that
//!   gives no positive finite scale: an all-zero tensor, where torchao's 0 gives NaN);
//! - block scale `s = e4m3(clamp((bamax / 6) / t, 2^−6, 448))`, `bamax` the block's largest |x|;
//! - codes `e2m1(clamp(x · ((1 / t) / s), −6, 6))`;
//! - values `f32(code) · (t · s)`.
//!
//! Unlike MX's power-of-two scales, the E4M3 block scale has three mantissa bits, so a block's
//! largest value lands within 1/16 of FP4's top; the tensor scale lets the E4M3 scales span the
//! tensor's range. A block holding a NaN has a NaN scale and decodes to NaN.

use super::measure::{Meter, BATCH};
use super::minifloat::{Rounder, E2M1, E4M3};
use super::mx::block_amax;
use super::quantized::{bounds, Affine};
use super::{FormatError, Whole};

/// Values per block.
pub const BLOCK: usize = 16;
/// E4M3's largest value times E2M1's.
const SCALE_RANGE: f32 = 448.0 * 6.0;
/// The smallest normal E4M3 value, below which torchao clamps block scales.
const E4M3_TINY: f32 = 1.0 / 64.0;

/// A tensor in NVFP4.
#[derive(Clone, Debug, PartialEq)]
pub struct Nvfp4 {
    /// One E2M1 code per value.
    pub codes: Vec<u8>,
    /// One E4M3 code per block.
    pub scales: Vec<u8>,
    pub tensor_scale: f32,
    pub values: Vec<f32>,
}

/// The tensor scale for a tensor whose largest finite magnitude is `amax`.
pub fn tensor_scale(amax: f32) -> f32 {
    let t = amax / SCALE_RANGE;
    if t > 0.0 && t.is_finite() { t } else { 1.0 }
}

/// A block's E4M3 scale code and value, under tensor scale `t`.
fn block_scale(block: &[f32], t: f32) -> (u8, f32) {
    let scaled = block_amax(block) / 6.0 / t;
    // `clamp` keeps NaN, as torch.clamp does.
    let s8 = E4M3.encode(if scaled.is_nan() { scaled } else { scaled.clamp(E4M3_TINY, 448.0) });
    (s8, E4M3.decode(s8))
}

/// Quantizes `xs` (row-major, shaped `shape`).
pub fn quantize(xs: &[f32], shape: &[usize]) -> Result<Nvfp4, FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let t = tensor_scale(super::finite_amax(xs));
    let inv_t = 1.0 / t;
    let mut out = Nvfp4 { codes: vec![0; xs.len()], scales: Vec::with_capacity(xs.len() / BLOCK), tensor_scale: t, values: vec![0.0; xs.len()] };
    for ((block, codes), values) in xs.chunks_exact(BLOCK).zip(out.codes.chunks_exact_mut(BLOCK)).zip(out.values.chunks_exact_mut(BLOCK)) {
        let (s8, s) = block_scale(block, t);
        let (reciprocal, step) = (inv_t / s, t * s);
        for ((&x, c), v) in block.iter().zip(codes.iter_mut()).zip(values.iter_mut()) {
            *c = E2M1.encode(x * reciprocal);
            *v = E2M1.decode(*c) * step;
        }
        out.scales.push(s8);
    }
    Ok(out)
}

/// The block scales and values of [`quantize`] without the codes (the hot path), bit for bit.
pub fn fake_quantize(xs: &[f32], shape: &[usize]) -> Result<(f32, Vec<u8>, Vec<f32>), FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let t = tensor_scale(super::finite_amax(xs));
    let inv_t = 1.0 / t;
    let r = E2M1.rounder();
    let mut values = vec![0f32; xs.len()];
    let mut scales = Vec::with_capacity(xs.len() / BLOCK);
    for (block, out) in xs.chunks_exact(BLOCK).zip(values.chunks_exact_mut(BLOCK)) {
        let (s8, s) = block_scale(block, t);
        block_values(&r, block, inv_t, t, s, out);
        scales.push(s8);
    }
    Ok((t, scales, values))
}

/// One block's values under tensor scale `t` (and its inverse) and block scale `s`.
#[inline(always)]
fn block_values(r: &Rounder, block: &[f32], inv_t: f32, t: f32, s: f32, out: &mut [f32]) {
    let (reciprocal, step) = (inv_t / s, t * s);
    for (o, &x) in out.iter_mut().zip(block) {
        *o = r.round(x * reciprocal) * step;
    }
}

/// The metrics of [`fake_quantize`]'s values without keeping them: each block made into a
/// buffer and measured into `meter` against its grid (`table`: E2M1's values), summed as
/// measuring the kept values sums them (a test checks).
pub fn measure_fake_quantized(xs: &[f32], shape: &[usize], table: &[f32], whole: &Whole, meter: &mut Meter) -> Result<(), FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let t = tensor_scale(whole.amax(xs));
    crate::engine::simd::dispatch!(measure_blocks(xs, t, table, meter));
    Ok(())
}

#[inline(always)]
fn measure_blocks(xs: &[f32], t: f32, table: &[f32], meter: &mut Meter) {
    const MOST: usize = BATCH / BLOCK;
    let (inv_t, r, r8) = (1.0 / t, E2M1.rounder(), E4M3.rounder());
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    super::measure::measure_batches::<BLOCK>(&mut m, xs, #[inline(always)] |x, out, grids| {
        // The batch's block scales first, in lanes across blocks: E4M3's rounder gives the
        // value of the code `block_scale` encodes, bit for bit.
        let (mut reciprocal, mut step) = ([0f32; MOST], [0f32; MOST]);
        for (i, block) in x.chunks_exact(BLOCK).enumerate() {
            reciprocal[i] = block_amax(block);
        }
        for i in 0..MOST {
            let scaled = reciprocal[i] / 6.0 / t;
            // `clamp` keeps NaN, as torch.clamp does.
            let clamped = scaled.clamp(E4M3_TINY, 448.0);
            let s = r8.round(clamped);
            (reciprocal[i], step[i]) = (inv_t / s, t * s);
        }
        for (i, ((block, o), g)) in x.chunks_exact(BLOCK).zip(out.chunks_exact_mut(BLOCK)).zip(grids.iter_mut()).enumerate() {
            for (o, &x) in o.iter_mut().zip(block) {
                *o = r.round(x * reciprocal[i]) * step[i];
            }
            *g = bounds(Affine::scaled(step[i]), table);
        }
    });
    *meter = m;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_maps_its_largest_value_near_six() {
        let mut xs = vec![0.0f32; 32];
        xs[0] = 3.0;
        xs[16] = -0.3;
        xs[17] = 0.1;
        let q = quantize(&xs, &[2, 16]).unwrap();
        assert_eq!(q.tensor_scale, 3.0 / 2688.0);
        // Block 0: (3/6)/t = 448 exactly; its largest value comes back exactly.
        assert_eq!(E4M3.decode(q.scales[0]), 448.0);
        assert_eq!(q.values[0], 3.0);
        // Block 1: (0.3/6)/t = 44.8 → E4M3 44; x = −0.3 → −0.3·(1/t)/44 = −6.109 → −6.
        assert_eq!(E4M3.decode(q.scales[1]), 44.0);
        assert_eq!(q.codes[16], E2M1.encode(-6.0));
        let zeros = quantize(&[0.0; 16], &[16]).unwrap();
        assert_eq!((zeros.tensor_scale, zeros.values), (1.0, vec![0.0; 16]));
        assert!(matches!(quantize(&[0.0; 24], &[24]), Err(FormatError::BlockSize { values: 24, block: 16 })));
    }
}
