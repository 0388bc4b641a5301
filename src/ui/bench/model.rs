//! The benchmark page's real-model section: an ONNX model the user picks, with its input as a
//! `.npy`/`.npz` (or seeded synthetic input), timed in the model worker as the Model view runs it
//! (`engine::model::bench`: a plain run, a calibration run, the PTQ simulation's run). When the
//! page has onnxruntime-web, the same model runs on the same input in its wasm backend (one
//! thread) beside it. `scripts/bench` adds onnxruntime-web to the page for that comparison; the
//! app itself never loads it. Nothing leaves the page.

use std::rc::Rc;

use serde::Serialize;
use yew::prelude::*;

use super::Timing;
use crate::ui::i18n::{use_tr, BenchText as B};
use crate::ui::model::{status_line, Action, Page};
use crate::worker::model::{Data, FileData, ModelInput, ModelSpec, Timings, MODEL_WORKER_PATH};
use crate::worker::Input;

/// Timed calls of each workload (after one warm-up call).
pub const RUNS: usize = 20;
/// The keys the chosen files are handed over under: the model, then its arrays.
const MODEL_KEY: u64 = 1;

/// One workload's figures, in the worker and in onnxruntime-web.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelRow {
    pub workload: &'static str,
    pub tract: Option<Timing>,
    /// Median against the plain run's median.
    pub vs_run: Option<f64>,
    pub onnxruntime_web: Option<Timing>,
}

/// What `bench-model-json` holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelReport {
    pub model: String,
    pub shapes: Vec<Vec<usize>>,
    pub synthetic: bool,
    pub rows: Vec<ModelRow>,
    /// tract's plain-run median over onnxruntime-web's.
    pub tract_over_onnxruntime_web: Option<f64>,
}

impl ModelReport {
    pub fn new(model: &str, t: &Timings, peer: Option<&[f64]>) -> ModelReport {
        let run = Timing::from_samples(&t.run);
        let peer = peer.and_then(Timing::from_samples);
        let ratio = |a: Option<Timing>, b: Option<Timing>| match (a, b) {
            (Some(a), Some(b)) if b.median_ms > 0.0 => Some(a.median_ms / b.median_ms),
            _ => None,
        };
        let rows = [("run", &t.run), ("calibrate", &t.calibrate), ("ptq", &t.ptq)]
            .into_iter()
            .map(|(workload, samples)| {
                let tract = Timing::from_samples(samples);
                ModelRow { workload, tract, vs_run: ratio(tract, run), onnxruntime_web: if workload == "run" { peer } else { None } }
            })
            .collect();
        ModelReport { model: model.into(), shapes: t.shapes.clone(), synthetic: t.synthetic, rows, tract_over_onnxruntime_web: ratio(run, peer) }
    }
}

/// The files chosen: the model's name and bytes (kept for onnxruntime-web), and the arrays'.
#[derive(Clone, Default, PartialEq)]
struct Chosen {
    model: Option<(String, Rc<Vec<u8>>)>,
    arrays: Vec<(String, Rc<Vec<u8>>)>,
}

/// onnxruntime-web's timings: none (the page has no onnxruntime-web, or the input is
/// synthetic), to run once the worker's are in, under way, in, or failed.
#[derive(Clone, Default, PartialEq)]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
enum Peer {
    #[default]
    Absent,
    Pending,
    Running,
    Done(Rc<Vec<f64>>),
    Failed(String),
}

