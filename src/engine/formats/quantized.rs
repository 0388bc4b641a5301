//! Any format's quantization in one shape: the values it gives back, and the grid each group of
//! values was put on, for drawing, for the metrics' clipping split and for the block-scale
//! anatomy.

use super::gguf::{self, GgufType};
use super::minifloat::{Minifloat, E2M1};
use super::mx::{self, Element};
use super::scaled::{self, Scale};
use super::spec::Format;
use super::{group, nf4, nvfp4, FormatError};
use crate::engine::quantizer::qparams::{QRange, QScheme};

/// How one group's codes map to values: code `c` stands for `(table[c] + shift) · scale + offset`,
/// the way the format computes it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Affine {
    pub shift: f32,
    pub scale: f32,
    pub offset: f32,
}

impl Affine {
    pub const fn scaled(scale: f32) -> Affine {
        Affine { shift: 0.0, scale, offset: 0.0 }
    }

    #[inline(always)]
    pub fn value(&self, t: f32) -> f32 {
        (t + self.shift) * self.scale + self.offset
    }
}

/// The stored block scales, where they are codes of their own (for the anatomy's histogram).
#[derive(Clone, Debug, PartialEq)]
pub enum ScaleCodes {
    /// The scales are the groups' [`Affine::scale`]s.
    Plain,
    /// MX: one E8M0 exponent per block.
    E8m0(Vec<u8>),
    /// NVFP4: one E4M3 code per block, and the tensor scale.
    E4m3 { tensor: f32, blocks: Vec<u8> },
    /// K-quants: each super-block's f16 scale, and each sub-block's integer scale.
    Sub { supers: Vec<f32>, subs: Vec<i32> },
}

/// A tensor quantized to a format.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantized {
    pub format: Format,
    /// x̂, shaped as the input.
    pub values: Vec<f32>,
    /// Values per group: a block, a K-quant sub-block, a row, or the whole tensor.
    pub group: usize,
    /// The element values, ascending (finite ones only).
    pub table: Vec<f32>,
    /// One per group.
    pub groups: Vec<Affine>,
    pub scale_codes: ScaleCodes,
    /// Bits per value, every scale the format stores counted.
    pub bits_per_weight: f64,
}

impl Quantized {
    /// The values group `g` can take, ascending.
    pub fn grid(&self, g: usize) -> Vec<f32> {
        let a = self.groups[g];
        let mut v: Vec<f32> = self.table.iter().map(|&t| a.value(t)).filter(|v| v.is_finite()).collect();
        v.sort_by(f32::total_cmp);
        v.dedup();
        v
    }

    /// Group `g`'s clipping bounds: its grid's ends, widened by half the step at each end. A
    /// value beyond them saturates (it does not just round onto the last value).
    pub fn bounds(&self, g: usize) -> (f32, f32) {
        bounds(self.groups[g], &self.table)
    }
}

/// The clipping bounds of the grid `a` makes of `table` (ascending): its ends, widened by half
/// the step at each end; unbounded for fewer than two values.
#[inline(always)]
pub fn bounds(a: Affine, t: &[f32]) -> (f32, f32) {
    if t.len() < 2 {
        return (f32::NEG_INFINITY, f32::INFINITY);
    }
    let ends = [(a.value(t[0]), a.value(t[1])), (a.value(t[t.len() - 1]), a.value(t[t.len() - 2]))];
    let widened = ends.map(|(end, next)| end + (end - next) / 2.0);
    (widened[0].min(widened[1]), widened[0].max(widened[1]))
}

/// The finite values of every code of `elem`, ascending.
pub(crate) fn minifloat_table(elem: Minifloat) -> Vec<f32> {
    let mut v: Vec<f32> = (0..1u32 << elem.bits()).map(|c| elem.decode(c as u8)).filter(|v| v.is_finite()).collect();
    v.sort_by(f32::total_cmp);
    v.dedup();
    v
}

/// The values of an MX element type's codes, ascending.
pub(crate) fn mx_table(elem: Element) -> Vec<f32> {
    match elem {
        Element::Float(t) => minifloat_table(t),
        Element::Int8 => (-127..=127).map(|k| k as f32 / 64.0).collect(),
    }
}

/// Integers `lo..=hi` as f32.
pub(crate) fn ints(lo: i32, hi: i32) -> Vec<f32> {
    (lo..=hi).map(|i| i as f32).collect()
}

