//! What a format costs on a tensor: the Explorer's metrics (MSE split into clipping and
//! rounding, SQNR, max error, the clipped share) and each group's error, in one pass.

use super::quantized::Quantized;
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::statistics::stats::sqnr_from_energies;

/// f32 lanes of the accumulation loop.
const LANES: usize = 8;
/// Values summed in f32 lanes before the sums move to f64 (each lane sums at most 64 terms).
const SPAN: usize = 64 * LANES;

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

/// One run of at most [`SPAN`] values of one group, with the group's bounds: branch-free lanes
/// (LLVM vectorizes them; a stage-by-stage form measured 1.6× slower here), summed in f32 and
/// then f64. A run whose f32 sums overflow (values beyond ~1e19) is summed again in f64.
#[inline(always)]
fn run(x: &[f32], v: &[f32], lo: f32, hi: f32) -> Partial {
    let (mut s, mut c, mut r, mut m) = ([0f32; LANES], [0f32; LANES], [0f32; LANES], [0f32; LANES]);
    let (mut b, mut a, mut bad) = ([0u32; LANES], [0u32; LANES], [0u32; LANES]);
    let mut lane = |i: usize, x: f32, v: f32| {
        let finite = |f: f32| (f.to_bits() & 0x7fff_ffff) < 0x7f80_0000;
        let ok = finite(x) & finite(v);
        let xv = if ok { x } else { 0.0 };
        let e = if ok { x - v } else { 0.0 };
        let (under, over) = (ok & (x < lo), ok & (x > hi));
        let clipped = under | over;
        let e2 = e * e;
        s[i] += xv * xv;
        c[i] += if clipped { e2 } else { 0.0 };
        r[i] += if clipped { 0.0 } else { e2 };
        let ae = e.abs();
        m[i] = if ae > m[i] { ae } else { m[i] };
        b[i] += u32::from(under);
        a[i] += u32::from(over);
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
    let sum = |l: &[f32; LANES]| l.iter().map(|&t| f64::from(t)).sum::<f64>();
    let count = |l: &[u32; LANES]| l.iter().map(|&t| t as usize).sum::<usize>();
    let p = Partial { signal: sum(&s), clip: sum(&c), round: sum(&r), max_err: m.iter().fold(0f32, |t, &u| t.max(u)), below: count(&b), above: count(&a), bad: count(&bad) };
    if (p.signal + p.clip + p.round).is_finite() {
        return p;
    }
    let mut p = Partial { max_err: p.max_err, below: p.below, above: p.above, bad: p.bad, ..Partial::default() };
    for (&x, &v) in x.iter().zip(v) {
        if x.is_finite() && v.is_finite() {
            let e = f64::from(x) - f64::from(v);
            p.signal += f64::from(x) * f64::from(x);
            if x < lo || x > hi { p.clip += e * e } else { p.round += e * e }
        }
    }
    p
}

/// A tensor's metrics summed group by group, in order: [`measure`] feeds it the kept values, a
/// format's kernel can feed it each block as it makes it (the same sums either way).
#[derive(Default)]
pub struct Meter {
    total: Partial,
}

impl Meter {
    /// Adds one group: its values `x`, their quantized `v` and the group's clipping bounds.
    /// Returns the group's sum of squared errors.
    #[inline(always)]
    pub fn group(&mut self, x: &[f32], v: &[f32], lo: f32, hi: f32) -> f64 {
        let mut sse = 0f64;
        for (xr, vr) in x.chunks(SPAN).zip(v.chunks(SPAN)) {
            let p = run(xr, vr, lo, hi);
            self.total.add(&p);
            sse += p.clip + p.round;
        }
        sse
    }

    /// The metrics of the `len` values added. A value beyond its group's bounds counts as
    /// clipped (saturated); values that are not finite, before or after quantization (a NaN, or
    /// a finite value in an MX block that a NaN made NaN), are counted in `non_finite` and left
    /// out of the rest. `levels_used` is not counted (0).
    pub fn metrics(&self, len: usize) -> QuantMetrics {
        let t = &self.total;
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

/// Every group of `q`, and each group's sum of squared errors.
#[inline(always)]
fn groups(xs: &[f32], q: &Quantized) -> (Meter, Vec<f64>) {
    let g = q.group.max(1);
    let mut meter = Meter::default();
    let sse = xs.chunks(g).zip(q.values.chunks(g)).enumerate().map(|(gi, (x, v))| {
        let (lo, hi) = q.bounds(gi);
        meter.group(x, v, lo, hi)
    });
    let sse = sse.collect();
    (meter, sse)
}

/// The metrics of `q` against `xs` ([`Meter::metrics`]), and each group's sum of squared errors.
/// Sums run in f32 lanes over at most 64 terms and then in f64 (relative error near 1e-7).
pub fn measure(xs: &[f32], q: &Quantized) -> (QuantMetrics, Vec<f64>) {
    let (meter, group_sse) = crate::engine::simd::dispatch!(groups(xs, q));
    (meter.metrics(xs.len()), group_sse)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::quantized::quantize;
    use crate::engine::formats::spec::{Format, Params};

    /// Tolerance for sums of a few exact f32 terms in f64.
    const SUM_TOL: f64 = 1e-12;

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
        assert!((sse[0] - m.mse * 32.0).abs() < SUM_TOL);
        assert!((m.max_abs_err - 1.9).abs() < 1e-6);
    }

    /// Runs of any length (not whole lanes) and grids without 0 measure as a plain f64 loop does.
    #[test]
    fn any_length_and_any_grid_measure_as_plain_sums() {
        for n in [1usize, 7, 9, 31, 33, 100, 1000] {
            let xs: Vec<f32> = (0..n * 64).map(|i| 0.3 + ((i * 37 % 101) as f32) / 100.0).collect();
            for f in ["q4_1", "int", "fp8-e4m3", "nf4"] {
                let shape = if f == "int" { [64, n] } else { [n, 64] };
                let q = quantize(Format::parse(f, &Params::default()).unwrap(), &xs, &shape).unwrap();
                let (m, _) = measure(&xs, &q);
                let (mut se, mut below, mut above) = (0f64, 0, 0);
                for (g, (x, v)) in xs.chunks(q.group).zip(q.values.chunks(q.group)).enumerate() {
                    let (lo, hi) = q.bounds(g);
                    for (&x, &v) in x.iter().zip(v) {
                        se += (f64::from(x) - f64::from(v)).powi(2);
                        below += usize::from(x < lo);
                        above += usize::from(x > hi);
                    }
                }
                assert_eq!((m.count, m.non_finite, m.clipped_below, m.clipped_above), (xs.len(), 0, below, above), "{f} {n}");
                // f32 lanes against f64: within 1e-6 relative.
                assert!((m.mse - se / xs.len() as f64).abs() <= 1e-6 * m.mse.max(1e-30), "{f} {n}: {} against {}", m.mse, se / xs.len() as f64);
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
