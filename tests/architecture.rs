//! The engine is pure Rust: no web crate may appear anywhere under src/engine/, so the same code
//! runs natively (CLI, tests, benchmarks) and in the browser.

use std::fs;
use std::path::{Path, PathBuf};

/// Crates that tie code to the browser or the UI.
const FORBIDDEN: &[&str] = &["yew", "web_sys", "wasm_bindgen", "js_sys", "gloo", "plotters_canvas", "plotters"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src/engine exists") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where `text` names crate `name` as a path root (`name::`, `use name`, `extern crate name`),
/// outside comments.
fn mentions(text: &str, name: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.split("//").next().unwrap_or("");
            code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).any(|tok| {
                tok == name || tok.starts_with(&format!("{name}::")) || tok.starts_with(&format!("::{name}::"))
            })
        })
        .map(|(i, _)| i + 1)
        .collect()
}

#[test]
fn engine_has_no_web_imports() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"), &mut files);
    assert!(files.len() >= 5, "expected the engine's modules, found {files:?}");
    let mut offences = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for name in FORBIDDEN {
            for line in mentions(&text, name) {
                offences.push(format!("{}:{line} uses `{name}`", file.display()));
            }
        }
    }
    assert!(offences.is_empty(), "src/engine must stay pure Rust:\n{}", offences.join("\n"));
}

#[test]
fn the_scanner_catches_imports() {
    assert_eq!(mentions("use web_sys::Window;", "web_sys"), [1]);
    assert_eq!(mentions("fn f() {}\nlet x = ::yew::html!{};", "yew"), [2]);
    assert_eq!(mentions("use plotters::prelude::*;", "plotters"), [1]);
    assert!(mentions("// yew is not used here", "yew").is_empty());
    assert!(mentions("let yewtree = 1;", "yew").is_empty());
}

/// Methods of `f32`/`f64` that call the platform's maths library: glibc natively, Rust's own
/// port in the browser. Their results can differ in the last bit, and a last bit is enough for
/// the CLI and the page to disagree (a channel scale one ulp off moved an MSE readout in its
/// fifth digit). The engine calls `libm` instead: one implementation on every target.
const PLATFORM_MATHS: &[&str] = &["ln", "log", "log2", "log10", "exp", "exp2", "exp_m1", "ln_1p", "powf", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "atan2", "cbrt", "hypot"];

/// Where `text`'s code (outside comments and its `#[cfg(test)]` part) calls one of
/// [`PLATFORM_MATHS`], as a method or as `f32::name(…)`.
fn platform_maths(text: &str) -> Vec<(usize, &'static str)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        for name in PLATFORM_MATHS {
            if [format!(".{name}("), format!("f32::{name}("), format!("f64::{name}(")].iter().any(|call| line.contains(call.as_str())) {
                found.push((i + 1, *name));
            }
        }
    }
    found
}

#[test]
fn engine_maths_is_the_same_on_every_target() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/engine"), &mut files);
    // A module's tests in a file of their own (`#[cfg(test)] mod tests;`) are tests too.
    let offences: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("tests.rs"))
        .flat_map(|file| platform_maths(&fs::read_to_string(file).unwrap()).into_iter().map(move |(line, name)| format!("{}:{line} calls .{name}(): use libm::", file.display())))
        .collect();
    assert!(offences.is_empty(), "src/engine must not use the platform's maths library:\n{}", offences.join("\n"));
    assert_eq!(platform_maths("let y = x.ln();\nlet z = libm::log(x); // x.exp()\nlet w = f32::powf(a, b);"), [(1, "ln"), (3, "powf")]);
    assert_eq!(platform_maths("fn f() {}\n#[cfg(test)]\nmod tests { let a = b.powf(2.0); }"), []);
}

/// The URL reference (docs/url-state.md) lists every field of the one table in
/// `src/ui/state/fields.rs`, every embed key and the language key.
#[test]
fn the_url_reference_documents_every_key() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/url-state.md")).unwrap();
    for field in quantscope::ui::state::FIELDS {
        assert!(doc.contains(&format!("`{}`", field.key)), "docs/url-state.md lacks `{}`", field.key);
    }
    for part in quantscope::ui::state::PARTS {
        assert!(doc.contains(&format!("`{}_hide`", part.key)), "docs/url-state.md lacks `{}_hide`", part.key);
    }
    assert!(doc.contains("`lang`"), "docs/url-state.md lacks `lang`");
}

/// Literals in `src/ui` that are not UI text, each with why: names, symbols, format patterns,
/// and strings that never reach the page (console messages, test-facing names).
const NOT_UI_TEXT: &[&str] = &[
    "QuantScope",                                // the name
    "JS / wasm",                                 // a ratio's symbols
    "scripts/bench",                             // a command
    "PNG",                                       // a file format
    "20·log10(2^b − 1)",                         // a formula
    "FP32",                                      // the field's abbreviations
    "PTQ",
    "QAT",
    "MSE",
    "NaN",
    "{} {}px {}",                                // a CSS font
    "{truth}→{pred}",                            // numbers and an arrow
    "{name}: t = {}",                            // an observer's name and a number
    "FP32 {fp32:.1}%",
    "{done} / {total}",
    "{v:.decimals$}",
    "of which",                                  // matches a kernel's English label for a CSS class
    "OpenFile",                                  // a Debug name
    "this browser gave no 2D canvas context",    // the console's, when a chart cannot be drawn
    "no heavy setting {id}",                     // a programming error, in the console
];

