//! Calibration inside the graph: an identity op after each activation hands its values to that
//! activation's observer while tract makes them. A calibration run then keeps no activation
//! alive to the end and copies none, which keeps it close to a plain run's speed and memory.

use std::sync::{Arc, Mutex};

use tract_onnx::prelude::{tvec, TValue, TVec, TractResult, TypedFact};
use tract_onnx::tract_core::internal::{as_op, op_as_typed_op, EvalContext, EvalOp, Op, StaticName, TypedOp};

use super::calibrate::Settings;
use crate::engine::observer::{finite_min_max, Granularity, Observer};

/// The observers of every tapped activation, made when a slot first sees values (its rank
/// decides per-channel or per-tensor).
pub struct Sink {
    pub settings: Settings,
    pub observers: Vec<Option<Box<dyn Observer>>>,
    /// The channel axis each slot observes along, when per channel.
    pub axes: Vec<Option<usize>>,
    /// The largest finite |x| each slot has seen.
    pub abs_max: Vec<f32>,
    /// The first error an observer gave (a tract op cannot return one of ours).
    pub error: Option<String>,
}

impl Sink {
    pub fn new(settings: Settings) -> Sink {
        Sink { settings, observers: Vec::new(), axes: Vec::new(), abs_max: Vec::new(), error: None }
    }

    fn observe(&mut self, slot: usize, data: &[f32], shape: &[usize]) {
        if self.observers.len() <= slot {
            self.observers.resize_with(slot + 1, || None);
            self.axes.resize(slot + 1, None);
            self.abs_max.resize(slot + 1, 0.0);
        }
        if self.observers[slot].is_none() {
            let axis = (self.settings.per_channel && shape.len() >= 2).then_some(1);
            let granularity = axis.map_or(Granularity::PerTensor, |axis| Granularity::PerChannel { axis });
            match self.settings.observer.build(self.settings.common, granularity) {
                Ok(o) => self.observers[slot] = Some(o),
                Err(e) => {
                    self.error.get_or_insert(e.to_string());
                    return;
                }
            }
            self.axes[slot] = axis;
        }
        // One pass for |x| max, whose result is all a per-tensor min/max observer needs.
        let (lo, hi, bad) = finite_min_max(data);
        if lo <= hi {
            self.abs_max[slot] = self.abs_max[slot].max(lo.abs()).max(hi.abs());
        }
        if let Some(o) = self.observers[slot].as_mut() {
            if !o.observe_extremes(lo, hi, bad) {
                if let Err(e) = o.observe(data, shape) {
                    self.error.get_or_insert(e.to_string());
                }
            }
        }
    }
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sink({} slots)", self.observers.len())
    }
}

/// Feeds its input to observer `slot` of `sink` and passes it on unchanged.
#[derive(Clone, Debug)]
pub struct Tap {
    pub slot: usize,
    pub sink: Arc<Mutex<Sink>>,
}

impl PartialEq for Tap {
    fn eq(&self, other: &Tap) -> bool {
        self.slot == other.slot && Arc::ptr_eq(&self.sink, &other.sink)
    }
}

impl Eq for Tap {}

impl Op for Tap {
    fn name(&self) -> StaticName {
        "QuantScopeTap".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Tap {
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        {
            let x = &inputs[0];
            let view = x.try_as_plain_ram()?;
            let data = view.as_slice::<f32>()?;
            let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
            sink.observe(self.slot, data, x.shape());
        }
        Ok(inputs)
    }

    fn eval_out_of_plan(&self, inputs: TVec<TValue>) -> TractResult<Option<TVec<TValue>>> {
        Ok(Some(self.eval(&EvalContext::out_of_plan(), inputs)?))
    }
}

impl TypedOp for Tap {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].without_value()))
    }

    as_op!();
}
