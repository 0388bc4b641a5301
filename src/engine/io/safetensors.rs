//! `.safetensors` (F16, BF16, F32, F64, F8_E4M3, F8_E5M2). The header is read on its own first, so that a large
//! file's tensor list is known before any data is read ([`header_len`], [`read_index`]); a tensor's
//! bytes are then read and decoded alone ([`read_tensor`]).

use super::{checked_count, Elem, LoadError};
use crate::engine::tensor::Tensor;

/// One tensor of the index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// The stored element type, as the file names it (e.g. "BF16").
    pub dtype: String,
    pub shape: Vec<usize>,
    /// Byte range of the tensor's data within the file (absolute offsets).
    pub start: u64,
    pub end: u64,
}

impl Entry {
    pub fn elem(&self) -> Option<Elem> {
        match self.dtype.as_str() {
            "F16" => Some(Elem::F16),
            "BF16" => Some(Elem::BF16),
            "F32" => Some(Elem::F32),
            "F64" => Some(Elem::F64),
            "F8_E4M3" => Some(Elem::F8E4M3),
            "F8_E5M2" => Some(Elem::F8E5M2),
            _ => None,
        }
    }

    /// Whether [`read_tensor`] can decode it.
    pub fn supported(&self) -> bool {
        self.elem().is_some()
    }
}

/// How many bytes from the start of the file hold the header (8-byte length + JSON), read from
/// the first 8 bytes.
pub fn header_len(file: &str, first8: &[u8], file_len: u64) -> Result<u64, LoadError> {
    let b: [u8; 8] = first8.get(..8).and_then(|b| b.try_into().ok()).ok_or_else(|| LoadError::new(file, None, "too short for a .safetensors header"))?;
    let n = u64::from_le_bytes(b);
    if n > 100 << 20 {
        return Err(LoadError::new(file, None, format!("header length {n} is implausibly large")));
    }
    if 8 + n > file_len {
        return Err(LoadError::new(file, None, format!("header of {n} bytes does not fit in a file of {file_len} bytes (truncated?)")));
    }
    Ok(8 + n)
}

/// Parses the header (`prefix` holds at least [`header_len`] bytes) into the tensor list, in file
/// order, with every entry checked against `file_len`.
pub fn read_index(file: &str, prefix: &[u8], file_len: u64) -> Result<Vec<Entry>, LoadError> {
    let len = header_len(file, prefix, file_len)? as usize;
    let json = prefix.get(8..len).ok_or_else(|| LoadError::new(file, None, "header is cut short"))?;
    let metadata: safetensors::tensor::Metadata = serde_json::from_slice(json).map_err(|e| diagnose(file, json, e))?;
    let data_start = len as u64;
    let mut entries: Vec<Entry> = metadata
        .tensors()
        .into_iter()
        .map(|(name, info)| Entry {
            name,
            dtype: format!("{:?}", info.dtype),
            shape: info.shape.clone(),
            start: data_start + info.data_offsets.0 as u64,
            end: data_start + info.data_offsets.1 as u64,
        })
        .collect();
    entries.sort_by_key(|e| (e.start, e.name.clone()));
    for e in &entries {
        if e.end < e.start || e.end > file_len {
            return Err(LoadError::new(file, Some(&e.name), format!("data [{}, {}) lies outside the file of {file_len} bytes (truncated?)", e.start, e.end)));
        }
        if let Some(elem) = e.elem() {
            let avail = (e.end - e.start) as usize;
            let count = checked_count(file, &e.name, &e.shape, elem.size(), avail)?;
            if count * elem.size() != avail {
                return Err(LoadError::new(file, Some(&e.name), format!("shape {:?} of {} needs {} bytes, the header gives {avail}", e.shape, e.dtype, count * elem.size())));
            }
        }
    }
    Ok(entries)
}

/// Names the tensor behind a header the safetensors crate rejected, where one can be found.
fn diagnose(file: &str, json: &[u8], e: serde_json::Error) -> LoadError {
    let generic = LoadError::new(file, None, format!("invalid header: {e}"));
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(json) else { return generic };
    for (name, info) in map.iter().filter(|(k, _)| *k != "__metadata__") {
        let size = match info["dtype"].as_str() {
            Some("F16" | "BF16" | "I16" | "U16") => 2,
            Some("F32" | "I32" | "U32") => 4,
            Some("F64" | "I64" | "U64") => 8,
            Some("I8" | "U8" | "BOOL" | "F8_E4M3" | "F8_E5M2") => 1,
            Some(other) => return LoadError::new(file, Some(name), format!("unknown element type {other}")),
            None => return LoadError::new(file, Some(name), "entry has no dtype"),
        };
        let shape: Option<Vec<u64>> = info["shape"].as_array().map(|a| a.iter().filter_map(|d| d.as_u64()).collect());
        let offsets: Option<Vec<u64>> = info["data_offsets"].as_array().map(|a| a.iter().filter_map(|d| d.as_u64()).collect());
        let (Some(shape), Some(offsets)) = (shape, offsets) else {
            return LoadError::new(file, Some(name), "entry needs a shape and data_offsets");
        };
        let need = shape.iter().try_fold(size as u64, |a, &d| a.checked_mul(d));
        if offsets.len() != 2 || offsets[1] < offsets[0] || need != Some(offsets[1] - offsets[0]) {
            return LoadError::new(file, Some(name), format!("shape {shape:?} does not fit data_offsets {offsets:?}"));
        }
    }
    generic
}