/// The integer range of `bits` under `scheme`: unsigned codes for affine, signed for symmetric.
pub fn int_range(bits: u32, scheme: QScheme) -> Result<QRange, FormatError> {
    QRange::with_bits(bits, scheme == QScheme::Affine).map_err(|_| FormatError::Bits(bits))
}

/// Values per row of `shape` (`n` values) where a scale is per row, else the whole tensor's.
pub(crate) fn per_row(scale: Scale, shape: &[usize], n: usize) -> usize {
    let rows = shape.first().copied().unwrap_or(1).max(1);
    if scale == Scale::Row && n > 0 { n / rows } else { n.max(1) }
}

/// How [`Format::Int`] groups `n` values shaped `shape`: the group size, the shape it groups
/// along the last axis (`shape` itself for `--group-size`, else rows of whole groups), and its
/// bits per weight (an f32 scale per group, and the zero point for affine).
pub(crate) fn int_groups(bits: u32, scheme: QScheme, scale: Scale, group: Option<usize>, shape: &[usize], n: usize) -> (usize, Vec<usize>, f64) {
    let size = group.unwrap_or(per_row(scale, shape, n));
    let grouped = if group.is_some() { shape.to_vec() } else { vec![n / size.max(1), size] };
    let overhead = 32.0 + if scheme == QScheme::Affine { f64::from(bits) } else { 0.0 };
    (size, grouped, f64::from(bits) + overhead / size as f64)
}

/// [`Format::Float`]'s bits per weight on `n` values shaped `shape`: the element's, and an f32
/// scale per row or per tensor.
fn float_bits(elem: Minifloat, scale: Scale, shape: &[usize], n: usize) -> f64 {
    f64::from(elem.bits()) + if scale == Scale::None { 0.0 } else { 32.0 / per_row(scale, shape, n) as f64 }
}

/// NVFP4's bits per weight on `n` values: E2M1 codes, an E4M3 scale per block of 16, and the
/// f32 tensor scale.
fn nvfp4_bits(n: usize) -> f64 {
    4.0 + 8.0 / nvfp4::BLOCK as f64 + 32.0 / n.max(1) as f64
}

/// NF4's bits per weight on `n` values: the codes and an f32 absmax per block of 64, or with
/// the double quantization an 8-bit absmax, an f32 scale per 256 of them and the f32 mean.
fn nf4_bits(double: bool, n: usize) -> f64 {
    if double { 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0) + 32.0 / n.max(1) as f64 } else { 4.0 + 32.0 / 64.0 }
}

/// `format`'s bits per weight on `n` values shaped `shape`, every scale it stores counted.
pub fn bits_per_weight(format: Format, shape: &[usize], n: usize) -> f64 {
    match format {
        Format::Int { bits, scheme, scale, group } => int_groups(bits, scheme, scale, group, shape, n).2,
        Format::Float { elem, scale } => float_bits(elem, scale, shape, n),
        Format::Mx { elem, .. } => mx::bits_per_weight(elem),
        Format::Nvfp4 => nvfp4_bits(n),
        Format::Nf4 { double } => nf4_bits(double, n),
        Format::Gguf(t) => t.bits_per_weight(),
    }
}

