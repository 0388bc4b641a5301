//! End-to-end: the release build (trunk, in dist/) served on an ephemeral 127.0.0.1 port and
//! driven in headless Chromium through chromedriver. Screenshots go to
//! `target/tmp/e2e-screenshots/` (look at them).
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)] // the helpers other e2e tests use
mod support;

use std::time::Duration;

use fantoccini::Locator;
use quantscope::engine::io::npy;
use quantscope::ui::format::sig4;
use serde_json::Value;
use support::{cli_json, Browser};

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn shell_tabs_chart_worker_and_url_state() {
    let b = Browser::start().await;
    b.goto("").await;

    // Explorer: the histogram is drawn and the readouts are there.
    b.wait_for("[data-testid=chart-histogram]").await;
    let painted = b.wait_painted("[data-testid=chart-histogram]").await;
    assert!(painted > 5_000, "canvas should be drawn, {painted} painted pixels");
    // The readouts agree with the CLI on the same input (the URL's defaults).
    let cli = cli_json(&["synth", "--dist", "normal", "--n", "100000", "--seed", "42", "--bits", "8", "--scheme", "affine"]);
    assert_eq!(b.text("[data-testid=metric-zero-point]").await, cli["qparams"]["zero_point"].to_string());
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["qparams"]["scale"].as_f64()));
    assert_eq!(b.text("[data-testid=metric-sqnr-db]").await, sig4(cli["metrics"]["sqnr_db"].as_f64()));
    let levels = format!("{} / 256", cli["metrics"]["levels_used"]);
    assert_eq!(b.text("[data-testid=metric-levels-used]").await, levels);
    b.screenshot("explorer").await;

    // Changing a control redraws and lands in the URL.
    b.set_range("[data-testid=ctl-bits]", 4).await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 16")).await;
    assert!(b.hash().await.contains("bits=4"), "{}", b.hash().await);

    // The worker: a bit-width sweep runs off the main thread and reports back.
    b.click("[data-testid=sweep-start]").await;
    let table = b.wait_for_timeout("[data-testid=sweep-result]", Duration::from_secs(30)).await;
    let cells = table.find_all(Locator::Css("tbody td")).await.unwrap();
    assert_eq!(cells.len(), 6 * 15, "one SQNR per observer and bit width 2..=16");
    // The MSE observer beats min/max at 4 bits (column 3 of 2..=16) on this Gaussian.
    let at4 = |name: &'static str| {
        let b = &b;
        async move { b.text(&format!("[data-testid=sweep-row-{name}] td:nth-of-type(3)")).await.parse::<f64>().unwrap() }
    };
    assert!(at4("mse").await > at4("minmax").await, "MSE-optimal clipping wins at 4 bits");
    b.wait_painted("[data-testid=chart-sweep-clip]").await;
    b.exec("document.querySelector('[data-testid=chart-sweep-sqnr]').scrollIntoView()").await;
    b.screenshot("explorer-sweep").await;

    // Every tab renders and is reachable by URL.
    for (tab, marker) in [("lab", "lab-train"), ("learn", "lesson"), ("explorer", "chart-histogram")] {
        b.click(&format!("[data-testid=tab-{tab}]")).await;
        b.wait_for(&format!("[data-testid={marker}]")).await;
        assert!(b.hash().await.starts_with(&format!("#view={tab}")));
        b.screenshot(&format!("tab-{tab}")).await;
    }
    b.click("[data-testid=about-toggle]").await;
    let about = b.wait_for("[data-testid=about-versions]").await.text().await.unwrap();
    assert!(about.contains("yew 0.23"), "{about}");
    b.screenshot("about").await;

    // Reloading a URL restores the view and its settings.
    b.goto("#view=explorer&dist=laplace&n=10000&seed=3&bits=6&scheme=symmetric&log=1").await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 64")).await;
    assert_eq!(b.text("[data-testid=metric-zero-point]").await, "0", "symmetric signed codes");

    // A malformed hash, typed in place (hashchange) and on a fresh load: notice, defaults, still working.
    b.set_hash("view=nowhere&bits=99").await;
    let notice = b.wait_for("[data-testid=url-notice]").await.text().await.unwrap();
    assert!(notice.contains("view=nowhere") && notice.contains("bits=99"), "{notice}");
    b.goto("#view=lab&bits=zz").await;
    b.wait_for("[data-testid=lab-train]").await;
    assert!(b.text("[data-testid=url-notice]").await.contains("bits=zz"));
    b.screenshot("malformed-hash").await;
    b.click("[data-testid=tab-explorer]").await;
    b.wait_painted("[data-testid=chart-histogram]").await;

    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}

