//! Fake quantization inside a tract graph: an op that rounds a float tensor onto a quantization
//! grid and back, with the engine's own quantizer (round half to even, clamp to the integer
//! range, as `torch.fake_quantize_per_tensor_affine`), and the surgery that puts it after chosen
//! node outputs.

use tract_onnx::prelude::{tvec, IntoTensor, OutletId, TValue, TVec, TractResult, TypedFact, TypedModel};
use tract_onnx::tract_core::internal::{as_op, op_as_typed_op, EvalContext, EvalOp, Op, SpecialOps, StaticName, TypedOp};

use crate::engine::quantizer::qparams::{QParams, QRange};
use crate::engine::quantizer::quantize::fake_quantize_inplace;

/// `x ↦ (clamp(round(x/s) + z, qmin, qmax) − z)·s`, per tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuant {
    pub params: QParams,
    pub range: QRange,
}

/// Equality is by value (the op's parameters are never NaN), which tract's graph needs.
impl Eq for FakeQuant {}

impl Op for FakeQuant {
    fn name(&self) -> StaticName {
        "QuantScopeFakeQuant".into()
    }

    op_as_typed_op!();
}

impl EvalOp for FakeQuant {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut x = inputs.into_iter().next().expect("one input").into_tensor();
        fake_quantize_inplace(x.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?, self.params, self.range);
        Ok(tvec!(x.into()))
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for FakeQuant {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].without_value()))
    }

    as_op!();
}

/// Puts `op` (a [`FakeQuant`], a tap) after `outlet`: every reader of it, model outputs
/// included, reads the op's output instead.
pub fn insert_after(model: &mut TypedModel, outlet: OutletId, op: Box<dyn TypedOp>) -> TractResult<OutletId> {
    let readers = model.outlet_successors(outlet).to_vec();
    let name = format!("{}.{}.{}", model.node(outlet.node).name, op.name(), outlet.slot);
    let fq = model.wire_node(name, op, &[outlet])?[0];
    for inlet in readers {
        model.add_edge(fq, inlet)?;
    }
    let outputs: Vec<OutletId> = model.output_outlets()?.iter().map(|&o| if o == outlet { fq } else { o }).collect();
    model.select_output_outlets(&outputs)?;
    Ok(fq)
}
