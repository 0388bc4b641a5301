//! The Explorer: one tensor, its quantization under every setting of the URL, and the charts and
//! readouts of [`crate::engine::explore`]. Nothing numeric is computed here.

mod controls;
mod readouts;

use std::rc::Rc;

use yew::prelude::*;

use super::charts::canvas::Canvas;
use super::charts::codes::CodesChart;
use super::charts::errors::{ErrorByValueChart, ErrorChart};
use super::charts::histogram::HistogramChart;
use super::charts::transfer::TransferChart;
use super::state::UrlState;
use super::sweep::SweepPanel;
use crate::engine::explore::{explore, View};
use crate::engine::synth::{sample, scale_channels};

/// Bins of the value and error histograms.
const BINS: usize = 256;

#[derive(Properties, PartialEq)]
pub struct ExplorerProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
}

/// The synthetic tensor of a URL state: `channels × (n / channels)` values, channels scaled apart.
fn synthesize(url: &UrlState) -> Result<(Vec<f32>, Vec<usize>), String> {
    let shape = url.shape();
    let mut xs = sample(url.dist.dist(), shape[0] * shape[1], url.seed, url.outliers()).map_err(|e| e.to_string())?;
    scale_channels(&mut xs, shape[0], url.spread);
    Ok((xs, shape.to_vec()))
}

/// The charts of one view, each behind an `Rc` so an unchanged chart is not repainted.
#[derive(PartialEq)]
struct Charts {
    values: Rc<HistogramChart>,
    codes: Rc<CodesChart>,
    errors: Rc<ErrorChart>,
    error_by_value: Rc<ErrorByValueChart>,
    transfer: Rc<TransferChart>,
}

impl Charts {
    fn of(v: &View, log: bool) -> Charts {
        Charts {
            values: Rc::new(HistogramChart::of_view(v, log)),
            codes: Rc::new(CodesChart::of_view(v, log)),
            errors: Rc::new(ErrorChart::of_view(v, log)),
            error_by_value: Rc::new(ErrorByValueChart::of_view(v)),
            transfer: Rc::new(TransferChart { lo: v.values.lo, hi: v.values.hi, qparams: v.qparams[0], range: v.range }),
        }
    }
}

#[function_component(Explorer)]
pub fn explorer(props: &ExplorerProps) -> Html {
    let url = &props.url;
    let data_key = (url.dist, url.n, url.seed, url.channels, url.spread, url.outlier_fraction, url.outlier_magnitude);
    let data = {
        let url = url.clone();
        use_memo(data_key, move |_| synthesize(&url))
    };
    let scratch = use_mut_ref(Vec::new);
    let settings = url.settings(BINS);
    let view = use_memo((data.clone(), settings), move |(data, settings)| {
        let (xs, shape) = data.as_ref().as_ref().map_err(Clone::clone)?;
        explore(xs, shape, settings, &mut scratch.borrow_mut()).map_err(|e| e.to_string())
    });
    let charts = use_memo((view.clone(), url.log), |(view, log)| view.as_ref().as_ref().ok().map(|v| Charts::of(v, *log)));

    let body = match (view.as_ref(), charts.as_ref()) {
        (Err(e), _) => html! {
            <div class="panel error" role="alert" data-testid="explorer-error">{format!("Cannot quantize this tensor: {e}")}</div>
        },
        (Ok(v), Some(c)) => html! {
            <>
                <section class="panel chart-panel">
                    <h2>{"Values and the quantization grid"}</h2>
                    <Canvas<HistogramChart> chart={c.values.clone()} testid="chart-histogram"
                        label={format!("Histogram of {} values with the {}-level grid", v.summary.count, v.range.levels())} />
                </section>
                { readouts::readouts(v) }
                <div class="chart-pair">
                    <section class="panel chart-panel">
                        <h2>{"Integer codes"}</h2>
                        <Canvas<CodesChart> chart={c.codes.clone()} testid="chart-codes" width={560} height={300}
                            label={format!("Histogram of the integer codes: {} of {} levels used", v.metrics.levels_used, v.range.levels())} />
                    </section>
                    <section class="panel chart-panel">
                        <h2>{"Transfer function"}</h2>
                        <Canvas<TransferChart> chart={c.transfer.clone()} testid="chart-transfer" width={560} height={300}
                            label="The quantizer's staircase from x to its quantized value" />
                    </section>
                    <section class="panel chart-panel">
                        <h2>{"Error"}</h2>
                        <Canvas<ErrorChart> chart={c.errors.clone()} testid="chart-errors" width={560} height={300}
                            label="Histogram of the quantization error, rounding and clipping apart" />
                    </section>
                    <section class="panel chart-panel">
                        <h2>{"Error against x"}</h2>
                        <Canvas<ErrorByValueChart> chart={c.error_by_value.clone()} testid="chart-error-by-value" width={560} height={300}
                            label="The least and greatest error of the values in each bin of x" />
                    </section>
                </div>
            </>
        },
        (Ok(_), None) => html! {},
    };
    html! {
        <div class="explorer">
            <controls::Controls url={url.clone()} on_change={props.on_change.clone()}
                observed={view.as_ref().as_ref().ok().map(|v| (v.observed.min.clone(), v.observed.max.clone()))} />
            <div class="explorer-main">
                {body}
                <SweepPanel dist={url.dist} n={url.n} seed={url.seed} scheme={url.scheme} />
            </div>
        </div>
    }
}
