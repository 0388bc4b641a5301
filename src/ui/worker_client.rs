//! The page's end of the worker: a bridge per component that uses it.

use yew::prelude::*;

use crate::worker::{WorkerInput, WorkerOutput};

/// A callback that sends inputs to the worker (one per component), spawning it on first use, and
/// hands its outputs to `on_output`. Off the browser (SSR) it does nothing.
#[hook]
pub fn use_worker_client(on_output: Callback<WorkerOutput>) -> Callback<WorkerInput> {
    #[cfg(target_arch = "wasm32")]
    {
        use std::cell::RefCell;
        use std::rc::Rc;
        use std::pin::Pin;

        use futures::StreamExt;
        use yew_agent::reactor::{ReactorBridge, ReactorSpawner};

        use crate::worker::{JobReactor, WORKER_PATH};

        type Bridge = Rc<RefCell<Option<Pin<Box<ReactorBridge<JobReactor>>>>>>;
        let bridge: Bridge = use_mut_ref(|| None);
        use_callback(on_output, move |input: WorkerInput, on_output| {
            if bridge.borrow().is_none() {
                let spawned = Box::pin(ReactorSpawner::<JobReactor>::new().with_loader(true).spawn(WORKER_PATH));
                *bridge.borrow_mut() = Some(spawned);
                let (bridge, on_output) = (bridge.clone(), on_output.clone());
                yew::platform::spawn_local(async move {
                    // Borrow only inside each poll, so sending stays possible between outputs.
                    let next = || futures::future::poll_fn(|cx| match bridge.borrow_mut().as_mut() {
                        Some(b) => b.poll_next_unpin(cx),
                        None => std::task::Poll::Ready(None),
                    });
                    while let Some(out) = next().await {
                        on_output.emit(out);
                    }
                });
            }
            if let Some(b) = bridge.borrow().as_ref() {
                b.send_input(input);
            }
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = on_output;
        Callback::noop()
    }
}