/// Every Explorer control changes the URL and the view; the charts are painted; an impossible
/// combination shows a message and leaves the controls working.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn every_explorer_control_changes_the_view() {
    let b = Browser::start().await;
    b.goto("#n=10000").await;
    for chart in ["chart-histogram", "chart-codes", "chart-transfer", "chart-errors", "chart-error-by-value"] {
        let painted = b.wait_painted(&format!("[data-testid={chart}]")).await;
        assert!(painted > 2_000, "{chart}: {painted} painted pixels");
    }
    b.exec("document.querySelector('[data-testid=chart-codes]').scrollIntoView()").await;
    b.screenshot("explorer-charts").await;
    b.exec("window.scrollTo(0, 0)").await;
    let text = |id: &'static str| {
        let b = &b;
        async move { b.text(&format!("[data-testid={id}]")).await }
    };

    // Tensor.
    b.set_value("[data-testid=ctl-dist]", "laplace").await;
    b.wait_hash("dist=laplace").await;
    b.set_value("[data-testid=ctl-n]", "1000").await;
    b.wait_hash("n=1000&").await;
    b.set_value("[data-testid=ctl-seed]", "7").await;
    b.wait_hash("seed=7").await;
    b.set_value("[data-testid=ctl-outlier-fraction]", "0.01").await;
    b.wait_hash("of=0.01").await;
    b.set_value("[data-testid=ctl-outlier-magnitude]", "50").await;
    b.wait_hash("om=50").await;
    b.wait_text("[data-testid=metric-observed]", |t| t.contains("50")).await;
    // The distribution's parameters: each family shows its own.
    b.set_value("[data-testid=ctl-mu]", "0.5").await;
    b.wait_hash("mu=0.5").await;
    b.set_value("[data-testid=ctl-sigma]", "2").await;
    b.wait_hash("sigma=2&").await;
    b.set_value("[data-testid=ctl-dist]", "student-t").await;
    b.set_value("[data-testid=ctl-dof]", "5").await;
    b.wait_hash("dof=5&").await;
    b.set_value("[data-testid=ctl-dist]", "bimodal").await;
    b.set_value("[data-testid=ctl-sep]", "6").await;
    b.wait_hash("sep=6&").await;
    b.set_value("[data-testid=ctl-dist]", "laplace").await;
    b.set_value("[data-testid=ctl-sigma]", "1").await;
    b.set_value("[data-testid=ctl-mu]", "0").await;
    b.wait_hash("dist=laplace&mu=0&sigma=1&").await;
    b.wait_text("[data-testid=metric-observed]", |t| t.contains("50")).await;

    // Observers, with their parameters: percentile clips the outliers that min/max keeps.
    let clipped_minmax = text("metric-clipped").await;
    assert_eq!(clipped_minmax, "0.00%");
    b.set_value("[data-testid=ctl-observer]", "percentile").await;
    b.wait_hash("obs=percentile").await;
    b.set_value("[data-testid=ctl-percentile]", "99").await;
    b.wait_hash("pct=99&").await;
    b.wait_text("[data-testid=metric-clipped]", |t| t != "0.00%").await;
    b.set_value("[data-testid=ctl-tails]", "both").await;
    b.wait_hash("tails=both").await;
    b.set_value("[data-testid=ctl-observer]", "moving-average").await;
    b.set_value("[data-testid=ctl-averaging-constant]", "0.5").await;
    b.wait_hash("ac=0.5").await;
    for obs in ["histogram", "entropy", "mse"] {
        let before = text("metric-observed").await;
        b.set_value("[data-testid=ctl-observer]", obs).await;
        b.wait_hash(&format!("obs={obs}")).await;
        b.wait_text("[data-testid=metric-observed]", |t| t != before).await;
        // The histogram-based observers' bins: a coarser histogram moves the range.
        let params: &[(&str, &str, &str)] = match obs {
            "histogram" => &[("ctl-hist-bins", "64", "hbins=64&")],
            "entropy" => &[("ctl-entropy-bins", "512", "ebins=512&"), ("ctl-entropy-start", "32", "estart=32&")],
            _ => &[],
        };
        for (id, value, part) in params {
            let before = text("metric-observed").await;
            b.set_value(&format!("[data-testid={id}]"), value).await;
            b.wait_hash(part).await;
            b.wait_text("[data-testid=metric-observed]", |t| t != before).await;
        }
    }
    b.screenshot("explorer-mse-outliers").await;

    // Scheme, codes, range.
    b.set_value("[data-testid=ctl-observer]", "minmax").await;
    b.set_value("[data-testid=ctl-scheme]", "symmetric").await;
    b.wait_hash("scheme=symmetric").await;
    b.wait_text("[data-testid=metric-zero-point]", |t| t == "0").await;
    b.set_value("[data-testid=ctl-dtype]", "quint").await;
    b.wait_text("[data-testid=metric-zero-point]", |t| t == "128").await;
    b.set_value("[data-testid=ctl-dtype]", "qint").await;
    b.click("[data-testid=ctl-narrow]").await;
    b.wait_hash("narrow=1").await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 255")).await;
    b.click("[data-testid=ctl-reduce-range]").await;
    b.wait_hash("reduce=1").await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 128")).await;
    b.click("[data-testid=ctl-reduce-range]").await;
    b.set_value("[data-testid=ctl-quant-min]", "-8").await;
    b.set_value("[data-testid=ctl-quant-max]", "7").await;
    b.wait_hash("qmin=-8&qmax=7").await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 16")).await;
    b.set_range("[data-testid=ctl-bits]", 4).await;
    b.wait_hash("bits=4").await;
    b.set_value("[data-testid=ctl-rounding]", "stochastic").await;
    b.wait_hash("round=stochastic").await;

    // A custom range without 0: a message, and the app keeps working.
    b.set_value("[data-testid=ctl-quant-min]", "1").await;
    let err = b.text("[data-testid=explorer-error]").await;
    assert!(err.contains("0"), "{err}");
    b.set_value("[data-testid=ctl-quant-min]", "").await;
    b.set_value("[data-testid=ctl-quant-max]", "").await;
    b.wait_hash("qmin=auto&qmax=auto").await;
    b.wait_painted("[data-testid=chart-histogram]").await;

    // Channels: per-channel grids.
    b.set_value("[data-testid=ctl-channels]", "4").await;
    b.wait_hash("ch=4").await;
    b.set_value("[data-testid=ctl-spread]", "100").await;
    b.wait_hash("spread=100").await;
    b.set_value("[data-testid=ctl-granularity]", "channel").await;
    b.wait_hash("gran=channel").await;
    assert!(b.text(".readouts").await.contains("channel 0 of 4"));
    let gain: f64 = b.text("[data-testid=metric-sqnr-gain]").await.parse().unwrap();
    assert!(gain > 0.0, "per-channel beats per-tensor when channels differ 100×: {gain}");
    // The other axis: 250 columns of 4 values each are the channels.
    b.set_value("[data-testid=ctl-axis]", "1").await;
    b.wait_hash("axis=1").await;
    b.wait_text(".readouts", |t| t.contains("channel 0 of 250")).await;
    b.wait_text("[data-testid=channels-panel]", |t| t.contains("along axis 1")).await;
    b.set_value("[data-testid=ctl-axis]", "0").await;
    b.wait_text(".readouts", |t| t.contains("channel 0 of 4")).await;
    b.click("[data-testid=ctl-channel-sort]").await;
    b.wait_hash("chsort=1").await;
    b.wait_painted("[data-testid=chart-channels]").await;
    b.screenshot("explorer-per-channel").await;
    b.exec("document.querySelector('[data-testid=channels-panel]').scrollIntoView()").await;
    b.screenshot("explorer-channels").await;
    b.exec("window.scrollTo(0, 0)").await;

    // Observer dynamics: a drifting stream in 10 batches, played to the end; MinMax holds the
    // widest batch, the EMA lags behind it; with c = 1 the EMA is the last batch's range.
    b.set_value("[data-testid=ctl-batches]", "10").await;
    b.wait_hash("nb=10").await;
    b.set_value("[data-testid=ctl-drift]", "2").await;
    b.wait_hash("drift=2").await;
    b.set_value("[data-testid=ctl-dynamics-ac]", "0.1").await;
    b.wait_hash("ac=0.1").await;
    b.click("[data-testid=dynamics-play]").await;
    b.wait_text("[data-testid=dynamics-batch]", |t| t == "1 / 10" || t.starts_with('2') || t.starts_with('3')).await;
    b.wait_text("[data-testid=dynamics-batch]", |t| t == "10 / 10").await;
    let upper = |t: String| -> f64 { t.trim_matches(['[', ']']).split(", ").nth(1).unwrap().parse().unwrap() };
    let (mm, ema) = (upper(b.text("[data-testid=dynamics-minmax]").await), upper(b.text("[data-testid=dynamics-ema]").await));
    assert!(ema < mm, "the EMA lags a widening stream: {ema} vs {mm}");
    b.set_value("[data-testid=ctl-dynamics-ac]", "1").await;
    b.wait_hash("ac=1&").await;
    let batch = b.text("[data-testid=dynamics-batch-range]").await;
    b.wait_text("[data-testid=dynamics-ema]", |t| t == batch).await;
    b.exec("document.querySelector('[data-testid=dynamics-panel]').scrollIntoView()").await;
    b.screenshot("explorer-dynamics").await;
    b.exec("window.scrollTo(0, 0)").await;

    // A clip range by hand, and back to the observer's.
    b.set_value("[data-testid=ctl-granularity]", "tensor").await;
    b.set_value("[data-testid=ctl-range-lo]", "-1").await;
    b.set_value("[data-testid=ctl-range-hi]", "1").await;
    b.wait_hash("lo=-1&hi=1").await;
    b.wait_text("[data-testid=metric-clipped]", |t| t != "0.00%").await;
    b.click("[data-testid=ctl-range-reset]").await;
    b.wait_hash("lo=auto&hi=auto").await;

    // Dragging the histogram's low clip end to the right sets the range by hand (symmetric here:
    // both ends move in).
    let ends = |t: String| support::range_ends(&t);
    let (a, bb) = ends(text("metric-range").await);
    let x = b.low_clip_end_x().await;
    b.drag("[data-testid=chart-histogram]", x, 120.0).await;
    let hash = b.wait_hash("&hi=").await;
    assert!(!hash.contains("lo=auto"), "the drag set the range: {hash}");
    b.wait_text("[data-testid=metric-clipped]", |t| t != "0.00%").await;
    let (dragged_lo, dragged_hi) = ends(text("metric-range").await);
    assert!(dragged_lo > a && dragged_hi < bb, "the ends moved in: [{a}, {bb}] → [{dragged_lo}, {dragged_hi}]");
    b.screenshot("explorer-drag-clip").await;
    b.click("[data-testid=ctl-range-reset]").await;
    b.wait_hash("lo=auto&hi=auto").await;

    // The transfer function zooms: the wheel over it, the zoom control, its centre, a double-click.
    b.exec("document.querySelector('[data-testid=chart-transfer]').scrollIntoView({block: 'center'})").await;
    b.wheel("[data-testid=chart-transfer]", 200.0, -100.0).await;
    b.wait_hash("tzoom=2&").await;
    b.set_value("[data-testid=ctl-transfer-zoom]", "64").await;
    b.wait_hash("tzoom=64&").await;
    b.set_value("[data-testid=ctl-transfer-center]", "0.5").await;
    b.wait_hash("tzoom=64&tcenter=0.5&").await;
    b.wait_painted("[data-testid=chart-transfer]").await;
    b.screenshot("explorer-transfer-zoom").await;
    b.exec("document.querySelector('[data-testid=chart-transfer]').dispatchEvent(new MouseEvent('dblclick', {bubbles: true}))").await;
    b.wait_hash("tzoom=1&tcenter=auto&").await;
    b.exec("window.scrollTo(0, 0)").await;
    b.click("[data-testid=ctl-log]").await;
    b.wait_hash("log=1").await;

    // The URL reproduces the view: reload it and read the same numbers.
    let hash = b.hash().await;
    let before = b.text(".readouts").await;
    b.goto(&hash).await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    assert_eq!(b.text(".readouts").await, before, "{hash}");

    b.finish(&[]).await;
}

