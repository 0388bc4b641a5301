//! Golden tests on real ONNX models: what tract computes through the engine against
//! onnxruntime 1.32 on the same inputs and batches (tests/golden/onnx/make_calibration.py made
//! the reference; its output is committed beside it).
//!
//! - The FP32 outputs agree.
//! - Every tensor onnxruntime's MinMax calibrator reports agrees with the engine's MinMax
//!   calibration of the same activation (or, for a `Constant` node's output, with the weight the
//!   ONNX reader decodes; for the graph input, with the input): min and max within
//!   [`RANGE_TOL`] of the tensor's largest magnitude. The engine must miss none of them, and
//!   must calibrate no float activation that onnxruntime does not.

mod models;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use quantscope::engine::io::{load, onnx, LoadOptions};
use quantscope::engine::model::calibrate::{Calibration, Settings};
use quantscope::engine::model::{Dataset, Model};
use quantscope::engine::observer::{Common, ObserverKind};
use quantscope::engine::quantizer::qparams::{DType, QRange, QScheme};
use quantscope::engine::tensor::Tensor;
use serde::Deserialize;

/// Ranges agree within this fraction of the tensor's largest magnitude (the acceptance bound).
const RANGE_TOL: f32 = 1e-4;
/// FP32 outputs agree within this fraction of the output's largest magnitude: tract and
/// onnxruntime sum in different orders.
const OUTPUT_TOL: f32 = 1e-4;

#[derive(Deserialize)]
struct Golden {
    onnxruntime: String,
    batch: usize,
    ranges: BTreeMap<String, (f32, f32)>,
    /// Tensors with no elements, which have no range.
    empty: Vec<String>,
}

fn npy(path: &Path) -> Tensor {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    load(&path.display().to_string(), &bytes, LoadOptions::default()).unwrap().remove(0)
}

fn check(name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/onnx");
    let golden: Golden = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}_minmax.json"))).unwrap()).unwrap();
    let path = models::real(name);
    let bytes = std::fs::read(&path).unwrap();
    let model = Model::read(name, &bytes).unwrap();
    let input = npy(&dir.join(format!("{name}_input.npy")));
    let reference = npy(&dir.join(format!("{name}_output.npy")));
    let data = Dataset::new(&model, vec![input.clone()]).unwrap();
    let settings = Settings {
        observer: ObserverKind::MinMax,
        common: Common { scheme: QScheme::Affine, range: QRange::for_dtype(DType::QUInt8, None, false).unwrap() },
        per_channel: false,
    };
    let mut calibration = Calibration::new(&settings).unwrap();
    let mut runners = calibration.runners();
    let mut outputs = Vec::new();
    for i in 0..data.batch_count(golden.batch) {
        let inputs = data.batch(i, golden.batch);
        let runner = runners.for_inputs(&model, &inputs).unwrap();
        let run = calibration.run(runner, &inputs).unwrap();
        outputs.extend_from_slice(&run.outputs[0].data);
    }
    drop(runners);

    // FP32 outputs.
    assert_eq!(outputs.len(), reference.data.len(), "{name}: output size");
    let scale = reference.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = outputs.iter().zip(&reference.data).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= OUTPUT_TOL * scale, "{name}: FP32 output differs from onnxruntime {} by up to {worst} (|max| {scale})", golden.onnxruntime);

    // Ranges.
    let ours: HashMap<String, (f32, f32)> = calibration.ranges().into_iter().map(|r| (r.name, (r.min_val, r.max_val))).collect();
    let weights: HashMap<String, (f32, f32)> = onnx::read(name, &bytes, false)
        .unwrap()
        .into_iter()
        .map(|t| (t.name.clone(), t.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))))
        .collect();
    let input_range = input.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let mut compared = 0;
    for (tensor, &(lo, hi)) in &golden.ranges {
        let (got_lo, got_hi) = if let Some(r) = ours.get(tensor) {
            compared += 1;
            *r
        } else if let Some(w) = weights.get(tensor) {
            *w
        } else if model.inputs.iter().any(|i| &i.name == tensor) {
            input_range
        } else {
            panic!("{name}: onnxruntime calibrates “{tensor}”, the engine does not");
        };
        let tol = RANGE_TOL * lo.abs().max(hi.abs());
        assert!((got_lo - lo).abs() <= tol && (got_hi - hi).abs() <= tol, "{name}: “{tensor}” range [{got_lo}, {got_hi}], onnxruntime [{lo}, {hi}]");
    }
    for tensor in &golden.empty {
        let w = weights.get(tensor);
        assert!(w.is_none_or(|&(lo, hi)| lo > hi), "{name}: “{tensor}” has no elements for onnxruntime, but a range {w:?} here");
    }
    let extra: Vec<&String> = ours.keys().filter(|k| !golden.ranges.contains_key(*k)).collect();
    assert!(extra.is_empty(), "{name}: the engine calibrates activations onnxruntime does not: {extra:?}");
    assert!(compared > 100, "{name}: only {compared} activations compared");
}

