//! The optimizers, with PyTorch's update rules.

use serde::{Deserialize, Serialize};

/// Which optimizer, with its hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// `buf = μ·buf + g` (the first step: `buf = g`), `p −= lr·buf` (`torch.optim.SGD`).
    Sgd { lr: f32, momentum: f32 },
    /// `m = β₁m + (1 − β₁)g`, `v = β₂v + (1 − β₂)g²`, `p −= lr·m̂/(√v̂ + ε)` with the bias
    /// corrections `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)` (`torch.optim.Adam`, β = (0.9, 0.999),
    /// ε = 1e-8).
    Adam { lr: f32 },
}

impl OptimizerKind {
    pub fn lr(&self) -> f32 {
        match *self {
            OptimizerKind::Sgd { lr, .. } | OptimizerKind::Adam { lr } => lr,
        }
    }

    /// The same optimizer with learning rate `lr`.
    pub fn with_lr(self, lr: f32) -> OptimizerKind {
        match self {
            OptimizerKind::Sgd { momentum, .. } => OptimizerKind::Sgd { lr, momentum },
            OptimizerKind::Adam { .. } => OptimizerKind::Adam { lr },
        }
    }
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

/// An optimizer's state over a model's parameter tensors.
#[derive(Clone, Debug)]
pub struct Optimizer {
    kind: OptimizerKind,
    /// Per parameter tensor: momentum buffer (SGD) or first moment (Adam), and second moment.
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    steps: i32,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind) -> Optimizer {
        Optimizer { kind, first: Vec::new(), second: Vec::new(), steps: 0 }
    }

    /// One update of `params` (in a fixed order) by `grads` (the same order and shapes).
    pub fn step<'a>(&mut self, params: impl Iterator<Item = &'a mut Vec<f32>>, grads: &[&Vec<f32>]) {
        self.steps += 1;
        let t = self.steps;
        for (k, p) in params.enumerate() {
            let g = grads[k];
            if self.first.len() <= k {
                self.first.push(Vec::new());
                self.second.push(Vec::new());
            }
            let (m, v) = (&mut self.first[k], &mut self.second[k]);
            match self.kind {
                OptimizerKind::Sgd { lr, momentum } => {
                    if m.is_empty() {
                        m.extend_from_slice(g);
                    } else {
                        for (b, &gi) in m.iter_mut().zip(g.iter()) {
                            *b = flush_subnormal(momentum * *b + gi);
                        }
                    }
                    for (pi, &b) in p.iter_mut().zip(m.iter()) {
                        *pi -= lr * b;
                    }
                }
                OptimizerKind::Adam { lr } => {
                    m.resize(p.len(), 0.0);
                    v.resize(p.len(), 0.0);
                    // PyTorch's single-tensor Adam, operation for operation (save that subnormal
                    // moments become zero: `flush_subnormal`): the bias corrections in f64 (Python
                    // floats), applied to f32 tensors as f32 scalars; libm's pow, the same bits on
                    // every target.
                    let c1 = 1.0 - libm::pow(BETA1 as f64, t as f64);
                    let c2_sqrt = (1.0 - libm::pow(BETA2 as f64, t as f64)).sqrt() as f32;
                    let step_size = (lr as f64 / c1) as f32;
                    crate::engine::simd::dispatch!(adam_update(p, m, v, g, step_size, c2_sqrt));
                }
            }
        }
    }
}

/// Zero in place of a subnormal (below `f32::MIN_POSITIVE`, 1.2e-38, in magnitude), for the
/// optimizers' moments. A dead unit's gradients are zero, so its weights' moments decay
/// geometrically: after some 700 steps (over 30 epochs of the digits) they are subnormal, and Adam's
/// then stick there (`0.1·m` rounds to zero). Every operation on a subnormal takes a slow
/// microcode path on x86 (wasm has no flush-to-zero mode), which made the MLP's Adam step 7×
/// slower (0.45 → 3.1 ms an epoch in wasm). A flushed moment changes no weight that matters: a
/// subnormal one moves a weight by under 1.2e-29·lr (m/(√v̂ + ε) < 1.2e-38/1e-8, times a step
/// size of at most 10·lr), less than half a unit in the last place of any weight above 1e-21 at
/// learning rates up to 1. TensorFlow and XLA flush subnormals on CPU for the same reason;
/// PyTorch leaves it to `torch.set_flush_denormal`.
#[inline(always)]
fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
}

