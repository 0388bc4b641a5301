//! The per-channel view: every channel's range, per-tensor against per-channel SQNR, and the
//! channel-range ratio (min/max calibration, channels along axis 0).

use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};

use crate::engine::views::explore::ChannelView;
use crate::ui::charts::canvas::Canvas;
use crate::ui::charts::channels::ChannelChart;
use crate::ui::format::sig4;
use crate::ui::state::UrlState;

/// Most channels the view draws (one bar each).
pub const MAX_DRAWN_CHANNELS: usize = 4096;

#[derive(Properties, PartialEq)]
pub struct ChannelsProps {
    /// The tensor's name and shape.
    pub name: String,
    pub shape: Vec<usize>,
    /// The comparison, when the shape has channels along the URL's axis.
    pub channels: Option<Rc<Result<ChannelView, String>>>,
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
}

#[function_component(ChannelsPanel)]
pub fn channels_panel(props: &ChannelsProps) -> Html {
    let t = use_tr();
    let axis = props.url.axis;
    let view = props.channels.as_ref().and_then(|c| c.as_ref().as_ref().ok().cloned());
    let chart = use_memo((props.channels.clone(), props.url.channel_sort), |(v, sorted)| v.as_ref().and_then(|v| v.as_ref().as_ref().ok()).map(|v| Rc::new(ChannelChart::of(v, *sorted))));
    let (Some(v), Some(chart)) = (view.as_ref(), chart.as_ref()) else {
        let n = props.shape.get(axis).copied().unwrap_or(0);
        return if n > MAX_DRAWN_CHANNELS {
            html! {
                <section class="panel" aria-label={t.s(E::ChannelsPanelLabel)} data-testid="channels-panel" data-part="channels">
                    <h2>{t.s(E::ChannelsTitle)}</h2>
                    <p class="hint">{t.f(E::TooManyChannels, &[&axis, &n, &MAX_DRAWN_CHANNELS])}</p>
                </section>
            }
        } else {
            html! {}
        };
    };
    let toggle = {
        let (url, cb) = (props.url.clone(), props.on_change.clone());
        Callback::from(move |_| cb.emit(UrlState { channel_sort: !url.channel_sort, ..url.clone() }))
    };
    let gain = v.per_channel_sqnr.zip(v.per_tensor_sqnr).map(|(c, pt)| c - pt);
    let save_csv = {
        let (view, name) = (view.clone(), props.name.clone());
        Callback::from(move |_: MouseEvent| {
            if let Some(v) = view.as_ref() {
                let csv = crate::engine::views::export::channels_csv(&name, v);
                let file = format!("{}-channels.csv", name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_"));
                if let Err(e) = crate::ui::download::save(&file, "text/csv", csv.as_bytes()) {
                    gloo::console::error!(format!("QuantScope: {e}"));
                }
            }
        })
    };
    html! {
        <section class="panel chart-panel" aria-label={t.s(E::ChannelsPanelLabel)} data-testid="channels-panel" data-part="channels">
            <div class="panel-head">
                <h2>{t.s(E::ChannelsHeading)}</h2>
                <button class="export" onclick={save_csv} data-testid="export-channels-csv">{t.s(E::ChannelsCsv)}</button>
                <label class="check">
                    <input type="checkbox" data-testid="ctl-channel-sort" checked={props.url.channel_sort} onchange={toggle} />
                    {t.s(E::SortByRange)}
                </label>
            </div>
            <Canvas<ChannelChart> chart={chart.clone()} testid="chart-channels" width={800} height={300} export={Some(AttrValue::from(format!("{}-channels", props.name)))}
                label={t.f(E::ChannelsLabel, &[&v.mins.len()])} />
            <dl class="readouts-row">
                <div class="readout"><dt>{t.s(E::ChannelRatio)}</dt><dd data-testid="metric-channel-ratio">{sig4(v.ratio)}</dd></div>
                <div class="readout"><dt>{t.s(E::SqnrPerTensor)}</dt><dd data-testid="metric-sqnr-per-tensor">{sig4(v.per_tensor_sqnr)}</dd></div>
                <div class="readout"><dt>{t.s(E::SqnrPerChannel)}</dt><dd data-testid="metric-sqnr-per-channel">{sig4(v.per_channel_sqnr)}</dd></div>
                <div class="readout"><dt>{t.s(E::Gain)}</dt><dd data-testid="metric-sqnr-gain">{sig4(gain)}</dd></div>
            </dl>
            <p class="hint">{t.f(E::ChannelsHint, &[&axis])}</p>
        </section>
    }
}
