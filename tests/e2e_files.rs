//! End-to-end: files opened in the Explorer (`.npy`, a large `.safetensors` read one tensor at a
//! time, an ONNX model with batch-norm folding, a broken file), in the release build served on
//! 127.0.0.1 and driven in headless Chromium; the readouts equal the CLI's for the same file.
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

mod models;
#[allow(dead_code)] // the helpers other e2e tests use
mod support;

use fantoccini::Locator;
use quantscope::engine::io::{npy, safetensors};
use quantscope::ui::format::sig4;
use support::{cli_json, Browser};

/// Test files, written by the engine's own writers (and prost, for ONNX) into the test's
/// scratch directory.
fn fixtures() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-files");
    std::fs::create_dir_all(&dir).unwrap();
    // A depthwise-like weight: 8 channels of 9 values whose ranges grow 2× per channel.
    let dw: Vec<f32> = (0..72).map(|i| ((i % 9) as f32 - 4.0) * 0.01 * 2f32.powi(i / 9)).collect();
    std::fs::write(dir.join("dw.npy"), npy::write_f32(&[8, 9], &dw)).unwrap();
    // Over 64 MiB, so the app lists it from its header and reads one tensor at a time.
    let big: Vec<f32> = (0u64..(17 << 20)).map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0).collect();
    let bias: Vec<f32> = (0..16).map(|i| i as f32 * 0.1 - 0.8).collect();
    let st = safetensors::write_f32(&[("encoder.big", &[17, 1 << 20], &big), ("encoder.dw", &[8, 9], &dw), ("encoder.bias", &[16], &bias)]);
    std::fs::write(dir.join("model.safetensors"), st).unwrap();
    // Conv (2 channels) → BatchNormalization with γ = (0.5, 100): folding turns the weight's
    // range [0.25, 1] into [0.25, 100].
    std::fs::write(dir.join("model.onnx"), models::conv_bn_onnx(&[2, 1, 1, 2], &[1.0, 0.5, 1.0, 0.25])).unwrap();
    std::fs::write(dir.join("broken.npy"), b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, 'shape': (1000,), }").unwrap();
    dir
}

/// Opens `path` through the file picker, as a user choosing it would.
async fn open(b: &Browser, path: &std::path::Path) {
    let input = b.wait_for("[data-testid=ctl-file]").await;
    input.send_keys(path.to_str().unwrap()).await.unwrap();
}

