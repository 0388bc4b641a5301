//! The in-browser benchmark page (`#view=bench`): the engine's hot kernels timed in WebAssembly
//! in this browser, beside plain-JavaScript versions of the same kernels (static/bench.js) run on
//! the same data in the same session, with a check that both computed the same numbers.
//!
//! Timings use `performance.now()`: one warm-up run, then the best and the median of several.
//! The page yields to the browser between runs, so it stays responsive while it measures.
//! `scripts/bench` runs it headless and puts the figures beside the native and NumPy ones.

use crate::ui::format::count;
use serde::Serialize;
use yew::prelude::*;

use crate::ui::i18n::{use_tr, BenchText as B};

/// What one kernel measured, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Timing {
    pub best_ms: f64,
    pub median_ms: f64,
    pub runs: usize,
}

impl Timing {
    /// Best and median of `samples` (`None` for no samples).
    pub fn from_samples(samples: &[f64]) -> Option<Timing> {
        let mut s: Vec<f64> = samples.iter().copied().filter(|v| v.is_finite()).collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        let mid = s.len() / 2;
        let median = if s.len() % 2 == 1 { s[mid] } else { (s[mid - 1] + s[mid]) / 2.0 };
        Some(Timing { best_ms: s[0], median_ms: median, runs: s.len() })
    }
}

/// One line of the results: a kernel, its size, the wasm and JS timings and whether the two
/// results agreed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    pub id: &'static str,
    pub label: &'static str,
    pub n: usize,
    /// The target for this kernel at full size, in ms.
    pub target_ms: Option<f64>,
    pub wasm: Option<Timing>,
    pub js: Option<Timing>,
    /// `Some(true)` when the JS kernel's output equals the engine's bit for bit.
    pub agree: Option<bool>,
}

/// The sizes a run can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Size {
    /// 1M values everywhere: a quick look (a few seconds).
    Quick,
    /// The sizes: 16M values for the element-wise kernels, 1M for the analyses.
    Full,
}

impl Size {
    pub fn big(self) -> usize {
        match self {
            Size::Quick => 1 << 20,
            Size::Full => 16 << 20,
        }
    }
}

/// A whole run, as the page shows it and as `bench-json` holds it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub size: Size,
    pub user_agent: String,
    pub cores: u32,
    pub simd128: bool,
    pub rows: Vec<Row>,
}

/// The kernels, in the order they run: id, label, whether it runs on the big size, the target.
pub const KERNELS: &[(&str, B, bool, Option<f64>)] = &[
    ("fake_quantize_inplace", B::KFakeQuantInplace, true, Some(10.0)),
    ("fake_quantize_into", B::KFakeQuantInto, true, None),
    ("min_max", B::KMinMax, true, Some(5.0)),
    ("histogram_2048", B::KHistogram2048, true, Some(20.0)),
    ("analysis_per_tensor", B::KAnalysis, false, Some(8.0)),
    ("analysis_summary", B::KAnalysisSummary, false, None),
    ("analysis_metrics", B::KAnalysisMetrics, false, None),
    ("analysis_histogram", B::KAnalysisHistogram, false, None),
    ("l2_search", B::KL2Search, false, Some(5.0)),
    ("explorer_redraw_1m", B::KRedraw1m, false, Some(16.0)),
    ("explorer_redraw_10m", B::KRedraw10m, false, Some(100.0)),
    ("l2_observe_and_search", B::KL2ObserveSearch, false, None),
    ("lab_mlp_fp32_epoch", B::KLabMlpFp32, false, Some(8.0)),
    ("lab_mlp_qat_epoch", B::KLabMlpQat, false, Some(15.0)),
    ("lab_mlp_integer_1797", B::KLabMlpInt, false, Some(1.0)),
    ("lab_cnn_fp32_epoch", B::KLabCnnFp32, false, None),
    ("lab_cnn_qat_epoch", B::KLabCnnQat, false, None),
    ("lab_cnn_integer_1797", B::KLabCnnInt, false, None),
    ("format_redraw_1m_mxfp4", B::KFormatRedrawMx, false, Some(16.0)),
    ("format_redraw_1m_q4_k", B::KFormatRedrawK, false, Some(50.0)),
    ("format_q8_0", B::KFormatQ8, true, None),
    ("format_q4_0", B::KFormatQ4, true, None),
    ("format_mxfp4", B::KFormatMx, true, None),
    ("format_nvfp4", B::KFormatNvfp4, true, None),
    ("format_nf4_dq", B::KFormatNf4, true, None),
    ("formats_compare", B::KFormatsCompare, true, Some(2_000.0)),
    ("setting_minmax", B::KSetMinMax, false, Some(1_100.0)),
    ("setting_percentile", B::KSetPercentile, false, Some(1_400.0)),
    ("setting_histogram_65536", B::KSetHistogram, false, Some(1_200.0)),
    ("setting_channels_1024", B::KSetChannels, false, Some(1_000.0)),
    ("setting_entropy_8192", B::KSetEntropy8192, false, Some(4_100.0)),
    ("setting_mse", B::KSetMse, false, Some(5_000.0)),
    ("setting_entropy_65536_outliers", B::KSetEntropyOutliers, false, Some(10_000.0)),
];

