//! A tract plan for one model at fixed input shapes. A plain runner computes the model's
//! outputs; a capturing one also keeps every float node output of the main graph (each ONNX
//! node's outputs, under their ONNX names), as onnxruntime's calibrators do by adding them as
//! graph outputs.
//!
//! Shapes are fixed before tract optimises the model: its kernels are chosen for them, which
//! makes a run several times faster than with symbolic dimensions.

use std::sync::{Arc, Mutex};

use tract_onnx::prelude::{tvec, DatumType, InferenceFact, InferenceModelExt, TValue, TVec, Tensor as TractTensor, TypedSimplePlan};
use tract_onnx::tract_core::plan::SimplePlan;

use super::declared::{ElemType, InputInfo};
use super::error::{from_tract, guarded};
use super::graph::Model;
use super::ptq::fakequant::{insert_after, FakeQuant};
use super::tap::{Sink, Tap};
use super::ModelError;
use crate::engine::tensor::{element_count, Tensor};
use tract_onnx::tract_core::internal::TypedOp;

/// A node output that a capturing runner keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activation {
    /// The ONNX name of the value.
    pub name: String,
    /// The node that produces it and its op.
    pub node: String,
    pub op: String,
    /// Its index among the model's nodes (graph order).
    pub node_index: usize,
    pub shape: Vec<usize>,
}

/// What one run returns: the model's outputs, and the activations when capturing (in the order
/// of [`Runner::activations`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs {
    pub outputs: Vec<Tensor>,
    pub activations: Vec<Tensor>,
}

/// Models that would reach undefined behaviour in tract 0.23.9 rather than an error (found by
/// the fuzz tests): a BatchNormalization whose data input is a constant of rank below 2 makes its
/// shape inference index past a slice unchecked.
fn refuse_known_tract_faults(model: &Model) -> Result<(), ModelError> {
    let Some(graph) = model.proto.graph.as_ref() else {
        return Ok(());
    };
    // tract takes a stored tensor's dims on trust, and folds constants at those dims: a tensor
    // whose dims promise more values than it holds could make it allocate for the dims (an
    // abort, not an error). Refuse it by name.
    let values = graph.node.iter().filter(|n| n.op_type == "Constant").filter_map(|n| n.attribute.iter().find_map(|a| a.t.as_ref()));
    for t in graph.initializer.iter().chain(values) {
        if let Some(problem) = stored_count_mismatch(t) {
            return Err(ModelError::file(&model.file, format!("tensor “{}”: {problem}", t.name)));
        }
    }
    let constants = crate::engine::io::onnx::fold::Constants::of(graph);
    for n in graph.node.iter().filter(|n| n.op_type == "BatchNormalization") {
        let data = n.input.first().map(String::as_str).unwrap_or("");
        let rank = constants
            .get(graph, data)
            .map(|t| t.dims.len())
            .or_else(|| model.inputs.iter().find(|i| i.name == data).and_then(|i| i.dims.as_ref().map(Vec::len)));
        if rank.is_some_and(|r| r < 2) || n.input.len() < 5 {
            let name = if n.name.is_empty() { n.output.first().cloned().unwrap_or_default() } else { n.name.clone() };
            return Err(ModelError::Node {
                file: model.file.clone(),
                node: name,
                op: n.op_type.clone(),
                problem: "needs a data input with a channel axis and four parameters".into(),
            });
        }
    }
    Ok(())
}

/// Why a stored tensor's dims disagree with the values it holds (`None` when they agree, or when
/// its type's size is not known here, or its data lives in an external file).
fn stored_count_mismatch(t: &crate::engine::io::onnx::TensorProto) -> Option<String> {
    if t.data_location == Some(1) {
        return None;
    }
    let want = t.dims.iter().try_fold(1u64, |n, &d| u64::try_from(d).ok().and_then(|d| n.checked_mul(d)));
    let Some(want) = want else { return Some(format!("its dims {:?} are negative or too large", t.dims)) };
    // Bytes per value of the types whose raw data is read as a whole number of values.
    let size: u64 = match t.data_type {
        2 | 3 | 9 => 1,
        4 | 5 | 10 | 16 => 2,
        1 | 6 | 12 => 4,
        7 | 11 | 13 => 8,
        _ => return None,
    };
    let held = if t.raw_data.is_empty() {
        (t.float_data.len() + t.int32_data.len() + t.int64_data.len() + t.double_data.len() + t.uint64_data.len()) as u64
    } else {
        t.raw_data.len() as u64 / size
    };
    (held != want).then(|| format!("its dims {:?} make {want} values, it holds {held}", t.dims))
}