/// Every export saves what the view shows: readouts as CSV and JSON, the fake-quantized tensor
/// as `.npy` (equal to the engine's own, bit for bit), each chart as PNG; and the link is copied.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn exports_save_what_the_view_shows() {
    use quantscope::engine::quantizer::qparams::{calculate_qparams, QRange, QScheme};
    use quantscope::engine::quantizer::quantize::fake_quantize;
    use quantscope::engine::synth::{sample, Dist};
    let b = Browser::start().await;
    b.goto("#n=10000&seed=5&bits=6").await;
    b.wait_painted("[data-testid=chart-histogram]").await;

    b.click("[data-testid=export-json]").await;
    let json: Value = serde_json::from_slice(&b.download("normal-seed5-readouts.json").await).unwrap();
    assert_eq!(sig4(json["scale"][0].as_f64()), b.text("[data-testid=metric-scale]").await);
    assert_eq!(json["zero_point"][0].to_string(), b.text("[data-testid=metric-zero-point]").await);
    assert_eq!((json["quant_min"].as_i64(), json["quant_max"].as_i64()), (Some(0), Some(63)));
    b.click("[data-testid=export-csv]").await;
    let csv = String::from_utf8(b.download("normal-seed5-readouts.csv").await).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("synthetic,0,"), "{csv}");

    b.click("[data-testid=export-npy]").await;
    let got = npy::read("q.npy", "q", &b.download("normal-seed5-quantized.npy").await).unwrap();
    let xs = sample(Dist::Normal { mean: 0.0, std: 1.0 }, 10_000, 5, None).unwrap();
    let (lo, hi) = xs.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let range = QRange::with_bits(6, true).unwrap();
    let want = fake_quantize(&xs, calculate_qparams(lo, hi, QScheme::Affine, range), range);
    assert_eq!(got.shape, vec![1, 10_000]);
    assert!(got.data.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()), "the browser's x̂ is the engine's");

    for (chart, name) in [("chart-histogram", "values"), ("chart-codes", "codes"), ("chart-errors", "errors")] {
        b.click(&format!("[data-testid=export-png-{chart}]")).await;
        let png = b.download(&format!("normal-seed5-{name}.png")).await;
        assert!(png.starts_with(b"\x89PNG") && png.len() > 2_000, "{chart}: {} bytes", png.len());
    }

    b.click("[data-testid=copy-link]").await;
    // The clipboard accepted the page's address (reading it back needs a permission headless
    // Chromium does not grant), which holds every setting:
    b.wait_text("[data-testid=copy-status]", |t| t == "Link copied").await;
    assert!(b.hash().await.contains("seed=5&bits=6"));

    b.finish(&[]).await;
}

