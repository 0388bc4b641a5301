//! End-to-end: no setting freezes the page. Heavy Explorer settings (10M values, costly
//! observers) run in the worker: the page's thread never holds a task of 100 ms, a progress bar
//! shows within 200 ms, the readouts equal the CLI's, and Cancel goes back to the last result at
//! once. Driven through the issue's table of settings, then through random states drawn from the
//! URL table's full ranges (the URL state's own proptest strategy).
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)] // the helpers this file does not use serve tests/e2e.rs
mod support;

use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use quantscope::ui::bench::{HEAVY_N, HEAVY_SETTINGS};
use quantscope::ui::format::{percent, sig4};
use quantscope::ui::state::{Source, UrlState, View};
use serde_json::Value;
use support::Browser;

/// The URL state's strategy (shared with its unit tests).
#[allow(dead_code)] // any_lab, any_page: the Lab and the page keep their defaults here
#[path = "../src/ui/url_strategy.rs"]
mod url_strategy;

/// Longest main-thread task allowed while the worker computes (the issue's figure).
const LONG_TASK_MS: f64 = 100.0;
/// How soon a progress indicator must show when the result is not there yet.
const PROGRESS_WITHIN_MS: f64 = 200.0;

/// Random URL states the second test drives (at least the issue's 30); more with
/// `QUANTSCOPE_E2E_STATES=N`, another draw with `QUANTSCOPE_E2E_SEED=N` (each run draws anew and
/// prints its seed).
const RANDOM_STATES: usize = 32;

/// The readouts the page shows and the CLI prints.
const READOUTS: [&str; 6] = ["metric-scale", "metric-zero-point", "metric-sqnr-db", "metric-mse", "metric-clipped", "metric-levels-used"];

/// What the Explorer shows for a link: its readouts, or why there are none.
#[derive(Debug, PartialEq)]
enum Shown {
    Readouts(Vec<String>),
    Error(String),
}

/// What `quantscope view` says about a link, in the page's words.
fn cli_view(hash: &str) -> Shown {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope")).args(["view", hash, "--json"]).output().unwrap();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Shown::Error(err.trim().trim_start_matches("quantscope: ").to_string());
    }
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = |k: &str| cli[k].as_f64();
    let first = |k: &str| cli[k][0].as_f64();
    let count = cli["count"].as_f64().unwrap_or(0.0);
    let clipped = (f("clipped_below").unwrap_or(0.0) + f("clipped_above").unwrap_or(0.0)) / count.max(1.0);
    let levels = cli["quant_max"].as_i64().unwrap() - cli["quant_min"].as_i64().unwrap() + 1;
    Shown::Readouts(vec![
        sig4(first("scale")),
        cli["zero_point"][0].to_string(),
        sig4(f("sqnr_db")),
        sig4(f("mse")),
        percent(clipped),
        format!("{} / {levels}", cli["levels_used"]),
    ])
}

/// The page's readouts equal the CLI's for the same link.
async fn assert_readouts_match(b: &Browser, hash: &str) {
    assert_eq!(shown(&snapshot(b).await), cli_view(hash), "the page against `quantscope view` for #{hash}");
}

/// Watches the page over the whole run: every long task, and when the progress bar came and
/// when the page settled after the last change of the hash (`window.__t0`).
const WATCH: &str = r#"
    window.__long = [];
    new PerformanceObserver(l => l.getEntries().forEach(e => window.__long.push(e.duration))).observe({type: 'longtask', buffered: false});
    window.__progressAt = null;
    window.__doneAt = null;
    const seen = () => {
        if (window.__t0 === undefined || window.__doneAt !== null) return;
        const p = document.querySelector('[data-testid=explore-progress]');
        if (p && window.__progressAt === null) window.__progressAt = performance.now();
        const answer = document.querySelector('[data-testid=metric-sqnr-db], [data-testid=explorer-error]');
        if (!p && answer) window.__doneAt = performance.now();
    };
    new MutationObserver(seen).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
"#;

