//! Every text has a translation, with the same placeholders.

use super::*;



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
    let english = english_words(zh);
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
    all.extend(check(FormatText::ALL));
    all.extend(check(LabText::ALL));
    all.extend(check(LearnText::ALL));
    all.extend(check(ModelText::ALL));
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