/// Learn: the formulas are filled in as the value moves; lessons and their presets are links.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn learn_lessons_fill_in_the_formulas() {
    let b = Browser::start().await;
    b.goto("#view=learn").await;
    assert_eq!(b.text("[data-testid=learn-zero-point]").await, "85");
    let before = b.text("[data-testid=learn-q]").await;
    b.set_range("[data-testid=learn-r]", 2).await;
    b.wait_text("[data-testid=learn-q]", |t| t != before).await;
    assert_eq!(b.text("[data-testid=learn-q]").await, "255", "r = 2 is the top of [−1, 2]");
    b.set_range("[data-testid=learn-bits]", 3).await;
    b.wait_text("[data-testid=learn-zero-point]", |t| t == "2").await;
    b.screenshot("learn").await;
    b.click("[data-testid=lesson-outliers]").await;
    b.wait_hash("lesson=outliers").await;
    b.click("[data-testid=lesson-preset]:nth-of-type(2)").await;
    b.wait_hash("obs=percentile").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    assert_ne!(b.text("[data-testid=metric-clipped]").await, "0.00%", "percentile 99.9 clips the outliers");
    b.finish(&[]).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn a_panic_shows_the_error_banner() {
    let b = Browser::start().await;
    b.goto("").await;
    b.wait_for("[data-testid=chart-histogram]").await;
    let _ = b.exec("window.wasmBindings.quantscope_test_panic()").await;
    let banner = b.wait_for("#error-banner").await.text().await.unwrap();
    assert!(banner.contains("test panic requested"), "{banner}");
    assert!(banner.contains("Reload the page"), "{banner}");
    b.screenshot("panic-banner").await;
    b.stop().await;
}

