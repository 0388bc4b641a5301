//! A layer's requantization as the integer model's hot loop runs it: `clamp(round(M·v), lo, hi)` with
//! a fixed-point multiplier, bit-exact against the reference on every target.

use super::*;

/// A layer's requantization in the form the hot loop takes, with every result less the output's
/// zero point (the next layer's input zero point), so it feeds the next product directly.
///
/// The result is `clamp(round(M·v), lo, hi)` for `v = bias + acc`, with `M = m0·2⁻ᵗ` rounded
/// once, ties away from zero ([`FixedMultiplier::apply_once`]), in integer arithmetic only.
/// The fast path ([`requant_row`]) avoids the per-output shift by `t`, which no vector unit
/// in wasm has:
/// 1. `v` is first clamped to `[v_lo, v_hi]`, the largest `v` whose result is `lo` and the
///    smallest whose result is `hi` (the result is monotone in `v`, so the clamp changes no
///    result). Then `|M·v| ≤ 2⁸ + 2`.
/// 2. `p' = v·m0 + 2ᵗ⁻¹ − [v·m0 < 0]`, whose floor over `2ᵗ` is the rounded result.
/// 3. `q = ⌊p'/2³⁰⌋`, the same shift for every output; `|q| < 2⁸·2ᵗ⁻²⁹ < 2³¹` for `t ≤ 52`.
/// 4. `⌊q/2ᵗ⁻³⁰⌋ = ⌊q·2⁵⁹⁻ᵗ / 2²⁹⌋`, again one shift for all (floors of floors compose).
///
/// A layer with a multiplier outside `[2⁻²², 1)` (`t` outside `31..=52`: none in practice)
/// runs [`Requant::row_exact`] instead.
#[derive(Clone, Debug)]
pub(super) struct Requant {
    pub(super) bias: Vec<i32>,
    /// Per output: `(m0, t)` of [`FixedMultiplier::rounding_shift`].
    pub(super) exact: Vec<(i64, u32)>,
    /// Per output, for the fast path: `m0`, `2ᵗ⁻¹`, `2⁵⁹⁻ᵗ`, and the clamp on `v`.
    pub(super) m0: Vec<i32>,
    pub(super) half: Vec<i64>,
    pub(super) down: Vec<i32>,
    pub(super) v_lo: Vec<i32>,
    pub(super) v_hi: Vec<i32>,
    pub(super) fast: bool,
    pub(super) lo: i32,
    pub(super) hi: i32,
}

/// The exponents `t` the fast path takes (multipliers in `[2⁻²², 1)`).
pub(super) const FAST_SHIFTS: std::ops::RangeInclusive<u32> = 31..=52;

impl Requant {
    pub(super) fn new(layer: &IntLayer) -> Requant {
        let (lo, hi) = (layer.lo - layer.out_zero, layer.hi - layer.out_zero);
        // A multiplier of 2³⁰ or more (never made by `convert`) sends every non-zero sum past
        // the clamp, as `acc·2³⁰` does.
        let exact: Vec<(i64, u32)> = layer
            .multiplier
            .iter()
            .map(|m| match m.rounding_shift() {
                Some((0, _)) => (0, 31),
                Some(split) => split,
                None => (1 << 31, 1),
            })
            .collect();
        let one = |(m0, t): (i64, u32), v: i32| {
            let p = v as i64 * m0;
            ((p + (1i64 << (t - 1)) + (p >> 63)) >> t).clamp(lo as i64, hi as i64) as i32
        };
        // The first `v` where `f` holds, for `f` false then true over the i32 range.
        let first = |f: &dyn Fn(i32) -> bool| {
            let (mut a, mut b) = (i32::MIN as i64, i32::MAX as i64 + 1);
            while a < b {
                let mid = a + (b - a) / 2;
                if f(mid as i32) {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            b
        };
        let v_lo = exact.iter().map(|&e| (first(&|v| one(e, v) > lo) - 1).max(i32::MIN as i64) as i32).collect();
        let v_hi = exact.iter().map(|&e| first(&|v| one(e, v) >= hi).min(i32::MAX as i64) as i32).collect();
        Requant {
            bias: layer.bias.clone(),
            m0: exact.iter().map(|&(m0, _)| m0 as i32).collect(),
            half: exact.iter().map(|&(_, t)| 1i64 << (t - 1)).collect(),
            down: exact.iter().map(|&(_, t)| if FAST_SHIFTS.contains(&t) { 1 << (59 - t) } else { 0 }).collect(),
            fast: exact.iter().all(|(_, t)| FAST_SHIFTS.contains(t)),
            exact,
            v_lo,
            v_hi,
            lo,
            hi,
        }
    }

    /// One row of sums to codes less the zero point (the clamp lies within i16).
    pub(super) fn row(&self, acc: &[i32], out: &mut [i16]) {
        if self.fast {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512dq") && std::arch::is_x86_feature_detected!("avx512vl") {
                // SAFETY: the CPU has the features (checked just above).
                return unsafe { requant_row_avx512(self, acc, out) };
            }
            crate::engine::simd::dispatch!(requant_row(self, acc, out))
        } else {
            self.row_exact(acc, out)
        }
    }

    /// [`Requant::row`] the direct way: one 64-bit product and a shift by `t` per output.
    pub(super) fn row_exact(&self, acc: &[i32], out: &mut [i16]) {
        for (((o, &a), &b), &(m0, t)) in out.iter_mut().zip(acc).zip(&self.bias).zip(&self.exact) {
            let p = b.wrapping_add(a) as i64 * m0;
            let r = (p + (1i64 << (t - 1)) + (p >> 63)) >> t;
            *o = r.clamp(self.lo as i64, self.hi as i64) as i16;
        }
    }
}

/// [`Requant::row`]'s fast path (the steps are [`Requant`]'s), written so that LLVM
/// vectorizes it natively. (wasm has its own loop: LLVM leaves this one scalar there.)
#[inline(always)]
pub(super) fn requant_row(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    #[cfg(target_arch = "wasm32")]
    return requant_row_wasm(rq, acc, out);
    #[allow(unreachable_code)]
    requant_from(rq, acc, out, 0)
}

/// [`requant_row`] compiled with AVX-512, whose 64-bit arithmetic shifts and multiplies
/// (`vpsraq`, `vpmullq`) AVX2 lacks.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn requant_row_avx512(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    requant_from(rq, acc, out, 0)
}

