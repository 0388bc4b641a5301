//! wasm-bindgen-test in headless Chromium: the app mounts, draws and switches views in a real
//! browser, and the engine's wasm-only integer kernels equal the plain loops. Run with
//! `scripts/test wasm`.
#![cfg(target_arch = "wasm32")]

use gloo::timers::future::TimeoutFuture;
use quantscope::ui::app::{App, AppProps};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts the app on a fresh element with `hash` as its start-up hash.
fn mount(hash: &str) -> Element {
    let document = gloo::utils::document();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    yew::Renderer::<App>::with_root_and_props(root.clone(), AppProps { initial_hash: hash.to_string().into(), browser_lang: quantscope::ui::i18n::Lang::En }).render();
    root
}

/// Waits until `selector` matches inside `root` (Yew renders asynchronously), up to ~2 s.
async fn find(root: &Element, selector: &str) -> Element {
    for _ in 0..100 {
        if let Ok(Some(el)) = root.query_selector(selector) {
            return el;
        }
        TimeoutFuture::new(20).await;
    }
    panic!("{selector} never appeared; markup: {}", root.inner_html());
}

fn painted_pixels(canvas: &HtmlCanvasElement) -> usize {
    let ctx: CanvasRenderingContext2d = canvas.get_context("2d").unwrap().unwrap().dyn_into().unwrap();
    let data = ctx.get_image_data(0.0, 0.0, canvas.width() as f64, canvas.height() as f64).unwrap().data();
    // Pixels that are not white (the chart's background).
    data.chunks(4).filter(|p| p[0] < 250 || p[1] < 250 || p[2] < 250).count()
}

#[wasm_bindgen_test]
async fn mounts_draws_and_switches_tabs() {
    gloo::utils::window().location().set_hash("view=explorer").unwrap();
    let root = mount("#view=explorer&n=10000");
    let canvas: HtmlCanvasElement = find(&root, "[data-testid=chart-histogram]").await.dyn_into().unwrap();
    // The canvas is painted in an effect after the first render.
    let mut painted = 0;
    for _ in 0..50 {
        painted = painted_pixels(&canvas);
        if painted > 1000 {
            break;
        }
        TimeoutFuture::new(20).await;
    }
    assert!(painted > 1000, "the histogram should be drawn, found {painted} painted pixels");
    let levels = find(&root, "[data-testid=metric-levels-used]").await.text_content().unwrap();
    assert!(levels.ends_with("/ 256"), "{levels}");

    let tab: HtmlElement = find(&root, "[data-testid=tab-lab]").await.dyn_into().unwrap();
    tab.click();
    find(&root, "[data-testid=lab-train]").await;
    assert!(root.query_selector("[data-testid=chart-histogram]").unwrap().is_none());
    assert!(gloo::utils::window().location().hash().unwrap().starts_with("#view=lab"));
    root.remove();
}

/// A worker that cannot start fails the Explorer's heavy request with a message, rather than
/// leaving the page waiting under its progress bar. Here the worker's script is missing (the
/// test runner serves no app build), as it would be on a site that lost the file.
#[wasm_bindgen_test]
async fn a_worker_that_cannot_start_fails_the_request_with_a_message() {
    gloo::utils::window().location().set_hash("view=explorer&n=10000000").unwrap();
    let root = mount("#view=explorer&n=10000000");
    let error = find(&root, "[data-testid=explorer-error]").await.text_content().unwrap();
    // The runner answers the loader's request, and the worker then fails to import the script:
    // an error in the worker, with the browser's message.
    assert!(error.starts_with("The background worker ") && error.ends_with("The next change starts a new one."), "{error}");
    assert!(root.query_selector("[data-testid=explore-progress]").unwrap().is_none(), "no progress bar left behind");
    let results = find(&root, "[data-testid=explorer-results]").await;
    assert_eq!(results.get_attribute("aria-busy").as_deref(), Some("false"));
}

#[wasm_bindgen_test]
async fn malformed_hash_shows_notice() {
    let root = mount("#bits=abc&view=lab");
    let notice = find(&root, "[data-testid=url-notice]").await.text_content().unwrap();
    assert!(notice.contains("bits=abc"), "{notice}");
    find(&root, "[data-testid=lab-train]").await;
    root.remove();
}

#[wasm_bindgen_test]
fn panic_banner_is_shown() {
    quantscope::ui::panic::show_error_banner("boom");
    let banner = gloo::utils::document().get_element_by_id(quantscope::ui::panic::BANNER_ID).unwrap();
    assert_eq!(banner.text_content().unwrap(), "boom");
    assert_eq!(banner.get_attribute("role").as_deref(), Some("alert"));
    banner.remove();
}

