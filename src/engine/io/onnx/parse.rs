//! Reading an ONNX model's weights through tract-onnx's protobuf types (see the module above).

use std::collections::HashMap;

use prost::Message;

use super::{fold, quantized, GraphProto, ModelProto, NodeProto, Read, TensorProto, Use};
use crate::engine::io::{checked_count, Elem, LoadError};
use crate::engine::tensor::Tensor;

/// TensorProto.DataType values that are read.
const FLOAT: i32 = 1;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;
const BFLOAT16: i32 = 16;
const FLOAT8E4M3FN: i32 = 17;
const FLOAT8E5M2: i32 = 19;

pub(crate) fn is_float(data_type: i32) -> bool {
    matches!(data_type, FLOAT | FLOAT16 | DOUBLE | BFLOAT16)
}

/// Decodes a float TensorProto.
pub(crate) fn decode(file: &str, name: &str, t: &TensorProto) -> Result<Tensor, LoadError> {
    let err = |p: String| LoadError::new(file, Some(name), p);
    if t.data_location == Some(1) {
        return Err(err("its data is stored in an external file, which is not supported".into()));
    }
    let shape = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| err(format!("negative dimension {d}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let elem = match t.data_type {
        FLOAT => Elem::F32,
        FLOAT16 => Elem::F16,
        DOUBLE => Elem::F64,
        BFLOAT16 => Elem::BF16,
        FLOAT8E4M3FN => Elem::F8E4M3,
        FLOAT8E5M2 => Elem::F8E5M2,
        other => return Err(err(format!("data type {other} is not a float type"))),
    };
    let data = if !t.raw_data.is_empty() {
        let count = checked_count(file, name, &shape, elem.size(), t.raw_data.len())?;
        if count * elem.size() != t.raw_data.len() {
            return Err(err(format!("raw data has {} bytes, shape {shape:?} needs {}", t.raw_data.len(), count * elem.size())));
        }
        elem.decode(&t.raw_data, true)
    } else {
        let values: Vec<f32> = match elem {
            Elem::F32 => t.float_data.clone(),
            Elem::F64 => t.double_data.iter().map(|&v| v as f32).collect(),
            // Half types without raw data keep their bits in int32_data.
            Elem::F16 => t.int32_data.iter().map(|&b| half::f16::from_bits(b as u16).to_f32()).collect(),
            Elem::BF16 => t.int32_data.iter().map(|&b| half::bf16::from_bits(b as u16).to_f32()).collect(),
            Elem::F8E4M3 | Elem::F8E5M2 => t.int32_data.iter().flat_map(|&b| elem.decode(&[b as u8], true)).collect(),
        };
        let count = checked_count(file, name, &shape, 1, values.len())?;
        if count != values.len() {
            return Err(err(format!("{} values for shape {shape:?}, which holds {count}", values.len())));
        }
        values
    };
    Ok(Tensor { name: name.to_string(), shape, data, stored_as: elem.name().into() })
}

/// A float32 TensorProto holding `data` of `shape`, little-endian in `raw_data`.
pub(crate) fn encode_f32(name: &str, shape: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        dims: shape.iter().map(|&d| d as i64).collect(),
        data_type: FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        name: name.to_string(),
        ..Default::default()
    }
}

/// Reads the float initializers and Constant-node tensors of an ONNX model, and its quantized
/// ones dequantized ([`quantized`]), in graph order: by
/// the first node that reads each (a valid graph lists its nodes in an order they can run), then
/// by the input it reads it at, so a node's weights sit together; tensors no node reads come
/// last; a subgraph's after the node that holds it.
pub fn read(file: &str, bytes: &[u8], fold_bn: bool) -> Result<Vec<Tensor>, LoadError> {
    read_with_uses(file, bytes, fold_bn).map(|r| r.tensors)
}

/// [`read`], with the node that reads each tensor.
pub fn read_with_uses(file: &str, bytes: &[u8], fold_bn: bool) -> Result<Read, LoadError> {
    let model = ModelProto::decode(bytes).map_err(|e| LoadError::new(file, None, format!("not a valid ONNX model: {e}")))?;
    let mut graph = model.graph.ok_or_else(|| LoadError::new(file, None, "the model has no graph"))?;
    let mut out = Read::default();
    read_graph(file, &mut graph, "", fold_bn, &mut out, 0)?;
    Ok(out)
}

