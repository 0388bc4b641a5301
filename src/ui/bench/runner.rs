//! The benchmark page's runs in the browser: each kernel timed in wasm (and in plain JS where
//! static/bench.js has it), yielding to the browser between runs.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Uint32Array};
use wasm_bindgen::prelude::*;
use yew::UseReducerDispatcher;

use super::{BenchAction, BenchState, Report, Row, Size, Timing, KERNELS};
use crate::engine::views::analysis::analyze_views;
use crate::engine::statistics::histogram::Histogram;
use crate::engine::statistics::metrics::measure_with_codes;
use crate::engine::statistics::stats::summarize;
use crate::engine::observer::{finite_min_max, Common, HistogramL2, Observer};
use crate::engine::quantizer::qparams::{calculate_qparams, QRange, QScheme};
use crate::engine::quantizer::quantize::{fake_quantize_inplace, fake_quantize_into, Grid};
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::synth::{sample, Dist};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = quantscopeBench, js_name = fakeQuantizeInPlace)]
    fn js_fake_quantize_in_place(x: &Float32Array, inv_scale: f32, scale: f32, lo: f32, hi: f32) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = quantscopeBench, js_name = minMax)]
    fn js_min_max(x: &Float32Array) -> Result<Array, JsValue>;
    #[wasm_bindgen(catch, js_namespace = quantscopeBench, js_name = histogram)]
    fn js_histogram(x: &Float32Array, lo: f32, hi: f32, bins: u32) -> Result<Uint32Array, JsValue>;
}

/// Canvases of the Explorer's chart sizes, not in the page.
fn offscreen_canvases() -> Result<Vec<web_sys::HtmlCanvasElement>, String> {
    use wasm_bindgen::JsCast;
    [(800, 360), (560, 300), (560, 300), (560, 300), (560, 300)]
        .into_iter()
        .map(|(w, h)| {
            let c: web_sys::HtmlCanvasElement = gloo::utils::document().create_element("canvas").map_err(|e| format!("{e:?}"))?.unchecked_into();
            c.set_width(w);
            c.set_height(h);
            Ok(c)
        })
        .collect()
}

/// What a control change costs the Explorer: the view computed again and every chart drawn.
fn redraw(xs: &[f32], summary: &crate::engine::statistics::stats::Summary, settings: &crate::engine::views::explore::Settings, canvases: &[web_sys::HtmlCanvasElement]) -> Result<(), String> {
    use crate::ui::charts::canvas::draw_on;
    let view = crate::engine::views::explore::explore_summarized(xs, &[1, xs.len()], summary, settings).map_err(|e| e.to_string())?;
    let charts = crate::ui::explorer::Charts::of(&view, false, 1.0, None);
    draw_on(canvases[0].clone(), charts.values.as_ref())?;
    draw_on(canvases[1].clone(), charts.codes.as_ref())?;
    draw_on(canvases[2].clone(), charts.transfer.as_ref())?;
    draw_on(canvases[3].clone(), charts.errors.as_ref())?;
    draw_on(canvases[4].clone(), charts.error_by_value.as_ref())
}

/// What a format change costs the Explorer on a held tensor: the format quantized and measured,
/// its view, and its charts drawn.
fn format_redraw(xs: &[f32], summary: &crate::engine::statistics::stats::Summary, name: &str, canvases: &[web_sys::HtmlCanvasElement]) -> Result<(), String> {
    use crate::engine::views::formats::{keep, view, FormatRequest};
    use crate::ui::charts::canvas::draw_on;
    use crate::ui::charts::errors::{ErrorByValueChart, ErrorChart};
    use crate::ui::charts::formats::{FormatHistogramChart, ScaleChart};
    let shape = [xs.len() / 4096, 4096];
    let r = FormatRequest { name: name.into(), params: Default::default(), block: None, bins: crate::ui::explorer::BINS };
    let v = view(xs, &shape, summary, &keep(xs, &shape, &r)?, &r);
    draw_on(canvases[0].clone(), &FormatHistogramChart::of_view(&v, false))?;
    draw_on(canvases[1].clone(), &ErrorChart { errors: v.errors.clone(), bound: v.rounding_bound, log: false })?;
    draw_on(canvases[2].clone(), &ErrorByValueChart { x: (v.values.lo, v.values.hi), envelope: v.error_by_value.clone(), bound: v.rounding_bound, clip: (f32::NEG_INFINITY, f32::INFINITY) })?;
    for (c, s) in canvases[3..].iter().zip(&v.scales) {
        draw_on(c.clone(), &ScaleChart { scales: s.clone() })?;
    }
    Ok(())
}

