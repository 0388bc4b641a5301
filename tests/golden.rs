//! Golden tests: the engine against values made by PyTorch 2.15 (observers, qparams,
//! fake-quantization), NVIDIA's pytorch-quantization 2.1.3 (entropy calibration) and NumPy
//! (percentiles). The script that made them is tests/golden/make_goldens.py; its output,
//! tests/golden/goldens.json, is committed. The Lab's QAT step for its CNN is checked against
//! PyTorch's `ConvBn2d` with tests/golden/make_qat_cnn.py and its output qat_cnn.json.

use std::collections::HashMap;

use quantscope::engine::statistics::metrics::{measure, measure_per_channel};
use quantscope::engine::observer::{observe_batches, percentile_of, Common, Granularity, ObserverKind, Tails};
use quantscope::engine::quantizer::qparams::{DType, QParams, QRange, QScheme};
use quantscope::engine::quantizer::quantize::{fake_quantize_into, fake_quantize_per_channel_into};
use quantscope::engine::quantizer::rounding::Rounding;
use quantscope::engine::tensor::ChannelLayout;
use serde::Deserialize;

/// Scales agree to f32 round-off.
const SCALE_RTOL: f32 = f32::EPSILON;
/// SQNR agrees within 0.01 dB.
const SQNR_TOL_DB: f64 = 0.01;

#[derive(Deserialize)]
struct Data {
    shape: Vec<usize>,
    data: Vec<f32>,
}

#[derive(Deserialize)]
struct ObserverCase {
    name: String,
    observer: String,
    tensor: String,
    shape: Vec<usize>,
    dtype: String,
    granularity: String,
    scheme: String,
    ch_axis: Option<usize>,
    batch_axis: Option<usize>,
    reduce_range: bool,
    quant_range: Option<(i64, i64)>,
    averaging_constant: f32,
    bins: usize,
    quant_min: i32,
    quant_max: i32,
    min_val: Vec<f32>,
    max_val: Vec<f32>,
    scale: Vec<f32>,
    zero_point: Vec<i32>,
    fake_quant: Vec<f32>,
    sqnr_db: Option<f64>,
}

#[derive(Deserialize)]
struct EntropyCase {
    tensor: String,
    bits: u32,
    unsigned: bool,
    batch_axis: Option<usize>,
    amax: f32,
}

#[derive(Deserialize)]
struct PercentileCase {
    tensor: String,
    percentile: f64,
    abs: f32,
    low: f32,
    high: f32,
}

#[derive(Deserialize)]
struct Goldens {
    tensors: HashMap<String, Data>,
    observers: Vec<ObserverCase>,
    entropy: Vec<EntropyCase>,
    percentile: Vec<PercentileCase>,
}

fn goldens() -> Goldens {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/goldens.json")).expect("goldens.json");
    serde_json::from_str(&text).expect("valid goldens.json")
}

fn ulps(a: f32, b: f32) -> u32 {
    if a == b {
        0
    } else {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }
}

