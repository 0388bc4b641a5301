//! The activation observers of calibration and QAT: one per slot (the input, then each layer's
//! output), all of one kind.

use super::*;

/// One observer per activation slot (the input, then each layer's output), all of one kind,
/// affine over `range`. Frozen observers keep their scale and zero point (QAT's late epochs).
pub struct ActObservers {
    observers: Vec<Box<dyn Observer>>,
    range: QRange,
    pub frozen: bool,
    last: Vec<QParams>,
}

impl ActObservers {
    /// `slots` observers of `kind`.
    pub fn new(kind: ObserverKind, range: QRange, slots: usize) -> Result<ActObservers, NnError> {
        let observers = (0..slots)
            .map(|_| kind.build(Common { scheme: QScheme::Affine, range }, Granularity::PerTensor))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| NnError::Quant(format!("activation observer: {e}")))?;
        Ok(ActObservers { observers, range, frozen: false, last: vec![QParams::UNOBSERVED; slots] })
    }

    /// The scale and zero point of every slot now.
    pub fn qparams(&self) -> Vec<QParams> {
        self.observers.iter().map(|o| o.qparams()[0]).collect()
    }

    /// The simulation these observers describe, with `weights`.
    pub fn sim(&self, weights: WeightQuant) -> QuantSim {
        let q = self.qparams();
        QuantSim { weights, act_range: self.range, input: q[0], outputs: q[1..].to_vec() }
    }
}

impl ActObserve for ActObservers {
    fn observe(&mut self, slot: usize, values: &[f32]) -> QParams {
        if !self.frozen {
            // An observer error (none of the engine's for a flat batch) leaves the range as is.
            let _ = self.observers[slot].observe(values, &[values.len()]);
            self.last[slot] = self.observers[slot].qparams()[0];
        } else if self.last[slot] == QParams::UNOBSERVED {
            self.last[slot] = self.observers[slot].qparams()[0];
        }
        self.last[slot]
    }
}
