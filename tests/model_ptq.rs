//! PTQ simulation of ONNX models: batch-norm folding keeps the model's function, the fake-quant
//! op in tract's graph is the engine's quantizer to the bit, and the reports tell per tensor
//! from per channel where the folded channels differ widely.

mod models;

use quantscope::engine::io::onnx::{fold::fold_batch_norms, ModelProto};
use quantscope::engine::model::ptq::fakequant::FakeQuant;
use quantscope::engine::model::ptq::{simulate, Settings};
use quantscope::engine::model::{Dataset, Model, Runner};
use quantscope::engine::observer::ObserverKind;
use quantscope::engine::quantizer::qparams::{DType, QParams, QRange};
use quantscope::engine::quantizer::quantize::fake_quantize;
use quantscope::engine::tensor::Tensor;
use prost::Message;

/// Folding changes the order of float operations: outputs agree to this, relative to their size.
const FOLD_RTOL: f32 = 1e-5;

fn x(n: usize) -> Tensor {
    let data = (0..n * 64).map(|i| ((i * 7919 % 211) as f32 / 105.0 - 1.0) * 2.0).collect();
    Tensor { name: "x".into(), shape: vec![n, 1, 8, 8], data, stored_as: "f32".into() }
}

fn settings(weight_bits: u32, per_channel: bool, act_bits: Option<u32>) -> Settings {
    Settings { weight_bits, per_channel, act_bits, act_observer: ObserverKind::MinMax, fold_bn: true }
}

#[test]
fn folding_keeps_the_function_and_drops_the_batch_norm() {
    let bytes = models::tiny_cnn();
    let model = Model::read("tiny.onnx", &bytes).unwrap();
    let mut proto = ModelProto::decode(&bytes[..]).unwrap();
    let folded = fold_batch_norms("tiny.onnx", proto.graph.as_mut().unwrap()).unwrap();
    assert_eq!(folded.len(), 1);
    let folded_model = Model::from_proto("tiny.onnx", proto).unwrap();
    assert!(!folded_model.nodes.iter().any(|n| n.op == "BatchNormalization"));
    let conv = folded_model.nodes.iter().find(|n| n.op == "Conv").unwrap();
    assert_eq!(conv.outputs, ["bn_out"], "the conv now makes the batch norm's output");
    let a = Runner::new(&model, &[vec![3, 1, 8, 8]], true).unwrap().run(&[x(3)]).unwrap();
    let b = Runner::new(&folded_model, &[vec![3, 1, 8, 8]], true).unwrap().run(&[x(3)]).unwrap();
    let (bn_a, bn_b) = (&a.activations[1].data, &b.activations[0].data);
    let scale = bn_a.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(bn_a.iter().zip(bn_b).all(|(p, q)| (p - q).abs() <= FOLD_RTOL * scale));
    assert!(a.outputs[0].data.iter().zip(&b.outputs[0].data).all(|(p, q)| (p - q).abs() <= FOLD_RTOL));
}

#[test]
fn the_graph_fake_quant_is_the_engines_to_the_bit() {
    let model = Model::read("tiny.onnx", &models::tiny_cnn()).unwrap();
    let float = Runner::new(&model, &[vec![2, 1, 8, 8]], true).unwrap().run(&[x(2)]).unwrap();
    let range = QRange::for_dtype(DType::QUInt8, Some((0, 15)), false).unwrap();
    let params = QParams { scale: 0.173, zero_point: 6 };
    let fq = FakeQuant { params, range };
    // Quantize the input and the Relu's output: the captured Relu output is fake-quantized, and
    // so is what the pool reads.
    let q = Runner::with_fake_quant(&model, &[vec![2, 1, 8, 8]], true, &[("relu_out".into(), fq.clone())]).unwrap().run(&[x(2)]).unwrap();
    assert_eq!(q.activations[2].data, fake_quantize(&float.activations[2].data, params, range));
    assert_eq!(q.activations[1].data, float.activations[1].data, "values before the quantizer are untouched");
    let pooled: Vec<f32> = q.activations[2].data.chunks(64).map(|c| c.iter().sum::<f32>() / 64.0).collect();
    for (p, e) in q.activations[3].data.iter().zip(&pooled) {
        assert!((p - e).abs() <= 1e-5 * e.abs().max(1.0), "the pool reads the fake-quantized values: {p} vs {e}");
    }
}

