//! The Explorer's view of one tensor in a number format: the values against the grid of a
//! chosen block (and a band for the other blocks' ranges), the format's error, its block-scale
//! anatomy and the blocks that carry the most error. Built from [`crate::engine::formats`].

use serde::{Deserialize, Serialize};

use crate::engine::formats::measure::measure;
use crate::engine::formats::minifloat::E4M3;
use crate::engine::formats::mx;
use crate::engine::formats::quantized::{quantize, Quantized, ScaleCodes};
use crate::engine::formats::spec::{Format, Params};
use crate::engine::statistics::histogram::{Binner, Envelope, Histogram};
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::statistics::stats::Summary;

/// The blocks listed as carrying the most error.
pub const WORST_BLOCKS: usize = 8;

/// Which format, and which of its blocks to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormatRequest {
    /// A name [`Format::parse`] takes (`mxfp4`, `q4_k`, `int`).
    pub name: String,
    pub params: Params,
    /// The block whose grid is drawn (`None`: the one with the most error).
    pub block: Option<usize>,
    /// Bins of the value and error histograms.
    pub bins: usize,
}

impl FormatRequest {
    /// The format it names.
    pub fn format(&self) -> Result<Format, String> {
        Format::parse(&self.name, &self.params)
    }

    /// What the quantization depends on (not the drawn block, nor the bins).
    pub fn quantization(&self) -> (String, Params) {
        (self.name.clone(), self.params)
    }
}

/// The spread of the blocks' clipping bounds: the least, median and greatest lower bound, and
/// the same of the upper bounds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub lo: [f32; 3],
    pub hi: [f32; 3],
}

/// What a histogram of the block scales shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScaleWhat {
    /// MX: the E8M0 shared exponents, unbiased (`code − 127`).
    E8m0Exponent,
    /// NVFP4: log2 of each E4M3 block scale (times the tensor scale: the step it stands for).
    E4m3Scale,
    /// K-quants: log2 of each super-block's f16 scale.
    SuperScale,
    /// K-quants: each sub-block's integer scale.
    SubScale,
    /// log2 of each group's (block's, row's) scale.
    GroupScale,
}

/// A histogram of block scales: bars at `x` of `width`, and how many scales sit at the ends of
/// what their code can hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScaleHist {
    pub what: ScaleWhat,
    pub bars: Vec<(f64, u64)>,
    pub width: f64,
    /// Scales at the code's largest value (E8M0 2¹²⁷, E4M3 448): `None` where a format has no
    /// such end (its scales are floats, or are fitted to the top by construction).
    pub saturated: Option<u64>,
    /// Scales at the code's smallest: E8M0 2⁻¹²⁷, NVFP4's floor of 2⁻⁶ (or below), a zero
    /// sub-scale or group scale.
    pub underflow: Option<u64>,
    /// NaN scales (an MX block with a NaN), or scales that are not finite.
    pub non_finite: u64,
    pub total: u64,
}

/// One of the blocks with the most error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Worst {
    pub block: usize,
    /// Its first value's index along each axis of a `[rows, last]` view: the row, and the column.
    pub row: usize,
    pub col: usize,
    pub sse: f64,
    /// Its share of the tensor's squared error.
    pub share: f64,
}

/// What the Explorer draws for a tensor in a format.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormatView {
    pub label: String,
    pub bits_per_weight: f64,
    pub metrics: QuantMetrics,
    /// Finite non-zero values that became zero.
    pub flushed: usize,
    /// The values, over the data and the drawn block's bounds.
    pub values: Histogram,
    /// Errors `x̂ − x`.
    pub errors: Histogram,
    /// Per bin of `values`, the least and greatest error.
    pub error_by_value: Vec<Option<(f32, f32)>>,
    /// Values per block (group), and how many blocks.
    pub group: usize,
    pub blocks: usize,
    /// The drawn block, where it starts (row and column of a `[rows, last axis]` view), its
    /// grid (ascending) and its clipping bounds.
    pub block: usize,
    pub at: (usize, usize),
    pub grid: Vec<f32>,
    pub bounds: (f32, f32),
    pub band: Option<Band>,
    /// How far rounding alone can move a value: half the largest gap of the coarsest group's
    /// grid (an error beyond it is clipping).
    pub rounding_bound: f32,
    pub scales: Vec<ScaleHist>,
    pub worst: Vec<Worst>,
}

