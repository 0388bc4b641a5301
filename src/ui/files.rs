//! Files the user opens: reading them (all at once, or for a large `.safetensors` and any GGUF
//! the header first and each tensor's bytes only when it is chosen, through `File.slice`), the
//! layer browser, and the
//! messages for files that cannot be read. Parsing is the engine's (`engine::io`); nothing here
//! leaves the browser.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};

use crate::engine::views::inspect::{flagged, has_non_finite, inspect, needs_per_channel, order, SortKey, TensorReport};
use crate::engine::io::onnx::quantized::Stored;
use crate::engine::io::onnx::Use;
use crate::engine::io::safetensors::Entry;
use crate::engine::tensor::Tensor;
use crate::ui::format::sig4;

/// An opened file: its tensors' rows and how to get their values.
pub struct OpenFile {
    pub name: String,
    /// Whether ONNX batch norms were folded when it was parsed.
    pub fold_bn: bool,
    pub content: Content,
    /// Tensors read so far, with their rows' statistics.
    pub tensors: RefCell<HashMap<String, (Rc<Tensor>, TensorReport)>>,
    /// For an ONNX model: the node that reads each tensor, and how its quantized ones are
    /// stored (their values are dequantized).
    pub uses: HashMap<String, Use>,
    pub stored: HashMap<String, Stored>,
    /// A GGUF file's summary (version, architecture, file type, …).
    pub facts: Option<crate::engine::io::gguf::Facts>,
}

impl std::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFile").field("name", &self.name).field("fold_bn", &self.fold_bn).finish_non_exhaustive()
    }
}

impl PartialEq for OpenFile {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Where a file's tensors come from.
pub enum Content {
    /// Parsed whole (npy, npz, onnx, small safetensors): every tensor, in file order.
    Parsed { order: Vec<String>, bytes: Option<Rc<Vec<u8>>> },
    /// A `.safetensors` or GGUF index: each tensor is read on demand from the file.
    Indexed { file: gloo::file::File, entries: Vec<Entry>, gguf: bool },
}

impl OpenFile {
    /// A file parsed whole.
    pub fn parsed(name: &str, tensors: Vec<Tensor>, bytes: Option<Rc<Vec<u8>>>, fold_bn: bool) -> OpenFile {
        let order = tensors.iter().map(|t| t.name.clone()).collect();
        let map = tensors.into_iter().map(|t| (t.name.clone(), (inspect(&t), Rc::new(t)))).map(|(k, (r, t))| (k, (t, r))).collect();
        OpenFile { name: name.into(), fold_bn, content: Content::Parsed { order, bytes }, tensors: RefCell::new(map), uses: HashMap::new(), stored: HashMap::new(), facts: None }
    }

    /// The file with the node that reads each tensor, and how its quantized tensors are stored
    /// (an ONNX model's).
    pub fn with_uses(self, uses: HashMap<String, Use>, stored: HashMap<String, Stored>) -> OpenFile {
        OpenFile { uses, stored, ..self }
    }

    /// Whether tensor `name` is a batch norm's parameter (not a layer's weight of its own).
    pub fn is_batch_norm_parameter(&self, name: &str) -> bool {
        self.uses.get(name).is_some_and(Use::is_batch_norm_parameter)
    }

    /// Whether tensor `name` is a quantizer's scale (or a float zero point), not a weight.
    pub fn is_quantizer_parameter(&self, name: &str) -> bool {
        !self.stored.contains_key(name) && self.uses.get(name).is_some_and(Use::is_quantizer_input)
    }

    /// A parameter of another tensor (batch norm's, a quantizer's), not a layer's weight.
    pub fn is_parameter(&self, name: &str) -> bool {
        self.is_batch_norm_parameter(name) || self.is_quantizer_parameter(name)
    }

    /// The rows of the layer browser, in file order: name, shape, stored type, and the report
    /// once the tensor has been read.
    pub fn rows(&self) -> Vec<(String, Vec<usize>, String, Option<TensorReport>)> {
        let read = self.tensors.borrow();
        let row = |name: &str, shape: Vec<usize>, dtype: String| {
            let report = read.get(name).map(|(_, r)| r.clone());
            (name.to_string(), shape, dtype, report)
        };
        match &self.content {
            Content::Parsed { order, .. } => order
                .iter()
                .filter_map(|n| read.get(n).map(|(t, _)| (n.clone(), t.shape.clone(), t.stored_as.clone())))
                .map(|(n, s, d)| row(&n, s, d))
                .collect(),
            Content::Indexed { entries, .. } => entries.iter().map(|e| row(&e.name, e.shape.clone(), e.dtype.clone())).collect(),
        }
    }

