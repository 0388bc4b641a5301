//! Running ONNX models through the engine (tract underneath): what a run returns, what
//! calibration sees, and the messages for models and inputs that do not work.

mod models;

use prost::Message;
use quantscope::engine::io::onnx::{self, ModelProto, NodeProto};
use quantscope::engine::model::calibrate::{Calibration, PerTensorOrChannel, Settings};
use quantscope::engine::model::{Dataset, Dim, Model, ModelError, Runner, Runners};
use quantscope::engine::observer::{Common, ObserverKind};
use quantscope::engine::quantizer::qparams::{DType, QRange, QScheme};
use quantscope::engine::tensor::Tensor;

fn input(shape: &[usize], f: impl Fn(usize) -> f32) -> Tensor {
    let n = shape.iter().product();
    Tensor { name: "x".into(), shape: shape.to_vec(), data: (0..n).map(f).collect(), stored_as: "f32".into() }
}

fn settings(per_channel: bool) -> Settings {
    Settings {
        observer: ObserverKind::MinMax,
        common: Common { scheme: QScheme::Affine, range: QRange::for_dtype(DType::QUInt8, None, false).unwrap() },
        per_channel,
    }
}

#[test]
fn a_run_gives_outputs_and_every_activation_in_graph_order() {
    let model = Model::read("tiny.onnx", &models::tiny_cnn()).unwrap();
    assert_eq!(model.inputs.len(), 1);
    assert_eq!(model.inputs[0].dims, Some(vec![Dim::Named("batch".into()), Dim::Fixed(1), Dim::Fixed(8), Dim::Fixed(8)]));
    assert_eq!(model.inputs[0].default_shape(), vec![1, 1, 8, 8]);
    let runner = Runner::new(&model, &[vec![2, 1, 8, 8]], true).unwrap();
    let names: Vec<&str> = runner.activations.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["conv_out", "bn_out", "relu_out", "pool_out", "flat", "logits", "probs"]);
    let ops: Vec<&str> = runner.activations.iter().map(|a| a.op.as_str()).collect();
    assert_eq!(ops, ["Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Gemm", "Softmax"]);
    assert_eq!(runner.activations[0].shape, vec![2, 4, 8, 8]);
    let out = runner.run(&[input(&[2, 1, 8, 8], |i| (i as f32 * 0.37).sin())]).unwrap();
    assert_eq!(out.outputs[0].shape, vec![2, 3]);
    for row in out.outputs[0].data.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5, "softmax rows sum to 1: {row:?}");
    }
    // The last activation is the output itself; Relu's is non-negative; BN's is Conv's, affinely.
    assert_eq!(out.activations[6].data, out.outputs[0].data);
    assert!(out.activations[2].data.iter().all(|&v| v >= 0.0));
    let (conv, bn) = (&out.activations[0].data, &out.activations[1].data);
    assert!(conv.iter().zip(bn).any(|(c, b)| c != b));
    // A plain runner gives the same outputs and no activations.
    let plain = Runner::new(&model, &[vec![2, 1, 8, 8]], false).unwrap();
    let p = plain.run(&[input(&[2, 1, 8, 8], |i| (i as f32 * 0.37).sin())]).unwrap();
    assert!(p.activations.is_empty());
    assert_eq!(p.outputs[0].data, out.outputs[0].data);
}

#[test]
fn calibration_follows_the_batches() {
    let model = Model::read("tiny.onnx", &models::tiny_cnn()).unwrap();
    let x = input(&[5, 1, 8, 8], |i| ((i * 7919) % 101) as f32 / 10.0 - 5.0);
    let data = Dataset::new(&model, vec![x.clone()]).unwrap();
    assert_eq!((data.samples(), data.batch_count(2)), (5, 3));
    assert_eq!(data.batch(2, 2)[0].shape, vec![1, 1, 8, 8]);
    let mut runners = Runners::new(true);
    let mut per_tensor = Calibration::new(&settings(false)).unwrap();
    let mut per_channel = Calibration::new(&settings(true)).unwrap();
    let (mut tensor_runners, mut channel_runners) = (per_tensor.runners(), per_channel.runners());
    let mut conv_lo = f32::INFINITY;
    let mut conv_hi = f32::NEG_INFINITY;
    for i in 0..3 {
        let b = data.batch(i, 2);
        let out = runners.for_inputs(&model, &b).unwrap().run(&b).unwrap();
        for &v in &out.activations[0].data {
            conv_lo = conv_lo.min(v);
            conv_hi = conv_hi.max(v);
        }
        // The tapped runs give the model's outputs, as a capturing run does (to round-off: the
        // taps change what tract can fuse).
        let tapped = per_tensor.run(tensor_runners.for_inputs(&model, &b).unwrap(), &b).unwrap();
        assert_eq!(tapped.outputs[0].shape, out.outputs[0].shape);
        assert!(tapped.outputs[0].data.iter().zip(&out.outputs[0].data).all(|(a, b)| (a - b).abs() <= 1e-6));
        assert!(tapped.activations.is_empty());
        per_channel.run(channel_runners.for_inputs(&model, &b).unwrap(), &b).unwrap();
    }
    assert_eq!(per_tensor.batches(), 3);
    let t = per_tensor.ranges();
    assert_eq!((t[0].min_val, t[0].max_val), (conv_lo, conv_hi), "MinMax over all three batches");
    assert_eq!(t[0].abs_max, conv_lo.abs().max(conv_hi));
    assert!(matches!(t[0].scale, PerTensorOrChannel::Tensor(s) if s > 0.0));
    let c = per_channel.ranges();
    assert_eq!(c[1].ch_axis, Some(1));
    let PerTensorOrChannel::Channel(scales) = &c[1].scale else { panic!("per channel") };
    assert_eq!(scales.len(), 4);
    // bn.g spans 0.5 to 50: the channels' ranges differ widely.
    assert!(c[1].channel_range_ratio.unwrap() > 10.0, "{:?}", c[1].channel_range_ratio);
    assert_eq!((c[1].min_val, c[1].max_val), (t[1].min_val, t[1].max_val), "the channels' envelope is the tensor's range");
}

