//! Histograms with fixed-width bins over a closed range.

use serde::{Deserialize, Serialize};

/// Counts of values in `bins` equal-width bins over `[lo, hi]` (the bin index is computed in f32,
/// so a value within ~1e-7 of a bin edge, relatively, may land one bin off NumPy's f64 choice;
/// f64 for ranges near f32::MAX). A value equal to `hi` falls in the
/// last bin (as NumPy's `histogram` does). Values outside the range and non-finite values are
/// counted apart, never dropped silently.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub lo: f32,
    pub hi: f32,
    pub counts: Vec<u64>,
    pub below: u64,
    pub above: u64,
    pub non_finite: u64,
}

impl Histogram {
    /// Bins `xs` into `bins` bins over `[lo, hi]`. A degenerate range (`lo >= hi`, or non-finite
    /// ends) is widened to `[lo − 0.5, lo + 0.5]` so that a constant tensor still shows one bar;
    /// `bins == 0` is treated as 1.
    pub fn new(xs: &[f32], lo: f32, hi: f32, bins: usize) -> Histogram {
        let mut binner = Binner::new(lo, hi, bins);
        binner.add(xs, |_, _| {});
        binner.finish()
    }

    /// [`Histogram::new`] of `xs`, and for each bin the least and greatest `ys[i]` of the values
    /// `xs[i]` in it (`None` for an empty bin; NaN `ys` are skipped): one binning pass for
    /// both, as the Explorer's error-against-x view needs.
    pub fn with_envelope(xs: &[f32], ys: &[f32], lo: f32, hi: f32, bins: usize) -> (Histogram, Vec<Option<(f32, f32)>>) {
        let mut binner = Binner::new(lo, hi, bins);
        let mut envelope = Envelope::new(bins);
        binner.add(xs, |start, slots| envelope.add(slots, &ys[start.min(ys.len())..]));
        (binner.finish(), envelope.finish())
    }

    /// Width of one bin.    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        ((self.hi as f64 - self.lo as f64) / self.counts.len() as f64) as f32
    }

    /// Left edge of bin `i`.
    pub fn bin_lo(&self, i: usize) -> f32 {
        (self.lo as f64 + i as f64 * (self.hi as f64 - self.lo as f64) / self.counts.len() as f64) as f32
    }

    /// Largest count of any bin (0 for an empty histogram).
    pub fn max_count(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }
}

/// A [`Histogram`] filled a piece at a time, so that other passes over the same piece can run
/// while it is in cache (the Explorer's fused redraw).
pub(crate) struct Binner {
    slots: Slots,
    tables: FourTables,
    /// Slots 0..bins are the bins; then below, above and non-finite.
    totals: Vec<u64>,
    index: [u32; BLOCK],
}

impl Binner {
    /// Bins over `[lo, hi]`, widened as [`Histogram::new`] says when degenerate.
    pub(crate) fn new(lo: f32, hi: f32, bins: usize) -> Binner {
        let bins = bins.max(1);
        let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo < hi {
            (lo, hi)
        } else if lo.is_finite() {
            (lo - 0.5, lo + 0.5)
        } else {
            (-0.5, 0.5)
        };
        Binner { slots: Slots::new(lo, hi, bins), tables: FourTables::new(bins + 3), totals: vec![0; bins + 3], index: [0; BLOCK] }
    }

    /// Counts `xs`, handing each block's slots (and the block's start in `xs`) to `also`.
    pub(crate) fn add(&mut self, xs: &[f32], mut also: impl FnMut(usize, &[u32])) {
        for (k, chunk) in xs.chunks(BLOCK).enumerate() {
            for line in chunk.chunks(16) {
                crate::engine::simd::prefetch_ahead(line.as_ptr());
            }
            let index = &mut self.index[..chunk.len()];
            self.slots.fill(chunk, index);
            self.tables.add(index, &mut self.totals);
            also(k * BLOCK, index);
        }
    }

    pub(crate) fn finish(mut self) -> Histogram {
        self.tables.drain_into(&mut self.totals);
        let s = &self.slots;
        let t = &self.totals;
        Histogram { lo: s.lo, hi: s.hi, below: t[s.below as usize], above: t[s.above as usize], non_finite: t[s.bad as usize], counts: t[..s.bins].to_vec() }
    }
}

/// The least and greatest of some `ys` per bin of a [`Binner`]'s slots.
pub(crate) struct Envelope {
    bins: usize,
    /// `[least, greatest]` per slot: the bins, then the below, above and non-finite slots (kept,
    /// so that the loop needs no test of the slot; dropped by `finish`).
    ends: Vec<[f32; 2]>,
}

impl Envelope {
    pub(crate) fn new(bins: usize) -> Envelope {
        let bins = bins.max(1);
        Envelope { bins, ends: vec![[f32::INFINITY, f32::NEG_INFINITY]; bins + 3] }
    }

