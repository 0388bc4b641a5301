//! Where the Explorer's numbers are computed: on the page when a request fits in a frame
//! ([`INLINE_MS`]), otherwise in the worker, newest request first, with progress and cancel.
//! While the worker works, the last result stays on screen (dimmed) with a progress bar.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::ExplorerText as E;

use super::INLINE_MS;
use crate::engine::quantizer::qparams::QParams;
use crate::engine::tensor::Tensor;
use crate::engine::views::explore::session::{ExploreRequest, Explored, Session, Stage, TensorSource};
use crate::engine::views::explore::Settings;
use crate::engine::views::jobs::{JobResult, JobSpec};
use crate::ui::state::UrlState;
use crate::worker::{WorkerInput, WorkerOutput};

/// A result on screen, with the request and URL it answers.
#[derive(Debug, PartialEq)]
pub struct Shown {
    pub request: ExploreRequest,
    pub url: UrlState,
    pub result: Result<Explored, String>,
    /// The tensor, when the page holds it (computed on the page): for the `.npy` export.
    pub tensor: Option<Rc<Tensor>>,
}

/// A request the worker is working on.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    pub id: u64,
    pub request: ExploreRequest,
    pub url: UrlState,
    pub done: usize,
    pub total: usize,
    pub stage: Option<Stage>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Compute {
    pub pending: Option<Pending>,
    pub shown: Option<Rc<Shown>>,
    /// The id of the latest job sent (outputs of older ones are ignored).
    next_id: u64,
}

/// (A few a second at most, so the worker's outputs travel unboxed.)
#[allow(clippy::large_enum_variant)]
pub enum Action {
    Started(Pending),
    Output(WorkerOutput),
    Inline(Rc<Shown>),
    Cancelled,
    /// An id taken for a job that is not the view's (an export).
    Reserved(u64),
}

impl Reducible for Compute {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = Compute { pending: self.pending.clone(), shown: self.shown.clone(), next_id: self.next_id };
        match action {
            Action::Started(p) => {
                next.next_id = p.id;
                next.pending = Some(p);
            }
            Action::Inline(shown) => {
                next.pending = None;
                next.shown = Some(shown);
            }
            Action::Cancelled => next.pending = None,
            Action::Reserved(id) => next.next_id = id,
            Action::Output(out) => {
                let Some(p) = self.pending.as_ref() else {
                    return self;
                };
                match out {
                    WorkerOutput::Progress { id, done, total, detail } if id == p.id => {
                        next.pending = Some(Pending { done, total, stage: detail.stage, ..p.clone() });
                    }
                    WorkerOutput::Done { id, result: JobResult::Explored(e) } if id == p.id => {
                        next.pending = None;
                        next.shown = Some(Rc::new(Shown { request: p.request.clone(), url: p.url.clone(), result: Ok(*e), tensor: None }));
                    }
                    WorkerOutput::Failed { id, message } if id == p.id => {
                        next.pending = None;
                        next.shown = Some(Rc::new(Shown { request: p.request.clone(), url: p.url.clone(), result: Err(message), tensor: None }));
                    }
                    _ => return self,
                }
            }
        }
        Rc::new(next)
    }
}

/// The grid to draw at once while `pending` is computed, when all it changes from `shown` is the
/// range set by hand (a clip end being dragged on a tensor the worker holds): the histogram
/// follows the pointer at once, the readouts follow the worker.
pub fn manual_preview(shown: &ExploreRequest, pending: &ExploreRequest) -> Option<QParams> {
    let unset = |s: &Settings| Settings { manual: None, ..*s };
    let only_manual = shown.source == pending.source
        && shown.channels == pending.channels
        && shown.dynamics == pending.dynamics
        && unset(&shown.settings) == unset(&pending.settings);
    only_manual.then(|| pending.settings.manual_grid()?.ok()).flatten()
}

/// What the Explorer draws: the result to show, the work under way, and how to stop it.
pub struct Computed {
    pub shown: Option<Rc<Shown>>,
    /// Work under way whose result is not on screen yet.
    pub pending: Option<Pending>,
    pub cancel: Callback<()>,
    /// Saves the fake-quantized tensor of the shown view as `.npy` under the given file name.
    pub save_npy: Callback<String>,
    /// What the last save said.
    pub save_status: String,
}