    /// The tensor named `name`, if it has been read.
    pub fn tensor(&self, name: &str) -> Option<Rc<Tensor>> {
        self.tensors.borrow().get(name).map(|(t, _)| t.clone())
    }

    /// Whether `name` is one of the file's tensors.
    pub fn has(&self, name: &str) -> bool {
        match &self.content {
            Content::Parsed { order, .. } => order.iter().any(|n| n == name),
            Content::Indexed { entries, .. } => entries.iter().any(|e| e.name == name),
        }
    }

    /// The first tensor worth looking at: the first that needs per-channel quantization, else
    /// the first flagged, else the largest of at most [`DEFAULT_MAX_VALUES`] values (a language
    /// model's embedding table is not the first thing to read), else the smallest.
    pub fn default_tensor(&self) -> Option<String> {
        let rows = self.rows();
        let size = |r: &(String, Vec<usize>, String, Option<TensorReport>)| r.1.iter().product::<usize>();
        rows.iter()
            .find(|r| r.3.as_ref().is_some_and(needs_per_channel) && !self.is_parameter(&r.0))
            .or_else(|| rows.iter().find(|r| r.3.as_ref().is_some_and(flagged)))
            .or_else(|| rows.iter().filter(|r| size(r) <= DEFAULT_MAX_VALUES).max_by_key(|r| size(r)))
            .or_else(|| rows.iter().min_by_key(|r| size(r)))
            .map(|r| r.0.clone())
    }
}

/// The default tensor has at most this many values when the file has such a tensor.
pub const DEFAULT_MAX_VALUES: usize = 1 << 24;

/// The app's opened file, kept by the shell so that it survives switching views.
#[derive(Clone, Default, PartialEq)]
pub struct Files {
    pub open: Option<Rc<OpenFile>>,
    /// Bumped whenever a tensor of the open file has been read.
    pub generation: u64,
    /// What is being read now, for the status line.
    pub busy: Option<String>,
    /// The last file that could not be read, and why (names file, tensor and problem).
    pub error: Option<String>,
}

#[derive(Properties, PartialEq)]
pub struct LayerBrowserProps {
    pub file: Rc<OpenFile>,
    /// The chosen tensor.
    pub current: AttrValue,
    pub on_choose: Callback<String>,
    /// Opens a tensor with every number format side by side (the comparison runs at once).
    #[prop_or_default]
    pub on_compare: Option<Callback<String>>,
    /// Bumped when a tensor has been read, so the rows show its statistics.
    #[prop_or_default]
    pub generation: u64,
}

/// The sort keys: what the test ids call them, and their column labels.
const SORTS: &[(SortKey, &str, E)] = &[
    (SortKey::File, "fileorder", E::SortFileOrder),
    (SortKey::Name, "name", E::SortName),
    (SortKey::Size, "size", E::SortSize),
    (SortKey::AbsMax, "xmax", E::SortAbsMax),
    (SortKey::Ratio, "channel-rangeratio", E::SortRatio),
];

/// Every tensor of a file, sortable, the ones to worry about flagged; a click chooses one.
#[function_component(LayerBrowser)]
pub fn layer_browser(props: &LayerBrowserProps) -> Html {
    let t = use_tr();
    let sort = use_state(|| (SortKey::File, false));
    let rows = props.file.rows();
    let keyed: Vec<(String, Vec<usize>, Option<&TensorReport>)> = rows.iter().map(|r| (r.0.clone(), r.1.clone(), r.3.as_ref())).collect();
    let idx = order(&keyed, sort.0, sort.1);
    let header = |(key, id, label): (SortKey, &'static str, E), numeric: bool| {
        let (active, desc) = (sort.0 == key, sort.1);
        let arrow = if active { if desc { " ▼" } else { " ▲" } } else { "" };
        let onclick = {
            let sort = sort.clone();
            Callback::from(move |_| sort.set((key, if sort.0 == key { !sort.1 } else { numeric })))
        };
        html! {
            <th scope="col" aria-sort={if active { if desc { "descending" } else { "ascending" } } else { "none" }}>
                <button class="link" {onclick} data-testid={format!("layers-sort-{id}")}>{t.s(label)}{arrow}</button>
            </th>
        }
    };
    let file = &props.file;
    let onnx = !file.uses.is_empty();
    let by_file_order = sort.0 == SortKey::File && !sort.1;
    let mut last_node: Option<&str> = None;
    let body = idx.into_iter().map(|i| {
        let (name, shape, dtype, report) = &rows[i];
        let chosen = name.as_str() == props.current.as_str();
        let bn = file.is_batch_norm_parameter(name);
        let qp = file.is_quantizer_parameter(name);
        let per_channel = !bn && !qp && report.as_ref().is_some_and(needs_per_channel);
        let non_finite = report.as_ref().is_some_and(has_non_finite);
        let onclick = {
            let (cb, name) = (props.on_choose.clone(), name.clone());
            Callback::from(move |_| cb.emit(name.clone()))
        };
        let compare = props.on_compare.as_ref().map(|cb| {
            let (cb, name) = (cb.clone(), name.clone());
            Callback::from(move |_: MouseEvent| cb.emit(name.clone()))
        });
        let stat = |f: &dyn Fn(&TensorReport) -> String| report.as_ref().map_or_else(|| "—".to_string(), f);
        // In graph order a node's tensors sit together: its name heads the first of them.
        let node = file.uses.get(name).map(|u| {
            let first = !by_file_order || last_node != Some(u.node.as_str());
            last_node = Some(u.node.as_str());
            html! { <td class={classes!("node", (!first).then_some("same"))} title={u.node.clone()}>{ if first { format!("{} · {}", u.op, u.node) } else { String::new() } }</td> }
        });
        let node = match (onnx, node) {
            (true, Some(cell)) => cell,
            (true, None) => html! { <td class="node na">{t.s(E::NoNode)}</td> },
            (false, _) => html! {},
        };
        html! {
            <tr class={classes!(chosen.then_some("chosen"), (per_channel || non_finite).then_some("flagged"), (bn || qp).then_some("param"))} data-testid="layer-row" data-name={name.clone()}>
                { node }
                <td>
                    <button class="link" {onclick} aria-pressed={chosen.to_string()}>{name.clone()}</button>
                    if per_channel { <span class="flag" title={t.s(E::FlagTitle)} data-testid="flag-per-channel">{" ⚠"}</span> }
                    if non_finite { <span class="flag" title={t.s(E::FlagNonFinite)} data-testid="flag-non-finite">{" "}{t.s(E::TagNonFinite)}</span> }
                    if bn { <span class="tag" title={t.s(E::BnParamTitle)} data-testid="bn-param">{" "}{t.s(E::TagBn)}</span> }
                    if qp { <span class="tag" title={t.s(E::QuantizerParamTitle)} data-testid="quantizer-param">{" "}{t.s(E::TagQuantizer)}</span> }
                    if let Some(onclick) = compare {
                        {" "}<button class="link tag" {onclick} title={t.f(crate::ui::i18n::FormatText::CompareLayer, &[name])} data-testid="layer-compare">{t.s(crate::ui::i18n::FormatText::FormatsOf)}</button>
                    }
                </td>
                <td class="num">{format!("{shape:?}")}</td>
                { match file.stored.get(name) {
                    Some(s) => html! { <td title={format!("{} · {}", s.op, s.node)} data-testid="stored">{stored_text(s, t)}</td> },
                    None => html! { <td>{dtype.clone()}</td> },
                } }
                <td class="num">{stat(&|r| format!("[{}, {}]", sig4(Some(r.summary.min as f64)), sig4(Some(r.summary.max as f64))))}</td>
                <td class="num">{stat(&|r| sig4(Some(r.summary.absmax as f64)))}</td>
                <td class="num">{stat(&|r| r.channel_range_ratio.map_or_else(|| t.s(E::NotApplicable).to_string(), |q| sig4(Some(q))))}</td>
            </tr>
        }
    });
    let count = |f: &dyn Fn(&String, &TensorReport) -> bool| rows.iter().filter(|r| r.3.as_ref().is_some_and(|rep| f(&r.0, rep))).count();
    let per_channel_count = count(&|n, r| needs_per_channel(r) && !file.is_parameter(n));
    let non_finite_count = count(&|_, r| has_non_finite(r));
    html! {
        <section class="panel layers" aria-label={t.s(E::TensorsOfFile)} data-testid="layer-browser">
            <div class="panel-head">
                <h2>{t.f(E::FileTensors, &[&props.file.name, &rows.len()])}</h2>
                if per_channel_count > 0 { <span class="flag" data-testid="layers-flagged">{t.f(E::FlaggedCount, &[&per_channel_count])}</span> }
                if non_finite_count > 0 { <span class="flag" data-testid="layers-non-finite">{t.f(E::NonFiniteCount, &[&non_finite_count])}</span> }
            </div>
            if let Some(f) = &props.file.facts {
                <p class="hint" data-testid="file-facts">{t.f(E::GgufFacts, &[&f.version, &f.architecture, &f.file_type, &f.quantization_version, &format!("{:.1}", f.bytes as f64 / 1e6)])}</p>
            }
            <div class="table-scroll">
                <table class="layers-table">
                    <thead>
                        <tr>
                            if onnx { <th scope="col">{t.s(E::ColNode)}</th> }
                            { header(SORTS[1], false) }
                            { header(SORTS[2], true) }
                            <th scope="col">{t.s(E::StoredAs)}</th>
                            <th scope="col">{t.s(E::RangeColumn)}</th>
                            { header(SORTS[3], true) }
                            { header(SORTS[4], true) }
                        </tr>
                    </thead>
                    <tbody>{ for body }</tbody>
                </table>
            </div>
            <p class="hint">{t.s(E::LayersHint)}{ if onnx { format!(" {}", t.s(E::LayersHintOnnx)) } else { String::new() } }</p>
        </section>
    }
}

/// How a quantized tensor is stored: its type, the node that reads it, its scale and zero point
/// (or how many, along which axis).
pub fn stored_text(s: &Stored, t: crate::ui::i18n::Tr) -> String {
    match (&s.scale, s.axis) {
        (None, _) => t.f(E::StoredRuntime, &[&s.dtype]),
        (Some(scale), Some(axis)) => t.f(E::StoredPerChannel, &[&s.dtype, &scale.len(), &axis]),
        (Some(scale), None) => t.f(E::StoredPerTensor, &[&s.dtype, &sig4(Some(scale[0] as f64)), &s.zero_point[0]]),
    }
}

/// Reading files in the browser.
#[cfg(target_arch = "wasm32")]
pub mod read {
    use std::rc::Rc;

