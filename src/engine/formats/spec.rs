//! Which format, with which parameters: the names the CLI's `--format` and the URL take, and the
//! set the side-by-side comparison runs.

use serde::{Deserialize, Serialize};

use super::gguf::GgufType;
use super::minifloat::{self, Minifloat};
use super::mx::{Element, ScaleRounding};
use super::scaled::Scale;
use crate::engine::quantizer::qparams::QScheme;

/// The parameters a format name leaves open. Each format reads the ones that apply to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Params {
    /// `int`: bits per code, 2 to 8.
    pub bits: u32,
    /// `int`: affine (unsigned codes) or symmetric (signed codes).
    pub scheme: QScheme,
    /// `int`: values per group along the last axis (none: one group per `scale`).
    pub group: Option<usize>,
    /// `int` and the scaled minifloats: one scale per tensor, per row, or none (minifloats only).
    pub scale: Scale,
    /// The MX formats: how the shared exponent is rounded.
    pub rounding: ScaleRounding,
}

impl Default for Params {
    fn default() -> Params {
        Params { bits: 8, scheme: QScheme::Affine, group: None, scale: Scale::Tensor, rounding: ScaleRounding::Floor }
    }
}

/// A number format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The integer grid, with a scale and zero point per tensor, row or group.
    Int { bits: u32, scheme: QScheme, scale: Scale, group: Option<usize> },
    /// FP8, FP6 or FP4 with a scale per tensor or row, or none.
    Float { elem: Minifloat, scale: Scale },
    Mx { elem: Element, rounding: ScaleRounding },
    Nvfp4,
    Nf4 { double: bool },
    Gguf(GgufType),
}

/// The families of formats, as the picker and the comparison's chart group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Family {
    Int,
    Float,
    Mx,
    Nvfp4,
    Nf4,
    Gguf,
}

impl Family {
    pub const ALL: [Family; 6] = [Family::Int, Family::Float, Family::Mx, Family::Nvfp4, Family::Nf4, Family::Gguf];
}

/// The minifloat names after `fp8-` and so on, with their types.
const FLOATS: [(&str, Minifloat); 5] =
    [("fp8-e4m3", minifloat::E4M3), ("fp8-e5m2", minifloat::E5M2), ("fp6-e3m2", minifloat::E3M2), ("fp6-e2m3", minifloat::E2M3), ("fp4-e2m1", minifloat::E2M1)];
const MX: [(&str, Element); 6] = [
    ("mxfp8-e4m3", Element::Float(minifloat::E4M3)),
    ("mxfp8-e5m2", Element::Float(minifloat::E5M2)),
    ("mxfp6-e3m2", Element::Float(minifloat::E3M2)),
    ("mxfp6-e2m3", Element::Float(minifloat::E2M3)),
    ("mxfp4", Element::Float(minifloat::E2M1)),
    ("mxint8", Element::Int8),
];

/// Every format name, in the order the comparison lists them.
pub fn names() -> Vec<&'static str> {
    let mut v = vec!["int"];
    v.extend(FLOATS.iter().map(|(n, _)| *n));
    v.extend(MX.iter().map(|(n, _)| *n));
    v.extend(["nvfp4", "nf4", "nf4-dq"]);
    v.extend(GgufType::ALL.iter().map(|t| gguf_name(*t)));
    v
}

/// The CLI's name of a GGUF type: gguf-py's, lower case (`q4_k`).
fn gguf_name(t: GgufType) -> &'static str {
    ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"][GgufType::ALL.iter().position(|&u| u == t).expect("listed")]
}

impl Format {
    /// The format `name` with `params`.
    pub fn parse(name: &str, params: &Params) -> Result<Format, String> {
        if name == "int" {
            if !(2..=8).contains(&params.bits) {
                return Err(format!("int: --bits {} is not supported (2 to 8)", params.bits));
            }
            if params.scale == Scale::None {
                return Err("int: --scale none is not an integer grid (tensor or per-channel)".into());
            }
            if params.group == Some(0) {
                return Err("int: --group-size must be at least 1".into());
            }
            return Ok(Format::Int { bits: params.bits, scheme: params.scheme, scale: params.scale, group: params.group });
        }
        if let Some((_, elem)) = FLOATS.iter().find(|(n, _)| *n == name) {
            return Ok(Format::Float { elem: *elem, scale: params.scale });
        }
        if let Some((_, elem)) = MX.iter().find(|(n, _)| *n == name) {
            return Ok(Format::Mx { elem: *elem, rounding: params.rounding });
        }
        match name {
            "nvfp4" => return Ok(Format::Nvfp4),
            "nf4" => return Ok(Format::Nf4 { double: false }),
            "nf4-dq" => return Ok(Format::Nf4 { double: true }),
            _ => {}
        }
        if let Some(t) = GgufType::ALL.into_iter().find(|&t| gguf_name(t) == name.to_ascii_lowercase()) {
            return Ok(Format::Gguf(t));
        }
        Err(format!("no format “{name}” (formats: {})", names().join(", ")))
    }