/// What a runner keeps of the activations.
#[derive(Clone, Debug)]
pub enum Capture {
    None,
    /// Every float activation, returned by [`Runner::run`].
    Values,
    /// Every float activation, fed to the sink's observers inside the graph.
    Taps(Arc<Mutex<Sink>>),
    /// The one activation of this name, returned by [`Runner::run`] (if it is a float value of
    /// known shape).
    Only(String),
}

/// A model prepared to run at fixed input shapes.
#[derive(Debug)]
pub struct Runner {
    file: String,
    plan: Arc<TypedSimplePlan>,
    inputs: Vec<(InputInfo, Vec<usize>)>,
    /// The model's output names.
    pub outputs: Vec<String>,
    /// The activations kept, in graph order.
    pub activations: Vec<Activation>,
    /// For each activation, its position among the plan's outputs.
    slots: Vec<usize>,
}

/// The most values one input may hold (1 GiB of f32).
pub const MAX_INPUT_VALUES: usize = 1 << 28;

fn datum(elem: ElemType) -> Option<DatumType> {
    Some(match elem {
        ElemType::F32 => DatumType::F32,
        ElemType::F64 => DatumType::F64,
        ElemType::F16 => DatumType::F16,
        ElemType::I64 => DatumType::I64,
        ElemType::I32 => DatumType::I32,
        ElemType::I8 => DatumType::I8,
        ElemType::U8 => DatumType::U8,
        ElemType::Bool => DatumType::Bool,
        ElemType::Other(_) => return None,
    })
}

fn is_float(dt: DatumType) -> bool {
    matches!(dt, DatumType::F32 | DatumType::F16 | DatumType::F64)
}

impl Runner {
    /// Prepares `model` for inputs of `shapes` (one per [`Model::inputs`]); with `capture`,
    /// every float node output is kept too.
    pub fn new(model: &Model, shapes: &[Vec<usize>], capture: bool) -> Result<Runner, ModelError> {
        let capture = if capture { Capture::Values } else { Capture::None };
        guarded(&model.file, || Runner::build(model, shapes, &capture, &[]))
    }

    /// As [`Runner::new`], with the values named in `quantizers` fake-quantized where they are
    /// made: every reader sees the fake-quantized values, and so do the captured activations.
    pub fn with_fake_quant(model: &Model, shapes: &[Vec<usize>], capture: bool, quantizers: &[(String, FakeQuant)]) -> Result<Runner, ModelError> {
        let capture = if capture { Capture::Values } else { Capture::None };
        let ops: Vec<(String, Box<dyn TypedOp>)> = quantizers.iter().map(|(n, q)| (n.clone(), Box::new(q.clone()) as Box<dyn TypedOp>)).collect();
        guarded(&model.file, || Runner::build(model, shapes, &capture, &ops))
    }

    /// A runner whose activations are observed in the graph, by `sink`'s observers (slot `k`
    /// is activation `k` of [`Runner::activations`]); it returns the model's outputs only.
    pub fn with_taps(model: &Model, shapes: &[Vec<usize>], sink: Arc<Mutex<Sink>>) -> Result<Runner, ModelError> {
        Runner::with_capture(model, shapes, &Capture::Taps(sink))
    }

    /// A runner that keeps `capture` of the activations.
    pub fn with_capture(model: &Model, shapes: &[Vec<usize>], capture: &Capture) -> Result<Runner, ModelError> {
        guarded(&model.file, || Runner::build(model, shapes, capture, &[]))
    }

