//! llama.cpp's reference quantizers for the K-quants, `quantize_row_q{2,3,4,5,6}_K_ref` in
//! ggml-quants.c (no importance matrix), ported operation for operation in f32 so that the bytes
//! agree (tests/golden/formats/make_kquantize.py builds that C file and compares).
//!
//! Each super-block of 256 values is cut into sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K,
//! Q5_K). Each sub-block's scale (and minimum) is searched for the least weighted error
//! (`make_qkx2_quants`, `make_q3_quants`, `make_qx_quants`); the sub-block scales are then
//! quantized to 4, 6 or 8 bits against one f16 super-block scale, and the values quantized
//! again with the scales as stored. The C is compiled without contraction into fused
//! multiply-adds, as each step here is rounded on its own.

use half::f16;

use super::kquants::{KQuant, QK_K};
use crate::engine::formats::FormatError;

/// Below this largest |x| a sub-block is all zero.
const GROUP_MAX_EPS: f32 = 1e-15;

/// ggml's `nearest_int`: round half to even through the magic number 1.5 · 2^23 (for |f| up to
/// 2^22; beyond, the same bit arithmetic as the C).
#[inline]
fn nearest_int(f: f32) -> i32 {
    let v = f + 12_582_912.0;
    (v.to_bits() as i32 & 0x007f_ffff) - 0x0040_0000
}

fn to_half(x: f32) -> [u8; 2] {
    f16::from_f32(x).to_le_bytes()
}

fn from_half(b: [u8; 2]) -> f32 {
    f16::from_le_bytes(b).to_f32()
}

/// The value of largest magnitude (the first of equals) and that magnitude (0, 0 for none).
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

/// The value of largest magnitude, or None when that magnitude is below [`GROUP_MAX_EPS`] (an
/// all-zero sub-block).
fn signed_max(x: &[f32]) -> Option<f32> {
    let (max, amax) = largest(x);
    (amax >= GROUP_MAX_EPS).then_some(max)
}

/// `make_qx_quants` with `rmse_type` 1 (weights x²) and no importance: the signed scale of the
/// sub-block `x` for codes in [−nmax, nmax − 1] (stored in `l` offset by `nmax`).
fn make_qx_quants(x: &[f32], nmax: i32, l_out: &mut [i8]) -> f32 {
    let Some(max) = signed_max(x) else {
        l_out.fill(0);
        return 0.0;
    };
    let sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0f32, 0f32);
        for &v in x {
            let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let set = |iscale: f32, l_out: &mut [i8]| {
        for (o, &v) in l_out.iter_mut().zip(x) {
            *o = (nmax + nearest_int(iscale * v).clamp(-nmax, nmax - 1)) as i8;
        }
    };
    let iscale = -(nmax as f32) / max;
    set(iscale, l_out);
    let (sumlx, suml2) = sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in (-9..=9).filter(|&is| is != 0) {
        let iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        let (sumlx, suml2) = sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            set(iscale, l_out);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// `make_q3_quants` with `do_rmse`: codes in [−nmax, nmax − 1] refined one at a time (stored in
/// `l` offset by `nmax`), and the scale they imply.
fn make_q3_quants(x: &[f32], nmax: i32, l: &mut [i8]) -> f32 {
    let Some(max) = signed_max(x) else {
        l.fill(0);
        return 0.0;
    };
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0f32, 0f32);
    for (o, &v) in l.iter_mut().zip(x) {
        let q = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        *o = q as i8;
        let w = v * v;
        sumlx += w * v * q as f32;
        suml2 += w * q as f32 * q as f32;
    }
    for _ in 0..5 {
        let mut changed = 0;
        for (o, &v) in l.iter_mut().zip(x) {
            let w = v * v;
            let li = f32::from(*o);
            let mut slx = sumlx - w * v * li;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * li * li;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != i32::from(*o) {
                    slx += w * v * new_l as f32;
                    sl2 += w * new_l as f32 * new_l as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        *o = new_l as i8;
                        sumlx = slx;
                        suml2 = sl2;
                        changed += 1;
                    }
                }
            }
        }
        if changed == 0 {
            break;
        }
    }
    for o in l.iter_mut() {
        *o += nmax as i8;
    }
    if suml2 > 0.0 { sumlx / suml2 } else { 0.0 }
}