fn now() -> f64 {
    gloo::utils::window().performance().map(|p| p.now()).unwrap_or(0.0)
}

/// Lets the browser paint and handle input between runs.
async fn yield_now(cancelled: &Rc<RefCell<bool>>) -> Result<(), String> {
    gloo::timers::future::TimeoutFuture::new(0).await;
    if *cancelled.borrow() {
        Err(crate::ui::i18n::current().s(crate::ui::i18n::BenchText::PageClosed).into())
    } else {
        Ok(())
    }
}

/// One warm-up run of `f`, then `runs` timed ones.
async fn time(runs: usize, cancelled: &Rc<RefCell<bool>>, mut f: impl FnMut()) -> Result<Option<Timing>, String> {
    f();
    yield_now(cancelled).await?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t0 = now();
        f();
        samples.push(now() - t0);
        yield_now(cancelled).await?;
    }
    Ok(Timing::from_samples(&samples))
}

/// One warm-up run of the Explorer's session on `request` from scratch, then `runs` timed
/// ones. The page yields between the steps, as the worker does between its messages; the
/// time counted is the steps' own.
async fn time_session(runs: usize, cancelled: &Rc<RefCell<bool>>, request: &crate::engine::views::explore::session::ExploreRequest) -> Result<Option<Timing>, String> {
    use crate::engine::views::explore::session::{Session, SessionStep};
    let mut samples = Vec::with_capacity(runs);
    for run in 0..=runs {
        let mut session = Session::default();
        let mut spent = 0.0;
        loop {
            let t0 = now();
            let step = session.step(request)?;
            spent += now() - t0;
            yield_now(cancelled).await?;
            if let SessionStep::Done(e) = step {
                e.view?;
                break;
            }
        }
        if run > 0 {
            samples.push(spent);
        }
    }
    Ok(Timing::from_samples(&samples))
}

fn js_error(e: JsValue) -> String {
    crate::ui::i18n::current().f(crate::ui::i18n::BenchText::JsFailed, &[&e.as_string().unwrap_or_else(|| format!("{e:?}"))])
}

