//! End-to-end: the number formats in the Explorer, in the release build served on 127.0.0.1 and
//! driven in headless Chromium. A format's readouts equal `quantscope view` of the same link; a
//! worst block's button draws its grid; every format side by side opens on a real GGUF layer
//! with one click, runs in the worker with progress, and equals `quantscope formats`.
//!
//! Needs the built app and a browser, so it is `#[ignore]`d in plain `cargo test`;
//! `scripts/test e2e` builds the app and runs it with `--ignored`.
#![cfg(not(target_arch = "wasm32"))]

mod models;
#[allow(dead_code)] // the helpers other e2e tests use
mod support;

use quantscope::ui::format::sig4;
use support::{cli_json, Browser};

/// `quantscope view LINK --json`: the format's readouts for a synthetic link.
fn cli_view(hash: &str) -> serde_json::Value {
    cli_json(&["view", hash])
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn a_format_shows_its_grid_and_draws_the_block_asked_for() {
    let b = Browser::start().await;
    let hash = "fmt=mxfp4&n=102400&of=0.001&om=40";
    b.goto(&format!("#{hash}")).await;
    let cli = cli_view(hash);
    b.wait_text("[data-testid=format-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    assert_eq!(b.text("[data-testid=format-bits-per-weight]").await, "4.2500");
    assert_eq!(b.text("[data-testid=format-flushed]").await.replace('\u{202f}', ""), cli["flushed"].to_string());
    let worst = &cli["worst"];
    let first = worst[0]["block"].as_u64().unwrap();
    assert!(b.text("[data-testid=format-block]").await.starts_with(&format!("{first} ")), "the worst block is drawn first");
    b.wait_painted("[data-testid=chart-format-histogram]").await;
    b.screenshot("format-mxfp4").await;

    // The second worst block's button draws its grid, and the link says so.
    let second = worst[1]["block"].as_u64().unwrap();
    b.click(&format!("[data-testid=format-draw-{second}]")).await;
    b.wait_hash(&format!("fblock={second}")).await;
    b.wait_text("[data-testid=format-block]", |t| t.starts_with(&format!("{second} "))).await;

    // Another format from the picker: the K-quant's anatomy has super- and sub-block scales.
    b.set_value("[data-testid=ctl-format]", "q4_k").await;
    b.wait_hash("fmt=q4_k").await;
    let cli = cli_view(&b.hash().await);
    b.wait_text("[data-testid=format-label]", |t| t == "q4_k").await;
    b.wait_text("[data-testid=format-sqnr-db]", |t| t == sig4(cli["sqnr_db"].as_f64())).await;
    b.wait_for("[data-testid=chart-format-scales-1]").await;
    b.screenshot("format-q4_k").await;
    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs the trunk build and Chromium: run scripts/test e2e"]
async fn every_format_side_by_side_on_a_real_layer_in_one_click() {
    use quantscope::engine::formats::spec::Format;
    let gguf = models::real_file("gemma-3-270m-q4_k_m.gguf");
    let b = Browser::start().await;
    b.goto("#src=file").await;
    let input = b.wait_for("[data-testid=ctl-file]").await;
    input.send_keys(gguf.to_str().unwrap()).await.unwrap();
    b.wait_hash("file=gemma-3-270m-q4_k_m.gguf").await;
    let name = "blk.0.attn_output.weight";
    b.click(&format!("[data-testid=layer-row][data-name='{name}'] [data-testid=layer-compare]")).await;
    b.wait_hash("cmp=1").await;
    b.wait_for("[data-testid=compare-progress]").await;
    let count = Format::comparison().len();
    b.wait_for_timeout("[data-testid=compare-table]", std::time::Duration::from_secs(120)).await;
    let rows = b.client.find_all(fantoccini::Locator::Css("[data-testid=compare-table] tbody tr")).await.unwrap();
    assert_eq!(rows.len(), count);
    let cli = cli_json(&["formats", gguf.to_str().unwrap(), "--tensor", name]);
    for r in cli["formats"].as_array().unwrap() {
        let label = r["label"].as_str().unwrap();
        let row = b.text(&format!("[data-testid='compare-row-{}']", label.replace(' ', "-"))).await;
        // JSON has no infinity: an exact format (Q4_K of this Q4_K tensor: llama.cpp's reference
        // quantizer gives back the stored blocks) has no SQNR there and MSE 0.
        let sqnr = if r["mse"].as_f64() == Some(0.0) { Some(f64::INFINITY) } else { r["sqnr_db"].as_f64() };
        assert!(row.contains(&sig4(sqnr)), "{label}: {row} against the CLI's {}", r["sqnr_db"]);
        assert_eq!(row.contains("on the front"), r["pareto"].as_bool().unwrap(), "{label}: {row}");
    }
    b.wait_painted("[data-testid=chart-compare]").await;
    let csv = {
        b.click("[data-testid=compare-csv]").await;
        String::from_utf8(b.download("blk.0.attn_output.weight-formats.csv").await).unwrap()
    };
    assert_eq!(csv.lines().count(), count + 1);
    assert!(csv.starts_with("label,format,bits_per_weight,"));
    b.exec("document.querySelector('[data-testid=chart-compare]').scrollIntoView()").await;
    b.screenshot("format-compare-gguf").await;
    // A row's button shows that format above.
    b.click("[data-testid=compare-row-mxfp4] button").await;
    b.wait_hash("fmt=mxfp4").await;
    b.wait_text("[data-testid=format-label]", |t| t == "mxfp4").await;
    b.finish(&["worker_loader.js", "worker.js", "worker_bg.wasm"]).await;
}