#[test]
fn bad_inputs_are_named() {
    let model = Model::read("tiny.onnx", &models::tiny_cnn()).unwrap();
    let runner = Runner::new(&model, &[vec![1, 1, 8, 8]], false).unwrap();
    let e = runner.run(&[input(&[1, 1, 8, 8], |i| if i == 5 { f32::NAN } else { 0.0 })]).unwrap_err();
    assert_eq!(e.to_string(), "tiny.onnx: input “x”: value 5 is NaN; inputs must be finite");
    let e = runner.run(&[input(&[2, 1, 8, 8], |_| 0.0)]).unwrap_err();
    assert!(e.to_string().contains("has shape [2, 1, 8, 8], the model was prepared for [1, 1, 8, 8]"), "{e}");
    let e = Runner::new(&model, &[vec![1, 3, 8, 8]], false).unwrap_err();
    assert_eq!(e.to_string(), "tiny.onnx: input “x”: shape [1, 3, 8, 8] does not fit the declared [batch, 1, 8, 8]");
    let e = Dataset::new(&model, vec![input(&[1, 1, 8, 8], |_| 0.0), Tensor { name: "y".into(), ..input(&[1], |_| 0.0) }]).unwrap_err();
    assert_eq!(e.to_string(), "tiny.onnx: the array “y” matches no input (the model's inputs: x)");
    let e = Dataset::new(&model, vec![]).unwrap_err();
    assert_eq!(e.to_string(), "tiny.onnx: input “x”: no array for it (given: none)");
}

#[test]
fn bad_models_are_named() {
    let bytes = models::tiny_cnn();
    let e = Model::read("cut.onnx", &bytes[..bytes.len() / 2]).unwrap_err();
    assert!(e.to_string().starts_with("cut.onnx: not a valid ONNX model"), "{e}");
    let mut proto = ModelProto::decode(&bytes[..]).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    // An operator tract does not know: the message names the node and its op.
    graph.node[2] = NodeProto { op_type: "FancyRelu".into(), name: "fancy".into(), ..graph.node[2].clone() };
    let m = Model::read("odd.onnx", &proto.encode_to_vec()).unwrap();
    let e = Runner::new(&m, &[vec![1, 1, 8, 8]], true).unwrap_err();
    match &e {
        ModelError::Node { node, op, .. } => {
            assert_eq!((node.as_str(), op.as_str()), ("fancy", "FancyRelu"), "{e}")
        }
        other => panic!("expected a node error, got {other}"),
    }
    // A batch norm fed a constant without a channel axis: refused before tract's shape inference
    // reads past a slice.
    let mut flat = ModelProto::decode(&bytes[..]).unwrap();
    flat.graph.as_mut().unwrap().node[1].input[0] = "conv.b".into();
    let m = Model::read("bn.onnx", &flat.encode_to_vec()).unwrap();
    let e = Runner::new(&m, &[vec![1, 1, 8, 8]], false).unwrap_err();
    assert_eq!(e.to_string(), "bn.onnx: node “bn” (BatchNormalization): needs a data input with a channel axis and four parameters");
    // No inputs.
    let mut none = ModelProto::decode(&bytes[..]).unwrap();
    none.graph.as_mut().unwrap().input.clear();
    assert_eq!(Model::read("n.onnx", &none.encode_to_vec()).unwrap_err().to_string(), "n.onnx: the model has no inputs to feed");
}

#[test]
fn weights_inside_if_branches_are_read_and_a_model_tract_cannot_run_is_named() {
    let bytes = std::fs::read(models::real("silero-vad")).unwrap();
    let weights = onnx::read("silero.onnx", &bytes, false).unwrap();
    // Silero keeps its weights in the branches of its top-level If (16 kHz and 8 kHz models).
    let in_branches = weights.iter().filter(|t| t.name.contains(".then_branch/") || t.name.contains(".else_branch/")).count();
    assert!(in_branches >= 20, "{in_branches} weights in branches of {}", weights.len());
    assert!(weights.iter().any(|t| t.shape.len() == 3 && t.data.len() > 10_000), "a conv weight among them");
    let model = Model::read("silero.onnx", &bytes).unwrap();
    let names: Vec<&str> = model.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["input", "state", "sr"]);
    let e = Runner::new(&model, &[vec![1, 512], vec![2, 1, 128], vec![]], false).unwrap_err();
    let ModelError::Node { node, .. } = &e else { panic!("expected a node error, got {e}") };
    assert!(node.starts_with("If_0"), "{e}");
}
