//! A real model's weight or activation opened in the Explorer. For an activation, the model
//! worker runs the calibration's data again, batch by batch, keeping that activation's values
//! (`ModelSpec::Capture`); the Explorer shows them on the calibration's grid (its observer, bits
//! and granularity), and its observer-dynamics view replays the calibration's own batches
//! (`nbrows`). A weight (`ModelSpec::Weight`, batch norm folded) opens on the PTQ's weight grid:
//! symmetric, signed, at the weight bits.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use super::tables::Opening;
use super::{Action, Choices, Page};
use crate::engine::quantizer::qparams::QScheme;
use crate::engine::tensor::Tensor;
use crate::ui::files::{Files, OpenFile};
use crate::ui::i18n::ModelText as M;
use crate::ui::state::{Codes, Source, UrlState, View};
use crate::worker::model::{Data, ModelInput, ModelSpec, Values};
use crate::worker::Input;

/// What the last calibration ran: the model (its key and file name), the data and the choices.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibratedWith {
    pub model: u64,
    pub name: String,
    pub data: Data,
    pub choices: Choices,
}

/// A weight or activation to open in the Explorer: its values, and the model and settings they
/// come from (the calibration's, for an activation).
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub model: String,
    pub values: Rc<Values>,
    pub choices: Choices,
}

/// A callback that asks the model worker for a weight's values, or an activation's over the last
/// calibration's data, and hands them to `on_open` when they come. The callback stays the same
/// across renders, so the layer table's rows are not drawn again for it.
#[hook]
pub fn use_capture(
    client: &Callback<ModelInput>,
    page: &UseReducerHandle<Page>,
    ids: &Rc<RefCell<(u64, u64)>>,
    with: &Rc<RefCell<Option<CalibratedWith>>>,
    choices: &Choices,
    on_open: &Callback<Opened>,
) -> Callback<Opening> {
    // The model open now and the choices made, for a weight.
    let now = use_mut_ref(|| None::<(u64, String, Choices)>);
    *now.borrow_mut() = page.model.clone().map(|(key, name)| (key, name, choices.clone()));
    {
        let (on_open, with, now) = (on_open.clone(), with.clone(), now.clone());
        // The values are taken from the page's state, not copied: they can be hundreds of MB.
        use_effect_with(page.captured.clone(), move |captured| {
            let Some(values) = captured.as_ref().and_then(|(_, cell)| cell.borrow_mut().take()) else { return };
            let from = if values.weight { now.borrow().as_ref().map(|n| (n.1.clone(), n.2.clone())) } else { with.borrow().as_ref().map(|w| (w.name.clone(), w.choices.clone())) };
            if let Some((model, choices)) = from {
                on_open.emit(Opened { model, values: Rc::new(values), choices });
            }
        });
    }
    let (client, dispatch, ids, with) = (client.clone(), page.dispatcher(), ids.clone(), with.clone());
    use_callback((), move |opening: Opening, _| {
        let spec = match opening {
            Opening::Weight(name) => match now.borrow().as_ref() {
                Some((model, _, _)) => ModelSpec::Weight { model: *model, name },
                None => return,
            },
            Opening::Activation(activation) => match with.borrow().clone() {
                Some(w) => ModelSpec::Capture { model: w.model, data: w.data, batch: w.choices.batch.max(1), activation },
                None => return,
            },
        };
        let id = super::next_job(&ids);
        dispatch.dispatch(Action::Started(id));
        client.emit(Input::Start { id, spec });
    })
}

/// The Explorer's file (the tensor alone) and link for `o`. An activation: the calibration's
/// observer, activation bits (unsigned codes, affine, as activations are quantized) and
/// granularity, and the dynamics view on the calibration's batches. A weight: min/max at the
/// weight bits, symmetric and signed, per tensor (the per-channel view beside it).
pub fn explorer_state(o: Opened, url: &UrlState) -> (OpenFile, UrlState) {
    let t = crate::ui::i18n::current();
    // The only holder of the values, as `use_capture` hands them over: moved, not copied.
    let a = Rc::try_unwrap(o.values).unwrap_or_else(|shared| (*shared).clone());
    let file = match (a.weight, a.synthetic) {
        (true, _) => t.f(M::WeightsFile, &[&o.model]),
        (false, true) => t.f(M::ActivationsFileSynthetic, &[&o.model]),
        (false, false) => t.f(M::ActivationsFile, &[&o.model]),
    };
    let (weight, batches, batch_rows) = (a.weight, a.batches, a.batch_rows);
    let tensor = Tensor { name: a.name.clone(), shape: a.shape.clone(), data: a.values, stored_as: "f32".into() };
    let rank = tensor.shape.len();
    let open = OpenFile::parsed(&file, vec![tensor], None, false);
    let c = &o.choices;
    let (scheme, codes, bits, observer) = if weight {
        (QScheme::Symmetric, Codes::Signed, c.weight_bits, crate::ui::state::ObsKind::MinMax)
    } else {
        (QScheme::Affine, Codes::Unsigned, c.act_bits, c.observer)
    };
    let next = UrlState {
        view: View::Explorer,
        source: Source::File,
        file,
        tensor: a.name,
        scheme,
        codes,
        bits,
        observer,
        per_channel: !weight && c.per_channel && rank >= 2,
        axis: if weight { 0 } else { 1 },
        averaging_constant: crate::engine::observer::ObserverKind::DEFAULT_AVERAGING_CONSTANT,
        batches: if weight { url.batches } else { batches.clamp(1, crate::ui::state::MAX_BATCHES) },
        batch_rows,
        drift: 0.0,
        ..url.without_range_edits()
    };
    (open, next)
}

/// Opens `o` in the Explorer: its file replaces the open one, and the link moves there.
pub fn open_in_explorer(o: Opened, url: &UrlState, files: &UseStateHandle<Files>, on_change: &Callback<UrlState>) {
    let (open, next) = explorer_state(o, url);
    files.set(Files { open: Some(Rc::new(open)), generation: files.generation + 1, busy: None, error: None });
    on_change.emit(next);
}
