//! llama.cpp's reference quantizers for the K-quants, `quantize_row_q{2,3,4,5,6}_K_ref` in
//! ggml-quants.c (no importance matrix), ported operation for operation in f32 so that the bytes
//! agree (tests/golden/formats/make_kquantize.py builds that C file and compares).
//!
//! Each super-block of 256 values is cut into sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K,
//! Q5_K). Each sub-block's scale (and minimum) is searched for the least weighted error
//! (`make_qkx2_quants`, `make_q3_quants`, `make_qx_quants`); the sub-block scales are then
//! quantized to 4, 6 or 8 bits against one f16 super-block scale, and the values quantized
//! again with the scales as stored. The C is compiled without contraction into fused
//! multiply-adds, as each step here is rounded on its own. The searches run over a super-block's
//! sub-blocks at once (`lanes.rs`), each sub-block in its own vector lane.

mod lanes;
#[cfg(test)]
mod scalar;

use half::f16;

use self::lanes::{qkx2, transpose, untranspose, Qkx2Fit, Search};
use super::kquants::{KQuant, QK_K};
use crate::engine::formats::FormatError;

/// Below this largest |x| a sub-block is all zero.
const GROUP_MAX_EPS: f32 = 1e-15;

/// ggml's `nearest_int`: round half to even through the magic number 1.5 · 2^23 (for |f| up to
/// 2^22; beyond, the same bit arithmetic as the C).
#[inline(always)]
fn nearest_int(f: f32) -> i32 {
    let v = f + 12_582_912.0;
    (v.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

#[inline(always)]
fn to_half(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_le_bytes()
}

#[inline(always)]
fn from_half(b: [u8; 2]) -> f32 {
    f16::from_le_bytes(b).to_f32()
}

/// The value of largest magnitude (the first of equals) and that magnitude (0, 0 for none).
#[inline(always)]
fn largest(x: &[f32]) -> (f32, f32) {
    let (mut max, mut amax) = (0f32, 0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    (max, amax)
}

/// Packs four 2-bit codes of each 128 values into a byte (Q2_K's and Q3_K's `qs`).
#[inline(always)]
fn pack_2bit(l: &[u8; QK_K], qs: &mut [u8]) {
    for j in (0..QK_K).step_by(128) {
        for k in 0..32 {
            qs[j / 4 + k] = l[j + k] | (l[j + k + 32] << 2) | (l[j + k + 64] << 4) | (l[j + k + 96] << 6);
        }
    }
}

/// Q4_K's and Q5_K's packing of eight 6-bit scales and minimums into 12 bytes.
#[inline(always)]
fn pack_scale_min(scales: &[u8; 8], mins: &[u8; 8]) -> [u8; 12] {
    let mut s = [0u8; 12];
    for j in 0..8 {
        let (ls, lm) = (scales[j], mins[j]);
        if j < 4 {
            s[j] = ls;
            s[j + 4] = lm;
        } else {
            s[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
            s[j - 4] |= (ls >> 4) << 6;
            s[j] |= (lm >> 4) << 6;
        }
    }
    s
}

/// Quantizes `xs`, whose length must be a multiple of [`QK_K`] (the last axis is).
pub fn quantize(t: KQuant, xs: &[f32]) -> Result<Vec<u8>, FormatError> {
    quantize_into(t, xs, None)
}

/// [`quantize`], and the values the bytes stand for into `values` (as long as `xs`): the same
/// values, bit for bit, as [`KQuant::dequantize`] of the bytes (each made by the decoder's f32
/// operations from the codes and scales as the quantizer stores them; a test checks), without
/// unpacking them again.
pub fn quantize_with_values(t: KQuant, xs: &[f32], values: &mut [f32]) -> Result<Vec<u8>, FormatError> {
    assert_eq!(values.len(), xs.len(), "a value for each of xs");
    quantize_into(t, xs, Some(values))
}

fn quantize_into(t: KQuant, xs: &[f32], values: Option<&mut [f32]>) -> Result<Vec<u8>, FormatError> {
    if !xs.len().is_multiple_of(QK_K) {
        return Err(FormatError::BlockSize { values: xs.len(), block: QK_K });
    }
    let mut out = vec![0u8; xs.len() / QK_K * t.type_size()];
    match t {
        KQuant::Q2K => crate::engine::simd::dispatch!(q2_blocks(xs, &mut out, t.type_size(), values)),
        KQuant::Q3K => crate::engine::simd::dispatch!(q3_blocks(xs, &mut out, t.type_size(), values)),
        KQuant::Q4K => crate::engine::simd::dispatch!(pairs(false, xs, &mut out, values)),
        KQuant::Q5K => crate::engine::simd::dispatch!(pairs(true, xs, &mut out, values)),
        KQuant::Q6K => crate::engine::simd::dispatch!(q6_blocks(xs, &mut out, t.type_size(), values)),
    }
    Ok(out)
}

/// The values of the super-blocks, or nowhere.
type Values<'a> = Option<&'a mut [f32]>;

/// Super-block `i`'s values in `values`, if any.
#[inline(always)]
fn block_of<'a>(values: &'a mut Values<'_>, i: usize) -> Option<&'a mut [f32; QK_K]> {
    values.as_deref_mut().map(|v| (&mut v[QK_K * i..QK_K * (i + 1)]).try_into().expect("a super-block"))
}

/// [`each_block`]'s types: Q2_K, Q3_K, Q6_K.
const Q2: u8 = 2;
const Q3: u8 = 3;
const Q6: u8 = 6;

/// Each super-block of `xs` quantized to type `T` ([`Q2`], [`Q3`] or [`Q6`]) into its `size`
/// bytes of `out` (and its values). The type is a constant so that its quantizer is called
/// directly and inlined: passed as a function, natively it was compiled apart, without AVX2 (4–7×
/// slower). In wasm each type's loop is a function of its own ([`q2_blocks`]…): inlined into one
/// function with the others, the searches compiled 10–15% slower there.
#[inline(always)]
fn each_block<const T: u8>(xs: &[f32], out: &mut [u8], size: usize, mut values: Values) {
    for (i, (x, b)) in xs.chunks_exact(QK_K).zip(out.chunks_exact_mut(size)).enumerate() {
        let (x, v) = (x.try_into().expect("chunks of QK_K"), block_of(&mut values, i));
        match T {
            Q2 => q2_k(x, b, v),
            Q3 => q3_k(x, b, v),
            _ => q6_k(x, b, v),
        }
    }
}

/// [`each_block`] of Q2_K, Q3_K and Q6_K: natively inlined into the dispatch, in wasm a
/// function each.
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
#[cfg_attr(target_arch = "wasm32", inline(never))]
fn q2_blocks(xs: &[f32], out: &mut [u8], size: usize, values: Values) {
    each_block::<Q2>(xs, out, size, values);
}

#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
#[cfg_attr(target_arch = "wasm32", inline(never))]
fn q3_blocks(xs: &[f32], out: &mut [u8], size: usize, values: Values) {
    each_block::<Q3>(xs, out, size, values);
}

#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
#[cfg_attr(target_arch = "wasm32", inline(never))]
fn q6_blocks(xs: &[f32], out: &mut [u8], size: usize, values: Values) {
    each_block::<Q6>(xs, out, size, values);
}

/// Q4_K's or Q5_K's super-blocks, two a search; a last odd one searched beside zeros (lanes are
/// independent). In wasm a function of its own, as [`each_block`].
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
#[cfg_attr(target_arch = "wasm32", inline(never))]
fn pairs(five: bool, xs: &[f32], out: &mut [u8], mut values: Values) {
    let size = if five { KQuant::Q5K } else { KQuant::Q4K }.type_size();
    for (p, (x, b)) in xs.chunks(2 * QK_K).zip(out.chunks_mut(2 * size)).enumerate() {
        let mut pair = [0f32; 2 * QK_K];
        pair[..x.len()].copy_from_slice(x);
        let fit = q45_search(five, &pair);
        for (k, (x, b)) in x.chunks_exact(QK_K).zip(b.chunks_exact_mut(size)).enumerate() {
            q45_k(five, x.try_into().expect("chunks of QK_K"), b, &fit, k, block_of(&mut values, 2 * p + k));
        }
    }
}

/// Each sub-block `j` of `n` codes `l` as the decoder makes its values: `step(j) · (l − offset)
/// − shift(j)` (f32, in that order; `shift` 0 for the types without minimums, whose decoders
/// subtract nothing).
#[inline(always)]
fn values_of<T: Copy, const N: usize>(l: &[T; QK_K], offset: f32, step: impl Fn(usize) -> f32, shift: impl Fn(usize) -> Option<f32>, out: &mut [f32; QK_K])
where
    f32: From<T>,
{
    for (j, (l, o)) in l.chunks_exact(N).zip(out.chunks_exact_mut(N)).enumerate() {
        let (d, m) = (step(j), shift(j));
        for (o, &q) in o.iter_mut().zip(l) {
            let q = f32::from(q) - offset;
            *o = match m {
                Some(m) => d * q - m,
                None => d * q,
            };
        }
    }
}

/// scales (16) | qs (64) | d | dmin
#[inline(always)]
fn q2_k(x: &[f32; QK_K], b: &mut [u8], values: Option<&mut [f32; QK_K]>) {
    let xt = transpose::<16, 16>(x);
    let weights = xt.map(|row| row.map(f32::abs));
    let fit = qkx2::<16, 16, true>(&xt, &weights, &Search { nmax: 3, rmin: -0.5, rdelta: 0.1, nstep: 15 });
    let (scales, mins) = (fit.scale, fit.neg_min);
    let mut l = [0u8; QK_K];
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..16 {
        max_scale = if scales[j] > max_scale { scales[j] } else { max_scale };
        max_min = if mins[j] > max_min { mins[j] } else { max_min };
    }
    let (sc, rest) = b.split_at_mut(16);
    if max_scale > 0.0 {
        let iscale = 15.0 / max_scale;
        for j in 0..16 {
            sc[j] = nearest_int(iscale * scales[j]) as u8;
        }
        rest[64..66].copy_from_slice(&to_half(max_scale / 15.0));
    } else {
        sc.fill(0);
        rest[64..66].copy_from_slice(&to_half(0.0));
    }
    if max_min > 0.0 {
        let iscale = 15.0 / max_min;
        for j in 0..16 {
            sc[j] |= (nearest_int(iscale * mins[j]) << 4) as u8;
        }
        rest[66..68].copy_from_slice(&to_half(max_min / 15.0));
    } else {
        rest[66..68].copy_from_slice(&to_half(0.0));
    }
    let (d_all, dmin_all) = (from_half([rest[64], rest[65]]), from_half([rest[66], rest[67]]));
    for j in 0..16 {
        let d = d_all * f32::from(sc[j] & 0xf);
        if d == 0.0 {
            // The codes the search found.
            fit.codes(j, &x[16 * j..][..16], &mut l[16 * j..][..16]);
            continue;
        }
        let dm = dmin_all * f32::from(sc[j] >> 4);
        for k in 0..16 {
            l[16 * j + k] = nearest_int((x[16 * j + k] + dm) / d).clamp(0, 3) as u8;
        }
    }
    if let Some(v) = values {
        values_of::<_, 16>(&l, 0.0, |j| d_all * f32::from(sc[j] & 0xf), |j| Some(dmin_all * f32::from(sc[j] >> 4)), v);
    }
    pack_2bit(&l, &mut rest[..64]);
}

/// hmask (32) | qs (64) | scales (12) | d
#[inline(always)]
fn q3_k(x: &[f32; QK_K], b: &mut [u8], values: Option<&mut [f32; QK_K]>) {
    let mut lt = [[0i8; 16]; 16];
    let scales = lanes::q3(&transpose::<16, 16>(x), 4, &mut lt);
    let mut l = [0i8; QK_K];
    untranspose(&lt, &mut l);
    let (max_scale, _) = largest(&scales);
    let mut s = [0u8; 12];
    let d = if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        for j in 0..16 {
            let q = (i32::from(nearest_int(iscale * scales[j]) as i8).clamp(-32, 31) + 32) as u8;
            if j < 8 {
                s[j] = q & 0xf;
            } else {
                s[j - 8] |= (q & 0xf) << 4;
            }
            s[j % 4 + 8] |= (q >> 4) << (2 * (j / 4));
        }
        to_half(1.0 / iscale)
    } else {
        to_half(0.0)
    };
    let d_all = from_half(d);
    let scale = |j: usize| {
        let low = if j < 8 { s[j] & 0xf } else { s[j - 8] >> 4 };
        ((low | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) as i8).wrapping_sub(32)
    };
    for j in 0..16 {
        let dj = d_all * f32::from(scale(j));
        if dj == 0.0 {
            continue;
        }
        for k in 0..16 {
            l[16 * j + k] = (nearest_int(x[16 * j + k] / dj).clamp(-4, 3) + 4) as i8;
        }
    }
    if let Some(v) = values {
        values_of::<_, 16>(&l, 4.0, |j| d_all * f32::from(scale(j)), |_| None, v);
    }
    let (hmask, rest) = b.split_at_mut(32);
    hmask.fill(0);
    let mut codes = [0u8; QK_K];
    // Branch-free, so that the loop vectorizes: code `32·m + k` (0 to 7) has its bit 2 in bit
    // `m` of `hmask[k]`.
    for (m, (l, c)) in l.chunks_exact(32).zip(codes.chunks_exact_mut(32)).enumerate() {
        for (k, (&q, c)) in l.iter().zip(c.iter_mut()).enumerate() {
            let q = q as u8;
            hmask[k] |= (q >> 2) << m;
            *c = q & 3;
        }
    }
    pack_2bit(&codes, &mut rest[..64]);
    rest[64..76].copy_from_slice(&s);
    rest[76..78].copy_from_slice(&d);
}

/// The searches of Q4_K's or Q5_K's sub-blocks of 32 in two super-blocks at once (`x`: 512
/// values), so that their sixteen sub-blocks fill sixteen lanes as Q2_K's, Q3_K's and Q6_K's do.
#[inline(always)]
fn q45_search(five: bool, x: &[f32]) -> Qkx2Fit<16> {
    let (nmax, rmin, nstep) = if five { (31, -0.5, 15) } else { (15, -1.0, 20) };
    let xt = transpose::<16, 32>(x);
    let mut sum_x2 = [0f32; 16];
    for row in &xt {
        for j in 0..16 {
            sum_x2[j] += row[j] * row[j];
        }
    }
    // IEEE square roots are correctly rounded everywhere, so `f32::sqrt` (which vectorizes,
    // unlike libm's) gives sqrtf's bits.
    let av_x: [f32; 16] = std::array::from_fn(|j| (sum_x2[j] / 32.0).sqrt());
    let weights = xt.map(|row| std::array::from_fn(|j| av_x[j] + row[j].abs()));
    qkx2::<16, 32, false>(&xt, &weights, &Search { nmax, rmin, rdelta: 0.1, nstep })
}

/// d | dmin | scales (12) | [qh (32)] | qs (128): super-block `k` (0 or 1) of the pair whose
/// search found `fit`.
#[inline(always)]
fn q45_k(five: bool, x: &[f32; QK_K], b: &mut [u8], fit: &Qkx2Fit<16>, k: usize, values: Option<&mut [f32; QK_K]>) {
    let part = |v: &[f32; 16]| -> [f32; 8] { v[8 * k..][..8].try_into().expect("8 lanes") };
    let (scales, mins) = (part(&fit.scale), part(&fit.neg_min));
    let mut l = [0u8; QK_K];
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..8 {
        max_scale = if scales[j] > max_scale { scales[j] } else { max_scale };
        max_min = if mins[j] > max_min { mins[j] } else { max_min };
    }
    let inv_scale = if max_scale > 0.0 { 63.0 / max_scale } else { 0.0 };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let ls: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_scale * scales[j]) as u8).min(63));
    let lm: [u8; 8] = std::array::from_fn(|j| (nearest_int(inv_min * mins[j]) as u8).min(63));
    let packed = pack_scale_min(&ls, &lm);
    b[0..2].copy_from_slice(&to_half(max_scale / 63.0));
    b[2..4].copy_from_slice(&to_half(max_min / 63.0));
    b[4..16].copy_from_slice(&packed);
    let (d_all, dmin_all) = (from_half([b[0], b[1]]), from_half([b[2], b[3]]));
    let top = if five { 31 } else { 15 };
    for j in 0..8 {
        let d = d_all * f32::from(ls[j]);
        if d == 0.0 {
            // The codes the search found.
            fit.codes(8 * k + j, &x[32 * j..][..32], &mut l[32 * j..][..32]);
            continue;
        }
        let dm = dmin_all * f32::from(lm[j]);
        for k in 0..32 {
            l[32 * j + k] = nearest_int((x[32 * j + k] + dm) / d).clamp(0, top) as u8;
        }
    }
    if let Some(v) = values {
        values_of::<_, 32>(&l, 0.0, |j| d_all * f32::from(ls[j]), |j| Some(dmin_all * f32::from(lm[j])), v);
    }
    let (qh, qs) = if five { b[16..].split_at_mut(32) } else { b[16..].split_at_mut(0) };
    qh.fill(0);
    // Branch-free, so that the loops vectorize: codes up to 31, whose bit 4 goes to `qh`.
    for (chunk, n) in (0..QK_K).step_by(64).enumerate() {
        let (lo, hi) = (&l[n..n + 32], &l[n + 32..n + 64]);
        for (q, (&a, &b)) in qs[32 * chunk..][..32].iter_mut().zip(lo.iter().zip(hi)) {
            *q = (a & 15) | ((b & 15) << 4);
        }
        if five {
            for (h, (&a, &b)) in qh.iter_mut().zip(lo.iter().zip(hi)) {
                *h |= ((a >> 4) << (2 * chunk)) | ((b >> 4) << (2 * chunk + 1));
            }
        }
    }
}

