//! The CNN's building blocks as plain kernels over NHWC activations (`batch × h × w × channels`,
//! row-major): 3×3 patches for the convolution (stride 1, zero padding 1), the depthwise 3×3
//! convolution, 2×2 max pooling and batch normalization, each with its backward pass. Every
//! output is summed in one fixed order (bias first, then the taps in row-major order), so a
//! seeded run gives the same bits in every build. Generic over the element, so the integer model
//! runs the same loops on its codes.

use serde::{Deserialize, Serialize};

/// Spatial size of a convolution's input and output (stride 1, padding 1: the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plane {
    pub h: usize,
    pub w: usize,
}

impl Plane {
    pub fn positions(self) -> usize {
        self.h * self.w
    }

    /// Every output position and tap (row-major over the 3×3 window) that reads inside the
    /// plane, with the input position it reads: `(p, t, q)`. The padding's taps are left out
    /// (they read 0). Computed once per call and walked for every image of the batch.
    fn taps(self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::with_capacity(9 * self.positions());
        for p in 0..self.positions() {
            let (y, x) = (p / self.w, p % self.w);
            for t in 0..9 {
                let (iy, ix) = ((y + t / 3).checked_sub(1), (x + t % 3).checked_sub(1));
                if let (Some(iy), Some(ix)) = (iy, ix) {
                    if iy < self.h && ix < self.w {
                        out.push((p, t, iy * self.w + ix));
                    }
                }
            }
        }
        out
    }
}

// The integer model runs these kernels on its codes less their zero points, so padding is the
// real 0 in both.
use super::linalg::Element;

/// 3×3 patches: `cols[(n·positions + p)·(ch·9) + c·9 + t]` is channel `c` of the input at tap `t`
/// of position `p` (0 in the padding), so a convolution is one matrix product with its weights
/// stored PyTorch's way, `out × ch × 3 × 3`.
pub fn im2col<T: Element>(x: &[T], batch: usize, plane: Plane, ch: usize, cols: &mut Vec<T>) {
    let (pos, k, taps) = (plane.positions(), ch * 9, plane.taps());
    cols.clear();
    cols.resize(batch * pos * k, T::default());
    for n in 0..batch {
        let img = &x[n * pos * ch..][..pos * ch];
        for &(p, t, q) in &taps {
            let row = &mut cols[(n * pos + p) * k..][..k];
            for c in 0..ch {
                row[c * 9 + t] = img[q * ch + c];
            }
        }
    }
}

/// The adjoint of [`im2col`]: each patch entry's gradient added back to the input it came from.
pub fn col2im(dcols: &[f32], batch: usize, plane: Plane, ch: usize, dx: &mut Vec<f32>) {
    let (pos, k, taps) = (plane.positions(), ch * 9, plane.taps());
    dx.clear();
    dx.resize(batch * pos * ch, 0.0);
    for n in 0..batch {
        let img = &mut dx[n * pos * ch..][..pos * ch];
        for &(p, t, q) in &taps {
            let row = &dcols[(n * pos + p) * k..][..k];
            for c in 0..ch {
                img[q * ch + c] += row[c * 9 + t];
            }
        }
    }
}

/// Depthwise 3×3: `out[n,p,c] = bias[c] + Σ_t x[n, p+t, c]·w[c·9 + t]`, taps in order, padding
/// skipped (it would add 0).
pub fn depthwise<T: Element>(x: &[T], batch: usize, plane: Plane, ch: usize, w: &[T], bias: &[T], out: &mut Vec<T>) {
    let (pos, taps) = (plane.positions(), plane.taps());
    // Tap-major weights, so the inner loop runs over contiguous channels.
    let wt: Vec<T> = (0..9 * ch).map(|i| w[(i % ch) * 9 + i / ch]).collect();
    out.clear();
    out.resize(batch * pos * ch, T::default());
    for n in 0..batch {
        let img = &x[n * pos * ch..][..pos * ch];
        let dst = &mut out[n * pos * ch..][..pos * ch];
        for p in 0..pos {
            dst[p * ch..][..ch].copy_from_slice(&bias[..ch]);
        }
        for &(p, t, q) in &taps {
            let (src, wt) = (&img[q * ch..][..ch], &wt[t * ch..][..ch]);
            for ((d, &v), &k) in dst[p * ch..][..ch].iter_mut().zip(src).zip(wt) {
                *d = *d + v * k;
            }
        }
    }
}

