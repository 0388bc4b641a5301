//! Large tensor files read tensor by tensor: a `.safetensors` or GGUF file's header first, then
//! each tensor's bytes alone (positioned reads into buffers kept from tensor to tensor), decoded
//! on every core, so that a checkpoint larger than memory can be inspected within about twice its
//! largest tensor. (Positioned reads rather than a memory map: a map's touched pages count as
//! the process's memory until the kernel drops them, as the NumPy peer's 1.9 GB for a 1.6 GB file
//! shows.) Other files are read whole.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::engine::io::gguf::{self, Header};
use crate::engine::io::safetensors::{self, Entry};
use crate::engine::io::{Format, LoadError};
use crate::engine::tensor::Tensor;

/// An opened file.
pub enum Source {
    /// Read tensor by tensor.
    Indexed(Indexed),
    /// Read whole (small formats, ONNX).
    Whole(Vec<Tensor>),
}

pub struct Indexed {
    shown: String,
    file: File,
    gguf: Option<Header>,
    pub entries: Vec<Entry>,
}

/// The threads the CLI uses: every core.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The first `len` bytes of `file`.
fn prefix(file: &File, len: u64, shown: &str) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, 0).map_err(|e| format!("{shown}: {e}"))?;
    Ok(buf)
}

/// Opens `path`: a `.safetensors` or `.gguf` file by its header, anything else whole.
pub fn open(path: &Path, fold_bn: bool) -> Result<Source, String> {
    let shown = path.display().to_string();
    let format = Format::of(&shown);
    if !matches!(format, Some(Format::Safetensors | Format::Gguf)) {
        return super::read_file(&path.to_path_buf(), fold_bn).map(Source::Whole);
    }
    let file = File::open(path).map_err(|e| format!("{shown}: {e}"))?;
    let len = file.metadata().map_err(|e| format!("{shown}: {e}"))?.len();
    let err = |e: LoadError| e.to_string();
    if format == Some(Format::Safetensors) {
        let header = safetensors::header_len(&shown, &prefix(&file, 8.min(len), &shown)?, len).map_err(err)?;
        let entries = safetensors::read_index(&shown, &prefix(&file, header, &shown)?, len).map_err(err)?;
        return Ok(Source::Indexed(Indexed { shown, file, gguf: None, entries }));
    }
    // GGUF: a prefix doubled until it holds the header (a tokenizer can make it megabytes).
    let mut want = (1u64 << 20).min(len);
    let header = loop {
        if let Some(h) = gguf::read_header(&shown, &prefix(&file, want, &shown)?, len).map_err(err)? {
            break h;
        }
        want = (want * 2).min(len);
    };
    Ok(Source::Indexed(Indexed { shown, file, entries: header.entries.clone(), gguf: Some(header) }))
}

impl Indexed {
    /// The GGUF header, for a GGUF file.
    pub fn gguf(&self) -> Option<&Header> {
        self.gguf.as_ref()
    }

    /// Whether `entry` decodes to values.
    pub fn supported(&self, entry: &Entry) -> bool {
        if self.gguf.is_some() { gguf::supported(&entry.dtype) } else { entry.supported() }
    }

    /// Reads and decodes `entry`: a safetensors tensor on every core, each thread decoding a
    /// part of it into its part of the values, bit for bit what one thread decodes.
    pub fn read(&self, entry: &Entry) -> Result<Tensor, String> {
        self.read_reusing(entry, &mut Vec::new(), Vec::new())
    }

    /// [`Indexed::read`] into buffers kept from the tensor before (`raw` for the stored bytes,
    /// `data` for the values): a walk over a checkpoint allocates, and the kernel zeroes, its
    /// largest tensor's pages once rather than once per tensor.
    fn read_reusing(&self, entry: &Entry, raw: &mut Vec<u8>, mut data: Vec<f32>) -> Result<Tensor, String> {
        let len = (entry.end - entry.start) as usize;
        if raw.len() < len {
            raw.resize(len, 0);
        }
        let bytes = &mut raw[..len];
        self.file.read_exact_at(bytes, entry.start).map_err(|e| format!("{}, tensor “{}”: {e}", self.shown, entry.name))?;
        match (self.gguf.is_some(), entry.elem()) {
            (false, Some(elem)) => {
                let n = len / elem.size();
                data.resize(n, 0.0);
                let per = n.div_ceil(threads()).max(1 << 16);
                std::thread::scope(|s| {
                    for (out, part) in data.chunks_mut(per).zip(bytes.chunks(per * elem.size())) {
                        s.spawn(move || elem.decode_into(part, true, out));
                    }
                });
                Ok(Tensor { name: entry.name.clone(), shape: entry.shape.clone(), data, stored_as: elem.name().into() })
            }
            (false, None) => safetensors::read_tensor(&self.shown, entry, bytes).map_err(|e| e.to_string()),
            (true, _) => gguf::read_tensor(&self.shown, entry, bytes).map_err(|e| e.to_string()),
        }
    }

    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Result<&Entry, String> {
        self.entries.iter().find(|e| e.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).take(10).collect();
            format!("{}: no tensor “{name}” (it has: {}{})", self.shown, names.join(", "), if self.entries.len() > 10 { ", …" } else { "" })
        })
    }
}

impl Source {
    /// Calls `f` with every tensor that decodes to values, one at a time, in file order.
    pub fn each(&self, mut f: impl FnMut(&Tensor) -> Result<(), String>) -> Result<(), String> {
        match self {
            Source::Whole(ts) => ts.iter().try_for_each(f),
            Source::Indexed(ix) => {
                let (mut raw, mut data) = (Vec::new(), Vec::new());
                for e in ix.entries.iter().filter(|e| ix.supported(e)) {
                    let t = ix.read_reusing(e, &mut raw, std::mem::take(&mut data))?;
                    f(&t)?;
                    data = t.data;
                }
                Ok(())
            }
        }
    }

    /// The tensor `name`, or the only one when `name` is none.
    pub fn tensor(self, name: Option<&str>, shown: &str) -> Result<Tensor, String> {
        let names: Vec<String> = match &self {
            Source::Whole(ts) => ts.iter().map(|t| t.name.clone()).collect(),
            Source::Indexed(ix) => ix.entries.iter().filter(|e| ix.supported(e)).map(|e| e.name.clone()).collect(),
        };
        let name = match name {
            Some(n) => n.to_string(),
            None if names.len() == 1 => names[0].clone(),
            None => return Err(format!("{shown} has {} tensors: choose one with --tensor (e.g. {})", names.len(), names.iter().take(10).cloned().collect::<Vec<_>>().join(", "))),
        };
        match self {
            Source::Whole(ts) => ts.into_iter().find(|t| t.name == name).ok_or_else(|| format!("{shown}: no tensor “{name}”")),
            Source::Indexed(ix) => {
                let e = ix.entry(&name)?;
                if !ix.supported(e) {
                    return Err(format!("{shown}, tensor “{name}”: {} is not decoded here", e.dtype));
                }
                ix.read(e)
            }
        }
    }
}
