//! A panic in wasm stops the app: the hook logs it and shows a visible banner instead of a page
//! that silently stops responding.

/// Id of the banner element, for styling and tests.
pub const BANNER_ID: &str = "error-banner";

/// The text of the banner for a panic message.
pub fn banner_text(message: &str) -> String {
    super::i18n::current().f(super::i18n::ShellText::PanicBanner, &[&message])
}

/// Installs the panic hook (browser only; native code keeps Rust's default hook). It goes through
/// `yew::set_custom_panic_hook`, since Yew's renderer replaces any hook set with `std::panic`.
pub fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    yew::set_custom_panic_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = match info.payload().downcast_ref::<&str>() {
            Some(s) => s.to_string(),
            None => info.payload().downcast_ref::<String>().cloned().unwrap_or_else(|| super::i18n::current().s(super::i18n::ShellText::UnknownPanic).into()),
        };
        show_error_banner(&banner_text(&message));
    }));
}

/// Puts `text` in a fixed banner at the top of the page, creating it if needed. Works without
/// Yew, whose state may be broken after a panic.
#[cfg(target_arch = "wasm32")]
pub fn show_error_banner(text: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let banner = match document.get_element_by_id(BANNER_ID) {
        Some(el) => el,
        None => {
            let Ok(el) = document.create_element("div") else { return };
            el.set_id(BANNER_ID);
            let _ = el.set_attribute("role", "alert");
            let _ = el.set_attribute("data-testid", BANNER_ID);
            if let Some(body) = document.body() {
                let _ = body.prepend_with_node_1(&el);
            }
            el
        }
    };
    banner.set_text_content(Some(text));
}