#[function_component(ModelBench)]
pub fn model_bench() -> Html {
    let t = use_tr();
    let page = use_reducer(Page::default);
    let chosen = use_state(Chosen::default);
    let peer = use_state(Peer::default);
    let client: Callback<ModelInput> = {
        let dispatch = page.dispatcher();
        crate::ui::worker_client::use_client(MODEL_WORKER_PATH, true, Callback::from(move |out| dispatch.dispatch(Action::Output(out))))
    };
    let job = use_mut_ref(|| 0u64);
    // How many arrays the last run handed over.
    let loaded = use_mut_ref(|| 0u64);
    let on_files = {
        let (chosen, dispatch) = (chosen.clone(), page.dispatcher());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<web_sys::HtmlInputElement>();
            let Some(list) = input.files() else { return };
            let files: Vec<web_sys::File> = (0..list.length()).filter_map(|i| list.get(i)).collect();
            let (chosen, dispatch) = (chosen.clone(), dispatch.clone());
            #[cfg(target_arch = "wasm32")]
            wasm_bindgen_futures::spawn_local(async move {
                let mut next = Chosen::default();
                for f in files {
                    let name = f.name();
                    let bytes = match gloo::file::futures::read_as_bytes(&gloo::file::Blob::from(f)).await {
                        Ok(b) => b,
                        Err(e) => return dispatch.dispatch(Action::Unreadable(crate::ui::i18n::current().f(crate::ui::i18n::ModelText::CannotRead, &[&name, &e]))),
                    };
                    if name.to_ascii_lowercase().ends_with(".onnx") {
                        next.model = Some((name, Rc::new(bytes)));
                    } else {
                        next.arrays.push((name, Rc::new(bytes)));
                    }
                }
                chosen.set(next);
            });
            #[cfg(not(target_arch = "wasm32"))]
            let _ = (files, chosen, dispatch);
        })
    };
    let run = {
        let (client, page, chosen, peer, job, loaded) = (client.clone(), page.clone(), chosen.clone(), peer.clone(), job.clone(), loaded.clone());
        Callback::from(move |_| {
            let Some((name, bytes)) = chosen.model.clone() else { return };
            // The worker lets go of the last run's files; these take their keys.
            client.emit(Input::Forget { keys: (MODEL_KEY..=MODEL_KEY + loaded.replace(chosen.arrays.len() as u64)).collect() });
            let mut keys = Vec::new();
            client.emit(Input::Load { key: MODEL_KEY, data: FileData { name, bytes: (*bytes).clone() } });
            for (k, (name, bytes)) in chosen.arrays.iter().enumerate() {
                let key = MODEL_KEY + 1 + k as u64;
                client.emit(Input::Load { key, data: FileData { name: name.clone(), bytes: (**bytes).clone() } });
                keys.push(key);
            }
            let data = if keys.is_empty() { Data::Synthetic { samples: 1, seed: 0 } } else { Data::Arrays { files: keys } };
            let id = {
                let mut job = job.borrow_mut();
                *job += 1;
                *job
            };
            // Whether onnxruntime-web runs after the worker: the page has it, and the input is
            // the user's (synthetic input is drawn in the worker).
            #[cfg(target_arch = "wasm32")]
            let has_ort = js_sys::Reflect::has(&js_sys::global(), &"ort".into()).unwrap_or(false);
            #[cfg(not(target_arch = "wasm32"))]
            let has_ort = false;
            peer.set(if has_ort && !chosen.arrays.is_empty() { Peer::Pending } else { Peer::Absent });
            page.dispatch(Action::Started(id));
            client.emit(Input::Start { id, spec: ModelSpec::Bench { model: MODEL_KEY, data, runs: RUNS } });
        })
    };
    // Once the worker's figures are in, onnxruntime-web's (if the page has it), one after the
    // other so that neither slows the other.
    {
        let (peer, chosen) = (peer.clone(), chosen.clone());
        use_effect_with(page.timed.clone(), move |timed| {
            if timed.is_some() && *peer == Peer::Pending {
                #[cfg(target_arch = "wasm32")]
                ort::spawn(&chosen, peer);
            }
            #[cfg(not(target_arch = "wasm32"))]
            let _ = (peer, chosen);
        });
    }
    // A peer still pending after a failed job never runs.
    let running = matches!(page.status, crate::ui::model::Status::Running { .. }) || *peer == Peer::Running || (*peer == Peer::Pending && page.timed.is_some());
    let name = chosen.model.as_ref().map(|m| m.0.clone());
    let peer_times = match &*peer {
        Peer::Done(v) => Some(v.as_slice()),
        _ => None,
    };
    let report = page.timed.as_ref().zip(name.as_ref()).map(|(timed, name)| ModelReport::new(name, timed, peer_times));
    html! {
        <section class="bench-model" data-testid="bench-model">
            <h3>{t.s(B::ModelTitle)}</h3>
            <p class="hint">{t.s(B::ModelIntro)}</p>
            <div class="controls-row">
                <label>{t.s(B::ModelFiles)}{" "}
                    <input type="file" multiple=true accept=".onnx,.npy,.npz" onchange={on_files} data-testid="bench-model-files" />
                </label>
                <button onclick={run} disabled={running || name.is_none()} data-testid="bench-model-run">{t.s(B::ModelRun)}</button>
            </div>
            { status_line(&page.status, t) }
            if let Peer::Failed(m) = &*peer {
                <p class="error" role="alert" data-testid="bench-model-peer-error">{t.f(B::PeerFailed, &[m])}</p>
            }
            if let Some(r) = report.as_ref() {
                { model_table(r, t) }
                if !running {
                    <details>
                        <summary>{t.s(B::Json)}</summary>
                        <pre data-testid="bench-model-json">{serde_json::to_string_pretty(r).unwrap_or_default()}</pre>
                    </details>
                }
            }
        </section>
    }
}

