//! Records the versions of the main libraries (from Cargo.lock) for the About panel.

use std::fs;

const SHOWN: &[&str] = &["yew", "wasm-bindgen", "plotters", "plotters-canvas", "serde", "rand"];

fn main() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = fs::read_to_string("Cargo.lock").unwrap_or_default();
    let mut found = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("version = "), name.take()) {
            if SHOWN.contains(&n.as_str()) && !found.iter().any(|(f, _): &(String, String)| *f == n) {
                found.push((n, v.trim_matches('"').to_string()));
            }
        }
    }
    found.sort_by_key(|(n, _)| SHOWN.iter().position(|s| s == n));
    let text: Vec<String> = found.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let text = if text.is_empty() { "versions unavailable (no Cargo.lock)".to_string() } else { text.join(" · ") };
    println!("cargo:rustc-env=QUANTSCOPE_LIBRARIES={text}");
}