#[test]
fn observers_match_pytorch() {
    let g = goldens();
    assert!(g.observers.len() >= 50, "expected the full set of cases");
    let mut failures = Vec::new();
    for c in &g.observers {
        let t = &g.tensors[&c.tensor];
        assert_eq!(t.shape, c.shape);
        let dtype = if c.dtype == "quint8" { DType::QUInt8 } else { DType::QInt8 };
        let range = QRange::for_dtype(dtype, c.quant_range, c.reduce_range).unwrap();
        assert_eq!((range.qmin, range.qmax), (c.quant_min, c.quant_max), "{}: range", c.name);
        let scheme = if c.scheme == "affine" { QScheme::Affine } else { QScheme::Symmetric };
        let granularity = match c.granularity.as_str() {
            "per-channel" => Granularity::PerChannel { axis: c.ch_axis.unwrap() },
            _ => Granularity::PerTensor,
        };
        let kind = match c.observer.as_str() {
            "minmax" => ObserverKind::MinMax,
            "moving-average" => ObserverKind::MovingAverage { averaging_constant: c.averaging_constant },
            "histogram" => ObserverKind::Histogram { bins: c.bins },
            other => panic!("unknown observer {other}"),
        };
        let mut obs = kind.build(Common { scheme, range }, granularity).unwrap();
        observe_batches(obs.as_mut(), &t.data, &t.shape, c.batch_axis).unwrap();
        let r = obs.ranges();
        // The histogram observer re-bins through torch.linspace across batches (CPU-dependent
        // rounding): there the range must agree to within one histogram bin.
        let tol = if c.observer == "histogram" && c.batch_axis.is_some() {
            let (lo, hi) = t.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
            (hi - lo) / c.bins as f32
        } else {
            0.0
        };
        for (ours, theirs) in r.min.iter().chain(&r.max).zip(c.min_val.iter().chain(&c.max_val)) {
            if (ours - theirs).abs() > tol {
                failures.push(format!("{}: range {:?}..{:?}, PyTorch {:?}..{:?}", c.name, r.min, r.max, c.min_val, c.max_val));
                break;
            }
        }
        let params = obs.qparams();
        if tol == 0.0 {
            for (p, (s, z)) in params.iter().zip(c.scale.iter().zip(&c.zero_point)) {
                if (p.scale - s).abs() > SCALE_RTOL * s.abs() || p.zero_point != *z {
                    failures.push(format!("{}: qparams ({}, {}), PyTorch ({s}, {z})", c.name, p.scale, p.zero_point));
                    break;
                }
            }
        }
        // The kernels, with PyTorch's own parameters: bit for bit.
        let theirs: Vec<QParams> = c.scale.iter().zip(&c.zero_point).map(|(&scale, &zero_point)| QParams { scale, zero_point }).collect();
        let mut y = vec![0f32; t.data.len()];
        let metrics = match granularity {
            Granularity::PerTensor => {
                fake_quantize_into(&t.data, theirs[0], range, Rounding::HalfEven, &mut y);
                measure(&t.data, theirs[0], range)
            }
            Granularity::PerChannel { axis } => {
                let layout = ChannelLayout::new(&t.shape, axis, t.data.len()).unwrap();
                fake_quantize_per_channel_into(&t.data, layout, &theirs, range, Rounding::HalfEven, &mut y).unwrap();
                measure_per_channel(&t.data, layout, &theirs, range).unwrap()
            }
        };
        if let Some(i) = (0..y.len()).find(|&i| y[i].to_bits() != c.fake_quant[i].to_bits()) {
            failures.push(format!("{}: fake_quant[{i}] = {}, PyTorch {}", c.name, y[i], c.fake_quant[i]));
        }
        match (metrics.sqnr_db, c.sqnr_db) {
            (Some(a), Some(b)) if (a - b).abs() <= SQNR_TOL_DB => {}
            (Some(a), None) if a.is_infinite() => {}
            (a, b) => failures.push(format!("{}: SQNR {a:?}, PyTorch {b:?}", c.name)),
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), g.observers.len(), failures.join("\n"));
}

