//! The MSE observer's clip-ratio search over a tensor, fast and with the same answer as
//! [`search_clip_ratio`] over [`fake_quant_mse`].
//!
//! Done as written, each of the 141 candidates is a pass over the values with one f64 sum in
//! order, a chain LLVM may not reorder: 10.6 s for 10M values in the browser. Here all the
//! candidates of a round share each cache-sized chunk of the values, and each sums its squared
//! errors in eight f64 lanes, which vectorize. The per-value errors are computed exactly as
//! [`fake_quant_mse`] computes them; only the order of the f64 additions differs, by a relative
//! ~1e-12 at most. Every candidate within [`RECHECK_RTOL`] of the round's least is then computed
//! again with [`fake_quant_mse`], and the choice is made among those by the same rule (the first
//! strict minimum): the same ratio, bit for bit.

use super::mse::{fake_quant_mse, search_clip_ratio, COARSE, FINE};
use crate::engine::qparams::{QParams, QRange};
use crate::engine::rounding::round_half_even_small;
use crate::engine::simd::dispatch;

/// Candidates whose fast MSE lies within this relative distance of the least are computed again
/// in order. Both sums carry at most `n·2⁻⁵³` of relative error (~1e-9 at 10M values).
const RECHECK_RTOL: f64 = 1e-8;

/// Values every candidate of a round reads while they are in L1.
const CHUNK: usize = 4096;

/// Σ (x − x̂)² over `xs` for each of `ps` into `sums`, chunk by chunk.
#[inline(always)]
fn squared_errors(xs: &[f32], ps: &[QParams], range: QRange, sums: &mut [f64]) {
    for chunk in xs.chunks(CHUNK) {
        for (p, sum) in ps.iter().zip(sums.iter_mut()) {
            let inv = 1.0 / p.scale;
            let (lo, hi) = ((range.qmin - p.zero_point) as f32, (range.qmax - p.zero_point) as f32);
            let err = |x: f32| {
                let e = (x - round_half_even_small((x * inv).max(lo).min(hi)) * p.scale) as f64;
                e * e
            };
            let mut lanes = [0f64; 8];
            let blocks = chunk.chunks_exact(8);
            let rest = blocks.remainder();
            for b in blocks {
                for (l, &x) in lanes.iter_mut().zip(b) {
                    *l += err(x);
                }
            }
            for (l, &x) in lanes.iter_mut().zip(rest) {
                *l += err(x);
            }
            *sum += lanes.iter().sum::<f64>();
        }
    }
}

/// The MSE of each of `ps` over `xs`, up to the order of the additions.
fn mses(xs: &[f32], ps: &[QParams], range: QRange) -> Vec<f64> {
    let mut sums = vec![0f64; ps.len()];
    if !xs.is_empty() {
        dispatch!(squared_errors(xs, ps, range, &mut sums));
    }
    sums.into_iter().map(|s| if xs.is_empty() { 0.0 } else { s / xs.len() as f64 }).collect()
}

/// [`search_clip_ratio`] with `mse_at(t) = fake_quant_mse(xs, qparams(t), range)`, the same
/// `(t, mse)`, without a pass over `xs` per candidate.
pub fn search_clip_ratio_over(xs: &[f32], range: QRange, qparams: impl Fn(f64) -> QParams) -> (f64, f64) {
    let coarse: Vec<f64> = std::iter::once(1.0).chain((1..COARSE).map(|k| k as f64 / COARSE as f64)).collect();
    let mut exact = ExactCache::default();
    let best = choose(xs, range, &qparams, &coarse, None, &mut exact);
    let step = 1.0 / COARSE as f64;
    let fine: Vec<f64> = (0..FINE)
        .map(|k| best.0 - step + 2.0 * step * k as f64 / (FINE - 1) as f64)
        .filter(|&t| t > 0.0 && t <= 1.0)
        .collect();
    choose(xs, range, &qparams, &fine, Some(best), &mut exact)
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

/// One round of the search: the first strict minimum over `ts` in order, after `best` if given
/// (whose MSE is exact), with the candidates near the least computed as written.
fn choose(xs: &[f32], range: QRange, qparams: &impl Fn(f64) -> QParams, ts: &[f64], best: Option<(f64, f64)>, exact: &mut ExactCache) -> (f64, f64) {
    let ps: Vec<QParams> = ts.iter().map(|&t| qparams(t)).collect();
    let fast = mses(xs, &ps, range);
    let least = fast.iter().copied().chain(best.map(|b| b.1)).fold(f64::INFINITY, f64::min);
    let bar = least + RECHECK_RTOL * least.abs() + f64::MIN_POSITIVE;
    let mut best = best;
    for ((&t, &p), &f) in ts.iter().zip(&ps).zip(&fast) {
        // A NaN MSE (an impossible grid) is never below anything, as in the written search.
        if !(f <= bar) && best.is_some() {
            continue;
        }
        let m = exact.get(xs, p, range);
        if best.is_none_or(|(_, b)| m < b) {
            best = Some((t, m));
        }
    }
    best.unwrap_or_else(|| search_clip_ratio(|t| fake_quant_mse(xs, qparams(t), range)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::qparams::{calculate_qparams, QScheme};
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