#[test]
fn per_channel_weights_beat_per_tensor_where_folded_channels_differ() {
    let model = Model::read("tiny.onnx", &models::tiny_cnn()).unwrap();
    let data = Dataset::new(&model, vec![x(8)]).unwrap();
    let labels: Vec<usize> = (0..8).map(|i| i % 3).collect();
    let run = |s: Settings| simulate(&model, &data, &data, 4, Some(&labels), &s).unwrap();
    let tensor = run(settings(4, false, None));
    let channel = run(settings(4, true, None));
    let wide = run(settings(16, false, None));
    // The logits (the softmax flattens differences in its output).
    let logits = |r: &quantscope::engine::model::ptq::Report| r.layers.iter().find(|l| l.name == "logits").unwrap().cumulative_sqnr_db.unwrap();
    let (t, c, w) = (logits(&tensor), logits(&channel), logits(&wide));
    // bn.g spans 0.5 to 50: per tensor, the small channels round to almost nothing (the
    // logits, dominated by the large channel, show it less than the weights below do).
    assert!(c > t, "per channel {c:.1} dB, per tensor {t:.1} dB");
    assert!(w > 60.0, "16-bit weights: {w:.1} dB");
    assert_eq!(tensor.folded, 1);
    let conv = tensor.layers.iter().find(|l| l.op == "Conv").unwrap();
    let conv_c = channel.layers.iter().find(|l| l.op == "Conv").unwrap();
    // Whole-tensor SQNR is dominated by the largest channel, so it moves less than the small
    // channels do; it still moves the right way.
    assert!(conv_c.weight_sqnr_db.unwrap() > conv.weight_sqnr_db.unwrap());
    assert_eq!(tensor.fp32_accuracy, channel.fp32_accuracy);
    assert!(tensor.layers.iter().all(|l| !l.act_quantized), "weights only");
    // With activations: the Conv's output is fused with its Relu, so the Relu's is quantized.
    let full = run(settings(8, true, Some(8)));
    let quantized: Vec<&str> = full.layers.iter().filter(|l| l.act_quantized).map(|l| l.name.as_str()).collect();
    assert_eq!(quantized, ["relu_out", "pool_out", "logits"]);
    assert!(logits(&full) < logits(&wide), "8-bit activations cost more than 16-bit weights alone");
    assert!((0.0..=1.0).contains(&full.top1_agreement));
}

/// The MobileNet story on a real MobileNetV3 (PaddleOCR's text-direction classifier), batch norm
/// folded: per-tensor 8-bit weights lose much more than per-channel ones, and the layers to blame
/// are the folded depthwise convolutions.
#[test]
fn a_real_mobilenet_needs_per_channel_weights() {
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let model = Model::read("cls.onnx", &bytes).unwrap();
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/onnx/ppocr-cls-v2_input.npy");
    let x = quantscope::engine::io::load("in.npy", &std::fs::read(input).unwrap(), Default::default()).unwrap();
    let data = Dataset::new(&model, x).unwrap();
    let run = |per_channel| simulate(&model, &data, &data, 2, None, &settings(8, per_channel, None)).unwrap();
    let (tensor, channel) = (run(false), run(true));
    let (t, c) = (tensor.output_sqnr_db.unwrap(), channel.output_sqnr_db.unwrap());
    assert!(c > t + 10.0, "per channel {c:.1} dB, per tensor {t:.1} dB");
    assert!(tensor.folded >= 30, "{} batch norms folded", tensor.folded);
    // The worst weight per tensor is a depthwise conv's (its folded channels differ the most).
    let worst = tensor.layers.iter().filter(|l| l.weight_sqnr_db.is_some()).min_by(|a, b| a.weight_sqnr_db.partial_cmp(&b.weight_sqnr_db).unwrap()).unwrap();
    let conv = model.nodes.iter().find(|n| n.name == worst.node).unwrap();
    assert!(conv.op == "Conv" && model.proto.graph.as_ref().unwrap().node.iter().any(|n| n.name == worst.node && n.attribute.iter().any(|a| a.name == "group" && a.i > 1)), "worst weight {} ({:?} dB) is not a depthwise conv", worst.node, worst.weight_sqnr_db);
    assert!(worst.weight_sqnr_db.unwrap() < 30.0, "{:?}", worst.weight_sqnr_db);
    // With activations too: the first conv reads the model input, so run alone it sees what it
    // sees in the quantized model: local and cumulative agree. Later layers inherit error.
    let full = simulate(&model, &data, &data, 2, None, &settings(8, true, Some(8))).unwrap();
    let first = full.layers.iter().find(|l| l.weight_sqnr_db.is_some()).unwrap();
    assert!((first.local_sqnr_db.unwrap() - first.cumulative_sqnr_db.unwrap()).abs() < 1e-6, "{first:?}");
    let later: Vec<_> = full.layers.iter().filter(|l| l.weight_sqnr_db.is_some()).skip(5).collect();
    let inherited = later.iter().filter(|l| l.local_sqnr_db.unwrap() > l.cumulative_sqnr_db.unwrap()).count();
    assert!(inherited * 10 >= later.len() * 9, "{inherited} of {} later layers lose more with their inputs' error", later.len());
}
