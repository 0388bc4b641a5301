//! The model worker's service natively: files handed over, a model read, calibrated and
//! quantized on pictures in steps, with the same numbers as the engine (and so the CLI) gives on
//! the same data; a cancel between steps; and the messages for what cannot work.

mod models;

use std::cell::RefCell;

use prost::Message;
use quantscope::engine::io::onnx::{ModelProto, NodeProto};
use quantscope::engine::model::calibrate::{Calibration, Settings};
use quantscope::engine::model::images::{self, Preprocess, Preset};
use quantscope::engine::model::ptq::{simulate, Settings as PtqSettings};
use quantscope::engine::model::{Dataset, Model};
use quantscope::engine::observer::{Common, ObserverKind};
use quantscope::engine::quantizer::qparams::{QRange, QScheme};
use quantscope::worker::model::{Data, FileData, ModelInput, ModelOutput, ModelResult, ModelSpec, Models, Stage};
use quantscope::worker::{serve, Input, Output};

/// Six text-like pictures in two class folders (`up/`, `down/`), as the CLI test's.
fn pictures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (class, flip) in [("up", false), ("down", true)] {
        for k in 0..3u32 {
            let img = image::RgbImage::from_fn(192, 48, |x, y| {
                let y = if flip { 47 - y } else { y };
                let glyph = (4..14).contains(&y) && (x / 6 + k) % 3 != 0 && x > 8 && x < 180;
                if glyph { image::Rgb([20, 20, 30]) } else { image::Rgb([230, 225, 215 - 10 * k as u8]) }
            });
            let mut bytes = std::io::Cursor::new(Vec::new());
            img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
            out.push((format!("{class}/{k}.png"), bytes.into_inner()));
        }
    }
    out
}

/// Serves `inputs` to a fresh model worker; `react` may answer an output with more inputs (or
/// end the session with `None`).
fn session(inputs: Vec<ModelInput>, react: impl Fn(&ModelOutput) -> Option<Vec<ModelInput>>) -> Vec<ModelOutput> {
    let (tx, rx) = futures::channel::mpsc::unbounded();
    for i in inputs {
        tx.unbounded_send(i).unwrap();
    }
    let tx = RefCell::new(Some(tx));
    let out = RefCell::new(Vec::new());
    futures::executor::block_on(serve(&mut Models::default(), rx, |o| {
        match react(&o) {
            Some(more) => more.into_iter().for_each(|i| tx.borrow().as_ref().unwrap().unbounded_send(i).unwrap()),
            None => drop(tx.borrow_mut().take()),
        }
        out.borrow_mut().push(o);
        true
    }));
    out.into_inner()
}

fn load(key: u64, name: &str, bytes: Vec<u8>) -> ModelInput {
    Input::Load { key, data: FileData { name: name.into(), bytes } }
}

fn minmax() -> Settings {
    Settings { observer: ObserverKind::MinMax, common: Common { scheme: QScheme::Affine, range: QRange::with_bits(8, true).unwrap() }, per_channel: false }
}