/// The in-browser benchmark page runs every kernel, in wasm and in plain JS, and both give the
/// same results. Quick size (1M values) here; `scripts/bench` sets QUANTSCOPE_BENCH_SIZE=full
/// for the sizes and keeps the JSON it prints. Timings are reported, never asserted.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn benchmark_page_runs_every_kernel() {
    let full = std::env::var("QUANTSCOPE_BENCH_SIZE").as_deref() == Ok("full");
    let b = Browser::start().await;
    b.goto("").await;
    b.click("[data-testid=about-toggle]").await;
    b.click("[data-testid=about-bench-link]").await;
    b.wait_for("[data-testid=bench-page]").await;
    assert!(b.hash().await.starts_with("#view=bench"));
    if !full {
        let script = "const s = document.querySelector('[data-testid=bench-size]'); s.value = 'quick'; \
                      s.dispatchEvent(new Event('change', {bubbles: true}));";
        b.exec(script).await;
    }
    b.click("[data-testid=bench-run]").await;
    // The page stays responsive while it measures: the status line keeps moving.
    b.wait_text("[data-testid=bench-status]", |t| t.starts_with("Running")).await;
    let timeout = Duration::from_secs(if full { 600 } else { 180 });
    b.wait_for_timeout("[data-testid=bench-json]", timeout).await;
    let json = b.exec("return document.querySelector('[data-testid=bench-json]').textContent").await;
    let report: Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
    println!("BENCH-JSON {report}");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), quantscope::ui::bench::KERNELS.len());
    for row in rows {
        let best = row["wasm"]["best_ms"].as_f64().unwrap_or(-1.0);
        assert!(best >= 0.0, "{row}");
        if !row["js"].is_null() {
            assert_eq!(row["agree"], Value::Bool(true), "JS and wasm disagree: {row}");
        }
    }
    assert_eq!(report["simd128"], Value::Bool(true), "the app is built with +simd128");
    b.screenshot("bench").await;
    b.finish(&["bench.js"]).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn every_view_fits_1024_px_with_labelled_controls_and_visible_focus() {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let b = Browser::start().await;
    b.client.set_window_size(1024, 900).await.unwrap();
    // Controls without a name a screen reader could read: no <label>, aria-label or text.
    let unlabelled = "return [...document.querySelectorAll('main input, main select, main button, header button, header a')]\
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('title') && !e.textContent.trim())\
        .map(e => e.outerHTML.slice(0, 120));";
    for (hash, ready, shot) in [
        ("#n=10000&ch=8&spread=50&gran=channel", "[data-testid=chart-channels]", "layout-1024-explorer"),
        ("#view=learn", "[data-testid=learn-q]", "layout-1024-learn"),
        ("#view=lab", "main#view", "layout-1024-lab"),
        ("#view=bench", "main#view", "layout-1024-bench"),
    ] {
        b.goto(hash).await;
        b.wait_for(ready).await;
        let inner = b.exec("return window.innerWidth").await.as_f64().unwrap();
        assert!(inner <= 1024.0, "the window is {inner} px wide");
        // clientWidth leaves out the vertical scrollbar, which takes its share of the 1024 px.
        let overflow = b.exec("return document.documentElement.scrollWidth - document.documentElement.clientWidth").await.as_f64().unwrap();
        assert!(overflow <= 0.0, "{hash}: the page is {overflow} px wider than the window");
        let missing = b.exec(unlabelled).await;
        assert_eq!(missing, serde_json::json!([]), "{hash}: controls without a label");
        b.screenshot(shot).await;
    }

    // Keyboard focus is visible: Tab through the first controls of the Explorer; each one
    // focused shows a solid outline at least 2 px wide.
    b.goto("#n=10000").await;
    b.wait_for("[data-testid=chart-histogram]").await;
    b.exec("document.activeElement && document.activeElement.blur()").await;
    let focus = "const e = document.activeElement; const s = getComputedStyle(e); \
                 return [e.tagName + (e.id ? '#' + e.id : ''), s.outlineStyle, parseFloat(s.outlineWidth), e.matches(':focus-visible')];";
    let mut seen = Vec::new();
    for _ in 0..12 {
        let tab = KeyActions::new("keyboard".into()).then(KeyAction::Down { value: '\u{E004}' }).then(KeyAction::Up { value: '\u{E004}' });
        b.client.perform_actions(tab).await.unwrap();
        let f = b.exec(focus).await;
        let (name, style, width, visible) = (f[0].as_str().unwrap().to_string(), f[1].as_str().unwrap().to_string(), f[2].as_f64().unwrap(), f[3].as_bool().unwrap());
        if name == "BODY" {
            continue;
        }
        assert!(visible && style == "solid" && width >= 2.0, "{name} focused by Tab shows no outline: {style} {width}px");
        seen.push(name);
    }
    assert!(seen.iter().any(|n| n.starts_with("SELECT")) && seen.len() >= 8, "Tab reached the controls: {seen:?}");
    b.screenshot("focus-visible").await;
    b.finish(&[]).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn lab_trains_the_digits_mlp_and_matches_the_cli() {
    let b = Browser::start().await;
    let settings = "view=lab&ldata=digits&lhidden=128,128&lepochs=30&lqat=10&lwbits=4&labits=4&lseed=0";
    b.goto(&format!("#{settings}")).await;
    // Long tasks on the page's thread while the worker trains: none may reach 50 ms.
    b.exec("window.__longTasks = []; new PerformanceObserver(l => l.getEntries().forEach(e => window.__longTasks.push(e.duration))).observe({type: 'longtask', buffered: false});").await;
    b.click("[data-testid=lab-train]").await;
    b.wait_for("[data-testid=lab-progress]").await;
    // Pause at once (a step takes tens of milliseconds: the run would end first), hold, resume.
    b.click("[data-testid=lab-pause]").await;
    let paused = b.wait_text("[data-testid=lab-phase]", |t| t.starts_with("Paused")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(b.text("[data-testid=lab-phase]").await, paused, "a paused run holds still");
    b.click("[data-testid=lab-pause]").await;
    let el = b.wait_for_timeout("[data-testid=lab-qat-accuracy]", std::time::Duration::from_secs(120)).await;
    let page: Vec<String> = vec![
        b.text("[data-testid=lab-fp32-accuracy]").await,
        b.text("[data-testid=lab-ptq-accuracy]").await,
        el.text().await.unwrap(),
    ];
    let long: Vec<f64> = serde_json::from_value(b.exec("return window.__longTasks").await).unwrap_or_default();
    eprintln!("LAB long tasks on the page during training (ms): {long:?}");
    assert!(long.iter().all(|&d| d < 50.0), "a main-thread task of 50 ms or more while training: {long:?}");
    // The same run through the CLI: the same numbers, to the last printed digit.
    let cli = cli_json(&["lab", "--dataset", "digits", "--hidden", "128,128", "--epochs", "30", "--qat-epochs", "10", "--weight-bits", "4", "--act-bits", "4", "--seed", "0"]);
    let want: Vec<String> = ["fp32", "ptq", "qat"].iter().map(|k| format!("{:.2}%", cli[k]["accuracy"].as_f64().unwrap() * 100.0)).collect();
    assert_eq!(page, want, "browser and CLI, same seed");
    let agreement = b.text("[data-testid=lab-ptq-agreement]").await;
    assert!(agreement.contains("identical"), "{agreement}");
    b.wait_painted("[data-testid=chart-lab-training]").await;
    b.wait_painted("[data-testid=chart-lab-misclassified-qat]").await;
    b.screenshot("lab").await;
    b.exec("document.querySelector('[data-testid=chart-lab-misclassified-fp32]').scrollIntoView()").await;
    b.screenshot("lab-misclassified").await;
    // Each layer's weights before and after QAT, over the grid.
    for l in 0..3 {
        b.wait_painted(&format!("[data-testid=chart-lab-weights-{l}]")).await;
    }
    // Under each, the share of the layer's integer codes that QAT changed: a few percent, as
    // the CLI reports it.
    for l in 0..3 {
        let recoded = b.text(&format!("[data-testid=lab-recoded-{l}]")).await;
        let want = format!("{:.2}%", cli["qat"]["weight_codes_changed"][l].as_f64().unwrap() * 100.0);
        assert!(recoded.contains(&format!("code of {want} of the weights")), "layer {l}: {recoded}, CLI {want}");
    }
    b.exec("document.querySelector('[data-testid=lab-weights]').scrollIntoView()").await;
    b.screenshot("lab-weights").await;
    b.exec("window.scrollTo(0, 0)").await;
    // Accuracy against bit width, in the worker: PTQ holds at 8 bits, QAT pulls ahead below.
    b.click("[data-testid=lab-sweep-run]").await;
    b.wait_for("[data-testid=lab-sweep-progress]").await;
    b.wait_for_timeout("[data-testid=lab-sweep-table]", std::time::Duration::from_secs(180)).await;
    let cells = |row: &'static str| {
        let b = &b;
        async move {
            let t = b.text(&format!("[data-testid=lab-sweep-{row}]")).await;
            let v: Vec<f64> = t.split_whitespace().filter_map(|w| w.strip_suffix('%')).map(|w| w.parse().unwrap()).collect();
            (v[0], v[1])
        }
    };
    let fp32: f64 = page[0].trim_end_matches('%').parse().unwrap();
    let (ptq8, _) = cells("w8a8").await;
    assert!((ptq8 - fp32).abs() <= 1.0, "W8A8 PTQ {ptq8} against FP32 {fp32}");
    let (ptq22, qat22) = cells("w2a2").await;
    assert!(qat22 >= ptq22 + 3.0, "W2A2: QAT {qat22} PTQ {ptq22}");
    b.wait_painted("[data-testid=chart-lab-sweep]").await;
    b.exec("document.querySelector('[data-testid=chart-lab-sweep]').scrollIntoView()").await;
    b.screenshot("lab-sweep").await;
    // Any layer opens in the Explorer: the QAT model's first weight, on its 4-bit grid.
    b.click("[data-testid=lab-open-qat-0]").await;
    b.wait_hash("view=explorer").await;
    b.wait_hash("tensor=qat/layer0.weight").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    b.wait_hash("bits=4&scheme=symmetric").await;
    b.wait_text("[data-testid=metric-levels-used]", |t| t.ends_with("/ 16")).await;
    let layers = b.text("[data-testid=layer-browser]").await;
    assert!(layers.contains("fp32/layer2.weight") && layers.contains("qat/layer1.bias"), "{layers}");
    b.screenshot("lab-weights-in-explorer").await;
    // A 2-D set: the three models' decision regions.
    b.goto("#view=lab&ldata=moons&lhidden=16,16&lepochs=40&lqat=5&llr=0.01&lwbits=4&labits=4").await;
    b.click("[data-testid=lab-train]").await;
    for which in ["fp32", "ptq", "qat"] {
        let css = format!("[data-testid=chart-lab-boundary-{which}]");
        b.wait_for_timeout(&css, std::time::Duration::from_secs(60)).await;
        assert!(b.wait_painted(&css).await > 10_000, "{which}: the regions are painted");
    }
    b.exec("document.querySelector('[data-testid=chart-lab-boundary-fp32]').scrollIntoView()").await;
    b.screenshot("lab-boundaries").await;
    // The CNN (batch norm folded for PTQ, trained through it for QAT, frozen after a QAT
    // epoch), per-channel weights: the CLI's numbers, and its folded depthwise weights open in
    // the Explorer.
    b.goto("#view=lab&ldata=digits&lmodel=cnn&lch=4,8&lepochs=4&lqat=2&lwbits=4&labits=4&lpc=1&lfreezebn=1").await;
    b.click("[data-testid=lab-train]").await;
    b.wait_for("[data-testid=lab-progress]").await;
    let el = b.wait_for_timeout("[data-testid=lab-qat-accuracy]", std::time::Duration::from_secs(120)).await;
    let page = vec![b.text("[data-testid=lab-fp32-accuracy]").await, b.text("[data-testid=lab-ptq-accuracy]").await, el.text().await.unwrap()];
    let cli = cli_json(&["lab", "--model", "cnn", "--channels", "4,8", "--epochs", "4", "--qat-epochs", "2", "--weight-bits", "4", "--act-bits", "4", "--per-channel", "--freeze-bn-after", "1"]);
    let want: Vec<String> = ["fp32", "ptq", "qat"].iter().map(|k| format!("{:.2}%", cli[k]["accuracy"].as_f64().unwrap() * 100.0)).collect();
    assert_eq!(page, want, "the CNN: browser and CLI, same seed");
    let sqnr = b.text("[data-testid=lab-sqnr]").await;
    assert!(sqnr.contains("depthwise 3×3, 4 → 4, BN, ReLU") && sqnr.contains("(BN folded)"), "{sqnr}");
    b.screenshot("lab-cnn").await;
    b.click("[data-testid=lab-open-fp32-1]").await;
    b.wait_hash("tensor=fp32/layer1.folded.weight").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    b.finish(&[]).await;
}
