//! The Lab's networks as ONNX files that onnxruntime runs to the Lab's own outputs.
//!
//! An MLP (ReLU) and the Lab's CNN (ReLU6, batch norm with running statistics drawn at random, so
//! that its parameters matter) are built from fixed seeds, without training: the export must be
//! right for any weights. `tests/golden/lab/make_golden.py` writes the two models and the input
//! (the first 32 digits) through this test (`QUANTSCOPE_BLESS=1`), runs them in onnxruntime, and
//! commits its outputs beside them. Here:
//!
//! - the export of the same networks is byte for byte the file onnxruntime ran;
//! - the Lab's forward pass agrees with onnxruntime's outputs within [`OUTPUT_TOL`];
//! - tract, through the engine, agrees with the Lab within the same bound (the Model view's path).

use std::path::{Path, PathBuf};

use quantscope::engine::io::onnx::export::{lab_to_onnx, INPUT};
use quantscope::engine::io::{load, npy, LoadOptions};
use quantscope::engine::model::{Model, Runner};
use quantscope::engine::nn::data::digits;
use quantscope::engine::nn::net::{Activation, Net, Quant, Tape};
use quantscope::engine::tensor::Tensor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Outputs agree within this fraction of the largest logit: the same products summed in
/// another order (onnxruntime's and tract's kernels against the Lab's).
const OUTPUT_TOL: f32 = 1e-5;
/// Digits fed to both.
const SAMPLES: usize = 32;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/lab")
}

/// The two networks, from fixed seeds. The CNN's batch norms get running statistics, scales and
/// shifts drawn at random, and every layer a bias, so that none of them is the identity.
fn networks() -> Vec<(&'static str, Net, Vec<usize>)> {
    let mlp = Net::mlp(&[64, 24, 16, 10], Activation::Relu, 7).unwrap();
    let mut cnn = Net::cnn((8, 8), [6, 10], 10, Activation::Relu6, 11).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    for layer in &mut cnn.layers {
        layer.b.iter_mut().for_each(|b| *b = rng.gen_range(-0.2..0.2));
        if let Some(bn) = &mut layer.bn {
            bn.gamma.iter_mut().for_each(|v| *v = rng.gen_range(0.2..3.0));
            bn.beta.iter_mut().for_each(|v| *v = rng.gen_range(-1.0..1.0));
            bn.running_mean.iter_mut().for_each(|v| *v = rng.gen_range(-0.5..0.5));
            bn.running_var.iter_mut().for_each(|v| *v = rng.gen_range(0.01..4.0));
        }
    }
    vec![("mlp", mlp, vec![SAMPLES, 64]), ("cnn", cnn, vec![SAMPLES, 1, 8, 8])]
}

fn input() -> Vec<f32> {
    digits().unwrap().x[..SAMPLES * 64].to_vec()
}

fn lab_logits(net: &Net, x: &[f32]) -> Vec<f32> {
    let mut tape = Tape::default();
    net.forward(x, SAMPLES, Quant::Float, false, &mut tape);
    tape.output
}

fn npy_values(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e} (run tests/golden/lab/make_golden.py)", path.display()));
    load(&path.display().to_string(), &bytes, LoadOptions::default()).unwrap().remove(0).data
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: {} values against {}", got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0f32, f32::max);
    assert!(worst <= OUTPUT_TOL * scale, "{what}: differs by {worst} (largest logit {scale})");
}

#[test]
fn lab_networks_as_onnx_run_in_onnxruntime_as_in_the_lab() {
    let x = input();
    if std::env::var_os("QUANTSCOPE_BLESS").is_some() {
        std::fs::write(dir().join("input.npy"), npy::write_f32(&[SAMPLES, 64], &x)).unwrap();
        for (name, net, _) in networks() {
            std::fs::write(dir().join(format!("{name}.onnx")), lab_to_onnx(&net, name, "golden").unwrap()).unwrap();
        }
        return;
    }
    for (name, net, shape) in networks() {
        let bytes = lab_to_onnx(&net, name, "golden").unwrap();
        let ran = std::fs::read(dir().join(format!("{name}.onnx"))).unwrap();
        assert!(bytes == ran, "{name}: the export changed since onnxruntime ran it: run tests/golden/lab/make_golden.py");
        let lab = lab_logits(&net, &x);
        assert!(lab.iter().all(|v| v.is_finite()) && lab.iter().any(|&v| v != 0.0), "{name}: the Lab's logits are degenerate");
        assert_close(&format!("{name}: the Lab against onnxruntime"), &lab, &npy_values(&dir().join(format!("{name}_onnxruntime.npy"))));

        let model = Model::read(&format!("{name}.onnx"), &bytes).unwrap();
        let runner = Runner::new(&model, std::slice::from_ref(&shape), false).unwrap();
        let out = runner.run(&[Tensor { name: INPUT.into(), shape, data: x.clone(), stored_as: "f32".into() }]).unwrap();
        assert_close(&format!("{name}: tract against the Lab"), &out.outputs[0].data, &lab);
    }
}