/// What the page shows now (readouts or error, the hash, whether work is under way).
/// A function `snapshot(ids)` that reads what the page shows now: the readouts `ids` (or the
/// error), the hash, and whether work is under way.
const SNAPSHOT_FN: &str = r#"
    const snapshot = ids => {
        const text = id => { const e = document.querySelector(`[data-testid=${id}]`); return e ? e.textContent : null; };
        return {
            hash: location.hash.replace(/^#/, ''),
            readouts: ids.map(text),
            error: text('explorer-error'),
            busy: document.querySelector('[data-testid=explorer-results]')?.getAttribute('aria-busy') ?? null,
            progress: document.querySelector('[data-testid=explore-progress]') !== null,
        };
    };
"#;

async fn snapshot(b: &Browser) -> Value {
    let script = format!("{SNAPSHOT_FN} return snapshot(arguments[0]);");
    b.client.execute(&script, vec![serde_json::json!(READOUTS)]).await.unwrap()
}

/// The readouts (or the error) of a snapshot.
fn shown(s: &Value) -> Shown {
    match s["error"].as_str() {
        Some(e) => Shown::Error(e.to_string()),
        None => Shown::Readouts(s["readouts"].as_array().unwrap().iter().map(|r| r.as_str().unwrap_or("(none)").to_string()).collect()),
    }
}

/// Sets the hash and notes when, in the page's clock.
async fn change_to(b: &Browser, hash: &str) {
    b.exec_with("window.__t0 = performance.now(); window.__progressAt = null; window.__doneAt = null; location.hash = arguments[0];", hash).await;
}

async fn number(b: &Browser, expr: &str) -> Option<f64> {
    b.exec(&format!("return {expr}")).await.as_f64()
}

/// How a change of the hash went, in the page's clock from the change.
#[derive(Debug)]
struct Settled {
    /// Until the answer was on screen.
    took: f64,
    /// Until the progress bar showed, if it did.
    progress: Option<f64>,
}

/// Waits until the page shows the answer to the last change of the hash (or, with
/// `until_progress`, until it shows the progress bar instead, if it does).
async fn settle(b: &Browser, what: &str, until_progress: bool) -> Settled {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let t0 = number(b, "window.__t0").await.expect("set by change_to");
        let progress = number(b, "window.__progressAt").await.map(|p| p - t0);
        if let Some(done) = number(b, "window.__doneAt").await {
            return Settled { took: done - t0, progress };
        }
        if until_progress && progress.is_some() {
            return Settled { took: f64::NAN, progress };
        }
        if Instant::now() > deadline {
            let console = b.logs(support::Level::All).await;
            panic!("{what}: no answer after 90 s; the page shows {}\nconsole:\n{}", snapshot(b).await, console.join("\n"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every main-thread task so far was at most [`LONG_TASK_MS`].
async fn assert_no_long_task(b: &Browser, what: &str) {
    let long: Vec<f64> = serde_json::from_value(b.exec("return window.__long").await).unwrap_or_default();
    assert!(long.iter().all(|&d| d <= LONG_TASK_MS), "{what}: a main-thread task over {LONG_TASK_MS} ms: {long:?}");
}

/// The progress bar showed within [`PROGRESS_WITHIN_MS`] unless the answer came sooner.
fn assert_progress_in_time(s: &Settled, what: &str) {
    assert!(
        s.took < PROGRESS_WITHIN_MS || s.progress.is_some_and(|p| p <= PROGRESS_WITHIN_MS),
        "{what}: progress after {:?} ms, answer after {} ms",
        s.progress,
        s.took
    );
}

/// Presses Cancel while work is under way and reads the page one frame later, with no message
/// from the worker in between: the page must be back at `before` (its readouts and its hash).
/// `false` when the answer came before the press (there was nothing to cancel).
async fn cancel_returns_at_once(b: &Browser, before: &Value, what: &str) -> bool {
    const CANCEL: &str = r#"
        const [ids, done] = arguments;
        const cancel = document.querySelector('[data-testid=explore-cancel]');
        if (!cancel) return done(null);
        cancel.click();
        requestAnimationFrame(() => setTimeout(() => done(snapshot(ids)), 0));
    "#;
    let after = b.client.execute_async(&format!("{SNAPSHOT_FN}{CANCEL}"), vec![serde_json::json!(READOUTS)]).await.unwrap();
    if after.is_null() {
        return false;
    }
    assert_eq!(after["progress"], false, "{what}: the progress bar is gone a frame after Cancel");
    assert_eq!(after["busy"], before["busy"], "{what}: the results are no longer dimmed");
    assert_eq!(shown(&after), shown(before), "{what}: a frame after Cancel, the previous result");
    assert_eq!(UrlState::from_hash(after["hash"].as_str().unwrap()).0, UrlState::from_hash(before["hash"].as_str().unwrap()).0, "{what}: the controls went back too");
    true
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn heavy_settings_run_in_the_worker_and_never_freeze_the_page() {
    let b = Browser::start().await;
    let mut report = Vec::new();
    // The issue's table: each setting at 10M values, with how long it froze the page before.
    for &(_, name, settings, frozen_ms) in HEAVY_SETTINGS {
        // A fresh page at a small size, then the user asks for 10M values.
        b.goto(&format!("#n=1000{settings}")).await;
        b.wait_for("[data-testid=metric-sqnr-db]").await;
        b.exec(WATCH).await;
        let hash = format!("n={HEAVY_N}{settings}");
        change_to(&b, &hash).await;
        let s = settle(&b, name, false).await;
        let long: Vec<f64> = serde_json::from_value(b.exec("return window.__long").await).unwrap_or_default();
        // Durations are measured, not asserted (a shared VM's speed varies by a third): they go
        // to the report below, beside the issue's figure, and to the benchmark page.
        report.push(format!("{name}: readouts after {:.0} ms (before: {frozen_ms} ms, frozen), progress after {:?} ms, long tasks {long:?}", s.took, s.progress.map(f64::round)));
        eprintln!("{}", report.last().expect("pushed just now"));
        assert_no_long_task(&b, name).await;
        assert_progress_in_time(&s, name);
        assert_readouts_match(&b, &hash).await;
    }
    eprintln!("HEAVY SETTINGS (headless Chromium, this machine):\n{}", report.join("\n"));

    // Cancel: a costly setting is under way; Cancel returns to the result on screen at once,
    // and the controls with it.
    b.goto("#n=10000000").await;
    b.wait_for_timeout("[data-testid=metric-sqnr-db]", Duration::from_secs(30)).await;
    b.wait_for_timeout("[data-testid=explorer-results][aria-busy=false]", Duration::from_secs(30)).await;
    let before = snapshot(&b).await;
    b.set_hash("n=10000000&obs=mse").await;
    b.wait_for("[data-testid=explore-cancel]").await;
    b.screenshot("explorer-pending").await;
    assert!(cancel_returns_at_once(&b, &before, "MSE at 10M").await, "MSE at 10M was under way");
    assert!(!b.hash().await.contains("obs=mse"), "the controls go back with the view: {}", b.hash().await);
    assert_readouts_match(&b, "n=10000000").await;

    // Dragging a clip end over 10M values: every move is computed in the worker, the histogram
    // shows the dragged grid at once, and the page's thread stays free.
    b.exec(WATCH).await;
    let x = b.low_clip_end_x().await;
    b.drag_and_hold("[data-testid=chart-histogram]", x, 120.0).await;
    b.screenshot("explorer-drag-10m").await;
    b.release().await;
    let hash = b.wait_hash("&hi=").await;
    assert!(!hash.contains("lo=auto"), "the drag set the range: {hash}");
    b.wait_for_timeout("[data-testid=explorer-results][aria-busy=false]", Duration::from_secs(30)).await;
    assert_no_long_task(&b, "dragging a clip end at 10M").await;
    assert_readouts_match(&b, hash.trim_start_matches('#')).await;
    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}

/// The Explorer's part of a random URL state: the view and the source are the Explorer's own
/// (other views draw nothing here; a file's tensor needs the file), the rest as drawn.
fn explorer_state(mut s: UrlState) -> String {
    s.view = View::Explorer;
    s.source = Source::Synthetic;
    // The integer grid's readouts are compared with the CLI's here; the number formats' views
    // have their own end-to-end test (e2e_formats.rs), and the comparison is not run on its own.
    (s.format, s.compare) = (None, false);
    s.to_hash()
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn random_states_never_freeze_the_page_and_match_the_cli() {
    let seed: u64 = std::env::var("QUANTSCOPE_E2E_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    let count: usize = std::env::var("QUANTSCOPE_E2E_STATES").ok().and_then(|s| s.parse().ok()).unwrap_or(RANDOM_STATES).max(RANDOM_STATES);
    eprintln!("random URL states: {count}, seed {seed} (QUANTSCOPE_E2E_SEED={seed} draws them again)");
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    let strategy = url_strategy::any_state();
    let states: Vec<String> = (0..count).map(|_| explorer_state(strategy.new_tree(&mut runner).expect("a state").current())).collect();

    let b = Browser::start().await;
    b.goto("#n=1000").await;
    b.wait_for("[data-testid=metric-sqnr-db]").await;
    b.exec(WATCH).await;
    let (mut cancelled, mut pending) = (0, 0);
    // QUANTSCOPE_E2E_FROM=K drives the states from the K-th on (the same draw), to reproduce one.
    let from: usize = std::env::var("QUANTSCOPE_E2E_FROM").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    for (i, hash) in states.iter().enumerate().skip(from) {
        let what = format!("state {i} of seed {seed}: #{hash}");
        let before = snapshot(&b).await;
        change_to(&b, hash).await;
        let first = settle(&b, &what, true).await;
        assert_progress_in_time(&first, &what);
        if first.took.is_nan() {
            // Under way: Cancel goes back to what was on screen, then the state is asked again
            // (unless the answer came before the press).
            pending += 1;
            let cancel = cancel_returns_at_once(&b, &before, &what).await;
            if cancel {
                cancelled += 1;
                change_to(&b, hash).await;
            }
            let again = settle(&b, &what, false).await;
            assert_progress_in_time(&again, &what);
            let note = if cancel { "asked again after Cancel" } else { "answered before Cancel" };
            eprintln!("{i}: answer after {:.0} ms ({note}), progress after {:?} ms", again.took, again.progress.map(f64::round));
        } else {
            eprintln!("{i}: answer after {:.0} ms, progress after {:?} ms", first.took, first.progress.map(f64::round));
        }
        assert_no_long_task(&b, &what).await;
        assert_readouts_match(&b, hash).await;
    }
    eprintln!("{count} random states: {pending} ran in the worker, {cancelled} cancelled and asked again");
    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}
