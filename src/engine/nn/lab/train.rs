//! The steps an experiment is made of: training epochs, calibration, evaluation in float, simulated
//! and integer, and the report of one quantized model.

use super::*;

/// Mini-batches of `indices` in order: each the samples' features and labels.
pub(super) fn batches<'a>(d: &'a Dataset, indices: &'a [usize], batch: usize) -> impl Iterator<Item = (Vec<f32>, Vec<u8>)> + 'a {
    indices.chunks(batch).map(move |chunk| {
        let mut x = Vec::with_capacity(chunk.len() * d.features);
        for &i in chunk {
            x.extend_from_slice(d.sample(i));
        }
        (x, chunk.iter().map(|&i| d.y[i]).collect())
    })
}

/// One pass over `train` in shuffled mini-batches (seeded by the run's seed and `epoch`), in
/// float or, with `qat`, fake-quantized with the observers updated on each batch. Batch norm
/// trains on batch statistics and updates its running ones, unless `freeze_bn`. Returns the
/// mean training loss.
pub fn train_epoch(model: &mut Net, optimizer: &mut Optimizer, train: &Dataset, cfg: &LabConfig, epoch: usize, mut qat: Option<&mut ActObservers>, freeze_bn: bool) -> Result<f64, NnError> {
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)));
    let mut tape = Tape::default();
    let mut grads = Grads::new();
    let (mut total, mut seen) = (0f64, 0usize);
    for (x, y) in batches(train, &order, cfg.batch) {
        match qat.as_mut() {
            Some(observers) => {
                let mut sim = observers.sim(cfg.weight_quant());
                model.forward(&x, y.len(), Quant::Sim(&mut sim, Some(&mut **observers as &mut dyn ActObserve)), !freeze_bn, &mut tape);
            }
            None => model.forward(&x, y.len(), Quant::Float, !freeze_bn, &mut tape),
        }
        let loss = model.backward(&tape, &y, &mut grads);
        if !loss.is_finite() {
            return Err(NnError::Model(format!("the loss became {loss} at epoch {}: lower the learning rate", epoch + 1)));
        }
        total += loss as f64 * y.len() as f64;
        seen += y.len();
        if !freeze_bn {
            model.update_batch_norm(&tape);
        }
        let flat: Vec<&Vec<f32>> = grads.iter().collect();
        optimizer.step(model.params_mut(), &flat);
    }
    Ok(total / seen.max(1) as f64)
}

/// Shows `x`'s float activations (the input, then each layer's output before pooling) to
/// `observers`.
pub fn calibrate(model: &Net, x: &[f32], observers: &mut ActObservers) {
    let batch = x.len() / model.inputs().max(1);
    model.forward(x, batch, Quant::Observe(observers), false, &mut Tape::default());
}

pub(super) fn evaluate_float(model: &Net, test: &Dataset) -> Eval {
    let mut tape = Tape::default();
    model.forward(&test.x, test.len(), Quant::Float, false, &mut tape);
    Eval::of(&tape.output, &test.y, test.classes)
}

/// The simulation of `model` (batch norm folded) on `test`.
pub(super) fn evaluate_sim(model: &Net, sim: &QuantSim, test: &Dataset) -> Eval {
    let mut tape = Tape::default();
    let mut sim = sim.clone();
    model.forward(&test.x, test.len(), Quant::Sim(&mut sim, None), false, &mut tape);
    Eval::of(&tape.output, &test.y, test.classes)
}

/// Converts `model` under `sim`, runs the integer model and the simulation on `test`, and
/// compares them with each other and with the float model, and its weights' codes with those of
/// `fp32` (the FP32 model, batch norm folded as `model` is). Also returns the milliseconds the
/// integer model took over the test split.
pub(super) fn quant_report(model: &Net, fp32: &Net, sim: QuantSim, test: &Dataset, now: &dyn Fn() -> f64) -> Result<(QuantReport, f64), NnError> {
    let int = IntNet::convert(model, &sim)?;
    let classes = test.classes;
    // The simulation, layer by layer.
    let (mut float, mut quant) = (Tape::default(), Tape::default());
    model.forward(&test.x, test.len(), Quant::Float, false, &mut float);
    let mut s = sim.clone();
    model.forward(&test.x, test.len(), Quant::Sim(&mut s, None), false, &mut quant);
    let simulated = Eval::of(&quant.output, &test.y, classes);
    let out = *sim.outputs.last().expect("layers");
    let sim_codes: Vec<Vec<i32>> = quant.output.chunks(classes).map(|r| r.iter().map(|&v| quantize_one(v, out, sim.act_range, Rounding::HalfEven, 0)).collect()).collect();
    // The integer model, sample by sample.
    let t = now();
    let (int_codes, logits) = run_integer(&int, test);
    let integer_ms = now() - t;
    let integer = Eval::of(&logits, &test.y, classes);
    let agreement = Agreement::of(&int_codes, &sim_codes);
    // SQNR of each layer's weights, and of each layer's output on the test split.
    let wq = sim.weights;
    let weight_sqnr = model
        .layers
        .iter()
        .map(|layer| {
            let params = wq.qparams(&layer.w, layer.inputs);
            let (mut q, mut m) = (Vec::new(), Vec::new());
            wq.fake_quantize(&layer.w, layer.inputs, &params, &mut q, &mut m);
            sqnr_db(&layer.w, &q)
        })
        .collect();
    let activation_sqnr = (0..model.layers.len()).map(|l| sqnr_db(float.layer_output(l), quant.layer_output(l))).collect();
    let weight_range_ratio = model
        .layers
        .iter()
        .map(|layer| {
            let ranges: Vec<f32> = layer.w.chunks(layer.inputs.max(1)).map(crate::engine::observer::finite_min_max).map(|(lo, hi, _)| hi - lo).collect();
            crate::engine::views::inspect::range_ratio(&ranges)
        })
        .collect();
    let weight_codes_changed = fp32.layers.iter().zip(&model.layers).map(|(f, q)| wq.share_recoded(&f.w, &q.w, q.inputs)).collect();
    Ok((QuantReport { integer, simulated, agreement, weight_sqnr, activation_sqnr, weight_range_ratio, weight_codes_changed, sim, model: int }, integer_ms))
}

/// Every test sample through the integer model: output codes and the logits read off them.
pub fn run_integer(int: &IntNet, test: &Dataset) -> (Vec<Vec<i32>>, Vec<f32>) {
    let mut codes = Vec::new();
    int.quantize_input(&test.x, &mut codes);
    let out = int.run_batch(&codes, test.len());
    let logits = int.logits(&out);
    (out.chunks(test.classes).map(<[i32]>::to_vec).collect(), logits)
}

/// The class the integer model predicts for each sample's output codes.
pub fn predictions(codes: &[Vec<i32>]) -> Vec<usize> {
    codes.iter().map(|c| argmax_i32(c)).collect()
}
