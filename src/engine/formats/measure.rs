//! What a format costs on a tensor: the Explorer's metrics (MSE split into clipping and
//! rounding, SQNR, max error, the clipped share) and each group's error, in one pass.

use super::quantized::Quantized;
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::statistics::stats::sqnr_from_energies;

/// f32 lanes of the accumulation loop.
const LANES: usize = 8;
/// Values summed in f32 lanes before the sums move to f64 (each lane sums at most 64 terms).
const SPAN: usize = 64 * LANES;
/// Values a kernel may make and measure at a time with [`Meter::add`] and get the sums of adding
/// the whole group at once (a multiple of the runs it sums a group in).
pub const PIECE: usize = 8 * SPAN;
/// The most terms one f32 lane sums before the lanes move to f64.
const LANE_TERMS: usize = SPAN / LANES;

/// What a run of values adds, in f64.
#[derive(Default, Clone, Copy)]
struct Partial {
    signal: f64,
    clip: f64,
    round: f64,
    max_err: f32,
    below: usize,
    above: usize,
    bad: usize,
}

impl Partial {
    fn add(&mut self, p: &Partial) {
        self.signal += p.signal;
        self.clip += p.clip;
        self.round += p.round;
        self.max_err = self.max_err.max(p.max_err);
        self.below += p.below;
        self.above += p.above;
        self.bad += p.bad;
    }
}

/// The sums of one or more runs, lane by lane, in f32 (counts in u32).
#[derive(Default, Clone, Copy)]
struct Lanes {
    signal: [f32; LANES],
    clip: [f32; LANES],
    round: [f32; LANES],
    max_err: [f32; LANES],
    below: [u32; LANES],
    above: [u32; LANES],
    bad: [u32; LANES],
}

impl Lanes {
    /// Whether every f32 sum is finite (none overflowed).
    #[inline(always)]
    fn finite(&self) -> bool {
        let sum: [f32; LANES] = std::array::from_fn(|i| self.signal[i] + self.clip[i] + self.round[i]);
        sum.iter().fold(true, |ok, s| ok & s.is_finite())
    }

    /// These sums and counts with `p`'s added, lane by lane.
    #[inline(always)]
    fn plus(&self, p: &Lanes) -> Lanes {
        let add = |a: [f32; LANES], b: [f32; LANES]| std::array::from_fn(|i| a[i] + b[i]);
        let count = |a: [u32; LANES], b: [u32; LANES]| std::array::from_fn(|i| a[i] + b[i]);
        Lanes {
            signal: add(self.signal, p.signal),
            clip: add(self.clip, p.clip),
            round: add(self.round, p.round),
            max_err: std::array::from_fn(|i| if p.max_err[i] > self.max_err[i] { p.max_err[i] } else { self.max_err[i] }),
            below: count(self.below, p.below),
            above: count(self.above, p.above),
            bad: count(self.bad, p.bad),
        }
    }

