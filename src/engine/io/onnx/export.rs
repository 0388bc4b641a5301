//! The Lab's networks written as ONNX (opset 13), the way `torch.onnx.export` writes the same
//! PyTorch modules, so that the Model view, the CLI and onnxruntime can run what the Lab trained:
//!
//! - the input is `input`, `[N, 1, H, W]` for a CNN (the Lab's NHWC with one channel is the same
//!   memory) or `[N, features]` for an MLP, with the batch `N` left free; the output is `logits`;
//! - a 3×3 convolution is `Conv` with padding 1, a depthwise one the same with `group = channels`,
//!   a pointwise one a 1×1 `Conv` (the Lab keeps its weights PyTorch's way, `out × in × kh × kw`);
//! - batch norm stays a `BatchNormalization` with its running statistics (a trained model is
//!   exported unfolded; folding it is the Model view's `--fold-bn`), ReLU is `Relu`, ReLU6 `Clip`
//!   to [0, 6], 2×2 max pooling `MaxPool`;
//! - a dense layer after a convolution gets a `Flatten`, and its weights' columns go from the
//!   Lab's (h, w, c) order to ONNX's (c, h, w): the same products, in another order.

use prost::Message;

use super::pb::tensor_shape_proto::{dimension, Dimension};
use super::pb::{attribute_proto::AttributeType, type_proto, AttributeProto, OperatorSetIdProto, TensorShapeProto, TypeProto};
use super::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};
use crate::engine::nn::layers::{Plane, BN_EPS};
use crate::engine::nn::lab::{LabModel, ModelKind};
use crate::engine::nn::net::{Activation, Kind, Layer, Net};

/// The opset the file declares (ReLU6 as `Clip` with bounds as inputs needs 11).
pub const OPSET: i64 = 13;
/// ONNX IR version 7 goes with opset 13.
const IR_VERSION: i64 = 7;
const FLOAT: i32 = 1;

/// The names of the exported graph's input and output.
pub const INPUT: &str = "input";
pub const OUTPUT: &str = "logits";

/// What a layer's output is: features per sample, or an NCHW image.
#[derive(Clone, Copy)]
enum Shape {
    Features,
    Image { plane: Plane, channels: usize },
}

/// Builds the graph node by node.
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    /// The name of the value the next node reads.
    current: String,
}

impl Graph {
    fn weight(&mut self, name: String, dims: &[usize], data: &[f32]) -> String {
        let raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializers.push(TensorProto { name: name.clone(), dims: dims.iter().map(|&d| d as i64).collect(), data_type: FLOAT, raw_data, ..Default::default() });
        name
    }

    /// A node reading the current value (and `more` inputs), whose output becomes current.
    fn node(&mut self, op: &str, name: String, more: Vec<String>, attribute: Vec<AttributeProto>) {
        let out = format!("{name}.out");
        let mut input = vec![std::mem::take(&mut self.current)];
        input.extend(more);
        self.nodes.push(NodeProto { name, op_type: op.into(), input, output: vec![out.clone()], attribute, ..Default::default() });
        self.current = out;
    }
}

fn ints(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: v.to_vec(), ..Default::default() }
}

fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: v, ..Default::default() }
}

fn float(name: &str, v: f32) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Float as i32, f: v, ..Default::default() }
}

fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension { value: Some(d.map_or_else(|| dimension::Value::DimParam("N".into()), |d| dimension::Value::DimValue(d as i64))), ..Default::default() })
        .collect();
    let tensor = type_proto::Tensor { elem_type: FLOAT, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto { name: name.into(), r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)), ..Default::default() }), ..Default::default() }
}

/// A layer's name in the file: its place and kind, as `l0_conv3x3`.
fn layer_name(i: usize, layer: &Layer) -> String {
    let kind = match layer.kind {
        Kind::Dense => "dense",
        Kind::Conv3x3 { .. } => "conv3x3",
        Kind::Depthwise3x3 { .. } => "depthwise3x3",
        Kind::Pointwise { .. } => "pointwise",
    };
    format!("l{i}_{kind}")
}

