//! GGUF, llama.cpp's model files (versions 2 and 3, little-endian). The header, the metadata and
//! the tensor table are read on their own first ([`read_header`]: from a prefix of the file, which
//! it asks to be longer until it holds them), so that a large file's tensors are listed before any
//! of their data is read; a tensor's bytes are then read and decoded alone ([`read_tensor`]).
//!
//! Every count and length the file claims is checked against the bytes there before anything is
//! allocated. Shapes are given in NumPy order: GGUF's `ne` reversed, so the last axis is `ne[0]`,
//! the row along which the blocks run.

use super::safetensors::Entry;
use super::{Elem, LoadError};
use crate::engine::formats::gguf::other::Other;
use crate::engine::formats::gguf::{BlockType, GgufType, KQuant};
use crate::engine::tensor::Tensor;

const MAGIC: &[u8; 4] = b"GGUF";
/// ggml's `GGML_MAX_DIMS`.
const MAX_DIMS: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;

/// A tensor type: how its values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    Plain(Elem),
    /// I8, I16, I32: integers, read as their values.
    Int(u8),
    Block(GgufType),
    Other(Other),
    /// A type this reader knows by name but does not decode (IQ2_XXS, …).
    Unsupported { block: usize, size: usize },
}

/// ggml type `id`: its name (gguf-py's spelling) and storage.
fn ggml_type(id: u32) -> Option<(&'static str, Stored)> {
    use Stored::*;
    let q = |t| Block(GgufType::Legacy(t));
    let k = |t| Block(GgufType::K(t));
    let u = |block, size| Unsupported { block, size };
    Some(match id {
        0 => ("F32", Plain(Elem::F32)),
        1 => ("F16", Plain(Elem::F16)),
        2 => ("Q4_0", q(BlockType::Q4_0)),
        3 => ("Q4_1", q(BlockType::Q4_1)),
        6 => ("Q5_0", q(BlockType::Q5_0)),
        7 => ("Q5_1", q(BlockType::Q5_1)),
        8 => ("Q8_0", q(BlockType::Q8_0)),
        9 => ("Q8_1", u(32, 40)),
        10 => ("Q2_K", k(KQuant::Q2K)),
        11 => ("Q3_K", k(KQuant::Q3K)),
        12 => ("Q4_K", k(KQuant::Q4K)),
        13 => ("Q5_K", k(KQuant::Q5K)),
        14 => ("Q6_K", k(KQuant::Q6K)),
        15 => ("Q8_K", u(256, 292)),
        16 => ("IQ2_XXS", u(256, 66)),
        17 => ("IQ2_XS", u(256, 74)),
        18 => ("IQ3_XXS", u(256, 98)),
        19 => ("IQ1_S", u(256, 50)),
        20 => ("IQ4_NL", Other(self::Other::Iq4Nl)),
        21 => ("IQ3_S", u(256, 110)),
        22 => ("IQ2_S", u(256, 82)),
        23 => ("IQ4_XS", u(256, 136)),
        24 => ("I8", Int(1)),
        25 => ("I16", Int(2)),
        26 => ("I32", Int(4)),
        27 => ("I64", u(1, 8)),
        28 => ("F64", Plain(Elem::F64)),
        29 => ("IQ1_M", u(256, 56)),
        30 => ("BF16", Plain(Elem::BF16)),
        34 => ("TQ1_0", u(256, 54)),
        35 => ("TQ2_0", u(256, 66)),
        39 => ("MXFP4", Other(self::Other::Mxfp4)),
        40 => ("NVFP4", u(64, 36)),
        41 => ("Q1_0", u(128, 18)),
        _ => return None,
    })
}

impl Stored {
    /// Values per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        match self {
            Stored::Plain(e) => (1, e.size()),
            Stored::Int(n) => (1, usize::from(n)),
            Stored::Block(t) => (t.block_size(), t.type_size()),
            Stored::Other(o) => (crate::engine::formats::gguf::other::BLOCK, o.type_size()),
            Stored::Unsupported { block, size } => (block, size),
        }
    }

    /// The storage of a type named as gguf-py names it.
    pub fn of(dtype: &str) -> Option<Stored> {
        (0..64).filter_map(ggml_type).find(|(n, _)| *n == dtype).map(|(_, s)| s)
    }
}

