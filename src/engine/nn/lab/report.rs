//! What a Lab experiment reports: accuracy and agreement of each model, per-epoch statistics, timings,
//! the test set and the decision regions of 2-D data.

use super::*;

/// How a model does on the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Eval {
    pub accuracy: f64,
    pub loss: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<u32>>,
    /// Test samples it gets wrong (indices into the test split), and its prediction for each.
    pub misclassified: Vec<(usize, u8)>,
}

impl Eval {
    pub(super) fn of(logits: &[f32], labels: &[u8], classes: usize) -> Eval {
        let (loss, _) = softmax_cross_entropy(logits, labels, classes);
        let mut confusion = vec![vec![0u32; classes]; classes];
        let mut misclassified = Vec::new();
        for (i, (row, &y)) in logits.chunks(classes).zip(labels).enumerate() {
            let p = row.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (j, &v)| if v > bv { (j, v) } else { (bi, bv) }).0;
            confusion[y as usize][p] += 1;
            if p != y as usize {
                misclassified.push((i, p as u8));
            }
        }
        let correct = labels.len() - misclassified.len();
        Eval { accuracy: correct as f64 / labels.len().max(1) as f64, loss: loss as f64, confusion, misclassified }
    }
}

/// A quantized model's results: the integer model on the test split, the fake-quantized
/// simulation it should equal, their agreement, and SQNR layer by layer (like PyTorch's Numeric
/// Suite: float against quantized weights, and float against quantized activations on the test
/// split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuantReport {
    pub integer: Eval,
    pub simulated: Eval,
    pub agreement: Agreement,
    pub weight_sqnr: Vec<Option<f64>>,
    pub activation_sqnr: Vec<Option<f64>>,
    /// Per layer: the widest output channel's weight range over the narrowest (batch norm
    /// folded), where per-tensor quantization hurts (`None` for fewer than two channels).
    pub weight_range_ratio: Vec<Option<f64>>,
    /// Per layer: the share of weights whose integer code differs from the FP32 model's, both
    /// rounded on this model's grid (batch norm folded): 0 for PTQ, which converts the FP32
    /// weights; for QAT, how many codes fine-tuning moved ([`WeightQuant::share_recoded`]).
    ///
    /// [`WeightQuant::share_recoded`]: crate::engine::nn::net::WeightQuant::share_recoded
    pub weight_codes_changed: Vec<f64>,
    pub sim: QuantSim,
    pub model: IntNet,
}

/// One epoch's figures, for the curves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    pub phase: Phase,
    pub epoch: usize,
    pub train_loss: f64,
    pub test_accuracy: f64,
}

/// Where a run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Fp32,
    Ptq,
    Qat,
    Done,
}

/// Milliseconds each phase took (by the caller's clock).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub fp32_ms: f64,
    pub ptq_ms: f64,
    pub qat_ms: f64,
    /// Integer inference over the whole test split, PTQ's model.
    pub integer_inference_ms: f64,
}

/// Everything an experiment found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabReport {
    pub config: LabConfig,
    pub train_samples: usize,
    pub test_samples: usize,
    pub fp32: Eval,
    pub ptq: QuantReport,
    pub qat: QuantReport,
    pub history: Vec<EpochStats>,
    pub timings: Timings,
    /// The FP32 model, and the QAT-trained one (float weights, batch norm not folded).
    pub fp32_model: Net,
    pub qat_model: Net,
    /// The test split (for the misclassified samples' pictures).
    pub test: TestSet,
    /// For 2-D data: each model's class over a grid (the decision boundary).
    pub boundaries: Option<Boundaries>,
}

/// The test split's samples, as the report carries them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestSet {
    pub x: Vec<f32>,
    pub y: Vec<u8>,
    pub features: usize,
    pub image: Option<(usize, usize)>,
}

/// Classes over a `resolution × resolution` grid spanning `x` × `y` (row 0 at `y.0`), for the
/// FP32 model and both integer models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    pub x: (f32, f32),
    pub y: (f32, f32),
    pub resolution: usize,
    pub fp32: Vec<u8>,
    pub ptq: Vec<u8>,
    pub qat: Vec<u8>,
}

/// Cells per side of the decision-boundary grid.
pub const BOUNDARY_RESOLUTION: usize = 80;

/// The grid over `data`'s span (with a margin), and each model's class at every cell's centre.
pub(super) fn boundaries(data: &Dataset, fp32: &Net, ptq: &IntNet, qat: &IntNet) -> Boundaries {
    let n = BOUNDARY_RESOLUTION;
    let span = |k: usize| {
        let v = data.x.iter().skip(k).step_by(2);
        let (lo, hi) = v.fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let pad = ((hi - lo) * 0.1).max(0.1);
        (lo - pad, hi + pad)
    };
    let (x, y) = (span(0), span(1));
    let mut grid = Vec::with_capacity(2 * n * n);
    for row in 0..n {
        for col in 0..n {
            grid.push(x.0 + (col as f32 + 0.5) / n as f32 * (x.1 - x.0));
            grid.push(y.0 + (row as f32 + 0.5) / n as f32 * (y.1 - y.0));
        }
    }
    let cells = Dataset { name: "grid".into(), x: grid, y: vec![0; n * n], features: 2, classes: data.classes, image: None };
    let mut tape = Tape::default();
    fp32.forward(&cells.x, n * n, Quant::Float, false, &mut tape);
    let float = tape.output.chunks(data.classes).map(|r| r.iter().enumerate().fold((0, f32::NEG_INFINITY), |(bi, bv), (j, &v)| if v > bv { (j, v) } else { (bi, bv) }).0 as u8).collect();
    let int = |m: &IntNet| predictions(&run_integer(m, &cells).0).into_iter().map(|c| c as u8).collect();
    Boundaries { x, y, resolution: n, fp32: float, ptq: int(ptq), qat: int(qat) }
}

/// What the Lab hands on to be run as a real model: its FP32 network (batch norm not folded),
/// its settings and the test split (see `engine::io::onnx::export::lab_files`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabModel {
    pub net: Net,
    pub config: LabConfig,
    pub test: TestSet,
    pub fp32_accuracy: f64,
}

impl LabReport {
    pub fn model(&self) -> LabModel {
        LabModel { net: self.fp32_model.clone(), config: self.config.clone(), test: self.test.clone(), fp32_accuracy: self.fp32.accuracy }
    }
}