fn model_table(r: &ModelReport, t: crate::ui::i18n::Tr) -> Html {
    let label = |w: &str| match w {
        "run" => t.s(B::WRun),
        "calibrate" => t.s(B::WCalibrate),
        _ => t.s(B::WPtq),
    };
    let rows = r.rows.iter().map(|row| {
        html! {
            <tr data-testid={format!("bench-model-{}", row.workload)}>
                <td>{label(row.workload)}</td>
                <td class="num">{super::ms(row.tract)}</td>
                <td class="num">{row.vs_run.map_or("—".into(), |x| format!("{x:.2}×"))}</td>
                <td class="num">{super::ms(row.onnxruntime_web)}</td>
            </tr>
        }
    });
    let shapes: Vec<String> = r.shapes.iter().map(|s| format!("{s:?}")).collect();
    html! {
        <>
            <p data-testid="bench-model-input">{t.f(if r.synthetic { B::ModelInputSynthetic } else { B::ModelInput }, &[&r.model, &shapes.join(", ")])}</p>
            <table class="bench-table" data-testid="bench-model-table">
                <thead>
                    <tr><th>{t.s(B::Workload)}</th><th>{t.s(B::TractMs)}</th><th>{t.s(B::VsRun)}</th><th>{t.s(B::OrtMs)}</th></tr>
                </thead>
                <tbody>{ for rows }</tbody>
            </table>
        </>
    }
}

/// onnxruntime-web, through static/bench.js, when the page has it.
#[cfg(target_arch = "wasm32")]
mod ort {
    use js_sys::{Array, Float32Array, Promise, Uint8Array};
    use wasm_bindgen::prelude::*;

    use super::*;

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = quantscopeBench, js_name = ortRun)]
        fn ort_run(model: &Uint8Array, arrays: &Array, runs: u32) -> Result<Promise, JsValue>;
    }

    /// Times the chosen model on the chosen arrays in onnxruntime-web, if the page has it.
    pub fn spawn(chosen: &Chosen, peer: UseStateHandle<Peer>) {
        let Some((_, model)) = chosen.model.clone() else { return };
        let arrays = chosen.arrays.clone();
        peer.set(Peer::Running);
        wasm_bindgen_futures::spawn_local(async move {
            peer.set(match times(&model, &arrays).await {
                Ok(Some(v)) => Peer::Done(Rc::new(v)),
                Ok(None) => Peer::Absent,
                Err(e) => Peer::Failed(e),
            });
        });
    }

    async fn times(model: &[u8], arrays: &[(String, Rc<Vec<u8>>)]) -> Result<Option<Vec<f64>>, String> {
        let list = Array::new();
        for (name, bytes) in arrays {
            for tensor in crate::engine::io::load(name, bytes, Default::default()).map_err(|e| e.to_string())? {
                let dims: Array = tensor.shape.iter().map(|&d| JsValue::from(d as f64)).collect();
                let data = Float32Array::from(tensor.data.as_slice());
                list.push(&Array::of3(&JsValue::from(tensor.name.as_str()), &dims, &data));
            }
        }
        let promise = ort_run(&Uint8Array::from(model), &list, RUNS as u32).map_err(|e| format!("{e:?}"))?;
        let out = wasm_bindgen_futures::JsFuture::from(promise).await.map_err(|e| e.as_string().unwrap_or_else(|| format!("{e:?}")))?;
        if out.is_null() || out.is_undefined() {
            return Ok(None);
        }
        Ok(Some(Array::from(&out).iter().filter_map(|v| v.as_f64()).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_compares_each_workload_with_the_plain_run_and_the_peer() {
        let t = Timings { shapes: vec![vec![1, 3]], synthetic: false, run: vec![10.0, 12.0, 11.0], calibrate: vec![13.0, 11.0], ptq: vec![] };
        let r = ModelReport::new("m.onnx", &t, Some(&[5.0, 6.0, 4.0]));
        assert_eq!(r.rows.len(), 3);
        assert_eq!(r.rows[0].vs_run, Some(1.0));
        assert_eq!(r.rows[1].vs_run, Some(12.0 / 11.0));
        assert_eq!(r.rows[2].tract, None, "no samples, no figure");
        assert_eq!(r.tract_over_onnxruntime_web, Some(11.0 / 5.0));
        assert_eq!(r.rows[1].onnxruntime_web, None, "the peer times the plain run only");
        assert_eq!(ModelReport::new("m.onnx", &t, None).tract_over_onnxruntime_web, None);
    }
}
