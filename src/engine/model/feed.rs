//! Feeding a model: the user's arrays matched to the model's inputs, cut into batches along
//! their first axis, and the runners that run them (one per distinct set of input shapes, so a
//! shorter last batch works too).

use super::declared::Dim;
use super::graph::Model;
use super::runner::{Capture, Runner};
use super::ModelError;
use crate::engine::tensor::Tensor;

/// The arrays fed to a model, one per input, in the model's input order.
#[derive(Clone, Debug)]
pub struct Dataset {
    inputs: Vec<Tensor>,
    /// Whether each input is cut along axis 0 (its first dimension is dynamic, or the batch
    /// axis of a fixed-batch model); the others are fed whole with every batch.
    batched: Vec<bool>,
    samples: usize,
}

impl Dataset {
    /// Matches `arrays` to the model's inputs by name; a model with one input takes the only
    /// array whatever its name.
    pub fn new(model: &Model, arrays: Vec<Tensor>) -> Result<Dataset, ModelError> {
        let file = model.file.as_str();
        let mut arrays: Vec<Option<Tensor>> = arrays.into_iter().map(Some).collect();
        let mut inputs = Vec::with_capacity(model.inputs.len());
        for info in &model.inputs {
            let pos = arrays.iter().position(|a| a.as_ref().is_some_and(|a| a.name == info.name));
            let pos = match pos {
                Some(p) => p,
                None if model.inputs.len() == 1 && arrays.len() == 1 => 0,
                None => {
                    let given: Vec<String> = arrays.iter().flatten().map(|a| format!("“{}”", a.name)).collect();
                    return Err(ModelError::input(
                        file,
                        &info.name,
                        format!("no array for it (given: {})", if given.is_empty() { "none".into() } else { given.join(", ") }),
                    ));
                }
            };
            let a = arrays[pos].take().ok_or_else(|| ModelError::input(file, &info.name, "given twice"))?;
            inputs.push(a);
        }
        if let Some(extra) = arrays.into_iter().flatten().next() {
            let names: Vec<&str> = model.inputs.iter().map(|i| i.name.as_str()).collect();
            return Err(ModelError::file(file, format!("the array “{}” matches no input (the model's inputs: {})", extra.name, names.join(", "))));
        }
        let batched: Vec<bool> = model
            .inputs
            .iter()
            .zip(&inputs)
            .map(|(info, a)| !a.shape.is_empty() && info.dims.as_ref().is_none_or(|d| !matches!(d.first(), Some(Dim::Fixed(_)))))
            .collect();
        let mut samples = None;
        for ((info, a), &b) in model.inputs.iter().zip(&inputs).zip(&batched) {
            if !b {
                continue;
            }
            match samples {
                None => samples = Some(a.shape[0]),
                Some(n) if n != a.shape[0] => {
                    return Err(ModelError::input(file, &info.name, format!("has {} samples along its first axis, another input has {n}", a.shape[0])));
                }
                Some(_) => {}
            }
        }
        let samples = samples.unwrap_or(1);
        if samples == 0 {
            return Err(ModelError::file(file, "the input arrays hold no samples"));
        }
        Ok(Dataset { inputs, batched, samples })
    }

    /// Whether the values were drawn by [`synthetic`], not given.
    pub fn is_synthetic(&self) -> bool {
        self.inputs.iter().any(|t| t.stored_as == SYNTHETIC)
    }

    /// Samples along the first axis (1 when no input is batched).
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// The number of batches of `batch` samples (the last may be shorter).
    pub fn batch_count(&self, batch: usize) -> usize {
        if self.batched.iter().any(|&b| b) {
            self.samples.div_ceil(batch.max(1))
        } else {
            1
        }
    }

    /// Batch `index` of `batch` samples: the batched inputs' rows `index·batch …`, the others
    /// whole.
    pub fn batch(&self, index: usize, batch: usize) -> Vec<Tensor> {
        let batch = batch.max(1);
        let start = (index * batch).min(self.samples);
        let end = (start + batch).min(self.samples);
        self.inputs
            .iter()
            .zip(&self.batched)
            .map(|(t, &b)| {
                if !b {
                    return t.clone();
                }
                let row: usize = t.shape[1..].iter().product();
                let mut shape = t.shape.clone();
                shape[0] = end - start;
                Tensor { name: t.name.clone(), shape, data: t.data[start * row..end * row].to_vec(), stored_as: t.stored_as.clone() }
            })
            .collect()
    }
}

