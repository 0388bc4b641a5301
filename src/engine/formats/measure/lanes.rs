//! The meter's f32 lanes: the sums of runs of values in vector lanes, and the loop that adds a
//! run to them, portable and (for the unchecked run, the hot one) in wasm's SIMD128.

use super::Partial;
use crate::engine::simd::mask;

/// f32 lanes of the accumulation loop.
pub(super) const LANES: usize = 8;
/// Values summed in f32 lanes before the sums move to f64 (each lane sums at most 64 terms).
pub(super) const SPAN: usize = 64 * LANES;
/// The most terms one f32 lane sums before the lanes move to f64.
pub(super) const LANE_TERMS: usize = SPAN / LANES;

/// The sums of one or more runs, lane by lane, in f32 (counts in u32).
#[derive(Default, Clone, Copy)]
pub(super) struct Lanes {
    pub signal: [f32; LANES],
    pub clip: [f32; LANES],
    pub round: [f32; LANES],
    pub max_err: [f32; LANES],
    pub below: [u32; LANES],
    pub above: [u32; LANES],
    pub bad: [u32; LANES],
}

impl Lanes {
    /// Whether every f32 sum is finite (none overflowed).
    #[inline(always)]
    pub fn finite(&self) -> bool {
        let sum: [f32; LANES] = std::array::from_fn(|i| self.signal[i] + self.clip[i] + self.round[i]);
        sum.iter().fold(true, |ok, s| ok & s.is_finite())
    }

    /// The lanes summed into one, in f64.
    pub fn partial(&self) -> Partial {
        let sum = |l: &[f32; LANES]| l.iter().map(|&t| f64::from(t)).sum::<f64>();
        let count = |l: &[u32; LANES]| l.iter().map(|&t| t as usize).sum::<usize>();
        Partial {
            signal: sum(&self.signal),
            clip: sum(&self.clip),
            round: sum(&self.round),
            max_err: self.max_err.iter().fold(0f32, |t, &u| t.max(u)),
            below: count(&self.below),
            above: count(&self.above),
            bad: count(&self.bad),
        }
    }
}

/// `l` with one run of at most [`SPAN`] values of one group added, with the group's bounds, in
/// branch-free f32 lanes (LLVM vectorizes them natively; a stage-by-stage form measured 1.6×
/// slower there). Lane 0 takes the values past the last whole 8, so it gains the most terms:
/// [`lane_terms`]. `CHECKED`: values that are not finite are counted in `bad` and left out; else
/// the caller sees them in the sums, which they make infinite or NaN, and adds the run again
/// checked.
#[inline(always)]
pub(super) fn run<const CHECKED: bool>(l: Lanes, x: &[f32], v: &[f32], lo: f32, hi: f32) -> Lanes {
    // Plain local arrays: LLVM keeps these in vector registers (not so the struct's fields).
    let Lanes { mut signal, mut clip, mut round, mut max_err, mut below, mut above, mut bad } = l;
    let (xc, vc) = (x.chunks_exact(LANES), v.chunks_exact(LANES));
    let (xr, vr) = (xc.remainder(), vc.remainder());
    // The body is written out in both loops: as a closure that mutates the arrays it captures,
    // LLVM left it scalar, with a branch per choice, in wasm.
    for (xl, vl) in xc.zip(vc) {
        for i in 0..LANES {
            let (x, v) = (xl[i], vl[i]);
            let ok = if CHECKED { mask(finite(x) & finite(v)) } else { u32::MAX };
            let xv = f32::from_bits(x.to_bits() & ok);
            let e = f32::from_bits((x - v).to_bits() & ok);
            let (under, over) = (ok & mask(x < lo), ok & mask(x > hi));
            let e2 = (e * e).to_bits();
            signal[i] += xv * xv;
            clip[i] += f32::from_bits(e2 & (under | over));
            round[i] += f32::from_bits(e2 & !(under | over));
            let ae = e.abs();
            max_err[i] = if ae > max_err[i] { ae } else { max_err[i] };
            below[i] = below[i].wrapping_sub(under);
            above[i] = above[i].wrapping_sub(over);
            bad[i] = bad[i].wrapping_sub(!ok);
        }
    }
    for (&x, &v) in xr.iter().zip(vr) {
        let ok = if CHECKED { mask(finite(x) & finite(v)) } else { u32::MAX };
        let xv = f32::from_bits(x.to_bits() & ok);
        let e = f32::from_bits((x - v).to_bits() & ok);
        let (under, over) = (ok & mask(x < lo), ok & mask(x > hi));
        let e2 = (e * e).to_bits();
        signal[0] += xv * xv;
        clip[0] += f32::from_bits(e2 & (under | over));
        round[0] += f32::from_bits(e2 & !(under | over));
        let ae = e.abs();
        max_err[0] = if ae > max_err[0] { ae } else { max_err[0] };
        below[0] = below[0].wrapping_sub(under);
        above[0] = above[0].wrapping_sub(over);
        bad[0] = bad[0].wrapping_sub(!ok);
    }
    Lanes { signal, clip, round, max_err, below, above, bad }
}

