//! Reading the quantized tensors of an ONNX graph (see the module above).

use std::collections::HashMap;

use super::super::{decode, is_float, GraphProto, NodeProto, TensorProto};
use super::Stored;
use crate::engine::io::{checked_count, LoadError};
use crate::engine::tensor::Tensor;

/// Where a scale comes from.
#[derive(Clone, Copy)]
enum Scale {
    Input(usize),
    /// The product of two inputs' scales (an int32 bias: the input's scale times the weight's).
    Product(usize, usize),
    /// The weight scale multiplied in after the op (dynamic quantization).
    AfterCast,
}

/// The axis of a per-channel scale.
#[derive(Clone, Copy)]
enum Axis {
    Attribute,
    Fixed(usize),
    Last,
    TransB,
}

/// (tensor input, scale, zero-point input, axis) for each op that reads quantized tensors.
fn slots(op: &str) -> &'static [(usize, Scale, Option<usize>, Axis)] {
    match op {
        "DequantizeLinear" => &[(0, Scale::Input(1), Some(2), Axis::Attribute)],
        "QLinearConv" => &[(3, Scale::Input(4), Some(5), Axis::Fixed(0)), (8, Scale::Product(1, 4), None, Axis::Fixed(0))],
        "QLinearMatMul" => &[(0, Scale::Input(1), Some(2), Axis::Last), (3, Scale::Input(4), Some(5), Axis::Last)],
        "QGemm" => &[(3, Scale::Input(4), Some(5), Axis::TransB), (6, Scale::Product(1, 4), None, Axis::Fixed(0))],
        "ConvInteger" => &[(1, Scale::AfterCast, Some(3), Axis::Fixed(0))],
        "MatMulInteger" => &[(1, Scale::AfterCast, Some(3), Axis::Last)],
        _ => &[],
    }
}

/// TensorProto.DataType of the integer types read here, with their names.
fn int_type(data_type: i32) -> Option<(&'static str, usize)> {
    match data_type {
        2 => Some(("uint8", 1)),
        3 => Some(("int8", 1)),
        4 => Some(("uint16", 2)),
        5 => Some(("int16", 2)),
        6 => Some(("int32", 4)),
        _ => None,
    }
}

/// Decodes an integer TensorProto (raw little-endian bytes, or `int32_data`).
pub(crate) fn decode_int(file: &str, name: &str, t: &TensorProto) -> Result<(Vec<usize>, Vec<i32>, &'static str), LoadError> {
    let err = |p: String| LoadError::new(file, Some(name), p);
    let (dtype, size) = int_type(t.data_type).ok_or_else(|| err(format!("data type {} is not an integer type read here", t.data_type)))?;
    if t.data_location == Some(1) {
        return Err(err("its data is stored in an external file, which is not supported".into()));
    }
    let shape = t.dims.iter().map(|&d| usize::try_from(d).map_err(|_| err(format!("negative dimension {d}")))).collect::<Result<Vec<_>, _>>()?;
    let values: Vec<i32> = if !t.raw_data.is_empty() {
        let count = checked_count(file, name, &shape, size, t.raw_data.len())?;
        if count * size != t.raw_data.len() {
            return Err(err(format!("raw data has {} bytes, shape {shape:?} needs {}", t.raw_data.len(), count * size)));
        }
        t.raw_data
            .chunks_exact(size)
            .map(|c| match dtype {
                "uint8" => i32::from(c[0]),
                "int8" => i32::from(c[0] as i8),
                "uint16" => i32::from(u16::from_le_bytes([c[0], c[1]])),
                "int16" => i32::from(i16::from_le_bytes([c[0], c[1]])),
                _ => i32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            })
            .collect()
    } else {
        t.int32_data.clone()
    };
    let count = checked_count(file, name, &shape, 1, values.len())?;
    if count != values.len() {
        return Err(err(format!("{} values for shape {shape:?}, which holds {count}", values.len())));
    }
    Ok((shape, values, dtype))
}

/// The graph's stored tensors by name: initializers and `Constant` nodes' values.
fn stored(graph: &GraphProto) -> HashMap<&str, &TensorProto> {
    let mut map: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in graph.node.iter().filter(|n| n.op_type == "Constant") {
        if let (Some(out), Some(value)) = (node.output.first(), node.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref())) {
            map.insert(out.as_str(), value);
        }
    }
    map
}

/// The weight scale dynamic quantization multiplies in after `node`: its output goes through a
/// `Cast` to a `Mul` whose other factor is a stored scale, or the product of the input's scale
/// (computed at run time) and a stored one.
fn scale_after_cast<'a>(graph: &'a GraphProto, node: &NodeProto, tensors: &HashMap<&str, &'a TensorProto>) -> Option<&'a TensorProto> {
    let consumer = |name: &str, op: &str| graph.node.iter().find(|n| n.op_type == op && n.input.iter().any(|i| i == name));
    let cast = consumer(node.output.first()?, "Cast")?;
    let cast_out = cast.output.first()?;
    let mul = consumer(cast_out, "Mul")?;
    let other = mul.input.iter().find(|i| *i != cast_out)?;
    if let Some(t) = tensors.get(other.as_str()).filter(|t| is_float(t.data_type)) {
        return Some(t);
    }
    let product = graph.node.iter().find(|n| n.op_type == "Mul" && n.output.iter().any(|o| o == other))?;
    product.input.iter().find_map(|i| tensors.get(i.as_str()).copied().filter(|t| is_float(t.data_type)))
}

