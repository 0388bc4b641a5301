//! The About panel: what QuantScope is, versions, privacy and attributions.

use yew::prelude::*;

/// `name version` of the main libraries, read from Cargo.lock by build.rs.
const LIBRARIES: &str = env!("QUANTSCOPE_LIBRARIES");

#[derive(Properties, PartialEq)]
pub struct AboutProps {
    pub on_close: Callback<MouseEvent>,
}

#[function_component(About)]
pub fn about(props: &AboutProps) -> Html {
    html! {
        <section class="panel about" aria-label="About QuantScope" data-testid="about-panel">
            <div class="panel-head">
                <h2>{"About QuantScope "}<span class="version">{concat!("v", env!("CARGO_PKG_VERSION"))}</span></h2>
                <button onclick={props.on_close.clone()}>{"Close"}</button>
            </div>
            <p>{"QuantScope shows what quantization does to a tensor: scales, zero points, clipping and rounding error, and how post-training quantization (PTQ) and quantization-aware training (QAT) compare. Everything runs in your browser; nothing you load leaves it, and the app makes no network request except for its own files."}</p>
            <p>{"How fast is it here? "}<a href="#view=bench" data-testid="about-bench-link" onclick={props.on_close.clone()}>{"Run the benchmarks in this browser"}</a>{" (the engine in WebAssembly beside plain JavaScript)."}</p>
            <h3>{"Built with"}</h3>
            <p class="mono" data-testid="about-versions">{LIBRARIES}</p>
            <h3>{"Attributions"}</h3>
            <ul>
                <li>{"Quantization scheme: B. Jacob et al., “Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference”, CVPR 2018 (arXiv:1712.05877). Observer semantics follow PyTorch’s torch.ao.quantization."}</li>
                <li>{"Digits data: “Optical Recognition of Handwritten Digits”, E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, CC BY 4.0 (the copy shipped with scikit-learn)."}</li>
                <li>{"Colours: the colour-blind-safe palette of M. Okabe and K. Ito."}</li>
            </ul>
        </section>
    }
}