/// `make_qkx2_quants`: a scale and a minimum for codes in [0, nmax], searched over `nstep + 1`
/// candidate scales for the least weighted squared (or, with `mad`, absolute) error. Returns
/// `(scale, −min)`.
#[allow(clippy::too_many_arguments)]
fn make_qkx2_quants(x: &[f32], nmax: i32, weights: &[f32], l: &mut [u8], rmin: f32, rdelta: f32, nstep: i32, mad: bool) -> (f32, f32) {
    let n = x.len();
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l.fill(0);
        return (0.0, -min);
    }
    let error = |d: f32| if mad { d.abs() } else { d * d };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0f32;
    for i in 0..n {
        l[i] = nearest_int(iscale * (x[i] - min)).clamp(0, nmax) as u8;
        best_error += weights[i] * error(scale * f32::from(l[i]) + min - x[i]);
    }
    if nstep < 1 {
        return (scale, -min);
    }
    let mut aux = [0u8; 32];
    let aux = &mut aux[..n];
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0f32, 0f32, 0f32);
        for i in 0..n {
            let q = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            aux[i] = q as u8;
            let (w, q) = (weights[i], q as f32);
            sum_l += w * q;
            sum_l2 += w * q * q;
            sum_xl += w * q * x[i];
        }
        let d = sum_w * sum_l2 - sum_l * sum_l;
        if d > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / d;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / d;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0f32;
            for i in 0..n {
                cur_error += weights[i] * error(this_scale * f32::from(aux[i]) + this_min - x[i]);
            }
            if cur_error < best_error {
                l.copy_from_slice(aux);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// Packs four 2-bit codes of each 128 values into a byte (Q2_K's and Q3_K's `qs`).
fn pack_2bit(l: &[u8; QK_K], qs: &mut [u8]) {
    for j in (0..QK_K).step_by(128) {
        for k in 0..32 {
            qs[j / 4 + k] = l[j + k] | (l[j + k + 32] << 2) | (l[j + k + 64] << 4) | (l[j + k + 96] << 6);
        }
    }
}

/// Q4_K's and Q5_K's packing of eight 6-bit scales and minimums into 12 bytes.
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
    if !xs.len().is_multiple_of(QK_K) {
        return Err(FormatError::BlockSize { values: xs.len(), block: QK_K });
    }
    let mut out = vec![0u8; xs.len() / QK_K * t.type_size()];
    for (x, b) in xs.chunks_exact(QK_K).zip(out.chunks_exact_mut(t.type_size())) {
        let x: &[f32; QK_K] = x.try_into().expect("chunks of QK_K");
        match t {
            KQuant::Q2K => q2_k(x, b),
            KQuant::Q3K => q3_k(x, b),
            KQuant::Q4K | KQuant::Q5K => q45_k(t == KQuant::Q5K, x, b),
            KQuant::Q6K => q6_k(x, b),
        }
    }
    Ok(out)
}

/// scales (16) | qs (64) | d | dmin
fn q2_k(x: &[f32; QK_K], b: &mut [u8]) {
    let mut l = [0u8; QK_K];
    let (mut scales, mut mins) = ([0f32; 16], [0f32; 16]);
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..16 {
        let xj = &x[16 * j..][..16];
        let weights: [f32; 16] = std::array::from_fn(|k| xj[k].abs());
        (scales[j], mins[j]) = make_qkx2_quants(xj, 3, &weights, &mut l[16 * j..][..16], -0.5, 0.1, 15, true);
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
            continue;
        }
        let dm = dmin_all * f32::from(sc[j] >> 4);
        for k in 0..16 {
            l[16 * j + k] = nearest_int((x[16 * j + k] + dm) / d).clamp(0, 3) as u8;
        }
    }
    pack_2bit(&l, &mut rest[..64]);
}

