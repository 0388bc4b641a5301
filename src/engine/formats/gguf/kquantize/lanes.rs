//! The K-quants' scale searches over all the sub-blocks of a super-block at once. Lane `j` of
//! every array is sub-block `j`: `x[i][j]` is its value `i`. Each lane runs exactly the f32
//! operations of the one-sub-block search ([`super::scalar`], ggml-quants.c's order), every
//! `if` turned into a per-lane choice, so the bytes stay llama.cpp's while the lanes fill a
//! vector unit (8 lanes for Q4_K/Q5_K's sub-blocks of 32, 16 for the others' sub-blocks of 16).
//! The tests check every lane against the scalar search, bit for bit.

use std::array::from_fn;

use super::{nearest_int, GROUP_MAX_EPS};
use crate::engine::simd::mask;

/// One f32 per sub-block.
pub(super) type Lanes<const L: usize> = [f32; L];

/// The super-block `x` (`L` sub-blocks of `N` values) as lanes.
#[inline(always)]
pub(super) fn transpose<const L: usize, const N: usize>(x: &[f32]) -> [Lanes<L>; N] {
    debug_assert_eq!(x.len(), L * N);
    from_fn(|i| from_fn(|j| x[N * j + i]))
}

/// Lanes of codes back in value order: `out[N·j + i] = l[i][j]`.
#[inline(always)]
pub(super) fn untranspose<T: Copy, const L: usize, const N: usize>(l: &[[T; L]; N], out: &mut [T]) {
    for (i, row) in l.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            out[N * j + i] = v;
        }
    }
}

/// Each lane's value of largest magnitude (the first of equals) and whether that magnitude is
/// below [`GROUP_MAX_EPS`] (an all-zero sub-block).
#[inline(always)]
fn signed_max<const L: usize, const N: usize>(x: &[Lanes<L>; N]) -> (Lanes<L>, [bool; L]) {
    let (mut max, mut amax) = ([0f32; L], [0f32; L]);
    for row in x {
        for j in 0..L {
            let a = row[j].abs();
            let bigger = a > amax[j];
            amax[j] = if bigger { a } else { amax[j] };
            max[j] = if bigger { row[j] } else { max[j] };
        }
    }
    (max, from_fn(|j| amax[j] < GROUP_MAX_EPS))
}

/// What `make_qx_quants` found for each lane: its scale, and the winning inverse scale that its
/// codes come from ([`QxFit::codes`]).
pub(super) struct QxFit<const L: usize> {
    pub scale: Lanes<L>,
    iscale: Lanes<L>,
    zero: [bool; L],
    nmax: i32,
}

impl<const L: usize> QxFit<L> {
    /// Lane `j`'s codes, offset by `nmax`, of its values `x` in order (0 throughout for an
    /// all-zero lane): made only where they are kept.
    #[inline(always)]
    pub fn codes(&self, j: usize, x: &[f32], out: &mut [i8]) {
        let nmax = self.nmax;
        for (o, &v) in out.iter_mut().zip(x) {
            let q = nearest_int(self.iscale[j] * v).clamp(-nmax, nmax - 1);
            *o = if self.zero[j] { 0 } else { (nmax + q) as i8 };
        }
    }
}