/// The Explorer's heavy settings of issue 15, at [`HEAVY_N`] values: the benchmark page's id, a
/// name, the link's settings after `n=…`, and how long they froze the page before their work
/// moved to the worker (ms; the rows' targets are these, or 5 s where they were longer, and
/// 10 s for the last). The page times each as the worker runs it (`setting_…` rows), and the
/// end-to-end test (`tests/e2e_heavy.rs`) drives each through the app.
pub const HEAVY_SETTINGS: &[(&str, &str, &str, f64)] = &[
    ("setting_minmax", "min/max", "", 1_100.0),
    ("setting_percentile", "percentile", "&obs=percentile", 1_400.0),
    ("setting_histogram_65536", "histogram, 65,536 bins", "&obs=histogram&hbins=65536", 1_200.0),
    ("setting_channels_1024", "per channel, 1,024 channels", "&ch=1024&gran=channel", 1_000.0),
    ("setting_entropy_8192", "entropy, 8,192 bins", "&obs=entropy&ebins=8192", 4_100.0),
    ("setting_mse", "MSE", "&obs=mse", 11_000.0),
    ("setting_entropy_65536_outliers", "entropy, 65,536 bins, 50% outliers of 10⁶", "&obs=entropy&ebins=65536&of=0.5&om=1000000", 99_000.0),
];

/// Values of the heavy settings' tensor (the size; the quick run takes a tenth).
pub const HEAVY_N: usize = 10_000_000;

/// The Explorer's request for the heavy setting `settings` (see [`HEAVY_SETTINGS`]) at `n`
/// values.
pub fn heavy_request(settings: &str, n: usize) -> crate::engine::views::explore::session::ExploreRequest {
    let (url, _) = crate::ui::state::UrlState::from_hash(&format!("n={n}{settings}"));
    url.explore_request(crate::engine::views::explore::session::TensorSource::Synthetic(url.synth_spec()), &url.shape(), crate::ui::explorer::BINS)
}

/// The page's state.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct BenchState {
    pub running: bool,
    pub status: String,
    pub rows: Vec<Row>,
    pub report: Option<Report>,
}

pub enum BenchAction {
    Started,
    Status(String),
    Row(Row),
    Finished(Report),
    Failed(String),
}

impl Reducible for BenchState {
    type Action = BenchAction;

