//! Lab runs end to end on small settings: every phase, the sweep, the CNN's folding, cancel and bad
//! settings.

use super::*;

fn clock() -> f64 {
    0.0
}

/// The Learn lesson's account of what QAT does to the reference MLP's weights at W2A4 (and
/// the Lab's weight histograms show): they move by a fraction of a step, about a fifth lie
/// within a tenth of a step of a grid point before QAT and after (chance), and QAT changes
/// the integer code of a few percent of them, while it recovers accuracy.
#[test]
fn qat_changes_a_few_codes_and_does_not_pull_the_weights_onto_the_grid() {
    let cfg = LabConfig { weight_bits: 2, act_bits: 4, ..LabConfig::default() };
    let r = run(cfg, &clock, &mut |_| true).unwrap();
    assert!(r.qat.integer.accuracy >= r.ptq.integer.accuracy + 0.03, "QAT {} PTQ {}", r.qat.integer.accuracy, r.ptq.integer.accuracy);
    let wq = r.qat.sim.weights;
    assert!(r.ptq.weight_codes_changed.iter().all(|&c| c == 0.0), "PTQ converts the FP32 weights: {:?}", r.ptq.weight_codes_changed);
    for (l, (f, q)) in r.fp32_model.layers.iter().zip(&r.qat_model.layers).enumerate() {
        let recoded = r.qat.weight_codes_changed[l];
        assert!((0.01..0.06).contains(&recoded), "layer {l}: {recoded} of the codes changed");
        let (before, after) = (wq.share_near_grid(&f.w, f.inputs, 0.1), wq.share_near_grid(&q.w, q.inputs, 0.1));
        assert!((0.15..0.27).contains(&before) && (after - before).abs() < 0.02, "layer {l}: near the grid {before} before, {after} after");
    }
}

#[test]
fn a_small_run_goes_through_every_phase() {
    let cfg = LabConfig {
        dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Moons, n: 400, noise: 0.1 },
        hidden: vec![16, 16],
        epochs: 30,
        qat_epochs: 3,
        weight_bits: 8,
        act_bits: 8,
        optimizer: OptimizerKind::Adam { lr: 0.01 },
        ..LabConfig::default()
    };
    let mut steps = Vec::new();
    let r = run(cfg.clone(), &clock, &mut |p| {
        steps.push((p.phase, p.fraction));
        true
    })
    .unwrap();
    assert_eq!((r.train_samples, r.test_samples), (300, 100));
    assert!(r.fp32.accuracy > 0.95, "moons are easy: {}", r.fp32.accuracy);
    assert!(r.ptq.integer.accuracy > 0.9 && r.qat.integer.accuracy > 0.9, "{} {}", r.ptq.integer.accuracy, r.qat.integer.accuracy);
    assert!(r.ptq.agreement.max_code_diff <= 1 && r.qat.agreement.max_code_diff <= 1);
    assert_eq!(r.history.len(), 33);
    assert!(steps.windows(2).all(|w| w[0].1 <= w[1].1) && steps.last() == Some(&(Phase::Done, 1.0)));
    assert_eq!(r.ptq.weight_sqnr.len(), 3);
    // The decision boundary of moons: each model agrees with the labels of most test points'
    // cells, and the grid has every cell.
    let b = r.boundaries.as_ref().unwrap();
    assert_eq!(b.fp32.len(), BOUNDARY_RESOLUTION * BOUNDARY_RESOLUTION);
    let cell = |x: f32, y: f32| {
        let col = (((x - b.x.0) / (b.x.1 - b.x.0)) * b.resolution as f32) as usize;
        let row = (((y - b.y.0) / (b.y.1 - b.y.0)) * b.resolution as f32) as usize;
        row.min(b.resolution - 1) * b.resolution + col.min(b.resolution - 1)
    };
    let hits = r.test.x.chunks(2).zip(&r.test.y).filter(|(p, &y)| b.fp32[cell(p[0], p[1])] == y).count();
    assert!(hits as f64 >= 0.9 * r.test.y.len() as f64, "{hits} of {}", r.test.y.len());
    assert!(b.ptq.iter().zip(&b.fp32).filter(|(p, f)| p == f).count() > b.fp32.len() * 9 / 10);
    // Seeded: the same config gives the same report.
    assert_eq!(run(cfg, &clock, &mut |_| true).unwrap(), r);
}