fn node_name(node: &NodeProto) -> String {
    if node.name.is_empty() { node.output.first().cloned().unwrap_or_default() } else { node.name.clone() }
}

/// Subgraphs nest at most this deep (a guard against a crafted file's recursion).
const MAX_DEPTH: usize = 32;

fn read_graph(file: &str, graph: &mut GraphProto, prefix: &str, fold_bn: bool, out: &mut Read, depth: usize) -> Result<(), LoadError> {
    if depth > MAX_DEPTH {
        return Err(LoadError::new(file, None, format!("subgraphs nest more than {MAX_DEPTH} deep")));
    }
    if fold_bn {
        fold::fold_batch_norms(file, graph)?;
    }
    let mut order = Vec::new();
    let mut by_name = HashMap::new();
    for init in graph.initializer.iter().filter(|t| is_float(t.data_type)) {
        let t = decode(file, &init.name, init)?;
        order.push(t.name.clone());
        by_name.insert(t.name.clone(), t);
    }
    for node in graph.node.iter().filter(|n| n.op_type == "Constant") {
        let (Some(out), Some(value)) = (node.output.first(), node.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref())) else {
            continue;
        };
        if is_float(value.data_type) {
            let t = decode(file, out, value)?;
            order.push(out.clone());
            by_name.insert(out.clone(), t);
        }
    }
    let mut stored = HashMap::new();
    for (t, how) in quantized::read(file, graph, node_name)? {
        order.push(t.name.clone());
        stored.insert(t.name.clone(), how);
        by_name.insert(t.name.clone(), t);
    }
    // The first node that reads each name, and where.
    let mut first: HashMap<&str, (usize, Use)> = HashMap::new();
    for (k, node) in graph.node.iter().enumerate() {
        for (input, name) in node.input.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
            first.entry(name.as_str()).or_insert_with(|| (k, Use { node: format!("{prefix}{}", node_name(node)), op: node.op_type.clone(), input }));
        }
    }
    // By node, then by the input a node reads each at (a stable sort: unread ones keep their
    // file order, last).
    order.sort_by_key(|n| first.get(n.as_str()).map_or((usize::MAX, 0), |f| (f.0, f.1.input)));
    for name in order {
        let Some(mut t) = by_name.remove(&name) else { continue };
        t.name.insert_str(0, prefix);
        if let Some((_, u)) = first.get(name.as_str()) {
            out.uses.insert(t.name.clone(), u.clone());
        }
        if let Some(how) = stored.remove(&name) {
            out.stored.insert(t.name.clone(), how);
        }
        out.tensors.push(t);
    }
    for node in &mut graph.node {
        let node_name = node_name(node);
        for a in &mut node.attribute {
            for g in a.g.iter_mut().chain(&mut a.graphs) {
                let inner = format!("{prefix}{node_name}.{}/", a.name);
                read_graph(file, g, &inner, fold_bn, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::engine::io::onnx::AttributeProto;

    pub fn tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
        TensorProto { dims: dims.to_vec(), data_type: FLOAT, float_data: data.to_vec(), name: name.into(), ..Default::default() }
    }

    fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
        NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: format!("{op}_0"),
            op_type: op.into(),
            ..Default::default()
        }
    }

    /// Conv (2 output channels) → BatchNormalization, plus a Constant node.
    pub fn conv_bn_model() -> Vec<u8> {
        let mut bn = node("BatchNormalization", &["y", "gamma", "beta", "mean", "var"], &["z"]);
        bn.attribute.push(AttributeProto { name: "epsilon".into(), f: 0.0, ..Default::default() });
        let mut constant = node("Constant", &[], &["c"]);
        constant.attribute.push(AttributeProto { name: "value".into(), t: Some(tensor("", &[2], &[7.0, 8.0])), ..Default::default() });
        let mut raw = tensor("raw", &[2], &[]);
        raw.raw_data = [0.5f32, 1.5].iter().flat_map(|v| v.to_le_bytes()).collect();
        let graph = GraphProto {
            node: vec![node("Conv", &["x", "w", "b"], &["y"]), bn, constant],
            name: "g".into(),
            initializer: vec![
                tensor("w", &[2, 1, 1, 2], &[1.0, 2.0, 3.0, 4.0]),
                tensor("b", &[2], &[1.0, 1.0]),
                tensor("gamma", &[2], &[2.0, 0.5]),
                tensor("beta", &[2], &[0.0, 1.0]),
                tensor("mean", &[2], &[1.0, 0.0]),
                tensor("var", &[2], &[4.0, 1.0]),
                raw,
                TensorProto { dims: vec![1], data_type: 7, name: "shape_i64".into(), ..Default::default() },
            ],
            ..Default::default()
        };
        ModelProto { ir_version: 8, producer_name: "quantscope-test".into(), graph: Some(graph), ..Default::default() }.encode_to_vec()
    }

    #[test]
    fn reads_initializers_constants_and_folds_bn() {
        let bytes = conv_bn_model();
        let ts = read("m.onnx", &bytes, false).unwrap();
        let names: Vec<&str> = ts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["w", "b", "gamma", "beta", "mean", "var", "raw", "c"]);
        assert_eq!(ts[6].data, vec![0.5, 1.5]);
        assert_eq!(ts[7].data, vec![7.0, 8.0]);
        let folded = read("m.onnx", &bytes, true).unwrap();
        let names: Vec<&str> = folded.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["w", "b", "raw", "c"], "the batch norm's parameters go with it");
        // γ/√var = [2/2, 0.5/1] = [1, 0.5]
        assert_eq!(folded[0].data, vec![1.0, 2.0, 1.5, 2.0]);
        // (b − mean)·factor + β = [(1 − 1)·1 + 0, (1 − 0)·0.5 + 1]
        assert_eq!(folded[1].data, vec![0.0, 1.5]);
    }

    /// Tensors come in graph order (by the first node that reads them), with that node.
    #[test]
    fn tensors_come_in_graph_order_with_their_node() {
        let mut bn = node("BatchNormalization", &["y", "gamma", "beta", "mean", "var"], &["z"]);
        bn.name = String::new();
        let graph = GraphProto {
            node: vec![node("Conv", &["x", "w", "b"], &["y"]), bn, node("MatMul", &["z", "fc"], &["out"])],
            // Stored in another order, as exporters often do (alphabetical, or by size).
            initializer: vec![
                tensor("fc", &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
                tensor("unused", &[1], &[0.0]),
                tensor("var", &[2], &[4.0, 1.0]),
                tensor("mean", &[2], &[1.0, 0.0]),
                tensor("beta", &[2], &[0.0, 1.0]),
                tensor("gamma", &[2], &[2.0, 0.5]),
                tensor("b", &[2], &[1.0, 1.0]),
                tensor("w", &[2, 1, 1, 2], &[1.0, 2.0, 3.0, 4.0]),
            ],
            ..Default::default()
        };
        let bytes = ModelProto { graph: Some(graph), ..Default::default() }.encode_to_vec();
        let r = read_with_uses("m.onnx", &bytes, false).unwrap();
        let names: Vec<&str> = r.tensors.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["w", "b", "gamma", "beta", "mean", "var", "fc", "unused"], "by node and input; unread last");
        assert_eq!(r.uses["w"], Use { node: "Conv_0".into(), op: "Conv".into(), input: 1 });
        let gamma = &r.uses["gamma"];
        assert!(gamma.is_batch_norm_parameter() && gamma.node == "z", "an unnamed node goes by its output: {gamma:?}");
        assert!(!r.uses["fc"].is_batch_norm_parameter() && !r.uses.contains_key("unused"));
    }

    #[test]
    fn bad_models_are_described() {
        assert!(read("m.onnx", b"\xff\xff\xff", false).unwrap_err().problem.contains("not a valid ONNX"));
        let empty = ModelProto::default().encode_to_vec();
        assert!(read("m.onnx", &empty, false).unwrap_err().problem.contains("no graph"));
        let bad = ModelProto {
            graph: Some(GraphProto { initializer: vec![tensor("w", &[3], &[1.0])], ..Default::default() }),
            ..Default::default()
        };
        let e = read("m.onnx", &bad.encode_to_vec(), false).unwrap_err();
        assert_eq!(e.tensor.as_deref(), Some("w"));
        let neg = ModelProto {
            graph: Some(GraphProto { initializer: vec![tensor("n", &[-1], &[])], ..Default::default() }),
            ..Default::default()
        };
        assert!(read("m.onnx", &neg.encode_to_vec(), false).unwrap_err().problem.contains("negative"));
    }
}
