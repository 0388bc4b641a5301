//! Model files that the CLI and end-to-end tests both load.

use prost::Message;
use quantscope::engine::io::onnx::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

/// An ONNX model: a Conv with 2 output channels (weights `weight`, shaped `dims`, named
/// `conv.weight`), then BatchNormalization with γ = (0.5, 100), β = 0, mean 0, variance 1 and
/// ε = 0. Folding the batch norm scales channel 0 by 0.5 and channel 1 by 100: the per-channel
/// ranges 200× apart that MobileNet's depthwise layers show.
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