/// `make_qx_quants` (rmse_type 1, no importance) in every lane: the signed scale for codes in
/// [−nmax, nmax − 1]. Each candidate's sums only are made; the codes, of the winner's inverse
/// scale, where the caller keeps them.
#[inline(always)]
pub(super) fn qx<const L: usize, const N: usize>(x: &[Lanes<L>; N], nmax: i32) -> QxFit<L> {
    let (max, zero) = signed_max(x);
    // The weights x² and x²·x, as the C's `w*x[i]*l` rounds them.
    let w: [Lanes<L>; N] = x.map(|row| row.map(|v| v * v));
    let wx: [Lanes<L>; N] = from_fn(|i| from_fn(|j| w[i][j] * x[i][j]));
    let nan = x.iter().flatten().any(|v| v.is_nan());
    // |iscale·x| ≤ |iscale·max| in each lane: the rounding instruction gives `nearest_int`'s
    // codes when that is within ±2²² (and no NaN needs `nearest_int`'s 0).
    let plain = |iscale: &Lanes<L>| {
        let t: Lanes<L> = from_fn(|j| iscale[j] * max[j]);
        !nan && all_within(&zero, &t, &t)
    };
    let mut at: Lanes<L> = from_fn(|j| -(nmax as f32) / max[j]);
    let (sumlx, suml2) = qx_sums(x, &w, &wx, &at, nmax, plain(&at));
    let mut scale: Lanes<L> = from_fn(|j| if suml2[j] != 0.0 { sumlx[j] / suml2[j] } else { 0.0 });
    let mut best: Lanes<L> = from_fn(|j| scale[j] * sumlx[j]);
    for is in (-9..=9).filter(|&is| is != 0) {
        let iscale: Lanes<L> = from_fn(|j| -(nmax as f32 + 0.1 * is as f32) / max[j]);
        let (sumlx, suml2) = qx_sums(x, &w, &wx, &iscale, nmax, plain(&iscale));
        let take: Mask<L> = from_fn(|j| mask((suml2[j] > 0.0) & (sumlx[j] * sumlx[j] > best[j] * suml2[j])));
        for j in 0..L {
            let s = sumlx[j] / suml2[j];
            scale[j] = scale[j].blend(s, take[j]);
            best[j] = best[j].blend(s * sumlx[j], take[j]);
            at[j] = at[j].blend(iscale[j], take[j]);
        }
    }
    QxFit { scale: from_fn(|j| if zero[j] { 0.0 } else { scale[j] }), iscale: at, zero, nmax }
}

/// One `make_qx_quants` candidate's sums `Σ x²·x·l` and `Σ x²·l²` in each lane, for the inverse
/// scale `iscale`, by the rounding instruction if `plain` (as for [`candidate`]).
#[inline(always)]
fn qx_sums<const L: usize, const N: usize>(x: &[Lanes<L>; N], w: &[Lanes<L>; N], wx: &[Lanes<L>; N], iscale: &Lanes<L>, nmax: i32, plain: bool) -> (Lanes<L>, Lanes<L>) {
    if plain {
        qx_sums_by::<L, N, false>(x, w, wx, iscale, nmax)
    } else {
        qx_sums_by::<L, N, true>(x, w, wx, iscale, nmax)
    }
}

#[inline(always)]
fn qx_sums_by<const L: usize, const N: usize, const NEAREST_INT: bool>(x: &[Lanes<L>; N], w: &[Lanes<L>; N], wx: &[Lanes<L>; N], iscale: &Lanes<L>, nmax: i32) -> (Lanes<L>, Lanes<L>) {
    let (mut sumlx, mut suml2) = ([0f32; L], [0f32; L]);
    let (lo, hi) = (-nmax as f32, (nmax - 1) as f32);
    // A part of the lanes at a time ([`PART`]).
    for part in (0..L).step_by(PART.min(L)) {
        for ((row, w), wx) in x.iter().zip(w).zip(wx) {
            for j in part..part + PART.min(L) {
                let t = iscale[j] * row[j];
                let q = if NEAREST_INT {
                    nearest_int(t).clamp(-nmax, nmax - 1) as f32
                } else {
                    let r = t.round_ties_even();
                    let r = if r > lo { r } else { lo };
                    if r < hi { r } else { hi }
                };
                sumlx[j] += wx[j] * q;
                suml2[j] += w[j] * q * q;
            }
        }
    }
    (sumlx, suml2)
}