#[test]
fn reads_calibrates_and_quantizes_a_real_model_as_the_engine_does() {
    let path = models::real("ppocr-cls-v2");
    let bytes = std::fs::read(&path).unwrap();
    let pics = pictures();
    let pre = Preprocess::preset(Preset::MinusOneOne, (48, 192));
    let keys: Vec<u64> = (10..10 + pics.len() as u64).collect();
    let mut inputs = vec![load(1, "ppocr-cls-v2.onnx", bytes.clone())];
    inputs.extend(pics.iter().zip(&keys).map(|((n, b), &k)| load(k, n, b.clone())));
    let data = Data::Pictures { files: keys.clone(), preprocess: pre.clone() };
    let ptq = PtqSettings { weight_bits: 8, per_channel: false, act_bits: Some(8), act_observer: ObserverKind::MinMax, fold_bn: true };
    inputs.push(Input::Start { id: 1, spec: ModelSpec::Open { model: 1 } });
    // A newer start replaces a running job: each starts when the one before is done.
    let out = session(inputs, |o| match o {
        Output::Done { id: 1, .. } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Calibrate { model: 1, data: data.clone(), batch: 2, settings: minmax() } }]),
        Output::Done { id: 2, .. } => Some(vec![Input::Start { id: 3, spec: ModelSpec::Ptq { model: 1, data: data.clone(), batch: 2, settings: ptq } }]),
        Output::Done { .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    let kinds: Vec<String> = out.iter().map(|o| format!("{o:?}").chars().take(80).collect()).collect();

    // What the engine gives on the same pictures, as the CLI computes it.
    let model = Model::read("ppocr-cls-v2.onnx", &bytes).unwrap();
    let batch = images::batch("x", &pics, &pre).unwrap();
    let dataset = Dataset::new(&model, vec![batch]).unwrap();
    let mut cal = Calibration::new(&minmax()).unwrap();
    let mut runners = cal.runners();
    for i in 0..dataset.batch_count(2) {
        let b = dataset.batch(i, 2);
        cal.run(runners.for_inputs(&model, &b).unwrap(), &b).unwrap();
    }
    let labels = images::labels_from_names(&pics.iter().map(|p| p.0.clone()).collect::<Vec<_>>()).map(|l| l.0);
    let engine = |per_channel| simulate(&model, &dataset, &dataset, 2, labels.as_deref(), &PtqSettings { per_channel, ..ptq }).unwrap();

    let done = |id| out.iter().find_map(|o| if let Output::Done { id: i, result } = o { (*i == id).then_some(result) } else { None }).unwrap_or_else(|| panic!("job {id} did not finish: {kinds:?}"));
    let ModelResult::Opened(declared) = done(1) else { panic!("{:?}", done(1)) };
    assert_eq!((declared.inputs.len(), declared.cannot_run.as_deref()), (1, None), "{declared:?}");
    assert_eq!(declared.nodes.len(), model.nodes.len());
    let ModelResult::Calibrated(calibrated) = done(2) else { panic!() };
    assert_eq!((calibrated.samples, calibrated.batches, calibrated.synthetic), (6, 3, false));
    assert_eq!(calibrated.activations, cal.ranges(), "the worker's ranges are the engine's, to the bit");
    let ModelResult::Compared(compared) = done(3) else { panic!() };
    assert_eq!(compared.per_tensor, engine(false));
    assert_eq!(compared.per_channel, engine(true));
    assert!(compared.per_channel.accuracy.is_some(), "class folders label the pictures");
    // Progress: pictures decoded, batches calibrated, then both simulations, each counting up.
    let stages: Vec<Stage> = out.iter().filter_map(|o| if let Output::Progress { detail, .. } = o { Some(*detail) } else { None }).collect();
    for s in [Stage::Preparing, Stage::Calibrating, Stage::Simulating { per_channel: false }, Stage::Simulating { per_channel: true }] {
        assert!(stages.contains(&s), "{s:?} in {stages:?}");
    }
    let last_ptq = out.iter().filter_map(|o| if let Output::Progress { id: 3, done, total, .. } = o { Some((*done, *total)) } else { None }).next_back().unwrap();
    assert!(last_ptq.0 < last_ptq.1 && last_ptq.1 >= 4, "{last_ptq:?}");
}

#[test]
fn a_cancel_stops_between_batches_and_synthetic_input_is_labelled() {
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let data = Data::Synthetic { samples: 8, seed: 3 };
    let inputs = vec![load(1, "m.onnx", bytes), Input::Start { id: 1, spec: ModelSpec::Calibrate { model: 1, data: data.clone(), batch: 1, settings: minmax() } }];
    let out = session(inputs, |o| match o {
        Output::Progress { id: 1, done: 2, .. } => Some(vec![Input::Cancel { id: 1 }]),
        Output::Cancelled { id: 1 } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Calibrate { model: 1, data: data.clone(), batch: 4, settings: minmax() } }]),
        Output::Done { .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    assert!(out.contains(&Output::Cancelled { id: 1 }), "{out:?}");
    assert!(!out.iter().any(|o| matches!(o, Output::Progress { id: 1, done: 4, .. })), "stopped within a step");
    let Some(Output::Done { id: 2, result: ModelResult::Calibrated(c) }) = out.last() else { panic!("{:?}", out.last()) };
    assert_eq!((c.samples, c.batches, c.synthetic), (8, 2, true));
}