/// A metadata value: numbers and strings as they are; arrays by element type and length.
#[derive(Clone, Debug, PartialEq)]
pub enum Meta {
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(String),
    Array { elem: &'static str, len: u64 },
}

impl std::fmt::Display for Meta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Meta::Int(v) => write!(f, "{v}"),
            Meta::UInt(v) => write!(f, "{v}"),
            Meta::Float(v) => write!(f, "{v}"),
            Meta::Bool(v) => write!(f, "{v}"),
            Meta::Str(s) => write!(f, "{s}"),
            Meta::Array { elem, len } => write!(f, "[{len} × {elem}]"),
        }
    }
}

/// What the header holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub version: u32,
    pub metadata: Vec<(String, Meta)>,
    /// The tensors in file order: name, type name, NumPy shape and absolute byte range.
    pub entries: Vec<Entry>,
    pub alignment: u64,
    pub data_start: u64,
}

impl Header {
    /// A metadata value by key.
    pub fn meta(&self, key: &str) -> Option<&Meta> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `general.file_type` as llama.cpp names it (`MOSTLY_Q4_K_M`).
    pub fn file_type(&self) -> Option<String> {
        let id = match self.meta("general.file_type")? {
            Meta::UInt(v) => *v as i64,
            Meta::Int(v) => *v,
            _ => return None,
        };
        const NAMES: [&str; 41] = [
            "ALL_F32", "MOSTLY_F16", "MOSTLY_Q4_0", "MOSTLY_Q4_1", "MOSTLY_Q4_1_SOME_F16", "", "", "MOSTLY_Q8_0", "MOSTLY_Q5_0", "MOSTLY_Q5_1",
            "MOSTLY_Q2_K", "MOSTLY_Q3_K_S", "MOSTLY_Q3_K_M", "MOSTLY_Q3_K_L", "MOSTLY_Q4_K_S", "MOSTLY_Q4_K_M", "MOSTLY_Q5_K_S", "MOSTLY_Q5_K_M",
            "MOSTLY_Q6_K", "MOSTLY_IQ2_XXS", "MOSTLY_IQ2_XS", "MOSTLY_Q2_K_S", "MOSTLY_IQ3_XS", "MOSTLY_IQ3_XXS", "MOSTLY_IQ1_S", "MOSTLY_IQ4_NL",
            "MOSTLY_IQ3_S", "MOSTLY_IQ3_M", "MOSTLY_IQ2_S", "MOSTLY_IQ2_M", "MOSTLY_IQ4_XS", "MOSTLY_IQ1_M", "MOSTLY_BF16", "", "", "",
            "MOSTLY_TQ1_0", "MOSTLY_TQ2_0", "MOSTLY_MXFP4_MOE", "MOSTLY_NVFP4", "MOSTLY_Q1_0",
        ];
        Some(NAMES.get(id as usize).filter(|n| !n.is_empty()).map_or(format!("type {id}"), |n| n.to_string()))
    }
}

/// What a GGUF file says about itself, for the CLI's and the page's summary line.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub version: u32,
    pub architecture: String,
    pub file_type: String,
    pub quantization_version: String,
    pub tensors: usize,
    /// Bytes of tensor data.
    pub bytes: u64,
}

impl Header {
    pub fn facts(&self) -> Facts {
        let meta = |k: &str| self.meta(k).map_or("—".to_string(), |v| v.to_string());
        Facts {
            version: self.version,
            architecture: meta("general.architecture"),
            file_type: self.file_type().unwrap_or_else(|| "—".into()),
            quantization_version: meta("general.quantization_version"),
            tensors: self.entries.len(),
            bytes: self.entries.iter().map(|e| e.end - e.start).sum(),
        }
    }
}

/// Running out of the prefix is not an error while the file has more.
enum Stop {
    Short,
    Bad(LoadError),
}