    fn build(model: &Model, shapes: &[Vec<usize>], capture: &Capture, inserted: &[(String, Box<dyn TypedOp>)]) -> Result<Runner, ModelError> {
        let file = model.file.as_str();
        if shapes.len() != model.inputs.len() {
            return Err(ModelError::file(file, format!("the model has {} inputs, {} shapes were given", model.inputs.len(), shapes.len())));
        }
        let tract = |e: &tract_onnx::prelude::TractError| from_tract(file, e, |n| model.op_of(n));
        refuse_known_tract_faults(model)?;
        let onnx = tract_onnx::onnx().with_ignore_value_info(true).with_ignore_output_shapes(true);
        let parsed = onnx.parse(&model.proto, None).map_err(|e| tract(&e))?;
        if let Some(name) = parsed.unresolved_inputs.first() {
            return Err(ModelError::file(file, format!("the value “{name}” is read by a node but no node, input or initializer makes it")));
        }
        let mut im = parsed.model;
        let mut inputs = Vec::with_capacity(shapes.len());
        for (i, (info, shape)) in model.inputs.iter().zip(shapes).enumerate() {
            if !info.accepts(shape) {
                return Err(ModelError::input(file, &info.name, format!("shape {shape:?} does not fit the declared {}", info.dims_text())));
            }
            // Each dimension too: an empty input of [2⁴⁰, 1, 2, 0] holds no value, yet a pool
            // over it made tract allocate 2⁴⁴ bytes for the output (an abort; the fuzz test).
            if element_count(shape).is_none_or(|n| n > MAX_INPUT_VALUES) || shape.iter().any(|&d| d > MAX_INPUT_VALUES) {
                return Err(ModelError::input(file, &info.name, format!("shape {shape:?} holds more than {MAX_INPUT_VALUES} values")));
            }
            let dt = datum(info.elem).ok_or_else(|| ModelError::input(file, &info.name, "its element type cannot be fed"))?;
            im.set_input_fact(i, InferenceFact::dt_shape(dt, shape.clone())).map_err(|e| tract(&e))?;
            inputs.push((info.clone(), shape.clone()));
        }
        let mut outlets = im.output_outlets().map_err(|e| tract(&e))?.to_vec();
        let model_outputs = outlets.len();
        let mut wanted = Vec::new();
        if !matches!(capture, Capture::None) {
            for (index, node) in model.nodes.iter().enumerate().filter(|(_, n)| n.op != "Constant") {
                let only = |o: &String| if let Capture::Only(n) = capture { n == o } else { true };
                for name in node.outputs.iter().filter(|o| !o.is_empty() && only(o)) {
                    let Some(&outlet) = parsed.outlets_by_name.get(name) else {
                        continue;
                    };
                    let slot = outlets.iter().position(|o| *o == outlet).unwrap_or_else(|| {
                        outlets.push(outlet);
                        outlets.len() - 1
                    });
                    wanted.push((slot, index, name.clone()));
                }
            }
        }
        // The values to fake-quantize become outputs too, to be found again in the typed model.
        let first_quantizer = outlets.len();
        for (name, _) in inserted {
            let outlet = *parsed.outlets_by_name.get(name).ok_or_else(|| ModelError::file(file, format!("no value “{name}” to quantize")))?;
            outlets.push(outlet);
        }
        im.select_output_outlets(&outlets).map_err(|e| tract(&e))?;
        let mut typed = im.into_typed().map_err(|e| tract(&e))?;
        let targets = typed.output_outlets().map_err(|e| tract(&e))?[first_quantizer..].to_vec();
        for (target, (_, op)) in targets.into_iter().zip(inserted) {
            insert_after(&mut typed, target, op.clone()).map_err(|e| tract(&e))?;
        }
        // Keep the float activations of known shape; drop the other extra outputs.
        let typed_outlets = typed.output_outlets().map_err(|e| tract(&e))?.to_vec();
        let mut kept = typed_outlets[..model_outputs].to_vec();
        let mut activations = Vec::new();
        let mut slots = Vec::new();
        for (slot, node_index, name) in wanted {
            let fact = typed.outlet_fact(typed_outlets[slot]).map_err(|e| tract(&e))?;
            let Some(shape) = fact.shape.as_concrete().map(|s| s.to_vec()) else {
                continue;
            };
            if !is_float(fact.datum_type) {
                continue;
            }
            let node = &model.nodes[node_index];
            if let Capture::Taps(sink) = capture {
                let tap = Tap { slot: activations.len(), sink: sink.clone() };
                insert_after(&mut typed, typed_outlets[slot], Box::new(tap)).map_err(|e| tract(&e))?;
            } else {
                let new_slot = if slot < model_outputs {
                    slot
                } else {
                    kept.push(typed_outlets[slot]);
                    kept.len() - 1
                };
                slots.push(new_slot);
            }
            activations.push(Activation { name, node: node.name.clone(), op: node.op.clone(), node_index, shape });
        }
        // A tap after a model output took its place among the outputs.
        let current = typed.output_outlets().map_err(|e| tract(&e))?.to_vec();
        kept[..model_outputs].copy_from_slice(&current[..model_outputs]);
        typed.select_output_outlets(&kept).map_err(|e| tract(&e))?;
        let optimized = typed.into_optimized().map_err(|e| tract(&e))?;
        let plan = SimplePlan::new(optimized).map_err(|e| tract(&e))?;
        Ok(Runner { file: file.to_string(), plan, inputs, outputs: model.outputs.clone(), activations, slots })
    }

