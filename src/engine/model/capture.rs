//! One activation's values over a whole dataset, fed batch by batch as a calibration feeds it:
//! what the Explorer shows of an activation, and what its observer-dynamics view replays batch
//! by batch (the batches are the calibration's: `batch_rows` rows each along the first axis).

use super::feed::Runners;
use super::runner::Capture;
use super::{Dataset, Model, ModelError};
use crate::engine::tensor::Tensor;

/// The most values a capture may hold (256 MiB of f32).
pub const MAX_CAPTURED_VALUES: usize = 1 << 26;

/// An activation's values over every batch, end to end along the first axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Captured {
    pub tensor: Tensor,
    /// Rows (along the first axis) each batch gave; the last batch may have given fewer.
    pub batch_rows: usize,
    pub batches: usize,
}

/// A capture under way: one batch per [`Capturing::step`], for progress and cancel.
pub struct Capturing {
    name: String,
    batch: usize,
    runners: Runners,
    done: usize,
    values: Vec<f32>,
    /// The dims after the first, and the rows of each batch so far.
    rest: Option<Vec<usize>>,
    rows: Vec<usize>,
}

impl Capturing {
    /// Captures activation `name` over a dataset fed `batch` samples at a time.
    pub fn new(name: &str, batch: usize) -> Capturing {
        let batch = batch.max(1);
        Capturing { name: name.into(), batch, runners: Runners::with_capture(Capture::Only(name.into())), done: 0, values: Vec::new(), rest: None, rows: Vec::new() }
    }

    /// Batches run so far, of all.
    pub fn progress(&self, data: &Dataset) -> (usize, usize) {
        (self.done, data.batch_count(self.batch))
    }

    /// Runs the next batch of `data` through `model`; the capture once the last has run.
    pub fn step(&mut self, model: &Model, data: &Dataset) -> Result<Option<Captured>, ModelError> {
        let total = data.batch_count(self.batch);
        let inputs = data.batch(self.done, self.batch);
        let runner = self.runners.for_inputs(model, &inputs)?;
        let bad = |problem: String| ModelError::file(&model.file, format!("activation “{}”: {problem}", self.name));
        if runner.activations.is_empty() {
            return Err(bad("no float value of known shape has this name in the model".into()));
        }
        let mut out = runner.run(&inputs)?;
        let act = out.activations.pop().expect("one activation asked for");
        let (rows, rest) = match act.shape.split_first() {
            Some((&r, rest)) => (r, rest.to_vec()),
            None => (1, Vec::new()),
        };
        match &self.rest {
            None => self.rest = Some(rest),
            Some(before) if *before != rest => return Err(bad(format!("its shape changes from batch to batch ({before:?} after the first axis, then {rest:?})"))),
            Some(_) => {}
        }
        if self.rows.first().is_some_and(|&first| rows > first || self.rows.last() != Some(&first)) {
            return Err(bad(format!("its first axis does not follow the batches ({:?} rows, then {rows})", self.rows)));
        }
        if self.values.len() + act.data.len() > MAX_CAPTURED_VALUES {
            return Err(bad(format!("more than {MAX_CAPTURED_VALUES} values over the data; calibrate on fewer samples to open it")));
        }
        self.values.extend_from_slice(&act.data);
        self.rows.push(rows);
        self.done += 1;
        if self.done < total {
            return Ok(None);
        }
        let mut shape = vec![self.rows.iter().sum()];
        shape.extend(self.rest.take().unwrap_or_default());
        let tensor = Tensor { name: self.name.clone(), shape, data: std::mem::take(&mut self.values), stored_as: "f32".into() };
        Ok(Some(Captured { tensor, batch_rows: self.rows[0], batches: self.rows.len() }))
    }
}