struct Cursor<'a> {
    file: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], Stop> {
        let end = usize::try_from(n).ok().and_then(|n| self.at.checked_add(n)).ok_or(Stop::Short)?;
        let s = self.bytes.get(self.at..end).ok_or(Stop::Short)?;
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, Stop> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, Stop> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn bad(&self, tensor: Option<&str>, problem: impl Into<String>) -> Stop {
        Stop::Bad(LoadError::new(self.file, tensor, problem))
    }
    fn string(&mut self, what: &str, file_len: u64) -> Result<String, Stop> {
        let len = self.u64()?;
        if len > file_len {
            return Err(self.bad(None, format!("{what}: a string of {len} bytes is longer than the file")));
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.bad(None, format!("{what}: a string that is not UTF-8")))
    }
    /// A value of type `ty`; arrays are walked but not kept.
    fn value(&mut self, ty: u32, key: &str, file_len: u64, depth: u32) -> Result<Meta, Stop> {
        let le = |b: &[u8]| -> [u8; 8] {
            let mut a = [0u8; 8];
            a[..b.len()].copy_from_slice(b);
            a
        };
        Ok(match ty {
            0 => Meta::UInt(u64::from(self.take(1)?[0])),
            1 => Meta::Int(i64::from(self.take(1)?[0] as i8)),
            2 => Meta::UInt(u64::from_le_bytes(le(self.take(2)?))),
            3 => Meta::Int(i64::from(i16::from_le_bytes(self.take(2)?.try_into().expect("2")))),
            4 => Meta::UInt(u64::from(self.u32()?)),
            5 => Meta::Int(i64::from(self.u32()? as i32)),
            6 => Meta::Float(f64::from(f32::from_bits(self.u32()?))),
            7 => Meta::Bool(self.take(1)?[0] != 0),
            8 => Meta::Str(self.string(key, file_len)?),
            9 => {
                if depth > 0 {
                    return Err(self.bad(None, format!("metadata “{key}”: arrays nested deeper than one level")));
                }
                let elem_ty = self.u32()?;
                let len = self.u64()?;
                let elem = type_name(elem_ty).ok_or_else(|| self.bad(None, format!("metadata “{key}”: unknown array element type {elem_ty}")))?;
                // Every element takes at least one byte (a string, eight).
                let least = if elem_ty == 8 { 8 } else { 1 };
                if len.checked_mul(least).is_none_or(|n| n > file_len) {
                    return Err(self.bad(None, format!("metadata “{key}”: an array of {len} elements cannot fit in the file")));
                }
                match fixed_size(elem_ty) {
                    Some(size) => {
                        self.take(len * size)?;
                    }
                    None => {
                        for _ in 0..len {
                            self.value(elem_ty, key, file_len, depth + 1)?;
                        }
                    }
                }
                Meta::Array { elem, len }
            }
            10 => Meta::UInt(self.u64()?),
            11 => Meta::Int(self.u64()? as i64),
            12 => Meta::Float(f64::from_bits(self.u64()?)),
            other => return Err(self.bad(None, format!("metadata “{key}”: unknown value type {other}"))),
        })
    }
}

fn type_name(ty: u32) -> Option<&'static str> {
    ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"].get(ty as usize).copied()
}

fn fixed_size(ty: u32) -> Option<u64> {
    [Some(1), Some(1), Some(2), Some(2), Some(4), Some(4), Some(4), Some(1), None, None, Some(8), Some(8), Some(8)].get(ty as usize).copied().flatten()
}

/// Reads the header from `prefix`, the first bytes of a file of `file_len` bytes. `Ok(None)`:
/// the prefix ends inside the header; read a longer one (at least twice as long).
pub fn read_header(file: &str, prefix: &[u8], file_len: u64) -> Result<Option<Header>, LoadError> {
    let complete = prefix.len() as u64 >= file_len;
    match parse(file, prefix, file_len) {
        Ok(h) => Ok(Some(h)),
        Err(Stop::Bad(e)) => Err(e),
        Err(Stop::Short) if complete => Err(LoadError::new(file, None, format!("the header runs past the end of the file ({file_len} bytes): truncated?"))),
        Err(Stop::Short) => Ok(None),
    }
}

