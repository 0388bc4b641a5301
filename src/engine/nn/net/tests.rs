//! The networks' gradients against finite differences, batch-norm folding against the simulation,
//! and the edge cases of the activations, the loss and the weight grids.

use super::*;
use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};

/// Finite differences against the analytic gradient, parameter by parameter: central
/// differences with this step, compared within this tolerance (relative to the larger of the
/// two and [`FD_FLOOR`]). f32 throughout: the loss is accurate to ~1e-7, so the estimate to
/// ~1e-5.
const FD_STEP: f32 = 5e-3;
const FD_TOL: f32 = 2e-2;
/// Gradients below this are compared absolutely: the estimate's own noise is ~1e-5.
const FD_FLOOR: f32 = 1e-2;

/// Checks every parameter's gradient of `loss` (a forward pass of `m`) against the analytic
/// one `backward` gives after `forward`; returns how many were checked.
fn check_gradients(m: &mut Net, forward: &dyn Fn(&Net, &mut Tape), y: &[u8], what: &str) -> usize {
    let mut tape = Tape::default();
    forward(m, &mut tape);
    let mut grads = Grads::new();
    m.backward(&tape, y, &mut grads);
    let loss_of = |m: &Net| {
        let mut tape = Tape::default();
        forward(m, &mut tape);
        softmax_cross_entropy(&tape.output, y, m.outputs()).0
    };
    let mut checked = 0;
    for (p, grad) in grads.iter().enumerate() {
        for (i, &an) in grad.iter().enumerate() {
            let orig = m.params_mut().nth(p).unwrap()[i];
            m.params_mut().nth(p).unwrap()[i] = orig + FD_STEP;
            let up = loss_of(m);
            m.params_mut().nth(p).unwrap()[i] = orig - FD_STEP;
            let down = loss_of(m);
            m.params_mut().nth(p).unwrap()[i] = orig;
            let fd = (up - down) / (2.0 * FD_STEP);
            let scale = fd.abs().max(an.abs()).max(FD_FLOOR);
            assert!((fd - an).abs() / scale < FD_TOL, "{what}: param {p}[{i}]: fd {fd} analytic {an}");
            checked += 1;
        }
    }
    checked
}

fn wave(n: usize, f: f32, amp: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * f).sin() * amp).collect()
}

#[test]
fn mlp_gradients_match_finite_differences() {
    for act in [Activation::Relu, Activation::Relu6, Activation::None] {
        let mut m = Net::mlp(&[5, 7, 6, 4], act, 3).unwrap();
        let x = wave(3 * 5, 0.7, 2.0);
        let y = [0u8, 3, 1];
        let n = check_gradients(&mut m, &|m, t| m.forward(&x, 3, Quant::Float, false, t), &y, &format!("{act:?}"));
        assert_eq!(n, 5 * 7 + 7 + 7 * 6 + 6 + 6 * 4 + 4);
    }
}

/// A CNN small enough to check every parameter: 4×4 images, 2 and 3 channels, 3 classes.
fn small_cnn(act: Activation) -> (Net, Vec<f32>, [u8; 4]) {
    let mut m = Net::cnn((4, 4), [2, 3], 3, act, 5).unwrap();
    // Finite differences step over max pooling's kinks (two values of a window closer
    // than the step swap), so the checks run without it: its gradient has its own test
    // (`layers::tests`), which routes each pooled gradient to the value it took.
    m.layers[2].pool = false;
    m.layers[3] = dense(&mut StdRng::seed_from_u64(6), 16 * 3, 3, Activation::None);
    // Batch norm away from its identity start, so γ, β and the running statistics all count.
    for (l, layer) in m.layers.iter_mut().enumerate() {
        if let Some(bn) = layer.bn.as_mut() {
            for c in 0..bn.channels() {
                bn.gamma[c] = 0.8 + 0.3 * c as f32 + 0.1 * l as f32;
                bn.beta[c] = 0.2 - 0.15 * c as f32;
                bn.running_mean[c] = 0.05 * c as f32 - 0.02 * l as f32;
                bn.running_var[c] = 0.3 + 0.4 * c as f32;
            }
        }
    }
    (m, wave(4 * 16, 0.61, 1.5), [0, 2, 1, 2])
}