/// Decodes one tensor from exactly its bytes (`bytes[i]` is file byte `entry.start + i`).
pub fn read_tensor(file: &str, entry: &Entry, bytes: &[u8]) -> Result<Tensor, LoadError> {
    let elem = entry
        .elem()
        .ok_or_else(|| LoadError::new(file, Some(&entry.name), format!("element type {} is not supported (F16, BF16, F32, F64, F8_E4M3, F8_E5M2 are)", entry.dtype)))?;
    let want = (entry.end - entry.start) as usize;
    if bytes.len() != want {
        return Err(LoadError::new(file, Some(&entry.name), format!("expected {want} bytes of data, got {}", bytes.len())));
    }
    Ok(Tensor { name: entry.name.clone(), shape: entry.shape.clone(), data: elem.decode(bytes, true), stored_as: elem.name().into() })
}

/// Reads every supported tensor of a whole file (others are skipped).
pub fn read_all(file: &str, bytes: &[u8]) -> Result<Vec<Tensor>, LoadError> {
    let entries = read_index(file, bytes, bytes.len() as u64)?;
    if !entries.iter().any(Entry::supported) {
        let kinds: Vec<String> = entries.iter().map(|e| format!("{} ({})", e.name, e.dtype)).take(5).collect();
        return Err(LoadError::new(file, None, format!("no F16/BF16/F32/F64/F8 tensors (found: {})", if kinds.is_empty() { "none".into() } else { kinds.join(", ") })));
    }
    entries
        .iter()
        .filter(|e| e.supported())
        .map(|e| read_tensor(file, e, &bytes[e.start as usize..e.end as usize]))
        .collect()
}

/// Writes f32 tensors as a `.safetensors` file (for tests and exports), in the given order.
pub fn write_f32(tensors: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0usize;
    for (name, shape, data) in tensors {
        let end = offset + data.len() * 4;
        header.insert(name.to_string(), serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, end]}));
        offset = end;
    }
    let mut json = serde_json::to_string(&header).expect("a map serializes");
    while !(8 + json.len()).is_multiple_of(8) {
        json.push(' ');
    }
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    for (_, _, data) in tensors {
        for v in *data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FP8 tensors as safetensors stores them (one byte a value): every code decodes to the
    /// value the minifloat types give it (checked against ml_dtypes in tests/golden_formats.rs).
    #[test]
    fn fp8_tensors_decode_every_code() {
        use crate::engine::formats::minifloat::{E4M3, E5M2};
        let json = r#"{"a":{"dtype":"F8_E4M3","shape":[16,16],"data_offsets":[0,256]},"b":{"dtype":"F8_E5M2","shape":[256],"data_offsets":[256,512]}}"#;
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend(json.as_bytes());
        bytes.extend((0..=255u8).chain(0..=255u8));
        let ts = read_all("f8.safetensors", &bytes).unwrap();
        assert_eq!((ts[0].shape.as_slice(), ts[0].stored_as.as_str(), ts[1].stored_as.as_str()), (&[16, 16][..], "f8e4m3", "f8e5m2"));
        for c in 0..=255u8 {
            let (a, b) = (ts[0].data[c as usize], ts[1].data[c as usize]);
            assert!(a.to_bits() == E4M3.decode(c).to_bits() || (a.is_nan() && E4M3.decode(c).is_nan()), "{c}");
            assert!(b.to_bits() == E5M2.decode(c).to_bits() || (b.is_nan() && E5M2.decode(c).is_nan()), "{c}");
        }
    }

    #[test]
    fn header_first_then_one_tensor() {
        let bytes = write_f32(&[("a", &[2], &[1.0, 2.0]), ("b.weight", &[1, 3], &[3.0, 4.0, 5.0])]);
        let n = header_len("m.safetensors", &bytes[..8], bytes.len() as u64).unwrap() as usize;
        let index = read_index("m.safetensors", &bytes[..n], bytes.len() as u64).unwrap();
        assert_eq!(index.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a", "b.weight"]);
        let b = &index[1];
        let t = read_tensor("m.safetensors", b, &bytes[b.start as usize..b.end as usize]).unwrap();
        assert_eq!((t.shape, t.data), (vec![1, 3], vec![3.0, 4.0, 5.0]));
        assert_eq!(read_all("m.safetensors", &bytes).unwrap().len(), 2);
    }

    #[test]
    fn half_precision_and_bad_files() {
        // A BF16 tensor written by hand: [1.0, -2.0].
        let json = br#"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#;
        let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(json);
        bytes.extend_from_slice(&[0x80, 0x3f, 0x00, 0xc0]);
        assert_eq!(read_all("h.safetensors", &bytes).unwrap()[0].data, vec![1.0, -2.0]);
        let problem = |b: &[u8]| read_all("x.safetensors", b).unwrap_err().to_string();
        assert!(problem(&bytes[..bytes.len() - 1]).contains("truncated"));
        assert!(problem(&[1, 2, 3]).contains("too short"));
        assert!(problem(&u64::MAX.to_le_bytes()).contains("implausibly large"));
        let mut bad = (5u64).to_le_bytes().to_vec();
        bad.extend_from_slice(b"{oops");
        assert!(problem(&bad).contains("invalid header"));
        let json = br#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,4]}}"#;
        let mut wrong = (json.len() as u64).to_le_bytes().to_vec();
        wrong.extend_from_slice(json);
        wrong.extend_from_slice(&[0; 4]);
        let msg = problem(&wrong);
        assert!(msg.contains("tensor “w”"), "{msg}");
    }
}