/// Output SQNR of a PTQ simulation agrees with the reference's within this (the acceptance bound
/// for weights only against the numpy simulation on onnxruntime).
const PTQ_TOL_DB: f64 = 0.5;
/// Full W8A8 against onnxruntime's own quantize_static (QDQ): the quantizers sit in slightly
/// different places (see docs/cli.md), so within this.
const W8A8_TOL_DB: f64 = 2.0;

#[derive(Deserialize)]
struct PtqGolden {
    models: BTreeMap<String, BTreeMap<String, f64>>,
}

fn check_ptq(name: &str) {
    use quantscope::engine::model::ptq::{simulate, Settings};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/onnx");
    let golden: PtqGolden = serde_json::from_str(&std::fs::read_to_string(dir.join("ptq.json")).unwrap()).unwrap();
    let reference = &golden.models[name];
    let calibration: Golden = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}_minmax.json"))).unwrap()).unwrap();
    let model = Model::read(name, &std::fs::read(models::real(name)).unwrap()).unwrap();
    let data = Dataset::new(&model, vec![npy(&dir.join(format!("{name}_input.npy")))]).unwrap();
    let run = |per_channel: bool, act_bits: Option<u32>| {
        let settings = Settings { weight_bits: 8, per_channel, act_bits, act_observer: ObserverKind::MinMax, fold_bn: true };
        let report = simulate(&model, &data, &data, calibration.batch, None, &settings).unwrap();
        assert_eq!(report.folded as f64, reference["folded"], "{name}: batch norms folded");
        report.output_sqnr_db.unwrap()
    };
    for (per_channel, key) in [(false, "weights_only_per_tensor"), (true, "weights_only_per_channel")] {
        let (ours, theirs) = (run(per_channel, None), reference[key]);
        assert!((ours - theirs).abs() <= PTQ_TOL_DB, "{name} {key}: {ours:.3} dB, numpy on onnxruntime {theirs:.3} dB");
    }
    // Per channel, against onnxruntime's QDQ model executed as a simulation. (Its integer
    // kernels lose more: on x86 without VNNI, u8×s8 products saturate in 16-bit pairs, which is
    // why onnxruntime recommends reduce_range there; docs/cli.md.)
    let (ours, theirs) = (run(true, Some(8)), reference["ort_w8a8_per_channel_qdq_in_float"]);
    assert!((ours - theirs).abs() <= W8A8_TOL_DB, "{name} W8A8 per channel: {ours:.3} dB, onnxruntime's quantize_static (QDQ in float) {theirs:.3} dB");
}

#[test]
fn classifier_ptq_matches_the_reference_simulation() {
    check_ptq("ppocr-cls-v2");
}

#[test]
fn detector_ptq_matches_the_reference_simulation() {
    check_ptq("ppocr-det-v4");
}

#[test]
fn text_direction_classifier_matches_onnxruntime() {
    check("ppocr-cls-v2");
}

#[test]
fn text_detector_matches_onnxruntime() {
    check("ppocr-det-v4");
}
