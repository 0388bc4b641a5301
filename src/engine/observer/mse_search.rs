//! The MSE observer's clip-ratio search over a tensor, fast, in steps, and with the same answer
//! as [`search_clip_ratio`](super::mse::search_clip_ratio) over [`fake_quant_mse`].
//!
//! Done as written, each of the 141 candidates is a pass over the values with one f64 sum in
//! order, a chain LLVM may not reorder: 10.6 s for 10M values in the browser. Here all the
//! candidates of a round share each cache-sized chunk of the values. Each candidate's error
//! `x − x̂` is computed exactly as [`fake_quant_mse`] computes it; its square is summed in f32
//! over 8 values a lane, and those short sums join eight f64 lanes (SIMD128 holds four f32 but
//! only two f64, so the f64 work was half the search). The sums then differ from the written
//! ones by a relative [`FAST_RTOL`] at most (plus an absolute term for squares that underflow),
//! so every candidate within that distance of the round's least is computed again with
//! [`fake_quant_mse`], and the choice is made among those by the same rule (the first strict
//! minimum): the same ratio, bit for bit.
//!
//! [`ClipSearch`] does the work in bounded steps, so the worker can report progress and take a
//! newer request between them.

use super::mse::{fake_quant_mse, COARSE, FINE};
use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::rounding::{clamp_fast, round_half_even_small};
use crate::engine::simd::dispatch;

/// Values every candidate of a round reads while they are in L1.
const CHUNK: usize = 4096;

/// Values a lane sums in f32 before its f64 sum takes the result.
const BLOCK: usize = 8;

/// How far (relatively) a fast sum may lie from the written one. Each square and each of a
/// block's additions rounds once in f32 (2⁻²⁴ each, [`BLOCK`] + 1 in a row: 5.4e-7 of the
/// block's sum, all terms being positive); the f64 sums add `n·2⁻⁵³` on both sides (2e-9 at 10M
/// values). Candidates are computed again up to twice the bound, with room to spare.
const FAST_RTOL: f64 = 4e-6;

/// The |x|max for which squares are summed in f32. Errors stay below `2·|x|max + step`, whose
/// square (times [`BLOCK`]) is far from f32's overflow; and above the lower end a step is large
/// enough (1.5e-15 at 16 bits) that squares which underflow (below 1.2e-38) weigh nothing
/// against the MSE, so the candidates' recheck stays a handful. Outside, squares go to f64.
const F32_SQUARES_ABS: std::ops::RangeInclusive<f32> = 1e-10..=1e17;

/// Σ (x − x̂)² over `xs` for each of `ps` into `sums`, chunk by chunk; with `f32_blocks`, the
/// squares of each lane's [`BLOCK`] values are first summed in f32.
#[inline(always)]
fn squared_errors(xs: &[f32], ps: &[QParams], range: QRange, sums: &mut [f64], f32_blocks: bool) {
    for chunk in xs.chunks(CHUNK) {
        for (p, sum) in ps.iter().zip(sums.iter_mut()) {
            let inv = 1.0 / p.scale;
            let (lo, hi) = ((range.qmin - p.zero_point) as f32, (range.qmax - p.zero_point) as f32);
            let err = |x: f32| x - round_half_even_small(clamp_fast(x * inv, lo, hi)) * p.scale;
            let mut lanes = [0f64; 8];
            let rest = if f32_blocks {
                let blocks = chunk.chunks_exact(8 * BLOCK);
                let rest = blocks.remainder();
                for b in blocks {
                    let mut short = [0f32; 8];
                    for row in b.chunks_exact(8) {
                        for (l, &x) in short.iter_mut().zip(row) {
                            let e = err(x);
                            *l += e * e;
                        }
                    }
                    for (l, s) in lanes.iter_mut().zip(short) {
                        *l += s as f64;
                    }
                }
                rest
            } else {
                chunk
            };
            let rows = rest.chunks_exact(8);
            let tail = rows.remainder();
            for row in rows {
                for (l, &x) in lanes.iter_mut().zip(row) {
                    let e = err(x) as f64;
                    *l += e * e;
                }
            }
            for (l, &x) in lanes.iter_mut().zip(tail) {
                let e = err(x) as f64;
                *l += e * e;
            }
            *sum += lanes.iter().sum::<f64>();
        }
    }
}