/// `make_q3_quants` with `do_rmse` in every lane: codes in [−nmax, nmax − 1] refined one at a
/// time for up to five rounds (a lane stops after a round that changes nothing), stored in `l`
/// offset by `nmax` (0 throughout for an all-zero lane), and the scale they imply.
#[inline(always)]
pub(super) fn q3<const L: usize, const N: usize>(x: &[Lanes<L>; N], nmax: i32, l: &mut [[i8; L]; N]) -> Lanes<L> {
    let (max, zero) = signed_max(x);
    let iscale: Lanes<L> = from_fn(|j| -(nmax as f32) / max[j]);
    let (mut sumlx, mut suml2) = ([0f32; L], [0f32; L]);
    for (row, o) in x.iter().zip(l.iter_mut()) {
        for j in 0..L {
            let v = row[j];
            let q = nearest_int(iscale[j] * v).clamp(-nmax, nmax - 1);
            o[j] = q as i8;
            let (w, q) = (v * v, q as f32);
            sumlx[j] += w * v * q;
            suml2[j] += w * q * q;
        }
    }
    let mut active: Mask<L> = [u32::MAX; L];
    for _ in 0..5 {
        if active.iter().all(|&a| a == 0) {
            break;
        }
        let mut changed: Mask<L> = [0; L];
        for (row, o) in x.iter().zip(l.iter_mut()) {
            for j in 0..L {
                let (v, li) = (row[j], f32::from(o[j]));
                let w = v * v;
                let slx = sumlx[j] - w * v * li;
                let sl2 = suml2[j] - w * li * li;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                let nl = new_l as f32;
                let (slx2, sl22) = (slx + w * v * nl, sl2 + w * nl * nl);
                let better = (slx > 0.0) & (new_l != i32::from(o[j])) & (sl22 > 0.0) & (slx2 * slx2 * suml2[j] > sumlx[j] * sumlx[j] * sl22);
                let take = active[j] & mask(better);
                o[j] = o[j].blend(new_l as i8, take);
                sumlx[j] = sumlx[j].blend(slx2, take);
                suml2[j] = suml2[j].blend(sl22, take);
                changed[j] |= take;
            }
        }
        for j in 0..L {
            active[j] &= changed[j];
        }
    }
    for o in l.iter_mut() {
        for v in o.iter_mut() {
            *v += nmax as i8;
        }
    }
    zero_lanes(l, &zero);
    from_fn(|j| if !zero[j] && suml2[j] > 0.0 { sumlx[j] / suml2[j] } else { 0.0 })
}

/// The search's fixed settings for `make_qkx2_quants`.
pub(super) struct Search {
    /// The largest code.
    pub nmax: i32,
    /// The candidate scales' first offset and step (`nmax + rmin + rdelta·is` steps over the range).
    pub rmin: f32,
    pub rdelta: f32,
    /// Candidates after the first: `0..=nstep`.
    pub nstep: i32,
}

/// What `make_qkx2_quants` found for each lane: its scale and minimum (negated, as the C returns
/// it), and the winning inverse scale and range start that its codes come from
/// ([`Qkx2Fit::codes`]).
pub(super) struct Qkx2Fit<const L: usize> {
    pub scale: Lanes<L>,
    pub neg_min: Lanes<L>,
    iscale: Lanes<L>,
    min: Lanes<L>,
    flat: [bool; L],
    nmax: i32,
}

impl<const L: usize> Qkx2Fit<L> {
    /// Lane `j`'s codes of its values `x` in order (0 throughout for a flat lane): made only
    /// where they are kept.
    #[inline(always)]
    pub fn codes(&self, j: usize, x: &[f32], out: &mut [u8]) {
        for (o, &v) in out.iter_mut().zip(x) {
            let q = nearest_int(self.iscale[j] * (v - self.min[j])).clamp(0, self.nmax);
            *o = if self.flat[j] { 0 } else { q as u8 };
        }
    }
}