    /// `ys[i]` joins the bin of slot `slots[i]` (a NaN `y` is skipped: it fails both comparisons).
    pub(crate) fn add(&mut self, slots: &[u32], ys: &[f32]) {
        for (&s, &y) in slots.iter().zip(ys) {
            if let Some(e) = self.ends.get_mut(s as usize) {
                // Select-and-store, no branch: the ends move rarely but unpredictably early on.
                e[0] = if y < e[0] { y } else { e[0] };
                e[1] = if y > e[1] { y } else { e[1] };
            }
        }
    }

    /// Per bin, `(least, greatest)`, or `None` for a bin that got no finite `y`.
    pub(crate) fn finish(self) -> Vec<Option<(f32, f32)>> {
        self.ends[..self.bins].iter().map(|&[a, b]| (a <= b).then_some((a, b))).collect()
    }
}

/// Counts of small integers in four interleaved u32 tables, so that runs of one value do not
/// wait on each other's stores (the scatter is the histogram's bottleneck), drained into u64
/// totals before a counter could overflow.
#[derive(Clone, Debug)]
pub(crate) struct FourTables {
    width: usize,
    counts: Vec<u32>,
    pending: usize,
}

impl FourTables {
    pub(crate) fn new(width: usize) -> FourTables {
        FourTables { width, counts: vec![0; 4 * width], pending: 0 }
    }

    /// Counts each of `index` (each below the width; checked once per call, which lets the
    /// loop go without a bounds check per element), draining into `totals` when due.
    pub(crate) fn add(&mut self, index: &[u32], totals: &mut [u64]) {
        let max = index.iter().copied().fold(0, u32::max) as usize;
        assert!(index.is_empty() || max < self.width, "index {max} outside a table of {}", self.width);
        if self.pending > u32::MAX as usize - index.len() {
            self.drain_into(totals);
        }
        self.pending += index.len();
        let (w, counts) = (self.width, self.counts.as_mut_ptr());
        let quads = index.chunks_exact(4);
        let rest = quads.remainder();
        // SAFETY: every index is below `w` (asserted above) and `counts` holds 4·w counters.
        unsafe {
            for q in quads {
                *counts.add(q[0] as usize) += 1;
                *counts.add(w + q[1] as usize) += 1;
                *counts.add(2 * w + q[2] as usize) += 1;
                *counts.add(3 * w + q[3] as usize) += 1;
            }
            for &i in rest {
                *counts.add(i as usize) += 1;
            }
        }
    }

    /// Adds the counts so far to `totals` and clears them.
    pub(crate) fn drain_into(&mut self, totals: &mut [u64]) {
        for table in self.counts.chunks_mut(self.width) {
            for (t, c) in totals.iter_mut().zip(table) {
                *t += *c as u64;
                *c = 0;
            }
        }
        self.pending = 0;
    }
}

/// Values whose slots are computed at once before they are counted.
const BLOCK: usize = 256;

/// The slot of a value: its bin, or one of three slots past the bins for values below or above
/// the range and for NaN/±∞.
struct Slots {
    lo: f32,
    hi: f32,
    bins: usize,
    /// `bins / (hi − lo)`, in f32 when that width is representable (the fast path).
    per_unit: f32,
    /// `bins − 1` as f32: the clamp of the scaled offset.
    last: f32,
    /// The f32 fast path applies: finite width and every bin index exact in f32.
    fast: bool,
    below: u32,
    above: u32,
    bad: u32,
}

impl Slots {
    fn new(lo: f32, hi: f32, bins: usize) -> Slots {
        let fast = (hi - lo).is_finite() && bins <= 1 << 24;
        Slots {
            lo,
            hi,
            bins,
            per_unit: (bins as f64 / (hi as f64 - lo as f64)) as f32,
            last: (bins - 1) as f32,
            fast,
            below: bins as u32,
            above: bins as u32 + 1,
            bad: bins as u32 + 2,
        }
    }

    fn fill(&self, xs: &[f32], out: &mut [u32]) {
        if self.fast {
            crate::engine::simd::dispatch!(fill_fast(self, xs, out))
        } else {
            for (o, &x) in out.iter_mut().zip(xs) {
                *o = self.slot_wide(x);
            }
        }
    }

    /// f64 index arithmetic, for ranges whose width overflows f32 (near ±f32::MAX).
    fn slot_wide(&self, x: f32) -> u32 {
        if !x.is_finite() {
            self.bad
        } else if x < self.lo {
            self.below
        } else if x > self.hi {
            self.above
        } else {
            let (lo, hi) = (self.lo as f64, self.hi as f64);
            (((x as f64 - lo) * (self.bins as f64 / (hi - lo))) as usize).min(self.bins - 1) as u32
        }
    }
}

