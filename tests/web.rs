//! wasm-bindgen-test in headless Chromium: the app mounts, draws and switches views in a real
//! browser. Run with `scripts/test wasm`.
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
    yew::Renderer::<App>::with_root_and_props(root.clone(), AppProps { initial_hash: hash.to_string().into() }).render();
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
