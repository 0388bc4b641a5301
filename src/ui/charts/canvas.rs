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
    /// When set, a button saves the chart as `{export}.png`.
    #[prop_or_default]
    pub export: Option<AttrValue>,
    /// When set, the pointer over the chart is reported (drags, the wheel, double-clicks).
    #[prop_or_default]
    pub on_pointer: Option<Callback<PlotPointer>>,
}

/// What the pointer did over a chart, and where along the plot's x axis (see
/// [`super::plot_fraction`]: 0 at the axis's start, 1 at its end).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotPointer {
    pub action: PointerAction,
    pub fraction: f64,
    /// One pixel, as a fraction of the plot's width (for "near" tests).
    pub pixel: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PointerAction {
    /// A button went down (the pointer is captured until it goes up).
    Down,
    /// The pointer moved with a button held.
    Drag,
    Up,
    /// The wheel turned: positive away from the user (zoom in).
    Wheel(f64),
    DoubleClick,
}

impl<C: Chart> PartialEq for CanvasProps<C> {
    fn eq(&self, o: &Self) -> bool {
        (Rc::ptr_eq(&self.chart, &o.chart) || self.chart == o.chart)
            && self.label == o.label
            && (self.width, self.height) == (o.width, o.height)
            && self.testid == o.testid
            && self.export == o.export
            && self.on_pointer == o.on_pointer
    }
}

/// Paints `props.chart` on a canvas of `width`×`height` device pixels (scaled by CSS to fit).
#[function_component(Canvas)]
pub fn canvas<C: Chart>(props: &CanvasProps<C>) -> Html {
    let node = use_node_ref();
    let t = crate::ui::i18n::use_tr();
    {
        // Each canvas paints in a task of its own (a zero timeout after the render), so that a
        // page of many charts never holds the main thread in one long task; a newer model
        // cancels a paint still pending.
        let node = node.clone();
        // Repainted when the language changes too: the charts' texts are in it.
        use_effect_with((props.chart.clone(), t), move |(chart, _)| {
            #[cfg(target_arch = "wasm32")]
            let pending = {
                let chart = chart.clone();
                Some(gloo::timers::callback::Timeout::new(0, move || paint(&node, chart.as_ref())))
            };
            #[cfg(not(target_arch = "wasm32"))]
            let pending: Option<Box<dyn std::any::Any>> = {
                paint(&node, chart.as_ref());
                None
            };
            move || drop(pending)
        });
    }
    let save = props.export.clone().map(|name| {
        let node = node.clone();
        let onclick = Callback::from(move |_: MouseEvent| save_png(&node, &name));
        html! {
            <button class="export" {onclick} data-testid={format!("export-png-{}", props.testid)}
                    title={t.s(crate::ui::i18n::ChartText::SavePngTitle)}>{"PNG"}</button>
        }
    });
    use_wheel(&node, props.on_pointer.clone());
    let report = |action: fn(&PointerEvent) -> Option<PointerAction>| {
        let (on, node) = (props.on_pointer.clone(), node.clone());
        Callback::from(move |e: PointerEvent| {
            let (Some(on), Some(canvas)) = (on.as_ref(), node.cast::<web_sys::HtmlCanvasElement>()) else { return };
            if let Some(a) = action(&e) {
                on.emit(pointer_at(&canvas, e.offset_x() as f64, a));
            }
        })
    };
    let interactive = props.on_pointer.is_some();
    let onpointerdown = report(|e| {
        if let Some(target) = e.target_dyn_into::<web_sys::Element>() {
            let _ = target.set_pointer_capture(e.pointer_id());
        }
        Some(PointerAction::Down)
    });
    let onpointermove = report(|e| (e.buttons() & 1 == 1).then_some(PointerAction::Drag));
    let onpointerup = report(|_| Some(PointerAction::Up));
    let ondblclick = {
        let (on, node) = (props.on_pointer.clone(), node.clone());
        Callback::from(move |e: MouseEvent| {
            if let (Some(on), Some(canvas)) = (on.as_ref(), node.cast::<web_sys::HtmlCanvasElement>()) {
                on.emit(pointer_at(&canvas, e.offset_x() as f64, PointerAction::DoubleClick));
            }
        })
    };
    html! {
        <div class="chart-box">
            if interactive {
                <canvas ref={node} class="chart interactive" width={props.width.to_string()} height={props.height.to_string()}
                    role="img" aria-label={props.label.clone()} data-testid={props.testid.clone()}
                    {onpointerdown} {onpointermove} {onpointerup} {ondblclick} />
            } else {
                <canvas ref={node} class="chart" width={props.width.to_string()} height={props.height.to_string()}
                    role="img" aria-label={props.label.clone()} data-testid={props.testid.clone()} />
            }
            { for save }
        </div>
    }
}

/// The pointer at CSS pixel `x` of `canvas` (drawn one canvas pixel per CSS pixel, see `paint`).
fn pointer_at(canvas: &web_sys::HtmlCanvasElement, x: f64, action: PointerAction) -> PlotPointer {
    let width = canvas.width();
    PlotPointer { action, fraction: super::plot_fraction(x, width), pixel: 1.0 / super::plot_width_px(width) }
}