#[test]
fn cnn_gradients_match_finite_differences() {
    // Conv, depthwise, pointwise, batch norm (batch and running statistics), dense. Without
    // activations: batch norm centres every channel on 0, where finite differences would
    // step across ReLU's kink for many values (its gradient is checked on the MLP).
    {
        for batch_stats in [true, false] {
            let (mut m, x, y) = small_cnn(Activation::None);
            let n = check_gradients(&mut m, &|m, t| m.forward(&x, 4, Quant::Float, batch_stats, t), &y, &format!("batch stats {batch_stats}"));
            // conv 9·2 + γβ 2·2; depthwise 9·2 + 2·2; pointwise 2·3 + 2·3; dense 48·3 + 3.
            assert_eq!(n, 18 + 4 + 18 + 4 + 6 + 6 + 144 + 3);
        }
    }
}

// QAT's conv-batch-norm step (weights scaled by γ/σ, fake-quantized, the product scaled
// back, batch norm on it) is checked against PyTorch's `ConvBn2d` in tests/golden.rs:
// finite differences cannot see through fake-quantization, and with it the identity the
// path through γ/σ cancels exactly.

#[test]
fn folding_batch_norm_keeps_the_network_and_simulates_as_qat_trains() {
    let (m, x, _) = small_cnn(Activation::Relu);
    let f = m.folded();
    assert!(!f.has_batch_norm() && m.has_batch_norm());
    let (mut a, mut b) = (Tape::default(), Tape::default());
    m.forward(&x, 4, Quant::Float, false, &mut a);
    f.forward(&x, 4, Quant::Float, false, &mut b);
    for (p, q) in a.output.iter().zip(&b.output) {
        assert!((p - q).abs() < 1e-5, "{p} {q}");
    }
    // With frozen statistics, QAT's conv-batch-norm forward is the folded layer with the
    // folded weights' grid: the same fake-quantized weights, the output equal but for the
    // bias's int32 rounding and f32 order.
    let sim = QuantSim {
        weights: WeightQuant { range: QRange::with_bits(8, false).unwrap(), per_channel: false },
        act_range: QRange::with_bits(8, true).unwrap(),
        input: calculate_qparams(-1.5, 1.5, QScheme::Affine, QRange::with_bits(8, true).unwrap()),
        outputs: vec![calculate_qparams(0.0, 6.0, QScheme::Affine, QRange::with_bits(8, true).unwrap()); 4],
    };
    let (mut s1, mut s2) = (sim.clone(), sim.clone());
    m.forward(&x, 4, Quant::Sim(&mut s1, None), false, &mut a);
    f.forward(&x, 4, Quant::Sim(&mut s2, None), false, &mut b);
    assert_eq!(a.layers[1].weights, b.layers[1].weights);
    let step = sim.outputs[3].scale;
    for (p, q) in a.output.iter().zip(&b.output) {
        assert!((p - q).abs() <= step * 1.001, "{p} {q}");
    }
    let names: Vec<String> = m.tensors("m/").into_iter().map(|t| format!("{} {:?}", t.name, t.shape)).collect();
    assert_eq!(names[..3], ["m/layer0.weight [2, 1, 3, 3]", "m/layer0.bn.weight [2]", "m/layer0.bn.bias [2]"]);
    assert!(names.contains(&"m/layer1.folded.weight [2, 1, 3, 3]".to_string()) && names.contains(&"m/layer2.weight [3, 2, 1, 1]".to_string()));
    assert_eq!(names.last().unwrap(), "m/layer3.bias [3]");
    assert_eq!(Net::cnn((4, 4), [2, 3], 3, Activation::Relu, 5).unwrap().tensors("m/").last().unwrap().shape, [3]);
}