/// `make_qkx2_quants` in every lane: a scale and a minimum for codes in [0, nmax], the candidate
/// with the least weighted error (absolute errors with `MAD`, Q2_K's; else squared).
#[inline(always)]
pub(super) fn qkx2<const L: usize, const N: usize, const MAD: bool>(x: &[Lanes<L>; N], weights: &[Lanes<L>; N], s: &Search) -> Qkx2Fit<L> {
    let nmax = s.nmax;
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x: Lanes<L> = from_fn(|j| sum_w[j] * x[0][j]);
    for (row, w) in x.iter().zip(weights).skip(1) {
        for j in 0..L {
            min[j] = if row[j] < min[j] { row[j] } else { min[j] };
            max[j] = if row[j] > max[j] { row[j] } else { max[j] };
            sum_w[j] += w[j];
            sum_x[j] += w[j] * row[j];
        }
    }
    // The least value of each lane, before the minimum is clamped to 0 and then searched.
    let least = min;
    for m in min.iter_mut() {
        *m = if *m > 0.0 { 0.0 } else { *m };
    }
    let min0 = min;
    let flat: [bool; L] = from_fn(|j| max[j] == min[j]);
    let error = |d: f32| if MAD { d.abs() } else { d * d };
    let iscale: Lanes<L> = from_fn(|j| nmax as f32 / (max[j] - min[j]));
    let mut scale: Lanes<L> = from_fn(|j| 1.0 / iscale[j]);
    let mut best = [0f32; L];
    for (row, w) in x.iter().zip(weights) {
        for j in 0..L {
            let q = code(iscale[j] * (row[j] - min[j]), 0, nmax);
            best[j] += w[j] * error(scale[j] * q + min[j] - row[j]);
        }
    }
    // The winning candidate's inverse scale and the minimum its range started from: its codes
    // are made from them where they are kept (cheaper than keeping each winner's codes).
    let (mut at_iscale, mut at_min) = (iscale, min);
    // The codes as f32 (exact small integers), so that every step stays in f32 lanes.
    let mut aux = [[0f32; L]; N];
    for is in 0..=s.nstep {
        // Over the range from the best minimum so far, as the C does.
        let iscale: Lanes<L> = from_fn(|j| (s.rmin + s.rdelta * is as f32 + nmax as f32) / (max[j] - min[j]));
        // Every code of a lane lies between those of its least and largest value; within
        // ±2²² the rounding instruction gives `nearest_int`'s integer. (A flat lane's codes
        // are not used.)
        let plain = all_within(&flat, &from_fn(|j| iscale[j] * (least[j] - min[j])), &from_fn(|j| iscale[j] * (max[j] - min[j])));
        let (sum_l, sum_l2, sum_xl) = if plain { candidate::<L, N, false>(x, weights, &iscale, &min, nmax, &mut aux) } else { candidate::<L, N, true>(x, weights, &iscale, &min, nmax, &mut aux) };
        let d: Lanes<L> = from_fn(|j| sum_w[j] * sum_l2[j] - sum_l[j] * sum_l[j]);
        // Every lane's candidates computed, then chosen: no lane-by-lane branches.
        let scale_min: Lanes<L> = from_fn(|j| (sum_w[j] * sum_xl[j] - sum_x[j] * sum_l[j]) / d[j]);
        let min_at: Lanes<L> = from_fn(|j| (sum_l2[j] * sum_x[j] - sum_l[j] * sum_xl[j]) / d[j]);
        let scale_zero: Lanes<L> = from_fn(|j| sum_xl[j] / sum_l2[j]);
        let this_min: Lanes<L> = from_fn(|j| if min_at[j] > 0.0 { 0.0 } else { min_at[j] });
        let this_scale: Lanes<L> = from_fn(|j| if min_at[j] > 0.0 { scale_zero[j] } else { scale_min[j] });
        let mut cur = [0f32; L];
        for ((row, w), o) in x.iter().zip(weights).zip(&aux) {
            for j in 0..L {
                cur[j] += w[j] * error(this_scale[j] * o[j] + this_min[j] - row[j]);
            }
        }
        let take: Mask<L> = from_fn(|j| mask((d[j] > 0.0) & (cur[j] < best[j])));
        for j in 0..L {
            best[j] = best[j].blend(cur[j], take[j]);
            scale[j] = scale[j].blend(this_scale[j], take[j]);
            at_iscale[j] = at_iscale[j].blend(iscale[j], take[j]);
            at_min[j] = at_min[j].blend(min[j], take[j]);
            min[j] = min[j].blend(this_min[j], take[j]);
        }
    }
    Qkx2Fit { scale: from_fn(|j| if flat[j] { 0.0 } else { scale[j] }), neg_min: from_fn(|j| -if flat[j] { min0[j] } else { min[j] }), iscale: at_iscale, min: at_min, flat, nmax }
}

/// Whether `a` and `b` are within ±[`ROUNDS_EXACTLY`] (NaN is not) in every lane not set in
/// `skip`: compares and a reduction, no branch per lane.
#[inline(always)]
fn all_within<const L: usize>(skip: &[bool; L], a: &Lanes<L>, b: &Lanes<L>) -> bool {
    let out: Mask<L> = from_fn(|j| mask(!skip[j] & !((a[j].abs() <= ROUNDS_EXACTLY) & (b[j].abs() <= ROUNDS_EXACTLY))));
    out.iter().fold(0, |m, &o| m | o) == 0
}

/// Lanes a pass over the rows works on at a time: in wasm, whose vectors hold four, a pass over
/// all sixteen lanes keeps more sums than there are registers, and V8 spilled them each row.
const PART: usize = if cfg!(target_arch = "wasm32") { 8 } else { 16 };

/// Below this magnitude `nearest_int` is the float rounded half to even.
const ROUNDS_EXACTLY: f32 = 4_194_304.0;