/// The depthwise convolution's gradients: `dw` (`ch × 9`) and `dx` from `g` (its output's).
#[allow(clippy::too_many_arguments)]
pub fn depthwise_backward(x: &[f32], g: &[f32], batch: usize, plane: Plane, ch: usize, w: &[f32], dw: &mut Vec<f32>, dx: Option<&mut Vec<f32>>) {
    let (pos, taps) = (plane.positions(), plane.taps());
    let mut dwt = vec![0f32; 9 * ch];
    for n in 0..batch {
        let (img, gi) = (&x[n * pos * ch..][..pos * ch], &g[n * pos * ch..][..pos * ch]);
        for &(p, t, q) in &taps {
            for ((d, &v), &gv) in dwt[t * ch..][..ch].iter_mut().zip(&img[q * ch..][..ch]).zip(&gi[p * ch..][..ch]) {
                *d += gv * v;
            }
        }
    }
    dw.clear();
    dw.extend((0..9 * ch).map(|i| dwt[(i % 9) * ch + i / 9]));
    if let Some(dx) = dx {
        let wt: Vec<f32> = (0..9 * ch).map(|i| w[(i % ch) * 9 + i / ch]).collect();
        dx.clear();
        dx.resize(batch * pos * ch, 0.0);
        for n in 0..batch {
            let gi = &g[n * pos * ch..][..pos * ch];
            let di = &mut dx[n * pos * ch..][..pos * ch];
            for &(p, t, q) in &taps {
                for ((d, &gv), &k) in di[q * ch..][..ch].iter_mut().zip(&gi[p * ch..][..ch]).zip(&wt[t * ch..][..ch]) {
                    *d += gv * k;
                }
            }
        }
    }
}

/// 2×2 max pooling (stride 2; `plane` even-sized): the pooled values, and for each the index
/// into `x` of the one it took (the first of ties, in row-major order), for the backward pass.
/// Pooling commutes with any non-decreasing map, so pooling fake-quantized values or codes gives
/// what quantizing the pooled values would.
pub fn max_pool<T: Element>(x: &[T], batch: usize, plane: Plane, ch: usize, out: &mut Vec<T>, argmax: &mut Vec<u32>) {
    let (h2, w2) = (plane.h / 2, plane.w / 2);
    out.clear();
    argmax.clear();
    for n in 0..batch {
        for y in 0..h2 {
            for x0 in 0..w2 {
                for c in 0..ch {
                    let at = |dy: usize, dx: usize| ((n * plane.h + 2 * y + dy) * plane.w + 2 * x0 + dx) * ch + c;
                    let mut best = at(0, 0);
                    for i in [at(0, 1), at(1, 0), at(1, 1)] {
                        if x[i] > x[best] {
                            best = i;
                        }
                    }
                    out.push(x[best]);
                    argmax.push(best as u32);
                }
            }
        }
    }
}

/// The pooling's gradient: each pooled gradient back to the value it took.
pub fn max_pool_backward(g: &[f32], argmax: &[u32], unpooled: usize) -> Vec<f32> {
    let mut dx = vec![0f32; unpooled];
    for (&gv, &i) in g.iter().zip(argmax) {
        dx[i as usize] += gv;
    }
    dx
}

/// PyTorch's `BatchNorm2d` defaults.
pub const BN_EPS: f32 = 1e-5;
pub const BN_MOMENTUM: f32 = 0.1;

/// Batch normalization over channels: `y = γ·(x − μ)/√(σ² + ε) + β`, with batch statistics while
/// training and running ones otherwise (or once frozen).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub running_mean: Vec<f32>,
    pub running_var: Vec<f32>,
}

/// What a batch-norm pass keeps for its backward pass.
#[derive(Clone, Debug, Default)]
pub struct BnTape {
    /// `(x − μ)/√(σ² + ε)` per value.
    pub x_hat: Vec<f32>,
    /// `1/√(σ² + ε)` per channel.
    pub inv_std: Vec<f32>,
    /// Whether the statistics were the batch's (then the gradient also flows through them).
    pub batch_stats: bool,
    /// The batch's mean and unbiased variance (for the running statistics).
    pub mean: Vec<f32>,
    pub var_unbiased: Vec<f32>,
}

impl BatchNorm {
    pub fn new(ch: usize) -> BatchNorm {
        BatchNorm { gamma: vec![1.0; ch], beta: vec![0.0; ch], running_mean: vec![0.0; ch], running_var: vec![1.0; ch] }
    }

    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// `γ/√(running σ² + ε)` per channel: what folding multiplies a channel's weights by.
    pub fn fold_scale(&self) -> Vec<f32> {
        self.gamma.iter().zip(&self.running_var).map(|(g, v)| g / (v + BN_EPS).sqrt()).collect()
    }