/// A format's quantization of a tensor, kept while only the drawn block changes.
pub struct Kept {
    pub quantized: Quantized,
    pub metrics: QuantMetrics,
    pub sse: Vec<f64>,
}

/// Quantizes `xs` (shaped `shape`) as `r` asks and measures it.
pub fn keep(xs: &[f32], shape: &[usize], r: &FormatRequest) -> Result<Kept, String> {
    let format = r.format()?;
    let quantized = quantize(format, xs, shape).map_err(|e| format!("{}: {e}", format.label()))?;
    let (metrics, sse) = measure(xs, &quantized);
    Ok(Kept { quantized, metrics, sse })
}

/// Values binned per chunk, so the errors of a chunk are computed while it is in cache.
const CHUNK: usize = 4096;

/// The view of `xs` (summarized by `summary`) from its quantization `k`, drawing block
/// `r.block` (or the one with the most error).
pub fn view(xs: &[f32], shape: &[usize], summary: &Summary, k: &Kept, r: &FormatRequest) -> FormatView {
    let q = &k.quantized;
    let blocks = q.groups.len();
    let worst = worst_blocks(&k.sse, q.group, shape);
    let block = r.block.filter(|&b| b < blocks).or(worst.first().map(|w| w.block)).unwrap_or(0);
    let (grid, bounds) = if blocks == 0 { (Vec::new(), (0.0, 0.0)) } else { (q.grid(block), q.bounds(block)) };
    let finite = |v: f32| if v.is_finite() { Some(v) } else { None };
    let (mut lo, mut hi) = if summary.count > 0 { (summary.min, summary.max) } else { (0.0, 0.0) };
    for end in [bounds.0, bounds.1].into_iter().filter_map(finite) {
        lo = lo.min(end);
        hi = hi.max(end);
    }
    let pad = ((hi - lo) * 0.02).max(f32::EPSILON);
    let reach = (k.metrics.max_abs_err as f32).max(f32::MIN_POSITIVE) * 1.01;
    let mut values = Binner::new(lo - pad, hi + pad, r.bins);
    let mut envelope = Envelope::new(r.bins);
    let mut errors = Binner::new(-reach, reach, r.bins);
    let mut err = vec![0f32; CHUNK];
    let mut flushed = 0;
    for (x, v) in xs.chunks(CHUNK).zip(q.values.chunks(CHUNK)) {
        let err = &mut err[..x.len()];
        for ((e, &x), &v) in err.iter_mut().zip(x).zip(v) {
            *e = v - x;
            flushed += usize::from(v == 0.0 && x != 0.0 && x.is_finite());
        }
        values.add(x, |start, slots| envelope.add(slots, &err[start..]));
        errors.add(err, |_, _| {});
    }
    FormatView {
        label: q.format.label(),
        bits_per_weight: q.bits_per_weight,
        metrics: k.metrics,
        flushed,
        values: values.finish(),
        errors: errors.finish(),
        error_by_value: envelope.finish(),
        group: q.group,
        blocks,
        block,
        at: start_of(block, q.group, shape),
        grid,
        bounds,
        band: band(q),
        rounding_bound: rounding_bound(q),
        scales: scales(q),
        worst,
    }
}

/// Where block `b` of `group` values starts in a `[rows, last axis]` view of `shape`.
fn start_of(b: usize, group: usize, shape: &[usize]) -> (usize, usize) {
    let last = shape.last().copied().unwrap_or(1).max(1);
    let start = b * group;
    (start / last, start % last)
}

