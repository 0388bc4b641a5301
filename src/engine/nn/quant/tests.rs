//! Conversion and integer-only inference against the fake-quantized simulation, and requantization
//! against its reference, at the edges of every range.

use super::*;
use super::requant::*;

use crate::engine::nn::net::{Quant, Tape};
use proptest::prelude::*;

/// A dense layer of `multipliers.len()` outputs with this requantization.
fn requant_layer(multipliers: &[f64], bias: Vec<i32>, out_zero: i32, (lo, hi): (i32, i32)) -> IntLayer {
    let n = multipliers.len();
    IntLayer {
        kind: Kind::Dense,
        inputs: 1,
        outputs: n,
        w: vec![0; n],
        w_zero: vec![0],
        bias,
        multiplier: multipliers.iter().map(|&m| FixedMultiplier::from_real(m).unwrap()).collect(),
        in_zero: 0,
        out_zero,
        lo,
        hi,
        pool: false,
    }
}

/// `row`'s and both paths' codes for `values` (`bias + sum`), against `apply_once`. On a CPU
/// with AVX-512 `row` takes `requant_row_avx512` and `requant_row` the AVX2 copy, so both
/// are checked.
fn check_requant(ms: &[f64], values: &[i32], bias: &[i32], out_zero: i32, (lo, hi): (i32, i32)) -> Result<(), TestCaseError> {
    let n = ms.len();
    let layer = requant_layer(ms, bias[..n].to_vec(), out_zero, (lo, hi));
    let sums: Vec<i32> = values.iter().zip(bias).map(|(&v, &b)| v.wrapping_sub(b)).take(n).collect();
    let rq = Requant::new(&layer);
    let (mut out, mut exact, mut fast) = (vec![0i16; n], vec![0i16; n], vec![0i16; n]);
    rq.row(&sums, &mut out);
    rq.row_exact(&sums, &mut exact);
    prop_assert_eq!(&out, &exact);
    if rq.fast {
        requant_row(&rq, &sums, &mut fast);
        prop_assert_eq!(&fast, &exact);
    }
    for o in 0..n {
        let want = out_zero.saturating_add(layer.multiplier[o].apply_once(layer.bias[o].wrapping_add(sums[o]))).clamp(lo, hi) - out_zero;
        prop_assert_eq!(exact[o] as i32, want, "output {} of M {} and value {}", o, ms[o], values[o]);
    }
    Ok(())
}

/// Zero points and clamps as `convert` makes them: `bits` wide, with or without a ReLU.
fn code_range(bits: u32, zero: f64, relu: bool) -> (i32, (i32, i32)) {
    let qmax = (1i32 << bits) - 1;
    let out_zero = (zero * qmax as f64) as i32;
    (out_zero, (if relu { out_zero } else { 0 }, qmax))
}

proptest! {
    /// Every requantization equals `apply_once`, clamped, to the code: multipliers of any
    /// size (past the fast path's range too), sums of any size.
    #[test]
    fn requantization_rows_equal_apply_once(
        ms in prop::collection::vec(prop_oneof![1e-9f64..4.0, (1u32..64, 0i32..12).prop_map(|(k, j)| k as f64 / (1u32 << j) as f64), 1e3f64..1e9], 1..40),
        values in prop::collection::vec(prop_oneof![4 => -600i32..600, 1 => any::<i32>()], 40),
        bias in prop::collection::vec(-5000i32..5000, 40),
        zero in 0.0f64..1.0,
        bits in 2u32..9,
        relu: bool,
    ) {
        let (out_zero, clamp) = code_range(bits, zero, relu);
        check_requant(&ms, &values, &bias, out_zero, clamp)?;
    }

    /// The fast path over its whole range of multipliers, `[2⁻²², 1)`, some a few bits wide
    /// (`M·v` then often lands exactly on a tie), with values mostly where the clamp leaves
    /// `M·v` alone.
    #[test]
    fn the_fast_requantization_is_exact(
        ms in prop::collection::vec(prop_oneof![2.4e-7f64..1.0, (1u32..64, 6i32..22).prop_map(|(k, j)| k as f64 / (1u32 << j) as f64)], 1..40),
        scale in 0u32..22,
        values in prop::collection::vec(prop_oneof![4 => -600i32..600, 1 => any::<i32>()], 40),
        bias in prop::collection::vec(any::<i32>(), 40),
        zero in 0.0f64..1.0,
        bits in 2u32..9,
        relu: bool,
    ) {
        // Values as large as small multipliers need to reach the clamp.
        let values: Vec<i32> = values.iter().map(|&v| v.saturating_mul(1 << (scale / 2))).collect();
        let (out_zero, clamp) = code_range(bits, zero, relu);
        prop_assert!(Requant::new(&requant_layer(&ms, bias[..ms.len()].to_vec(), out_zero, clamp)).fast);
        check_requant(&ms, &values, &bias, out_zero, clamp)?;
    }
}

#[test]
fn requantization_hands_ties_to_integers() {
    // M = 1/2: every odd sum is a tie, rounded away from zero (f32 would round half to even).
    let layer = requant_layer(&[0.5; 6], vec![0; 6], 10, (0, 255));
    let mut out = vec![0i16; 6];
    Requant::new(&layer).row(&[1, 3, 5, -1, -3, 400], &mut out);
    assert_eq!(out, [1, 2, 3, -1, -2, 200]);
    // Clamped at both ends, to codes less the zero point.
    Requant::new(&layer).row(&[-1000, 1000, i32::MIN, i32::MAX, 0, 2], &mut out);
    assert_eq!(out, [-10, 245, -10, 245, 0, 1]);
}

