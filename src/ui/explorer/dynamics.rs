//! Observer dynamics: the tensor fed in batches, one step at a time or playing, MinMax against
//! the moving average (EMA), with the averaging constant adjustable while it plays.

use std::rc::Rc;

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};

use crate::engine::views::dynamics::Step;
use crate::ui::charts::canvas::Canvas;
use crate::ui::charts::dynamics::DynamicsChart;
use crate::ui::format::sig4;
use crate::ui::state::{UrlState, MAX_BATCHES, MAX_DRIFT};

/// Time between steps while playing.
const STEP_MS: u32 = 250;

#[derive(Properties, PartialEq)]
pub struct DynamicsProps {
    /// The ranges after each batch (see [`crate::engine::views::dynamics::run`]).
    pub steps: Rc<Result<Vec<Step>, String>>,
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
}

#[function_component(DynamicsPanel)]
pub fn dynamics_panel(props: &DynamicsProps) -> Html {
    let t = use_tr();
    let url = &props.url;
    let steps = props.steps.clone();
    let current = use_state(|| usize::MAX);
    let playing = use_state(|| false);
    let n = steps.as_ref().as_ref().map_or(0, Vec::len);
    let at = (*current).min(n.saturating_sub(1));
    {
        // While playing, advance one step every STEP_MS, stopping at the last.
        let (current, playing) = (current.clone(), playing.clone());
        use_effect_with((*playing, at, n), move |&(on, at, n)| {
            let timer = (on && n > 0).then(|| {
                gloo::timers::callback::Timeout::new(STEP_MS, move || {
                    if at + 1 >= n {
                        playing.set(false);
                    } else {
                        current.set(at + 1);
                    }
                })
            });
            move || drop(timer)
        });
    }
    let steps = match steps.as_ref() {
        Ok(steps) => steps,
        Err(e) => return html! { <section class="panel message" data-testid="dynamics-error" data-part="dynamics">{t.f(E::DynamicsError, &[e])}</section> },
    };
    let chart = Rc::new(DynamicsChart { steps: steps.clone(), current: at, averaging_constant: url.averaging_constant });
    let edit = |f: fn(&mut UrlState, &str)| {
        let (url, cb) = (url.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let mut next = url.clone();
            f(&mut next, &e.target_unchecked_into::<HtmlInputElement>().value());
            cb.emit(next);
        })
    };
    let on_batches = edit(|s, v| s.batches = v.trim().parse().map_or(s.batches, |b: usize| b.clamp(1, MAX_BATCHES)));
    // Equal batches in place of a calibration's own.
    let even = {
        let (url, cb) = (url.clone(), props.on_change.clone());
        Callback::from(move |_: MouseEvent| cb.emit(UrlState { batch_rows: 0, ..url.clone() }))
    };
    let on_drift = edit(|s, v| s.drift = v.trim().parse().map_or(s.drift, |d: f32| d.clamp(0.0, MAX_DRIFT)));
    let on_ac = edit(|s, v| s.averaging_constant = v.trim().parse().map_or(s.averaging_constant, |c: f32| c.clamp(1e-4, 1.0)));
    let on_step = {
        let current = current.clone();
        Callback::from(move |e: InputEvent| current.set(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0)))
    };
    let play = {
        let (playing, current) = (playing.clone(), current.clone());
        Callback::from(move |_: MouseEvent| {
            if !*playing && at + 1 >= n {
                current.set(0);
            }
            playing.set(!*playing);
        })
    };
    let next = {
        let current = current.clone();
        Callback::from(move |_: MouseEvent| current.set((at + 1).min(n.saturating_sub(1))))
    };
    let s = steps.get(at).copied();
    let range = |r: Option<(f32, f32)>| r.map_or("—".into(), |(a, b)| format!("[{}, {}]", sig4(Some(a as f64)), sig4(Some(b as f64))));
    html! {
        <section class="panel chart-panel" aria-label={t.s(E::DynamicsPanelLabel)} data-testid="dynamics-panel" data-part="dynamics">
            <div class="panel-head">
                <h2>{t.s(E::DynamicsHeading)}</h2>
                <button onclick={play} data-testid="dynamics-play">{if *playing { t.s(E::Pause) } else { t.s(E::Play) }}</button>
                <button onclick={next} disabled={*playing} data-testid="dynamics-step">{t.s(E::Step)}</button>
            </div>
            <div class="controls-row">
                if url.replays_batches() {
                    <span data-testid="dynamics-real-batches">{t.f(E::RealBatches, &[&n, &url.batch_rows])}</span>
                    <button class="link" onclick={even} data-testid="dynamics-even">{t.s(E::EvenBatches)}</button>
                } else {
                    <label>{t.s(E::Batches)}{" "}<input type="number" min="1" max={MAX_BATCHES.to_string()} value={url.batches.to_string()} onchange={on_batches} data-testid="ctl-batches" /></label>
                }
                <label>{t.s(E::Drift)}{" "}<input type="number" min="0" step="0.1" max={MAX_DRIFT.to_string()} value={url.drift.to_string()} onchange={on_drift} data-testid="ctl-drift" /></label>
                <label>{t.s(E::EmaConstant)}{" "}<input type="number" min="0.0001" max="1" step="0.01" value={url.averaging_constant.to_string()} onchange={on_ac} data-testid="ctl-dynamics-ac" /></label>
                <label>{t.s(E::Batch)}{" "}<input type="range" min="0" max={n.saturating_sub(1).to_string()} value={at.to_string()} oninput={on_step} data-testid="ctl-dynamics-step" aria-label={t.s(E::CurrentBatch)} /></label>
            </div>
            <Canvas<DynamicsChart> chart={chart} testid="chart-dynamics" width={800} height={300} export={Some(AttrValue::from("dynamics"))}
                label={t.s(E::DynamicsLabel)} />
            <dl class="readouts-row">
                <div class="readout"><dt>{t.s(E::Batch)}</dt><dd data-testid="dynamics-batch">{format!("{} / {}", at + 1, n)}</dd></div>
                <div class="readout"><dt>{t.s(E::ThisBatch)}</dt><dd data-testid="dynamics-batch-range">{range(s.map(|s| s.batch))}</dd></div>
                <div class="readout"><dt>{t.s(E::MinMaxHolds)}</dt><dd data-testid="dynamics-minmax">{range(s.map(|s| s.minmax))}</dd></div>
                <div class="readout"><dt>{t.s(E::EmaHolds)}</dt><dd data-testid="dynamics-ema">{range(s.map(|s| s.ema))}</dd></div>
            </dl>
            <p class="hint">{t.s(E::DynamicsHint)}</p>
        </section>
    }
}