fn parse(file: &str, prefix: &[u8], file_len: u64) -> Result<Header, Stop> {
    let mut c = Cursor { file, bytes: prefix, at: 0 };
    if c.take(4)? != MAGIC {
        return Err(c.bad(None, "not a GGUF file (it does not start with “GGUF”)"));
    }
    let version = c.u32()?;
    if version.swap_bytes() == 2 || version.swap_bytes() == 3 {
        return Err(c.bad(None, "a big-endian GGUF file: only little-endian files are read"));
    }
    if !(2..=3).contains(&version) {
        return Err(c.bad(None, format!("GGUF version {version} is not supported (2 and 3 are)")));
    }
    let tensors = c.u64()?;
    let kvs = c.u64()?;
    // A key-value pair takes at least 12 bytes, a tensor's entry at least 24.
    if kvs.checked_mul(12).is_none_or(|n| n > file_len) {
        return Err(c.bad(None, format!("the header claims {kvs} metadata entries, more than the file can hold")));
    }
    if tensors.checked_mul(24).is_none_or(|n| n > file_len) {
        return Err(c.bad(None, format!("the header claims {tensors} tensors, more than the file can hold")));
    }
    let mut metadata = Vec::with_capacity(kvs.min(4096) as usize);
    for _ in 0..kvs {
        let key = c.string("a metadata key", file_len)?;
        let ty = c.u32()?;
        let value = c.value(ty, &key, file_len, 0)?;
        metadata.push((key, value));
    }
    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment").map(|(_, v)| v) {
        None => DEFAULT_ALIGNMENT,
        Some(Meta::UInt(a)) if *a > 0 && a.is_power_of_two() => *a,
        Some(other) => return Err(c.bad(None, format!("general.alignment {other} is not a power of two"))),
    };
    let mut infos = Vec::with_capacity(tensors.min(1 << 16) as usize);
    for _ in 0..tensors {
        let name = c.string("a tensor name", file_len)?;
        let dims = c.u32()?;
        if dims == 0 || dims > MAX_DIMS {
            return Err(c.bad(Some(&name), format!("{dims} dimensions (1 to {MAX_DIMS} are allowed)")));
        }
        let mut ne = Vec::with_capacity(dims as usize);
        for _ in 0..dims {
            ne.push(c.u64()?);
        }
        let ty = c.u32()?;
        let offset = c.u64()?;
        infos.push((name, ne, ty, offset));
    }
    let data_start = (c.at as u64).div_ceil(alignment) * alignment;
    let mut entries = Vec::with_capacity(infos.len());
    for (name, ne, ty, offset) in infos {
        let (dtype, stored) = ggml_type(ty).ok_or_else(|| c.bad(Some(&name), format!("unknown tensor type {ty}")))?;
        let (block, size) = stored.block();
        let count = ne.iter().try_fold(1u64, |a, &d| a.checked_mul(d)).filter(|&n| n <= file_len.saturating_mul(8));
        let Some(count) = count else { return Err(c.bad(Some(&name), format!("shape {ne:?} is too large"))) };
        if ne[0] % block as u64 != 0 {
            return Err(c.bad(Some(&name), format!("rows of {} values are not whole blocks of {block} ({dtype})", ne[0])));
        }
        if offset % alignment != 0 {
            return Err(c.bad(Some(&name), format!("data offset {offset} is not a multiple of the alignment {alignment}")));
        }
        let bytes = count / block as u64 * size as u64;
        let start = data_start.checked_add(offset);
        let end = start.and_then(|s| s.checked_add(bytes)).filter(|&e| e <= file_len);
        let (Some(start), Some(end)) = (start, end) else {
            return Err(c.bad(Some(&name), format!("its {bytes} bytes of {dtype} data at offset {offset} lie past the end of the file ({file_len} bytes): truncated?")));
        };
        let shape = ne.iter().rev().map(|&d| d as usize).collect();
        entries.push(Entry { name, dtype: dtype.to_string(), shape, start, end });
    }
    Ok(Header { version, metadata, entries, alignment, data_start })
}

/// Whether [`read_tensor`] decodes a tensor of type `dtype`.
pub fn supported(dtype: &str) -> bool {
    Stored::of(dtype).is_some_and(|s| !matches!(s, Stored::Unsupported { .. }))
}

/// Decodes one tensor from exactly its bytes (`bytes[i]` is file byte `entry.start + i`).
pub fn read_tensor(file: &str, entry: &Entry, bytes: &[u8]) -> Result<Tensor, LoadError> {
    let fail = |p: String| LoadError::new(file, Some(&entry.name), p);
    let want = (entry.end - entry.start) as usize;
    if bytes.len() != want {
        return Err(fail(format!("expected {want} bytes of data, got {}", bytes.len())));
    }
    let data = match Stored::of(&entry.dtype) {
        Some(Stored::Plain(e)) => e.decode(bytes, true),
        Some(Stored::Int(1)) => bytes.iter().map(|&b| f32::from(b as i8)).collect(),
        Some(Stored::Int(2)) => bytes.chunks_exact(2).map(|b| f32::from(i16::from_le_bytes([b[0], b[1]]))).collect(),
        Some(Stored::Int(_)) => bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32).collect(),
        Some(Stored::Block(t)) => t.dequantize(bytes).map_err(|e| fail(e.to_string()))?,
        Some(Stored::Other(o)) => o.dequantize(bytes).map_err(|e| fail(e.to_string()))?,
        _ => return Err(fail(format!("{} is not decoded here", entry.dtype))),
    };
    Ok(Tensor { name: entry.name.clone(), shape: entry.shape.clone(), data, stored_as: entry.dtype.clone() })
}

/// Reads every tensor of a whole file that can be decoded (the others are skipped).
pub fn read_all(file: &str, bytes: &[u8]) -> Result<Vec<Tensor>, LoadError> {
    let header = read_header(file, bytes, bytes.len() as u64)?.expect("the whole file is there");
    header.entries.iter().filter(|e| supported(&e.dtype)).map(|e| read_tensor(file, e, &bytes[e.start as usize..e.end as usize])).collect()
}

