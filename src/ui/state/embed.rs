//! How the page is shown rather than what it computes: the URL keys that hide parts of it for
//! embedding (`header_hide=1`, `controls_hide=1`, …, as TensorFlow Playground's `*_hide` flags),
//! and the language (`lang=zh`). Unlike the settings in [`FIELDS`](super::FIELDS), they are
//! written to the hash only when set, so an ordinary link carries neither and opens in the
//! reader's own language.

use crate::ui::i18n::{Lang, Msg, ShellText};

/// A part of the page that a URL key can hide: `{key}_hide=1` hides every element marked
/// `data-part="{key}"` (a rule in `static/style.css` per part; a test checks that each has one).
pub struct Part {
    pub key: &'static str,
    /// What it is, for the URL reference (docs/url-state.md).
    pub what: &'static str,
}

/// The parts, in the order their keys are written.
pub const PARTS: &[Part] = &[
    Part { key: "header", what: "the top bar: name, tabs, Copy link, About" },
    Part { key: "controls", what: "the settings column of the Explorer and of the Lab" },
    Part { key: "source", what: "the Explorer's tensor source and layer browser" },
    Part { key: "histogram", what: "the histogram of the values with the grid and clipping range" },
    Part { key: "readouts", what: "the Explorer's readouts (scale, zero point, errors) and export buttons" },
    Part { key: "codes", what: "the histogram of the integer codes" },
    Part { key: "transfer", what: "the transfer function (the quantizer's staircase)" },
    Part { key: "errors", what: "the two error charts" },
    Part { key: "channels", what: "the per-channel view" },
    Part { key: "dynamics", what: "the observer dynamics over batches" },
    Part { key: "sweep", what: "the Explorer's bit-width sweep" },
    Part { key: "lessons", what: "Learn's list of lessons" },
    Part { key: "training", what: "the Lab's run controls and training curve" },
    Part { key: "results", what: "the Lab's accuracy table" },
    Part { key: "sqnr", what: "the Lab's SQNR per layer" },
    Part { key: "weights", what: "the Lab's weights before and after QAT" },
    Part { key: "regions", what: "the Lab's decision regions (2-D data)" },
    Part { key: "misclassified", what: "the Lab's misclassified digits" },
    Part { key: "confusion", what: "the Lab's confusion matrices" },
    Part { key: "labsweep", what: "the Lab's accuracy against bit width" },
];

/// Which of [`PARTS`] are hidden: bit `i` for `PARTS[i]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hidden(u32);

impl Hidden {
    /// Whether the part named `key` is hidden (false for a name that is not a part).
    pub fn contains(self, key: &str) -> bool {
        PARTS.iter().position(|p| p.key == key).is_some_and(|i| self.0 & (1 << i) != 0)
    }

    /// The same with the part `key` hidden or shown; unchanged for a name that is not a part.
    pub fn with(self, key: &str, hidden: bool) -> Hidden {
        match PARTS.iter().position(|p| p.key == key) {
            Some(i) if hidden => Hidden(self.0 | (1 << i)),
            Some(i) => Hidden(self.0 & !(1 << i)),
            None => self,
        }
    }

    /// The hidden parts' keys, in table order.
    pub fn keys(self) -> impl Iterator<Item = &'static str> {
        PARTS.iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, p)| p.key)
    }

    /// The page's classes for them (`hide-header …`), which the stylesheet's rules act on.
    pub fn classes(self) -> Vec<String> {
        self.keys().map(|k| format!("hide-{k}")).collect()
    }
}

/// The presentation settings of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub hidden: Hidden,
    /// The language a link asks for; `None`: the browser's.
    pub lang: Option<Lang>,
}

impl Page {
    /// The `key=value` pairs to write: only what is set.
    pub fn pairs(&self) -> Vec<String> {
        let mut out: Vec<String> = self.hidden.keys().map(|k| format!("{k}_hide=1")).collect();
        if let Some(lang) = self.lang {
            out.push(format!("lang={}", lang.code()));
        }
        out
    }

    /// Whether `key` is one of these settings (`lang`, `{part}_hide`).
    pub fn knows(key: &str) -> bool {
        key == "lang" || key.strip_suffix("_hide").is_some_and(|part| PARTS.iter().any(|p| p.key == part))
    }

    /// Reads one `key=value` pair if it is one of these settings: `None` if the key is not,
    /// else whether the value was understood (if not, nothing changes).
    pub fn read(&mut self, key: &str, value: &str) -> Option<Result<(), Msg>> {
        if !Page::knows(key) {
            return None;
        }
        if key == "lang" {
            return Some(match Lang::from_code(value) {
                Some(lang) => {
                    self.lang = Some(lang);
                    Ok(())
                }
                None => Err(Msg::new(ShellText::ExpectOneOf).arg(Lang::ALL.iter().map(|l| l.code()).collect::<Vec<_>>().join(", "))),
            });
        }
        let part = key.strip_suffix("_hide")?;
        let hidden = match value {
            "1" | "true" => true,
            "0" | "false" => false,
            _ => return Some(Err(Msg::new(ShellText::ExpectBool))),
        };
        self.hidden = self.hidden.with(part, hidden);
        Some(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_hides_on_its_own_and_reads_back() {
        assert!(PARTS.len() <= 32, "Hidden holds 32 parts");
        for p in PARTS {
            let mut page = Page::default();
            assert_eq!(page.read(&format!("{}_hide", p.key), "1"), Some(Ok(())));
            assert!(page.hidden.contains(p.key));
            assert_eq!(page.hidden.keys().collect::<Vec<_>>(), [p.key]);
            assert_eq!(page.pairs(), [format!("{}_hide=1", p.key)]);
            assert_eq!(page.read(&format!("{}_hide", p.key), "0"), Some(Ok(())));
            assert_eq!(page, Page::default());
        }
    }

    /// Every part has its rule in the stylesheet and is marked somewhere in the components.
    #[test]
    fn every_part_has_a_rule_and_an_element() {
        let css = include_str!("../../../static/style.css");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui");
        let mut sources = String::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&std::fs::read_to_string(path).unwrap());
                }
            }
        }
        for p in PARTS {
            let rule = format!(".hide-{0} [data-part=\"{0}\"] {{ display: none !important; }}", p.key);
            assert!(css.contains(&rule), "static/style.css has no rule {rule}");
            assert!(sources.contains(&format!("data-part=\"{}\">", p.key)) || sources.contains(&format!("data-part=\"{}\" ", p.key)) || sources.contains(&format!("data-part=\"{}\"\n", p.key)),
                "no element is marked data-part=\"{}\"", p.key);
        }
    }

    #[test]
    fn other_keys_and_bad_values() {
        let mut page = Page::default();
        assert_eq!(page.read("bits", "4"), None, "not a page setting");
        assert_eq!(page.read("nothing_hide", "1"), None, "not a part");
        assert!(matches!(page.read("header_hide", "yes"), Some(Err(_))));
        assert!(matches!(page.read("lang", "fr"), Some(Err(_))));
        assert_eq!(page.read("lang", "zh"), Some(Ok(())));
        assert_eq!(page.pairs(), ["lang=zh"]);
        assert!(!Hidden::default().with("nowhere", true).contains("nowhere"));
    }
}