pub async fn run(size: Size, out: &UseReducerDispatcher<BenchState>, cancelled: &Rc<RefCell<bool>>) -> Result<Report, String> {
    let big_n = size.big();
    let runs_big = if size == Size::Full { 7 } else { 15 };
    let runs_small = 15;
    yield_now(cancelled).await?;
    // The same data as the native benchmark: N(0, 1), seed 7.
    let xs = sample(Dist::Normal { mean: 0.0, std: 1.0 }, big_n, 7, None).map_err(|e| e.to_string())?;
    let small = &xs[..1 << 20];
    let js_xs = Float32Array::from(&xs[..]);
    let range = QRange::QUINT8;
    let p = calculate_qparams(-4.0, 4.0, QScheme::Affine, range);
    let g = Grid::new(p, range);
    let mut rows = Vec::new();
    for (i, &(id, label, big, target)) in KERNELS.iter().enumerate() {
        out.dispatch(BenchAction::Status(crate::ui::i18n::current().f(crate::ui::i18n::BenchText::Running, &[&crate::ui::i18n::current().s(label), &(i + 1), &KERNELS.len()])));
        yield_now(cancelled).await?;
        let n = if big { big_n } else { small.len() };
        let mut row = Row { id, label: crate::ui::i18n::Text::en(label), n, target_ms: target, wasm: None, js: None, agree: None };
        match id {
            "fake_quantize_inplace" => {
                let mut buf = xs.clone();
                row.wasm = time(runs_big, cancelled, || fake_quantize_inplace(&mut buf, p, range)).await?;
                let js_buf = Float32Array::from(&xs[..]);
                let mut err = None;
                row.js = time(runs_big, cancelled, || {
                    if let Err(e) = js_fake_quantize_in_place(&js_buf, g.inv_scale, g.scale, g.lo, g.hi) {
                        err = Some(e);
                    }
                })
                .await?;
                if let Some(e) = err {
                    return Err(js_error(e));
                }
                let back = js_buf.to_vec();
                row.agree = Some(back.len() == buf.len() && back.iter().zip(&buf).all(|(a, b)| a.to_bits() == b.to_bits()));
            }
            "fake_quantize_into" => {
                let mut dst = vec![0f32; xs.len()];
                row.wasm = time(runs_big, cancelled, || fake_quantize_into(&xs, p, range, Rounding::HalfEven, &mut dst)).await?;
            }
            "min_max" => {
                let mut got = (0.0, 0.0, 0);
                row.wasm = time(runs_big, cancelled, || got = finite_min_max(&xs)).await?;
                let mut js = None;
                row.js = time(runs_big, cancelled, || js = Some(js_min_max(&js_xs))).await?;
                let js = js.expect("timed at least once").map_err(js_error)?;
                let (lo, hi) = (js.get(0).as_f64(), js.get(1).as_f64());
                row.agree = Some(lo == Some(got.0 as f64) && hi == Some(got.1 as f64));
            }
            "histogram_2048" => {
                let mut h = None;
                row.wasm = time(runs_big, cancelled, || h = Some(Histogram::new(&xs, -5.0, 5.0, 2048))).await?;
                let mut js = None;
                row.js = time(runs_big, cancelled, || js = Some(js_histogram(&js_xs, -5.0, 5.0, 2048))).await?;
                let js = js.expect("timed at least once").map_err(js_error)?.to_vec();
                let h = h.expect("timed at least once");
                let mut want: Vec<u32> = h.counts.iter().map(|&c| c as u32).collect();
                want.extend([h.below as u32, h.above as u32, h.non_finite as u32]);
                row.agree = Some(js == want);
            }
            "analysis_per_tensor" => {
                let mut scratch = Vec::new();
                row.wasm = time(runs_small, cancelled, || {
                    std::hint::black_box(analyze_views(small, QScheme::Affine, range, 256, &mut scratch));
                })
                .await?;
            }
            "analysis_summary" => {
                row.wasm = time(runs_small, cancelled, || {
                    std::hint::black_box(summarize(small));
                })
                .await?;
            }
            "analysis_metrics" => {
                row.wasm = time(runs_small, cancelled, || {
                    std::hint::black_box(measure_with_codes(small, p, range));
                })
                .await?;
            }
            "analysis_histogram" => {
                row.wasm = time(runs_small, cancelled, || {
                    std::hint::black_box(Histogram::new(small, -5.0, 5.0, 256));
                })
                .await?;
            }
            "explorer_redraw_1m" | "explorer_redraw_10m" => {
                let n = if id == "explorer_redraw_1m" { 1_000_000 } else { 10_000_000 };
                row.n = n;
                let data = if n <= xs.len() { xs[..n].to_vec() } else { sample(Dist::Normal { mean: 0.0, std: 1.0 }, n, 7, None).map_err(|e| e.to_string())? };
                let canvases = offscreen_canvases()?;
                let settings = crate::ui::state::UrlState::default().settings(crate::ui::explorer::BINS);
                // As in the app: the tensor's summary is computed when the tensor changes, not
                // when a setting does.
                let summary = crate::engine::statistics::stats::summarize(&data);
                let mut failed = None;
                row.wasm = time(if n > 2_000_000 { 5 } else { runs_small }, cancelled, || {
                    match redraw(&data, &summary, &settings, &canvases) {
                        Ok(()) => {}
                        Err(e) => failed = Some(e),
                    }
                })
                .await?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            "format_redraw_1m_mxfp4" | "format_redraw_1m_q4_k" => {
                // 1M values as 256 rows of 4096 (whole K-quant super-blocks), the summary kept.
                let data = &xs[..1 << 20];
                row.n = data.len();
                let canvases = offscreen_canvases()?;
                let summary = summarize(data);
                let name = if id.ends_with("q4_k") { "q4_k" } else { "mxfp4" };
                let mut failed = None;
                row.wasm = time(runs_small, cancelled, || {
                    if let Err(e) = format_redraw(data, &summary, name, &canvases) {
                        failed = Some(e);
                    }
                })
                .await?;
                if let Some(e) = failed {
                    return Err(e);
                }
            }
            _ if id.starts_with("format_") => {
                use crate::engine::formats::compare::compare_one;
                use crate::engine::formats::spec::{Format, Params};
                let name = &id["format_".len()..].replace("nf4_dq", "nf4-dq");
                let format = Format::parse(name, &Params::default())?;
                let shape = [xs.len() / 4096, 4096];
                row.wasm = time(if size == Size::Full { 3 } else { runs_small }, cancelled, || {
                    std::hint::black_box(compare_one(format, &xs, &shape));
                })
                .await?;
            }
            "formats_compare" => {
                // The worker's job itself: every format on each slice of rows in turn.
                use crate::engine::views::explore::session::{Session, TensorSource};
                use crate::engine::views::jobs::{Job, JobResult, JobSpec};
                let mut session = Session::default();
                let layer = crate::engine::tensor::Tensor { name: "layer".into(), shape: vec![xs.len() / 4096, 4096], data: xs.to_vec(), stored_as: "f32".into() };
                session.load(1, Rc::new(layer));
                let spec = JobSpec::Formats { source: TensorSource::Loaded { key: 1 } };
                row.wasm = time(if size == Size::Full { 1 } else { 3 }, cancelled, || {
                    let done = Job::start(&spec).and_then(|job| job.run(&mut session));
                    std::hint::black_box(matches!(done, Ok(JobResult::Formats(_))));
                })
                .await?;
            }
            "l2_search" | "l2_observe_and_search" => {
                let common = Common { scheme: QScheme::Affine, range };
                let mut obs = HistogramL2::new(common, 2048).map_err(|e| e.to_string())?;
                obs.observe(small, &[small.len()]).map_err(|e| e.to_string())?;
                row.wasm = if id == "l2_search" {
                    time(runs_small, cancelled, || {
                        std::hint::black_box(obs.ranges());
                    })
                    .await?
                } else {
                    time(runs_small, cancelled, || {
                        let mut o = HistogramL2::new(common, 2048).expect("valid bins");
                        let _ = o.observe(small, &[small.len()]);
                        std::hint::black_box(o.ranges());
                    })
                    .await?
                };
            }
            _ if id.starts_with("setting_") => {
                let &(_, _, settings, _) = super::HEAVY_SETTINGS.iter().find(|h| h.0 == id).ok_or_else(|| format!("no heavy setting {id}"))?;
                row.n = if size == Size::Full { super::HEAVY_N } else { super::HEAVY_N / 10 };
                row.wasm = time_session(if size == Size::Full { 3 } else { 5 }, cancelled, &super::heavy_request(settings, row.n)).await?;
            }
            _ if id.starts_with("lab_") => {
                use crate::engine::nn::{bench::LabBench, lab::ModelKind};
                let kind = if id.starts_with("lab_cnn") { ModelKind::Cnn } else { ModelKind::Mlp };
                let mut lab = LabBench::new(kind).map_err(|e| e.to_string())?;
                let runs = if kind == ModelKind::Cnn { 5 } else { runs_small };
                row.n = if id.ends_with("_1797") { 1797 } else { 1346 };
                row.wasm = if id.ends_with("fp32_epoch") {
                    time(runs, cancelled, || {
                        std::hint::black_box(lab.fp32_epoch());
                    })
                    .await?
                } else if id.ends_with("qat_epoch") {
                    time(runs, cancelled, || {
                        std::hint::black_box(lab.qat_epoch());
                    })
                    .await?
                } else {
                    time(runs, cancelled, || {
                        std::hint::black_box(lab.integer_inference());
                    })
                    .await?
                };
            }
            _ => {}
        }
        out.dispatch(BenchAction::Row(row.clone()));
        rows.push(row);
    }
    let navigator = gloo::utils::window().navigator();
    Ok(Report {
        size,
        user_agent: navigator.user_agent().unwrap_or_default(),
        cores: navigator.hardware_concurrency() as u32,
        simd128: cfg!(target_feature = "simd128"),
        rows,
    })
}