/// Quantizes `xs` (row-major, shaped `shape`) to `format`.
pub fn quantize(format: Format, xs: &[f32], shape: &[usize]) -> Result<Quantized, FormatError> {
    super::check_blocks(xs, shape, 1)?;
    let n = xs.len();
    let q = match format {
        Format::Int { bits, scheme, scale, group } => {
            let range = int_range(bits, scheme)?;
            let (size, grouped, bits_per_weight) = int_groups(bits, scheme, scale, group, shape, n);
            let g = group::quantize(xs, &grouped, size, scheme, range)?;
            Quantized {
                format,
                values: g.values,
                group: size,
                table: ints(range.qmin, range.qmax),
                groups: g.params.iter().map(group::grid).collect(),
                scale_codes: ScaleCodes::Plain,
                bits_per_weight,
            }
        }
        Format::Float { elem, scale } => {
            let (scales, values) = scaled::fake_quantize(elem, scale, xs, shape)?;
            Quantized {
                format,
                values,
                group: per_row(scale, shape, n),
                table: minifloat_table(elem),
                groups: scales.iter().map(|&s| Affine::scaled(s)).collect(),
                scale_codes: ScaleCodes::Plain,
                bits_per_weight: float_bits(elem, scale, shape, n),
            }
        }
        Format::Mx { elem, rounding } => {
            let (scales, values) = mx::fake_quantize(elem, rounding, xs, shape)?;
            let table = mx_table(elem);
            Quantized {
                format,
                values,
                group: mx::BLOCK,
                table,
                groups: scales.iter().map(|&b| Affine::scaled(mx::scale_value(b))).collect(),
                scale_codes: ScaleCodes::E8m0(scales),
                bits_per_weight: mx::bits_per_weight(elem),
            }
        }
        Format::Nvfp4 => {
            let (t, scales, values) = nvfp4::fake_quantize(xs, shape)?;
            Quantized {
                format,
                values,
                group: nvfp4::BLOCK,
                table: minifloat_table(E2M1),
                groups: scales.iter().map(|&s| Affine::scaled(t * super::minifloat::E4M3.decode(s))).collect(),
                scale_codes: ScaleCodes::E4m3 { tensor: t, blocks: scales },
                bits_per_weight: nvfp4_bits(n),
            }
        }
        Format::Nf4 { double } => {
            let q = nf4::quantize(xs, shape, double)?;
            let bits = nf4_bits(double, n);
            Quantized {
                format,
                values: q.values,
                group: nf4::BLOCK,
                table: nf4::CODE.to_vec(),
                groups: q.absmax.iter().map(|&a| Affine::scaled(a)).collect(),
                scale_codes: ScaleCodes::Plain,
                bits_per_weight: bits,
            }
        }
        Format::Gguf(t) => {
            super::check_blocks(xs, shape, t.block_size())?;
            match t {
                // One pass, without the bytes (bit for bit the bytes' values and grids).
                GgufType::Legacy(l) => {
                    let (values, groups) = l.fake_quantize(xs)?;
                    let table = gguf::grids(t, &[]).table;
                    Quantized { format, values, group: gguf::legacy::BLOCK, table, groups, scale_codes: ScaleCodes::Plain, bits_per_weight: t.bits_per_weight() }
                }
                GgufType::K(k) => {
                    // The values made beside the bytes (bit for bit the decoded ones).
                    let mut values = vec![0f32; xs.len()];
                    let bytes = gguf::kquantize::quantize_with_values(k, xs, &mut values)?;
                    let grids = gguf::grids(t, &bytes);
                    Quantized { format, values, group: grids.group, table: grids.table, groups: grids.groups, scale_codes: grids.scale_codes, bits_per_weight: t.bits_per_weight() }
                }
            }
        }
    };
    Ok(q)
}

/// The quantization that GGUF `bytes` of type `t` hold.
pub fn gguf_quantized(format: Format, t: GgufType, bytes: &[u8]) -> Result<Quantized, FormatError> {
    let values = t.dequantize(bytes)?;
    let grids = gguf::grids(t, bytes);
    Ok(Quantized {
        format,
        values,
        group: grids.group,
        table: grids.table,
        groups: grids.groups,
        scale_codes: grids.scale_codes,
        bits_per_weight: t.bits_per_weight(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::spec::Params;

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7919 % 997) as f32 - 498.0) / 400.0).collect()
    }

    /// Every format's values lie on its groups' grids, and its bits per weight are its own.
    #[test]
    fn every_value_is_on_its_groups_grid() {
        let xs = ramp(4 * 512);
        for f in Format::comparison() {
            let q = quantize(f, &xs, &[4, 512]).unwrap();
            assert_eq!(q.groups.len() * q.group, xs.len(), "{}", f.label());
            for (g, (chunk, _)) in q.values.chunks(q.group).zip(xs.chunks(q.group)).enumerate() {
                let grid = q.grid(g);
                for v in chunk {
                    assert!(grid.iter().any(|p| p.to_bits() == v.to_bits() || (*p == 0.0 && *v == 0.0)), "{}: {v} is not on group {g}'s grid", f.label());
                }
                let (lo, hi) = q.bounds(g);
                assert!(lo <= grid[0] && grid[grid.len() - 1] <= hi, "{}", f.label());
            }
            assert!(q.bits_per_weight > 2.0 && q.bits_per_weight < 9.0, "{}: {}", f.label(), q.bits_per_weight);
        }
        let p = Params::default();
        let bpw = |n: &str| quantize(Format::parse(n, &p).unwrap(), &xs, &[4, 512]).unwrap().bits_per_weight;
        assert_eq!([bpw("mxfp4"), bpw("q4_0"), bpw("q8_0"), bpw("nf4"), bpw("q4_k")], [4.25, 4.5, 8.5, 4.5, 4.5]);
    }
}
