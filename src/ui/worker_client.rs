//! The page's end of the worker: one worker per component that uses it, spawned on first use
//! and ended when the component goes. A worker that cannot start or stops (its script missing,
//! a trap in its code) fails the job it was given, with a message, and the next input spawns a
//! new one: the page never waits for a worker that is gone.

use yew::prelude::*;

use crate::worker::{WorkerInput, WorkerOutput};

/// A callback that sends inputs to the worker (one per component), spawning it on first use, and
/// hands its outputs to `on_output` (the latest one given). Off the browser (SSR) it does nothing.
#[hook]
pub fn use_worker_client(on_output: Callback<WorkerOutput>) -> Callback<WorkerInput> {
    #[cfg(target_arch = "wasm32")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;

        let listener = use_mut_ref(|| on_output.clone());
        *listener.borrow_mut() = on_output;
        let client: Rc<RefCell<Option<web::Client>>> = use_mut_ref(|| None);
        {
            let client = client.clone();
            use_effect_with((), move |_| move || drop(client.borrow_mut().take()));
        }
        use_callback((), move |input: WorkerInput, _| {
            let mut c = client.borrow_mut();
            if c.as_ref().is_some_and(web::Client::is_gone) {
                *c = None;
            }
            if c.is_none() {
                match web::Client::spawn(listener.clone()) {
                    Ok(spawned) => *c = Some(spawned),
                    Err(e) => return listener.borrow().emit(WorkerOutput::Failed { id: 0, message: e }),
                }
            }
            c.as_mut().expect("spawned just above").send(input);
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = on_output;
        Callback::noop()
    }
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::prelude::*;
    use web_sys::{ErrorEvent, Event, MessageEvent, Worker};
    use yew::Callback;

    use crate::ui::i18n::ShellText as S;
    use crate::worker::{wire, WorkerInput, WorkerOutput, WORKER_PATH};

    /// A running worker: inputs wait until it says it is ready.
    pub struct Client {
        worker: Worker,
        queue: Rc<RefCell<Option<Vec<WorkerInput>>>>,
        /// The last job started, which a worker that stops takes down with it.
        started: Rc<Cell<Option<u64>>>,
        /// Whether the worker could not start or has stopped.
        gone: Rc<Cell<bool>>,
        _on_message: Closure<dyn Fn(MessageEvent)>,
        _on_error: Closure<dyn Fn(Event)>,
    }

    impl Client {
        pub fn spawn(listener: Rc<RefCell<Callback<WorkerOutput>>>) -> Result<Client, String> {
            let worker = Worker::new(WORKER_PATH).map_err(|e| crate::ui::i18n::current().f(S::WorkerCannotStart, &[&format!("{e:?}")]))?;
            let queue: Rc<RefCell<Option<Vec<WorkerInput>>>> = Rc::new(RefCell::new(Some(Vec::new())));
            let on_message = {
                let (queue, worker, listener) = (queue.clone(), worker.clone(), listener.clone());
                Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| match wire::receive::<WorkerOutput>(&e.data()) {
                    Ok(WorkerOutput::Ready) => {
                        for input in queue.borrow_mut().take().unwrap_or_default() {
                            if let Err(e) = wire::post(&worker, input) {
                                gloo::console::error!(format!("QuantScope: {e}"));
                            }
                        }
                    }
                    Ok(out) => listener.borrow().emit(out),
                    Err(e) => gloo::console::error!(format!("QuantScope: a message from the worker: {e}")),
                })
            };
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            let (started, gone) = (Rc::new(Cell::new(None)), Rc::new(Cell::new(false)));
            let on_error = {
                let (started, gone) = (started.clone(), gone.clone());
                // An ErrorEvent with a message for an error thrown in the worker (a trap); a
                // plain Event when its script could not be loaded.
                Closure::<dyn Fn(Event)>::new(move |e: Event| {
                    e.prevent_default();
                    gone.set(true);
                    let what = e.dyn_ref::<ErrorEvent>().map(|e| e.message()).filter(|m| !m.is_empty());
                    let message = match what {
                        Some(m) => crate::ui::i18n::current().f(S::WorkerStoppedWith, &[&m]),
                        None => crate::ui::i18n::current().s(S::WorkerStopped).to_string(),
                    };
                    listener.borrow().emit(WorkerOutput::Failed { id: started.get().unwrap_or(0), message: crate::ui::i18n::current().f(S::WorkerRestarts, &[&message]) });
                })
            };
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Ok(Client { worker, queue, started, gone, _on_message: on_message, _on_error: on_error })
        }

        /// Whether the worker could not start or has stopped (a new one is needed).
        pub fn is_gone(&self) -> bool {
            self.gone.get()
        }

        pub fn send(&mut self, input: WorkerInput) {
            if let WorkerInput::Start { id, .. } = input {
                self.started.set(Some(id));
            }
            if let Some(q) = self.queue.borrow_mut().as_mut() {
                return q.push(input);
            }
            if let Err(e) = wire::post(&self.worker, input) {
                gloo::console::error!(format!("QuantScope: {e}"));
            }
        }
    }

    impl Drop for Client {
        fn drop(&mut self) {
            self.worker.terminate();
        }
    }
}
