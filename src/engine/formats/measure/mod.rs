//! What a format costs on a tensor: the Explorer's metrics (MSE split into clipping and
//! rounding, SQNR, max error, the clipped share) and each group's error, in one pass.

mod lanes;

use self::lanes::{finite, lane_terms, run, Accumulator, Lanes, Plain, LANES, LANE_TERMS, SPAN};
use super::quantized::Quantized;
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::statistics::stats::sqnr_from_energies;

/// Bounds beyond which no value lies: a kernel that knows a group has no value beyond its
/// grid's bounds may give these instead, and [`Meter::add_blocks`] sums it without the clipping
/// checks, at about half the cost (the same sums and counts: nothing is beyond either set of
/// bounds).
pub const UNCLIPPED: (f32, f32) = (f32::NEG_INFINITY, f32::INFINITY);

/// A group's bounds for [`Meter::add_blocks`]: [`UNCLIPPED`] when its values, which lie within
/// `values` (`(at most the smallest, at least the largest)`, NaN left out), lie within `grid`,
/// else `grid`. NaN in either gives `grid`.
#[inline(always)]
pub fn unless_clipped(grid: (f32, f32), values: (f32, f32)) -> (f32, f32) {
    if grid.0 <= values.0 && values.1 <= grid.1 { UNCLIPPED } else { grid }
}

/// Values a kernel may make and measure at a time with [`Meter::add`] and get the sums of adding
/// the whole group at once (a multiple of the runs it sums a group in).
pub const PIECE: usize = 8 * SPAN;

/// Values of whole blocks [`measure_blocks`] makes before it measures them.
pub const BATCH: usize = 2 * SPAN;

/// Each block of `B` values of `xs` made by `make` (into its output, returning the block's
/// clipping bounds) and measured into `m`, a batch of blocks at a time ([`measure_batches`]).
#[inline(always)]
pub fn measure_blocks<const B: usize>(m: &mut Meter, xs: &[f32], mut make: impl FnMut(&[f32; B], &mut [f32; B]) -> (f32, f32)) {
    measure_batches::<B>(m, xs, #[inline(always)] |x, out, bounds| {
        for ((x, o), b) in x.chunks_exact(B).zip(out.chunks_exact_mut(B)).zip(bounds.iter_mut()) {
            *b = make(x.try_into().expect("a block"), o.try_into().expect("a block"));
        }
    });
}

/// The whole blocks of `B` values of `xs`, a batch at a time, made by `make` (`make(x, out,
/// bounds)`: the values of the blocks of `x` into `out`, each block's clipping bounds into
/// `bounds`) and measured into `m` ([`Meter::add_blocks`]): the sums of adding each block as it
/// is made. A last part shorter than `B` is left out.
#[inline(always)]
pub fn measure_batches<const B: usize>(m: &mut Meter, xs: &[f32], mut make: impl FnMut(&[f32], &mut [f32], &mut [(f32, f32)])) {
    const { assert!(B <= BATCH) };
    let mut buf = [0f32; BATCH];
    let mut bounds = [(0f32, 0f32); BATCH];
    for batch in xs.chunks(BATCH / B * B) {
        let n = batch.len() / B;
        let (x, out, bounds) = (&batch[..n * B], &mut buf[..n * B], &mut bounds[..n]);
        make(x, out, bounds);
        m.add_blocks(x, out, B, bounds);
    }
}

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
///
/// A tensor can also be measured in parts, each part by its own meter ([`measure_part`]), and
/// the parts joined ([`Meter::join`]): the sums of one meter over the whole, bit for bit, when
/// each part starts where that meter would move its lanes to f64 ([`part_unit`]).
#[derive(Default)]
pub struct Meter {
    lanes: Lanes,
    /// The most terms in one lane of `lanes`.
    terms: usize,
    total: Partial,
    /// A part's meter ([`measure_part`]): it logs what it moves to f64 (and keeps the values it
    /// measures, if asked) in its thread's [`PART`], not in itself: the meter stays a plain
    /// value with nothing to drop, which the kernels take into a local and put back.
    part: bool,
}

/// One part of a tensor as [`measure_part`] measured it, to be joined ([`Meter::join`]).
pub struct Part {
    meter: Meter,
    /// What the part's meter moved to f64, in order.
    log: Vec<Partial>,
}

/// The log and kept values of the part this thread measures.
#[derive(Default)]
struct PartLog {
    log: Vec<Partial>,
    kept: Option<Vec<f32>>,
}

thread_local! {
    /// The part this thread measures ([`measure_part`]), if any.
    static PART: std::cell::RefCell<Option<PartLog>> = const { std::cell::RefCell::new(None) };
}

