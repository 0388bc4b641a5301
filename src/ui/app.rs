//! The app shell: header, tabs, URL-state notice, the current view and the About panel.

use std::rc::Rc;

use yew::prelude::*;

use super::about::About;
use super::bench::Bench;
use super::explorer::Explorer;
use super::lab::Lab;
use super::learn::Learn;
use super::i18n::{self, Lang, ShellText as S, Tr};
use super::state::{Problem, UrlState, View, VIEWS};

/// The shell's state: the URL state plus the problems of the last hash that was read.
#[derive(Clone, Debug, PartialEq)]
pub struct Shell {
    pub url: UrlState,
    /// Shown as a notice when a hash had parts that could not be used.
    pub problems: Vec<Problem>,
}

/// What can happen to the shell (a few a second at most, so the settings travel unboxed).
#[allow(clippy::large_enum_variant)]
pub enum Action {
    /// The location hash changed (load, reload, back/forward, a pasted link).
    Navigate(String),
    /// A control changed a setting.
    Update(UrlState),
    DismissNotice,
}

impl Shell {
    pub fn from_hash(hash: &str) -> Shell {
        let (url, problems) = UrlState::from_hash(hash);
        Shell { url, problems }
    }
}

/// The notice for `problems`, in `t`'s language; none without problems.
pub fn notice_text(problems: &[Problem], t: Tr) -> Option<String> {
    if problems.is_empty() {
        return None;
    }
    let list: Vec<String> = problems.iter().map(|p| p.render(t.lang())).collect();
    Some(t.f(S::Notice, &[&list.join(t.s(S::ListSeparator))]))
}