/// The blocks with the most squared error, most first (ties: the earlier block), with where
/// each starts in a `[rows, last]` view of `shape`.
fn worst_blocks(sse: &[f64], group: usize, shape: &[usize]) -> Vec<Worst> {
    let total: f64 = sse.iter().sum();
    let mut order: Vec<usize> = (0..sse.len()).filter(|&b| sse[b] > 0.0).collect();
    let most_first = |a: &usize, b: &usize| sse[*b].total_cmp(&sse[*a]).then(a.cmp(b));
    if order.len() > WORST_BLOCKS {
        order.select_nth_unstable_by(WORST_BLOCKS - 1, most_first);
        order.truncate(WORST_BLOCKS);
    }
    order.sort_by(most_first);
    order
        .into_iter()
        .map(|b| {
            let (row, col) = start_of(b, group, shape);
            Worst { block: b, row, col, sse: sse[b], share: if total > 0.0 { sse[b] / total } else { 0.0 } }
        })
        .collect()
}

/// Half the largest gap between neighbouring values of the table, times the largest scale.
fn rounding_bound(q: &Quantized) -> f32 {
    let gap = q.table.windows(2).map(|w| w[1] - w[0]).fold(0f32, f32::max);
    let scale = q.groups.iter().map(|a| a.scale.abs()).filter(|s| s.is_finite()).fold(0f32, f32::max);
    gap * scale / 2.0
}

/// The spread of the groups' clipping bounds, when there is more than one group.
fn band(q: &Quantized) -> Option<Band> {
    if q.groups.len() < 2 {
        return None;
    }
    let (mut lo, mut hi): (Vec<f32>, Vec<f32>) = (0..q.groups.len()).map(|g| q.bounds(g)).filter(|(a, b)| a.is_finite() && b.is_finite()).unzip();
    if lo.is_empty() {
        return None;
    }
    let three = |v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        [v[0], v[v.len() / 2], v[v.len() - 1]]
    };
    Some(Band { lo: three(&mut lo), hi: three(&mut hi) })
}

/// Counts of each distinct value of `xs`, ascending.
fn tally(xs: impl Iterator<Item = f64>) -> Vec<(f64, u64)> {
    let mut v: Vec<f64> = xs.collect();
    v.sort_by(f64::total_cmp);
    let mut bars: Vec<(f64, u64)> = Vec::new();
    for x in v {
        match bars.last_mut() {
            Some((y, n)) if *y == x => *n += 1,
            _ => bars.push((x, 1)),
        }
    }
    bars
}

/// Bins of the log2 histograms of float scales.
const LOG_BINS: usize = 48;

/// A histogram of log2 of positive finite `scales` in [`LOG_BINS`] bins; zero scales are
/// underflow, others that are not finite counted apart.
fn log2_hist(what: ScaleWhat, scales: &[f32]) -> ScaleHist {
    let logs: Vec<f64> = scales.iter().filter(|s| s.is_finite() && **s > 0.0).map(|&s| libm::log2(f64::from(s))).collect();
    let zero = scales.iter().filter(|&&s| s == 0.0).count() as u64;
    let non_finite = scales.iter().filter(|s| !s.is_finite()).count() as u64;
    let (lo, hi) = logs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let (bars, width) = if logs.is_empty() {
        (Vec::new(), 1.0)
    } else if hi - lo < 1e-9 {
        (vec![(lo, logs.len() as u64)], 0.25)
    } else {
        let width = (hi - lo) / LOG_BINS as f64;
        let mut counts = vec![0u64; LOG_BINS];
        for x in &logs {
            counts[(((x - lo) / width) as usize).min(LOG_BINS - 1)] += 1;
        }
        ((0..LOG_BINS).filter(|&i| counts[i] > 0).map(|i| (lo + (i as f64 + 0.5) * width, counts[i])).collect(), width)
    };
    ScaleHist { what, bars, width, saturated: None, underflow: Some(zero), non_finite, total: scales.len() as u64 }
}