/// The integer model's wasm kernels (`i32x4.dot_i16x8_s` products, the SIMD128
/// requantization) give the codes of the plain loops, for an MLP and a CNN, per tensor and per
/// channel, at 8, 4 and 2 bits.
#[wasm_bindgen_test]
fn integer_kernels_equal_the_plain_loops() {
    use quantscope::engine::nn::lab::calibrate;
    use quantscope::engine::nn::net::{Activation, Net, WeightQuant};
    use quantscope::engine::nn::quant::{ActObservers, IntNet};
    use quantscope::engine::observer::ObserverKind;
    use quantscope::engine::quantizer::qparams::QRange;
    let batch = 96;
    let x: Vec<f32> = (0..batch * 16).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.2).collect();
    let models = [Net::mlp(&[16, 40, 24, 10], Activation::Relu, 3).unwrap(), Net::cnn((4, 4), [6, 12], 10, Activation::Relu6, 3).unwrap().folded()];
    for model in &models {
        for (wbits, abits, per_channel) in [(8, 8, false), (4, 4, true), (2, 4, false), (8, 2, true)] {
            let range = QRange::with_bits(abits, true).unwrap();
            let mut observers = ActObservers::new(ObserverKind::MinMax, range, model.layers.len() + 1).unwrap();
            calibrate(model, &x, &mut observers);
            let weights = WeightQuant { range: QRange::with_bits(wbits, false).unwrap(), per_channel };
            let int = IntNet::convert(model, &observers.sim(weights)).unwrap();
            let mut codes = Vec::new();
            int.quantize_input(&x, &mut codes);
            let out = int.run_batch(&codes, batch);
            assert_eq!(out.len(), batch * 10);
            assert_eq!(out, int.run_batch_plain(&codes, batch), "{} layers, W{wbits}A{abits}, per channel {per_channel}", model.layers.len());
        }
    }
}

/// The legacy GGUF blocks' scales in SIMD128 lanes (four blocks at a time) are the block by
/// block ones bit for bit, for every type: random blocks of four magnitudes, zero, tiny (f16
/// subnormal and zero steps), huge (f16 overflow) and constant blocks, ties of magnitude between
/// the signs, NaN and ±∞, and batches of every length (the last blocks go one by one).
#[wasm_bindgen_test]
fn the_legacy_scales_in_lanes_equal_the_block_by_block_ones() {
    use quantscope::engine::formats::gguf::legacy::scales_agree;
    let mut seed = 9u32;
    let mut xs: Vec<f32> = (0..32 * 64)
        .map(|i| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * [1.0f32, 1e-3, 40.0, 3e4][i / 32 % 4]
        })
        .collect();
    let block = |b: usize| b * 32..(b + 1) * 32;
    xs[block(0)].fill(0.0);
    xs[block(1)].fill(-0.25);
    xs[block(2)].iter_mut().for_each(|v| *v *= 1e-36);
    xs[block(3)].iter_mut().for_each(|v| *v *= 1e-6);
    xs[block(5)].iter_mut().for_each(|v| *v *= 1e9);
    xs[6 * 32 + 3] = f32::NAN;
    xs[7 * 32 + 9] = f32::INFINITY;
    xs[9 * 32 + 1] = f32::NEG_INFINITY;
    xs[block(10)].fill(f32::NAN);
    for (b, first, second) in [(11, 4, 30), (12, 30, 4), (13, 0, 31)] {
        xs[b * 32 + first] = -2.0;
        xs[b * 32 + second] = 2.0;
    }
    xs[block(14)].iter_mut().enumerate().for_each(|(i, v)| *v = if i % 2 == 0 { -0.0 } else { 1e-40 });
    for n in [xs.len(), 32, 96, 160, 224, 32 * 13] {
        assert!(scales_agree(&xs[..n]), "{n} values");
    }
    for blocks in 1..=8 {
        assert!(scales_agree(&xs[32 * 11..32 * (11 + blocks)]), "{blocks} blocks from a tie");
    }
}

/// The meter's loop over groups in SIMD128 (lanes 0–3 over every group, then 4–7, the largest
/// error as shifted bits) gives the portable loop's lanes bit for bit: groups with bounds and
/// without ([`UNCLIPPED`](quantscope::engine::formats::measure::UNCLIPPED)), of 8 to 64 values,
/// with zeros of both signs and squares that overflow f32.
#[wasm_bindgen_test]
fn the_meters_simd_loop_over_groups_equals_the_portable_loop() {
    use quantscope::engine::formats::measure::{blocks_loop_agrees, UNCLIPPED};
    for block in [8usize, 16, 32, 64] {
        for groups in [1usize, 2, 5, 8] {
            for seed in 0..4u32 {
                let n = block * groups;
                let x: Vec<f32> = (0..n as u32).map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 - 1000.0) / 700.0).collect();
                let mut v: Vec<f32> = x.iter().map(|&x| (x * 4.0).round() / 4.0).collect();
                if seed == 3 {
                    v[1] = -0.0;
                    v[n - 1] = 3e30;
                }
                let bounds: Vec<(f32, f32)> = (0..groups).map(|g| if (g + seed as usize) % 2 == 0 { UNCLIPPED } else { (-1.2, 0.9 + seed as f32 / 10.0) }).collect();
                assert!(blocks_loop_agrees(&x, &v, block, &bounds), "block {block}, {groups} groups, seed {seed}");
            }
        }
    }
}

/// The meter's unchecked loop in SIMD128 gives the portable loop's lanes bit for bit: runs of
/// whole lanes and not, values clipped below and above, zeros of both signs, and squares that
/// overflow f32.
#[wasm_bindgen_test]
fn the_meters_simd_loop_equals_the_portable_loop() {
    use quantscope::engine::formats::measure::plain_loop_agrees;
    for n in [0usize, 1, 7, 8, 9, 31, 64, 200, 512] {
        for seed in 0..8u32 {
            let x: Vec<f32> = (0..n as u32).map(|i| (((i * 7919 + seed * 104_729) % 2001) as f32 - 1000.0) / 700.0).collect();
            let mut v: Vec<f32> = x.iter().map(|&x| (x * 4.0).round() / 4.0).collect();
            if seed == 3 && n > 2 {
                v[1] = -0.0;
                v[2] = 3e30;
            }
            assert!(plain_loop_agrees(&x, &v, -1.2, 0.9 + seed as f32 / 10.0), "{n} values, seed {seed}");
        }
    }
}
