//! Reading tensors from files: `.npy`, `.npz`, `.safetensors`, GGUF and ONNX models.
//!
//! Every parser works on bytes (the browser hands it a `File`'s contents, the CLI a file's), never
//! panics, and never allocates more than the input justifies: sizes claimed by a header are
//! checked against the bytes that are actually there before anything is allocated. Errors name the
//! file, the tensor (when there is one) and what is wrong.

pub mod gguf;
pub mod npy;
pub mod npz;
pub mod onnx;
pub mod safetensors;

use super::tensor::Tensor;

/// A file that could not be read, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{file}{}: {problem}", tensor.as_ref().map(|t| format!(", tensor “{t}”")).unwrap_or_default())]
pub struct LoadError {
    pub file: String,
    pub tensor: Option<String>,
    pub problem: String,
}

impl LoadError {
    pub fn new(file: &str, tensor: Option<&str>, problem: impl Into<String>) -> LoadError {
        LoadError { file: file.to_string(), tensor: tensor.map(str::to_string), problem: problem.into() }
    }
}

/// Options for [`load`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// ONNX: fold each BatchNormalization into the Conv before it (`w·γ/√(var + ε)`).
    pub fold_bn: bool,
}

/// The formats [`load`] understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Npy,
    Npz,
    Safetensors,
    Gguf,
    Onnx,
}

impl Format {
    /// The format of `file`, from its extension.
    pub fn of(file: &str) -> Option<Format> {
        let ext = file.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
        match ext.as_str() {
            "npy" => Some(Format::Npy),
            "npz" => Some(Format::Npz),
            "safetensors" => Some(Format::Safetensors),
            "gguf" => Some(Format::Gguf),
            "onnx" => Some(Format::Onnx),
            _ => None,
        }
    }
}

/// Reads every tensor of `bytes`, named `file` (its extension picks the format).
pub fn load(file: &str, bytes: &[u8], options: LoadOptions) -> Result<Vec<Tensor>, LoadError> {
    match Format::of(file) {
        Some(Format::Npy) => {
            let stem = file.rsplit(['/', '\\']).next().unwrap_or(file);
            let name = stem.strip_suffix(".npy").unwrap_or(stem);
            Ok(vec![npy::read(file, name, bytes)?])
        }
        Some(Format::Npz) => npz::read(file, bytes),
        Some(Format::Safetensors) => safetensors::read_all(file, bytes),
        Some(Format::Gguf) => gguf::read_all(file, bytes),
        #[cfg(feature = "models")]
        Some(Format::Onnx) => onnx::read(file, bytes, options.fold_bn),
        // The page hands ONNX files to the model worker (`ModelSpec::Read`).
        #[cfg(not(feature = "models"))]
        Some(Format::Onnx) => {
            let _ = options;
            Err(LoadError::new(file, None, "ONNX files are read in the model worker"))
        }
        None => Err(LoadError::new(file, None, "unknown file type (expected .npy, .npz, .safetensors, .gguf or .onnx)")),
    }
}

/// Checked element count of a shape claimed by a file, bounded by the bytes available.
pub(crate) fn checked_count(file: &str, tensor: &str, shape: &[usize], item: usize, available: usize) -> Result<usize, LoadError> {
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| LoadError::new(file, Some(tensor), format!("shape {shape:?} is too large")))?;
    let bytes = count.checked_mul(item).ok_or_else(|| LoadError::new(file, Some(tensor), format!("shape {shape:?} is too large")))?;
    if bytes > available {
        return Err(LoadError::new(
            file,
            Some(tensor),
            format!("shape {shape:?} needs {bytes} bytes of data, but only {available} are there (truncated file?)"),
        ));
    }
    Ok(count)
}

/// Element types the loaders convert to f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    F16,
    BF16,
    F32,
    F64,
    /// FP8 E4M3FN (safetensors' `F8_E4M3`, ONNX's FLOAT8E4M3FN).
    F8E4M3,
    /// FP8 E5M2.
    F8E5M2,
}

impl Elem {
    pub fn size(self) -> usize {
        match self {
            Elem::F8E4M3 | Elem::F8E5M2 => 1,
            Elem::F16 | Elem::BF16 => 2,
            Elem::F32 => 4,
            Elem::F64 => 8,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Elem::F16 => "f16",
            Elem::BF16 => "bf16",
            Elem::F32 => "f32",
            Elem::F64 => "f64",
            Elem::F8E4M3 => "f8e4m3",
            Elem::F8E5M2 => "f8e5m2",
        }
    }

    /// Decodes `bytes` (a whole number of elements) to f32.
    pub fn decode(self, bytes: &[u8], little_endian: bool) -> Vec<f32> {
        let mut out = vec![0f32; bytes.len() / self.size()];
        self.decode_into(bytes, little_endian, &mut out);
        out
    }

    /// Decodes `bytes` into `out`, one value per element (`out.len()` elements are decoded): a
    /// large tensor can be decoded a part at a time, or by several threads into parts of one
    /// buffer.
    pub fn decode_into(self, bytes: &[u8], little_endian: bool, out: &mut [f32]) {
        let chunks = bytes.chunks_exact(self.size());
        macro_rules! each {
            ($t:ty, $conv:expr) => {
                for (o, c) in out.iter_mut().zip(chunks) {
                    let arr: [u8; std::mem::size_of::<$t>()] = c.try_into().expect("chunks_exact");
                    let v = if little_endian { <$t>::from_le_bytes(arr) } else { <$t>::from_be_bytes(arr) };
                    *o = $conv(v);
                }
            };
        }
        match self {
            Elem::F16 => each!(u16, |b| half::f16::from_bits(b).to_f32()),
            Elem::BF16 => each!(u16, |b| half::bf16::from_bits(b).to_f32()),
            Elem::F32 => each!(f32, |v| v),
            Elem::F64 => each!(f64, |v: f64| v as f32),
            Elem::F8E4M3 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = crate::engine::formats::minifloat::E4M3.decode(b)),
            Elem::F8E5M2 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = crate::engine::formats::minifloat::E5M2.decode(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_file_tensor_and_problem() {
        let e = LoadError::new("model.onnx", Some("conv1.weight"), "bad shape");
        assert_eq!(e.to_string(), "model.onnx, tensor “conv1.weight”: bad shape");
        assert_eq!(LoadError::new("x.npy", None, "no magic").to_string(), "x.npy: no magic");
        assert!(load("weights.bin", &[], LoadOptions::default()).unwrap_err().problem.contains("unknown file type"));
    }

    #[test]
    fn decodes_element_types() {
        assert_eq!(Elem::F16.decode(&[0x00, 0x3c, 0x00, 0xc0], true), vec![1.0, -2.0]);
        assert_eq!(Elem::BF16.decode(&[0x80, 0x3f], true), vec![1.0]);
        assert_eq!(Elem::F32.decode(&1.5f32.to_be_bytes(), false), vec![1.5]);
        assert_eq!(Elem::F64.decode(&0.25f64.to_le_bytes(), true), vec![0.25]);
        // 0x7e is E4M3's 448, 0x7b E5M2's 57344; 0x80 is −0.
        assert_eq!(Elem::F8E4M3.decode(&[0x7e, 0x38], true), vec![448.0, 1.0]);
        assert_eq!(Elem::F8E5M2.decode(&[0x7b, 0x3c], true), vec![57344.0, 1.0]);
        assert_eq!(checked_count("f", "t", &[usize::MAX, 2], 4, 10).unwrap_err().problem, "shape [18446744073709551615, 2] is too large");
        assert!(checked_count("f", "t", &[4], 4, 15).unwrap_err().problem.contains("truncated"));
    }
}