    fn reduce(self: std::rc::Rc<Self>, action: BenchAction) -> std::rc::Rc<Self> {
        let mut s = (*self).clone();
        match action {
            BenchAction::Started => s = BenchState { running: true, status: crate::ui::i18n::current().s(B::Preparing).into(), ..Default::default() },
            BenchAction::Status(t) => s.status = t,
            BenchAction::Row(r) => s.rows.push(r),
            BenchAction::Finished(r) => {
                s.running = false;
                s.status = crate::ui::i18n::current().s(B::Done).into();
                s.report = Some(r);
            }
            BenchAction::Failed(e) => {
                s.running = false;
                s.status = crate::ui::i18n::current().f(B::Stopped, &[&e]);
            }
        }
        std::rc::Rc::new(s)
    }
}

fn ms(t: Option<Timing>) -> String {
    match t {
        Some(t) => format!("{:.2} ({:.2})", t.best_ms, t.median_ms),
        None => "—".into(),
    }
}

#[derive(Properties, PartialEq)]
pub struct BenchTableProps {
    pub rows: Vec<Row>,
    pub size: Size,
}

/// The results table.
#[function_component(BenchTable)]
pub fn bench_table(props: &BenchTableProps) -> Html {
    let t = use_tr();
    let rows = props.rows.iter().map(|r| {
        let ratio = match (r.wasm, r.js) {
            (Some(w), Some(j)) if w.best_ms > 0.0 => format!("{:.1}×", j.best_ms / w.best_ms),
            _ => "—".into(),
        };
        // The element-wise kernels' targets are for 16M values; the others run at 1M anyway.
        let big = KERNELS.iter().any(|&(id, _, big, _)| id == r.id && big);
        let setting = r.id.starts_with("setting_");
        let target = match r.target_ms {
            Some(t) if !(big || setting) || props.size == Size::Full => format!("≤ {t}"),
            Some(_) if setting => t.s(B::At10m).into(),
            Some(_) => t.s(B::At16m).into(),
            None => "—".into(),
        };
        let agree = match r.agree {
            Some(true) => t.s(B::Yes),
            Some(false) => t.s(B::No),
            None => "—",
        };
        html! {
            <tr data-testid={format!("bench-row-{}", r.id)} class={classes!(r.label.starts_with("of which").then_some("part"))}>
                <td>{KERNELS.iter().find(|k| k.0 == r.id).map_or(r.label, |k| t.s(k.1))}</td>
                <td class="num">{count(r.n)}</td>
                <td class="num" data-testid={format!("bench-{}-wasm", r.id)}>{ms(r.wasm)}</td>
                <td class="num" data-testid={format!("bench-{}-js", r.id)}>{ms(r.js)}</td>
                <td class="num">{ratio}</td>
                <td class="num">{target}</td>
                <td data-testid={format!("bench-{}-agree", r.id)}>{agree}</td>
            </tr>
        }
    });
    html! {
        <table class="bench-table" data-testid="bench-table">
            <thead>
                <tr>
                    <th>{t.s(B::Kernel)}</th><th>{t.s(B::Values)}</th><th>{t.s(B::WasmMs)}</th>
                    <th>{t.s(B::JsMs)}</th><th>{"JS / wasm"}</th><th>{t.s(B::TargetMs)}</th>
                    <th>{t.s(B::SameResult)}</th>
                </tr>
            </thead>
            <tbody>{ for rows }</tbody>
        </table>
    }
}

