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
    let offences: Vec<String> = files
        .iter()
        .flat_map(|file| platform_maths(&fs::read_to_string(file).unwrap()).into_iter().map(move |(line, name)| format!("{}:{line} calls .{name}(): use libm::", file.display())))
        .collect();
    assert!(offences.is_empty(), "src/engine must not use the platform's maths library:\n{}", offences.join("\n"));
    assert_eq!(platform_maths("let y = x.ln();\nlet z = libm::log(x); // x.exp()\nlet w = f32::powf(a, b);"), [(1, "ln"), (3, "powf")]);
    assert_eq!(platform_maths("fn f() {}\n#[cfg(test)]\nmod tests { let a = b.powf(2.0); }"), []);
}

/// The README's URL-state table lists every field of the one table in `src/ui/state/fields.rs`.
#[test]
fn readme_documents_every_url_field() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("## The URL state").expect("a URL state section")..];
    for field in quantscope::ui::state::FIELDS {
        assert!(table.contains(&format!("`{}`", field.key)), "README's URL table lacks `{}`", field.key);
    }
}