    use gloo::file::futures::read_as_bytes;
    use gloo::file::{Blob, File};

    use super::{Content, OpenFile};
    use crate::ui::i18n::ExplorerText as E;
    use crate::engine::views::inspect::inspect;
    use crate::engine::io::{gguf, load, safetensors, Format, LoadError, LoadOptions};
    use crate::engine::tensor::Tensor;

    /// Files at most this large are parsed whole even when they are `.safetensors`.
    const SMALL: u64 = 64 << 20;

    async fn bytes(name: &str, blob: &Blob) -> Result<Vec<u8>, LoadError> {
        read_as_bytes(blob).await.map_err(|e| LoadError::new(name, None, crate::ui::i18n::current().f(E::BrowserCouldNotRead, &[&e])))
    }

    /// Opens `file`: a GGUF or a large `.safetensors` by its header only, anything else whole.
    pub async fn open(file: File, fold_bn: bool) -> Result<OpenFile, LoadError> {
        let name = file.name();
        let size = file.size();
        if Format::of(&name) == Some(Format::Gguf) {
            // A prefix, doubled until it holds the header (a tokenizer makes it megabytes).
            let mut want = (1u64 << 20).min(size);
            let header = loop {
                let prefix = bytes(&name, &Blob::from(file.slice(0, want))).await?;
                if let Some(h) = gguf::read_header(&name, &prefix, size)? {
                    break h;
                }
                want = (want * 2).min(size);
            };
            return Ok(OpenFile {
                name,
                fold_bn,
                facts: Some(header.facts()),
                content: Content::Indexed { file, entries: header.entries, gguf: true },
                tensors: Default::default(),
                uses: Default::default(),
                stored: Default::default(),
            });
        }
        if Format::of(&name) == Some(Format::Safetensors) && size > SMALL {
            let first8 = bytes(&name, &Blob::from(file.slice(0, 8.min(size)))).await?;
            let len = safetensors::header_len(&name, &first8, size)?;
            let prefix = bytes(&name, &Blob::from(file.slice(0, len))).await?;
            let entries = safetensors::read_index(&name, &prefix, size)?;
            return Ok(OpenFile {
                name,
                fold_bn,
                facts: None,
                content: Content::Indexed { file, entries, gguf: false },
                tensors: Default::default(),
                uses: Default::default(),
                stored: Default::default(),
            });
        }
        let all = Rc::new(bytes(&name, &Blob::from(file)).await?);
        if Format::of(&name) == Some(Format::Onnx) {
            return onnx_file(&name, all, fold_bn).await;
        }
        let tensors = load(&name, &all, LoadOptions { fold_bn })?;
        if tensors.is_empty() {
            return Err(LoadError::new(&name, None, crate::ui::i18n::current().s(E::NoTensors)));
        }
        Ok(OpenFile::parsed(&name, tensors, None, fold_bn))
    }