/// Values after which a meter fed groups of `group` values has moved its lanes to f64 and
/// starts afresh (and at every multiple): a part of a tensor that starts at a multiple of this
/// (and of the group) is measured by a fresh meter as one meter over the whole measures it.
/// Groups of a run of the meter (512 values) or more start afresh each (their first run fills the lanes), shorter
/// groups share the lanes as many as fit.
pub fn part_unit(group: usize) -> usize {
    let group = group.max(1);
    if group >= SPAN { group } else { group * (LANE_TERMS / lane_terms(group)) }
}

/// One part of a tensor measured by `measure` into a fresh meter: the part, to be joined to the
/// others ([`Meter::join`]), and with `keep: Some(n)` the `n` values measured, in order (else
/// none). Not to be called from within `measure`.
pub fn measure_part<E>(keep: Option<usize>, measure: impl FnOnce(&mut Meter) -> Result<(), E>) -> Result<(Part, Vec<f32>), E> {
    /// Clears this thread's part however `measure` ends.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            PART.with(|p| p.borrow_mut().take());
        }
    }
    let started = PART.with(|p| p.borrow_mut().replace(PartLog { log: Vec::new(), kept: keep.map(Vec::with_capacity) }));
    assert!(started.is_none(), "one part at a time in a thread");
    let _clear = Clear;
    let mut meter = Meter { part: true, ..Meter::default() };
    measure(&mut meter)?;
    let PartLog { log, kept } = PART.with(|p| p.borrow_mut().take()).expect("this thread's part");
    meter.part = false;
    Ok((Part { meter, log }, kept.unwrap_or_default()))
}

/// Logs `p` in this thread's part, out of the meter's loops.
#[cold]
#[inline(never)]
fn log_cold(p: Partial) {
    PART.with(|part| part.borrow_mut().as_mut().expect("a part's meter in its thread").log.push(p));
}

/// Keeps `v` in this thread's part if it keeps values, out of the meter's loops.
#[cold]
#[inline(never)]
fn keep_cold(v: &[f32]) {
    PART.with(|part| {
        if let Some(kept) = part.borrow_mut().as_mut().expect("a part's meter in its thread").kept.as_mut() {
            kept.extend_from_slice(v);
        }
    });
}

impl Meter {
    /// The parts of a tensor, in order, each measured by [`measure_part`] from where one meter
    /// over the whole would start afresh ([`part_unit`]): that meter, bit for bit.
    pub fn join(parts: impl IntoIterator<Item = Part>) -> Meter {
        let mut whole = Meter::default();
        for Part { meter, log } in parts {
            // The move to f64 that the one meter makes at the part's first group.
            if whole.terms > 0 {
                whole.total.add(&whole.lanes.partial());
            }
            for p in &log {
                whole.total.add(p);
            }
            (whole.lanes, whole.terms) = (meter.lanes, meter.terms);
        }
        whole
    }

    /// Moves `p` into the f64 sums `total` (and the log of a part's meter).
    #[inline(always)]
    fn move_to(total: &mut Partial, part: bool, p: Partial) {
        total.add(&p);
        if part {
            log_cold(p);
        }
    }

    /// Keeps `v` if this is a part's meter that keeps the values it measures.
    #[inline(always)]
    fn keep(&self, v: &[f32]) {
        if self.part {
            keep_cold(v);
        }
    }

    /// Adds one group: its values `x`, their quantized `v` and the group's clipping bounds.
    #[inline(always)]
    pub fn add(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        self.keep(v);
        self.add_group(x, v, lo, hi);
    }

    #[inline(always)]
    fn add_group(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        for (xr, vr) in x.chunks(SPAN).zip(v.chunks(SPAN)) {
            self.make_room(lane_terms(xr.len()));
            // Most runs hold only finite values: summed without checking each (a third fewer
            // operations a value), and again, checked, when the sums show otherwise.
            let mut sums = Plain::load(&self.lanes);
            sums.run(xr, vr, lo, hi);
            let sums = sums.store();
            if sums.finite() {
                self.lanes = sums;
            } else {
                self.add_checked(xr, vr, lo, hi);
            }
        }
    }

