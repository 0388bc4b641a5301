//! The Lab: train a network in the browser and compare FP32, PTQ and QAT (coming next).

use yew::prelude::*;

#[function_component(Lab)]
pub fn lab() -> Html {
    html! {
        <section class="panel empty-state" data-testid="lab-empty">
            <h2>{"The Lab"}</h2>
            <p>{"Train a small network on the 8×8 digits or a 2-D toy set right here, in a background worker. Then quantize it two ways and compare:"}</p>
            <ul>
                <li><strong>{"PTQ"}</strong>{": fold batch norm, calibrate ranges on a few samples, convert to integers."}</li>
                <li><strong>{"QAT"}</strong>{": fine-tune with fake-quantize nodes and a straight-through estimator, then convert."}</li>
                <li>{"Run the integer-only model and see accuracy against bit width, per-layer SQNR and decision boundaries."}</li>
            </ul>
            <p class="hint">{"Coming soon: this view is being built."}</p>
        </section>
    }
}