    /// An ONNX model's tensors in graph order, with the node that reads each; its bytes are kept
    /// for folding batch norm again. The model worker reads it (tract's protobuf types live
    /// there, not in the page), in a worker of its own that ends once it has answered.
    async fn onnx_file(name: &str, bytes: Rc<Vec<u8>>, fold_bn: bool) -> Result<OpenFile, LoadError> {
        use crate::worker::model::{FileData, ModelResult, ModelSpec, Stage, MODEL_WORKER_PATH};
        use crate::worker::Input;
        let inputs = vec![
            Input::Load { key: 1, data: FileData { name: name.to_string(), bytes: bytes.to_vec() } },
            Input::Start { id: 1, spec: ModelSpec::Read { model: 1, fold_bn } },
        ];
        let answer = crate::ui::worker_client::ask::<ModelSpec, FileData, Stage, ModelResult>(MODEL_WORKER_PATH, inputs).await;
        let read = match answer.map_err(|m| LoadError::new(name, None, m))? {
            ModelResult::Read(r) => r.into_read(name)?,
            _ => return Err(LoadError::new(name, None, crate::ui::i18n::current().s(E::WorkerAnsweredOther))),
        };
        if read.tensors.is_empty() {
            return Err(LoadError::new(name, None, crate::ui::i18n::current().s(E::NoTensors)));
        }
        Ok(OpenFile::parsed(name, read.tensors, Some(bytes), fold_bn).with_uses(read.uses, read.stored))
    }