/// Adam's element-wise update (the divisions and square roots vectorize; on x86 eight lanes at a
/// time with AVX2, with the same correctly rounded results).
#[inline(always)]
fn adam_update(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], step_size: f32, c2_sqrt: f32) {
    for ((pi, (mi, vi)), &gi) in p.iter_mut().zip(m.iter_mut().zip(v.iter_mut())).zip(g.iter()) {
        *mi = flush_subnormal(*mi + (1.0 - BETA1) * (gi - *mi)); // exp_avg.lerp_(grad, 1 − β₁)
        *vi = flush_subnormal(*vi * BETA2 + (1.0 - BETA2) * gi * gi); // mul_(β₂).addcmul_(g, g, 1 − β₂)
        let denom = vi.sqrt() / c2_sqrt + EPS;
        *pi -= step_size * (*mi / denom); // addcdiv_(m, denom, −step_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Golden values from PyTorch 2.15.0 (CPU, float32), printed by:
    /// ```python
    /// import torch
    /// for name, opt in [("adam", lambda p: torch.optim.Adam([p], lr=0.1)),
    ///                   ("sgd", lambda p: torch.optim.SGD([p], lr=0.1, momentum=0.9))]:
    ///     p = torch.tensor([1.0, -2.0], requires_grad=True); o = opt(p)
    ///     for g in [[0.5, -1.0], [0.25, 2.0], [-1.0, 0.0]]:
    ///         p.grad = torch.tensor(g); o.step()
    ///     print(name, [float.hex(v) for v in p.tolist()], p.tolist())
    /// ```
    /// adam ['0x1.a7a34e0000000p-1', '-0x1.f7045c0000000p+0'] [0.82741779088974, -1.9649102687835693]
    /// sgd ['0x1.d581060000000p-1', '-0x1.0df3b60000000p+1'] [0.9169999957084656, -2.1089999675750732]
    const ADAM_GOLDEN: [f32; 2] = [0.827_417_8, -1.964_910_3];
    const SGD_GOLDEN: [f32; 2] = [0.917, -2.109];
    /// One f32 rounding apart at most (the products' order can differ from ATen's vector code).
    const ULPS: f32 = 2.0 * f32::EPSILON;

    #[test]
    fn moments_decaying_into_subnormals_are_flushed_without_moving_the_weights() {
        // One gradient, then none for 2,000 steps: a unit that died.
        for kind in [OptimizerKind::Adam { lr: 1e-3 }, OptimizerKind::Sgd { lr: 1e-3, momentum: 0.9 }] {
            let mut p = vec![0.25f32, -3.0, 1e-20];
            let mut o = Optimizer::new(kind);
            let (g, zero) = (vec![1e-3f32, -2.0, 1e-3], vec![0f32; 3]);
            o.step(std::iter::once(&mut p), &[&g]);
            // The reference without flushing, PyTorch's rule in plain f32.
            let (mut q, mut m, mut v) = (p.clone(), o.first[0].clone(), o.second[0].clone());
            for t in 2..=2000 {
                o.step(std::iter::once(&mut p), &[&zero]);
                for i in 0..3 {
                    match kind {
                        OptimizerKind::Adam { lr } => {
                            m[i] += (1.0 - BETA1) * (0.0 - m[i]);
                            v[i] *= BETA2;
                            let step = (lr as f64 / (1.0 - libm::pow(BETA1 as f64, t as f64))) as f32;
                            let c2 = (1.0 - libm::pow(BETA2 as f64, t as f64)).sqrt() as f32;
                            q[i] -= step * (m[i] / (v[i].sqrt() / c2 + EPS));
                        }
                        OptimizerKind::Sgd { lr, momentum } => {
                            m[i] *= momentum;
                            q[i] -= lr * m[i];
                        }
                    }
                }
            }
            assert!(m.iter().any(|x| x.is_subnormal()), "{kind:?}: the reference's moments decay into subnormals");
            assert!(o.first[0].iter().chain(&o.second[0]).all(|x| !x.is_subnormal()), "{kind:?}: {:?} {:?}", o.first[0], o.second[0]);
            assert_eq!(p[..2], q[..2], "{kind:?}: weights of ordinary size are the same to the bit");
            assert!((p[2] - q[2]).abs() <= 1e-30, "{kind:?}: {} vs {}", p[2], q[2]);
        }
    }

    #[test]
    fn updates_follow_pytorch() {
        let grads = [[0.5f32, -1.0], [0.25, 2.0], [-1.0, 0.0]];
        let run = |kind| {
            let mut p = vec![1.0f32, -2.0];
            let mut o = Optimizer::new(kind);
            for g in &grads {
                let g = g.to_vec();
                o.step(std::iter::once(&mut p), &[&g]);
            }
            p
        };
        for (kind, golden) in [(OptimizerKind::Adam { lr: 0.1 }, ADAM_GOLDEN), (OptimizerKind::Sgd { lr: 0.1, momentum: 0.9 }, SGD_GOLDEN)] {
            let got = run(kind);
            for (g, w) in got.iter().zip(golden) {
                assert!((g - w).abs() <= ULPS * w.abs(), "{kind:?}: {got:?} vs PyTorch {golden:?}");
            }
        }
    }
}
