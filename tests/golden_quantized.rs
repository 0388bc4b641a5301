//! Quantized ONNX models read as they are: PaddleOCR's classifier quantized by onnxruntime's own
//! tools in the QDQ format (int8 weights per channel), the QOperator format (QLinearConv, QGemm)
//! and dynamically (ConvInteger). `tests/golden/onnx/make_quantized.py` made the three models and
//! `quantized.json`: each quantized tensor's node, type, shape, scales, zero points, axis, and the
//! values onnxruntime's DequantizeLinear gives it. The reader must find the same tensors and give
//! the same values to the bit (their min, max, every k-th value; their sum within rounding).

use std::path::Path;

use quantscope::engine::io::onnx::read_with_uses;
use serde::Deserialize;

/// The sums differ only in the order of their terms: 1e-12 of the sum of magnitudes.
const SUM_TOL: f64 = 1e-12;

#[derive(Deserialize)]
struct Golden {
    models: std::collections::BTreeMap<String, Vec<Expected>>,
}

#[derive(Deserialize)]
struct Expected {
    name: String,
    node: String,
    op: String,
    dtype: String,
    shape: Vec<usize>,
    scale: Vec<f32>,
    zero_point: Vec<i32>,
    axis: Option<usize>,
    min: f32,
    max: f32,
    sum: f64,
    step: usize,
    every_step: Vec<f32>,
}

#[test]
fn quantized_models_read_as_onnxruntime_dequantizes_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let golden: Golden = serde_json::from_str(&std::fs::read_to_string(root.join("tests/golden/onnx/quantized.json")).unwrap()).unwrap();
    assert_eq!(golden.models.len(), 3);
    for (model, expected) in &golden.models {
        let bytes = std::fs::read(root.join(format!("tests/data/models/{model}.onnx"))).unwrap();
        let read = read_with_uses(model, &bytes, false).unwrap();
        let mut found: Vec<&str> = read.stored.keys().map(String::as_str).collect();
        found.sort_unstable();
        let mut want: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
        want.sort_unstable();
        assert_eq!(found, want, "{model}: the quantized tensors");
        for e in expected {
            let what = format!("{model}: {}", e.name);
            let s = &read.stored[&e.name];
            let t = read.tensors.iter().find(|t| t.name == e.name).unwrap_or_else(|| panic!("{what}: not listed"));
            assert_eq!((s.node.as_str(), s.op.as_str(), s.dtype.as_str(), &t.shape, s.axis), (e.node.as_str(), e.op.as_str(), e.dtype.as_str(), &e.shape, e.axis), "{what}");
            assert_eq!(s.scale.as_deref(), Some(&e.scale[..]), "{what}: scales");
            assert_eq!(s.zero_point, e.zero_point, "{what}: zero points");
            assert_eq!(t.stored_as, e.dtype, "{what}");
            let (min, max) = t.data.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            assert_eq!((min.to_bits(), max.to_bits()), (e.min.to_bits(), e.max.to_bits()), "{what}: min and max");
            let sample: Vec<u32> = t.data.iter().step_by(e.step).take(e.every_step.len()).map(|v| v.to_bits()).collect();
            assert_eq!(sample, e.every_step.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{what}: every {}th value", e.step);
            let sum: f64 = t.data.iter().map(|&v| v as f64).sum();
            let scale: f64 = t.data.iter().map(|&v| (v as f64).abs()).sum();
            assert!((sum - e.sum).abs() <= SUM_TOL * scale.max(1.0), "{what}: sum {sum} against {}", e.sum);
            // The codes stay as stored, inside the type's range.
            let (lo, hi) = s.code_range();
            assert_eq!(s.codes.len(), t.data.len());
            assert!(s.codes.iter().all(|&q| (lo..=hi).contains(&(q as i64))), "{what}: codes in range");
        }
    }
}