#[test]
fn entropy_matches_nvidia_calibrator() {
    let g = goldens();
    let mut failures = Vec::new();
    for c in &g.entropy {
        let (data, shape) = if c.tensor == "normal_batches" {
            (g.tensors["normal"].data.clone(), vec![4, 1024])
        } else {
            let t = &g.tensors[&c.tensor];
            (t.data.clone(), t.shape.clone())
        };
        let range = QRange::with_bits(c.bits, c.unsigned).unwrap();
        let mut obs = ObserverKind::Entropy { bins: 2048, start_bin: 128 }
            .build(Common { scheme: QScheme::Symmetric, range }, Granularity::PerTensor)
            .unwrap();
        observe_batches(obs.as_mut(), &data, &shape, c.batch_axis).unwrap();
        let r = obs.ranges();
        let absmax = data.iter().fold(0f32, |m, x| m.max(x.abs()));
        // One batch: the same edge. Several: within one bin (arange vs our f64 edges).
        let tol = if c.batch_axis.is_some() { absmax / 2048.0 } else { 0.0 };
        if (r.max[0] - c.amax).abs() > tol || (c.unsigned && r.min[0] != 0.0) || (!c.unsigned && r.min[0] != -r.max[0]) {
            failures.push(format!("{} ({} bits): range {:?}..{:?}, NVIDIA amax {}", c.tensor, c.bits, r.min, r.max, c.amax));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn percentiles_match_numpy() {
    let g = goldens();
    for c in &g.percentile {
        let x = &g.tensors[&c.tensor].data;
        let mut abs: Vec<f32> = x.iter().map(|v| v.abs()).collect();
        let mut raw = x.clone();
        let got = [
            percentile_of(&mut abs, c.percentile).unwrap(),
            percentile_of(&mut raw, 100.0 - c.percentile).unwrap(),
            percentile_of(&mut raw, c.percentile).unwrap(),
        ];
        for (ours, theirs) in got.iter().zip([c.abs, c.low, c.high]) {
            assert!(ulps(*ours, theirs) <= 1, "{} p{}: {ours} vs NumPy {theirs}", c.tensor, c.percentile);
        }
        // And through the observer.
        let common = Common { scheme: QScheme::Symmetric, range: QRange::QINT8 };
        let mut obs = ObserverKind::Percentile { percentile: c.percentile, tails: Tails::Both }.build(common, Granularity::PerTensor).unwrap();
        obs.observe(x, &[x.len()]).unwrap();
        assert!(ulps(obs.ranges().max[0], c.high) <= 1);
    }
}

#[derive(Deserialize)]
struct QatCnn {
    torch: String,
    x: Vec<f32>,
    y: Vec<u8>,
    weight_range: (i64, i64),
    act_range: (i64, i64),
    input_q: (f32, i32),
    output_q: (f32, i32),
    params: HashMap<String, HashMap<String, Vec<f32>>>,
    cases: Vec<QatCnnCase>,
}

#[derive(Deserialize)]
struct QatCnnCase {
    freeze_bn: bool,
    loss: f32,
    logits: Vec<f32>,
    grads: Vec<Vec<f32>>,
    running_mean: Vec<Vec<f32>>,
    running_var: Vec<Vec<f32>>,
}

/// Gradients agree to this, relative to the largest of their tensor: PyTorch's convolutions sum
/// in another order, and every result then goes through several layers in f32.
const GRAD_RTOL: f32 = 1e-4;

/// One QAT step of the Lab's CNN (conv-batch-norm with the weights folded before they are
/// fake-quantized, batch statistics or frozen ones, ReLU, fake-quantized activations, STE)
/// against PyTorch's `ConvBn2d` and `qat.Linear`: the logits, the loss, every parameter's
/// gradient and the running statistics after the step.
#[test]
fn qat_conv_batch_norm_matches_pytorch() {
    use quantscope::engine::nn::layers::BatchNorm;
    use quantscope::engine::nn::net::{Activation, Grads, Kind, Layer, Net, Quant, QuantSim, Tape, WeightQuant};
    let g: QatCnn = serde_json::from_str(include_str!("golden/qat_cnn.json")).unwrap();
    assert_eq!(g.torch, "2.15.0+cu132");
    let range = |(lo, hi): (i64, i64)| QRange::for_dtype(if lo < 0 { DType::QInt8 } else { DType::QUInt8 }, Some((lo, hi)), false).unwrap();
    for case in &g.cases {
        let mut net = Net::cnn((4, 4), [2, 3], 3, Activation::Relu, 0).unwrap();
        net.layers[2].pool = false;
        for (l, layer) in net.layers.iter_mut().enumerate().take(3) {
            let p = &g.params[&format!("layer{l}")];
            layer.w.clone_from(&p["weight"]);
            layer.bn = Some(BatchNorm { gamma: p["gamma"].clone(), beta: p["beta"].clone(), running_mean: p["running_mean"].clone(), running_var: p["running_var"].clone() });
        }
        let p = &g.params["layer3"];
        net.layers[3] = Layer { kind: Kind::Dense, inputs: 48, outputs: 3, w: p["weight"].clone(), b: p["bias"].clone(), bn: None, act: Activation::None, pool: false };
        let q = |(scale, zero_point): (f32, i32)| QParams { scale, zero_point };
        let mut sim = QuantSim {
            weights: WeightQuant { range: range(g.weight_range), per_channel: false },
            act_range: range(g.act_range),
            input: q(g.input_q),
            outputs: vec![q(g.output_q); 4],
        };
        let mut tape = Tape::default();
        net.forward(&g.x, 4, Quant::Sim(&mut sim, None), !case.freeze_bn, &mut tape);
        let what = if case.freeze_bn { "frozen batch norm" } else { "batch statistics" };
        assert_eq!(tape.output, case.logits, "{what}: logits");
        let mut grads = Grads::new();
        let loss = net.backward(&tape, &g.y, &mut grads);
        assert!((loss - case.loss).abs() <= 1e-6 * case.loss.abs(), "{what}: loss {loss} against {}", case.loss);
        assert_eq!(grads.len(), case.grads.len());
        for (k, (ours, theirs)) in grads.iter().zip(&case.grads).enumerate() {
            let scale = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                assert!((a - b).abs() <= GRAD_RTOL * scale, "{what}: gradient {k}[{i}]: {a} against PyTorch's {b}");
            }
        }
        if !case.freeze_bn {
            net.update_batch_norm(&tape);
        }
        for l in 0..3 {
            let bn = net.layers[l].bn.as_ref().unwrap();
            for (a, b) in bn.running_mean.iter().chain(&bn.running_var).zip(case.running_mean[l].iter().chain(&case.running_var[l])) {
                assert!((a - b).abs() <= 1e-6, "{what}: layer {l} running statistics {a} against {b}");
            }
        }
    }
}