    /// Adds the groups of `block` values each of `x` (and `v`), group `i` with the bounds
    /// `bounds[i]`: the same sums, bit for bit, as [`Meter::add`] of each group in turn, with
    /// the lanes kept in registers from one group to the next and checked once. Groups whose
    /// bounds are [`UNCLIPPED`] are summed without the clipping checks.
    #[inline(always)]
    pub fn add_blocks(&mut self, x: &[f32], v: &[f32], block: usize, bounds: &[(f32, f32)]) {
        debug_assert!(x.len() == v.len() && x.len().div_ceil(block.max(1)) == bounds.len());
        self.keep(v);
        if block == 0 || !block.is_multiple_of(LANES) || block > SPAN || !x.len().is_multiple_of(block) {
            for ((x, v), &(lo, hi)) in x.chunks(block.max(1)).zip(v.chunks(block.max(1))).zip(bounds) {
                self.add_group(x, v, lo, hi);
            }
            return;
        }
        let saved = (self.lanes, self.terms);
        if let Err(from) = self.add_blocks_plain(x, v, block, bounds) {
            // A value that is not finite, or sums that overflowed: the lanes since they last
            // moved to f64 again, group by group (what moved was finite, and stands).
            (self.lanes, self.terms) = if from.is_some() { (Lanes::default(), 0) } else { saved };
            let skip = from.unwrap_or(0);
            for ((x, v), &(lo, hi)) in x.chunks(block).zip(v.chunks(block)).zip(bounds).skip(skip) {
                self.add_group(x, v, lo, hi);
            }
        }
    }

    /// [`Meter::add_blocks`] unchecked, for groups of whole lanes. If any lanes' sums came out
    /// infinite or NaN: the group from which the lanes are to be added again (`Some(i)`: from
    /// group `i` into empty lanes, the lanes before it having moved to f64; `None`: from the
    /// first group into the lanes the meter had).
    #[inline(always)]
    fn add_blocks_plain(&mut self, x: &[f32], v: &[f32], block: usize, bounds: &[(f32, f32)]) -> Result<(), Option<usize>> {
        let terms = block / LANES;
        let mut sums = Plain::load(&self.lanes);
        let mut from = None;
        let mut i = 0;
        while i < bounds.len() {
            if self.terms + terms > LANE_TERMS {
                let full = sums.store();
                if !full.finite() {
                    return Err(from);
                }
                Self::move_to(&mut self.total, self.part, full.partial());
                (sums, self.terms, from) = (Plain::load(&Lanes::default()), 0, Some(i));
            }
            // The groups that fit in the lanes before they move to f64 (at least one: a group
            // is at most a run).
            let n = ((LANE_TERMS - self.terms) / terms).min(bounds.len() - i);
            let at = i * block..(i + n) * block;
            sums.run_blocks(&x[at.clone()], &v[at], block, &bounds[i..i + n]);
            self.terms += n * terms;
            i += n;
        }
        self.lanes = sums.store();
        if self.lanes.finite() { Ok(()) } else { Err(from) }
    }

    /// Moves the lanes' sums to f64 if `terms` more would take a lane past [`LANE_TERMS`], and
    /// counts them.
    #[inline(always)]
    fn make_room(&mut self, terms: usize) {
        if self.terms + terms > LANE_TERMS {
            Self::move_to(&mut self.total, self.part, self.lanes.partial());
            (self.lanes, self.terms) = (Lanes::default(), 0);
        }
        self.terms += terms;
    }

