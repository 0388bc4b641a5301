//! What an ONNX model declares, as plain data: its inputs (element types and dimensions, fixed
//! or named) and its nodes. Read by `graph`; the page shows it without tract.

use serde::{Deserialize, Serialize};

/// A dimension as the model declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dim {
    Fixed(usize),
    /// A named dynamic dimension (`batch`, `height`).
    Named(String),
    /// A dynamic dimension without a name.
    Unknown,
}

/// The element types a model input can have; values are converted to it from f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElemType {
    F32,
    F64,
    F16,
    I64,
    I32,
    I8,
    U8,
    Bool,
    /// Any other type (strings, complex numbers): such an input cannot be fed.
    Other(i32),
}

impl ElemType {
    /// Whether values of this type are integers (an f32 value fed to it must be whole).
    pub fn is_integer(self) -> bool {
        matches!(self, ElemType::I64 | ElemType::I32 | ElemType::I8 | ElemType::U8 | ElemType::Bool)
    }
}

/// One input the model needs fed (graph inputs with an initializer are weights, not inputs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputInfo {
    pub name: String,
    pub elem: ElemType,
    /// `None` when the model declares no shape at all.
    pub dims: Option<Vec<Dim>>,
}

impl InputInfo {
    /// A concrete shape for this input: declared dimensions kept, dynamic ones filled in. The
    /// batch (axis 0) gets 1; the spatial axes of a 4-D input get 224 (the ImageNet size), or
    /// the value of another spatial axis that is fixed; any other dynamic axis gets 1.
    pub fn default_shape(&self) -> Vec<usize> {
        let Some(dims) = &self.dims else {
            return vec![];
        };
        let fixed_spatial = if dims.len() == 4 { dims[2..].iter().find_map(|d| if let Dim::Fixed(n) = d { Some(*n) } else { None }) } else { None };
        dims.iter()
            .enumerate()
            .map(|(axis, d)| match d {
                Dim::Fixed(n) => *n,
                _ if dims.len() == 4 && axis >= 2 => fixed_spatial.unwrap_or(224),
                _ => 1,
            })
            .collect()
    }

    /// The `(height, width)` a picture fed to this input must have: its fixed spatial dims when
    /// it is a 4-D image input (`[N, C, H, W]`, or `[N, H, W, C]` with `nhwc`), else `None`.
    pub fn picture_size(&self, nhwc: bool) -> Option<(u32, u32)> {
        let d = self.dims.as_ref().filter(|d| d.len() == 4)?;
        let (h, w) = if nhwc { (&d[1], &d[2]) } else { (&d[2], &d[3]) };
        match (h, w) {
            (Dim::Fixed(h), Dim::Fixed(w)) => Some((u32::try_from(*h).ok()?, u32::try_from(*w).ok()?)),
            _ => None,
        }
    }

    /// Whether `shape` fits the declared dimensions (fixed ones must match, rank too).
    pub fn accepts(&self, shape: &[usize]) -> bool {
        match &self.dims {
            None => true,
            Some(dims) => dims.len() == shape.len() && dims.iter().zip(shape).all(|(d, &s)| !matches!(d, Dim::Fixed(n) if *n != s)),
        }
    }

    /// The declared shape as text: `[batch, 3, ?, ?]`.
    pub fn dims_text(&self) -> String {
        match &self.dims {
            None => "any shape".into(),
            Some(dims) => {
                let parts: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Dim::Fixed(n) => n.to_string(),
                        Dim::Named(s) => s.clone(),
                        Dim::Unknown => "?".into(),
                    })
                    .collect();
                format!("[{}]", parts.join(", "))
            }
        }
    }
}

/// One node of the main graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// The node's name, or its first output's when it has none (as tract names it).
    pub name: String,
    pub op: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}
