//! Server-side rendering of the shell's components (yew's `ssr` feature), natively: the markup
//! each view produces, with no browser.

use quantscope::ui::app::{App, AppProps};
use yew::LocalServerRenderer;

async fn render(hash: &str) -> String {
    LocalServerRenderer::<App>::with_props(AppProps { initial_hash: hash.to_string().into() }).render().await
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        tokio::task::LocalSet::new().run_until(f).await
    })
}

#[test]
fn explorer_renders_controls_chart_and_readouts() {
    let html = run(render("#view=explorer&bits=4&scheme=symmetric"));
    assert!(html.contains("QuantScope"));
    for id in ["tab-explorer", "tab-lab", "tab-learn", "ctl-dist", "ctl-bits", "ctl-scheme", "chart-histogram",
               "metric-scale", "metric-zero-point", "metric-sqnr-db", "metric-mse", "metric-clipped",
               "metric-levels-used", "sweep-start"] {
        assert!(html.contains(&format!("data-testid=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("Bit width: 4"));
    // Symmetric signed codes: the zero point is 0 and 4 bits give 16 levels.
    assert!(html.contains(r#"data-testid="metric-zero-point">0<"#), "zero point");
    assert!(html.contains(r#"/ 16<"#), "levels used of 16");
    assert!(!html.contains("url-notice"));
}

#[test]
fn each_tab_renders_its_view() {
    let lab = run(render("#view=lab"));
    assert!(lab.contains(r#"data-testid="lab-empty""#));
    assert!(lab.contains(r#"data-view="lab""#));
    assert!(lab.contains(r#"aria-selected="true" data-testid="tab-lab""#) || lab.contains("tab selected"));
    let learn = run(render("#view=learn"));
    assert!(learn.contains(r#"data-testid="learn-empty""#));
    assert!(!learn.contains("chart-histogram"));
}

#[test]
fn malformed_hash_renders_defaults_and_notice() {
    let html = run(render("#view=nowhere&bits=99&%%%"));
    assert!(html.contains(r#"data-testid="url-notice""#));
    assert!(html.contains("view=nowhere") && html.contains("bits=99"));
    assert!(html.contains(r#"data-view="explorer""#), "falls back to the default view");
    assert!(html.contains("Bit width: 8"));
}

#[test]
fn tab_links_keep_the_other_settings() {
    let html = run(render("#view=explorer&bits=5&seed=9"));
    assert!(html.contains("href=\"#view=lab&amp;dist=normal&amp;n=100000&amp;seed=9&amp;bits=5"), "{}", &html[..600.min(html.len())]);
}