/// Exact MSEs already computed, by the grid they were computed for (close ratios often give
/// the same scale and zero point).
#[derive(Default)]
struct ExactCache(Vec<(QParams, f64)>);

impl ExactCache {
    fn get(&mut self, xs: &[f32], p: QParams, range: QRange) -> f64 {
        if let Some(&(_, m)) = self.0.iter().find(|(q, _)| q.scale.to_bits() == p.scale.to_bits() && q.zero_point == p.zero_point) {
            return m;
        }
        let m = fake_quant_mse(xs, p, range);
        self.0.push((p, m));
        m
    }
}

/// One round's candidates: the ratios and their grids.
struct Round {
    ts: Vec<f64>,
    ps: Vec<QParams>,
    /// Whether this is the fine round (the last).
    fine: bool,
}

enum Phase {
    /// The fast sums of a round, over the values before `at`.
    Sums { round: Round, sums: Vec<f64>, at: usize },
    /// The round's candidates near its least, computed as written in order (`next` is the next
    /// to look at); `fast` are their fast MSEs and `bar` the least's reach.
    Recheck { round: Round, fast: Vec<f64>, bar: f64, next: usize },
    Done((f64, f64)),
}

/// The clip-ratio search of [`search_clip_ratio_over`] in bounded steps: [`ClipSearch::step`]
/// does about a budget's worth of work (value × candidate evaluations) and gives the answer once
/// there is one. The values and the grid of each ratio must be the same at every step.
pub struct ClipSearch {
    range: QRange,
    f32_blocks: bool,
    phase: Phase,
    /// The least exact MSE so far, with its ratio (the coarse round's winner in the fine round).
    best: Option<(f64, f64)>,
    exact: ExactCache,
}

impl ClipSearch {
    /// A search over `xs` (finite values) for `range`, with `qparams(t)` the grid of ratio `t`.
    pub fn new(xs: &[f32], range: QRange, qparams: &impl Fn(f64) -> QParams) -> ClipSearch {
        let abs_max = xs.iter().fold(0f32, |m, x| if x.abs() > m { x.abs() } else { m });
        let ts: Vec<f64> = std::iter::once(1.0).chain((1..COARSE).map(|k| k as f64 / COARSE as f64)).collect();
        let round = Round { ps: ts.iter().map(|&t| qparams(t)).collect(), ts, fine: false };
        ClipSearch { range, f32_blocks: F32_SQUARES_ABS.contains(&abs_max), phase: Phase::Sums { sums: vec![0.0; round.ts.len()], round, at: 0 }, best: None, exact: ExactCache::default() }
    }

    /// How far the search is, from 0 to 1: each round's fast sums count for its candidates,
    /// and the rechecks for one more.
    pub fn progress(&self, len: usize) -> f64 {
        let total = (COARSE + FINE + 1) as f64;
        let of = |at: usize| at as f64 / len.max(1) as f64;
        let done = match &self.phase {
            Phase::Sums { round, at, .. } if round.fine => COARSE as f64 + FINE as f64 * of(*at),
            Phase::Sums { at, .. } => COARSE as f64 * of(*at),
            Phase::Recheck { round, .. } if round.fine => (COARSE + FINE) as f64,
            Phase::Recheck { .. } => COARSE as f64,
            Phase::Done(_) => total,
        };
        done / total
    }

