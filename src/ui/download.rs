//! Saving what the user exports (CSV, JSON, `.npy`, PNG): a download made in the page from bytes
//! it already has; nothing is sent anywhere.

/// Offers `bytes` as a download named `name`.
#[cfg(target_arch = "wasm32")]
pub fn save(name: &str, mime: &str, bytes: &[u8]) -> Result<(), String> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let result = click_link(name, &url);
    // The download has started from the object URL; it is not needed after this task.
    let revoke = url.clone();
    gloo::timers::callback::Timeout::new(1_000, move || {
        let _ = web_sys::Url::revoke_object_url(&revoke);
    })
    .forget();
    result
}

/// Offers the picture on `canvas` as a PNG download named `name`.
#[cfg(target_arch = "wasm32")]
pub fn save_canvas(name: &str, canvas: &web_sys::HtmlCanvasElement) -> Result<(), String> {
    let url = canvas.to_data_url_with_type("image/png").map_err(|e| format!("{e:?}"))?;
    click_link(name, &url)
}

#[cfg(target_arch = "wasm32")]
fn click_link(name: &str, href: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let document = gloo::utils::document();
    let a: web_sys::HtmlAnchorElement = document.create_element("a").map_err(|e| format!("{e:?}"))?.unchecked_into();
    a.set_href(href);
    a.set_download(name);
    let body = document.body().ok_or_else(|| crate::ui::i18n::current().s(crate::ui::i18n::ShellText::NoDocumentBody).to_string())?;
    body.append_child(&a).map_err(|e| format!("{e:?}"))?;
    a.click();
    let _ = body.remove_child(&a);
    Ok(())
}

/// Off the browser there is nowhere to save to.
#[cfg(not(target_arch = "wasm32"))]
pub fn save(_name: &str, _mime: &str, _bytes: &[u8]) -> Result<(), String> {
    Err(crate::ui::i18n::current().s(crate::ui::i18n::ShellText::NeedsBrowser).into())
}