/// Reports the wheel over the canvas. Yew's own `onwheel` listener is passive, so it cannot keep
/// the page from scrolling while the user zooms the chart: this one is registered active.
#[hook]
fn use_wheel(node: &NodeRef, on: Option<Callback<PlotPointer>>) {
    let node = node.clone();
    use_effect_with(on, move |on| {
        let listener = on.clone().and_then(|on| {
            let canvas = node.cast::<web_sys::HtmlCanvasElement>()?;
            let target = canvas.clone();
            let options = gloo::events::EventListenerOptions::enable_prevent_default();
            Some(gloo::events::EventListener::new_with_options(&target, "wheel", options, move |e| {
                let Some(e) = wasm_bindgen::JsCast::dyn_ref::<web_sys::WheelEvent>(e) else { return };
                e.prevent_default();
                let steps = -e.delta_y().signum();
                if steps != 0.0 {
                    on.emit(pointer_at(&canvas, e.offset_x() as f64, PointerAction::Wheel(steps)));
                }
            }))
        });
        move || drop(listener)
    });
}

#[cfg(target_arch = "wasm32")]
fn paint<C: Chart>(node: &NodeRef, chart: &C) {
    let Some(canvas) = node.cast::<web_sys::HtmlCanvasElement>() else { return };
    // Draw at the size the canvas is shown (one canvas pixel per CSS pixel), keeping its aspect.
    let shown = canvas.client_width();
    if shown > 0 && shown as u32 != canvas.width() {
        let height = (shown as f64 * canvas.height() as f64 / canvas.width().max(1) as f64).round() as u32;
        canvas.set_width(shown as u32);
        canvas.set_height(height);
    }
    if let Err(e) = draw_on(canvas, chart) {
        gloo::console::error!(format!("QuantScope: drawing a chart failed: {e}"));
    }
}

/// Paints `chart` on `canvas` at the canvas's size (also used by the benchmark page, on
/// canvases that are not in the page).
#[cfg(target_arch = "wasm32")]
pub fn draw_on<C: Chart>(canvas: web_sys::HtmlCanvasElement, chart: &C) -> Result<(), String> {
    use plotters::prelude::IntoDrawingArea;
    let backend = measured::MeasuredCanvas::new(canvas).ok_or("this browser gave no 2D canvas context")?;
    let root = backend.into_drawing_area();
    chart.draw(&root).and_then(|_| root.present()).map_err(|e| e.to_string())
}

#[cfg(not(target_arch = "wasm32"))]
fn paint<C: Chart>(_node: &NodeRef, _chart: &C) {}

fn save_png(node: &NodeRef, name: &str) {
    #[cfg(target_arch = "wasm32")]
    if let Some(canvas) = node.cast::<web_sys::HtmlCanvasElement>() {
        if let Err(e) = crate::ui::download::save_canvas(&format!("{name}.png"), &canvas) {
            gloo::console::error!(format!("QuantScope: saving the chart failed: {e}"));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (node, name);
}

/// plotters-canvas measures text by styling a `<span>` with an inline `style` attribute, which the
/// app's Content-Security-Policy (`style-src 'self'`) blocks, leaving wrong sizes and console
/// errors. This backend delegates all drawing to plotters-canvas and measures text with the
/// canvas's own `measureText` instead.
#[cfg(target_arch = "wasm32")]
mod measured {
    use plotters_backend::{
        BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    };
    use plotters_canvas::CanvasBackend;
    use wasm_bindgen::JsCast;
    use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

    pub struct MeasuredCanvas {
        inner: CanvasBackend,
        context: CanvasRenderingContext2d,
    }

    impl MeasuredCanvas {
        pub fn new(canvas: HtmlCanvasElement) -> Option<Self> {
            let context = canvas.get_context("2d").ok()??.dyn_into().ok()?;
            Some(MeasuredCanvas { inner: CanvasBackend::with_canvas_object(canvas)?, context })
        }
    }

    type Result<E = <CanvasBackend as DrawingBackend>::ErrorType> = std::result::Result<(), DrawingErrorKind<E>>;

    impl DrawingBackend for MeasuredCanvas {
        type ErrorType = <CanvasBackend as DrawingBackend>::ErrorType;

        fn get_size(&self) -> (u32, u32) {
            self.inner.get_size()
        }
        fn ensure_prepared(&mut self) -> Result {
            self.inner.ensure_prepared()
        }
        fn present(&mut self) -> Result {
            self.inner.present()
        }
        fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result {
            self.inner.draw_pixel(point, color)
        }
        fn draw_line<S: BackendStyle>(&mut self, from: BackendCoord, to: BackendCoord, style: &S) -> Result {
            self.inner.draw_line(from, to, style)
        }
        fn draw_rect<S: BackendStyle>(&mut self, ul: BackendCoord, br: BackendCoord, style: &S, fill: bool) -> Result {
            self.inner.draw_rect(ul, br, style, fill)
        }
        fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, path: I, style: &S) -> Result {
            self.inner.draw_path(path, style)
        }
        fn draw_circle<S: BackendStyle>(&mut self, c: BackendCoord, r: u32, style: &S, fill: bool) -> Result {
            self.inner.draw_circle(c, r, style, fill)
        }
        fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(&mut self, vert: I, style: &S) -> Result {
            self.inner.fill_polygon(vert, style)
        }
        fn draw_text<S: BackendTextStyle>(&mut self, text: &str, style: &S, pos: BackendCoord) -> Result {
            self.inner.draw_text(text, style, pos)
        }
        fn estimate_text_size<S: BackendTextStyle>(
            &self,
            text: &str,
            style: &S,
        ) -> std::result::Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
            self.context.set_font(&format!("{} {}px {}", style.style().as_str(), style.size(), style.family().as_str()));
            let width = self.context.measure_text(text).map(|m| m.width()).unwrap_or(style.size() * 0.6 * text.len() as f64);
            Ok((width.ceil() as u32, style.size().ceil() as u32))
        }
    }
}
