//! End-to-end: the release build as a published site. Served under a sub-path, as GitHub Pages
//! serves a project, the shell, a file, the worker, the Lab and the benchmark page all work and
//! every request stays under that path; once loaded, the app reloads and runs with the network
//! cut, from its service worker's cache.
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

#[allow(dead_code)] // the helpers other e2e tests use
mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use quantscope::engine::io::npy;
use quantscope::ui::format::sig4;
use support::{cli_json, Browser};

/// Where the site is served: a path of more than one level, as a course page would link it.
const SUB_PATH: &str = "/courses/quantization/quantscope/";

/// Waits until the service worker controls the page and has cached the build (its install
/// finished), so that the network can go.
async fn wait_offline_ready(b: &Browser) {
    let script = "return !!(navigator.serviceWorker && navigator.serviceWorker.controller && navigator.serviceWorker.controller.state === 'activated')";
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while b.exec(script).await != serde_json::Value::Bool(true) {
        assert!(std::time::Instant::now() < deadline, "no active service worker controls the page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The shell, the worker (a bit-width sweep), a short Lab run: what a class does first.
async fn use_the_app(b: &Browser, what: &str) {
    b.goto("").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    let cli = cli_json(&["synth", "--dist", "normal", "--n", "100000", "--seed", "42", "--bits", "8", "--scheme", "affine"]);
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["qparams"]["scale"].as_f64()), "{what}");
    b.click("[data-testid=sweep-start]").await;
    b.wait_for_timeout("[data-testid=sweep-result]", Duration::from_secs(30)).await;
    b.goto("#view=lab&ldata=moons&lhidden=8&lepochs=3&lqat=1&lwbits=4&labits=4").await;
    b.click("[data-testid=lab-train]").await;
    b.wait_for_timeout("[data-testid=lab-qat-accuracy]", Duration::from_secs(60)).await;
    b.screenshot(&format!("site-{what}")).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn the_site_works_under_a_sub_path_and_offline() {
    let b = Browser::start_at(SUB_PATH).await;
    assert!(b.server.base.ends_with(SUB_PATH));
    use_the_app(&b, "sub-path").await;

    // A file, read in the page: its readouts equal the CLI's.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-site");
    std::fs::create_dir_all(&dir).unwrap();
    let values: Vec<f32> = (0..4096).map(|i| ((i * 37 % 1001) as f32 / 500.0 - 1.0).powi(3)).collect();
    let path = dir.join("cubes.npy");
    std::fs::write(&path, npy::write_f32(&[64, 64], &values)).unwrap();
    b.goto("#src=file").await;
    b.wait_for("[data-testid=ctl-file]").await.send_keys(path.to_str().unwrap()).await.unwrap();
    b.wait_hash("file=cubes.npy").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    let cli = cli_json(&["qparams", path.to_str().unwrap(), "--observer", "minmax"]);
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["scale"][0].as_f64()));

    // The benchmark page's script and the page itself load from the sub-path too.
    b.goto("#view=bench").await;
    b.wait_for("[data-testid=bench-page]").await;
    assert_eq!(b.exec("return typeof globalThis.quantscopeBench").await, "object");

    // Every request so far stayed under the sub-path (the privacy check says outside
    // requests are ones the app made) and found its file.
    b.assert_same_origin_only(&["sw.js", "worker_loader.js", "worker.js", "worker_bg.wasm"]);

    // Offline: the service worker has cached the build; cut the network and use the app again.
    wait_offline_ready(&b).await;
    let before = b.server.requests.lock().unwrap().len();
    b.server.offline.store(true, Ordering::SeqCst);
    use_the_app(&b, "offline").await;
    let after: Vec<(String, u16)> = b.server.requests.lock().unwrap()[before..].to_vec();
    // The browser may look for a newer sw.js on a navigation (it fails, harmlessly); nothing
    // else may have needed the network.
    let needed: Vec<_> = after.iter().filter(|(u, _)| u.starts_with(&b.server.origin) && !u.ends_with("/sw.js")).collect();
    assert!(needed.is_empty(), "offline, the app still asked the network for {needed:?}");
    let severe = b.logs(support::Level::Severe).await;
    let unexpected: Vec<_> = severe.iter().filter(|l| !l.contains("sw.js")).collect();
    assert!(unexpected.is_empty(), "console errors offline:\n{unexpected:#?}");
    b.server.offline.store(false, Ordering::SeqCst);
    b.stop().await;
}