/// The benchmark page.
#[function_component(Bench)]
pub fn bench() -> Html {
    let t = use_tr();
    let state = use_reducer(BenchState::default);
    let size = use_state(|| Size::Full);
    // Set when the page goes away, so a run in progress stops at its next yield.
    let cancelled = use_mut_ref(|| false);
    {
        let cancelled = cancelled.clone();
        use_effect_with((), move |_| move || *cancelled.borrow_mut() = true);
    }
    let on_size = {
        let size = size.clone();
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            size.set(if v == "quick" { Size::Quick } else { Size::Full });
        })
    };
    let run = {
        let (state, size, cancelled) = (state.clone(), *size, cancelled.clone());
        Callback::from(move |_| {
            if state.running {
                return;
            }
            state.dispatch(BenchAction::Started);
            #[cfg(target_arch = "wasm32")]
            {
                let (dispatcher, cancelled) = (state.dispatcher(), cancelled.clone());
                yew::platform::spawn_local(async move {
                    match runner::run(size, &dispatcher, &cancelled).await {
                        Ok(report) => dispatcher.dispatch(BenchAction::Finished(report)),
                        Err(e) => dispatcher.dispatch(BenchAction::Failed(e)),
                    }
                });
            }
            #[cfg(not(target_arch = "wasm32"))]
            let _ = (size, &cancelled);
        })
    };
    let json = state.report.as_ref().map(|r| serde_json::to_string_pretty(r).unwrap_or_default());
    html! {
        <section class="panel bench" data-testid="bench-page">
            <h2>{t.s(B::Title)}</h2>
            <p>{t.s(B::IntroBefore)}<code>{"scripts/bench"}</code>{t.s(B::IntroAfter)}</p>
            <div class="controls-row">
                <label>{t.s(B::Size)}{" "}
                    <select onchange={on_size} data-testid="bench-size" disabled={state.running}>
                        <option value="full" selected={*size == Size::Full}>{t.s(B::Full)}</option>
                        <option value="quick" selected={*size == Size::Quick}>{t.s(B::Quick)}</option>
                    </select>
                </label>
                <button onclick={run} disabled={state.running} data-testid="bench-run">{t.s(B::Run)}</button>
                <span class="status" role="status" data-testid="bench-status">{state.status.clone()}</span>
            </div>
            <BenchTable rows={state.rows.clone()} size={state.report.as_ref().map(|r| r.size).unwrap_or(*size)} />
            if let Some(json) = json {
                <details>
                    <summary>{t.s(B::Json)}</summary>
                    <pre data-testid="bench-json">{json}</pre>
                </details>
            }
            <model::ModelBench />
        </section>
    }
}

pub mod model;
#[cfg(target_arch = "wasm32")]
mod runner;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_is_best_and_median() {
        assert_eq!(Timing::from_samples(&[]), None);
        assert_eq!(Timing::from_samples(&[3.0, 1.0, 2.0]), Some(Timing { best_ms: 1.0, median_ms: 2.0, runs: 3 }));
        let t = Timing::from_samples(&[4.0, 1.0, 2.0, 3.0, f64::NAN]).unwrap();
        assert_eq!((t.best_ms, t.median_ms, t.runs), (1.0, 2.5, 4));
    }

    #[test]
    fn every_heavy_setting_has_a_row_and_a_request() {
        use crate::engine::observer::{Granularity, ObserverKind};
        for &(id, _, settings, before) in HEAVY_SETTINGS {
            let &(_, _, _, target) = KERNELS.iter().find(|k| k.0 == id).unwrap_or_else(|| panic!("{id} has no row"));
            assert_eq!(target, Some(if id.ends_with("outliers") { 10_000.0 } else { before.min(5_000.0) }), "{id}");
            let r = heavy_request(settings, HEAVY_N);
            assert_eq!(r.source, crate::engine::views::explore::session::TensorSource::Synthetic(crate::ui::state::UrlState { n: HEAVY_N, ..crate::ui::state::UrlState::from_hash(settings).0 }.synth_spec()));
            assert!(r.estimated_ms(HEAVY_N) > crate::ui::explorer::INLINE_MS, "{id} runs in the worker");
        }
        let r = |i: usize| heavy_request(HEAVY_SETTINGS[i].2, 1000).settings;
        assert_eq!(r(0).observer, ObserverKind::MinMax);
        assert_eq!(r(3).granularity, Granularity::PerChannel { axis: 0 });
        assert_eq!(r(6).observer, ObserverKind::Entropy { bins: 65536, start_bin: 128 });
    }
}