    /// Does about `budget` value × candidate evaluations of the search over `xs` (at least one
    /// chunk of fast sums, or one candidate computed as written); `Some((t, mse))` when done.
    pub fn step(&mut self, xs: &[f32], qparams: &impl Fn(f64) -> QParams, budget: usize) -> Option<(f64, f64)> {
        let range = self.range;
        match &mut self.phase {
            Phase::Done(answer) => return Some(*answer),
            Phase::Sums { round, sums, at } => {
                let values = (budget / round.ps.len().max(1)).div_ceil(CHUNK).max(1).saturating_mul(CHUNK);
                let end = at.saturating_add(values).min(xs.len());
                let (slice, blocks) = (&xs[*at..end], self.f32_blocks);
                if !slice.is_empty() {
                    dispatch!(squared_errors(slice, &round.ps, range, sums, blocks));
                }
                *at = end;
                if end == xs.len() {
                    let n = xs.len().max(1) as f64;
                    let fast: Vec<f64> = sums.iter().map(|s| if xs.is_empty() { 0.0 } else { s / n }).collect();
                    let least = fast.iter().copied().chain(self.best.map(|b| b.1)).fold(f64::INFINITY, f64::min);
                    // Squares that underflow in f32 lose up to 2⁻¹⁴⁹ each (twice: the square and
                    // its addition), which no relative bound covers.
                    let underflow = if self.f32_blocks { 2.0 * f64::from(f32::from_bits(1)) } else { 0.0 };
                    let bar = least + 2.0 * FAST_RTOL * least.abs() + underflow + f64::MIN_POSITIVE;
                    let round = std::mem::replace(round, Round { ts: vec![], ps: vec![], fine: false });
                    self.phase = Phase::Recheck { round, fast, bar, next: 0 };
                }
            }
            Phase::Recheck { round, fast, bar, next } => {
                // The next candidate that needs its exact MSE, if any.
                while *next < round.ts.len() {
                    let i = *next;
                    *next += 1;
                    // A NaN MSE (an impossible grid) is never below anything, as in the written
                    // search; the first candidate is always taken when there is no best yet.
                    if (fast[i].is_nan() || fast[i] > *bar) && self.best.is_some() {
                        continue;
                    }
                    let m = self.exact.get(xs, round.ps[i], range);
                    if self.best.is_none_or(|(_, b)| m < b) {
                        self.best = Some((round.ts[i], m));
                    }
                    return None;
                }
                let best = match self.best {
                    Some(b) => b,
                    None => (1.0, fake_quant_mse(xs, qparams(1.0), range)), // no candidates at all
                };
                if round.fine {
                    self.phase = Phase::Done(best);
                    return Some(best);
                }
                let step = 1.0 / COARSE as f64;
                let ts: Vec<f64> = (0..FINE).map(|k| best.0 - step + 2.0 * step * k as f64 / (FINE - 1) as f64).filter(|&t| t > 0.0 && t <= 1.0).collect();
                let round = Round { ps: ts.iter().map(|&t| qparams(t)).collect(), ts, fine: true };
                self.phase = Phase::Sums { sums: vec![0.0; round.ts.len()], round, at: 0 };
            }
        }
        None
    }
}