/// Writes a GGUF v3 file (for tests): `metadata` as strings or u32s, and tensors already
/// encoded, each `(name, NumPy shape, ggml type id, bytes)`.
pub fn write(metadata: &[(&str, Meta)], tensors: &[(&str, &[usize], u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let string = |out: &mut Vec<u8>, s: &str| {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    };
    out.extend(MAGIC);
    out.extend(3u32.to_le_bytes());
    out.extend((tensors.len() as u64).to_le_bytes());
    out.extend((metadata.len() as u64).to_le_bytes());
    for (k, v) in metadata {
        string(&mut out, k);
        match v {
            Meta::Str(s) => {
                out.extend(8u32.to_le_bytes());
                string(&mut out, s);
            }
            Meta::UInt(u) => {
                out.extend(4u32.to_le_bytes());
                out.extend((*u as u32).to_le_bytes());
            }
            other => panic!("write: metadata {other:?} is not written by this test helper"),
        }
    }
    let mut offset = 0u64;
    let mut offsets = Vec::new();
    for (name, shape, ty, bytes) in tensors {
        string(&mut out, name);
        out.extend((shape.len() as u32).to_le_bytes());
        for &d in shape.iter().rev() {
            out.extend((d as u64).to_le_bytes());
        }
        out.extend(ty.to_le_bytes());
        out.extend(offset.to_le_bytes());
        offsets.push(offset);
        offset = (offset + bytes.len() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
    }
    let start = (out.len() as u64).div_ceil(DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT;
    out.resize(start as usize, 0);
    for ((_, _, _, bytes), off) in tensors.iter().zip(offsets) {
        out.resize((start + off) as usize, 0);
        out.extend(*bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let xs: Vec<f32> = (0..64).map(|i| i as f32 / 10.0 - 3.0).collect();
        let q8 = GgufType::Legacy(BlockType::Q8_0).quantize(&xs).unwrap();
        let f32s: Vec<u8> = xs.iter().flat_map(|x| x.to_le_bytes()).collect();
        write(
            &[("general.architecture", Meta::Str("llama".into())), ("general.file_type", Meta::UInt(7))],
            &[("blk.0.w", &[2, 32], 8, &q8), ("norm", &[64], 0, &f32s)],
        )
    }

    #[test]
    fn the_header_lists_tensors_in_numpy_order() {
        let bytes = sample();
        let h = read_header("m.gguf", &bytes, bytes.len() as u64).unwrap().unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.meta("general.architecture"), Some(&Meta::Str("llama".into())));
        assert_eq!(h.file_type().as_deref(), Some("MOSTLY_Q8_0"));
        assert_eq!(h.entries.iter().map(|e| (e.name.as_str(), e.dtype.as_str(), e.shape.clone())).collect::<Vec<_>>(), [("blk.0.w", "Q8_0", vec![2, 32]), ("norm", "F32", vec![64])]);
        let all = read_all("m.gguf", &bytes).unwrap();
        assert_eq!(all[1].data[5], 5.0 / 10.0 - 3.0);
        assert!((all[0].data[63] - 3.3).abs() < 0.02);
        // Any prefix shorter than the header asks for more; the header itself is enough.
        let enough = (0..bytes.len()).find(|&cut| read_header("m.gguf", &bytes[..cut], bytes.len() as u64).unwrap().is_some()).unwrap();
        assert!(enough as u64 <= h.data_start && enough as u64 > h.data_start - h.alignment, "{enough}");
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let bytes = sample();
        let err = |b: &[u8]| read_header("m.gguf", b, b.len() as u64).unwrap_err().to_string();
        assert!(err(b"GGML\x03\0\0\0").contains("not a GGUF file"));
        assert!(err(&bytes[..bytes.len() - 1]).contains("“norm”"), "{}", err(&bytes[..bytes.len() - 1]));
        let mut huge = bytes.clone();
        huge[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&huge).contains("tensors, more than the file can hold"));
        let mut v1 = bytes.clone();
        v1[4] = 1;
        assert!(err(&v1).contains("version 1"));
        let mut unknown = bytes.clone();
        let at = unknown.windows(7).position(|w| w == b"blk.0.w").unwrap() + 7 + 4 + 16;
        unknown[at] = 99;
        assert!(err(&unknown).contains("unknown tensor type 99"), "{}", err(&unknown));
    }
}