/// hmask (32) | qs (64) | scales (12) | d
fn q3_k(x: &[f32; QK_K], b: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0f32; 16];
    for j in 0..16 {
        scales[j] = make_q3_quants(&x[16 * j..][..16], 4, &mut l[16 * j..][..16]);
    }
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
    for j in 0..16 {
        let low = if j < 8 { s[j] & 0xf } else { s[j - 8] >> 4 };
        let sc = ((low | (((s[8 + j % 4] >> (2 * (j / 4))) & 3) << 4)) as i8).wrapping_sub(32);
        let dj = d_all * f32::from(sc);
        if dj == 0.0 {
            continue;
        }
        for k in 0..16 {
            l[16 * j + k] = (nearest_int(x[16 * j + k] / dj).clamp(-4, 3) + 4) as i8;
        }
    }
    let (hmask, rest) = b.split_at_mut(32);
    hmask.fill(0);
    let mut codes = [0u8; QK_K];
    for j in 0..QK_K {
        let mut q = l[j] as u8;
        if q > 3 {
            hmask[j % 32] |= 1 << (j / 32);
            q -= 4;
        }
        codes[j] = q;
    }
    pack_2bit(&codes, &mut rest[..64]);
    rest[64..76].copy_from_slice(&s);
    rest[76..78].copy_from_slice(&d);
}

/// d | dmin | scales (12) | [qh (32)] | qs (128)
fn q45_k(five: bool, x: &[f32; QK_K], b: &mut [u8]) {
    let (nmax, rmin, nstep) = if five { (31, -0.5, 15) } else { (15, -1.0, 20) };
    let mut l = [0u8; QK_K];
    let (mut scales, mut mins) = ([0f32; 8], [0f32; 8]);
    let (mut max_scale, mut max_min) = (0f32, 0f32);
    for j in 0..8 {
        let xj = &x[32 * j..][..32];
        let mut sum_x2 = 0f32;
        for &v in xj {
            sum_x2 += v * v;
        }
        let av_x = libm::sqrtf(sum_x2 / 32.0);
        let weights: [f32; 32] = std::array::from_fn(|k| av_x + xj[k].abs());
        (scales[j], mins[j]) = make_qkx2_quants(xj, nmax, &weights, &mut l[32 * j..][..32], rmin, 0.1, nstep, false);
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
            continue;
        }
        let dm = dmin_all * f32::from(lm[j]);
        for k in 0..32 {
            l[32 * j + k] = nearest_int((x[32 * j + k] + dm) / d).clamp(0, top) as u8;
        }
    }
    let (qh, qs) = if five { b[16..].split_at_mut(32) } else { b[16..].split_at_mut(0) };
    qh.fill(0);
    for (chunk, n) in (0..QK_K).step_by(64).enumerate() {
        for j in 0..32 {
            let (mut l1, mut l2) = (l[n + j], l[n + j + 32]);
            if l1 > 15 {
                l1 -= 16;
                qh[j] |= 1 << (2 * chunk);
            }
            if l2 > 15 {
                l2 -= 16;
                qh[j] |= 2 << (2 * chunk);
            }
            qs[32 * chunk + j] = l1 | (l2 << 4);
        }
    }
}

/// ql (128) | qh (64) | scales (16, int8) | d
fn q6_k(x: &[f32; QK_K], b: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0f32; 16];
    for ib in 0..16 {
        scales[ib] = make_qx_quants(&x[16 * ib..][..16], 32, &mut l[16 * ib..][..16]);
    }
    let (max_scale, max_abs_scale) = largest(&scales);
    if max_abs_scale < GROUP_MAX_EPS {
        b.fill(0);
        return;
    }
    let iscale = -128.0 / max_scale;
    let d = to_half(1.0 / iscale);
    let sc: [i8; 16] = std::array::from_fn(|ib| nearest_int(iscale * scales[ib]).min(127) as i8);
    let d_all = from_half(d);
    for j in 0..16 {
        let dj = d_all * f32::from(sc[j]);
        if dj == 0.0 {
            continue;
        }
        for k in 0..16 {
            l[16 * j + k] = (nearest_int(x[16 * j + k] / dj).clamp(-32, 31) + 32) as i8;
        }
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
}
