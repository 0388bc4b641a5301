//! A minifloat element type with a scale, as FP8, FP6 and FP4 are used outside blocks: one scale
//! per tensor, one per row (axis 0, a `[out, in]` weight's output channels), or none (a raw
//! cast). In f32, as issue 18 and the golden script define it:
//! - `s = amax / max_finite`, `amax` the largest finite |x| of the tensor or row (`s = 1` when
//!   that gives no positive finite scale: an all-zero row, or one of values so small the division
//!   underflows);
//! - the stored code is `cast(x / s)`, rounded to nearest even and saturating
//!   ([`Minifloat::encode`]);
//! - `x̂ = f32(code) · s`; NaN stays NaN.

use super::measure::{Meter, PIECE};
use super::minifloat::{Minifloat, Rounder};
use super::quantized::{bounds, Affine};
use super::{FormatError, Whole};

/// Where the scales are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    Tensor,
    /// One per row: per output channel of a `[out, in]` weight.
    Row,
    /// A raw cast (`s = 1`).
    None,
}

/// A tensor in a scaled minifloat: its codes, its scales, and the values they stand for.
#[derive(Clone, Debug, PartialEq)]
pub struct Scaled {
    pub codes: Vec<u8>,
    pub scales: Vec<f32>,
    pub values: Vec<f32>,
}

/// The scale that maps `amax` onto `elem`'s largest finite value (1 where there is none).
pub fn scale_for(elem: Minifloat, amax: f32) -> f32 {
    let s = amax / elem.max_finite();
    if s > 0.0 && s.is_finite() { s } else { 1.0 }
}

/// How many rows share a scale, and each row's length, after checking `xs` fills `shape`.
fn rows(scale: Scale, xs: &[f32], shape: &[usize]) -> Result<(usize, usize), FormatError> {
    super::check_blocks(xs, shape, 1)?;
    let rows = if scale == Scale::Row { shape.first().copied().unwrap_or(1).max(1) } else { 1 };
    Ok((rows, (xs.len() / rows).max(1)))
}

/// The scale of one row (or of the tensor).
fn row_scale(elem: Minifloat, scale: Scale, row: &[f32]) -> f32 {
    row_scale_in(elem, scale, row, false, &Whole::default())
}

/// [`row_scale`], with the largest magnitude from `whole` when the row is the whole tensor.
fn row_scale_in(elem: Minifloat, scale: Scale, row: &[f32], is_whole: bool, whole: &Whole) -> f32 {
    match scale {
        Scale::None => 1.0,
        Scale::Tensor | Scale::Row if is_whole => scale_for(elem, whole.amax(row)),
        Scale::Tensor | Scale::Row => scale_for(elem, super::finite_amax(row)),
    }
}

/// Quantizes `xs` (row-major, shaped `shape`) to `elem` with `scale`.
pub fn quantize(elem: Minifloat, scale: Scale, xs: &[f32], shape: &[usize]) -> Result<Scaled, FormatError> {
    let (rows, row_len) = rows(scale, xs, shape)?;
    let mut out = Scaled { codes: Vec::with_capacity(xs.len()), scales: Vec::with_capacity(rows), values: Vec::with_capacity(xs.len()) };
    for row in xs.chunks(row_len).take(rows) {
        let s = row_scale(elem, scale, row);
        out.scales.push(s);
        for &x in row {
            let code = elem.encode(x / s);
            out.codes.push(code);
            out.values.push(if x.is_nan() { x } else { elem.decode(code) * s });
        }
    }
    Ok(out)
}

/// The scales and values of [`quantize`] without the codes (the hot path), bit for bit.
pub fn fake_quantize(elem: Minifloat, scale: Scale, xs: &[f32], shape: &[usize]) -> Result<(Vec<f32>, Vec<f32>), FormatError> {
    let (rows, row_len) = rows(scale, xs, shape)?;
    let r = elem.rounder();
    let mut values = vec![0f32; xs.len()];
    let mut scales = Vec::with_capacity(rows);
    for (row, out) in xs.chunks(row_len).zip(values.chunks_mut(row_len)).take(rows) {
        let s = row_scale(elem, scale, row);
        crate::engine::simd::dispatch!(cast(&r, s, row, out));
        scales.push(s);
    }
    Ok((scales, values))
}

/// The metrics of [`fake_quantize`]'s values without keeping them: each row made a [`PIECE`] at
/// a time into a buffer and measured into `meter` against its grid (`table`, the element's
/// values, scaled), summed as measuring the kept values sums them (a test checks).
pub fn measure_fake_quantized(elem: Minifloat, scale: Scale, xs: &[f32], shape: &[usize], table: &[f32], whole: &Whole, meter: &mut Meter) -> Result<(), FormatError> {
    let (rows, row_len) = rows(scale, xs, shape)?;
    let r = elem.rounder();
    let mut buf = vec![0f32; PIECE.min(row_len)];
    for row in xs.chunks(row_len).take(rows) {
        let s = row_scale_in(elem, scale, row, rows == 1, whole);
        let (lo, hi) = bounds(Affine::scaled(s), table);
        crate::engine::simd::dispatch!(measure_row(&r, s, row, lo, hi, &mut buf, meter));
    }
    Ok(())
}

#[inline(always)]
fn measure_row(r: &Rounder, s: f32, row: &[f32], lo: f32, hi: f32, buf: &mut [f32], meter: &mut Meter) {
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    for x in row.chunks(PIECE) {
        let out = &mut buf[..x.len()];
        cast(r, s, x, out);
        m.add(x, out, lo, hi);
    }
    *meter = m;
}

/// One row's values, `round(x / s) · s` (NaN stays NaN: the rounder keeps it).
#[inline(always)]
fn cast(r: &Rounder, s: f32, x: &[f32], out: &mut [f32]) {
    for (o, &x) in out.iter_mut().zip(x) {
        *o = r.round(x / s) * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::formats::minifloat::{E2M1, E4M3};

    #[test]
    fn per_tensor_maps_amax_onto_the_largest_value() {
        let q = quantize(E2M1, Scale::Tensor, &[-3.0, 0.4, 1.2, 0.0], &[4]).unwrap();
        assert_eq!(q.scales, [0.5]);
        // −3/0.5 = −6 → −6; 0.4/0.5 = 0.8 → 1 (nearest); 1.2/0.5 = 2.4 → 2.
        assert_eq!(q.values, [-3.0, 0.5, 1.0, 0.0]);
        assert!(matches!(quantize(E4M3, Scale::Row, &[1.0; 5], &[2, 2]), Err(FormatError::Shape { values: 5, .. })));
        let empty = quantize(E4M3, Scale::Row, &[], &[0, 4]).unwrap();
        assert!(empty.codes.is_empty());
        let q = quantize(E4M3, Scale::Tensor, &[f32::NAN, 0.0, f32::INFINITY], &[3]).unwrap();
        assert_eq!(q.scales, [1.0], "no finite magnitude: no scale");
        assert!(q.values[0].is_nan() && q.values[2] == 448.0);
    }
}