/// [`run`]`::<false>` for a group whose bounds are `(−∞, ∞)`, beyond which no value can lie: the
/// clipping checks left out (the clipping sum gains +0 and the counts 0 there), so the same
/// lanes bit for bit in about half the operations.
#[inline(always)]
pub(super) fn run_unclipped(l: Lanes, x: &[f32], v: &[f32]) -> Lanes {
    let Lanes { mut signal, clip, mut round, mut max_err, below, above, bad } = l;
    let (xc, vc) = (x.chunks_exact(LANES), v.chunks_exact(LANES));
    let (xr, vr) = (xc.remainder(), vc.remainder());
    for (xl, vl) in xc.zip(vc) {
        for i in 0..LANES {
            let e = xl[i] - vl[i];
            signal[i] += xl[i] * xl[i];
            round[i] += e * e;
            let ae = e.abs();
            max_err[i] = if ae > max_err[i] { ae } else { max_err[i] };
        }
    }
    for (&x, &v) in xr.iter().zip(vr) {
        let e = x - v;
        signal[0] += x * x;
        round[0] += e * e;
        let ae = e.abs();
        max_err[0] = if ae > max_err[0] { ae } else { max_err[0] };
    }
    Lanes { signal, clip, round, max_err, below, above, bad }
}

/// Lanes as the unchecked loop keeps them between runs: [`Lanes`] itself natively, vector
/// registers in wasm. [`Accumulator::run`] is [`run`]`::<false>`, bit for bit.
pub(super) trait Accumulator: Sized {
    fn load(l: &Lanes) -> Self;
    fn store(&self) -> Lanes;
    /// One run of at most [`SPAN`] values of one group added, unchecked.
    fn run(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32);

    /// Groups of `block` values each (a multiple of [`LANES`], at most [`SPAN`]), no lane
    /// summing more than [`LANE_TERMS`] terms in all, group `i` with the bounds `bounds[i]`,
    /// unchecked: [`Accumulator::run`] of each in turn, or [`run_unclipped`] for those whose
    /// bounds are `(−∞, ∞)`.
    #[inline(always)]
    fn run_blocks(&mut self, x: &[f32], v: &[f32], block: usize, bounds: &[(f32, f32)]) {
        for ((x, v), &(lo, hi)) in x.chunks_exact(block).zip(v.chunks_exact(block)).zip(bounds) {
            if (lo, hi) == super::UNCLIPPED {
                let mut l = self.store();
                l = run_unclipped(l, x, v);
                *self = Self::load(&l);
            } else {
                self.run(x, v, lo, hi);
            }
        }
    }
}

impl Accumulator for Lanes {
    #[inline(always)]
    fn load(l: &Lanes) -> Self {
        *l
    }

    #[inline(always)]
    fn store(&self) -> Lanes {
        *self
    }

