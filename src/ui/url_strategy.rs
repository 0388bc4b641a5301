//! Proptest strategies for the URL state: any state the field table's ranges allow. The URL
//! state's own property tests use them, and so does the end-to-end test that drives the Explorer
//! through random states (`tests/e2e_heavy.rs`, which includes this file by path; hence the
//! `quantscope::` paths, which the crate also answers to).

use proptest::prelude::*;
use quantscope::engine::observer::Tails;
use quantscope::engine::quantizer::qparams::QScheme;
use quantscope::ui::state::*;

/// Any state the URL can hold (the Lab's settings at their defaults; see [`any_lab`]).
pub fn any_state() -> impl Strategy<Value = UrlState> {
    let base = (0..VIEWS.len(), 0..DISTS.len(), MIN_SAMPLES..=MAX_SAMPLES, any::<u64>(), MIN_BITS..=MAX_BITS, any::<bool>(), any::<bool>());
    let data = (1..=MAX_CHANNELS, 1f32..MAX_SPREAD, 0f32..0.5, 0f32..MAX_ABS_VALUE);
    let observer = (0..OBSERVERS.len(), 1e-4f32..1.0, 1e-3f64..100.0, any::<bool>());
    let quant = (0..CODES.len(), any::<bool>(), any::<bool>(), proptest::option::of((-65536i64..=0, 0i64..=65536)), any::<bool>(), 0..ROUNDINGS.len());
    let manual = proptest::option::of((-MAX_ABS_VALUE..MAX_ABS_VALUE, -MAX_ABS_VALUE..MAX_ABS_VALUE));
    let file = (any::<bool>(), ".{0,40}", ".{0,40}", any::<bool>(), any::<bool>(), 1..=MAX_BATCHES, 0f32..MAX_DRIFT, 0..LESSONS.len(), prop_oneof![Just(0usize), 1..=MAX_BATCH_ROWS]);
    let params = (-MAX_DIST_PARAM..MAX_DIST_PARAM, proptest::option::of(1e-3f32..MAX_DIST_PARAM), 0.5f32..1000.0, 0f32..MAX_DIST_PARAM);
    let more = (16..=MAX_OBSERVER_BINS, 16..=MAX_OBSERVER_BINS, 1..=MAX_OBSERVER_BINS, 0..=MAX_AXIS, 1f32..MAX_TRANSFER_ZOOM, proptest::option::of(-MAX_ABS_VALUE..MAX_ABS_VALUE));
    let names = quantscope::engine::formats::spec::names();
    let formats = (proptest::option::of(0..names.len()), proptest::option::of(1..=MAX_GROUP), 0..FORMAT_SCALES.len(), 0..SCALE_ROUNDINGS.len(), proptest::option::of(any::<usize>()), any::<bool>());
    (base, data, observer, quant, manual, file, params, more, formats).prop_map(
        move |((v, d, n, seed, bits, sym, log), (channels, spread, of, om), (o, ac, pct, both), (c, narrow, reduce, custom, pc, r), manual, (from_file, file, tensor, fold_bn, channel_sort, batches, drift, lesson, batch_rows), (mu, sigma, dof, sep), (hist_bins, entropy_bins, entropy_start, axis, transfer_zoom, transfer_center), (f, format_group, fs, fr, format_block, compare))| UrlState {
            format: f.map(|f| names[f]),
            format_group,
            format_scale: FORMAT_SCALES[fs].0,
            format_rounding: SCALE_ROUNDINGS[fr].0,
            format_block,
            compare,
            transfer_zoom,
            transfer_center,
            lab: LabSettings::default(),
            page: Page::default(),
            mu,
            sigma,
            dof,
            sep,
            hist_bins,
            entropy_bins,
            entropy_start,
            axis,
            view: VIEWS[v].0,
            dist: DISTS[d].0,
            n,
            seed,
            bits,
            scheme: if sym { QScheme::Symmetric } else { QScheme::Affine },
            log,
            channels,
            spread,
            outlier_fraction: of,
            outlier_magnitude: om,
            observer: OBSERVERS[o].0,
            averaging_constant: ac,
            percentile: pct,
            tails: if both { Tails::Both } else { Tails::Abs },
            codes: CODES[c].0,
            narrow,
            reduce_range: reduce,
            quant_min: custom.map(|c| c.0),
            quant_max: custom.map(|c| c.1),
            per_channel: pc,
            rounding: ROUNDINGS[r].0,
            lo: manual.map(|m| m.0),
            hi: manual.map(|m| m.1),
            batch_rows,
            source: if from_file { Source::File } else { Source::Synthetic },
            file,
            tensor,
            fold_bn,
            channel_sort,
            batches,
            drift,
            lesson,
        },
    )
}

/// Any Lab settings the URL can hold.
pub fn any_lab() -> impl Strategy<Value = LabSettings> {
    let model = (0..LAB_DATA.len(), 0..LAB_MODELS.len(), proptest::collection::vec(1usize..=4096, 1..=4), [1usize..=256, 1usize..=256], any::<bool>(), any::<bool>());
    let train = (1e-6f32..10.0, 0usize..=1000, 0usize..=1000, 2u32..=8, 2u32..=8, any::<bool>(), 0..OBSERVERS.len());
    let rest = (1usize..=100_000, 1e-4f32..=1.0, proptest::option::of(0usize..=1000), proptest::option::of(0usize..=1000), 20usize..=100_000, 0f32..10.0, any::<u64>(), any::<bool>());
    (model, train, rest).prop_map(|((d, m, hidden, channels, relu6, sgd), (lr, epochs, qat_epochs, weight_bits, act_bits, per_channel, o), (calib_samples, averaging_constant, freeze_after, freeze_bn_after, points, noise, seed, open_model))| LabSettings {
        dataset: LAB_DATA[d].0,
        model: LAB_MODELS[m].0,
        hidden,
        channels,
        relu6,
        sgd,
        lr,
        epochs,
        qat_epochs,
        weight_bits,
        act_bits,
        per_channel,
        observer: OBSERVERS[o].0,
        calib_samples,
        averaging_constant,
        freeze_after,
        freeze_bn_after,
        points,
        noise,
        seed,
        open_model,
    })
}

/// Any presentation settings: hidden parts and a language (the e2e test's states keep the
/// defaults, so that every readout is on the page).
pub fn any_page() -> impl Strategy<Value = Page> {
    let lang = proptest::option::of(proptest::sample::select(quantscope::ui::i18n::Lang::ALL.to_vec()));
    (proptest::collection::vec(any::<bool>(), PARTS.len()), lang).prop_map(|(hide, lang)| Page {
        hidden: PARTS.iter().zip(hide).fold(Hidden::default(), |h, (p, on)| h.with(p.key, on)),
        lang,
    })
}
