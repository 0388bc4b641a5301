//! Learn: guided lessons built on the Explorer and the Lab (coming next).

use yew::prelude::*;

#[function_component(Learn)]
pub fn learn() -> Html {
    html! {
        <section class="panel empty-state" data-testid="learn-empty">
            <h2>{"Learn"}</h2>
            <p>{"Short lessons, each a preset of the Explorer or the Lab with the formula filled in with live numbers:"}</p>
            <ol>
                <li>{"What scale and zero point are: s = (max − min)/(qmax − qmin), and why 0.0 must be exact."}</li>
                <li>{"Why one outlier ruins min/max, and what percentile, MSE and entropy calibration do about it."}</li>
                <li>{"Moving-average (EMA) against min/max during calibration."}</li>
                <li>{"Per-tensor against per-channel on real depthwise weights."}</li>
                <li>{"Bits against error: the 6 dB-per-bit rule and where it breaks."}</li>
                <li>{"PTQ against QAT."}</li>
            </ol>
            <p class="hint">{"Coming soon: this view is being built."}</p>
        </section>
    }
}
