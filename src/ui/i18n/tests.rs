//! Every text has a translation, with the same placeholders.

use super::*;

/// Words that stay in Latin letters in the Chinese texts: the field's abbreviations and symbols,
/// file formats, library and model names.
pub const TERMS: &[&str] = &[
    "PTQ", "QAT", "SQNR", "MSE", "FP32", "KL", "L2", "ReLU", "ReLU6", "EMA", "min", "max", "dB", "MLP", "CNN", "ONNX", "npy", "npz",
    "safetensors", "CSV", "JSON", "PNG", "SGD", "Adam", "BN", "PyTorch", "NVIDIA", "TensorRT", "torch", "round", "quint", "qint",
    "int8", "uint8", "int32", "int16", "f32", "f16", "bf16", "WebAssembly", "wasm", "JavaScript", "SIMD", "NumPy", "Jacob", "et",
    "al", "arXiv", "URL", "QuantScope", "Yew", "plotters", "Rust", "ms", "MiB", "KiB", "GiB", "GB", "MB", "AVX", "AVX2", "VNNI",
    "Chromium", "CPU", "dof", "sep", "log", "ln", "exp", "std", "clamp", "sign", "argmax", "id", "sum", "mean", "var", "Numeric",
    "Suite", "ConvBn2d", "BatchNorm", "MobileNet", "GitHub", "MIT", "BSD", "UCI", "sklearn", "scikit", "learn", "CC", "BY",
    "dw", "pw", "conv", "dense", "depthwise", "pointwise", "TFLite", "TensorFlow", "Playground", "Node", "V8", "MathML", "RAM",
    "Hz", "px", "ID", "OK", "CVPR", "UCI", "Machine", "Learning", "Repository", "Alpaydin", "Kaynak", "Okabe", "Ito", "Pages", "UTF", "auto", "W", "A", "N", "M", "s", "z", "q", "x", "b", "n", "r", "a", "c", "k", "t", "e", "i", "j", "p", "y", "Δ",
];

/// The words in Latin letters of `text`, outside titles quoted “…” (a paper's or a data set's
/// title stays in its language).
fn words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, part) in text.split(['“', '”']).enumerate() {
        if i % 2 == 0 {
            out.extend(part.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2));
        }
    }
    out
}

fn placeholders(text: &str) -> Vec<usize> {
    let mut found: Vec<usize> = text.match_indices('{').filter_map(|(i, _)| text[i + 1..].split_once('}')).filter_map(|(n, _)| n.parse().ok()).collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// The problems of one text: empty, English left in the Chinese, placeholders that differ.
pub fn problems(name: &str, en: &str, zh: &str) -> Vec<String> {
    let mut out = Vec::new();
    if en.trim().is_empty() || zh.trim().is_empty() {
        out.push(format!("{name}: empty text"));
    }
    let english: Vec<&str> = words(zh).into_iter().filter(|w| !TERMS.contains(w)).collect();
    if !english.is_empty() {
        out.push(format!("{name}: untranslated words {english:?} in {zh:?}"));
    }
    if placeholders(en) != placeholders(zh) {
        out.push(format!("{name}: placeholders {:?} in English, {:?} in Chinese", placeholders(en), placeholders(zh)));
    }
    out
}

fn check<T: Text + std::fmt::Debug>(all: &[T]) -> Vec<String> {
    all.iter().flat_map(|t| problems(&format!("{t:?}"), t.en(), t.zh())).collect()
}

#[test]
fn every_text_is_translated_with_the_same_placeholders() {
    let mut all = Vec::new();
    all.extend(check(ShellText::ALL));
    all.extend(check(ExplorerText::ALL));
    all.extend(check(LabText::ALL));
    all.extend(check(LearnText::ALL));
    all.extend(check(BenchText::ALL));
    all.extend(check(ChartText::ALL));
    assert!(all.is_empty(), "{} texts without a proper translation:\n{}", all.len(), all.join("\n"));
}

#[test]
fn the_check_catches_what_it_should() {
    assert!(!problems("a", "Train", "训练").iter().any(|p| p.contains("untranslated")));
    assert!(problems("a", "Train", "Train").iter().any(|p| p.contains("untranslated")));
    assert!(problems("a", "Train", "").iter().any(|p| p.contains("empty")));
    assert!(problems("a", "epoch {0} of {1}", "第 {0} 轮").iter().any(|p| p.contains("placeholders")));
    assert!(problems("a", "PTQ at {0} bits", "{0} 位 PTQ").is_empty());
}

#[test]
fn fill_puts_arguments_in_their_places() {
    assert_eq!(fill("{1} of {0}", &[&"a", &2]), "2 of a");
    assert_eq!(fill("set {x} and {0}", &[&1]), "set {x} and 1");
    assert_eq!(fill("{3}", &[&1]), "{3}");
    assert_eq!(fill("no braces", &[]), "no braces");
    assert_eq!(fill("unclosed {0", &[&1]), "unclosed {0");
}

#[test]
fn the_browser_language_picks_the_first_the_ui_has() {
    assert_eq!(Lang::from_browser(&["zh-CN", "en"]), Lang::Zh);
    assert_eq!(Lang::from_browser(&["fr-FR", "zh-Hans-CN", "en"]), Lang::Zh);
    assert_eq!(Lang::from_browser(&["en-US", "zh"]), Lang::En);
    assert_eq!(Lang::from_browser(&["de"]), Lang::En);
    assert_eq!(Lang::from_browser::<&str>(&[]), Lang::En);
    assert_eq!(Lang::from_browser(&["ZH_tw"]), Lang::Zh);
}