/// Outputs `start..` of [`requant_row`]: clamps as compare-and-select, products of two i32
/// into i64, shifts by constants, over slices cut to one length (no bounds checks inside).
#[inline(always)]
pub(super) fn requant_from(rq: &Requant, acc: &[i32], out: &mut [i16], start: usize) {
    let n = out.len().min(acc.len());
    let (bias, m0, half, down, v_lo, v_hi) = (&rq.bias[..n], &rq.m0[..n], &rq.half[..n], &rq.down[..n], &rq.v_lo[..n], &rq.v_hi[..n]);
    let (acc, out) = (&acc[..n], &mut out[..n]);
    for o in start..n {
        let v = bias[o].wrapping_add(acc[o]);
        let v = if v > v_lo[o] { v } else { v_lo[o] };
        let v = if v < v_hi[o] { v } else { v_hi[o] };
        let p = v as i64 * m0[o] as i64;
        let q = ((p + half[o] + (p >> 63)) >> 30) as i32;
        let r = ((q as i64 * down[o] as i64) >> 29) as i32;
        let r = if r > rq.lo { r } else { rq.lo };
        out[o] = (if r < rq.hi { r } else { rq.hi }) as i16;
    }
}

/// [`requant_row`] in wasm SIMD128, eight outputs a step: `i64x2.extmul` for the products,
/// `i64x2.shr_s` by constants for the shifts.
#[cfg(target_arch = "wasm32")]
pub(super) fn requant_row_wasm(rq: &Requant, acc: &[i32], out: &mut [i16]) {
    use core::arch::wasm32::*;
    let n = out.len().min(acc.len());
    assert!(rq.bias.len() >= n && rq.m0.len() >= n && rq.half.len() >= n && rq.down.len() >= n && rq.v_lo.len() >= n && rq.v_hi.len() >= n);
    let (lo, hi) = (i32x4_splat(rq.lo), i32x4_splat(rq.hi));
    // SAFETY (every load and store): o + 8 <= n, and every slice holds at least n values
    // (asserted above); the loads and stores take unaligned addresses.
    let ld = |xs: &[i32], o: usize| unsafe { v128_load(xs.as_ptr().add(o) as *const v128) };
    let ld64 = |xs: &[i64], o: usize| unsafe { v128_load(xs.as_ptr().add(o) as *const v128) };
    // Four outputs: the steps of `requant_from`, two i64 lanes at a time.
    let four = |o: usize| {
        let v = i32x4_add(ld(&rq.bias, o), ld(acc, o));
        let v = i32x4_min(i32x4_max(v, ld(&rq.v_lo, o)), ld(&rq.v_hi, o));
        let m0 = ld(&rq.m0, o);
        let q = |p: v128, half: v128| i64x2_shr(i64x2_add(i64x2_add(p, half), i64x2_lt(p, i64x2_splat(0))), 30);
        let (q0, q1) = (q(i64x2_extmul_low_i32x4(v, m0), ld64(&rq.half, o)), q(i64x2_extmul_high_i32x4(v, m0), ld64(&rq.half, o + 2)));
        // The low halves of the i64 lanes: |q| < 2³¹ (see Requant).
        let q = i32x4_shuffle::<0, 2, 4, 6>(q0, q1);
        let down = ld(&rq.down, o);
        let (r0, r1) = (i64x2_shr(i64x2_extmul_low_i32x4(q, down), 29), i64x2_shr(i64x2_extmul_high_i32x4(q, down), 29));
        i32x4_min(i32x4_max(i32x4_shuffle::<0, 2, 4, 6>(r0, r1), lo), hi)
    };
    let mut o = 0;
    while o + 8 <= n {
        let codes = i16x8_narrow_i32x4(four(o), four(o + 4));
        unsafe { v128_store(out.as_mut_ptr().add(o) as *mut v128, codes) };
        o += 8;
    }
    requant_from(rq, acc, out, o);
}