/// The dense weights' columns from the Lab's (h, w, c) order to ONNX's (c, h, w).
fn chw_columns(w: &[f32], outputs: usize, plane: Plane, channels: usize) -> Vec<f32> {
    let inputs = plane.positions() * channels;
    let mut out = vec![0f32; w.len()];
    for o in 0..outputs {
        let (src, dst) = (&w[o * inputs..][..inputs], &mut out[o * inputs..][..inputs]);
        for p in 0..plane.positions() {
            for c in 0..channels {
                dst[c * plane.positions() + p] = src[p * channels + c];
            }
        }
    }
    out
}

/// `net` as the bytes of an ONNX model named `name` (its doc string says what the Lab trained).
pub fn lab_to_onnx(net: &Net, name: &str, doc: &str) -> Result<Vec<u8>, String> {
    let first = net.layers.first().ok_or("the network has no layers")?;
    let (mut shape, input_dims) = match first.kind {
        Kind::Dense => (Shape::Features, vec![None, Some(first.inputs)]),
        Kind::Conv3x3 { plane, in_ch } => (Shape::Image { plane, channels: in_ch }, vec![None, Some(in_ch), Some(plane.h), Some(plane.w)]),
        Kind::Depthwise3x3 { plane } | Kind::Pointwise { plane } => {
            let channels = if matches!(first.kind, Kind::Pointwise { .. }) { first.inputs } else { first.outputs };
            (Shape::Image { plane, channels }, vec![None, Some(channels), Some(plane.h), Some(plane.w)])
        }
    };
    let mut g = Graph { nodes: Vec::new(), initializers: Vec::new(), current: INPUT.into() };
    for (i, layer) in net.layers.iter().enumerate() {
        let n = layer_name(i, layer);
        let bn_ok = layer.bn.as_ref().is_none_or(|bn| [&bn.gamma, &bn.beta, &bn.running_mean, &bn.running_var].iter().all(|v| v.len() == layer.outputs));
        if layer.w.len() != layer.inputs * layer.outputs || layer.b.len() != layer.outputs || !bn_ok {
            return Err(format!("layer {i} ({}): its parameters do not fit {} inputs and {} outputs", layer.describe(), layer.inputs, layer.outputs));
        }
        match (layer.kind, shape) {
            (Kind::Dense, _) => {
                let w = match shape {
                    Shape::Image { plane, channels } => {
                        if layer.inputs != plane.positions() * channels {
                            return Err(format!("layer {i} ({}) takes {} inputs, the layer before gives {}", layer.describe(), layer.inputs, plane.positions() * channels));
                        }
                        g.node("Flatten", format!("{n}/Flatten"), vec![], vec![int("axis", 1)]);
                        chw_columns(&layer.w, layer.outputs, plane, channels)
                    }
                    Shape::Features => layer.w.clone(),
                };
                let w = g.weight(format!("{n}.weight"), &[layer.outputs, layer.inputs], &w);
                let b = g.weight(format!("{n}.bias"), &[layer.outputs], &layer.b);
                g.node("Gemm", format!("{n}/Gemm"), vec![w, b], vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)]);
                shape = Shape::Features;
            }
            (_, Shape::Features) => return Err(format!("layer {i} ({}) is a convolution after a dense layer, which the Lab does not build", layer.describe())),
            (kind, Shape::Image { plane, .. }) => {
                let (k, group) = match kind {
                    Kind::Depthwise3x3 { .. } => (3, layer.outputs as i64),
                    Kind::Pointwise { .. } => (1, 1),
                    _ => (3, 1),
                };
                let pad = (k - 1) / 2;
                let w = g.weight(format!("{n}.weight"), &layer.weight_shape(), &layer.w);
                let b = g.weight(format!("{n}.bias"), &[layer.outputs], &layer.b);
                let attrs = vec![ints("kernel_shape", &[k, k]), ints("pads", &[pad; 4]), ints("strides", &[1, 1]), ints("dilations", &[1, 1]), int("group", group)];
                g.node("Conv", format!("{n}/Conv"), vec![w, b], attrs);
                shape = Shape::Image { plane, channels: layer.outputs };
            }
        }
        if let Some(bn) = &layer.bn {
            let ps = [("weight", &bn.gamma), ("bias", &bn.beta), ("running_mean", &bn.running_mean), ("running_var", &bn.running_var)];
            let inputs = ps.iter().map(|(p, v)| g.weight(format!("{n}.bn.{p}"), &[v.len()], v)).collect();
            g.node("BatchNormalization", format!("{n}/BatchNormalization"), inputs, vec![float("epsilon", BN_EPS), float("momentum", 0.9)]);
        }
        match layer.act {
            Activation::None => {}
            Activation::Relu => g.node("Relu", format!("{n}/Relu"), vec![], vec![]),
            Activation::Relu6 => {
                let lo = g.weight(format!("{n}.clip_min"), &[], &[0.0]);
                let hi = g.weight(format!("{n}.clip_max"), &[], &[6.0]);
                g.node("Clip", format!("{n}/Clip"), vec![lo, hi], vec![]);
            }
        }
        if layer.pool {
            let Shape::Image { plane, channels } = shape else { return Err(format!("layer {i} pools a dense output")) };
            g.node("MaxPool", format!("{n}/MaxPool"), vec![], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]);
            shape = Shape::Image { plane: Plane { h: plane.h / 2, w: plane.w / 2 }, channels };
        }
    }
    // The last node's output is the model's (no node reads it).
    if let Some(last) = g.nodes.last_mut() {
        last.output[0] = OUTPUT.into();
    }
    let output_dims = match shape {
        Shape::Features => vec![None, Some(net.outputs())],
        Shape::Image { plane, channels } => vec![None, Some(channels), Some(plane.h), Some(plane.w)],
    };
    let graph = GraphProto {
        name: name.into(),
        node: g.nodes,
        initializer: g.initializers,
        input: vec![value_info(INPUT, &input_dims)],
        output: vec![value_info(OUTPUT, &output_dims)],
        doc_string: doc.into(),
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
        producer_name: "QuantScope".into(),
        doc_string: doc.into(),
        graph: Some(graph),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}

