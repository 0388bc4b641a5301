//! The page's end of the worker: one worker per component that uses it, spawned on first use
//! and ended when the component goes. A worker that cannot start or stops (its script missing,
//! a trap in its code) fails the job it was given, with a message, and the next input spawns a
//! new one: the page never waits for a worker that is gone.

use yew::prelude::*;

use crate::worker::{wire::Carries, Input, Output, WorkerInput, WorkerOutput, WORKER_PATH};

/// A callback that sends inputs to the app's worker (one per component), spawning it on first
/// use, and hands its outputs to `on_output` (the latest one given). Off the browser (SSR) it
/// does nothing.
#[hook]
pub fn use_worker_client(on_output: Callback<WorkerOutput>) -> Callback<WorkerInput> {
    use_client(WORKER_PATH, false, on_output)
}

/// The same for any worker: the one whose loader is at `path`, speaking `Input<S, L>` and
/// `Output<P, R>`. With `replay`, data handed over (`Load`) is kept and handed to a worker
/// spawned after the last one stopped, so that jobs naming it still find it. (The app's worker
/// does without: the Explorer hands its tensor over again when a job fails.)
#[hook]
pub fn use_client<S, L, P, R>(path: &'static str, replay: bool, on_output: Callback<Output<P, R>>) -> Callback<Input<S, L>>
where
    S: Clone + serde::Serialize + 'static,
    L: Clone + Carries + serde::Serialize + 'static,
    P: serde::de::DeserializeOwned + 'static,
    R: Carries + serde::de::DeserializeOwned + 'static,
{
    #[cfg(target_arch = "wasm32")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;

        let listener = use_mut_ref(|| on_output.clone());
        *listener.borrow_mut() = on_output;
        let client: Rc<RefCell<Option<web::Client<S, L, P, R>>>> = use_mut_ref(|| None);
        {
            let client = client.clone();
            use_effect_with((), move |_| move || drop(client.borrow_mut().take()));
        }
        let loaded: Rc<RefCell<Vec<Input<S, L>>>> = use_mut_ref(Vec::new);
        use_callback((), move |input: Input<S, L>, _| {
            let mut c = client.borrow_mut();
            if c.as_ref().is_some_and(web::Client::is_gone) {
                *c = None;
            }
            if c.is_none() {
                match web::Client::spawn(path, listener.clone()) {
                    Ok(mut spawned) => {
                        for load in loaded.borrow().iter() {
                            spawned.send(load.clone());
                        }
                        *c = Some(spawned);
                    }
                    Err(e) => return listener.borrow().emit(Output::Failed { id: 0, message: e }),
                }
            }
            match &input {
                Input::Forget { keys } => loaded.borrow_mut().retain(|l| !matches!(l, Input::Load { key, .. } if keys.contains(key))),
                Input::Load { key, .. } if replay => {
                    let mut kept = loaded.borrow_mut();
                    kept.retain(|l| !matches!(l, Input::Load { key: k, .. } if k == key));
                    kept.push(input.clone());
                }
                _ => {}
            }
            c.as_mut().expect("spawned just above").send(input);
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (path, replay, on_output);
        Callback::noop()
    }
}

/// Asks a worker of its own for one job's result: spawns the worker whose loader is at `path`,
/// hands it `inputs` (data to `Load`, then a `Start`), and ends it once the job is done or has
/// failed (a worker that stops fails it, with a message).
#[cfg(target_arch = "wasm32")]
pub async fn ask<S, L, P, R>(path: &'static str, inputs: Vec<Input<S, L>>) -> Result<R, String>
where
    S: serde::Serialize + 'static,
    L: Carries + serde::Serialize + 'static,
    P: serde::de::DeserializeOwned + 'static,
    R: Carries + serde::de::DeserializeOwned + 'static,
{
    use std::cell::RefCell;
    use std::rc::Rc;

    let (tx, rx) = futures::channel::oneshot::channel();
    let tx = RefCell::new(Some(tx));
    let listener = Rc::new(RefCell::new(Callback::from(move |out: Output<P, R>| {
        let answer = match out {
            Output::Done { result, .. } => Ok(result),
            Output::Failed { message, .. } => Err(message),
            _ => return,
        };
        if let Some(tx) = tx.borrow_mut().take() {
            let _ = tx.send(answer);
        }
    })));
    let mut client = web::Client::<S, L, P, R>::spawn(path, listener)?;
    for input in inputs {
        client.send(input);
    }
    let answer = rx.await.map_err(|_| crate::ui::i18n::current().s(crate::ui::i18n::ShellText::WorkerStopped).to_string())?;
    drop(client);
    answer
}

#[cfg(target_arch = "wasm32")]
mod web {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use wasm_bindgen::prelude::*;
    use web_sys::{ErrorEvent, Event, MessageEvent, Worker};
    use yew::Callback;

    use crate::ui::i18n::ShellText as T;
    use crate::worker::{wire, Input, Output};

    /// A running worker: inputs wait until it says it is ready.
    pub struct Client<S, L, P, R> {
        worker: Worker,
        queue: Rc<RefCell<Option<Vec<Input<S, L>>>>>,
        /// The last job started, which a worker that stops takes down with it.
        started: Rc<Cell<Option<u64>>>,
        /// Whether the worker could not start or has stopped.
        gone: Rc<Cell<bool>>,
        _on_message: Closure<dyn Fn(MessageEvent)>,
        _on_error: Closure<dyn Fn(Event)>,
        _output: std::marker::PhantomData<(P, R)>,
    }

    impl<S, L, P, R> Client<S, L, P, R>
    where
        S: serde::Serialize + 'static,
        L: wire::Carries + serde::Serialize + 'static,
        P: serde::de::DeserializeOwned + 'static,
        R: wire::Carries + serde::de::DeserializeOwned + 'static,
    {
        pub fn spawn(path: &str, listener: Rc<RefCell<Callback<Output<P, R>>>>) -> Result<Self, String> {
            let worker = Worker::new(path).map_err(|e| crate::ui::i18n::current().f(T::WorkerCannotStart, &[&format!("{e:?}")]))?;
            let queue: Rc<RefCell<Option<Vec<Input<S, L>>>>> = Rc::new(RefCell::new(Some(Vec::new())));
            let on_message = {
                let (queue, worker, listener) = (queue.clone(), worker.clone(), listener.clone());
                Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| match wire::receive::<Output<P, R>>(&e.data()) {
                    Ok(Output::Ready) => {
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
                        Some(m) => crate::ui::i18n::current().f(T::WorkerStoppedWith, &[&m]),
                        None => crate::ui::i18n::current().s(T::WorkerStopped).to_string(),
                    };
                    listener
                        .borrow()
                        .emit(Output::Failed { id: started.get().unwrap_or(0), message: crate::ui::i18n::current().f(T::WorkerRestarts, &[&message]) });
                })
            };
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            Ok(Client { worker, queue, started, gone, _on_message: on_message, _on_error: on_error, _output: std::marker::PhantomData })
        }

        /// Whether the worker could not start or has stopped (a new one is needed).
        pub fn is_gone(&self) -> bool {
            self.gone.get()
        }

        pub fn send(&mut self, input: Input<S, L>) {
            if let Input::Start { id, .. } = input {
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

    impl<S, L, P, R> Drop for Client<S, L, P, R> {
        fn drop(&mut self) {
            self.worker.terminate();
        }
    }
}