/// Files: .npy, a large .safetensors read one tensor at a time, an ONNX model with batch-norm
/// folding, a broken file; readouts equal the CLI's for the same file and tensor, and a link
/// reproduces the view once the file is opened again.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn files_open_in_the_layer_browser_and_match_the_cli() {
    let dir = fixtures();
    let b = Browser::start().await;
    b.goto("#src=file").await;
    b.wait_text("[data-testid=explorer-error]", |t| t.contains("Open a file")).await;

    // .npy: one tensor, read whole; the readouts equal `quantscope qparams`.
    let npy = dir.join("dw.npy");
    open(&b, &npy).await;
    b.wait_hash("file=dw.npy&tensor=dw").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    let f = npy.to_str().unwrap();
    let cli = cli_json(&["qparams", f, "--observer", "minmax"]);
    assert_eq!(b.text("[data-testid=metric-zero-point]").await, cli["zero_point"][0].to_string());
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["scale"][0].as_f64()));
    assert_eq!(b.text("[data-testid=metric-sqnr-db]").await, sig4(cli["sqnr_db"].as_f64()));
    assert!(b.text("[data-testid=layer-browser]").await.contains("⚠"), "a 128× channel spread is flagged");
    // Per channel, as the CLI computes it.
    b.set_value("[data-testid=ctl-granularity]", "channel").await;
    let cli = cli_json(&["qparams", f, "--observer", "minmax", "--qscheme", "per-channel-affine"]);
    b.wait_text("[data-testid=metric-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    assert_eq!(b.text("[data-testid=metric-sqnr-per-channel]").await, sig4(cli["sqnr_db"].as_f64()));
    let inspect = cli_json(&["inspect", f]);
    assert_eq!(b.text("[data-testid=metric-channel-ratio]").await, sig4(inspect[0]["channel_range_ratio"].as_f64()));
    b.screenshot("file-npy").await;

    // A large .safetensors: listed from its header; a tensor is read when chosen.
    let st = dir.join("model.safetensors");
    open(&b, &st).await;
    b.wait_hash("file=model.safetensors").await;
    let rows = b.client.find_all(Locator::Css("[data-testid=layer-row]")).await.unwrap();
    assert_eq!(rows.len(), 3);
    // The default tensor (the 68 MB one) is read first: choose another once that is done (a
    // click during the read was once lost in CI; see the session notes).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while b.exec("return document.querySelector('[data-testid=file-busy]') !== null").await == serde_json::Value::Bool(true) {
        assert!(std::time::Instant::now() < deadline, "the default tensor was never read");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    b.click("[data-testid=layer-row][data-name='encoder.dw'] button").await;
    b.wait_hash("tensor=encoder.dw").await;
    b.wait_text("[data-testid=layer-row][data-name='encoder.dw']", |t| t.contains("⚠")).await;
    let cli = cli_json(&["qparams", st.to_str().unwrap(), "--tensor", "encoder.dw", "--observer", "minmax", "--qscheme", "per-channel-affine"]);
    b.wait_text("[data-testid=metric-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    // Sorting by channel-range ratio puts the flagged tensor first.
    b.click("[data-testid=layers-sort-channel-rangeratio]").await;
    let first = b.client.find(Locator::Css("[data-testid=layer-row]")).await.unwrap().attr("data-name").await.unwrap();
    assert_eq!(first.as_deref(), Some("encoder.dw"));
    b.screenshot("file-safetensors").await;

    // The link reproduces the view once the same file is opened.
    let hash = b.hash().await;
    let before = b.text(".readouts").await;
    b.goto(&hash).await;
    b.wait_text("[data-testid=explorer-error]", |t| t.contains("model.safetensors") && t.contains("encoder.dw")).await;
    open(&b, &st).await;
    b.wait_text(".readouts", |t| t == before).await;

    // ONNX with batch-norm folding: the folded weight's range is the CLI's.
    let onnx = dir.join("model.onnx");
    b.set_value("[data-testid=ctl-granularity]", "tensor").await;
    open(&b, &onnx).await;
    b.wait_hash("file=model.onnx&tensor=conv.weight").await;
    b.wait_text("[data-testid=metric-observed]", |t| t == "[0.2500, 1.000]").await;
    b.click("[data-testid=ctl-fold-bn]").await;
    b.wait_hash("foldbn=1").await;
    let cli = cli_json(&["qparams", onnx.to_str().unwrap(), "--tensor", "conv.weight", "--fold-bn", "--observer", "minmax"]);
    let want = format!("[{}, {}]", sig4(cli["min_val"][0].as_f64()), sig4(cli["max_val"][0].as_f64()));
    b.wait_text("[data-testid=metric-observed]", |t| t == want).await;
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["scale"][0].as_f64()));

    // A broken file: a message naming it and the problem; the app keeps working.
    open(&b, &dir.join("broken.npy")).await;
    let err = b.text("[data-testid=file-error]").await;
    assert!(err.contains("broken.npy"), "{err}");
    b.screenshot("file-error").await;
    b.set_value("[data-testid=ctl-source]", "synth").await;
    b.wait_hash("src=synth").await;
    b.wait_painted("[data-testid=chart-histogram]").await;

    b.finish(&[]).await;
}

