//! The charts one can handle: the histogram's clip ends are dragged, the transfer function is
//! zoomed with the wheel (or the zoom controls, from the keyboard). Every change goes through the
//! URL state like any other control's.

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::engine::views::explore::View;
use crate::ui::charts::canvas::{PlotPointer, PointerAction};
use crate::ui::charts::histogram::HistogramChart;
use crate::ui::charts::transfer::{wheel_zoom, TransferChart};
use crate::ui::state::{UrlState, MAX_TRANSFER_ZOOM};

/// Pressing near a clip end of the histogram grabs it; dragging sets the range by hand (the
/// other end starts at the observer's); letting go drops it.
pub fn drag_clip_ends(
    url: &UrlState,
    on_change: &Callback<UrlState>,
    chart: &Rc<HistogramChart>,
    view: &View,
    dragging: Rc<RefCell<Option<bool>>>,
) -> Callback<PlotPointer> {
    let (url, on_change, chart) = (url.clone(), on_change.clone(), chart.clone());
    let observed = (view.observed.min.first().copied(), view.observed.max.first().copied());
    Callback::from(move |p: PlotPointer| match p.action {
        PointerAction::Down => *dragging.borrow_mut() = chart.grab(p.fraction, p.pixel),
        PointerAction::Drag => {
            if let Some(low) = *dragging.borrow() {
                let mut next = url.clone();
                next.set_clip_end(low, chart.value_at(p.fraction), observed);
                if next != url {
                    on_change.emit(next);
                }
            }
        }
        PointerAction::Up => *dragging.borrow_mut() = None,
        PointerAction::Wheel(_) | PointerAction::DoubleClick => {}
    })
}

/// The wheel zooms the transfer function around the pointer; a double-click shows it all.
pub fn zoom_transfer(url: &UrlState, on_change: &Callback<UrlState>, chart: &Rc<TransferChart>) -> Callback<PlotPointer> {
    let (url, on_change, chart) = (url.clone(), on_change.clone(), chart.clone());
    Callback::from(move |p: PlotPointer| {
        let (transfer_zoom, transfer_center) = match p.action {
            PointerAction::Wheel(steps) => wheel_zoom(url.transfer_zoom, chart.lo, chart.hi, p.fraction, steps),
            PointerAction::DoubleClick => (1.0, None),
            _ => return,
        };
        let next = UrlState { transfer_zoom, transfer_center, ..url.clone() };
        if next != url {
            on_change.emit(next);
        }
    })
}

/// Zoom factors offered by the zoom control.
const ZOOMS: &[f32] = &[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0];

/// The transfer function's zoom and centre, for the keyboard.
pub fn zoom_controls(url: &UrlState, on_change: &Callback<UrlState>, t: crate::ui::i18n::Tr) -> Html {
    use crate::ui::i18n::ExplorerText as E;
    let on_zoom = {
        let (url, cb) = (url.clone(), on_change.clone());
        Callback::from(move |e: Event| {
            let v: f32 = e.target_unchecked_into::<HtmlSelectElement>().value().parse().unwrap_or(1.0);
            let zoom = v.clamp(1.0, MAX_TRANSFER_ZOOM);
            cb.emit(UrlState { transfer_zoom: zoom, transfer_center: if zoom > 1.0 { url.transfer_center } else { None }, ..url.clone() });
        })
    };
    let on_center = {
        let (url, cb) = (url.clone(), on_change.clone());
        Callback::from(move |e: Event| {
            let text = e.target_unchecked_into::<HtmlInputElement>().value();
            let center = text.trim().parse::<f32>().ok().filter(|c| c.is_finite() && c.abs() <= crate::ui::state::MAX_ABS_VALUE);
            cb.emit(UrlState { transfer_center: center, ..url.clone() });
        })
    };
    let zooms = ZOOMS.iter().copied().chain((!ZOOMS.contains(&url.transfer_zoom)).then_some(url.transfer_zoom));
    html! {
        <div class="inline-controls">
            <label for="ctl-transfer-zoom">{t.s(E::Zoom)}</label>
            <select id="ctl-transfer-zoom" data-testid="ctl-transfer-zoom" onchange={on_zoom}>
                { for zooms.map(|z| html! { <option value={z.to_string()} selected={z == url.transfer_zoom}>{format!("{z}×")}</option> }) }
            </select>
            <label for="ctl-transfer-center">{t.s(E::ZoomAt)}</label>
            <input id="ctl-transfer-center" data-testid="ctl-transfer-center" type="number" step="any" placeholder={t.s(E::ZoomMiddle)}
                   value={url.transfer_center.map_or_else(String::new, |c| c.to_string())} onchange={on_center} />
        </div>
    }
}