#[test]
fn running_statistics_follow_the_batches() {
    let (mut m, x, _) = small_cnn(Activation::Relu);
    let mut tape = Tape::default();
    for _ in 0..200 {
        m.forward(&x, 4, Quant::Float, true, &mut tape);
        m.update_batch_norm(&tape);
    }
    // After many identical batches the running statistics are the batch's (the variance
    // unbiased, as PyTorch keeps it).
    for (layer, t) in m.layers.iter().zip(&tape.layers) {
        if let Some(bn) = &layer.bn {
            for c in 0..bn.channels() {
                assert!((bn.running_mean[c] - t.bn.mean[c]).abs() < 1e-4, "{} {}", bn.running_mean[c], t.bn.mean[c]);
                assert!((bn.running_var[c] / t.bn.var_unbiased[c] - 1.0).abs() < 1e-4, "{} {}", bn.running_var[c], t.bn.var_unbiased[c]);
            }
        }
    }
}

#[test]
fn activations_follow_their_definitions_at_the_edges() {
    let inf = f32::INFINITY;
    for (z, relu, relu6) in [(-1.0, 0.0, 0.0), (-0.0, 0.0, 0.0), (0.5, 0.5, 0.5), (6.0, 6.0, 6.0), (7.5, 7.5, 6.0), (inf, inf, 6.0), (-inf, 0.0, 0.0), (f32::MIN_POSITIVE / 2.0, f32::MIN_POSITIVE / 2.0, f32::MIN_POSITIVE / 2.0)] {
        assert_eq!(Activation::Relu.apply(z).to_bits(), f32::to_bits(relu), "ReLU({z})");
        assert_eq!(Activation::Relu6.apply(z).to_bits(), f32::to_bits(relu6), "ReLU6({z})");
        assert_eq!(Activation::None.apply(z).to_bits(), z.to_bits());
    }
    // NaN: ReLU gives 0 (as `f32::max` did), ReLU6 keeps it (as `clamp` did).
    assert_eq!(Activation::Relu.apply(f32::NAN), 0.0);
    assert!(Activation::Relu6.apply(f32::NAN).is_nan());
}

#[test]
fn cross_entropy_is_stable_and_its_gradient_sums_to_zero() {
    let (loss, g) = softmax_cross_entropy(&[1000.0, 0.0, -1000.0], &[0], 3);
    assert!(loss.abs() < 1e-6 && g.iter().all(|v| v.is_finite()));
    let (loss, g) = softmax_cross_entropy(&[0.0; 4], &[2], 4);
    assert!((loss - 4f32.ln()).abs() < 1e-6);
    assert!(g.iter().sum::<f32>().abs() < 1e-6);
    assert_eq!(softmax_cross_entropy(&[], &[], 3).0, 0.0);
}