/// A real GGUF file (Gemma 3 270M, Q4_K_M, 253 MB): its tensors listed from the header (the
/// 168M-value embedding table not read), its facts shown, and a chosen Q4_K tensor read alone,
/// with readouts equal to the CLI's for the same tensor.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build, Chromium and scripts/tools/models: run scripts/test e2e"]
async fn a_gguf_lists_from_its_header_and_reads_one_tensor() {
    let gguf = models::real_file("gemma-3-270m-q4_k_m.gguf");
    let b = Browser::start().await;
    b.goto("#src=file").await;
    open(&b, &gguf).await;
    b.wait_hash("file=gemma-3-270m-q4_k_m.gguf").await;
    let facts = b.wait_text("[data-testid=file-facts]", |t| !t.is_empty()).await;
    assert!(facts.contains("GGUF v3 · gemma3 · MOSTLY_Q4_K_M · quantization version 2"), "{facts}");
    let rows = b.client.find_all(Locator::Css("[data-testid=layer-row]")).await.unwrap();
    assert_eq!(rows.len(), 236);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while b.exec("return document.querySelector('[data-testid=file-busy]') !== null").await == serde_json::Value::Bool(true) {
        assert!(std::time::Instant::now() < deadline, "the default tensor was never read");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // The embedding table (262144 × 640) stays unread: its statistics are "—".
    let embd = b.text("[data-testid=layer-row][data-name='token_embd.weight']").await;
    assert!(embd.contains("Q8_0") && embd.contains("—"), "{embd}");
    let name = "blk.0.attn_output.weight";
    b.click(&format!("[data-testid=layer-row][data-name='{name}'] button")).await;
    b.wait_hash(&format!("tensor={name}")).await;
    let row = b.wait_text(&format!("[data-testid=layer-row][data-name='{name}']"), |t| t.contains("Q4_K") && !t.contains("—")).await;
    let cli = cli_json(&["qparams", gguf.to_str().unwrap(), "--tensor", name, "--observer", "minmax"]);
    b.wait_text("[data-testid=metric-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    assert_eq!(b.text("[data-testid=metric-scale]").await, sig4(cli["scale"][0].as_f64()), "{row}");
    b.screenshot("file-gguf").await;
    b.finish(&[]).await;
}

/// A checkpoint over 2 GB, made of a real layer repeated: all-MiniLM-L6-v2's word embeddings
/// (30 522 × 384 f32, 47 MB) 44 times. The page lists every tensor from the header at once,
/// reads only the tensor shown, and its readouts equal the CLI's, which reads that one tensor.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn a_2_gb_checkpoint_lists_at_once() {
    use std::io::Write;
    let real = std::fs::read(models::real_file("all-minilm-l6-v2.safetensors")).unwrap();
    let index = safetensors::read_index("minilm", &real, real.len() as u64).unwrap();
    let e = index.iter().find(|e| e.name == "embeddings.word_embeddings.weight").unwrap();
    let layer = &real[e.start as usize..e.end as usize];
    const COPIES: usize = 44;
    let mut json = String::from("{");
    for i in 0..COPIES {
        let (a, b) = (i * layer.len(), (i + 1) * layer.len());
        json.push_str(&format!("{}\"layers.{i}.embed.weight\":{{\"dtype\":\"F32\",\"shape\":[30522,384],\"data_offsets\":[{a},{b}]}}", if i > 0 { "," } else { "" }));
    }
    json.push('}');
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-big").join("big.safetensors");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        f.write_all(&(json.len() as u64).to_le_bytes()).unwrap();
        f.write_all(json.as_bytes()).unwrap();
        for _ in 0..COPIES {
            f.write_all(layer).unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= 2_000_000_000, "{size} bytes");

    let b = Browser::start().await;
    b.goto("#src=file").await;
    let t0 = std::time::Instant::now();
    open(&b, &path).await;
    b.wait_hash("file=big.safetensors").await;
    b.wait_text("[data-testid=layer-browser] h2", |t| t.contains(&format!("{COPIES} tensors"))).await;
    eprintln!("2 GB checkpoint ({size} bytes): {COPIES} tensors listed {} ms after the file was chosen", t0.elapsed().as_millis());
    let rows = b.client.find_all(Locator::Css("[data-testid=layer-row]")).await.unwrap();
    assert_eq!(rows.len(), COPIES);
    // Only the tensor shown is read: the others' statistics stay "—".
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while b.exec("return document.querySelector('[data-testid=file-busy]') !== null").await == serde_json::Value::Bool(true) {
        assert!(std::time::Instant::now() < deadline, "the default tensor was never read");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let unread = b.client.find_all(Locator::Css("[data-testid=layer-row]")).await.unwrap().len()
        - b.exec("return [...document.querySelectorAll('[data-testid=layer-row]')].filter(r => !r.textContent.includes('—')).length").await.as_u64().unwrap() as usize;
    assert_eq!(unread, COPIES - 1, "one tensor read, the others not");
    let name = "layers.43.embed.weight";
    b.click(&format!("[data-testid=layer-row][data-name='{name}'] button")).await;
    b.wait_hash(&format!("tensor={name}")).await;
    let cli = cli_json(&["qparams", path.to_str().unwrap(), "--tensor", name, "--observer", "minmax"]);
    b.wait_text("[data-testid=metric-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    b.screenshot("file-2gb").await;
    b.finish(&[]).await;
    std::fs::remove_file(&path).unwrap();
}

/// Malformed GGUF files from the bad-file corpus (tests/corpus): each gets a message naming the
/// file and what is wrong, the CLI's own line, and the app goes on working.
#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn bad_gguf_files_get_the_clis_message_and_the_app_goes_on() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let b = Browser::start().await;
    b.goto("#src=file").await;
    for name in ["gguf-bad-magic.gguf", "gguf-tensor-past-end.gguf", "gguf-unknown-type.gguf", "gguf-huge-count.gguf", "gguf-header-cut.gguf", "gguf-version-1.gguf"] {
        let path = corpus.join(name);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope")).args(["inspect", path.to_str().unwrap()]).output().unwrap();
        assert!(!out.status.success(), "{name}");
        let cli = String::from_utf8_lossy(&out.stderr).trim().trim_start_matches("quantscope: ").replace(path.to_str().unwrap(), name);
        assert_eq!(cli.lines().count(), 1, "one line: {cli}");
        open(&b, &path).await;
        let shown = b.wait_text("[data-testid=file-error]", |t| t.contains(name)).await;
        assert!(shown.contains(&cli), "{name}: the page says “{shown}”, the CLI “{cli}”");
    }
    b.screenshot("file-bad-gguf").await;
    b.set_value("[data-testid=ctl-source]", "synth").await;
    b.wait_hash("src=synth").await;
    b.wait_painted("[data-testid=chart-histogram]").await;
    b.finish(&[]).await;
}