fn attribute_int(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute.iter().find(|a| a.name == name).map(|a| a.i)
}

/// Every quantized tensor of `graph` (not its subgraphs), in the order the nodes read them, with
/// its dequantized values and how it is stored. A tensor read by two such nodes is taken once.
pub fn read(file: &str, graph: &GraphProto, node_name: impl Fn(&NodeProto) -> String) -> Result<Vec<(Tensor, Stored)>, LoadError> {
    let tensors = stored(graph);
    let mut out: Vec<(Tensor, Stored)> = Vec::new();
    for node in &graph.node {
        for &(slot, scale, zp_slot, axis) in slots(&node.op_type) {
            let Some(name) = node.input.get(slot).filter(|n| !n.is_empty()) else { continue };
            let Some(t) = tensors.get(name.as_str()).filter(|t| int_type(t.data_type).is_some()) else { continue };
            if out.iter().any(|(o, _)| &o.name == name) {
                continue;
            }
            let (shape, codes, dtype) = decode_int(file, name, t)?;
            let err = |p: String| LoadError::new(file, Some(name), format!("{} {}: {p}", node.op_type, node_name(node)));
            let float_input = |k: usize| -> Result<Vec<f32>, LoadError> {
                let input = node.input.get(k).filter(|n| !n.is_empty()).ok_or_else(|| err(format!("input {k} (a scale) is missing")))?;
                let s = tensors.get(input.as_str()).filter(|t| is_float(t.data_type)).ok_or_else(|| err(format!("its scale “{input}” is not a stored float tensor")))?;
                Ok(decode(file, input, s)?.data)
            };
            let scale = match scale {
                Scale::Input(k) => Some(float_input(k)?),
                Scale::Product(a, b) => {
                    let (sa, sb) = (float_input(a)?, float_input(b)?);
                    if sa.len() != 1 {
                        return Err(err(format!("the input scale has {} values, one expected", sa.len())));
                    }
                    Some(sb.iter().map(|&s| sa[0] * s).collect())
                }
                Scale::AfterCast => scale_after_cast(graph, node, &tensors).map(|s| decode(file, &s.name, s)).transpose()?.map(|t| t.data),
            };
            let zero_point = match zp_slot.and_then(|k| node.input.get(k)).filter(|n| !n.is_empty()) {
                None => vec![0],
                Some(z) => {
                    let zt = tensors.get(z.as_str()).ok_or_else(|| err(format!("its zero point “{z}” is not a stored tensor")))?;
                    decode_int(file, z, zt)?.1
                }
            };
            let channels = scale.as_ref().map_or(1, Vec::len).max(zero_point.len());
            if channels == 0 || scale.as_ref().is_some_and(Vec::is_empty) || zero_point.is_empty() {
                return Err(err("its scale or zero point holds no value".into()));
            }
            let axis = if channels > 1 {
                let rank = shape.len() as i64;
                let a = match axis {
                    Axis::Attribute => attribute_int(node, "axis").unwrap_or(1),
                    Axis::Fixed(a) => a as i64,
                    Axis::Last => rank - 1,
                    Axis::TransB => i64::from(attribute_int(node, "transB").unwrap_or(0) == 0),
                };
                let a = if a < 0 { a + rank } else { a };
                let a = usize::try_from(a).ok().filter(|&a| a < shape.len()).ok_or_else(|| err(format!("axis {a} is outside its shape {shape:?}")))?;
                if shape[a] != channels {
                    return Err(err(format!("{channels} scales or zero points for {} channels along axis {a} of shape {shape:?}", shape[a])));
                }
                Some(a)
            } else {
                None
            };
            for (what, n) in [("scales", scale.as_ref().map_or(channels, Vec::len)), ("zero points", zero_point.len())] {
                if n != 1 && n != channels {
                    return Err(err(format!("{n} {what} for {channels} channels")));
                }
            }
            let inner: usize = axis.map_or(1, |a| shape[a + 1..].iter().product());
            let at = |v: usize, i: usize| if v == 1 { 0 } else { (i / inner) % channels };
            let data = codes
                .iter()
                .enumerate()
                .map(|(i, &q)| {
                    let c = (q as i64 - zero_point[at(zero_point.len(), i)] as i64) as f32;
                    scale.as_ref().map_or(c, |s| c * s[at(s.len(), i)])
                })
                .collect();
            let tensor = Tensor { name: name.clone(), shape, data, stored_as: dtype.into() };
            out.push((tensor, Stored { dtype: dtype.into(), node: node_name(node), op: node.op_type.clone(), scale, zero_point, axis, codes }));
        }
    }
    Ok(out)
}
