//! The UI's languages, English and 简体中文, and its one table of strings.
//!
//! Every string the page shows comes from the table: one enum per part of the app (the shell,
//! the Explorer, the Lab, Learn, the benchmark page, the charts), each variant with its English
//! and its Chinese text side by side, written with `texts!` (table.rs). A component asks the
//! context for the language ([`use_tr`]) and writes `t.s(LabText::Train)`, or
//! `t.f(LabText::PhaseFp32, &[&epoch, &epochs])` for a text with placeholders `{0}`, `{1}`, …
//! (their order may differ between the languages).
//!
//! The field's own terms stay as they are: scale, zero point, PTQ, QAT, SQNR, min/max keep their
//! symbols and abbreviations, and the Chinese uses the words Chinese articles on quantization use
//! (缩放因子 scale, 零点 zero point, 伪量化 fake-quantize, 校准 calibration, 观察器 observer,
//! 逐通道 per channel, 截断 clipping).
//!
//! The tests fail on a text without a translation, on placeholders that differ between the
//! languages, and (`tests/architecture.rs`) on English text written in `src/ui` outside the table.

use yew::prelude::*;

#[macro_use]
mod table;
mod bench;
mod charts;
mod explorer;
mod formats;
mod lab;
mod learn;
mod model;
mod shell;

pub use bench::BenchText;
pub use charts::ChartText;
pub use explorer::ExplorerText;
pub use formats::FormatText;
pub use lab::LabText;
pub use learn::LearnText;
pub use model::ModelText;
pub use shell::ShellText;

/// A language of the UI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// Its URL name (`lang=zh`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The `lang` attribute of the document (`zh-Hans`: simplified Chinese).
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    /// `en` or `zh`, whichever is this language's.
    pub fn pick(self, en: &'static str, zh: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// Its own name, for the language switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    /// The browser's choice: the first of its preferred languages (`navigator.languages`, most
    /// preferred first) that the UI has, English when none is.
    pub fn from_browser<S: AsRef<str>>(preferred: &[S]) -> Lang {
        preferred
            .iter()
            .find_map(|tag| {
                let primary = tag.as_ref().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
                Lang::from_code(&primary)
            })
            .unwrap_or_default()
    }
}

/// Words that stay in Latin letters in the Chinese texts: the field's abbreviations and symbols,
/// file formats, names of libraries, tools, models and people. The tests check every Chinese text
/// (and the Chinese page) for English words outside this list.
pub const KEPT_TERMS: &[&str] = &[
    "PTQ", "QAT", "SQNR", "MSE", "FP32", "KL", "L2", "ReLU", "ReLU6", "EMA", "min", "max", "dB", "MLP", "CNN", "ONNX", "npy", "npz",
    "safetensors", "GGUF", "gguf", "CSV", "JSON", "PNG", "SGD", "Adam", "BN", "PyTorch", "NVIDIA", "TensorRT", "torch", "round", "quint", "qint",
    "int8", "uint8", "int32", "int16", "f32", "f16", "bf16", "WebAssembly", "wasm", "JavaScript", "SIMD", "NumPy", "Jacob", "et",
    "al", "arXiv", "URL", "QuantScope", "Yew", "plotters", "Rust", "ms", "MiB", "KiB", "GiB", "GB", "MB", "AVX", "AVX2", "VNNI",
    "Chromium", "CPU", "dof", "sep", "log", "ln", "exp", "std", "clamp", "sign", "argmax", "id", "sum", "mean", "var", "Numeric",
    "Suite", "ConvBn2d", "BatchNorm", "MobileNet", "GitHub", "MIT", "BSD", "UCI", "sklearn", "scikit", "learn", "CC", "BY",
    "dw", "pw", "conv", "dense", "depthwise", "pointwise", "TFLite", "TensorFlow", "Playground", "Node", "V8", "MathML", "RAM",
    "Hz", "px", "ID", "OK", "NaN", "Inf", "JPEG", "tract", "NCHW", "NHWC", "RGB", "BGR", "ImageNet", "H", "C", "onnxruntime", "web", "top", "MinMax", "MovingAverageMinMax", "HistogramObserver", "FP", "uint", "int", "ConvBn", "qmin", "qmax", "JS", "README", "WebAssembly", "SIMD", "JavaScript", "NumPy", "CVPR", "UCI", "Machine", "Learning", "Repository", "Alpaydin", "Kaynak", "Okabe", "Ito", "Pages", "UTF", "auto", "W", "A", "N", "M", "s", "z", "q", "x", "b", "n", "r", "a", "c", "k", "t", "e", "i", "j", "p", "y", "Δ",
    "FP8", "FP6", "FP4", "MX", "OCP", "MXFP", "NVFP", "NF", "DQ", "QLoRA", "E8M0", "E4M3", "E2M1", "GPTQ", "AWQ", "torchao", "llama", "cpp",
    "absmax", "amax", "emax", "floor", "ceil", "rceil", "quant", "log2", "Transformer", "Gemma", "INT",
    // The number formats' names and labels as the CLI and the URL spell them (`fp8-e4m3`,
    // `nf4-dq`, `int4 /row sym`).
    "fp", "mxfp", "mxint", "nvfp", "nf", "dq", "sym", "row",
];

/// The words in Latin letters of `text`, outside titles quoted “…” (a paper's or a data set's
/// title stays in its language), outside a term glossed in full-width brackets after its
/// Chinese name (缩放因子（scale）), and outside code (`torch.ao.quantization`, `key=value`).
fn latin_words(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, part) in text.split(['“', '”']).enumerate() {
        if i % 2 == 1 {
            continue;
        }
        for (j, piece) in part.split(['（', '）']).enumerate() {
            let gloss = j % 2 == 1 && piece.chars().all(|c| c.is_ascii_alphabetic() || c == ' ' || c == '-');
            if gloss {
                continue;
            }
            let code = |w: &str| w.contains('.') || w.contains('=') || w.contains('_');
            for token in piece.split_whitespace().filter(|w| !code(w)) {
                out.extend(token.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2));
            }
        }
    }
    out
}