    /// The lanes summed into one, in f64.
    fn partial(&self) -> Partial {
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
/// branch-free f32 lanes (LLVM vectorizes them; a stage-by-stage form measured 1.6× slower
/// here). Lane 0 takes the values past the last whole 8, so it gains the most terms: [`lane_terms`].
/// `CHECKED`: values that are not finite are counted in `bad` and left out; else the caller
/// sees them in the sums, which they make infinite or NaN, and adds the run again checked.
#[inline(always)]
fn run<const CHECKED: bool>(l: Lanes, x: &[f32], v: &[f32], lo: f32, hi: f32) -> Lanes {
    // Plain local arrays: LLVM keeps these in vector registers (not so the struct's fields).
    let Lanes { mut signal, mut clip, mut round, mut max_err, mut below, mut above, mut bad } = l;
    let mut lane = |i: usize, x: f32, v: f32| {
        let ok = !CHECKED || finite(x) & finite(v);
        let xv = if ok { x } else { 0.0 };
        let e = if ok { x - v } else { 0.0 };
        let (under, over) = (ok & (x < lo), ok & (x > hi));
        let clipped = under | over;
        let e2 = e * e;
        signal[i] += xv * xv;
        clip[i] += if clipped { e2 } else { 0.0 };
        round[i] += if clipped { 0.0 } else { e2 };
        let ae = e.abs();
        max_err[i] = if ae > max_err[i] { ae } else { max_err[i] };
        below[i] += u32::from(under);
        above[i] += u32::from(over);
        bad[i] += u32::from(!ok);
    };
    let (xc, vc) = (x.chunks_exact(LANES), v.chunks_exact(LANES));
    let (xr, vr) = (xc.remainder(), vc.remainder());
    for (xl, vl) in xc.zip(vc) {
        for i in 0..LANES {
            lane(i, xl[i], vl[i]);
        }
    }
    for (&x, &v) in xr.iter().zip(vr) {
        lane(0, x, v);
    }
    Lanes { signal, clip, round, max_err, below, above, bad }
}

/// The terms a run of `n` values adds to lane 0, the lane that gains the most.
fn lane_terms(n: usize) -> usize {
    n / LANES + n % LANES
}

/// Whether `f` is finite, by its bits (a compare that vectorizes).
#[inline(always)]
fn finite(f: f32) -> bool {
    (f.to_bits() & 0x7fff_ffff) < 0x7f80_0000
}

/// A run's signal, clipping and rounding sums in f64, for a run whose f32 sums overflowed
/// (values beyond ~1e19).
#[cold]
fn exact(x: &[f32], v: &[f32], lo: f32, hi: f32) -> Partial {
    let mut p = Partial::default();
    for (&x, &v) in x.iter().zip(v) {
        if x.is_finite() && v.is_finite() {
            let e = f64::from(x) - f64::from(v);
            p.signal += f64::from(x) * f64::from(x);
            if x < lo || x > hi { p.clip += e * e } else { p.round += e * e }
        }
    }
    p
}

/// A group's sum of squared errors over the pairs that are finite, in f64.
#[inline(always)]
fn group_sse(x: &[f32], v: &[f32]) -> f64 {
    let mut s = [0f64; LANES / 2];
    let (xc, vc) = (x.chunks_exact(LANES / 2), v.chunks_exact(LANES / 2));
    let tail: f64 = xc.remainder().iter().zip(vc.remainder()).map(|(&x, &v)| if finite(x) & finite(v) { (f64::from(x) - f64::from(v)).powi(2) } else { 0.0 }).sum();
    for (xl, vl) in xc.zip(vc) {
        for i in 0..LANES / 2 {
            let ok = finite(xl[i]) & finite(vl[i]);
            let e = f64::from(xl[i]) - f64::from(vl[i]);
            s[i] += if ok { e * e } else { 0.0 };
        }
    }
    s.iter().sum::<f64>() + tail
}

/// A tensor's metrics summed group by group, in order: [`measure`] feeds it the kept values, a
/// format's kernel can feed it each block as it makes it (the same sums either way). Groups
/// share the f32 lanes until a lane holds 64 terms, when the lanes move to f64: a
/// block of 32 does not pay for moving its own sums.
#[derive(Default)]
pub struct Meter {
    lanes: Lanes,
    /// The most terms in one lane of `lanes`.
    terms: usize,
    total: Partial,
}

impl Meter {
    /// Adds one group: its values `x`, their quantized `v` and the group's clipping bounds.
    #[inline(always)]
    pub fn add(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        for (xr, vr) in x.chunks(SPAN).zip(v.chunks(SPAN)) {
            let terms = lane_terms(xr.len());
            if self.terms + terms > LANE_TERMS {
                self.total.add(&self.lanes.partial());
                (self.lanes, self.terms) = (Lanes::default(), 0);
            }
            // Most runs hold only finite values: summed without checking each (a third fewer
            // operations a value), and again, checked, when the sums show otherwise.
            let sums = self.lanes.plus(&run::<false>(Lanes::default(), xr, vr, lo, hi));
            self.terms += terms;
            if sums.finite() {
                self.lanes = sums;
            } else {
                self.add_checked(xr, vr, lo, hi);
            }
        }
    }

    /// A run whose plain sums came out infinite or NaN, added again with its values that are
    /// not finite left out and counted. If the f32 sums still overflow (values beyond ~1e19),
    /// the counts and the maximum stand and the run's sums are taken in f64.
    #[cold]
    fn add_checked(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        let checked = self.lanes.plus(&run::<true>(Lanes::default(), x, v, lo, hi));
        if checked.finite() {
            self.lanes = checked;
        } else {
            let Lanes { signal, clip, round, .. } = self.lanes;
            self.lanes = Lanes { signal, clip, round, ..checked };
            self.total.add(&exact(x, v, lo, hi));
        }
    }

/// The metrics of the `len` values added. A value beyond its group's bounds counts as
    /// clipped (saturated); values that are not finite, before or after quantization (a NaN, or
    /// a finite value in an MX block that a NaN made NaN), are counted in `non_finite` and left
    /// out of the rest. `levels_used` is not counted (0).
    pub fn metrics(&self, len: usize) -> QuantMetrics {
        let mut t = self.total;
        t.add(&self.lanes.partial());
        let count = len - t.bad;
        let n = count.max(1) as f64;
        QuantMetrics {
            count,
            non_finite: t.bad,
            mse: (t.clip + t.round) / n,
            clip_mse: t.clip / n,
            round_mse: t.round / n,
            sqnr_db: if count == 0 { None } else { sqnr_from_energies(t.signal, t.clip + t.round) },
            max_abs_err: f64::from(t.max_err),
            clipped_below: t.below,
            clipped_above: t.above,
            levels_used: 0,
        }
    }
}

/// Every group of `q` into a meter, and each group's sum of squared errors into `sse`.
#[inline(always)]
fn groups(xs: &[f32], q: &Quantized, sse: &mut Vec<f64>) -> Meter {
    let g = q.group.max(1);
    let mut meter = Meter::default();
    for (gi, (x, v)) in xs.chunks(g).zip(q.values.chunks(g)).enumerate() {
        let (lo, hi) = q.bounds(gi);
        meter.add(x, v, lo, hi);
        sse.push(group_sse(x, v));
    }
    meter
}

/// The metrics of `q` against `xs` ([`Meter::metrics`]), and each group's sum of squared errors
/// (in f64). The metrics' sums run in f32 lanes over at most 64 terms and then in f64 (relative
/// error near 1e-7).
pub fn measure(xs: &[f32], q: &Quantized) -> (QuantMetrics, Vec<f64>) {
    let mut sse = Vec::with_capacity(xs.len() / q.group.max(1) + 1);
    let meter = crate::engine::simd::dispatch!(groups(xs, q, &mut sse));
    (meter.metrics(xs.len()), sse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::quantized::quantize;
    use crate::engine::formats::spec::{Format, Params};

    /// Relative tolerance of the metrics' sums (f32 lanes, then f64) against f64 sums.
    const F32_LANES: f64 = 1e-6;
    /// Relative tolerance of f64 sums of the same terms in another order.
    const F64_SUMS: f64 = 1e-12;

    #[test]
    fn mxfp4_saturation_is_clipping() {
        // One block: amax 7.9 gives X = 1 (floor). FP4's top step is 4 → 6, so up to 7 a value
        // rounds to 6 on its own (rounding); 7.5 and 7.9 would round to 8 and saturate to 6
        // (clipping); 0.2 rounds to 0; the rest are exact.
        let mut xs = vec![0.0f32; 32];
        xs[0] = 7.9;
        xs[1] = 7.5;
        xs[2] = 0.2;
        xs[3] = 6.9;
        let q = quantize(Format::parse("mxfp4", &Params::default()).unwrap(), &xs, &[32]).unwrap();
        let (m, sse) = measure(&xs, &q);
        assert_eq!((m.count, m.clipped_above, m.clipped_below), (32, 2, 0));
        assert!((m.clip_mse - (1.9f64.powi(2) + 1.5f64.powi(2)) / 32.0).abs() < 1e-6, "{}", m.clip_mse);
        assert!((m.round_mse - (0.2f64.powi(2) + 0.9f64.powi(2)) / 32.0).abs() < 1e-6);
        assert!((sse[0] - m.mse * 32.0).abs() <= F32_LANES * sse[0]);
        assert!((m.max_abs_err - 1.9).abs() < 1e-6);
    }

    /// Runs of any length (not whole lanes), grids without 0, and values whose squares overflow
    /// f32 (summed in f64 instead) measure as a plain f64 loop does; each group's error too.
    #[test]
    fn any_length_and_any_grid_measure_as_plain_sums() {
        for n in [1usize, 7, 9, 31, 33, 100, 1000] {
            for huge in [false, true] {
                let mut xs: Vec<f32> = (0..n * 64).map(|i| 0.3 + ((i * 37 % 101) as f32) / 100.0).collect();
                if huge {
                    // A few values near f32's top: their squares overflow the f32 lanes.
                    xs.iter_mut().step_by(61).for_each(|v| *v *= 3e37);
                }
                // (Q4_1's f16 scales cannot hold such values: its blocks would be NaN.)
                for f in ["q4_1", "int", "fp8-e4m3", "nf4"].into_iter().skip(usize::from(huge)) {
                    let shape = if f == "int" { [64, n] } else { [n, 64] };
                    let q = quantize(Format::parse(f, &Params::default()).unwrap(), &xs, &shape).unwrap();
                    let (m, sse) = measure(&xs, &q);
                    let (mut se, mut below, mut above) = (0f64, 0, 0);
                    for (g, (x, v)) in xs.chunks(q.group).zip(q.values.chunks(q.group)).enumerate() {
                        let (lo, hi) = q.bounds(g);
                        let mut group = 0f64;
                        for (&x, &v) in x.iter().zip(v) {
                            group += (f64::from(x) - f64::from(v)).powi(2);
                            below += usize::from(x < lo);
                            above += usize::from(x > hi);
                        }
                        assert!((sse[g] - group).abs() <= F64_SUMS * group, "{f} {n} group {g}: {} against {group}", sse[g]);
                        se += group;
                    }
                    assert_eq!((m.count, m.non_finite, m.clipped_below, m.clipped_above), (xs.len(), 0, below, above), "{f} {n}");
                    assert!(m.mse.is_finite() && m.sqnr_db.unwrap().is_finite(), "{f} {n} {huge}");
                    assert!((m.mse - se / xs.len() as f64).abs() <= F32_LANES * m.mse.max(1e-30), "{f} {n} {huge}: {} against {}", m.mse, se / xs.len() as f64);
                }
            }
        }
    }

    #[test]
    fn non_finite_values_are_counted_apart() {
        let mut xs = vec![0.5f32; 64];
        xs[3] = f32::NAN;
        let q = quantize(Format::parse("mxfp8-e4m3", &Params::default()).unwrap(), &xs, &[64]).unwrap();
        let (m, _) = measure(&xs, &q);
        // The NaN's block is NaN throughout: 32 values apart; the other block is exact.
        assert_eq!((m.count, m.non_finite, m.mse), (32, 32, 0.0));
        assert_eq!(m.sqnr_db, Some(f64::INFINITY));
        let (empty, sse) = measure(&[], &quantize(Format::Nvfp4, &[], &[0, 16]).unwrap());
        assert_eq!((empty.count, empty.sqnr_db, sse.len()), (0, None, 0));
    }
}