#[test]
fn what_cannot_work_is_named_and_the_worker_goes_on() {
    let bytes = models::tiny_cnn();
    let mut proto = ModelProto::decode(&bytes[..]).unwrap();
    let graph = proto.graph.as_mut().unwrap();
    graph.node[2] = NodeProto { op_type: "FancyRelu".into(), name: "fancy".into(), ..graph.node[2].clone() };
    let spec = |id: u64| match id {
        1 => ModelSpec::Open { model: 1 },
        2 => ModelSpec::Open { model: 2 },
        3 => ModelSpec::Calibrate { model: 3, data: Data::Arrays { files: vec![4] }, batch: 1, settings: minmax() },
        4 => ModelSpec::Calibrate { model: 3, data: Data::Pictures { files: vec![4], preprocess: Preprocess::preset(Preset::ZeroOne, (8, 8)) }, batch: 1, settings: minmax() },
        5 => ModelSpec::Open { model: 9 },
        _ => ModelSpec::Calibrate { model: 3, data: Data::Synthetic { samples: 3, seed: 1 }, batch: 2, settings: minmax() },
    };
    let inputs = vec![
        load(1, "odd.onnx", proto.encode_to_vec()),
        load(2, "cut.onnx", bytes[..bytes.len() / 2].to_vec()),
        load(3, "tiny.onnx", bytes.clone()),
        load(4, "x.txt", b"hello".to_vec()),
        Input::Start { id: 1, spec: spec(1) },
    ];
    let out = session(inputs, |o| match o {
        // A file let go of is gone: a job naming it fails, by name.
        Output::Done { id: 6, .. } => Some(vec![Input::Forget { keys: vec![3] }, Input::Start { id: 7, spec: spec(6) }]),
        Output::Done { id: 7, .. } | Output::Failed { id: 6 | 7, .. } => None,
        Output::Done { id, .. } | Output::Failed { id, .. } => Some(vec![Input::Start { id: id + 1, spec: spec(id + 1) }]),
        _ => Some(vec![]),
    });
    let failed = |id| out.iter().find_map(|o| if let Output::Failed { id: i, message } = o { (*i == id).then(|| message.clone()) } else { None });
    let Some(Output::Done { result: ModelResult::Opened(odd), .. }) = out.iter().find(|o| matches!(o, Output::Done { id: 1, .. })) else { panic!("{out:?}") };
    let why = odd.cannot_run.as_deref().unwrap();
    assert!(why.contains("“fancy” (FancyRelu)"), "{why}");
    assert!(failed(2).unwrap().starts_with("cut.onnx: not a valid ONNX model"), "{:?}", failed(2));
    assert!(failed(3).unwrap().starts_with("x.txt: inputs are .npy or .npz"), "{:?}", failed(3));
    assert!(failed(4).unwrap().starts_with("x.txt: not a readable PNG or JPEG picture"), "{:?}", failed(4));
    assert!(failed(5).unwrap().contains("never handed"), "{:?}", failed(5));
    assert!(out.iter().any(|o| matches!(o, Output::Done { id: 6, result: ModelResult::Calibrated(_) })), "the worker goes on");
    assert!(failed(7).unwrap().contains("never handed"), "{:?}", failed(7));
}