    /// Reads tensor `name` of an indexed file (its bytes only), and records it.
    pub async fn tensor(open: &OpenFile, name: &str) -> Result<Rc<Tensor>, LoadError> {
        if let Some(t) = open.tensor(name) {
            return Ok(t);
        }
        let super::Content::Indexed { file, entries, gguf } = &open.content else {
            return Err(LoadError::new(&open.name, Some(name), crate::ui::i18n::current().s(E::NoSuchTensorInFile)));
        };
        let entry = entries.iter().find(|e| e.name == name).ok_or_else(|| LoadError::new(&open.name, Some(name), crate::ui::i18n::current().s(E::NoSuchTensorInFile)))?;
        let raw = bytes(&open.name, &Blob::from(file.slice(entry.start, entry.end))).await?;
        let t = if *gguf { gguf::read_tensor(&open.name, entry, &raw)? } else { safetensors::read_tensor(&open.name, entry, &raw)? };
        let report = inspect(&t);
        let t = Rc::new(t);
        open.tensors.borrow_mut().insert(name.to_string(), (t.clone(), report));
        Ok(t)
    }

    /// An ONNX file parsed again with batch-norm folding on or off.
    pub async fn refold(open: &OpenFile, fold_bn: bool) -> Result<OpenFile, LoadError> {
        match &open.content {
            Content::Parsed { bytes: Some(bytes), .. } => onnx_file(&open.name, bytes.clone(), fold_bn).await,
            _ => Err(LoadError::new(&open.name, None, crate::ui::i18n::current().s(E::FoldOnlyOnnx))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, shape: &[usize], data: &[f32]) -> Tensor {
        Tensor { name: name.into(), shape: shape.to_vec(), data: data.to_vec(), stored_as: "f32".into() }
    }

    #[test]
    fn parsed_files_list_rows_in_file_order_and_pick_a_worthy_default() {
        let f = OpenFile::parsed(
            "m.npz",
            vec![t("small", &[2], &[1.0, 2.0]), t("dw", &[2, 2], &[-0.01, 0.01, -1.0, 1.0]), t("big", &[3, 2], &[0.0; 6])],
            None,
            false,
        );
        let rows = f.rows();
        let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(names, ["small", "dw", "big"]);
        assert!(rows.iter().all(|r| r.3.is_some()));
        assert_eq!(f.default_tensor().as_deref(), Some("dw"), "the flagged depthwise-like tensor first");
        assert!(f.has("big") && !f.has("nope"));
        assert_eq!(f.tensor("dw").unwrap().shape, vec![2, 2]);
    }
}
