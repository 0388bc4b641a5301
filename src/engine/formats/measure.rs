//! What a format costs on a tensor: the Explorer's metrics (MSE split into clipping and
//! rounding, SQNR, max error, the clipped share) and each group's error, in one pass.

use super::quantized::Quantized;
use crate::engine::statistics::metrics::QuantMetrics;
use crate::engine::statistics::stats::sqnr_from_energies;

/// The metrics of `q` against `xs`, and each group's sum of squared errors. A value beyond its
/// group's [`Quantized::bounds`] counts as clipped (saturated). Values that are not finite, before
/// or after quantization (a NaN, or a finite value in an MX block that a NaN made NaN), are
/// counted in `non_finite` and left out of the rest. `levels_used` is not counted (0).
pub fn measure(xs: &[f32], q: &Quantized) -> (QuantMetrics, Vec<f64>) {
    let (mut signal, mut clip, mut round, mut max_err) = (0f64, 0f64, 0f64, 0f64);
    let (mut below, mut above, mut count, mut non_finite) = (0usize, 0usize, 0usize, 0usize);
    let mut group_sse = Vec::with_capacity(q.groups.len());
    for (g, (x, v)) in xs.chunks(q.group.max(1)).zip(q.values.chunks(q.group.max(1))).enumerate() {
        let (lo, hi) = q.bounds(g);
        // f32 lanes for the sums of one group (at most a row); f64 across groups.
        let (mut s, mut c, mut r, mut m) = (0f64, 0f64, 0f64, 0f32);
        let (mut b, mut a, mut bad) = (0usize, 0usize, 0usize);
        for (&x, &v) in x.iter().zip(v) {
            if !(x.is_finite() && v.is_finite()) {
                bad += 1;
                continue;
            }
            let e = x - v;
            let e2 = f64::from(e) * f64::from(e);
            s += f64::from(x) * f64::from(x);
            if x < lo || x > hi {
                c += e2;
                b += usize::from(x < lo);
                a += usize::from(x > hi);
            } else {
                r += e2;
            }
            m = m.max(e.abs());
        }
        signal += s;
        clip += c;
        round += r;
        max_err = max_err.max(f64::from(m));
        below += b;
        above += a;
        non_finite += bad;
        count += x.len() - bad;
        group_sse.push(c + r);
    }
    let n = count.max(1) as f64;
    let metrics = QuantMetrics {
        count,
        non_finite,
        mse: (clip + round) / n,
        clip_mse: clip / n,
        round_mse: round / n,
        sqnr_db: if count == 0 { None } else { sqnr_from_energies(signal, clip + round) },
        max_abs_err: max_err,
        clipped_below: below,
        clipped_above: above,
        levels_used: 0,
    };
    (metrics, group_sse)
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