/// One candidate's codes into `aux` and their weighted sums (`Σw·l`, `Σw·l²`, `Σw·l·x`) in each
/// lane, for the inverse scale `iscale` over the range from `min`. `NEAREST_INT`: by ggml's
/// `nearest_int` bit trick (whatever the values); else by the rounding instruction, for a caller
/// that has checked that every `iscale·(x − min)` is within ±[`ROUNDS_EXACTLY`] (three vector
/// operations where the trick takes six).
#[inline(always)]
fn candidate<const L: usize, const N: usize, const NEAREST_INT: bool>(x: &[Lanes<L>; N], weights: &[Lanes<L>; N], iscale: &Lanes<L>, min: &Lanes<L>, nmax: i32, aux: &mut [Lanes<L>; N]) -> (Lanes<L>, Lanes<L>, Lanes<L>) {
    let (mut sum_l, mut sum_l2, mut sum_xl) = ([0f32; L], [0f32; L], [0f32; L]);
    for part in (0..L).step_by(PART.min(L)) {
        for ((row, w), o) in x.iter().zip(weights).zip(aux.iter_mut()) {
            for j in part..part + PART.min(L) {
                let t = iscale[j] * (row[j] - min[j]);
                let q = if NEAREST_INT { code(t, 0, nmax) } else { rounded_code(t, nmax as f32) };
                o[j] = q;
                sum_l[j] += w[j] * q;
                sum_l2[j] += w[j] * q * q;
                sum_xl[j] += w[j] * q * row[j];
            }
        }
    }
    (sum_l, sum_l2, sum_xl)
}

/// [`code`]`(t, 0, top)` for a `t` within ±[`ROUNDS_EXACTLY`] or NaN (→ 0, as `nearest_int`
/// gives the quiet NaN), always +0 for zero.
#[inline(always)]
fn rounded_code(t: f32, top: f32) -> f32 {
    let r = t.round_ties_even();
    let r = if r > 0.0 { r } else { 0.0 };
    if r < top { r } else { top }
}

/// ggml's `nearest_int(t)` clamped to [lo, hi], as an f32 (the same integer: `t`'s magic-number
/// rounding gives it exactly, and within ±2²² it is `t` rounded half to even).
#[inline(always)]
fn code(t: f32, lo: i32, hi: i32) -> f32 {
    // Clamped as integers: f32's `max`/`min` ignore NaN, which wasm's vector min/max do not
    // match, so they compiled to scalar code there (6× slower searches).
    nearest_int(t).clamp(lo, hi) as f32
}

/// A lane mask: all ones where set. (Arrays of `bool` do not vectorize: LLVM widens them
/// lane by lane, in branches.)
pub(super) type Mask<const L: usize> = [u32; L];


/// A value that lanes can take from another under a [`Mask`], by bits (a select by `if`
/// became a branch or a pointer select per lane).
pub(super) trait Blend: Copy {
    fn blend(self, other: Self, m: u32) -> Self;
}

impl Blend for f32 {
    /// `other` where `m` is set, else `self`.
    #[inline(always)]
    fn blend(self, other: f32, m: u32) -> f32 {
        f32::from_bits((other.to_bits() & m) | (self.to_bits() & !m))
    }
}

impl Blend for i8 {
    #[inline(always)]
    fn blend(self, other: i8, m: u32) -> i8 {
        let m = m as i8;
        (other & m) | (self & !m)
    }
}