/// Branch-free slots, so the loop vectorizes: the scaled offset is clamped to `[0, bins − 1]`
/// with compare-and-select (a NaN offset lands on 0) before truncation, which for an in-range
/// value equals `min(floor(offset), bins − 1)`; out-of-range and non-finite values are then
/// selected onto their own slots.
#[inline(always)]
fn fill_fast(s: &Slots, xs: &[f32], out: &mut [u32]) {
    // Locals, so that the loop body reads no memory but `xs`.
    let (lo, hi, per_unit, last) = (s.lo, s.hi, s.per_unit, s.last);
    let (below, above, bad) = (s.below, s.above, s.bad);
    for (o, &x) in out.iter_mut().zip(xs) {
        let t = (x - lo) * per_unit;
        let t = if t > 0.0 { t } else { 0.0 };
        let t = if t < last { t } else { last };
        // `t` is in [0, bins − 1] (the first select maps NaN to 0), and bins − 1 < 2^24.
        let bin = crate::engine::simd::trunc_clamped(t) as u32;
        let finite = (x.to_bits() & 0x7fff_ffff) < 0x7f80_0000;
        let slot = select(x > hi, above, bin);
        let slot = select(x < lo, below, slot);
        *o = select(finite, slot, bad);
    }
}

/// `if c { a } else { b }` as a bit mask, which LLVM keeps branch-free (an `if` chain over the
/// same compares can become branches, which stops vectorization).
#[inline(always)]
fn select(c: bool, a: u32, b: u32) -> u32 {
    let m = (c as u32).wrapping_neg();
    (a & m) | (b & !m)
}

#[cfg(test)]
mod tests {
    use super::*;

    // numpy.histogram([0, 0.5, 1, 2, 3, 4], bins=4, range=(0, 4)) -> [2, 1, 1, 2]
    #[test]
    fn matches_numpy() {
        let h = Histogram::new(&[0.0, 0.5, 1.0, 2.0, 3.0, 4.0], 0.0, 4.0, 4);
        assert_eq!(h.counts, vec![2, 1, 1, 2]);
        assert_eq!((h.below, h.above, h.non_finite), (0, 0, 0));
    }

    proptest::proptest! {
        /// The vectorized slots agree with the plain formula for any values, bins and range,
        /// NaN/±∞ included.
        #[test]
        fn counts_match_a_plain_loop(
            mut xs in proptest::collection::vec(-10f32..10.0, 0..600),
            specials in proptest::collection::vec((0usize..600, 0u8..3), 0..4),
            lo in -8f32..0.0,
            width in 0.01f32..12.0,
            bins in 1usize..300,
        ) {
            for (at, kind) in specials {
                if at < xs.len() {
                    xs[at] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY][kind as usize];
                }
            }
            let hi = lo + width;
            let per_unit = (bins as f64 / (hi as f64 - lo as f64)) as f32;
            let mut want = vec![0u64; bins];
            let (mut below, mut above, mut bad) = (0, 0, 0);
            for &x in &xs {
                if !x.is_finite() {
                    bad += 1;
                } else if x < lo {
                    below += 1;
                } else if x > hi {
                    above += 1;
                } else {
                    want[(((x - lo) * per_unit) as usize).min(bins - 1)] += 1;
                }
            }
            let h = Histogram::new(&xs, lo, hi, bins);
            proptest::prop_assert_eq!(&h.counts, &want);
            proptest::prop_assert_eq!((h.below, h.above, h.non_finite), (below, above, bad));
        }
    }

    #[test]
    fn envelope_per_bin() {
        let xs = [0.1f32, 0.2, 0.9, 5.0, f32::NAN];
        let ys = [1.0f32, -2.0, 3.0, 4.0, 5.0];
        let (h, env) = Histogram::with_envelope(&xs, &ys, 0.0, 1.0, 2);
        assert_eq!(h.counts, vec![2, 1]);
        assert_eq!(env, vec![Some((-2.0, 1.0)), Some((3.0, 3.0))]);
        let (_, empty) = Histogram::with_envelope(&[], &[], 0.0, 1.0, 3);
        assert_eq!(empty, vec![None; 3]);
    }

    #[test]
    fn edges() {
        let h = Histogram::new(&[], 0.0, 1.0, 0);
        assert_eq!(h.counts, vec![0]);
        let h = Histogram::new(&[3.0, 3.0], 3.0, 3.0, 8);
        assert_eq!(h.counts.iter().sum::<u64>(), 2);
        let h = Histogram::new(&[f32::NAN, f32::INFINITY, -5.0, 5.0, 0.0], -1.0, 1.0, 2);
        assert_eq!((h.below, h.above, h.non_finite), (1, 1, 2));
        assert_eq!(h.counts, vec![0, 1]);
        let h = Histogram::new(&[-f32::MAX, f32::MAX], -f32::MAX, f32::MAX, 2);
        assert_eq!(h.counts, vec![1, 1]);
        assert_eq!(h.bin_lo(1), 0.0);
    }
}