    #[inline(always)]
    fn run(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        *self = run::<false>(*self, x, v, lo, hi);
    }
}

/// The unchecked loop's lanes on this target.
#[cfg(not(target_arch = "wasm32"))]
pub(super) type Plain = Lanes;
#[cfg(target_arch = "wasm32")]
pub(super) type Plain = wasm::Vectors;

/// The unchecked run in wasm's SIMD128, lanes 0–3 and 4–7 of [`Lanes`] in two vectors each: the
/// same operations lane by lane as [`run`], so the same sums bit for bit (a wasm test checks).
/// LLVM's vectorizer packed the portable loop's eight lanes into shuffles, scalar compares and
/// branches there (measured 1.5–2× slower).
#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{Accumulator, Lanes, LANES};
    use core::arch::wasm32::*;

    /// [`Lanes`]' sums, two vectors each (`bad`, which the unchecked loop leaves, as it is).
    #[derive(Clone, Copy)]
    pub struct Vectors {
        bad: [u32; LANES],
        signal: [v128; 2],
        clip: [v128; 2],
        round: [v128; 2],
        max_err: [v128; 2],
        below: [v128; 2],
        above: [v128; 2],
    }

    #[inline(always)]
    fn floats(a: &[f32; LANES]) -> [v128; 2] {
        [f32x4(a[0], a[1], a[2], a[3]), f32x4(a[4], a[5], a[6], a[7])]
    }

    #[inline(always)]
    fn counts(a: &[u32; LANES]) -> [v128; 2] {
        [u32x4(a[0], a[1], a[2], a[3]), u32x4(a[4], a[5], a[6], a[7])]
    }

    #[inline(always)]
    fn float_lanes(v: &[v128; 2]) -> [f32; LANES] {
        let h = |v: v128| [f32x4_extract_lane::<0>(v), f32x4_extract_lane::<1>(v), f32x4_extract_lane::<2>(v), f32x4_extract_lane::<3>(v)];
        let (a, b) = (h(v[0]), h(v[1]));
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
    }

    #[inline(always)]
    fn count_lanes(v: &[v128; 2]) -> [u32; LANES] {
        let h = |v: v128| [u32x4_extract_lane::<0>(v), u32x4_extract_lane::<1>(v), u32x4_extract_lane::<2>(v), u32x4_extract_lane::<3>(v)];
        let (a, b) = (h(v[0]), h(v[1]));
        [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
    }

    #[inline(always)]
    fn four(s: &[f32]) -> v128 {
        f32x4(s[0], s[1], s[2], s[3])
    }

    impl Accumulator for Vectors {
        #[inline(always)]
        fn load(l: &Lanes) -> Self {
            Vectors { bad: l.bad, signal: floats(&l.signal), clip: floats(&l.clip), round: floats(&l.round), max_err: floats(&l.max_err), below: counts(&l.below), above: counts(&l.above) }
        }

        #[inline(always)]
        fn store(&self) -> Lanes {
            Lanes {
                signal: float_lanes(&self.signal),
                clip: float_lanes(&self.clip),
                round: float_lanes(&self.round),
                max_err: float_lanes(&self.max_err),
                below: count_lanes(&self.below),
                above: count_lanes(&self.above),
                bad: self.bad,
            }
        }

        #[inline(always)]
        fn run(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
            let (lo4, hi4) = (f32x4_splat(lo), f32x4_splat(hi));
            let (xc, vc) = (x.chunks_exact(LANES), v.chunks_exact(LANES));
            let (xr, vr) = (xc.remainder(), vc.remainder());
            for (xl, vl) in xc.zip(vc) {
                for h in 0..2 {
                    let xv = four(&xl[4 * h..]);
                    let e = f32x4_sub(xv, four(&vl[4 * h..]));
                    let e2 = f32x4_mul(e, e);
                    self.signal[h] = f32x4_add(self.signal[h], f32x4_mul(xv, xv));
                    let (under, over) = (f32x4_lt(xv, lo4), f32x4_gt(xv, hi4));
                    let clipped = v128_or(under, over);
                    self.clip[h] = f32x4_add(self.clip[h], v128_and(e2, clipped));
                    self.round[h] = f32x4_add(self.round[h], v128_andnot(e2, clipped));
                    // pmax(m, a) is `if m < a { a } else { m }`: the portable choice.
                    self.max_err[h] = f32x4_pmax(self.max_err[h], f32x4_abs(e));
                    // A compare's lanes are all ones (−1) where true.
                    self.below[h] = i32x4_sub(self.below[h], under);
                    self.above[h] = i32x4_sub(self.above[h], over);
                }
            }
            if !xr.is_empty() {
                // The values past the last whole eight, into lane 0 as the portable loop adds them.
                *self = Vectors::load(&super::run::<false>(self.store(), xr, vr, lo, hi));
            }
        }

        /// Lanes 0–3 over every group, then lanes 4–7: six sums live in each loop, which V8
        /// keeps in registers (the twelve of both halves it kept on the stack). The largest
        /// error is kept as the bits of |e| shifted left by one, whose unsigned maximum is that
        /// of the magnitudes (two operations a vector where `abs` and `max` took four).
        #[inline(always)]
        fn run_blocks(&mut self, x: &[f32], v: &[f32], block: usize, bounds: &[(f32, f32)]) {
            for h in 0..2 {
                let (mut signal, mut clip, mut round) = (self.signal[h], self.clip[h], self.round[h]);
                let (mut below, mut above) = (self.below[h], self.above[h]);
                let mut max_err = i32x4_shl(self.max_err[h], 1);
                for ((xb, vb), &(lo, hi)) in x.chunks_exact(block).zip(v.chunks_exact(block)).zip(bounds) {
                    let (xc, vc) = (xb.chunks_exact(LANES), vb.chunks_exact(LANES));
                    if (lo, hi) == super::super::UNCLIPPED {
                        for (xl, vl) in xc.zip(vc) {
                            let xv = four(&xl[4 * h..]);
                            let e = f32x4_sub(xv, four(&vl[4 * h..]));
                            signal = f32x4_add(signal, f32x4_mul(xv, xv));
                            round = f32x4_add(round, f32x4_mul(e, e));
                            max_err = u32x4_max(max_err, i32x4_shl(e, 1));
                        }
                    } else {
                        let (lo4, hi4) = (f32x4_splat(lo), f32x4_splat(hi));
                        for (xl, vl) in xc.zip(vc) {
                            let xv = four(&xl[4 * h..]);
                            let e = f32x4_sub(xv, four(&vl[4 * h..]));
                            let e2 = f32x4_mul(e, e);
                            signal = f32x4_add(signal, f32x4_mul(xv, xv));
                            let (under, over) = (f32x4_lt(xv, lo4), f32x4_gt(xv, hi4));
                            let clipped = v128_or(under, over);
                            clip = f32x4_add(clip, v128_and(e2, clipped));
                            round = f32x4_add(round, v128_andnot(e2, clipped));
                            max_err = u32x4_max(max_err, i32x4_shl(e, 1));
                            below = i32x4_sub(below, under);
                            above = i32x4_sub(above, over);
                        }
                    }
                }
                (self.signal[h], self.clip[h], self.round[h]) = (signal, clip, round);
                (self.below[h], self.above[h]) = (below, above);
                self.max_err[h] = u32x4_shr(max_err, 1);
            }
        }
    }
}

/// The terms a run of `n` values adds to lane 0, the lane that gains the most.
pub(super) fn lane_terms(n: usize) -> usize {
    n / LANES + n % LANES
}

/// Whether `f` is finite, by its bits (a compare that vectorizes).
#[inline(always)]
pub(super) fn finite(f: f32) -> bool {
    (f.to_bits() & 0x7fff_ffff) < 0x7f80_0000
}