/// Appends `part` to `all` along the first axis.
pub fn concat_rows(all: &mut Tensor, part: Tensor) -> Result<(), String> {
    if all.shape.is_empty() || all.shape[1..] != part.shape.get(1..).unwrap_or(&[])[..] {
        return Err(format!("batches give shapes {:?} and {:?}, which do not stack along the first axis", all.shape, part.shape));
    }
    all.shape[0] += part.shape[0];
    all.data.extend(part.data);
    Ok(())
}

/// The file name that labels samples: a `.npy` of one integer class per sample, given among the
/// arrays (in the Model view, and to the CLI's `--input`/`--calib`), read by
/// [`read_labels`](crate::engine::io::npy::read_labels).
pub const LABELS_FILE: &str = "labels.npy";

/// Whether `path` holds the samples' labels rather than an input: its file name is
/// [`LABELS_FILE`] (any case), and the model has no input named `labels`.
pub fn is_labels_file(model: &Model, path: &str) -> bool {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    base.eq_ignore_ascii_case(LABELS_FILE) && !model.inputs.iter().any(|i| i.name == "labels")
}

/// How [`synthetic`] marks what it draws.
const SYNTHETIC: &str = "synthetic";

/// Seeded synthetic input: for each input, `samples` rows of N(0, 1) values at its default shape
/// ([`crate::engine::model::InputInfo::default_shape`]), the batch axis holding the samples when
/// it is dynamic (a fixed batch is drawn as it is). Values land where a normalised picture's do;
/// results from them are labelled synthetic wherever they appear.
pub fn synthetic(model: &Model, samples: usize, seed: u64) -> Result<Vec<Tensor>, ModelError> {
    use crate::engine::synth::{sample, Dist};
    let file = model.file.as_str();
    if samples == 0 {
        return Err(ModelError::file(file, "synthetic input needs at least one sample"));
    }
    let mut out = Vec::with_capacity(model.inputs.len());
    for (k, info) in model.inputs.iter().enumerate() {
        if info.elem.is_integer() {
            return Err(ModelError::input(file, &info.name, "takes integers: give arrays for it, synthetic input is for float inputs"));
        }
        let mut shape = info.default_shape();
        if let (Some(first), Some(dims)) = (shape.first_mut(), info.dims.as_ref()) {
            if !matches!(dims.first(), Some(Dim::Fixed(_))) {
                *first = samples;
            }
        }
        let n = crate::engine::tensor::element_count(&shape).filter(|&n| n <= super::runner::MAX_INPUT_VALUES).ok_or_else(|| ModelError::input(file, &info.name, format!("{samples} synthetic samples of {shape:?} are too many values")))?;
        let data = sample(Dist::Normal { mean: 0.0, std: 1.0 }, n, seed.wrapping_add(k as u64), None).map_err(|e| ModelError::input(file, &info.name, e.to_string()))?;
        out.push(Tensor { name: info.name.clone(), shape, data, stored_as: SYNTHETIC.into() });
    }
    Ok(out)
}

/// Runners for one model, built on first use for each set of input shapes. (The model is given
/// at each use, so that a job can keep both side by side.)
pub struct Runners {
    capture: Capture,
    built: Vec<Runner>,
}

impl Runners {
    /// Plain runners, or (`capture`) runners that return every activation.
    pub fn new(capture: bool) -> Runners {
        Runners::with_capture(if capture { Capture::Values } else { Capture::None })
    }

    pub fn with_capture(capture: Capture) -> Runners {
        Runners { capture, built: Vec::new() }
    }

    /// The runner of `model` for inputs of these shapes (always the same model).
    pub fn for_inputs(&mut self, model: &Model, inputs: &[Tensor]) -> Result<&Runner, ModelError> {
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape.clone()).collect();
        if let Some(i) = self.built.iter().position(|r| r.input_shapes() == shapes) {
            return Ok(&self.built[i]);
        }
        self.built.push(Runner::with_capture(model, &shapes, &self.capture)?);
        Ok(self.built.last().expect("just pushed"))
    }
}