#[test]
fn a_fine_grid_simulates_float_and_passes_float_gradients() {
    // At 12 bits with observers that saw the data, fake-quantization barely moves anything:
    // the STE gradients are the float ones within the grid's resolution. (Not 16: the bias's
    // int32 step s_w·s_x would be too fine for int32 to hold the bias.)
    struct MinMaxOf;
    impl ActObserve for MinMaxOf {
        fn observe(&mut self, _: usize, v: &[f32]) -> QParams {
            let (lo, hi, _) = crate::engine::observer::finite_min_max(v);
            calculate_qparams(lo, hi, QScheme::Affine, QRange::with_bits(12, true).unwrap())
        }
    }
    let m = Net::mlp(&[4, 8, 3], Activation::Relu, 1).unwrap();
    let x: Vec<f32> = (0..2 * 4).map(|i| (i as f32).cos()).collect();
    let y = [2u8, 0];
    let (mut float, mut quant) = (Tape::default(), Tape::default());
    m.forward(&x, 2, Quant::Float, false, &mut float);
    let mut sim = QuantSim {
        weights: WeightQuant { range: QRange::with_bits(12, false).unwrap(), per_channel: true },
        act_range: QRange::with_bits(12, true).unwrap(),
        input: QParams::UNOBSERVED,
        outputs: vec![QParams::UNOBSERVED; 2],
    };
    let mut obs = MinMaxOf;
    m.forward(&x, 2, Quant::Sim(&mut sim, Some(&mut obs)), false, &mut quant);
    for (a, b) in float.output.iter().zip(&quant.output) {
        assert!((a - b).abs() < 1e-2, "{a} {b}");
    }
    let (mut gf, mut gq) = (Grads::new(), Grads::new());
    m.backward(&float, &y, &mut gf);
    m.backward(&quant, &y, &mut gq);
    // Except where the STE mask is off: symmetric signed codes put a channel's largest
    // positive weight at +127.5 steps (here 2047.5), which rounds past qmax and is clipped,
    // as in PyTorch (at most one weight per channel).
    let masks: Vec<&Vec<bool>> = quant.layers.iter().map(|t| &t.weight_mask).collect();
    for (l, mask) in masks.iter().enumerate() {
        for ((a, b), &k) in gf[2 * l].iter().zip(&gq[2 * l]).zip(mask.iter()) {
            assert!(if k { (a - b).abs() < 1e-2 } else { *b == 0.0 }, "{a} {b} {k}");
        }
    }
    assert!(masks.iter().map(|m| m.iter().filter(|k| !**k).count()).sum::<usize>() <= 8 + 3);
    // A coarse grid clips: where the STE mask is off, no gradient reaches the weight.
    let mut coarse = QuantSim { weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false }, ..sim.clone() };
    m.forward(&x, 2, Quant::Sim(&mut coarse, Some(&mut obs)), false, &mut quant);
    m.backward(&quant, &y, &mut gq);
    for (l, t) in quant.layers.iter().enumerate() {
        for (v, &kept) in gq[2 * l].iter().zip(&t.weight_mask) {
            assert!(kept || *v == 0.0, "layer {l}: a clipped weight got gradient {v}");
        }
    }
    assert!(quant.layers.iter().flat_map(|t| &t.weight_mask).any(|&k| !k), "2-bit symmetric codes clip the largest weights");
}

#[test]
fn a_tape_reused_for_a_float_pass_gives_float_gradients() {
    let m = Net::mlp(&[3, 5, 2], Activation::Relu, 4).unwrap();
    let x = [0.3f32, -0.7, 1.1, 0.9, 0.2, -0.4];
    let y = [1u8, 0];
    let mut fresh = Tape::default();
    m.forward(&x, 2, Quant::Float, false, &mut fresh);
    let mut reused = Tape::default();
    let mut sim = QuantSim {
        weights: WeightQuant { range: QRange::with_bits(2, false).unwrap(), per_channel: false },
        act_range: QRange::with_bits(2, true).unwrap(),
        input: QParams { scale: 0.5, zero_point: 1 },
        outputs: vec![QParams { scale: 0.5, zero_point: 1 }; 2],
    };
    m.forward(&x, 2, Quant::Sim(&mut sim, None), false, &mut reused);
    m.forward(&x, 2, Quant::Float, false, &mut reused);
    let (mut a, mut b) = (Grads::new(), Grads::new());
    m.backward(&fresh, &y, &mut a);
    m.backward(&reused, &y, &mut b);
    assert_eq!(a, b);
}

