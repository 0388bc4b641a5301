//! NumPy's `.npy` format (versions 1.0, 2.0 and 3.0): float16/32/64, little or big endian,
//! C or Fortran order. Reading and writing.

use super::{checked_count, Elem, LoadError};
use crate::engine::tensor::Tensor;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Headers larger than this are refused (NumPy itself writes a few hundred bytes).
const MAX_HEADER: usize = 1 << 20;

/// The parsed header dictionary.
#[derive(Debug, PartialEq)]
struct Header {
    elem: Elem,
    little_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// Value of `key` in the header's Python dict literal (the text after `'key':`).
fn field<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let at = dict.find(&format!("'{key}'")).or_else(|| dict.find(&format!("\"{key}\"")))?;
    let rest = &dict[at + key.len() + 2..];
    Some(rest.trim_start().strip_prefix(':')?.trim_start())
}

fn parse_header(file: &str, name: &str, text: &str) -> Result<Header, LoadError> {
    let (descr, little_endian, fortran_order, shape) = parse_header_raw(file, name, text)?;
    let elem = match &descr[1..] {
        "f2" => Elem::F16,
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        _ => return Err(LoadError::new(file, Some(name), format!("unsupported dtype '{descr}' (float16, float32 and float64 are supported)"))),
    };
    Ok(Header { elem, little_endian, fortran_order, shape })
}

/// The header's dtype (`<f4`, `|u1`…), byte order, order and shape.
fn parse_header_raw(file: &str, name: &str, text: &str) -> Result<(String, bool, bool, Vec<usize>), LoadError> {
    let err = |p: String| LoadError::new(file, Some(name), p);
    let descr = field(text, "descr").ok_or_else(|| err("header has no 'descr'".into()))?;
    let quote = descr.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or_else(|| err("'descr' is not a string".into()))?;
    let descr = descr[1..].split(quote).next().unwrap_or("");
    let order = &descr[..descr.len().min(1)];
    let little_endian = match order {
        "<" | "|" | "=" => true,
        ">" => false,
        _ => return Err(err(format!("unsupported dtype '{descr}'"))),
    };
    let descr = descr.to_string();
    let fortran = field(text, "fortran_order").ok_or_else(|| err("header has no 'fortran_order'".into()))?;
    let fortran_order = if fortran.starts_with("True") {
        true
    } else if fortran.starts_with("False") {
        false
    } else {
        return Err(err("'fortran_order' is neither True nor False".into()));
    };
    let shape_text = field(text, "shape").ok_or_else(|| err("header has no 'shape'".into()))?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| err("'shape' is not a tuple".into()))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<usize>().map_err(|_| err(format!("bad dimension '{d}' in shape"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((descr, little_endian, fortran_order, shape))
}

/// Converts Fortran-order (column-major) data of `shape` to C order.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    let n = data.len();
    let rank = shape.len();
    let mut out = vec![0.0; n];
    let mut index = vec![0usize; rank];
    // Strides of the column-major source.
    let mut strides = vec![1usize; rank];
    for d in 1..rank {
        strides[d] = strides[d - 1] * shape[d - 1];
    }
    for o in out.iter_mut() {
        *o = data[index.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>()];
        for d in (0..rank).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    out
}

/// The header text and where the data starts.
fn header_text<'a>(file: &str, name: &str, bytes: &'a [u8]) -> Result<(&'a str, usize), LoadError> {
    let err = |p: &str| LoadError::new(file, Some(name), p);
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err("not a .npy file (no \\x93NUMPY magic)"));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            let b = bytes.get(8..12).ok_or_else(|| err("truncated header"))?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        }
        v => return Err(LoadError::new(file, Some(name), format!("unsupported .npy version {v}"))),
    };
    if header_len > MAX_HEADER {
        return Err(err("header is implausibly large"));
    }
    let text = bytes.get(start..start + header_len).ok_or_else(|| err("truncated header"))?;
    let text = std::str::from_utf8(text).map_err(|_| err("header is not text"))?;
    Ok((text, start + header_len))
}

