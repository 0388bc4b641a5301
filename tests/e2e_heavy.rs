//! End-to-end: no setting freezes the page. Heavy Explorer settings (10M values, costly
//! observers) run in the worker: the page's thread never holds a task of 100 ms, a progress bar
//! shows within 200 ms, the readouts equal the CLI's, and Cancel goes back to the last result.
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)] // the helpers this file does not use serve tests/e2e.rs
mod support;

use std::time::{Duration, Instant};

use quantscope::ui::format::{percent, sig4};
use serde_json::Value;
use support::Browser;

/// Longest main-thread task allowed while the worker computes (the issue's figure).
const LONG_TASK_MS: f64 = 100.0;
/// How soon a progress indicator must show when the result is not there yet.
const PROGRESS_WITHIN_MS: f64 = 200.0;

/// The issue's table: each setting at 10M values, and the time it took before the work moved to
/// the worker (the page frozen all along).
const ROWS: &[(&str, &str, f64)] = &[
    ("min/max", "", 1_100.0),
    ("percentile", "&obs=percentile", 1_400.0),
    ("histogram, 65,536 bins", "&obs=histogram&hbins=65536", 1_200.0),
    ("per channel, 1,024 channels", "&ch=1024&gran=channel", 1_000.0),
    ("entropy, 8,192 bins", "&obs=entropy&ebins=8192", 4_100.0),
    ("MSE", "&obs=mse", 5_000.0),
    ("entropy, 65,536 bins, 50% outliers of 10⁶", "&obs=entropy&ebins=65536&of=0.5&om=1000000", 10_000.0),
];

/// The CLI's readouts for a link.
fn cli_view(hash: &str) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope")).args(["view", hash, "--json"]).output().unwrap();
    assert!(out.status.success(), "quantscope view {hash}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The page's readouts equal the CLI's for the same link.
async fn assert_readouts_match(b: &Browser, hash: &str) {
    let cli = cli_view(hash);
    let f = |k: &str| cli[k].as_f64();
    let first = |k: &str| cli[k][0].as_f64();
    let count = cli["count"].as_f64().unwrap_or(0.0);
    let clipped = (f("clipped_below").unwrap_or(0.0) + f("clipped_above").unwrap_or(0.0)) / count.max(1.0);
    let levels = cli["quant_max"].as_i64().unwrap() - cli["quant_min"].as_i64().unwrap() + 1;
    let want = [
        ("metric-scale", sig4(first("scale"))),
        ("metric-zero-point", cli["zero_point"][0].to_string()),
        ("metric-sqnr-db", sig4(f("sqnr_db"))),
        ("metric-mse", sig4(f("mse"))),
        ("metric-clipped", percent(clipped)),
        ("metric-levels-used", format!("{} / {levels}", cli["levels_used"])),
    ];
    for (id, value) in want {
        assert_eq!(b.text(&format!("[data-testid={id}]")).await, value, "{id} for #{hash}");
    }
}

/// Watches the page: long tasks, and when the progress bar came and went.
const WATCH: &str = r#"
    window.__long = [];
    new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration))).observe({type: 'longtask', buffered: false});
    window.__progressAt = null;
    window.__doneAt = null;
    const seen = () => {
        const p = document.querySelector('[data-testid=explore-progress]');
        if (p && window.__progressAt === null) window.__progressAt = performance.now();
        if (!p && window.__t0 !== undefined && window.__doneAt === null && document.querySelector('[data-testid=metric-sqnr-db]')) window.__doneAt = performance.now();
    };
    new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true});
"#;

/// Sets the hash and notes when, in the page's clock.
async fn change_to(b: &Browser, hash: &str) {
    b.exec_with("window.__t0 = performance.now(); window.__progressAt = null; window.__doneAt = null; location.hash = arguments[0];", hash).await;
}

async fn number(b: &Browser, expr: &str) -> Option<f64> {
    b.exec(&format!("return {expr}")).await.as_f64()
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn heavy_settings_run_in_the_worker_and_never_freeze_the_page() {
    let b = Browser::start().await;
    let mut report = Vec::new();
    for &(name, settings, limit_ms) in ROWS {
        // A fresh page at a small size, then the user asks for 10M values.
        b.goto(&format!("#n=1000{settings}")).await;
        b.wait_for("[data-testid=metric-sqnr-db]").await;
        b.exec(WATCH).await;
        let hash = format!("n=10000000{settings}");
        change_to(&b, &hash).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let done = loop {
            if let Some(t) = number(&b, "window.__doneAt").await {
                break t;
            }
            assert!(Instant::now() < deadline, "{name}: no result after 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let t0 = number(&b, "window.__t0").await.unwrap();
        let progress = number(&b, "window.__progressAt").await;
        let long: Vec<f64> = serde_json::from_value(b.exec("return window.__long").await).unwrap_or_default();
        let took = done - t0;
        report.push(format!("{name}: readouts after {took:.0} ms, progress after {:?} ms, long tasks {long:?}", progress.map(|p| (p - t0).round())));
        eprintln!("{}", report.last().expect("pushed just now"));
        assert!(long.iter().all(|&d| d <= LONG_TASK_MS), "{name}: a main-thread task over {LONG_TASK_MS} ms: {long:?}");
        let shown = progress.map(|p| p - t0);
        assert!(took < PROGRESS_WITHIN_MS || shown.is_some_and(|s| s <= PROGRESS_WITHIN_MS), "{name}: progress after {shown:?} ms, result after {took} ms");
        // Durations are measured, not asserted (a shared VM's speed varies by a third): they go
        // to the report below, beside the issue's figure, and to the benchmark page.
        report.last_mut().expect("pushed above").push_str(&format!(" (the issue's figure: {limit_ms} ms)"));
        assert_readouts_match(&b, &hash).await;
    }
    eprintln!("HEAVY SETTINGS (headless Chromium, this machine):\n{}", report.join("\n"));

    // Cancel: a costly setting is under way; Cancel returns to the result on screen at once,
    // and the controls with it.
    b.goto("#n=10000000").await;
    b.wait_for_timeout("[data-testid=metric-sqnr-db]", Duration::from_secs(30)).await;
    b.wait_for_timeout("[data-testid=explorer-results][aria-busy=false]", Duration::from_secs(30)).await;
    let before = b.text("[data-testid=metric-sqnr-db]").await;
    b.set_hash("n=10000000&obs=mse").await;
    b.wait_for("[data-testid=explore-cancel]").await;
    b.screenshot("explorer-pending").await;
    b.click("[data-testid=explore-cancel]").await;
    b.wait_for("[data-testid=explorer-results][aria-busy=false]").await;
    assert!(!b.hash().await.contains("obs=mse"), "the controls go back with the view: {}", b.hash().await);
    assert_eq!(b.text("[data-testid=metric-sqnr-db]").await, before);
    assert_readouts_match(&b, "n=10000000").await;
    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}
