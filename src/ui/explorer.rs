//! The Explorer: one tensor, its histogram with the quantization grid, and the readouts.

use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use super::charts::canvas::Canvas;
use super::charts::histogram::HistogramChart;
use super::format::{percent, sig4};
use super::state::{UrlState, DISTS, MAX_BITS, MIN_BITS, SCHEMES};
use super::sweep::SweepPanel;
use crate::engine::analysis::{analyze, default_range, Analysis};
use crate::engine::qparams::QRange;
use crate::engine::synth::sample;

/// Sample sizes offered by the size control.
const SIZES: &[usize] = &[1_000, 10_000, 100_000, 1_000_000, 10_000_000];
/// Bins of the value histogram.
const BINS: usize = 256;

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
}

#[function_component(Explorer)]
pub fn explorer(props: &ExplorerProps) -> Html {
    let url = &props.url;
    let data = use_memo((url.dist, url.n, url.seed), |&(dist, n, seed)| sample(dist.dist(), n, seed, None));
    let range = default_range(url.scheme, url.bits).unwrap_or(QRange::QUINT8);
    let result = use_memo((data.clone(), url.scheme, range, url.log), |(data, scheme, range, log)| {
        data.as_ref().as_ref().map_err(ToString::to_string).map(|xs| {
            let a = analyze(xs, *scheme, *range);
            (a, Rc::new(HistogramChart::new(xs, &a.summary, a.qparams, *range, BINS, *log)))
        })
    });

    let set = |f: fn(&mut UrlState, String)| {
        let (url, cb) = (url.clone(), props.on_change.clone());
        move |value: String| {
            let mut next = url.clone();
            f(&mut next, value);
            cb.emit(next);
        }
    };
    let on_select = |f: fn(&mut UrlState, String)| {
        let set = set(f);
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlSelectElement>().value()))
    };
    let on_input = |f: fn(&mut UrlState, String)| {
        let set = set(f);
        Callback::from(move |e: InputEvent| set(e.target_unchecked_into::<HtmlInputElement>().value()))
    };
    let on_dist = on_select(|s, v| s.dist = DISTS.iter().find(|d| d.1 == v).map_or(s.dist, |d| d.0));
    let on_scheme = on_select(|s, v| s.scheme = SCHEMES.iter().find(|d| d.1 == v).map_or(s.scheme, |d| d.0));
    let on_size = on_select(|s, v| s.n = v.parse().unwrap_or(s.n));
    let on_seed = on_input(|s, v| s.seed = v.parse().unwrap_or(s.seed));
    let on_bits = on_input(|s, v| s.bits = v.parse::<u32>().map_or(s.bits, |b| b.clamp(MIN_BITS, MAX_BITS)));
    let on_log = {
        let set = set(|s, v| s.log = v == "true");
        Callback::from(move |e: Event| set(e.target_unchecked_into::<HtmlInputElement>().checked().to_string()))
    };

    let controls = html! {
        <section class="panel controls" aria-label="Tensor and quantization settings">
            <h2>{"Tensor"}</h2>
            <label for="ctl-dist">{"Distribution"}</label>
            <select id="ctl-dist" data-testid="ctl-dist" onchange={on_dist}>
                { for DISTS.iter().map(|(d, key, label)| html! {
                    <option value={*key} selected={*d == url.dist}>{*label}</option>
                }) }
            </select>
            <label for="ctl-n">{"Values"}</label>
            <select id="ctl-n" data-testid="ctl-n" onchange={on_size}>
                { for SIZES.iter().map(|n| html! {
                    <option value={n.to_string()} selected={*n == url.n}>{group_thousands(*n)}</option>
                }) }
                if !SIZES.contains(&url.n) {
                    <option value={url.n.to_string()} selected=true>{group_thousands(url.n)}</option>
                }
            </select>
            <label for="ctl-seed">{"Seed"}</label>
            <input id="ctl-seed" data-testid="ctl-seed" type="number" min="0" value={url.seed.to_string()} oninput={on_seed} />
            <h2>{"Quantization"}</h2>
            <label for="ctl-scheme">{"Scheme"}</label>
            <select id="ctl-scheme" data-testid="ctl-scheme" onchange={on_scheme}>
                { for SCHEMES.iter().map(|(s, key, label)| html! {
                    <option value={*key} selected={*s == url.scheme}>{*label}</option>
                }) }
            </select>
            <label for="ctl-bits">{format!("Bit width: {}", url.bits)}</label>
            <input id="ctl-bits" data-testid="ctl-bits" type="range" min={MIN_BITS.to_string()} max={MAX_BITS.to_string()}
                   value={url.bits.to_string()} oninput={on_bits} />
            <label class="check">
                <input type="checkbox" data-testid="ctl-log" checked={url.log} onchange={on_log} />
                {"Log-scaled counts"}
            </label>
            <p class="hint">{"Observer: min/max of the whole tensor. More observers arrive with the engine."}</p>
        </section>
    };

    let body = match result.as_ref() {
        Err(e) => html! { <div class="error" role="alert">{format!("Cannot draw this tensor: {e}")}</div> },
        Ok((a, chart)) => html! {
            <>
                <section class="panel chart-panel">
                    <h2>{"Values and the quantization grid"}</h2>
                    <Canvas<HistogramChart> chart={chart.clone()} testid="chart-histogram"
                        label={format!("Histogram of {} values with the {}-level grid", a.summary.count, a.range.levels())} />
                </section>
                { readouts(a) }
            </>
        },
    };
    html! {
        <div class="explorer">
            {controls}
            <div class="explorer-main">
                {body}
                <SweepPanel dist={url.dist} n={url.n} seed={url.seed} scheme={url.scheme} />
            </div>
        </div>
    }
}

fn readouts(a: &Analysis) -> Html {
    let m = &a.metrics;
    let (lo, hi) = a.qparams.representable_range(a.range);
    let items: [(&str, &str, String); 7] = [
        ("metric-scale", "Scale s", sig4(Some(a.qparams.scale as f64))),
        ("metric-zero-point", "Zero point z", a.qparams.zero_point.to_string()),
        ("metric-range", "Clip range", format!("[{}, {}]", sig4(Some(lo as f64)), sig4(Some(hi as f64)))),
        ("metric-sqnr-db", "SQNR (dB)", sig4(m.sqnr_db)),
        ("metric-mse", "MSE", sig4(Some(m.mse))),
        ("metric-clipped", "Clipped", percent(m.clipped_fraction())),
        ("metric-levels-used", "Levels used", format!("{} / {}", m.levels_used, a.range.levels())),
    ];
    html! {
        <section class="panel readouts" aria-label="Readouts">
            <dl>
                { for items.into_iter().map(|(id, label, value)| html! {
                    <div class="readout"><dt>{label}</dt><dd data-testid={id}>{value}</dd></div>
                }) }
            </dl>
        </section>
    }
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands() {
        assert_eq!(super::group_thousands(1_000_000), "1\u{202f}000\u{202f}000");
        assert_eq!(super::group_thousands(999), "999");
    }
}
