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

/// How many elements of a part are on the page, and how many of them are shown.
async fn part_shown(b: &Browser, part: &str) -> (u64, u64) {
    let v = b
        .exec_with("const els = [...document.querySelectorAll(`[data-part=\"${arguments[0]}\"]`)]; return [els.length, els.filter(e => e.getClientRects().length > 0).length];", part)
        .await;
    (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0))
}

/// Loads `hash`, runs the Lab when the page is the Lab's, and waits until every part of
/// `parts` is on the page.
async fn open_with_parts(b: &Browser, hash: &str, parts: &[&str]) {
    b.goto(hash).await;
    if hash.contains("view=lab") {
        // A script's click: the button is hidden when the training panel is.
        b.wait_for("[data-testid=lab-train]").await;
        b.exec("document.querySelector('[data-testid=lab-train]').click()").await;
        b.wait_for_timeout("[data-testid=lab-qat-accuracy]", Duration::from_secs(60)).await;
    }
    for part in parts {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while part_shown(b, part).await.0 == 0 {
            assert!(std::time::Instant::now() < deadline, "{hash}: no element of part {part}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Each embed key hides every element of the part it names, and nothing else: for each page
/// that shows a part, with all its parts shown first, then with one key at a time.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn each_embed_key_hides_what_it_names() {
    use quantscope::ui::state::PARTS;
    let b = Browser::start().await;
    let pages: &[(&str, &[&str])] = &[
        ("#view=explorer&ch=8&obs=moving-average&nb=10", &["header", "controls", "source", "histogram", "readouts", "codes", "transfer", "errors", "channels", "dynamics", "sweep"]),
        ("#view=learn", &["header", "lessons"]),
        ("#view=lab&ldata=moons&lhidden=8&lepochs=2&lqat=1", &["controls", "training", "results", "sqnr", "weights", "regions", "confusion", "labsweep"]),
        ("#view=lab&ldata=digits&lhidden=16&lepochs=1&lqat=1&lcalib=64", &["misclassified"]),
    ];
    let covered: Vec<&str> = pages.iter().flat_map(|(_, parts)| parts.iter().copied()).collect();
    for p in PARTS {
        assert!(covered.contains(&p.key), "part {} has no page in this test", p.key);
    }
    for (hash, parts) in pages {
        open_with_parts(&b, hash, parts).await;
        for part in *parts {
            let (n, shown) = part_shown(&b, part).await;
            assert_eq!(shown, n, "{hash}: part {part} shown before any key");
        }
        for part in *parts {
            let hidden = format!("{hash}&{part}_hide=1");
            let others: Vec<&str> = parts.iter().copied().filter(|p| p != part).collect();
            open_with_parts(&b, &hidden, &others).await;
            let (n, shown) = part_shown(&b, part).await;
            assert!(n > 0 && shown == 0, "{hidden}: {shown} of {n} elements of {part} still shown");
            for other in &others {
                let (n, shown) = part_shown(&b, other).await;
                assert!(n > 0 && shown == n, "{hidden}: {other} hidden too ({shown} of {n} shown)");
            }
            assert!(b.hash().await.contains(&format!("{part}_hide=1")), "the key stays in the link");
        }
    }
    // A teacher's frame: one chart and its readouts, no header, no controls.
    b.goto("#view=explorer&dist=normal&of=0.001&om=50&header_hide=1&controls_hide=1&source_hide=1&codes_hide=1&transfer_hide=1&errors_hide=1&sweep_hide=1").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    b.screenshot("embed-histogram-only").await;
    b.finish(&[]).await;
}

/// The page takes the browser's language, a link's `lang` overrides it, the switch changes it,
/// and a Chinese page shows no English outside the field's own terms, at run time too.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn the_language_comes_from_the_browser_and_the_link() {
    let b = Browser::start_with("/", "zh-CN").await;
    b.goto("").await;
    assert_eq!(b.exec("return document.documentElement.lang").await, "zh-Hans");
    assert_eq!(b.text("[data-testid=tab-explorer]").await, "探索");
    assert!(!b.hash().await.contains("lang="), "the browser's language is not written into links");
    b.wait_painted("[data-testid=chart-histogram]").await;
    b.screenshot("zh-explorer").await;
    // What the page shows, readouts and worker results included, has no English left.
    let shown = "return [document.body.innerText, ...[...document.querySelectorAll('[aria-label],[title],[placeholder]')].map(e => [e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('placeholder')].join(' '))].join('\\n')";
    let english = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !quantscope::ui::i18n::english_words(l).is_empty())
            // The language switch names each language in its own.
            .filter(|l| !quantscope::ui::i18n::Lang::ALL.iter().any(|lang| l.trim() == lang.name()))
            .map(String::from)
            .collect()
    };
    b.click("[data-testid=sweep-start]").await;
    b.wait_for_timeout("[data-testid=sweep-result]", Duration::from_secs(30)).await;
    let left = english(b.exec(shown).await.as_str().unwrap_or_default());
    assert!(left.is_empty(), "English on the Chinese Explorer: {left:#?}");
    for hash in ["#view=learn&lesson=ptq-qat", "#view=learn&lesson=scale-zero-point", "#view=lab&ldata=digits&lhidden=16&lepochs=2&lqat=1"] {
        b.goto(hash).await;
        if hash.contains("view=lab") {
            b.click("[data-testid=lab-train]").await;
            b.wait_for_timeout("[data-testid=lab-qat-accuracy]", Duration::from_secs(60)).await;
            b.wait_painted("[data-testid=chart-lab-training]").await;
        }
        let left = english(b.exec(shown).await.as_str().unwrap_or_default());
        assert!(left.is_empty(), "English on the Chinese page {hash}: {left:#?}");
        b.screenshot(&format!("zh-{}", hash.trim_start_matches("#view=").replace(['&', '='], "-"))).await;
    }
    assert!(b.text("[data-testid=lab-ptq-agreement]").await.contains("完全一致"));
    // The switch: English, written into the link, and kept on reload.
    b.client.find(fantoccini::Locator::Css("[data-testid=lang]")).await.unwrap().select_by_value("en").await.unwrap();
    b.wait_text("[data-testid=tab-explorer]", |t| t == "Explorer").await;
    assert_eq!(b.exec("return document.documentElement.lang").await, "en");
    let hash = b.wait_hash("lang=en").await;
    b.goto(&hash).await;
    assert_eq!(b.text("[data-testid=tab-lab]").await, "Lab");
    // A link's language wins over the browser's.
    b.goto("#view=learn&lang=zh").await;
    assert_eq!(b.text("[data-testid=tab-learn]").await, "学习");
    b.finish(&[]).await;
}
