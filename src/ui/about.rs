//! The About panel: what QuantScope is, versions, privacy and attributions.

use yew::prelude::*;

use super::i18n::{use_tr, ShellText as S};

/// `name version` of the main libraries, read from Cargo.lock by build.rs.
const LIBRARIES: &str = env!("QUANTSCOPE_LIBRARIES");

#[derive(Properties, PartialEq)]
pub struct AboutProps {
    pub on_close: Callback<MouseEvent>,
}

#[function_component(About)]
pub fn about(props: &AboutProps) -> Html {
    let t = use_tr();
    html! {
        <section class="panel about" aria-label={t.s(S::AboutTitle)} data-testid="about-panel">
            <div class="panel-head">
                <h2>{t.s(S::AboutTitle)}{" "}<span class="version">{concat!("v", env!("CARGO_PKG_VERSION"))}</span></h2>
                <button onclick={props.on_close.clone()}>{t.s(S::Close)}</button>
            </div>
            <p>{t.s(S::AboutText)}</p>
            <p>{t.s(S::AboutBenchBefore)}<a href="#view=bench" data-testid="about-bench-link" onclick={props.on_close.clone()}>{t.s(S::AboutBenchLink)}</a>{t.s(S::AboutBenchAfter)}</p>
            <h3>{t.s(S::BuiltWith)}</h3>
            <p class="mono" data-testid="about-versions">{LIBRARIES}</p>
            <h3>{t.s(S::Attributions)}</h3>
            <ul>
                <li>{t.s(S::AttributionPaper)}</li>
                <li>{t.s(S::AttributionDigits)}</li>
                <li>{t.s(S::AttributionColours)}</li>
            </ul>
        </section>
    }
}
