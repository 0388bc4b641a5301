//! A `<canvas>` that paints a [`Chart`] with plotters-canvas after every change of its model.

use std::rc::Rc;

use yew::prelude::*;

use super::Chart;

#[derive(Properties)]
pub struct CanvasProps<C: Chart> {
    pub chart: Rc<C>,
    /// Accessible description of the chart.
    pub label: AttrValue,
    #[prop_or(800)]
    pub width: u32,
    #[prop_or(360)]
    pub height: u32,
    #[prop_or_default]
    pub testid: AttrValue,
}

impl<C: Chart> PartialEq for CanvasProps<C> {
    fn eq(&self, o: &Self) -> bool {
        (Rc::ptr_eq(&self.chart, &o.chart) || self.chart == o.chart)
            && self.label == o.label
            && (self.width, self.height) == (o.width, o.height)
            && self.testid == o.testid
    }
}

/// Paints `props.chart` on a canvas of `width`×`height` device pixels (scaled by CSS to fit).
#[function_component(Canvas)]
pub fn canvas<C: Chart>(props: &CanvasProps<C>) -> Html {
    let node = use_node_ref();
    {
        let node = node.clone();
        use_effect_with(props.chart.clone(), move |chart| paint(&node, chart.as_ref()));
    }
    html! {
        <canvas ref={node} class="chart" width={props.width.to_string()} height={props.height.to_string()}
            role="img" aria-label={props.label.clone()} data-testid={props.testid.clone()} />
    }
}

#[cfg(target_arch = "wasm32")]
fn paint<C: Chart>(node: &NodeRef, chart: &C) {
    use plotters::prelude::IntoDrawingArea;
    use plotters_canvas::CanvasBackend;
    let Some(canvas) = node.cast::<web_sys::HtmlCanvasElement>() else { return };
    let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
        gloo::console::error!("QuantScope: this browser gave no 2D canvas context");
        return;
    };
    let root = backend.into_drawing_area();
    if let Err(e) = chart.draw(&root).and_then(|_| root.present()) {
        gloo::console::error!(format!("QuantScope: drawing a chart failed: {e}"));
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn paint<C: Chart>(_node: &NodeRef, _chart: &C) {}