#[test]
fn the_share_near_the_grid_counts_each_channel_on_its_own_grid() {
    let wq = WeightQuant { range: QRange::with_bits(4, false).unwrap(), per_channel: true };
    // Two channels: on grids of step 0.1 and 0.001 (the largest at 7.5 steps, half a step
    // off, as symmetric min/max puts it); per tensor the second is all near 0 of a coarse grid.
    let mut w: Vec<f32> = (0..8).map(|k| (k as f32 - 4.0) * 0.1).collect();
    w[7] = 0.75;
    w.extend((0..8).map(|k| (k as f32 - 4.0) * 0.001 + 0.0003));
    w[15] = 0.0075;
    assert_eq!(wq.share_near_grid(&w, 8, 0.1), 7.0 / 16.0);
    let per_tensor = WeightQuant { per_channel: false, ..wq };
    assert_eq!(per_tensor.share_near_grid(&w, 8, 0.1), 15.0 / 16.0, "within a tenth of the coarse step");
    assert_eq!(wq.share_near_grid(&[], 8, 0.1), 0.0);
    assert_eq!(wq.share_near_grid(&[0.0; 4], 2, 0.1), 1.0, "zeros sit on every grid");
}

#[test]
fn the_share_recoded_counts_codes_that_moved_on_the_new_grid() {
    let wq = WeightQuant { range: QRange::with_bits(4, false).unwrap(), per_channel: false };
    // `after` spans ±0.75: a step of 0.1 (max/7.5). Of `before`, 0.04 rounds to 0 as 0.0
    // does, 0.26 to 3 against 0.2's 2, and −0.5 stays −5.
    let after = [0.0, 0.2, -0.5, 0.75];
    assert_eq!(wq.share_recoded(&[0.04, 0.26, -0.5, 0.75], &after, 2), 0.25);
    assert_eq!(wq.share_recoded(&after, &after, 2), 0.0);
    // Per channel, the second channel's grid is its own (step 0.001): 0.0004 → 0 and 0.0026
    // → 3 against 0.002's 2.
    let pc = WeightQuant { per_channel: true, ..wq };
    let after = [0.0, 0.75, 0.002, 0.0075];
    assert_eq!(pc.share_recoded(&[0.0, 0.75, 0.0026, 0.0075], &after, 2), 0.25);
    assert_eq!(wq.share_recoded(&[0.0, 0.75, 0.0026, 0.0075], &after, 2), 0.0, "per tensor both round to 0");
    assert_eq!(wq.share_recoded(&[], &[], 2), 0.0);
    assert_eq!(wq.share_recoded(&[0.1], &[0.1, 0.2], 2), 0.5, "a missing weight counts as changed");
}

#[test]
fn bad_shapes_are_errors() {
    assert!(Net::mlp(&[4], Activation::Relu, 0).is_err());
    assert!(Net::mlp(&[4, 0, 2], Activation::Relu, 0).is_err());
    assert!(Net::mlp(&[4, 5000, 2], Activation::Relu, 0).is_err());
    assert!(Net::cnn((7, 8), [8, 16], 10, Activation::Relu, 0).is_err());
    assert!(Net::cnn((8, 8), [0, 16], 10, Activation::Relu, 0).is_err());
    let m = Net::mlp(&[64, 128, 128, 10], Activation::Relu, 0).unwrap();
    assert_eq!((m.inputs(), m.outputs(), m.layers.len()), (64, 10, 3));
    assert_eq!(m.layers[2].act, Activation::None);
    let t = m.tensors("fp32/");
    assert_eq!(t.len(), 6);
    assert_eq!((t[0].name.as_str(), t[0].shape.as_slice()), ("fp32/layer0.weight", &[128, 64][..]));
    assert_eq!(t[5].data, m.layers[2].b);
    let c = Net::cnn((8, 8), [8, 16], 10, Activation::Relu, 0).unwrap();
    assert_eq!((c.inputs(), c.outputs()), (64, 10));
    assert_eq!(c.layers.iter().map(Layer::describe).collect::<Vec<_>>(), [
        "conv 3×3, 1 → 8, BN, ReLU",
        "depthwise 3×3, 8 → 8, BN, ReLU",
        "pointwise 1×1, 8 → 16, BN, ReLU, max pool 2×2",
        "dense, 256 → 10"
    ]);
}