/// Zeroes the codes of the lanes set in `zero`.
#[inline(always)]
fn zero_lanes<T: Copy + Default, const L: usize, const N: usize>(l: &mut [[T; L]; N], zero: &[bool; L]) {
    for o in l.iter_mut() {
        for j in 0..L {
            o[j] = if zero[j] { T::default() } else { o[j] };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::scalar;
    use super::*;

    /// A sub-block of `n` values of kind `kind` (random, zero, constant, ties, tiny, huge, one
    /// sign, an outlier, NaN or ±∞ in it, ties of the first scale), from `seed`.
    fn sub_block(kind: u64, seed: u64, n: usize) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut v: Vec<f32> = (0..n).map(|_| next() * 0.05).collect();
        match kind % 12 {
            0 => v.fill(0.0),
            1 => v.fill(-0.25),
            2 => v.iter_mut().for_each(|x| *x = (*x * 80.0).round() / 4.0),
            3 => v.iter_mut().for_each(|x| *x *= 1e-14),
            4 => v.iter_mut().for_each(|x| *x *= 1e30),
            5 => v.iter_mut().for_each(|x| *x = x.abs()),
            6 => v.iter_mut().for_each(|x| *x = -x.abs()),
            7 => v[(seed % n as u64) as usize] = 3.0,
            8 => v[(seed % n as u64) as usize] = f32::NAN,
            9 => v[(seed % n as u64) as usize] = if seed.is_multiple_of(2) { f32::INFINITY } else { f32::NEG_INFINITY },
            // Multiples of 1/32 beside −2: `make_qx_quants`' first inverse scale is 16, so
            // half of the codes are ties.
            11 => {
                v.iter_mut().for_each(|x| *x = (*x * 64.0).round() / 32.0);
                v[(seed % n as u64) as usize] = -2.0;
            }
            _ => {}
        }
        v
    }

    fn same(a: f32, b: f32) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    /// Super-blocks whose lanes are a mix of every kind: each lane's scale, minimum and codes
    /// equal the one-sub-block search's, bit for bit.
    #[test]
    fn every_lane_is_the_scalar_search() {
        for seed in 0..2000u64 {
            // Odd seeds: finite lanes only, whose steps take the rounding instruction's path
            // (a NaN or ±∞ in any lane sends a step down `nearest_int`'s).
            let kind = |k: u64| if seed % 2 == 1 { [0, 1, 2, 3, 4, 5, 6, 7, 10, 11][(k % 10) as usize] } else { k };
            let x16: Vec<f32> = (0..16).flat_map(|j| sub_block(kind(seed * 7 + j), seed * 16 + j, 16)).collect();
            let x32: Vec<f32> = (0..16).flat_map(|j| sub_block(kind(seed * 5 + j), seed * 16 + j, 32)).collect();
            let t16 = transpose::<16, 16>(&x16);
            let t32 = transpose::<16, 32>(&x32);

            let (mut l, mut flat) = ([[0i8; 16]; 16], [0i8; QK]);
            let fit = qx(&t16, 32);
            for j in 0..16 {
                let (mut want, mut got) = ([0i8; 16], [0i8; 16]);
                let s = scalar::make_qx_quants(&x16[16 * j..][..16], 32, &mut want);
                fit.codes(j, &x16[16 * j..][..16], &mut got);
                assert!(same(fit.scale[j], s) && got == want, "qx, seed {seed}, lane {j}");
            }

            let scales = q3(&t16, 4, &mut l);
            untranspose(&l, &mut flat);
            for j in 0..16 {
                let mut want = [0i8; 16];
                let s = scalar::make_q3_quants(&x16[16 * j..][..16], 4, &mut want);
                assert!(same(scales[j], s) && flat[16 * j..][..16] == want, "q3, seed {seed}, lane {j}");
            }

            let w16 = t16.map(|row| row.map(f32::abs));
            let fit = qkx2::<16, 16, true>(&t16, &w16, &Search { nmax: 3, rmin: -0.5, rdelta: 0.1, nstep: 15 });
            for j in 0..16 {
                let xj = &x16[16 * j..][..16];
                let (mut want, mut got) = ([0u8; 16], [0u8; 16]);
                let w: Vec<f32> = xj.iter().map(|v| v.abs()).collect();
                let (s, m) = scalar::make_qkx2_quants(xj, 3, &w, &mut want, -0.5, 0.1, 15, true);
                fit.codes(j, xj, &mut got);
                assert!(same(fit.scale[j], s) && same(fit.neg_min[j], m) && got == want, "qkx2 (Q2_K), seed {seed}, lane {j}");
            }

            for (nmax, rmin, nstep) in [(15, -1.0, 20), (31, -0.5, 15)] {
                // Two super-blocks' sub-blocks of 32, as Q4_K and Q5_K search them.
                let w32 = t32.map(|row| row.map(|v| 0.01 + v.abs()));
                let fit = qkx2::<16, 32, false>(&t32, &w32, &Search { nmax, rmin, rdelta: 0.1, nstep });
                for j in 0..16 {
                    let xj = &x32[32 * j..][..32];
                    let (mut want, mut got) = ([0u8; 32], [0u8; 32]);
                    let w: Vec<f32> = xj.iter().map(|v| 0.01 + v.abs()).collect();
                    let (s, m) = scalar::make_qkx2_quants(xj, nmax, &w, &mut want, rmin, 0.1, nstep, false);
                    fit.codes(j, xj, &mut got);
                    assert!(same(fit.scale[j], s) && same(fit.neg_min[j], m) && got == want, "qkx2 ({nmax}), seed {seed}, lane {j}: {} {} {got:?} against {s} {m} {want:?}", fit.scale[j], fit.neg_min[j]);
                }
            }
        }
    }

    const QK: usize = 256;
}