/// The English words in a Chinese `text`: its words in Latin letters (see `latin_words`) that
/// are not among [`KEPT_TERMS`].
pub fn english_words(text: &str) -> Vec<&str> {
    latin_words(text).into_iter().filter(|w| !KEPT_TERMS.contains(w)).collect()
}

/// A section of the table: each variant's text in every language.
pub trait Text: Copy {
    fn en(self) -> &'static str;
    fn zh(self) -> &'static str;
    fn get(self, lang: Lang) -> &'static str {
        lang.pick(self.en(), self.zh())
    }
}

/// The texts in one language: what a component writes with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tr(pub Lang);

impl Tr {
    /// A text as it is.
    pub fn s(self, text: impl Text) -> &'static str {
        text.get(self.0)
    }

    /// A text with its placeholders `{0}`, `{1}`, … filled in by `args`, in order.
    pub fn f(self, text: impl Text, args: &[&dyn std::fmt::Display]) -> String {
        fill(text.get(self.0), args)
    }

    pub fn lang(self) -> Lang {
        self.0
    }
}

/// `template` with `{i}` replaced by `args[i]` (a placeholder without an argument stays).
pub fn fill(template: &str, args: &[&dyn std::fmt::Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16 * args.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| after[..close].parse::<usize>().ok().map(|i| (i, close))) {
            Some((i, close)) if i < args.len() => {
                out.push_str(&args[i].to_string());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message kept as its text and arguments until it is shown, so that it shows in the language
/// of the moment: what the URL parser, the worker and the file readers report. Its `Display` is
/// the English.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    en: &'static str,
    zh: &'static str,
    args: Vec<Arg>,
}

/// An argument of a [`Msg`]: a value shown as it is, or a message of its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arg {
    Plain(String),
    Msg(Msg),
}

impl Msg {
    pub fn new(text: impl Text) -> Msg {
        Msg { en: text.en(), zh: text.zh(), args: Vec::new() }
    }

    /// The next placeholder's value, shown as it is.
    pub fn arg(mut self, value: impl std::fmt::Display) -> Msg {
        self.args.push(Arg::Plain(value.to_string()));
        self
    }

    /// The next placeholder's value, a message shown in the same language.
    pub fn msg(mut self, inner: Msg) -> Msg {
        self.args.push(Arg::Msg(inner));
        self
    }

    pub fn render(&self, lang: Lang) -> String {
        let args: Vec<String> = self.args.iter().map(|a| match a {
            Arg::Plain(s) => s.clone(),
            Arg::Msg(m) => m.render(lang),
        }).collect();
        let refs: Vec<&dyn std::fmt::Display> = args.iter().map(|a| a as &dyn std::fmt::Display).collect();
        fill(lang.pick(self.en, self.zh), &refs)
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

thread_local! {
    static CURRENT: std::cell::Cell<Lang> = const { std::cell::Cell::new(Lang::En) };
}

/// The page's language for code outside the components (the panic banner, the worker client):
/// the shell sets it whenever the language changes.
pub fn set_current(lang: Lang) {
    CURRENT.with(|c| c.set(lang));
}

pub fn current() -> Tr {
    Tr(CURRENT.with(|c| c.get()))
}

/// The texts in the page's language (from the shell's context; English outside it).
#[hook]
pub fn use_tr() -> Tr {
    use_context::<Tr>().unwrap_or_default()
}

#[cfg(test)]
mod tests;