/// Computes `request` for `url` (with the file tensor `upload`, if the source is a file's), on
/// the page or in the worker; `revert` is told the URL of the shown result when work is
/// cancelled, so the controls and the view agree again.
#[hook]
pub fn use_compute(request: Option<ExploreRequest>, url: &UrlState, upload: Option<Rc<Tensor>>, revert: Callback<UrlState>) -> Computed {
    let state = use_reducer(Compute::default);
    let save_status = use_state(String::new);
    let saving: Rc<RefCell<Option<(u64, String)>>> = use_mut_ref(|| None);
    // The key of the file tensor the worker holds.
    let loaded = use_mut_ref(|| None::<u64>);
    let client = {
        let (dispatch, saving, save_status, loaded) = (state.dispatcher(), saving.clone(), save_status.clone(), loaded.clone());
        crate::ui::worker_client::use_worker_client(Callback::from(move |out: WorkerOutput| {
            // After a failure the worker may be a new one, without the tensor: hand it over again.
            if matches!(out, WorkerOutput::Failed { .. }) {
                *loaded.borrow_mut() = None;
            }
            let wanted = saving.borrow().clone();
            match (&out, wanted) {
                (WorkerOutput::Done { id, result: JobResult::Npy { bytes } }, Some((sid, name))) if *id == sid => {
                    save_status.set(match crate::ui::download::save(&name, "application/octet-stream", bytes) {
                        Ok(()) => crate::ui::i18n::current().f(E::Saved, &[&name]),
                        Err(e) => crate::ui::i18n::current().f(E::CannotSave, &[&name, &e]),
                    });
                }
                (WorkerOutput::Failed { id, message }, Some((sid, name))) if *id == sid => {
                    save_status.set(crate::ui::i18n::current().f(E::CannotSave, &[&name, message]))
                }
                _ => dispatch.dispatch(Action::Output(out)),
            }
        }))
    };
    let session = use_mut_ref(Session::default);
    let len = request.as_ref().map_or(0, |r| match r.source {
        TensorSource::Synthetic(spec) => spec.shape().iter().product(),
        TensorSource::Loaded { .. } => upload.as_ref().map_or(0, |t| t.data.len()),
    });
    let heavy = request.as_ref().is_some_and(|r| r.estimated_ms(len) > INLINE_MS);

    // On the page: computed while rendering (so server-side rendering shows it too).
    let inline = {
        let (session, upload, url) = (session.clone(), upload.clone(), url.clone());
        use_memo((request.clone(), heavy), move |(request, heavy)| {
            let request = request.as_ref().filter(|_| !heavy)?;
            let mut s = session.borrow_mut();
            if let (TensorSource::Loaded { key }, Some(t)) = (request.source, upload) {
                s.load(key, t);
            }
            let result = s.run(request);
            Some(Rc::new(Shown { request: request.clone(), url, tensor: s.tensor(&request.source), result }))
        })
    };
    {
        let dispatch = state.dispatcher();
        use_effect_with(inline.clone(), move |inline| {
            if let Some(shown) = inline.as_ref() {
                dispatch.dispatch(Action::Inline(shown.clone()));
            }
        });
    }
    // In the worker: started when the request changes, unless its answer is on screen.
    {
        let (state, client, url, upload, loaded) = (state.clone(), client.clone(), url.clone(), upload.clone(), loaded.clone());
        use_effect_with((request.clone(), heavy), move |(request, heavy)| {
            let Some(request) = request.as_ref().filter(|_| *heavy) else {
                return;
            };
            let answered = state.shown.as_ref().is_some_and(|s| s.request == *request);
            let working = state.pending.as_ref().is_some_and(|p| p.request == *request);
            if answered || working {
                return;
            }
            if let (TensorSource::Loaded { key }, Some(t)) = (request.source, upload) {
                if *loaded.borrow() != Some(key) {
                    client.emit(WorkerInput::Load { key, data: (*t).clone() });
                    *loaded.borrow_mut() = Some(key);
                }
            }
            let id = state.next_id + 1;
            client.emit(WorkerInput::Start { id, spec: JobSpec::Explore { request: request.clone() } });
            state.dispatch(Action::Started(Pending { id, request: request.clone(), url, done: 0, total: 1, stage: None }));
        });
    }

    let (shown, pending) = match inline.as_ref() {
        Some(s) => (Some(s.clone()), None),
        None => {
            let current = state.shown.clone().filter(|s| request.as_ref() == Some(&s.request));
            match current {
                Some(s) => (Some(s), None),
                // Heavy and not answered yet: the last result, with the work under way (or about
                // to start: the effect above runs after this render).
                None if heavy => (
                    state.shown.clone(),
                    Some(state.pending.clone().unwrap_or_else(|| Pending {
                        id: 0,
                        request: request.clone().expect("heavy implies a request"),
                        url: url.clone(),
                        done: 0,
                        total: 1,
                        stage: None,
                    })),
                ),
                None => (None, None),
            }
        }
    };
    let cancel = {
        let (state, client, revert) = (state.clone(), client.clone(), revert.clone());
        Callback::from(move |()| {
            if let Some(p) = state.pending.as_ref() {
                client.emit(WorkerInput::Cancel { id: p.id });
            }
            state.dispatch(Action::Cancelled);
            if let Some(s) = state.shown.as_ref() {
                revert.emit(s.url.clone());
            }
        })
    };
    let save_npy = {
        let (shown, client, save_status, state) = (shown.clone(), client, save_status.clone(), state.clone());
        Callback::from(move |name: String| {
            let Some(s) = shown.as_ref() else { return };
            let Ok(e) = &s.result else { return };
            let Ok(v) = &e.view else { return };
            match &s.tensor {
                Some(t) => {
                    let bytes = crate::engine::views::export::fake_quantized_npy(&t.data, &t.shape, &s.request.settings, &v.qparams, v.range);
                    save_status.set(
                        match bytes
                            .map_err(|e| e.to_string())
                            .and_then(|b| crate::ui::download::save(&name, "application/octet-stream", &b).map_err(|e| e.to_string()))
                        {
                            Ok(()) => crate::ui::i18n::current().f(E::Saved, &[&name]),
                            Err(e) => crate::ui::i18n::current().f(E::CannotSave, &[&name, &e]),
                        },
                    );
                }
                None => {
                    // The worker holds the tensor: it quantizes and hands the file back.
                    let id = state.next_id + 1;
                    state.dispatch(Action::Reserved(id));
                    *saving.borrow_mut() = Some((id, name.clone()));
                    save_status.set(crate::ui::i18n::current().f(E::Saving, &[&name]));
                    client.emit(WorkerInput::Start { id, spec: JobSpec::Quantized { request: s.request.clone() } });
                }
            }
        })
    };
    Computed { shown, pending, cancel, save_npy, save_status: (*save_status).clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::quantizer::qparams::{calculate_qparams, QRange, QScheme};
    use crate::ui::state::UrlState;

    #[test]
    fn a_range_set_by_hand_is_previewed_and_nothing_else() {
        let url = UrlState { n: 10_000_000, ..UrlState::default() };
        let request = |u: &UrlState| u.explore_request(TensorSource::Synthetic(u.synth_spec()), &u.shape(), crate::ui::explorer::BINS);
        let shown = request(&url);
        let dragged = UrlState { lo: Some(-2.0), hi: Some(3.0), ..url.clone() };
        assert_eq!(manual_preview(&shown, &request(&dragged)), Some(calculate_qparams(-2.0, 3.0, QScheme::Affine, QRange::QUINT8)));
        let other_observer = UrlState { observer: crate::ui::state::ObsKind::Mse, ..dragged.clone() };
        assert_eq!(manual_preview(&shown, &request(&other_observer)), None, "the grid depends on more than the dragged ends");
        assert_eq!(manual_preview(&shown, &request(&UrlState { seed: 1, ..dragged.clone() })), None, "another tensor");
        assert_eq!(manual_preview(&shown, &request(&UrlState { lo: Some(4.0), hi: Some(3.0), ..url.clone() })), None, "no grid to draw");
        assert_eq!(manual_preview(&shown, &shown), None, "nothing set by hand");
    }
}
