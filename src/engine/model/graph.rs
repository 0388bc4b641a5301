//! What an ONNX model declares: its inputs (with their element types and dimensions, fixed or
//! named), its outputs and its nodes in graph order. Read from tract-onnx's protobuf messages.

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType, type_proto::Value};

use super::declared::{Dim, ElemType, InputInfo, NodeInfo};
use super::ModelError;

/// A decoded ONNX model and what it declares.
#[derive(Clone, Debug)]
pub struct Model {
    /// The file name, for messages.
    pub file: String,
    pub proto: pb::ModelProto,
    pub inputs: Vec<InputInfo>,
    pub outputs: Vec<String>,
    pub nodes: Vec<NodeInfo>,
}

impl Model {
    /// Decodes `bytes` (the contents of `file`).
    pub fn read(file: &str, bytes: &[u8]) -> Result<Model, ModelError> {
        let proto = pb::ModelProto::decode(bytes).map_err(|e| ModelError::file(file, format!("not a valid ONNX model: {e}")))?;
        Model::from_proto(file, proto)
    }

    /// What `proto` declares (a model read, or one the engine changed: folded, quantized).
    pub fn from_proto(file: &str, proto: pb::ModelProto) -> Result<Model, ModelError> {
        let graph = proto.graph.as_ref().ok_or_else(|| ModelError::file(file, "the model has no graph"))?;
        let weights: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs: Vec<InputInfo> = graph.input.iter().filter(|i| !weights.contains(i.name.as_str())).map(input_info).collect();
        if inputs.is_empty() {
            return Err(ModelError::file(file, "the model has no inputs to feed"));
        }
        if graph.output.is_empty() {
            return Err(ModelError::file(file, "the model has no outputs"));
        }
        let nodes = graph
            .node
            .iter()
            .enumerate()
            .map(|(i, n)| NodeInfo {
                name: if !n.name.is_empty() {
                    n.name.clone()
                } else if let Some(o) = n.output.first().filter(|o| !o.is_empty()) {
                    o.clone()
                } else {
                    format!("{i}-{}", n.op_type)
                },
                op: n.op_type.clone(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
            })
            .collect();
        let outputs = graph.output.iter().map(|o| o.name.clone()).collect();
        Ok(Model { file: file.to_string(), inputs, outputs, nodes, proto })
    }

    /// The ONNX op of the node tract calls `name`: the node of that name, or the one whose name
    /// tract extended (`conv_1.bias`, `conv_1#2`) when it expanded the node into several.
    pub fn op_of(&self, name: &str) -> Option<String> {
        if let Some(n) = self.nodes.iter().find(|n| n.name == name) {
            return Some(n.op.clone());
        }
        self.nodes
            .iter()
            .filter(|n| name.starts_with(&n.name) && name[n.name.len()..].starts_with(|c: char| !c.is_alphanumeric() && c != '_'))
            .max_by_key(|n| n.name.len())
            .map(|n| n.op.clone())
    }
}

fn input_info(v: &pb::ValueInfoProto) -> InputInfo {
    let tensor = v.r#type.as_ref().and_then(|t| t.value.as_ref()).map(|Value::TensorType(t)| t);
    let elem = elem_type(tensor.map_or(DataType::Float as i32, |t| t.elem_type));
    let dims = tensor.and_then(|t| t.shape.as_ref()).map(|s| {
        s.dim
            .iter()
            .map(|d| match &d.value {
                Some(pb::tensor_shape_proto::dimension::Value::DimValue(n)) if *n >= 0 => Dim::Fixed(*n as usize),
                Some(pb::tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() => Dim::Named(p.clone()),
                _ => Dim::Unknown,
            })
            .collect()
    });
    InputInfo { name: v.name.clone(), elem, dims }
}

/// The element type of ONNX type code `code`.
fn elem_type(code: i32) -> ElemType {
    match DataType::try_from(code) {
        Ok(DataType::Float) => ElemType::F32,
        Ok(DataType::Double) => ElemType::F64,
        Ok(DataType::Float16) => ElemType::F16,
        Ok(DataType::Int64) => ElemType::I64,
        Ok(DataType::Int32) => ElemType::I32,
        Ok(DataType::Int8) => ElemType::I8,
        Ok(DataType::Uint8) => ElemType::U8,
        Ok(DataType::Bool) => ElemType::Bool,
        _ => ElemType::Other(code),
    }
}