/// Where `line` (code, not a comment) has string literals: (start, literal).
fn literals(line: &str) -> Vec<(usize, String)> {
    let bytes: Vec<char> = line.chars().collect();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == '"' && (i == 0 || bytes[i - 1] != '\'') {
            let start = i;
            let mut s = String::new();
            i += 1;
            while i < bytes.len() && bytes[i] != '"' {
                if bytes[i] == '\\' && i + 1 < bytes.len() {
                    s.push(bytes[i + 1]);
                    i += 2;
                    continue;
                }
                s.push(bytes[i]);
                i += 1;
            }
            out.push((start, s));
        }
        i += 1;
    }
    out
}

/// English written in `src/ui` outside the table of texts (`src/ui/i18n/`): text between an
/// element's tags, a label, title, aria-label or placeholder, or words in any other literal.
/// Lines that only talk to the console or state a programming error are not the page's.
fn untranslated(text: &str) -> Vec<(usize, String)> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let attribute = ["class=", "data-testid=", "id=", "for=", "type=", "step=", "inputmode=", "value=", "accept=", "role=", "key=", "href=", "aria-sort=", "aria-live=", "lang=", "data-part=", "data-view=", "data-name="];
    let display = ["placeholder=", "title=", "aria-label=", "label=", "alt="];
    // The console's, programming errors, the embed keys' descriptions (for the docs) and the
    // heavy settings' names (for the end-to-end test's log).
    let quiet = ["gloo::console", ".expect(", "panic!", "env!(", "what: \"", "unreachable!", "(\"setting_"];
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = if line.trim_start().starts_with("//") { "" } else { line.split(" // ").next().unwrap_or("") };
        if quiet.iter().any(|q| line.contains(q)) {
            continue;
        }
        for (at, s) in literals(line) {
            let letters = s.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w.len() >= 2);
            if !letters || NOT_UI_TEXT.contains(&s.as_str()) {
                continue;
            }
            let before = line.chars().take(at).collect::<String>();
            let before = before.trim_end_matches('{').trim_end();
            if attribute.iter().any(|a| before.ends_with(a)) {
                continue;
            }
            let after: String = line.chars().skip(at + s.chars().count() + 2).collect();
            let shown = (before.ends_with(">") || before.ends_with('{') || line.chars().nth(at.wrapping_sub(1)) == Some('{')) && after.starts_with('}')
                || display.iter().any(|a| before.ends_with(a));
            // One lowercase token is an id, a key or a path; prose has words apart.
            let token = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./:#=&%?{}[],".contains(c));
            let prose = s.split_whitespace().filter(|w| w.chars().any(|c| c.is_ascii_alphabetic())).count() >= 2 || s.chars().next().is_some_and(|c| c.is_ascii_uppercase());
            if shown || (!token && prose && !s.contains("&obs=") && !s.contains("view=")) {
                found.push((n + 1, s));
            }
        }
    }
    found
}

#[test]
fn ui_text_comes_from_the_table_of_texts() {
    let mut files = Vec::new();
    rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui"), &mut files);
    let mut offences = Vec::new();
    for file in files.iter().filter(|f| !f.to_string_lossy().contains("/i18n/") && !f.ends_with("url_strategy.rs")) {
        for (line, s) in untranslated(&fs::read_to_string(file).unwrap()) {
            offences.push(format!("{}:{line}: \"{s}\"", file.display()));
        }
    }
    assert!(offences.is_empty(), "UI text outside src/ui/i18n (put it in the table, with its translation):\n{}", offences.join("\n"));
}

#[test]
fn the_text_scanner_catches_english() {
    assert_eq!(untranslated(r#"html! { <p>{"Press Train"}</p> }"#).len(), 1);
    assert_eq!(untranslated(r#"<label for="x">{"at"}</label>"#).len(), 1);
    assert_eq!(untranslated(r#"<input placeholder="middle" />"#).len(), 1);
    assert_eq!(untranslated(r#"let s = format!("Saved {name}");"#).len(), 1);
    assert!(untranslated(r#"<div class="panel chart-panel" data-testid="lab-results">"#).is_empty());
    assert!(untranslated(r#"gloo::console::error!(format!("QuantScope: drawing failed: {e}"));"#).is_empty());
    assert!(untranslated(r#"<p>{t.s(E::Saved)}</p> // "a comment""#).is_empty());
    assert!(untranslated("#[cfg(test)]\nlet x = \"Some test text\";").is_empty());
}