/// An input that declares no shape is for the data to settle: the model is not called one tract
/// cannot run, and arrays of any fitting shape calibrate it.
#[test]
fn an_input_without_a_declared_shape_is_settled_by_the_data() {
    let bytes = models::tiny_cnn();
    let mut proto = ModelProto::decode(&bytes[..]).unwrap();
    let input = &mut proto.graph.as_mut().unwrap().input[0];
    let Some(quantscope::engine::io::onnx::pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().and_then(|t| t.value.as_mut()) else { panic!("a tensor input") };
    t.shape = None;
    let x = quantscope::engine::io::npy::write_f32(&[2, 1, 8, 8], &(0..128).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>());
    let inputs = vec![load(1, "shapeless.onnx", proto.encode_to_vec()), load(2, "x.npy", x), Input::Start { id: 1, spec: ModelSpec::Open { model: 1 } }];
    let out = session(inputs, |o| match o {
        Output::Done { id: 1, .. } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Calibrate { model: 1, data: Data::Arrays { files: vec![2] }, batch: 1, settings: minmax() } }]),
        Output::Done { .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    let Some(Output::Done { result: ModelResult::Opened(d), .. }) = out.iter().find(|o| matches!(o, Output::Done { id: 1, .. })) else { panic!("{out:?}") };
    assert_eq!((d.inputs[0].dims.as_ref(), d.cannot_run.as_deref()), (None, None));
    assert!(matches!(out.last(), Some(Output::Done { id: 2, result: ModelResult::Calibrated(c) }) if c.samples == 2), "{:?}", out.last());
}

/// The Lab's trained model handed over: the worker writes it as ONNX with the test split and
/// its labels; handed back as files, the model opens, and PTQ on the digits finds the Lab's own
/// FP32 accuracy (the labels file labels the samples, it is not taken for an input).
#[test]
fn the_labs_model_is_exported_opened_and_quantized_with_its_labels() {
    use quantscope::engine::nn::lab::{run, LabConfig, ModelKind};
    let cfg = LabConfig { model: ModelKind::Cnn, epochs: 2, qat_epochs: 0, seed: 5, ..LabConfig::default() };
    let report = run(cfg, &|| 0.0, &mut |_| true).unwrap();
    let lab = report.model();
    let out = session(vec![Input::Start { id: 1, spec: ModelSpec::Export { lab: Box::new(lab.clone()) } }], |_| None);
    let Some(Output::Done { result: ModelResult::Exported(files), .. }) = out.last() else { panic!("{out:?}") };
    let files = files.files().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["lab-cnn.onnx", "lab-test-input.npy", "labels.npy"]);

    let mut inputs: Vec<ModelInput> = files.iter().enumerate().map(|(k, f)| load(k as u64 + 1, &f.name, f.bytes.clone())).collect();
    let settings = PtqSettings { weight_bits: 8, per_channel: false, act_bits: Some(8), act_observer: ObserverKind::MinMax, fold_bn: true };
    inputs.push(Input::Start { id: 2, spec: ModelSpec::Open { model: 1 } });
    let data = Data::Arrays { files: vec![2, 3] };
    let out = session(inputs, |o| match o {
        Output::Done { id: 2, .. } => Some(vec![Input::Start { id: 3, spec: ModelSpec::Ptq { model: 1, data: data.clone(), batch: 64, settings } }]),
        Output::Done { .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    let opened = out.iter().find_map(|o| match o {
        Output::Done { result: ModelResult::Opened(d), .. } => Some(d),
        _ => None,
    });
    let d = opened.unwrap_or_else(|| panic!("{out:?}"));
    assert!(d.cannot_run.is_none(), "{:?}", d.cannot_run);
    assert_eq!(d.inputs[0].dims_text(), "[N, 1, 8, 8]");
    let Some(Output::Done { result: ModelResult::Compared(c), .. }) = out.last() else { panic!("{:?}", out.last()) };
    let samples = lab.test.y.len();
    assert_eq!(c.per_tensor.eval_samples, samples);
    let fp32 = c.per_tensor.fp32_accuracy.expect("labelled");
    // The same model on the same digits: one class may flip where two logits tie to rounding.
    assert!((fp32 - report.fp32.accuracy).abs() <= 1.0 / samples as f64 + 1e-12, "{fp32} against the Lab's {}", report.fp32.accuracy);
    assert!(c.per_channel.accuracy.is_some() && c.per_tensor.layers.iter().any(|l| l.weight_sqnr_db.is_some()));
}

/// The benchmark page's job: the three workloads of `engine::model::bench`, each called once to
/// warm up and then `runs` times, on the arrays given as one batch; progress counts every call.
#[test]
fn the_benchmark_job_times_each_workload_on_the_data_as_one_batch() {
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let x = quantscope::engine::tensor::Tensor { name: "x".into(), shape: vec![2, 3, 48, 192], data: (0..2 * 3 * 48 * 192).map(|i| (i as f32 * 0.001).sin()).collect(), stored_as: "f32".into() };
    let npy = quantscope::engine::io::npy::write_f32(&x.shape, &x.data);
    let runs = 3;
    let inputs = vec![
        load(1, "m.onnx", bytes),
        load(2, "x.npy", npy),
        Input::Start { id: 1, spec: ModelSpec::Bench { model: 1, data: Data::Arrays { files: vec![2] }, runs } },
    ];
    let out = session(inputs, |o| match o {
        Output::Done { id: 1, .. } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Bench { model: 1, data: Data::Synthetic { samples: 1, seed: 0 }, runs: 0 } }]),
        Output::Done { id: 2, .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    let timed = |id| {
        out.iter().find_map(|o| match o {
            Output::Done { id: i, result: ModelResult::Timed(t) } if *i == id => Some(t.clone()),
            _ => None,
        })
    };
    let t = timed(1).unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!((t.shapes.clone(), t.synthetic), (vec![vec![2, 3, 48, 192]], false));
    for samples in [&t.run, &t.calibrate, &t.ptq] {
        assert_eq!(samples.len(), runs);
        assert!(samples.iter().all(|ms| ms.is_finite() && *ms >= 0.0), "{samples:?}");
    }
    let progress: Vec<(usize, usize)> = out.iter().filter_map(|o| if let Output::Progress { id: 1, done, total, detail: Stage::Timing } = o { Some((*done, *total)) } else { None }).collect();
    assert!(progress.iter().all(|&(_, total)| total == 3 * (runs + 1)), "{progress:?}");
    assert!(progress.windows(2).all(|w| w[0].0 <= w[1].0) && progress.last().unwrap().0 == 3 * (runs + 1) - 1, "{progress:?}");
    // Synthetic input is labelled; no run count is taken as one.
    let s = timed(2).unwrap();
    assert_eq!((s.synthetic, s.run.len(), s.ptq.len(), s.shapes[0][0]), (true, 1, 1, 1));
}

/// An activation opened in the Explorer: the worker runs the calibration's batches again and
/// keeps that activation's values, end to end along the first axis, as the engine's runner
/// gives them batch by batch; the dynamics view's row split then replays those very batches.
#[test]
fn an_activation_is_kept_over_the_calibrations_batches() {
    use quantscope::engine::model::{Capture, Runners};
    use quantscope::engine::views::dynamics::{run, Split};
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let pics = pictures();
    let pre = Preprocess::preset(Preset::MinusOneOne, (48, 192));
    let keys: Vec<u64> = (10..10 + pics.len() as u64).collect();
    let model = Model::read("m.onnx", &bytes).unwrap();
    // An activation in the middle of the graph, and one with no such name.
    let name = model.nodes.iter().filter(|n| n.op == "Conv").nth(3).unwrap().outputs[0].clone();
    let mut inputs = vec![load(1, "m.onnx", bytes.clone())];
    inputs.extend(pics.iter().zip(&keys).map(|((n, b), &k)| load(k, n, b.clone())));
    let data = Data::Pictures { files: keys.clone(), preprocess: pre.clone() };
    inputs.push(Input::Start { id: 1, spec: ModelSpec::Capture { model: 1, data: data.clone(), batch: 4, activation: name.clone() } });
    let out = session(inputs, |o| match o {
        Output::Done { id: 1, .. } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Capture { model: 1, data: data.clone(), batch: 4, activation: "no-such-value".into() } }]),
        Output::Done { .. } | Output::Failed { id: 2, .. } => None,
        _ => Some(vec![]),
    });
    let a = out
        .iter()
        .find_map(|o| match o {
            Output::Done { id: 1, result: ModelResult::Captured(a) } => Some(a.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{out:?}"));
    // The engine's own run of the same two batches (4 pictures, then 2).
    let dataset = Dataset::new(&model, vec![images::batch("x", &pics, &pre).unwrap()]).unwrap();
    let mut runners = Runners::with_capture(Capture::Values);
    let mut expected = Vec::new();
    let mut per_batch = Vec::new();
    for i in 0..2 {
        let b = dataset.batch(i, 4);
        let outs = runners.for_inputs(&model, &b).unwrap().run(&b).unwrap();
        let act = outs.activations.into_iter().find(|t| t.name == name).unwrap();
        let lo = act.data.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = act.data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        per_batch.push((lo, hi));
        expected.extend(act.data);
    }
    assert_eq!((a.name.as_str(), a.batch_rows, a.batches, a.shape[0], a.synthetic), (name.as_str(), 4, 2, 6, false));
    assert_eq!(a.values, expected, "the worker's values are the runner's, batch after batch");
    let steps = run(&a.values, &a.shape, Split::Rows(a.batch_rows), 0.01, 0.0).unwrap();
    assert_eq!(steps.iter().map(|s| s.batch).collect::<Vec<_>>(), per_batch, "the replay sees the calibration's batches");
    let failed = out.iter().find_map(|o| if let Output::Failed { id: 2, message } = o { Some(message.clone()) } else { None }).unwrap();
    assert!(failed.contains("no-such-value") && failed.contains("m.onnx"), "{failed}");
}

/// The layer table's weights: the engine's reading with batch norm folded, in graph order, each
/// with the node that reads it; a weight's values come whole, and a name the model lacks is
/// named back.
#[test]
fn the_weights_are_listed_by_node_and_open_whole() {
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let read = quantscope::engine::io::onnx::read_with_uses("m.onnx", &bytes, true).unwrap();
    let inputs = vec![load(1, "m.onnx", bytes), Input::Start { id: 1, spec: ModelSpec::Open { model: 1 } }];
    let wanted = read.tensors.iter().find(|t| t.shape.len() == 4 && t.shape[1] == 1).unwrap().name.clone();
    let w = wanted.clone();
    let out = session(inputs, move |o| match o {
        Output::Done { id: 1, .. } => Some(vec![Input::Start { id: 2, spec: ModelSpec::Weight { model: 1, name: w.clone() } }]),
        Output::Done { id: 2, .. } => Some(vec![Input::Start { id: 3, spec: ModelSpec::Weight { model: 1, name: "bn_scale".into() } }]),
        Output::Done { .. } | Output::Failed { .. } => None,
        _ => Some(vec![]),
    });
    let Some(Output::Done { result: ModelResult::Opened(d), .. }) = out.iter().find(|o| matches!(o, Output::Done { id: 1, .. })) else { panic!("{out:?}") };
    let names: Vec<&str> = d.weights.iter().map(|w| w.name.as_str()).collect();
    let expected: Vec<&str> = read.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, expected, "graph order, batch norm folded");
    assert!(!names.iter().any(|n| read.uses.get(*n).is_some_and(|u| u.is_batch_norm_parameter())), "no batch-norm parameter is listed");
    for (w, t) in d.weights.iter().zip(&read.tensors) {
        assert_eq!(w.report(), quantscope::engine::views::inspect::inspect(t));
        // The node that reads it first; a folded bias, the convolution it was folded into.
        let k = w.node.unwrap_or_else(|| panic!("{}: no node", w.name));
        let u = &read.uses[&w.name];
        assert_eq!((d.nodes[k].name.as_str(), w.op.as_str(), w.input), (u.node.as_str(), u.op.as_str(), u.input), "{}", w.name);
        if !w.name.ends_with(".folded_bias") {
            assert!(d.nodes[k].inputs.contains(&w.name) && d.nodes[..k].iter().all(|n| !n.inputs.contains(&w.name)), "{}: the first reader", w.name);
        }
    }
    assert!(d.weights.iter().any(|w| w.name.ends_with(".folded_bias")), "the folded biases are listed");
    let Some(Output::Done { result: ModelResult::Captured(v), .. }) = out.iter().find(|o| matches!(o, Output::Done { id: 2, .. })) else { panic!("{out:?}") };
    let t = read.tensors.iter().find(|t| t.name == wanted).unwrap();
    assert_eq!((v.weight, &v.shape, &v.values), (true, &t.shape, &t.data));
    let failed = out.iter().find_map(|o| if let Output::Failed { id: 3, message } = o { Some(message.clone()) } else { None }).unwrap();
    assert!(failed.contains("bn_scale"), "{failed}");
}

/// The Explorer's layer browser reads ONNX files in the model worker: what comes back over the
/// wire is the engine's reading, quantized tensors' storage included, batch norm folded or not;
/// a truncated file's message names it.
#[test]
fn an_onnx_file_is_read_for_the_layer_browser_as_the_engine_reads_it() {
    use quantscope::worker::wire::{join, split};
    let qdq = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/models/ppocr-cls-v2-qdq.onnx")).unwrap();
    let float = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    let cut = float[..float.len() / 3].to_vec();
    let cases = [("qdq.onnx", qdq, false), ("m.onnx", float.clone(), true), ("m.onnx", float, false), ("cut.onnx", cut, false)];
    for (k, (name, bytes, fold_bn)) in cases.into_iter().enumerate() {
        let inputs = vec![load(1, name, bytes.clone()), Input::Start { id: 1, spec: ModelSpec::Read { model: 1, fold_bn } }];
        let out = session(inputs, |o| match o {
            Output::Done { .. } | Output::Failed { .. } => None,
            _ => Some(vec![]),
        });
        let done = out.into_iter().last().unwrap();
        let (head, bulk) = split(done).unwrap();
        let Output::Done { result: ModelResult::Read(r), .. } = join::<ModelOutput>(&head, bulk).unwrap() else { panic!("case {k}") };
        let engine = quantscope::engine::io::onnx::read_with_uses(name, &bytes, fold_bn);
        match (r.into_read(name), engine) {
            (Ok(got), Ok(want)) => {
                assert!(!got.tensors.is_empty());
                assert_eq!((got.tensors, got.uses, got.stored), (want.tensors, want.uses, want.stored), "case {k}");
            }
            (Err(got), Err(want)) => assert_eq!(got, want, "case {k}"),
            (got, want) => panic!("case {k}: {:?} against {:?}", got.err(), want.err()),
        }
    }
}