    /// Normalizes `x` (rows of `channels`) in place; statistics in f64 over the rows, in order.
    pub fn forward(&self, x: &mut [f32], batch_stats: bool, tape: &mut BnTape) {
        let ch = self.channels();
        let rows = x.len() / ch.max(1);
        tape.batch_stats = batch_stats;
        if batch_stats {
            let mut mean = vec![0f64; ch];
            for row in x.chunks(ch) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += v as f64;
                }
            }
            mean.iter_mut().for_each(|m| *m /= rows.max(1) as f64);
            let mut var = vec![0f64; ch];
            for row in x.chunks(ch) {
                for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
                    *s += (v as f64 - m) * (v as f64 - m);
                }
            }
            tape.mean = mean.iter().map(|&m| m as f32).collect();
            tape.inv_std = var.iter().map(|&s| (1.0 / (s / rows.max(1) as f64 + BN_EPS as f64).sqrt()) as f32).collect();
            tape.var_unbiased = var.iter().map(|&s| (s / rows.saturating_sub(1).max(1) as f64) as f32).collect();
        } else {
            tape.mean = self.running_mean.clone();
            tape.inv_std = self.running_var.iter().map(|v| 1.0 / (v + BN_EPS).sqrt()).collect();
        }
        tape.x_hat.clear();
        tape.x_hat.reserve(x.len());
        for row in x.chunks_mut(ch) {
            for (c, v) in row.iter_mut().enumerate() {
                let h = (*v - tape.mean[c]) * tape.inv_std[c];
                tape.x_hat.push(h);
                *v = self.gamma[c] * h + self.beta[c];
            }
        }
    }

    /// Moves the running statistics toward the batch's (PyTorch's update, unbiased variance).
    pub fn update_running(&mut self, tape: &BnTape) {
        if !tape.batch_stats {
            return;
        }
        for c in 0..self.channels() {
            self.running_mean[c] = (1.0 - BN_MOMENTUM) * self.running_mean[c] + BN_MOMENTUM * tape.mean[c];
            self.running_var[c] = (1.0 - BN_MOMENTUM) * self.running_var[c] + BN_MOMENTUM * tape.var_unbiased[c];
        }
    }

    /// From the output's gradient `g` (overwritten with the input's): `dγ` and `dβ`. With batch
    /// statistics, `dx = γ·inv_std/N·(N·g − Σg − x̂·Σ(g·x̂))`.
    pub fn backward(&self, tape: &BnTape, g: &mut [f32], dgamma: &mut Vec<f32>, dbeta: &mut Vec<f32>) {
        let ch = self.channels();
        let rows = g.len() / ch.max(1);
        dgamma.clear();
        dgamma.resize(ch, 0.0);
        dbeta.clear();
        dbeta.resize(ch, 0.0);
        for (row, xh) in g.chunks(ch).zip(tape.x_hat.chunks(ch)) {
            for c in 0..ch {
                dbeta[c] += row[c];
                dgamma[c] += row[c] * xh[c];
            }
        }
        let n = rows.max(1) as f32;
        for (row, xh) in g.chunks_mut(ch).zip(tape.x_hat.chunks(ch)) {
            for c in 0..ch {
                let k = self.gamma[c] * tape.inv_std[c];
                row[c] = if tape.batch_stats { k / n * (n * row[c] - dbeta[c] - xh[c] * dgamma[c]) } else { k * row[c] };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wave(n: usize, f: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * f).sin()).collect()
    }

    /// Step of the central differences below.
    const FD_STEP: f32 = 1e-2;

    /// `f`'s central-difference derivative in `v[i]`.
    fn central_diff(v: &[f32], i: usize, f: impl Fn(&[f32]) -> f64) -> f64 {
        let (mut up, mut down) = (v.to_vec(), v.to_vec());
        up[i] += FD_STEP;
        down[i] -= FD_STEP;
        (f(&up) - f(&down)) / (2.0 * FD_STEP as f64)
    }

    /// Each kernel against a direct, unvectorized reading of its definition.
    #[test]
    fn patches_depthwise_and_pooling_follow_their_definitions() {
        let (plane, ch, batch) = (Plane { h: 4, w: 6 }, 3, 2);
        let x = wave(batch * plane.positions() * ch, 0.37);
        let at = |n: usize, y: isize, x0: isize, c: usize| -> f32 {
            if y < 0 || x0 < 0 || y >= plane.h as isize || x0 >= plane.w as isize {
                0.0
            } else {
                x[((n * plane.h + y as usize) * plane.w + x0 as usize) * ch + c]
            }
        };
        let mut cols = Vec::new();
        im2col(&x, batch, plane, ch, &mut cols);
        let w = wave(ch * 9, 0.11);
        let bias = [0.5f32, -0.25, 0.125];
        let mut dw = Vec::new();
        depthwise(&x, batch, plane, ch, &w, &bias, &mut dw);
        for n in 0..batch {
            for y in 0..plane.h {
                for x0 in 0..plane.w {
                    let p = y * plane.w + x0;
                    for c in 0..ch {
                        let mut s = bias[c];
                        for t in 0..9 {
                            let v = at(n, y as isize + (t / 3) as isize - 1, x0 as isize + (t % 3) as isize - 1, c);
                            assert_eq!(cols[(n * plane.positions() + p) * ch * 9 + c * 9 + t], v);
                            if v != 0.0 {
                                s += v * w[c * 9 + t];
                            }
                        }
                        assert_eq!(dw[(n * plane.positions() + p) * ch + c], s, "depthwise n{n} p{p} c{c}");
                    }
                }
            }
        }
        let (mut pooled, mut idx) = (Vec::new(), Vec::new());
        max_pool(&x, batch, plane, ch, &mut pooled, &mut idx);
        assert_eq!(pooled.len(), batch * 2 * 3 * ch);
        for n in 0..batch {
            for y in 0..2 {
                for x0 in 0..3 {
                    for c in 0..ch {
                        let m = [(0, 0), (0, 1), (1, 0), (1, 1)].iter().map(|&(a, b)| at(n, 2 * y + a, 2 * x0 + b, c)).fold(f32::NEG_INFINITY, f32::max);
                        let i = ((n * 2 + y as usize) * 3 + x0 as usize) * ch + c;
                        assert_eq!((pooled[i], x[idx[i] as usize]), (m, m));
                    }
                }
            }
        }
        // Integer codes take the same path.
        let xi: Vec<i32> = x.iter().map(|v| (v * 100.0) as i32).collect();
        let (mut pi, mut ii) = (Vec::new(), Vec::new());
        max_pool(&xi, batch, plane, ch, &mut pi, &mut ii);
        assert!(pi.iter().zip(&ii).all(|(&v, &i)| v == xi[i as usize]));
    }

    /// `<col2im(g), x> = <g, im2col(x)>`, and the depthwise and pooling gradients against finite
    /// differences of `Σ g·out` (exactly linear, or piecewise so, in `x` and `w`).
    #[test]
    fn backward_passes_are_adjoint_to_the_forward_ones() {
        let (plane, ch, batch) = (Plane { h: 4, w: 4 }, 2, 2);
        let n = batch * plane.positions() * ch;
        let x = wave(n, 0.53);
        let mut cols = Vec::new();
        im2col(&x, batch, plane, ch, &mut cols);
        let g = wave(cols.len(), 0.29);
        let mut back = Vec::new();
        col2im(&g, batch, plane, ch, &mut back);
        let lhs: f64 = back.iter().zip(&x).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = g.iter().zip(&cols).map(|(a, b)| (a * b) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-4, "{lhs} {rhs}");

        let w = wave(ch * 9, 0.71);
        let gout = wave(n, 0.19);
        let dot = |x: &[f32], w: &[f32]| {
            let mut out = Vec::new();
            depthwise(x, batch, plane, ch, w, &[0.0; 2], &mut out);
            out.iter().zip(&gout).map(|(a, b)| (a * b) as f64).sum::<f64>()
        };
        let (mut dw, mut dx) = (Vec::new(), Vec::new());
        depthwise_backward(&x, &gout, batch, plane, ch, &w, &mut dw, Some(&mut dx));
        assert_eq!((dw.len(), dx.len()), (w.len(), x.len()));
        for (i, &d) in dw.iter().enumerate() {
            let fd = central_diff(&w, i, |w| dot(&x, w));
            assert!((fd - d as f64).abs() < 1e-3, "dw[{i}]: {fd} {d}");
        }
        for (i, &d) in dx.iter().enumerate() {
            let fd = central_diff(&x, i, |x| dot(x, &w));
            assert!((fd - d as f64).abs() < 1e-3, "dx[{i}]: {fd} {d}");
        }
        let (mut pooled, mut idx) = (Vec::new(), Vec::new());
        max_pool(&x, batch, plane, ch, &mut pooled, &mut idx);
        let gp = wave(pooled.len(), 0.43);
        let dxp = max_pool_backward(&gp, &idx, n);
        assert!(idx.iter().zip(&gp).all(|(&i, &g)| dxp[i as usize] == g));
        assert_eq!(dxp.iter().filter(|v| **v != 0.0).count(), gp.iter().filter(|v| **v != 0.0).count());
        assert!((dxp.iter().sum::<f32>() - gp.iter().sum::<f32>()).abs() < 1e-5);
    }

    #[test]
    fn batch_norm_normalizes_and_its_gradient_matches_finite_differences() {
        let ch = 3;
        let x: Vec<f32> = wave(8 * ch, 0.77).iter().enumerate().map(|(i, v)| v * (1 + i % ch) as f32 + (i % ch) as f32).collect();
        let mut bn = BatchNorm::new(ch);
        bn.gamma = vec![1.5, 0.5, -1.0];
        bn.beta = vec![0.1, 0.0, -0.3];
        bn.running_mean = vec![0.2, 0.9, 2.1];
        bn.running_var = vec![0.4, 2.0, 5.0];
        let gout = wave(x.len(), 0.31);
        for batch_stats in [true, false] {
            let loss = |x: &[f32], bn: &BatchNorm| {
                let mut y = x.to_vec();
                bn.forward(&mut y, batch_stats, &mut BnTape::default());
                y.iter().zip(&gout).map(|(a, b)| (a * b) as f64).sum::<f64>()
            };
            let mut y = x.clone();
            let mut tape = BnTape::default();
            bn.forward(&mut y, batch_stats, &mut tape);
            if batch_stats {
                // Each channel comes out with mean β and standard deviation |γ|.
                for c in 0..ch {
                    let v: Vec<f64> = y.iter().skip(c).step_by(ch).map(|&v| v as f64).collect();
                    let m = v.iter().sum::<f64>() / 8.0;
                    let sd = (v.iter().map(|a| (a - m) * (a - m)).sum::<f64>() / 8.0).sqrt();
                    assert!((m - bn.beta[c] as f64).abs() < 1e-5 && (sd - bn.gamma[c].abs() as f64).abs() < 1e-3, "c{c}: {m} {sd}");
                }
            }
            let mut g = gout.clone();
            let (mut dg, mut db) = (Vec::new(), Vec::new());
            bn.backward(&tape, &mut g, &mut dg, &mut db);
            assert_eq!(g.len(), x.len());
            for (i, &d) in g.iter().enumerate() {
                let fd = central_diff(&x, i, |x| loss(x, &bn));
                assert!((fd - d as f64).abs() < 2e-3, "batch stats {batch_stats}, dx[{i}]: {fd} {d}");
            }
            for c in 0..ch {
                for (which, analytic) in [(0, dg[c]), (1, db[c])] {
                    let nudged = |d: f32| {
                        let mut b = bn.clone();
                        if which == 0 { b.gamma[c] += d } else { b.beta[c] += d }
                        loss(&x, &b)
                    };
                    let fd = (nudged(FD_STEP) - nudged(-FD_STEP)) / (2.0 * FD_STEP as f64);
                    assert!((fd - analytic as f64).abs() < 2e-3, "param {which} c{c}: {fd} {analytic}");
                }
            }
        }
        // The running statistics follow PyTorch's update (momentum 0.1, unbiased variance).
        let mut tape = BnTape::default();
        bn.forward(&mut x.clone(), true, &mut tape);
        let before = bn.clone();
        bn.update_running(&tape);
        let v0: Vec<f64> = x.iter().step_by(ch).map(|&v| v as f64).collect();
        let m0 = v0.iter().sum::<f64>() / 8.0;
        let unbiased = v0.iter().map(|a| (a - m0) * (a - m0)).sum::<f64>() / 7.0;
        assert!((bn.running_mean[0] as f64 - (0.9 * before.running_mean[0] as f64 + 0.1 * m0)).abs() < 1e-6);
        assert!((bn.running_var[0] as f64 - (0.9 * before.running_var[0] as f64 + 0.1 * unbiased)).abs() < 1e-5);
        // A constant channel: variance 0, ε keeps it finite.
        let mut flat = vec![2.0f32; 4 * ch];
        BatchNorm::new(ch).forward(&mut flat, true, &mut BnTape::default());
        assert!(flat.iter().all(|v| *v == 0.0));
    }
}
