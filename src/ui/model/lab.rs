//! The Lab's model in the Model view: the Lab hands over its FP32 network and test split
//! ([`LabHandoff`]); the model worker writes them as an ONNX file, a `.npy` of the test digits
//! and their `labels.npy` ([`ModelSpec::Export`]); the view hands those back to the worker as if
//! the user had opened them, opens the model, and offers them for download.

use std::rc::Rc;

use yew::prelude::*;

use super::{Action, Feed, Page};
use crate::engine::nn::lab::LabModel;
use crate::ui::i18n::{ModelText as M, Tr};
use crate::worker::model::{FileData, ModelInput, ModelSpec};
use crate::worker::Input;

/// A request from the Lab to open its model; `request` counts requests, so that asking again
/// opens it again.
#[derive(Clone, Debug)]
pub struct LabHandoff {
    pub request: u64,
    pub model: Rc<LabModel>,
}

impl PartialEq for LabHandoff {
    fn eq(&self, other: &Self) -> bool {
        self.request == other.request && Rc::ptr_eq(&self.model, &other.model)
    }
}

/// Batch size for the Lab's digits (a few hundred 8×8 samples).
const LAB_BATCH: usize = 64;

/// Starts the export when the Lab asks, and opens the exported files when they come back.
#[hook]
pub fn use_lab_handoff(
    lab: Option<LabHandoff>,
    page: &UseReducerHandle<Page>,
    choices: &UseStateHandle<super::Choices>,
    client: &Callback<ModelInput>,
    ids: &Rc<std::cell::RefCell<(u64, u64)>>,
    start: &Callback<ModelSpec>,
) {
    {
        let start = start.clone();
        use_effect_with(lab, move |lab| {
            if let Some(lab) = lab {
                start.emit(ModelSpec::Export { lab: Box::new((*lab.model).clone()) });
            }
        });
    }
    let (page_, choices, client, ids, start) = (page.clone(), choices.clone(), client.clone(), ids.clone(), start.clone());
    // Keyed by the export job's id: the files are compared by pointer, not byte by byte.
    let exported = page.exported.clone();
    use_effect_with(page.exported.as_ref().map(|e| e.0), move |_| {
        let Some((_, files)) = exported.filter(|(_, f)| !f.is_empty()) else { return };
        let keys: Vec<u64> = {
            let mut ids = ids.borrow_mut();
            files.iter().map(|_| {
                ids.1 += 1;
                ids.1
            })
            .collect()
        };
        let replaced: Vec<u64> = page_.model.iter().map(|m| m.0).chain(page_.arrays.iter().map(|a| a.0)).collect();
        if !replaced.is_empty() {
            client.emit(Input::Forget { keys: replaced });
        }
        for (&key, f) in keys.iter().zip(files.iter()) {
            client.emit(Input::Load { key, data: f.clone() });
        }
        let named: Vec<(u64, String)> = keys.iter().zip(files.iter()).map(|(&k, f)| (k, f.name.clone())).collect();
        // The model first, then its data.
        let Some((model, arrays)) = named.split_first() else { return };
        page_.dispatch(Action::Model(model.0, model.1.clone()));
        page_.dispatch(Action::Arrays(arrays.to_vec()));
        choices.set(super::Choices { feed: Feed::Arrays, batch: LAB_BATCH, ..(*choices).clone() });
        start.emit(ModelSpec::Open { model: model.0 });
    });
}

/// What came from the Lab, and its files to download.
pub fn lab_files_line(files: &Rc<Vec<FileData>>, samples: usize, t: Tr) -> Html {
    let buttons = files.iter().map(|file| {
        let f = file.clone();
        let onclick = Callback::from(move |_: MouseEvent| {
            let mime = if f.name.ends_with(".onnx") { "application/octet-stream" } else { "application/x-npy" };
            // A refused download leaves nothing to undo; the page goes on.
            let _ = crate::ui::download::save(&f.name, mime, &f.bytes);
        });
        html! { <button class="link" {onclick} data-testid="lab-download" data-name={file.name.clone()}>{t.f(M::Download, &[&file.name])}</button> }
    });
    html! {
        <div data-testid="from-lab">
            <p class="hint">{t.f(M::FromLab, &[&samples])}</p>
            <div class="row">{ for buttons }</div>
        </div>
    }
}