    /// The model's file name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The input shapes this runner was prepared for.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs.iter().map(|(_, s)| s.clone()).collect()
    }

    /// Runs the model on `inputs` (one per model input, f32 values converted to the input's
    /// type). NaN or infinite values, fractions fed to an integer input and shapes other than the
    /// prepared ones are refused, naming the input.
    pub fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
        let file = self.file.as_str();
        if inputs.len() != self.inputs.len() {
            return Err(ModelError::file(file, format!("the model has {} inputs, {} were given", self.inputs.len(), inputs.len())));
        }
        let mut values: TVec<TValue> = tvec![];
        for ((info, shape), t) in self.inputs.iter().zip(inputs) {
            let bad = |p: String| ModelError::input(file, &info.name, p);
            if &t.shape != shape {
                return Err(bad(format!("has shape {:?}, the model was prepared for {shape:?}", t.shape)));
            }
            if element_count(&t.shape) != Some(t.data.len()) {
                return Err(bad(format!("{} values for shape {:?}", t.data.len(), t.shape)));
            }
            if let Some(i) = t.data.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!("value {i} is {}; inputs must be finite", t.data[i])));
            }
            if info.elem.is_integer() {
                if let Some(i) = t.data.iter().position(|v| v.fract() != 0.0) {
                    return Err(bad(format!("value {i} is {}, but the input holds integers", t.data[i])));
                }
            }
            let dt = datum(info.elem).ok_or_else(|| bad("its element type cannot be fed".into()))?;
            let tensor = TractTensor::from_shape(shape, &t.data).and_then(|x| Ok(x.cast_to_dt(dt)?.into_owned())).map_err(|e| bad(e.to_string()))?;
            values.push(tensor.into());
        }
        let results = guarded(file, || self.plan.run(values).map_err(|e| from_tract(file, &e, |_| None)))?;
        let to_tensor = |name: &str, v: &TValue| -> Result<Tensor, ModelError> {
            let data = v
                .cast_to::<f32>()
                .and_then(|c| Ok(c.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()))
                .map_err(|e| ModelError::file(file, format!("output “{name}”: {e}")))?;
            Ok(Tensor { name: name.to_string(), shape: v.shape().to_vec(), data, stored_as: format!("{:?}", v.datum_type()).to_lowercase() })
        };
        let outputs = self.outputs.iter().zip(results.iter()).map(|(n, v)| to_tensor(n, v)).collect::<Result<_, _>>()?;
        let activations = self.activations.iter().zip(&self.slots).map(|(a, &s)| to_tensor(&a.name, &results[s])).collect::<Result<_, _>>()?;
        Ok(Outputs { outputs, activations })
    }
}