#[test]
fn the_sweep_runs_every_pair_from_one_fp32_model() {
    let cfg = LabConfig {
        dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Circles, n: 300, noise: 0.05 },
        hidden: vec![16],
        epochs: 20,
        qat_epochs: 1,
        optimizer: OptimizerKind::Adam { lr: 0.02 },
        ..LabConfig::default()
    };
    let mut sweep = LabSweep::new(cfg.clone()).unwrap();
    let total = sweep.total_steps();
    let mut steps = 0;
    let report = loop {
        steps += 1;
        if let Some(r) = sweep.step(&clock).unwrap() {
            break r;
        }
    };
    assert_eq!(steps, total);
    assert_eq!(report.points.iter().map(|p| (p.weight_bits, p.act_bits)).collect::<Vec<_>>(), SWEEP_BITS.to_vec());
    // W8A8 PTQ equals the full run's PTQ at W8A8 (the same FP32 model, the same calibration).
    let full = run(LabConfig { weight_bits: 8, act_bits: 8, ..cfg }, &clock, &mut |_| true).unwrap();
    assert_eq!((report.fp32, report.points[0].ptq, report.points[0].qat), (full.fp32.accuracy, full.ptq.integer.accuracy, full.qat.integer.accuracy));
}

#[test]
fn the_cnn_folds_batch_norm_and_its_integer_model_agrees() {
    let cfg = LabConfig { model: ModelKind::Cnn, channels: [4, 8], epochs: 5, qat_epochs: 2, weight_bits: 8, act_bits: 8, freeze_bn_after: Some(0), ..LabConfig::default() };
    let r = run(cfg.clone(), &clock, &mut |_| true).unwrap();
    assert!(r.fp32.accuracy > 0.8, "five epochs on digits: {}", r.fp32.accuracy);
    assert!((r.ptq.integer.accuracy - r.fp32.accuracy).abs() < 0.03, "W8A8 PTQ {} FP32 {}", r.ptq.integer.accuracy, r.fp32.accuracy);
    for q in [&r.ptq, &r.qat] {
        assert!(q.agreement.max_code_diff <= 1 && q.agreement.identical * 100 >= q.agreement.samples * 95, "{:?}", q.agreement);
        assert_eq!((q.weight_sqnr.len(), q.model.layers.len()), (4, 4));
    }
    // PTQ converts the FP32 weights; two QAT epochs move folded codes (at W8 a step is
    // small: most of them).
    assert_eq!(r.ptq.weight_codes_changed, vec![0.0; 4]);
    assert!(r.qat.weight_codes_changed.iter().all(|&c| c > 0.0 && c <= 1.0), "{:?}", r.qat.weight_codes_changed);
    // Frozen from QAT's first epoch: the running statistics are FP32's; else QAT moves them.
    let stats = |n: &Net| n.layers.iter().filter_map(|l| l.bn.as_ref().map(|b| (b.running_mean.clone(), b.running_var.clone()))).collect::<Vec<_>>();
    assert_eq!(stats(&r.qat_model), stats(&r.fp32_model));
    assert_ne!(r.qat_model.layers[0].w, r.fp32_model.layers[0].w, "QAT trains the weights");
    let moving = run(LabConfig { freeze_bn_after: None, ..cfg.clone() }, &clock, &mut |_| true).unwrap();
    assert_ne!(stats(&moving.qat_model), stats(&moving.fp32_model));
    assert_eq!(stats(&moving.fp32_model), stats(&r.fp32_model), "the same FP32 run");
    // The sweep runs the CNN too, every pair from the one FP32 model.
    let small = LabConfig { channels: [2, 4], epochs: 2, qat_epochs: 1, freeze_bn_after: None, ..cfg.clone() };
    let mut sweep = LabSweep::new(small).unwrap();
    let report = loop {
        if let Some(r) = sweep.step(&clock).unwrap() {
            break r;
        }
    };
    assert_eq!(report.points.len(), SWEEP_BITS.len());
    assert!(report.points.iter().all(|p| p.ptq > 0.0 && p.qat > 0.0));
    // The CNN needs images.
    let flat = LabConfig { model: ModelKind::Cnn, dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Moons, n: 100, noise: 0.1 }, ..LabConfig::default() };
    assert!(matches!(LabRun::new(flat), Err(NnError::Config(m)) if m.contains("needs images")));
}

#[test]
fn cancel_and_bad_settings_are_errors() {
    let cfg = LabConfig { dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Xor, n: 100, noise: 0.0 }, epochs: 2, ..LabConfig::default() };
    assert_eq!(run(cfg.clone(), &clock, &mut |_| false).unwrap_err(), NnError::Cancelled);
    for bad in [
        LabConfig { weight_bits: 1, ..cfg.clone() },
        LabConfig { batch: 0, ..cfg.clone() },
        LabConfig { optimizer: OptimizerKind::Adam { lr: f32::NAN }, ..cfg.clone() },
        LabConfig { calib_samples: 0, ..cfg.clone() },
        LabConfig { dataset: DatasetSpec::Synthetic { kind: Synthetic2d::Xor, n: 5, noise: 0.0 }, ..cfg.clone() },
    ] {
        assert!(matches!(LabRun::new(bad), Err(NnError::Config(_))));
    }
}