    /// A run whose plain sums came out infinite or NaN, added again with its values that are
    /// not finite left out and counted. If the f32 sums still overflow (values beyond ~1e19),
    /// the counts and the maximum stand and the run's sums are taken in f64.
    #[cold]
    fn add_checked(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) {
        let checked = run::<true>(self.lanes, x, v, lo, hi);
        if checked.finite() {
            self.lanes = checked;
        } else {
            let Lanes { signal, clip, round, .. } = self.lanes;
            self.lanes = Lanes { signal, clip, round, ..checked };
            Self::move_to(&mut self.total, self.part, exact(x, v, lo, hi));
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

/// The bits of every sum and count of `l`.
fn lane_bits(l: &Lanes) -> Vec<u32> {
    [l.signal, l.clip, l.round, l.max_err].iter().flatten().map(|f| f.to_bits()).chain([l.below, l.above, l.bad].into_iter().flatten()).collect()
}

/// Whether the unchecked loop of this target ([`Plain`]: SIMD128 in wasm) gives the portable
/// loop's lanes bit for bit on one run (at most [`SPAN`] values) added to some lanes: for the
/// wasm test (tests/web.rs; natively the two are the same loop).
#[doc(hidden)]
pub fn plain_loop_agrees(x: &[f32], v: &[f32], lo: f32, hi: f32) -> bool {
    let start = run::<false>(Lanes::default(), &x[..x.len().min(13)], &v[..v.len().min(13)], lo, hi);
    let mut fast = Plain::load(&start);
    fast.run(x, v, lo, hi);
    lane_bits(&fast.store()) == lane_bits(&run::<false>(start, x, v, lo, hi))
}

/// Whether this target's unchecked loop over groups of `block` values (a multiple of eight),
/// group `i` with `bounds[i]` ([`UNCLIPPED`] ones without the clipping checks), gives the
/// portable loop's lanes bit for bit: for the wasm test, and natively for the portable
/// unclipped run.
#[doc(hidden)]
pub fn blocks_loop_agrees(x: &[f32], v: &[f32], block: usize, bounds: &[(f32, f32)]) -> bool {
    let start = run::<false>(Lanes::default(), &x[..x.len().min(13)], &v[..v.len().min(13)], -0.5, 0.5);
    let mut fast = Plain::load(&start);
    fast.run_blocks(x, v, block, bounds);
    let slow = x.chunks(block).zip(v.chunks(block)).zip(bounds).fold(start, |l, ((x, v), &(lo, hi))| run::<false>(l, x, v, lo, hi));
    lane_bits(&fast.store()) == lane_bits(&slow)
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

    /// Values for the meter's tests: `n` of them from `seed`, with NaN, ±∞ and values whose
    /// squares overflow f32 where `kind` asks, and their "quantized" values.
    fn pairs(n: usize, seed: u64, kind: u64) -> (Vec<f32>, Vec<f32>) {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let mut x: Vec<f32> = (0..n).map(|_| next()).collect();
        let mut v: Vec<f32> = x.iter().map(|&x| (x * 8.0).round() / 8.0).collect();
        let at = (seed as usize * 7919) % n.max(1);
        match kind % 5 {
            1 if n > 0 => x[at] = f32::NAN,
            2 if n > 0 => v[at] = f32::INFINITY,
            3 if n > 0 => x[at] = 3e30,
            4 if n > 0 => v[at] = f32::NAN,
            _ => {}
        }
        (x, v)
    }

    /// Groups added together ([`Meter::add_blocks`]) sum as adding each in turn does, bit for
    /// bit: groups of whole lanes, of a part of a lane, longer than a run, after other groups, with
    /// NaN, ±∞ and overflowing squares in them, and across the moves of the lanes to f64.
    #[test]
    fn blocks_added_together_are_blocks_added_in_turn() {
        for block in [8usize, 16, 32, 64, 24, 5, 600] {
            for kind in 0..5u64 {
                for blocks in [1usize, 3, 17, 70] {
                    let (x, v) = pairs(block * blocks, block as u64 * 31 + kind + blocks as u64, kind);
                    // Bounds that clip some values below and above.
                    // (Every third group unbounded: summed without the clipping checks.)
                    let bounds: Vec<(f32, f32)> = (0..blocks).map(|b| if b % 3 == 1 { UNCLIPPED } else { (-0.9 + 0.01 * (b % 7) as f32, 0.85 - 0.02 * (b % 5) as f32) }).collect();
                    let (head_x, head_v) = pairs(100, 5, 0);
                    let (mut together, mut in_turn) = (Meter::default(), Meter::default());
                    for m in [&mut together, &mut in_turn] {
                        m.add(&head_x, &head_v, -0.5, 0.5);
                    }
                    together.add_blocks(&x, &v, block, &bounds);
                    for ((x, v), &(lo, hi)) in x.chunks(block).zip(v.chunks(block)).zip(&bounds) {
                        in_turn.add(x, v, lo, hi);
                    }
                    let n = x.len() + 100;
                    let (a, b) = (together.metrics(n), in_turn.metrics(n));
                    assert_eq!(a, b, "block {block}, kind {kind}, {blocks} blocks");
                    assert_eq!(a.mse.to_bits(), b.mse.to_bits());
                    assert_eq!(a.non_finite, if kind % 5 == 0 || kind % 5 == 3 { 0 } else { 1 }, "block {block}, kind {kind}");
                }
            }
        }
    }

    /// Groups without the clipping checks ([`UNCLIPPED`]) sum as the checks would: the
    /// unclipped run and the loop over groups against the portable run, bit for bit.
    #[test]
    fn unclipped_groups_sum_as_the_checked_run() {
        for block in [8usize, 16, 32, 64] {
            for (seed, groups) in [(1u64, 1usize), (2, 3), (3, 8)] {
                let (x, mut v) = pairs(block * groups, seed, 0);
                v[block / 2] = -0.0;
                let bounds: Vec<(f32, f32)> = (0..groups).map(|g| if g % 2 == 0 { UNCLIPPED } else { (-0.7, 0.6) }).collect();
                assert!(blocks_loop_agrees(&x, &v, block, &bounds), "block {block}, {groups} groups");
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
