//! Native benchmarks of the engine's kernels (one thread): `cargo bench --bench engine`.
//! The targets are on 16M float32 values (1M for the per-tensor analysis and the
//! histogram observer's L2 search); README.md lists the figures with NumPy's on the same machine.
//! `cargo bench --bench engine -- lab` runs the Lab's epochs and integer inference alone.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use quantscope::engine::views::analysis::analyze_views;
use quantscope::engine::statistics::metrics::measure_with_codes;
use quantscope::engine::statistics::stats::summarize;
use quantscope::engine::statistics::histogram::Histogram;
use quantscope::engine::observer::{finite_min_max, Common, HistogramL2, Observer};
use quantscope::engine::quantizer::qparams::{calculate_qparams, QRange, QScheme};
use quantscope::engine::quantizer::quantize::{fake_quantize_inplace, fake_quantize_into};
use quantscope::engine::quantizer::rounding::Rounding;
use quantscope::engine::synth::{sample, Dist};

const BIG: usize = 16 << 20;
const ONE_M: usize = 1 << 20;

fn normal(n: usize) -> Vec<f32> {
    sample(Dist::Normal { mean: 0.0, std: 1.0 }, n, 7, None).unwrap()
}

/// A plain sum in 32 f32 lanes (AVX2 when the CPU has it): one read of every value, nothing else.
fn read_floor(xs: &[f32]) -> f32 {
    #[inline(always)]
    fn sum(xs: &[f32]) -> f32 {
        let mut acc = [0f32; 32];
        for c in xs.chunks_exact(32) {
            for i in 0..32 {
                acc[i] += c[i];
            }
        }
        acc.iter().sum()
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn avx2(xs: &[f32]) -> f32 {
            sum(xs)
        }
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2(xs) };
    }
    sum(xs)
}

fn kernels(c: &mut Criterion) {
    let xs = normal(BIG);
    let p = calculate_qparams(-4.0, 4.0, QScheme::Affine, QRange::QUINT8);
    let mut g = c.benchmark_group("16M");
    g.sample_size(10).throughput(Throughput::Elements(BIG as u64));
    let mut out = vec![0f32; BIG];
    g.bench_function("fake_quantize", |b| b.iter(|| fake_quantize_into(&xs, p, QRange::QUINT8, Rounding::HalfEven, &mut out)));
    let mut inplace = xs.clone();
    g.bench_function("fake_quantize_inplace", |b| b.iter(|| fake_quantize_inplace(&mut inplace, p, QRange::QUINT8)));
    g.bench_function("min_max", |b| b.iter(|| finite_min_max(&xs)));
    // Not an engine kernel: the floor any one-pass kernel over these 64 MB meets on this
    // machine (a plain vectorized sum), printed beside min/max, which is bound by it.
    g.bench_function("read_floor_sum", |b| b.iter(|| read_floor(&xs)));
    g.bench_function("histogram_2048", |b| b.iter(|| Histogram::new(&xs, -5.0, 5.0, 2048)));
    g.finish();

    let small = normal(ONE_M);
    let mut scratch = Vec::new();
    let mut g = c.benchmark_group("1M");
    g.sample_size(20).throughput(Throughput::Elements(ONE_M as u64));
    // What one Explorer redraw computes: min/max observer, qparams, fake-quantization, metrics
    // and the histograms of values, codes and errors.
    g.bench_function("analysis_per_tensor", |b| b.iter(|| analyze_views(&small, QScheme::Affine, QRange::QUINT8, 256, &mut scratch)));
    g.bench_function("analysis/summary", |b| b.iter(|| summarize(&small)));
    let p1 = calculate_qparams(-5.0, 5.0, QScheme::Affine, QRange::QUINT8);
    g.bench_function("analysis/metrics_and_codes", |b| b.iter(|| measure_with_codes(&small, p1, QRange::QUINT8)));
    let common = Common { scheme: QScheme::Affine, range: QRange::QUINT8 };
    let mut obs = HistogramL2::new(common, 2048).unwrap();
    obs.observe(&small, &[ONE_M]).unwrap();
    g.bench_function(BenchmarkId::new("histogram_observer", "l2_search"), |b| b.iter(|| obs.ranges()));
    g.bench_function(BenchmarkId::new("histogram_observer", "observe_and_search"), |b| {
        b.iter(|| {
            let mut o = HistogramL2::new(common, 2048).unwrap();
            o.observe(&small, &[ONE_M]).unwrap();
            o.ranges()
        })
    });
    g.finish();
}

/// The Lab: one FP32 and one QAT epoch of the reference MLP (64-128-128-10, batch 64, W4A4) and
/// of the CNN on the digits' training split, and each integer model over all 1,797 digits.
fn lab(c: &mut Criterion) {
    use quantscope::engine::nn::bench::LabBench;
    use quantscope::engine::nn::lab::ModelKind;
    let mut g = c.benchmark_group("lab");
    g.sample_size(20);
    for (name, kind) in [("mlp", ModelKind::Mlp), ("cnn", ModelKind::Cnn)] {
        let mut lab = LabBench::new(kind).unwrap();
        g.bench_function(BenchmarkId::new(name, "fp32_epoch"), |b| b.iter(|| lab.fp32_epoch()));
        g.bench_function(BenchmarkId::new(name, "qat_epoch"), |b| b.iter(|| lab.qat_epoch()));
        g.bench_function(BenchmarkId::new(name, "integer_inference_1797"), |b| b.iter(|| lab.integer_inference()));
    }
    g.finish();
}

/// The Explorer's heavy settings of issue 15 at 10M values, from scratch, as the worker runs
/// them (drawing, summary, observer, view and panels).
fn settings(c: &mut Criterion) {
    use quantscope::engine::views::explore::session::Session;
    use quantscope::ui::bench::{heavy_request, HEAVY_N, HEAVY_SETTINGS};
    let mut g = c.benchmark_group("setting");
    g.sample_size(10);
    for &(id, _, settings, _) in HEAVY_SETTINGS {
        let request = heavy_request(settings, HEAVY_N);
        g.bench_function(id.trim_start_matches("setting_"), |b| b.iter(|| Session::default().run(&request).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, kernels, lab, settings);
criterion_main!(benches);
