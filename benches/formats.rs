//! Native benchmarks of the number formats (one thread): `cargo bench --bench formats`.
//! Each format's quantize + dequantize + metrics on a 4096 × 4096 layer (16M values), as the
//! comparison computes them (`metrics_of`: the legacy GGUF blocks measured as they are made), and the
//! side-by-side comparison of every format on it. The layer is the one the peers' script
//! (scripts/bench_formats_peers.py: gguf-py's NumPy code, torchao) times, when
//! `QUANTSCOPE_FORMATS_INPUT` names its .npy; otherwise the same recipe drawn here.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use quantscope::engine::formats::compare::{compare, metrics_of};
use quantscope::engine::formats::spec::Format;
use quantscope::engine::synth::{sample, Dist};

const SIDE: usize = 4096;

/// The layer: N(0, 0.02²) weights with a few outliers (as the peers' script draws it, when its
/// file is not given).
fn layer() -> Vec<f32> {
    if let Some(path) = std::env::var_os("QUANTSCOPE_FORMATS_INPUT").filter(|p| !p.is_empty()) {
        let bytes = std::fs::read(&path).expect("the peers' input");
        let t = quantscope::engine::io::npy::read("input.npy", "input", &bytes).expect("a float32 .npy");
        assert_eq!(t.shape, [SIDE, SIDE]);
        return t.data;
    }
    let mut xs = sample(Dist::Normal { mean: 0.0, std: 0.02 }, SIDE * SIDE, 18, None).unwrap();
    for i in (0..xs.len()).step_by(65_537) {
        xs[i] *= 40.0;
    }
    xs
}

fn formats(c: &mut Criterion) {
    let xs = layer();
    let shape = [SIDE, SIDE];
    let mut g = c.benchmark_group("formats");
    g.sample_size(10);
    g.throughput(Throughput::Elements(xs.len() as u64));
    for f in Format::comparison() {
        g.bench_function(f.label().replace(' ', "_"), |b| {
            b.iter(|| {
                let (bits, m) = metrics_of(f, &xs, &shape).unwrap();
                (bits, m.mse)
            })
        });
    }
    g.finish();
    let mut g = c.benchmark_group("comparison");
    g.sample_size(10);
    g.bench_function("every_format_4096x4096", |b| b.iter(|| compare(&Format::comparison(), &xs, &shape, |_, _| {})));
    g.finish();
}

criterion_group!(benches, formats);
criterion_main!(benches);