/// [`search_clip_ratio`](super::mse::search_clip_ratio) with `mse_at(t) = fake_quant_mse(xs, qparams(t), range)`, the same
/// `(t, mse)`, without a pass over `xs` per candidate.
pub fn search_clip_ratio_over(xs: &[f32], range: QRange, qparams: impl Fn(f64) -> QParams) -> (f64, f64) {
    let mut search = ClipSearch::new(xs, range, &qparams);
    loop {
        if let Some(answer) = search.step(xs, &qparams, usize::MAX) {
            return answer;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::observer::mse::search_clip_ratio;
    use crate::engine::quantizer::qparams::{calculate_qparams, QScheme};
    use crate::engine::synth::{sample, Dist, Outliers};
    use proptest::prelude::*;

    fn both(xs: &[f32], scheme: QScheme, range: QRange) -> ((f64, f64), (f64, f64)) {
        let (lo, hi) = xs.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let candidate = |t: f64| {
            let t = t as f32;
            match scheme {
                QScheme::Symmetric => {
                    let a = lo.abs().max(hi.abs()) * t;
                    calculate_qparams(lo.max(-a), hi.min(a), scheme, range)
                }
                QScheme::Affine => calculate_qparams(lo * t, hi * t, scheme, range),
            }
        };
        (search_clip_ratio_over(xs, range, candidate), search_clip_ratio(|t| fake_quant_mse(xs, candidate(t), range)))
    }

    #[test]
    fn the_same_ratio_as_the_written_search() {
        let dists = [
            Dist::Normal { mean: 0.0, std: 1.0 },
            Dist::Laplace { loc: 0.3, b: 2.0 },
            Dist::Uniform { lo: -1.0, hi: 3.0 },
            Dist::StudentT { dof: 1.5, scale: 1.0 },
            Dist::PostRelu { mean: 0.0, std: 1.0 },
            Dist::Bimodal { sep: 6.0, std: 0.5 },
        ];
        for (i, dist) in dists.into_iter().enumerate() {
            let outliers = (i % 2 == 1).then_some(Outliers { fraction: 0.001, magnitude: 50.0 });
            let xs = sample(dist, 40_003, i as u64, outliers).unwrap();
            for (scheme, range) in [(QScheme::Affine, QRange::QUINT8), (QScheme::Symmetric, QRange::QINT8), (QScheme::Affine, QRange::with_bits(3, true).unwrap()), (QScheme::Symmetric, QRange::with_bits(16, false).unwrap())] {
                let (fast, written) = both(&xs, scheme, range);
                assert_eq!(fast.0.to_bits(), written.0.to_bits(), "{dist:?} {scheme:?} {range:?}");
                assert_eq!(fast.1.to_bits(), written.1.to_bits(), "{dist:?} {scheme:?} {range:?}");
            }
        }
    }

    #[test]
    fn edges_give_the_written_answer() {
        for xs in [vec![], vec![0.0; 9], vec![2.5], vec![-1.0, 1.0], vec![1e30, -1e30, 0.0], vec![f32::MIN_POSITIVE; 3]] {
            for scheme in [QScheme::Affine, QScheme::Symmetric] {
                let range = if scheme == QScheme::Affine { QRange::QUINT8 } else { QRange::QINT8 };
                let (fast, written) = both(&xs, scheme, range);
                assert_eq!((fast.0.to_bits(), fast.1.to_bits()), (written.0.to_bits(), written.1.to_bits()), "{xs:?} {scheme:?}");
            }
        }
    }

    /// The search in small steps gives what one step gives, and the written search: with f32
    /// blocks, with values too large or too small for them, and with a tail of values that fill
    /// no block.
    #[test]
    fn small_steps_give_the_one_step_answer() {
        let base = sample(Dist::Laplace { loc: 0.1, b: 1.0 }, 3 * CHUNK + 77, 5, Some(Outliers { fraction: 0.001, magnitude: 40.0 })).unwrap();
        for scale in [1.0f32, 1e20, 1e-20, 3e-11] {
            let xs: Vec<f32> = base.iter().map(|x| x * scale).collect();
            for (scheme, range) in [(QScheme::Affine, QRange::QUINT8), (QScheme::Symmetric, QRange::with_bits(4, false).unwrap())] {
                let clip = crate::engine::observer::Clip { common: crate::engine::observer::Common { scheme, range }, min: xs.iter().copied().fold(f32::INFINITY, f32::min), max: xs.iter().copied().fold(f32::NEG_INFINITY, f32::max) };
                let qparams = |t: f64| clip.qparams(t);
                let mut search = ClipSearch::new(&xs, range, &qparams);
                assert_eq!(search.f32_blocks, F32_SQUARES_ABS.contains(&(40.0 * scale)), "scale {scale}");
                let mut steps = 0;
                let mut last = 0.0;
                let stepped = loop {
                    let p = search.progress(xs.len());
                    assert!((last..=1.0).contains(&p), "progress {p} after {last}");
                    last = p;
                    steps += 1;
                    if let Some(answer) = search.step(&xs, &qparams, 100 * CHUNK) {
                        break answer;
                    }
                };
                assert!(steps > 8, "{steps} steps: the sums went a chunk at a time");
                let written = search_clip_ratio(|t| fake_quant_mse(&xs, qparams(t), range));
                assert_eq!((stepped.0.to_bits(), stepped.1.to_bits()), (written.0.to_bits(), written.1.to_bits()), "scale {scale} {scheme:?}");
                assert_eq!(search.step(&xs, &qparams, 1), Some(stepped), "done stays done");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn any_values_get_the_written_ratio(xs in proptest::collection::vec(prop_oneof![-1e3f32..1e3, -1f32..1f32, Just(0f32)], 1..3000), bits in 2u32..=16, sym in any::<bool>()) {
            let scheme = if sym { QScheme::Symmetric } else { QScheme::Affine };
            let range = QRange::with_bits(bits, !sym).unwrap();
            let (fast, written) = both(&xs, scheme, range);
            prop_assert_eq!((fast.0.to_bits(), fast.1.to_bits()), (written.0.to_bits(), written.1.to_bits()));
        }
    }
}