fn sim_for(model: &Net, x: &[f32], batch: usize, wbits: u32, abits: u32, per_channel: bool) -> QuantSim {
    let a_range = QRange::with_bits(abits, true).unwrap();
    let mut obs = ActObservers::new(ObserverKind::MinMax, a_range, model.layers.len() + 1).unwrap();
    let weights = WeightQuant { range: QRange::with_bits(wbits, false).unwrap(), per_channel };
    let mut sim = obs.sim(weights);
    model.forward(x, batch, Quant::Sim(&mut sim, Some(&mut obs)), false, &mut Tape::default());
    obs.sim(weights)
}

/// The integer model's output codes against the simulation's, for `batch` samples.
fn agreement(model: &Net, x: &[f32], batch: usize, sim: &QuantSim) -> Agreement {
    let int = IntNet::convert(model, sim).unwrap();
    let classes = model.outputs();
    let mut tape = Tape::default();
    let mut s = sim.clone();
    model.forward(x, batch, Quant::Sim(&mut s, None), false, &mut tape);
    let out = *sim.outputs.last().unwrap();
    let sim_codes: Vec<Vec<i32>> = tape.output.chunks(classes).map(|row| row.iter().map(|&v| quantize_one(v, out, sim.act_range, Rounding::HalfEven, 0)).collect()).collect();
    let mut codes = Vec::new();
    int.quantize_input(x, &mut codes);
    let fast = int.run_batch(&codes, batch);
    assert_eq!(fast, int.run_batch_plain(&codes, batch), "the kernels against the plain loops");
    let int_codes: Vec<Vec<i32>> = fast.chunks(classes).map(<[i32]>::to_vec).collect();
    // One sample at a time gives the same codes (integers: any order sums alike).
    let features = model.inputs();
    let mut one = Vec::new();
    int.quantize_input(&x[features..2 * features], &mut one);
    assert_eq!(int.run_batch(&one, 1), int_codes[1]);
    Agreement::of(&int_codes, &sim_codes)
}

#[test]
fn integer_inference_agrees_with_the_simulation() {
    let mlp = Net::mlp(&[16, 32, 24, 5], Activation::Relu, 7).unwrap();
    let mut cnn = Net::cnn((4, 4), [6, 8], 5, Activation::Relu, 7).unwrap();
    // Batch norm with statistics of its own, folded as PTQ folds it.
    for layer in cnn.layers.iter_mut() {
        if let Some(bn) = layer.bn.as_mut() {
            for c in 0..bn.channels() {
                bn.gamma[c] = 0.5 + 0.2 * c as f32;
                bn.running_var[c] = 0.02 + 0.3 * c as f32;
                bn.running_mean[c] = 0.1 - 0.03 * c as f32;
            }
        }
    }
    let cnn = cnn.folded();
    let batch = 200;
    // Inputs from 0 (the input's zero point at the bottom of the range, as after a ReLU)
    // and from -0.3 (a zero point inside it: the input's levels are lifted off it).
    for shift in [0.0, -0.3] {
        let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 + shift).collect();
        for (name, model) in [("MLP", &mlp), ("CNN", &cnn)] {
            for (wbits, abits, per_channel) in [(8, 8, false), (8, 8, true), (4, 4, true), (2, 4, false)] {
                let sim = sim_for(model, &x, batch, wbits, abits, per_channel);
                let a = agreement(model, &x, batch, &sim);
                assert_eq!(a.samples, batch);
                // Both hold the same quantized bias; the integer model sums exactly and rounds
                // M·acc in fixed point, where the simulation sums in f32 (off by ~1e-6
                // relatively) and rounds that: a code near a rounding tie can land one step
                // apart, and carry on.
                assert!(a.max_code_diff <= 1, "{name} W{wbits}A{abits}, inputs from {shift}: {a:?}");
                // (From -0.3, W2A4's MLP has 184 of 200 identical: its 2-bit products leave
                // more sums near a tie.)
                let share = if shift == 0.0 { 95 } else { 90 };
                assert!(a.identical * 100 >= batch * share, "{name} W{wbits}A{abits}, inputs from {shift}: only {} of {batch} identical", a.identical);
            }
        }
    }
    let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
    assert!(IntNet::convert(&Net::cnn((4, 4), [2, 2], 3, Activation::Relu, 0).unwrap(), &sim_for(&mlp, &x, 4, 8, 8, false)).is_err(), "batch norm must be folded first");
}

#[test]
fn relu_is_folded_into_the_clamp() {
    let model = Net::mlp(&[3, 4, 2], Activation::Relu6, 1).unwrap();
    let x = [0.5f32, -1.0, 2.0, 3.0, 0.0, -2.0];
    let sim = sim_for(&model, &x, 2, 8, 8, false);
    let int = IntNet::convert(&model, &sim).unwrap();
    let hidden = &int.layers[0];
    assert_eq!(hidden.lo, hidden.out_zero.max(0));
    assert!(hidden.hi <= 255);
    assert_eq!((int.layers[1].lo, int.layers[1].hi), (0, 255), "logits keep the whole range");
}

#[test]
fn argmax_takes_the_first_of_ties() {
    assert_eq!(argmax_i32(&[1, 3, 3, 2]), 1);
    assert_eq!(argmax_i32(&[]), 0);
}