impl Reducible for Shell {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        match action {
            Action::Navigate(hash) => {
                let next = Shell::from_hash(&hash);
                // A hash we wrote ourselves parses to the state we have: keep it as is.
                if next.url == self.url && next.problems.is_empty() {
                    return self;
                }
                Rc::new(next)
            }
            Action::Update(url) => Rc::new(Shell { url, problems: self.problems.clone() }),
            Action::DismissNotice => Rc::new(Shell { url: self.url.clone(), problems: Vec::new() }),
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct AppProps {
    /// The location hash at start-up (`#…`), read by the entry point.
    #[prop_or_default]
    pub initial_hash: AttrValue,
    /// The browser's language (`navigator.languages`), used when the link names none.
    #[prop_or_default]
    pub browser_lang: Lang,
}

#[function_component(App)]
pub fn app(props: &AppProps) -> Html {
    let initial = props.initial_hash.clone();
    let shell = use_reducer(move || Shell::from_hash(&initial));
    let about_open = use_state(|| false);
    let files = use_state(super::files::Files::default);
    // The Lab's latest request to open its model in the Model view.
    let lab_model = use_state(|| None::<super::model::lab::LabHandoff>);
    use_hash_sync(&shell);

    let url = &shell.url;
    let lang = url.page.lang.unwrap_or(props.browser_lang);
    let t = Tr(lang);
    use_document_lang(lang);
    let update = {
        let shell = shell.dispatcher();
        Callback::from(move |url: UrlState| shell.dispatch(Action::Update(url)))
    };
    let tabs = VIEWS.iter().filter(|(view, _, _)| view.is_tab()).map(|&(view, key, label)| {
        let href = format!("#{}", UrlState { view, ..url.clone() }.to_hash());
        let selected = url.view == view;
        html! {
            <a role="tab" class={classes!("tab", selected.then_some("selected"))} href={href}
               aria-selected={selected.to_string()} data-testid={format!("tab-{key}")}>
                {t.s(label)}
            </a>
        }
    });
    let choose_lang = {
        let (url, update) = (url.clone(), update.clone());
        Callback::from(move |e: Event| {
            let code = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
            let mut next = url.clone();
            next.page.lang = Lang::from_code(&code);
            update.emit(next);
        })
    };
    let languages = Lang::ALL.iter().map(|&l| html! {
        <option value={l.code()} selected={l == lang} lang={l.html_lang()}>{l.name()}</option>
    });
    let notice = notice_text(&shell.problems, t).map(|text| {
        let dismiss = {
            let shell = shell.dispatcher();
            Callback::from(move |_| shell.dispatch(Action::DismissNotice))
        };
        html! {
            <div class="notice" role="status" data-testid="url-notice">
                <span>{text}</span>
                <button class="link" onclick={dismiss} aria-label={t.s(S::DismissNotice)}>{t.s(S::Dismiss)}</button>
            </div>
        }
    });
    let copy_state = use_state(String::new);
    let copy_link = {
        let copy_state = copy_state.clone();
        Callback::from(move |_: MouseEvent| {
            #[cfg(target_arch = "wasm32")]
            {
                let window = gloo::utils::window();
                let href = window.location().href().unwrap_or_default();
                let promise = window.navigator().clipboard().write_text(&href);
                let copy_state = copy_state.clone();
                yew::platform::spawn_local(async move {
                    copy_state.set(match wasm_bindgen_futures::JsFuture::from(promise).await {
                        Ok(_) => t.s(S::LinkCopied).into(),
                        Err(_) => t.s(S::CopyRefused).into(),
                    });
                });
            }
            #[cfg(not(target_arch = "wasm32"))]
            copy_state.set(String::new());
        })
    };
    let toggle_about = {
        let about_open = about_open.clone();
        Callback::from(move |_| about_open.set(!*about_open))
    };
    // The Model view stays mounted once opened, hidden while another view shows: its model,
    // data and results (and its worker) outlive a visit to the Explorer with an activation.
    let model_opened = use_mut_ref(|| false);
    *model_opened.borrow_mut() |= url.view == View::Model;
    let model_view = model_opened.borrow().then(|| {
        let (on_url, files, update) = (url.clone(), files.clone(), update.clone());
        let on_open = Callback::from(move |o| super::model::explore::open_in_explorer(o, &on_url, &files, &update));
        html! {
            <div class="kept-view" hidden={url.view != View::Model}>
                <super::model::ModelView lab={(*lab_model).clone()} {on_open} />
            </div>
        }
    });
    let view = match url.view {
        View::Explorer => html! { <Explorer url={url.clone()} on_change={update} files={files.clone()} /> },
        View::Lab => html! { <Lab url={url.clone()} on_change={update.clone()} files={files.clone()} lab_model={lab_model.clone()} /> },
        View::Model => html! {},
        View::Learn => html! { <Learn url={url.clone()} on_change={update.clone()} /> },
        View::Bench => html! { <Bench /> },
    };

    html! {
        <ContextProvider<Tr> context={t}>
        <div class={classes!("shell", url.page.hidden.classes())} lang={lang.html_lang()}>
            <header class="topbar" data-part="header">
                <div class="brand">
                    <span class="logo" aria-hidden="true">{"▦"}</span>
                    <h1>{"QuantScope"}</h1>
                    <span class="tagline">{t.s(S::Tagline)}</span>
                </div>
                <nav class="tabs" role="tablist" aria-label={t.s(S::ViewsLabel)}>{ for tabs }</nav>
                <select class="lang" onchange={choose_lang} aria-label={t.s(S::Language)} data-testid="lang">{ for languages }</select>
                <button class="about-toggle" onclick={copy_link} data-testid="copy-link"
                        title={t.s(S::CopyLinkTitle)}>{t.s(S::CopyLink)}</button>
                <span class="copy-status" role="status" data-testid="copy-status">{(*copy_state).clone()}</span>
                <button class="about-toggle" onclick={toggle_about.clone()} aria-expanded={about_open.to_string()}
                        data-testid="about-toggle">{t.s(S::About)}</button>
            </header>
            { for notice }
            if *about_open { <About on_close={toggle_about} /> }
            <main id="view" data-view={super::state::choice_key(VIEWS, &url.view)}>{view}{ for model_view }</main>
        </div>
        </ContextProvider<Tr>>
    }
}

/// Keeps the document's `lang` attribute (fonts, screen readers, hyphenation) and the language of
/// the code outside the components in step with the page's language.
#[hook]
fn use_document_lang(lang: Lang) {
    i18n::set_current(lang);
    use_effect_with(lang, |lang| set_document_lang(*lang));
}

fn set_document_lang(lang: Lang) {
    #[cfg(target_arch = "wasm32")]
    if let Some(root) = gloo::utils::document().document_element() {
        let _ = root.set_attribute("lang", lang.html_lang());
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = lang;
}

/// Keeps the shell and `location.hash` in step: reads the hash on `hashchange` and writes the
/// canonical hash of the state with `history.replaceState` (no extra history entry per slider move).
#[hook]
fn use_hash_sync(shell: &UseReducerHandle<Shell>) {
    #[cfg(target_arch = "wasm32")]
    {
        let dispatcher = shell.dispatcher();
        use_effect_with((), move |_| {
            let listener = gloo::events::EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                let hash = gloo::utils::window().location().hash().unwrap_or_default();
                dispatcher.dispatch(Action::Navigate(hash));
            });
            move || drop(listener)
        });
        use_effect_with(shell.url.clone(), |url| {
            let want = format!("#{}", url.to_hash());
            let window = gloo::utils::window();
            if window.location().hash().ok().as_deref() != Some(want.as_str()) {
                if let Ok(history) = window.history() {
                    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&want));
                }
            }
        });
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = shell;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigate_to_malformed_hash_sets_notice_and_defaults() {
        let shell = Rc::new(Shell::from_hash("#view=lab"));
        let next = shell.reduce(Action::Navigate("#view=nowhere".into()));
        assert_eq!(next.url, UrlState::default());
        assert!(notice_text(&next.problems, Tr(Lang::En)).unwrap().contains("view=nowhere"));
        assert!(notice_text(&next.problems, Tr(Lang::Zh)).unwrap().starts_with("链接中的部分设置无法使用"));
        let cleared = next.reduce(Action::DismissNotice);
        assert_eq!(notice_text(&cleared.problems, Tr(Lang::En)), None);
    }
}