/// The block-scale histograms of `q`.
fn scales(q: &Quantized) -> Vec<ScaleHist> {
    let total = |n: usize| n as u64;
    match &q.scale_codes {
        ScaleCodes::E8m0(codes) => {
            let count = |c: u8| codes.iter().filter(|&&b| b == c).count() as u64;
            let finite = codes.iter().filter(|&&b| b != mx::SCALE_NAN);
            vec![ScaleHist {
                what: ScaleWhat::E8m0Exponent,
                bars: tally(finite.map(|&b| f64::from(b) - 127.0)),
                width: 0.8,
                saturated: Some(count(254)),
                underflow: Some(count(0)),
                non_finite: count(mx::SCALE_NAN),
                total: total(codes.len()),
            }]
        }
        ScaleCodes::E4m3 { tensor, blocks } => {
            // torchao clamps block scales to [2⁻⁶, 448]: code 8 (E4M3's smallest normal) is the
            // floor, below which a block's small values flush to zero; 0x7E is 448, the top.
            let positive = blocks.iter().filter(|&&c| c & 0x7f != 0 && c & 0x7f != 0x7f);
            vec![ScaleHist {
                what: ScaleWhat::E4m3Scale,
                bars: tally(positive.map(|&c| libm::log2(f64::from(E4M3.decode(c & 0x7f) * tensor)))),
                width: 0.1,
                saturated: Some(blocks.iter().filter(|&&c| c & 0x7f == 0x7e).count() as u64),
                underflow: Some(blocks.iter().filter(|&&c| c & 0x7f <= 8).count() as u64),
                non_finite: blocks.iter().filter(|&&c| c & 0x7f == 0x7f).count() as u64,
                total: total(blocks.len()),
            }]
        }
        ScaleCodes::Sub { supers, subs } => {
            let zero = subs.iter().filter(|&&s| s == 0).count() as u64;
            vec![
                log2_hist(ScaleWhat::SuperScale, supers),
                ScaleHist {
                    what: ScaleWhat::SubScale,
                    bars: tally(subs.iter().map(|&s| f64::from(s))),
                    width: 0.8,
                    saturated: None,
                    underflow: Some(zero),
                    non_finite: 0,
                    total: total(subs.len()),
                },
            ]
        }
        ScaleCodes::Plain => {
            let s: Vec<f32> = q.groups.iter().map(|a| a.scale.abs()).collect();
            vec![log2_hist(ScaleWhat::GroupScale, &s)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::statistics::stats::summarize;

    fn request(name: &str, block: Option<usize>) -> FormatRequest {
        FormatRequest { name: name.into(), params: Params::default(), block, bins: 64 }
    }

    fn view_of(xs: &[f32], shape: &[usize], r: &FormatRequest) -> FormatView {
        view(xs, shape, &summarize(xs), &keep(xs, shape, r).unwrap(), r)
    }

    /// A `[4, 256]` layer with one outlier: its block carries the most error and is drawn by default.
    fn layer() -> Vec<f32> {
        let mut xs: Vec<f32> = (0..1024).map(|i| ((i * 7919 % 997) as f32 - 498.0) / 1000.0).collect();
        xs[300] = 40.0;
        xs
    }

    #[test]
    fn the_block_with_the_most_error_is_drawn_and_listed_first() {
        let xs = layer();
        let v = view_of(&xs, &[4, 256], &request("mxfp4", None));
        assert_eq!((v.group, v.blocks, v.block), (32, 32, 300 / 32));
        assert_eq!((v.worst[0].block, v.worst[0].row, v.worst[0].col), (9, 1, 32));
        assert_eq!(v.at, (1, 32));
        assert!(v.worst.windows(2).all(|w| w[0].sse >= w[1].sse));
        assert!(v.worst.len() <= WORST_BLOCKS);
        let share: f64 = v.worst.iter().map(|w| w.share).sum();
        assert!(share > 0.0 && share <= 1.0 + 1e-12);
        // Its E8M0 scale is 2^(floor(log2 40) − 2) = 8: FP4's grid times 8, ±48 at the ends.
        assert_eq!(v.grid.first().copied(), Some(-48.0));
        assert_eq!(v.grid.last().copied(), Some(48.0));
        assert_eq!(v.grid.len(), 15, "±0 are one value");
        assert!(v.values.lo <= -0.5 && v.values.hi >= 48.0, "the drawn grid's ends are in view");
        // The outlier's block flushes its small values to zero.
        assert!(v.flushed > 0);
        assert_eq!(v.rounding_bound, 8.0, "FP4's widest gap, 4 → 6, times the largest scale, 8, halved");
        let band = v.band.unwrap();
        assert_eq!(band.hi[2], v.bounds.1, "the widest block's upper bound is the band's top");
        assert!(band.hi[0] <= band.hi[1] && band.hi[1] < band.hi[2], "the outlier's block is alone at the top: {band:?}");
        // Another block on request, and a block past the end falls back to the worst.
        assert_eq!(view_of(&xs, &[4, 256], &request("mxfp4", Some(3))).block, 3);
        assert_eq!(view_of(&xs, &[4, 256], &request("mxfp4", Some(99))).block, 9);
    }

    #[test]
    fn the_histograms_count_every_value() {
        let xs = layer();
        for name in ["fp8-e4m3", "nvfp4", "nf4", "q4_k", "q6_k", "int", "mxint8"] {
            let v = view_of(&xs, &[4, 256], &request(name, None));
            let binned = |h: &Histogram| h.counts.iter().sum::<u64>() + h.below + h.above;
            assert_eq!(binned(&v.values), 1024, "{name}");
            assert_eq!(binned(&v.errors), 1024, "{name}: every error within ±max error");
            assert_eq!(v.errors.below + v.errors.above, 0, "{name}");
            assert!(!v.grid.is_empty() && v.grid.windows(2).all(|w| w[0] < w[1]), "{name}");
            let scales: u64 = v.scales.iter().map(|s| s.total).sum();
            assert!(scales >= v.blocks as u64 || name == "q4_k" || name == "q6_k", "{name}");
            for s in &v.scales {
                let bars: u64 = s.bars.iter().map(|b| b.1).sum();
                assert!(bars <= s.total, "{name} {:?}", s.what);
            }
        }
    }

    #[test]
    fn scale_anatomy_names_its_ends() {
        let mut xs = vec![1e-30f32; 64];
        xs[40] = 3.0e38;
        // MX: a block of tiny values takes E8M0's smallest exponent; one of huge values the largest the
        // element's emax allows (2^127 − emax... here 2^125 for FP4).
        let v = view_of(&xs, &[64], &request("mxfp4", None));
        let e8 = &v.scales[0];
        assert_eq!(e8.what, ScaleWhat::E8m0Exponent);
        assert_eq!(e8.total, 2);
        assert_eq!(e8.bars.iter().map(|b| b.0).collect::<Vec<_>>(), [-102.0, 125.0]);
        // NVFP4: the largest block's scale is 448 (saturated), the tiny block's a subnormal or zero.
        let n = view_of(&xs, &[64], &request("nvfp4", None));
        let e4 = &n.scales[0];
        assert_eq!((e4.what, e4.total, e4.saturated, e4.underflow), (ScaleWhat::E4m3Scale, 4, Some(1), Some(3)));
        // K-quants: super-block scales and sub-scales.
        let k = view_of(&layer(), &[4, 256], &request("q4_k", None));
        assert_eq!(k.scales.iter().map(|s| s.what).collect::<Vec<_>>(), [ScaleWhat::SuperScale, ScaleWhat::SubScale]);
        assert_eq!((k.scales[0].total, k.scales[1].total), (4, 32));
        assert_eq!(k.scales[1].bars.last().unwrap().0, 63.0, "each super-block's largest sub-scale is 63");
    }

    #[test]
    fn empty_constant_and_bad_requests() {
        let v = view_of(&[], &[0, 32], &request("mxfp4", None));
        assert_eq!((v.blocks, v.metrics.count, v.grid.len()), (0, 0, 0));
        let c = view_of(&[0.5; 64], &[64], &request("nf4", None));
        assert_eq!(c.metrics.mse, 0.0);
        assert!(c.worst.is_empty(), "no block has any error");
        let bad = keep(&[1.0; 48], &[48], &request("mxfp4", None)).err().unwrap();
        assert!(bad.contains("mxfp4") && bad.contains("block of 32"), "{bad}");
        assert!(keep(&[1.0; 4], &[4], &request("fp3", None)).err().unwrap().contains("no format"));
        let nan = view_of(&[f32::NAN, 1.0, f32::INFINITY, -2.0], &[4], &request("fp8-e4m3", None));
        assert_eq!((nan.metrics.non_finite, nan.values.non_finite), (2, 2));
    }
}
