//! Files the user opens: reading them (all at once, or for `.safetensors` the header first and
//! each tensor's bytes only when it is chosen, through `File.slice`), the layer browser, and the
//! messages for files that cannot be read. Parsing is the engine's (`engine::io`); nothing here
//! leaves the browser.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use yew::prelude::*;

use crate::ui::i18n::{use_tr, ExplorerText as E};

use crate::engine::views::inspect::{flagged, inspect, order, SortKey, TensorReport};
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
    /// A `.safetensors` index: each tensor is read on demand from the file.
    Indexed { file: gloo::file::File, entries: Vec<Entry> },
}

impl OpenFile {
    /// A file parsed whole.
    pub fn parsed(name: &str, tensors: Vec<Tensor>, bytes: Option<Rc<Vec<u8>>>, fold_bn: bool) -> OpenFile {
        let order = tensors.iter().map(|t| t.name.clone()).collect();
        let map = tensors.into_iter().map(|t| (t.name.clone(), (inspect(&t), Rc::new(t)))).map(|(k, (r, t))| (k, (t, r))).collect();
        OpenFile { name: name.into(), fold_bn, content: Content::Parsed { order, bytes }, tensors: RefCell::new(map) }
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

    /// The first tensor worth looking at: the first flagged one, else the largest.
    pub fn default_tensor(&self) -> Option<String> {
        let rows = self.rows();
        rows.iter()
            .find(|r| r.3.as_ref().is_some_and(flagged))
            .or_else(|| rows.iter().max_by_key(|r| r.1.iter().product::<usize>()))
            .map(|r| r.0.clone())
    }
}

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
    let body = idx.into_iter().map(|i| {
        let (name, shape, dtype, report) = &rows[i];
        let chosen = name.as_str() == props.current.as_str();
        let warn = report.as_ref().is_some_and(flagged);
        let onclick = {
            let (cb, name) = (props.on_choose.clone(), name.clone());
            Callback::from(move |_| cb.emit(name.clone()))
        };
        let stat = |f: &dyn Fn(&TensorReport) -> String| report.as_ref().map_or_else(|| "—".to_string(), f);
        html! {
            <tr class={classes!(chosen.then_some("chosen"), warn.then_some("flagged"))} data-testid="layer-row" data-name={name.clone()}>
                <td>
                    <button class="link" {onclick} aria-pressed={chosen.to_string()}>{name.clone()}</button>
                    if warn { <span class="flag" title={t.s(E::FlagTitle)}>{" ⚠"}</span> }
                </td>
                <td class="num">{format!("{shape:?}")}</td>
                <td>{dtype.clone()}</td>
                <td class="num">{stat(&|r| format!("[{}, {}]", sig4(Some(r.summary.min as f64)), sig4(Some(r.summary.max as f64))))}</td>
                <td class="num">{stat(&|r| sig4(Some(r.summary.absmax as f64)))}</td>
                <td class="num">{stat(&|r| sig4(r.channel_range_ratio))}</td>
            </tr>
        }
    });
    let flagged_count = rows.iter().filter(|r| r.3.as_ref().is_some_and(flagged)).count();
    html! {
        <section class="panel layers" aria-label={t.s(E::TensorsOfFile)} data-testid="layer-browser">
            <div class="panel-head">
                <h2>{t.f(E::FileTensors, &[&props.file.name, &rows.len()])}</h2>
                if flagged_count > 0 { <span class="flag" data-testid="layers-flagged">{t.f(E::FlaggedCount, &[&flagged_count])}</span> }
            </div>
            <div class="table-scroll">
                <table class="layers-table">
                    <thead>
                        <tr>
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
            <p class="hint">{t.s(E::LayersHint)}</p>
        </section>
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
    use crate::engine::io::{load, safetensors, Format, LoadError, LoadOptions};
    use crate::engine::tensor::Tensor;

    /// Files at most this large are parsed whole even when they are `.safetensors`.
    const SMALL: u64 = 64 << 20;

    async fn bytes(name: &str, blob: &Blob) -> Result<Vec<u8>, LoadError> {
        read_as_bytes(blob).await.map_err(|e| LoadError::new(name, None, crate::ui::i18n::current().f(E::BrowserCouldNotRead, &[&e])))
    }

    /// Opens `file`: a large `.safetensors` by its header only, anything else whole.
    pub async fn open(file: File, fold_bn: bool) -> Result<OpenFile, LoadError> {
        let name = file.name();
        let size = file.size();
        if Format::of(&name) == Some(Format::Safetensors) && size > SMALL {
            let first8 = bytes(&name, &Blob::from(file.slice(0, 8.min(size)))).await?;
            let len = safetensors::header_len(&name, &first8, size)?;
            let prefix = bytes(&name, &Blob::from(file.slice(0, len))).await?;
            let entries = safetensors::read_index(&name, &prefix, size)?;
            return Ok(OpenFile {
                name,
                fold_bn,
                content: Content::Indexed { file, entries },
                tensors: Default::default(),
            });
        }
        let all = Rc::new(bytes(&name, &Blob::from(file)).await?);
        let tensors = load(&name, &all, LoadOptions { fold_bn })?;
        if tensors.is_empty() {
            return Err(LoadError::new(&name, None, crate::ui::i18n::current().s(E::NoTensors)));
        }
        let keep = (Format::of(&name) == Some(Format::Onnx)).then_some(all);
        Ok(OpenFile::parsed(&name, tensors, keep, fold_bn))
    }

    /// Reads tensor `name` of an indexed file (its bytes only), and records it.
    pub async fn tensor(open: &OpenFile, name: &str) -> Result<Rc<Tensor>, LoadError> {
        if let Some(t) = open.tensor(name) {
            return Ok(t);
        }
        let super::Content::Indexed { file, entries } = &open.content else {
            return Err(LoadError::new(&open.name, Some(name), crate::ui::i18n::current().s(E::NoSuchTensorInFile)));
        };
        let entry = entries.iter().find(|e| e.name == name).ok_or_else(|| LoadError::new(&open.name, Some(name), crate::ui::i18n::current().s(E::NoSuchTensorInFile)))?;
        let raw = bytes(&open.name, &Blob::from(file.slice(entry.start, entry.end))).await?;
        let t = safetensors::read_tensor(&open.name, entry, &raw)?;
        let report = inspect(&t);
        let t = Rc::new(t);
        open.tensors.borrow_mut().insert(name.to_string(), (t.clone(), report));
        Ok(t)
    }

    /// An ONNX file parsed again with batch-norm folding on or off.
    pub fn refold(open: &OpenFile, fold_bn: bool) -> Result<OpenFile, LoadError> {
        match &open.content {
            Content::Parsed { bytes: Some(bytes), .. } => {
                Ok(OpenFile::parsed(&open.name, load(&open.name, bytes, LoadOptions { fold_bn })?, Some(bytes.clone()), fold_bn))
            }
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
