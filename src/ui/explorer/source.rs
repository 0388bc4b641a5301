//! Where the Explorer's tensor comes from: the synthetic generator's settings, or a file opened
//! by picker or drag-and-drop, with its layer browser.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};

use crate::ui::files::{Files, LayerBrowser};
use crate::ui::state::{Source, UrlState, SOURCES};

#[derive(Properties, PartialEq)]
pub struct SourceProps {
    pub url: UrlState,
    pub on_change: Callback<UrlState>,
    pub files: UseStateHandle<Files>,
}

/// Reads `file` in the background; on success makes it the source and picks a tensor.
pub fn open_file(file: web_sys::File, files: UseStateHandle<Files>, url: UrlState, on_change: Callback<UrlState>) {
    let name = file.name();
    files.set(Files { busy: Some(crate::ui::i18n::current().f(E::ReadingFile, &[&name])), error: None, ..(*files).clone() });
    #[cfg(target_arch = "wasm32")]
    yew::platform::spawn_local(async move {
        let before = (*files).clone();
        match crate::ui::files::read::open(file.into(), url.fold_bn).await {
            Ok(open) => {
                let tensor = if open.name == url.file && open.has(&url.tensor) { url.tensor.clone() } else { open.default_tensor().unwrap_or_default() };
                files.set(Files { open: Some(std::rc::Rc::new(open)), generation: before.generation + 1, busy: None, error: None });
                on_change.emit(UrlState { source: Source::File, file: name, tensor, ..url });
            }
            Err(e) => files.set(Files { busy: None, error: Some(e.to_string()), ..before }),
        }
    });
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (url, on_change);
}

#[function_component(SourcePanel)]
pub fn source_panel(props: &SourceProps) -> Html {
    let t = use_tr();
    let url = &props.url;
    let set_source = {
        let (url, cb) = (url.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            if let Some((s, _, _)) = SOURCES.iter().find(|(_, k, _)| *k == v) {
                cb.emit(UrlState { source: *s, ..url.clone() });
            }
        })
    };
    let on_pick = {
        let (files, url, cb) = (props.files.clone(), url.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                open_file(f, files.clone(), url.clone(), cb.clone());
            }
            // Let the same file be picked again after a change.
            input.set_value("");
        })
    };
    let on_drop = {
        let (files, url, cb) = (props.files.clone(), url.clone(), props.on_change.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            if let Some(f) = e.data_transfer().and_then(|d| d.files()).and_then(|l| l.get(0)) {
                open_file(f, files.clone(), url.clone(), cb.clone());
            }
        })
    };
    let on_fold = {
        let (url, cb) = (url.clone(), props.on_change.clone());
        Callback::from(move |e: Event| {
            let fold_bn = e.target_unchecked_into::<HtmlInputElement>().checked();
            cb.emit(UrlState { fold_bn, ..url.clone() });
        })
    };
    let on_choose = {
        let (url, cb, files) = (url.clone(), props.on_change.clone(), props.files.clone());
        Callback::from(move |tensor: String| {
            // A quantized model's tensor opens on its own stored grid.
            let stored = files.open.as_ref().and_then(|f| f.stored.get(&tensor).cloned());
            let next = UrlState { source: Source::File, tensor, ..url.clone() };
            cb.emit(match stored {
                Some(s) => next.with_stored_grid(&s),
                None => next,
            })
        })
    };
    let on_compare = {
        let (url, cb) = (url.clone(), props.on_change.clone());
        Callback::from(move |tensor: String| cb.emit(UrlState { source: Source::File, tensor, compare: true, ..url.clone() }))
    };
    let f = &*props.files;
    let is_onnx = url.file.to_ascii_lowercase().ends_with(".onnx");
    html! {
        <section class="panel source" aria-label={t.s(E::TensorSource)} data-part="source"
                 ondragover={Callback::from(|e: DragEvent| e.prevent_default())} ondrop={on_drop}>
            <div class="panel-head">
                <h2>{t.s(E::TensorSource)}</h2>
                <select aria-label={t.s(E::TensorSource)} data-testid="ctl-source" onchange={set_source}>
                    { for SOURCES.iter().map(|(s, key, label)| html! { <option value={*key} selected={*s == url.source}>{t.s(*label)}</option> }) }
                </select>
            </div>
            if url.source == Source::File {
                <div class="drop" data-testid="drop-zone">
                    <label for="ctl-file">{t.s(E::OpenFileLabel)}</label>
                    <input id="ctl-file" data-testid="ctl-file" type="file" accept=".npy,.npz,.safetensors,.gguf,.onnx" onchange={on_pick} />
                    if is_onnx {
                        <label class="check">
                            <input type="checkbox" data-testid="ctl-fold-bn" checked={url.fold_bn} onchange={on_fold} />
                            {t.s(E::FoldBatchNorm)}
                        </label>
                    }
                </div>
                if let Some(busy) = &f.busy { <p class="hint" role="status" data-testid="file-busy">{busy.clone()}</p> }
                if let Some(error) = &f.error { <p class="error" role="alert" data-testid="file-error">{t.f(E::CannotOpen, &[error])}</p> }
                if let Some(open) = f.open.as_ref().filter(|o| o.name == url.file) {
                    <LayerBrowser file={open.clone()} current={AttrValue::from(url.tensor.clone())} on_choose={on_choose} on_compare={Some(on_compare)} generation={f.generation} />
                }
            }
        </section>
    }
}
