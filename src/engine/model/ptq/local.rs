//! Local error: each quantized layer run on its own, fed the float model's input to it, as
//! PyTorch's Numeric Suite shadow modules and onnxruntime's `qdq_loss_debug` do. It separates
//! what a layer costs by itself from what it inherits from the layers before it (the cumulative
//! error).
//!
//! Each layer becomes a one-node model: its activation inputs are graph inputs (fake-quantized
//! when the full model quantizes them), its constants are copied (with the quantized weights),
//! and its output is fake-quantized when the full model quantizes it there.

use std::collections::HashMap;

use crate::engine::io::onnx::fold::Constants;
use crate::engine::io::onnx::pb::{self, GraphProto, ModelProto, NodeProto, ValueInfoProto};
use crate::engine::model::graph::Model;
use crate::engine::model::runner::Runner;
use crate::engine::model::ModelError;
use crate::engine::tensor::Tensor;

use super::fakequant::FakeQuant;

fn value_info(name: &str, shape: &[usize]) -> ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as DimValue, Dimension};
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: 1,
                shape: Some(pb::TensorShapeProto { dim: shape.iter().map(|&d| Dimension { value: Some(DimValue::DimValue(d as i64)), ..Default::default() }).collect() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One layer as a runnable model of its own.
pub struct LocalLayer {
    runner: Runner,
    /// The names of the values it reads, in input order.
    inputs: Vec<String>,
}

impl LocalLayer {
    /// The node of `quantized` (the model with quantized weights) that makes `output`, as a
    /// model of its own; `shapes` gives the shape of every float value it may read. `None` when
    /// the node reads a value that is neither a float activation nor a constant (a computed
    /// shape, say).
    pub fn new(quantized: &Model, output: &str, shapes: &HashMap<String, Vec<usize>>, quantizers: &[(String, FakeQuant)]) -> Result<Option<LocalLayer>, ModelError> {
        let file = quantized.file.as_str();
        let graph = quantized.proto.graph.as_ref().ok_or_else(|| ModelError::file(file, "the model has no graph"))?;
        let Some(node) = graph.node.iter().find(|n| n.output.first().is_some_and(|o| o == output)) else { return Ok(None) };
        let constants = Constants::of(graph);
        let mut sub = GraphProto { name: format!("{}.local", node.name), ..Default::default() };
        let mut inputs = Vec::new();
        for i in node.input.iter().filter(|i| !i.is_empty()) {
            if let Some(t) = constants.get(graph, i) {
                let mut t = t.clone();
                t.name = i.clone();
                sub.initializer.push(t);
            } else if let Some(shape) = shapes.get(i) {
                if !inputs.contains(i) {
                    sub.input.push(value_info(i, shape));
                    inputs.push(i.clone());
                }
            } else {
                return Ok(None);
            }
        }
        sub.node.push(NodeProto { ..node.clone() });
        sub.output.push(ValueInfoProto { name: output.to_string(), ..Default::default() });
        let proto = ModelProto { ir_version: quantized.proto.ir_version, opset_import: quantized.proto.opset_import.clone(), graph: Some(sub), ..Default::default() };
        let model = Model::from_proto(file, proto)?;
        let wanted: Vec<(String, FakeQuant)> = quantizers.iter().filter(|(n, _)| inputs.contains(n) || n == output).cloned().collect();
        let input_shapes: Vec<Vec<usize>> = inputs.iter().map(|i| shapes[i].clone()).collect();
        let runner = Runner::with_fake_quant(&model, &input_shapes, false, &wanted)?;
        Ok(Some(LocalLayer { runner, inputs }))
    }

    /// Runs the layer on the float model's values (by name), and returns its output.
    pub fn run(&self, values: &HashMap<&str, &Tensor>) -> Result<Option<Tensor>, ModelError> {
        let mut inputs = Vec::with_capacity(self.inputs.len());
        for name in &self.inputs {
            let Some(t) = values.get(name.as_str()) else { return Ok(None) };
            inputs.push(Tensor { name: name.clone(), ..(*t).clone() });
        }
        Ok(self.runner.run(&inputs)?.outputs.into_iter().next())
    }
}