    /// The format's name, without its parameters.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Int { .. } => "int",
            Format::Float { elem, .. } => FLOATS.iter().find(|(_, e)| e == elem).map(|(n, _)| *n).expect("listed"),
            Format::Mx { elem, .. } => MX.iter().find(|(_, e)| e == elem).map(|(n, _)| *n).expect("listed"),
            Format::Nvfp4 => "nvfp4",
            Format::Nf4 { double: false } => "nf4",
            Format::Nf4 { double: true } => "nf4-dq",
            Format::Gguf(t) => gguf_name(*t),
        }
    }

    /// Its family.
    pub fn family(&self) -> Family {
        match self {
            Format::Int { .. } => Family::Int,
            Format::Float { .. } => Family::Float,
            Format::Mx { .. } => Family::Mx,
            Format::Nvfp4 => Family::Nvfp4,
            Format::Nf4 { .. } => Family::Nf4,
            Format::Gguf(_) => Family::Gguf,
        }
    }

    /// The parameters that make this format from its name (the others at their defaults).
    pub fn params(&self) -> Params {
        let d = Params::default();
        match *self {
            Format::Int { bits, scheme, scale, group } => Params { bits, scheme, scale, group, ..d },
            Format::Float { scale, .. } => Params { scale, ..d },
            Format::Mx { rounding, .. } => Params { rounding, ..d },
            _ => d,
        }
    }

    /// A short label with the parameters that matter: `int4 g128 sym`, `fp8-e4m3 /row`,
    /// `mxfp4 rceil`.
    pub fn label(&self) -> String {
        match *self {
            Format::Int { bits, scheme, scale, group } => {
                let scheme = if scheme == QScheme::Symmetric { " sym" } else { "" };
                match group {
                    Some(g) => format!("int{bits} g{g}{scheme}"),
                    None if scale == Scale::Row => format!("int{bits} /row{scheme}"),
                    None => format!("int{bits}{scheme}"),
                }
            }
            Format::Float { scale: Scale::Row, .. } => format!("{} /row", self.name()),
            Format::Float { scale: Scale::None, .. } => format!("{} raw", self.name()),
            Format::Mx { rounding, .. } if rounding != ScaleRounding::Floor => format!("{} {}", self.name(), rounding.name()),
            _ => self.name().to_string(),
        }
    }

    /// The formats the side-by-side comparison runs: the integer grid at 8 and 4 bits (per
    /// tensor, per row and in groups of 128 and 32), and every other format with its defaults.
    pub fn comparison() -> Vec<Format> {
        let int = |bits, scheme, scale, group| Format::Int { bits, scheme, scale, group };
        let mut v = vec![
            int(8, QScheme::Affine, Scale::Tensor, None),
            int(8, QScheme::Symmetric, Scale::Row, None),
            int(4, QScheme::Affine, Scale::Tensor, None),
            int(4, QScheme::Symmetric, Scale::Row, None),
            int(4, QScheme::Symmetric, Scale::Tensor, Some(128)),
            int(4, QScheme::Affine, Scale::Tensor, Some(128)),
            int(4, QScheme::Affine, Scale::Tensor, Some(32)),
        ];
        let d = Params::default();
        v.extend(names().into_iter().skip(1).map(|n| Format::parse(n, &d).expect("a listed name")));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        let d = Params::default();
        for n in names() {
            let f = Format::parse(n, &d).unwrap();
            assert_eq!(f.name(), n);
            assert_eq!(Format::parse(n, &f.params()).unwrap(), f);
        }
        assert_eq!(Format::parse("Q4_K", &d).unwrap(), Format::Gguf(GgufType::K(super::super::gguf::KQuant::Q4K)));
        assert!(Format::parse("int", &Params { bits: 9, ..d }).unwrap_err().contains("2 to 8"));
        assert!(Format::parse("fp3", &d).unwrap_err().contains("mxfp4"));
        let labels: Vec<String> = Format::comparison().iter().map(Format::label).collect();
        assert_eq!(&labels[..5], ["int8", "int8 /row sym", "int4", "int4 /row sym", "int4 g128 sym"]);
        assert_eq!(labels.len(), 7 + names().len() - 1);
    }
}