/// Reads one `.npy` array named `name` from `bytes` of `file`.
pub fn read(file: &str, name: &str, bytes: &[u8]) -> Result<Tensor, LoadError> {
    let (text, start) = header_text(file, name, bytes)?;
    let h = parse_header(file, name, text)?;
    let data = &bytes[start..];
    let count = checked_count(file, name, &h.shape, h.elem.size(), data.len())?;
    let used = count * h.elem.size();
    if data.len() != used {
        return Err(LoadError::new(file, Some(name), format!("{} bytes after the data of shape {:?}", data.len() - used, h.shape)));
    }
    let values = h.elem.decode(&data[..used], h.little_endian);
    let values = if h.fortran_order && h.shape.len() > 1 { fortran_to_c(&values, &h.shape) } else { values };
    Ok(Tensor { name: name.to_string(), shape: h.shape, data: values, stored_as: h.elem.name().into() })
}

/// Reads class labels: a 1-D (or `[N, 1]`) `.npy` of integers (signed or unsigned, 1 to 8 bytes,
/// either byte order), as NumPy saves `np.array([3, 1, 4])`.
pub fn read_labels(file: &str, bytes: &[u8]) -> Result<Vec<usize>, LoadError> {
    let (text, start) = header_text(file, "labels", bytes)?;
    let (descr, little, fortran, shape) = parse_header_raw(file, "labels", text)?;
    let kind = &descr[1..];
    let err = |p: String| LoadError::new(file, None, p);
    if !(shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)) || (fortran && shape.len() > 1 && shape[1] != 1) {
        return Err(err(format!("labels must be one integer per sample, not shape {shape:?}")));
    }
    let (signed, size) = match kind.as_bytes() {
        [b'i', d] | [b'u', d] if matches!(d, b'1' | b'2' | b'4' | b'8') => (kind.starts_with('i'), (d - b'0') as usize),
        _ => return Err(err(format!("labels must be integers, not dtype '{descr}'"))),
    };
    let data = &bytes[start..];
    let count = checked_count(file, "labels", &shape, size, data.len())?;
    if data.len() != count * size {
        return Err(err(format!("{} bytes of data for {count} labels of {size} bytes", data.len())));
    }
    data.chunks_exact(size)
        .enumerate()
        .map(|(i, c)| {
            let mut b = [0u8; 8];
            if little {
                b[..size].copy_from_slice(c);
            } else {
                for (k, &v) in c.iter().rev().enumerate() {
                    b[k] = v;
                }
            }
            let negative = signed && b[size - 1] & 0x80 != 0;
            if negative {
                return Err(err(format!("label {i} is negative")));
            }
            usize::try_from(u64::from_le_bytes(b)).map_err(|_| err(format!("label {i} is too large")))
        })
        .collect()
}

/// Writes `data` of `shape` as a version 1.0, little-endian float32, C-order `.npy`.
pub fn write_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    write("<f4", shape, data.iter().flat_map(|v| v.to_le_bytes()))
}

/// The header of a float32 `.npy` of `shape` ([`write_f32`] without the data): the data follows
/// it, 4 little-endian bytes a value.
pub fn f32_header(shape: &[usize]) -> Vec<u8> {
    write("<f4", shape, std::iter::empty())
}

/// Writes class labels as a 1-D int64 `.npy` (what [`read_labels`] reads).
pub fn write_labels(labels: &[usize]) -> Vec<u8> {
    write("<i8", &[labels.len()], labels.iter().flat_map(|&l| (l as i64).to_le_bytes()))
}