/// ql (128) | qh (64) | scales (16, int8) | d
#[inline(always)]
fn q6_k(x: &[f32; QK_K], b: &mut [u8], values: Option<&mut [f32; QK_K]>) {
    let fit = lanes::qx(&transpose::<16, 16>(x), 32);
    let scales = fit.scale;
    let mut l = [0i8; QK_K];
    let (max_scale, max_abs_scale) = largest(&scales);
    if max_abs_scale < GROUP_MAX_EPS {
        b.fill(0);
        if let Some(v) = values {
            // The zero bytes' values: 0 · (0 − 32), −0.
            v.fill(0.0 * -32.0);
        }
        return;
    }
    let iscale = -128.0 / max_scale;
    let d = to_half(1.0 / iscale);
    let sc: [i8; 16] = std::array::from_fn(|ib| nearest_int(iscale * scales[ib]).min(127) as i8);
    let d_all = from_half(d);
    for j in 0..16 {
        let dj = d_all * f32::from(sc[j]);
        if dj == 0.0 {
            // The codes the search found.
            fit.codes(j, &x[16 * j..][..16], &mut l[16 * j..][..16]);
            continue;
        }
        for k in 0..16 {
            l[16 * j + k] = (nearest_int(x[16 * j + k] / dj).clamp(-32, 31) + 32) as i8;
        }
    }
    if let Some(v) = values {
        values_of::<_, 16>(&l, 32.0, |j| d_all * f32::from(sc[j]), |_| None, v);
    }
    let (ql, rest) = b.split_at_mut(128);
    let (qh, rest) = rest.split_at_mut(64);
    for (half, j) in (0..QK_K).step_by(128).enumerate() {
        let (ql, qh) = (&mut ql[64 * half..], &mut qh[32 * half..]);
        for k in 0..32 {
            let q = |o: usize| l[j + k + o] as u8;
            ql[k] = (q(0) & 0xf) | ((q(64) & 0xf) << 4);
            ql[k + 32] = (q(32) & 0xf) | ((q(96) & 0xf) << 4);
            qh[k] = (q(0) >> 4) | ((q(32) >> 4) << 2) | ((q(64) >> 4) << 4) | ((q(96) >> 4) << 6);
        }
    }
    for (o, &s) in rest[..16].iter_mut().zip(&sc) {
        *o = s as u8;
    }
    rest[16..18].copy_from_slice(&d);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!([0.5, 1.5, 2.5, -0.5, -1.5, 3.49].map(nearest_int), [0, 2, 2, 0, -2, 3]);
    }

    #[test]
    fn a_round_trip_is_close_and_zeros_stay_zero() {
        let xs: Vec<f32> = (0..QK_K * 2).map(|i| (((i * 7919) % 1000) as f32 - 500.0) / 1000.0).collect();
        for t in KQuant::ALL {
            let bytes = quantize(t, &xs).unwrap();
            let back = t.dequantize(&bytes).unwrap();
            let worst = xs.iter().zip(&back).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            // Half a step of the coarsest (2-bit) grid over a range of 1, with its scales' error.
            assert!(worst < 0.25, "{}: {worst}", t.name());
            let zeros = t.dequantize(&quantize(t, &[0.0; QK_K]).unwrap()).unwrap();
            assert!(zeros.iter().all(|&v| v == 0.0), "{}", t.name());
        }
        assert!(matches!(quantize(KQuant::Q4K, &[0.0; 100]), Err(FormatError::BlockSize { values: 100, block: 256 })));
    }

    /// The values made beside the bytes are the bytes' values as the decoder gives them, bit for
    /// bit: super-blocks of every kind (sub-blocks far apart in scale, so that some scales round
    /// to 0; all zero; constant; tiny and huge, whose f16 scales underflow or overflow; NaN and
    /// ±∞ in them), an odd number of them.
    #[test]
    fn values_made_with_the_bytes_are_the_decoded_values() {
        let mut xs = Vec::new();
        for kind in 0..9u32 {
            for i in 0..QK_K as u32 {
                let r = (((i * 7919 + kind * 104_729) % 2001) as f32 - 1000.0) / 1000.0;
                xs.push(match kind {
                    0 => r,
                    1 => r * if (i / 16) % 3 == 0 { 1000.0 } else { 0.01 },
                    2 => 0.0,
                    3 => -0.75,
                    4 => r * 1e-9,
                    5 => r * 1e30,
                    6 if i == 77 => f32::NAN,
                    7 if i % 50 == 3 => f32::INFINITY,
                    8 if i < 200 => 0.0,
                    _ => r,
                });
            }
        }
        for t in KQuant::ALL {
            let mut values = vec![0f32; xs.len()];
            let bytes = quantize_with_values(t, &xs, &mut values).unwrap();
            assert_eq!(bytes, quantize(t, &xs).unwrap(), "{}", t.name());
            let decoded = t.dequantize(&bytes).unwrap();
            for (i, (a, b)) in values.iter().zip(&decoded).enumerate() {
                assert!(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()), "{} value {i}: {a} against {b}", t.name());
            }
        }
    }

    /// Q4_K and Q5_K search two super-blocks at once: three quantized together (the last beside
    /// zeros) are the three quantized one by one.
    #[test]
    fn super_blocks_searched_in_pairs_are_their_own() {
        let xs: Vec<f32> = (0..QK_K * 3).map(|i| (((i * 7919) % 1000) as f32 - 500.0) / (1.0 + (i / QK_K) as f32 * 300.0)).collect();
        for t in [KQuant::Q4K, KQuant::Q5K] {
            let one_by_one: Vec<u8> = xs.chunks(QK_K).flat_map(|x| quantize(t, x).unwrap()).collect();
            assert_eq!(quantize(t, &xs).unwrap(), one_by_one, "{}", t.name());
        }
    }
}
