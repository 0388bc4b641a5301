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

fn models(c: &mut Criterion) {
    let mut group = c.benchmark_group("model");
    group.sample_size(20);
    for (label, file, shape) in models::BENCH_CASES {
        let bytes = std::fs::read(models::real(file)).unwrap();
        let model = Model::read(file, &bytes).unwrap();
        let mut workloads = Workloads::new(model, vec![models::bench_input(*shape)]).unwrap();
        for w in Workload::ALL {
            group.bench_function(format!("{}/{label}", w.key()), |b| b.iter(|| workloads.run(w).unwrap()));
        }
    }
    group.finish();
}

criterion_group!(benches, models);
criterion_main!(benches);