/// A version 1.0, C-order `.npy` of dtype `descr` holding `bytes`.
fn write(descr: &str, shape: &[usize], bytes: impl Iterator<Item = u8>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad with spaces so that the data starts on a 64-byte boundary, ending in a newline.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, fortran: bool, shape: &str, payload: &[u8]) -> Vec<u8> {
        let header = format!("{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}\n", if fortran { "True" } else { "False" });
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn labels_are_integers_of_any_width_and_order() {
        let i64s: Vec<u8> = [3i64, 0, 7].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(read_labels("l.npy", &npy("<i8", false, "(3,)", &i64s)).unwrap(), vec![3, 0, 7]);
        assert_eq!(read_labels("l.npy", &npy("|u1", false, "(2, 1)", &[9, 4])).unwrap(), vec![9, 4]);
        assert_eq!(read_labels("l.npy", &npy(">i2", false, "(1,)", &[1, 2])).unwrap(), vec![258]);
        let neg: Vec<u8> = (-1i32).to_le_bytes().to_vec();
        assert!(read_labels("l.npy", &npy("<i4", false, "(1,)", &neg)).unwrap_err().problem.contains("label 0 is negative"));
        assert!(read_labels("l.npy", &npy("<f4", false, "(1,)", &[0; 4])).unwrap_err().problem.contains("labels must be integers, not dtype '<f4'"));
        assert!(read_labels("l.npy", &npy("<i4", false, "(2, 2)", &[0; 16])).unwrap_err().problem.contains("one integer per sample"));
        assert!(read_labels("l.npy", &npy("<i4", false, "(2,)", &[0; 4])).is_err(), "truncated");
        let written = write_labels(&[3, 0, 9, 1 << 40]);
        assert_eq!((written.len() - 4 * 8) % 64, 0, "data is 64-byte aligned");
        assert_eq!(read_labels("w.npy", &written).unwrap(), vec![3, 0, 9, 1 << 40]);
        assert_eq!(read_labels("e.npy", &write_labels(&[])).unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn round_trips_and_orders() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let bytes = write_f32(&[2, 3], &data);
        assert_eq!((bytes.len() - data.len() * 4) % 64, 0, "data is 64-byte aligned");
        let t = read("a.npy", "a", &bytes).unwrap();
        assert_eq!((t.shape.clone(), t.data.clone()), (vec![2, 3], data.to_vec()));
        // Fortran order: the same matrix stored column by column.
        let cols: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = read("f.npy", "f", &npy("<f4", true, "(2, 3)", &cols)).unwrap();
        assert_eq!(t.data, data.to_vec());
        // Big-endian f8 and f2, scalars and empty arrays.
        let be: Vec<u8> = [0.5f64, -1.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        assert_eq!(read("b.npy", "b", &npy(">f8", false, "(2,)", &be)).unwrap().data, vec![0.5, -1.0]);
        assert_eq!(read("h.npy", "h", &npy("<f2", false, "(1,)", &[0x00, 0x3c])).unwrap().data, vec![1.0]);
        let s = read("s.npy", "s", &npy("<f4", false, "()", &7.0f32.to_le_bytes())).unwrap();
        assert_eq!((s.shape.len(), s.data), (0, vec![7.0]));
        assert!(read("e.npy", "e", &npy("<f4", false, "(0, 3)", &[])).unwrap().data.is_empty());
        assert_eq!(fortran_to_c(&[1.0, 3.0, 2.0, 4.0], &[2, 2]), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn bad_files_are_described() {
        let problem = |b: &[u8]| read("x.npy", "x", b).unwrap_err().problem;
        assert!(problem(b"hello").contains("magic"));
        assert!(problem(&npy("<i4", false, "(1,)", &[0; 4])).contains("unsupported dtype '<i4'"));
        assert!(problem(&npy("<f4", false, "(4,)", &[0; 8])).contains("truncated"));
        assert!(problem(&npy("<f4", false, "(1,)", &[0; 8])).contains("4 bytes after the data"));
        assert!(problem(&npy("<f4", false, "(99999999999, 99999999999)", &[])).contains("too large") ||
                problem(&npy("<f4", false, "(99999999999, 99999999999)", &[])).contains("truncated"));
        assert!(problem(&npy("<f4", false, "(a,)", &[])).contains("bad dimension"));
        let mut cut = npy("<f4", false, "(1,)", &[0; 4]);
        cut.truncate(20);
        assert!(problem(&cut).contains("truncated header"));
    }
}
