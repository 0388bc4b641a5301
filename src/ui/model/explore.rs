//! A real model's activation opened in the Explorer: the model worker runs the calibration's
//! data again, batch by batch, keeping that activation's values (`ModelSpec::Capture`); the
//! Explorer then shows them on the calibration's grid (its observer, bits and granularity), and
//! its observer-dynamics view replays the calibration's own batches (`nbrows`).

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use super::{Action, Choices, Page};
use crate::engine::quantizer::qparams::QScheme;
use crate::engine::tensor::Tensor;
use crate::ui::files::{Files, OpenFile};
use crate::ui::i18n::ModelText as M;
use crate::ui::state::{Codes, Source, UrlState, View};
use crate::worker::model::{Activation, Data, ModelInput, ModelSpec};
use crate::worker::Input;

/// What the last calibration ran: the model (its key and file name), the data and the choices.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratedWith {
    pub model: u64,
    pub name: String,
    pub data: Data,
    pub choices: Choices,
}

/// An activation to open in the Explorer: its values, and the model and calibration they come
/// from.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub model: String,
    pub activation: Rc<Activation>,
    pub choices: Choices,
}

/// A callback that asks the model worker for an activation's values over the last
/// calibration's data, and hands them to `on_open` when they come. The callback stays the same
/// across renders, so the calibration table's rows are not drawn again for it.
#[hook]
pub fn use_capture(
    client: &Callback<ModelInput>,
    page: &UseReducerHandle<Page>,
    ids: &Rc<RefCell<(u64, u64)>>,
    with: &Rc<RefCell<Option<CalibratedWith>>>,
    on_open: &Callback<Opened>,
) -> Callback<String> {
    {
        let (on_open, with) = (on_open.clone(), with.clone());
        // The values are taken from the page's state, not copied: they can be hundreds of MB.
        use_effect_with(page.captured.clone(), move |captured| {
            let taken = captured.as_ref().and_then(|(_, cell)| cell.borrow_mut().take());
            if let (Some(activation), Some(w)) = (taken, with.borrow().as_ref()) {
                on_open.emit(Opened { model: w.name.clone(), activation: Rc::new(activation), choices: w.choices.clone() });
            }
        });
    }
    let (client, dispatch, ids, with) = (client.clone(), page.dispatcher(), ids.clone(), with.clone());
    use_callback((), move |activation: String, _| {
        let Some(w) = with.borrow().clone() else { return };
        let id = {
            let mut ids = ids.borrow_mut();
            ids.0 += 1;
            ids.0
        };
        dispatch.dispatch(Action::Started(id));
        client.emit(Input::Start { id, spec: ModelSpec::Capture { model: w.model, data: w.data, batch: w.choices.batch.max(1), activation } });
    })
}

/// The Explorer's file (the activation alone) and link for `o`: the calibration's observer,
/// activation bits (unsigned codes, affine, as activations are quantized) and granularity, and
/// the dynamics view on the calibration's batches.
pub fn explorer_state(o: Opened, url: &UrlState) -> (OpenFile, UrlState) {
    let t = crate::ui::i18n::current();
    // The only holder of the values, as `use_capture` hands them over: moved, not copied.
    let a = Rc::try_unwrap(o.activation).unwrap_or_else(|shared| (*shared).clone());
    let file = t.f(if a.synthetic { M::ActivationsFileSynthetic } else { M::ActivationsFile }, &[&o.model]);
    let (batches, batch_rows) = (a.batches, a.batch_rows);
    let tensor = Tensor { name: a.name.clone(), shape: a.shape.clone(), data: a.values, stored_as: "f32".into() };
    let rank = tensor.shape.len();
    let open = OpenFile::parsed(&file, vec![tensor], None, false);
    let c = &o.choices;
    let next = UrlState {
        view: View::Explorer,
        source: Source::File,
        file,
        tensor: a.name,
        scheme: QScheme::Affine,
        codes: Codes::Unsigned,
        bits: c.act_bits,
        observer: c.observer,
        per_channel: c.per_channel && rank >= 2,
        axis: 1,
        narrow: false,
        reduce_range: false,
        quant_min: None,
        quant_max: None,
        lo: None,
        hi: None,
        averaging_constant: crate::engine::observer::ObserverKind::DEFAULT_AVERAGING_CONSTANT,
        batches: batches.clamp(1, crate::ui::state::MAX_BATCHES),
        batch_rows: batch_rows.max(1),
        drift: 0.0,
        ..url.clone()
    };
    (open, next)
}

/// Opens `o` in the Explorer: its file replaces the open one, and the link moves there.
pub fn open_in_explorer(o: Opened, url: &UrlState, files: &UseStateHandle<Files>, on_change: &Callback<UrlState>) {
    let (open, next) = explorer_state(o, url);
    files.set(Files { open: Some(Rc::new(open)), generation: files.generation + 1, busy: None, error: None });
    on_change.emit(next);
}