/// The file name [`lab_files`] gives the test split (its labels go in
/// [`LABELS_FILE`](crate::engine::model::feed::LABELS_FILE)).
pub const TEST_INPUT_FILE: &str = "lab-test-input.npy";

/// What the Lab hands the Model view and the CLI writes with `lab --export`: its FP32 model as
/// ONNX (`lab-mlp.onnx` or `lab-cnn.onnx`), the test split shaped for the model's input, and the
/// split's labels.
pub fn lab_files(lab: &LabModel) -> Result<Vec<(String, Vec<u8>)>, String> {
    let c = &lab.config;
    let kind = match c.model {
        ModelKind::Mlp => "mlp",
        ModelKind::Cnn => "cnn",
    };
    let t = &lab.test;
    let samples = t.y.len();
    let doc = format!("QuantScope Lab: {}, FP32 accuracy {:.2}% on {samples} test samples, seed {}", c.model_name(), 100.0 * lab.fp32_accuracy, c.seed);
    let model = lab_to_onnx(&lab.net, &format!("lab-{kind}"), &doc)?;
    let shape = match (lab.net.layers.first().map(|l| l.kind), t.image) {
        (Some(Kind::Dense) | None, _) => vec![samples, t.features],
        (Some(_), Some((h, w))) => vec![samples, 1, h, w],
        (Some(_), None) => return Err("a convolutional model needs image data".into()),
    };
    if t.x.len() != samples * t.features {
        return Err(format!("the test split has {} values for {samples} samples of {} features", t.x.len(), t.features));
    }
    let labels: Vec<usize> = t.y.iter().map(|&y| usize::from(y)).collect();
    Ok(vec![
        (format!("lab-{kind}.onnx"), model),
        (TEST_INPUT_FILE.into(), crate::engine::io::npy::write_f32(&shape, &t.x)),
        (crate::engine::model::feed::LABELS_FILE.into(), crate::engine::io::npy::write_labels(&labels)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A network whose parameters do not fit its shape (a message from elsewhere) is refused by
    /// layer, not written as a model no runtime can load.
    #[test]
    fn parameters_that_do_not_fit_are_refused() {
        let mut net = Net::mlp(&[4, 3, 2], Activation::Relu, 1).unwrap();
        assert!(lab_to_onnx(&net, "ok", "").is_ok());
        net.layers[1].w.pop();
        let e = lab_to_onnx(&net, "bad", "").unwrap_err();
        assert!(e.starts_with("layer 1 (dense, 3 → 2)"), "{e}");
        assert!(lab_to_onnx(&Net { layers: vec![] }, "empty", "").is_err());
    }
}
