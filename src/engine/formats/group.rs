//! The integer grid with one (scale, zero point) per group of `G` values along the last axis:
//! the round-to-nearest baseline of GPTQ and AWQ, and compressed-tensors' W4A16 (`G` = 128).
//! Each group's parameters follow the engine's PyTorch rules ([`calculate_qparams`]) from the
//! group's finite min and max, exactly as a per-channel min/max observer would give them for the
//! tensor reshaped to `[groups, G]` (tests/golden/formats/make_group.py checks this against
//! PyTorch's `PerChannelMinMaxObserver` and `fake_quantize_per_channel_affine`).

use super::measure::{Meter, BATCH, PIECE};
use super::quantized::{bounds, Affine};
use super::{FormatError, Whole};
use crate::engine::observer::finite_min_max;
use crate::engine::quantizer::qparams::{calculate_qparams, QParams, QRange, QScheme};
use crate::engine::quantizer::quantize::{fake_quantize_into, fake_quantize_per_channel_into, quantize_per_channel_into};
use crate::engine::quantizer::rounding::Rounding;
use crate::engine::simd::block_min_max;
use crate::engine::tensor::ChannelLayout;

/// A tensor on a group-wise integer grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouped {
    /// One code per value (`q`, in `range`).
    pub codes: Vec<i32>,
    /// One (scale, zero point) per group.
    pub params: Vec<QParams>,
    pub values: Vec<f32>,
}

/// The layout of `len` values as groups of `group`: each group a channel.
pub fn layout(len: usize, group: usize) -> ChannelLayout {
    ChannelLayout { outer: 1, channels: len / group.max(1), inner: group }
}

/// The parameters of each group of `group` values of `xs`.
pub fn group_params(xs: &[f32], group: usize, scheme: QScheme, range: QRange) -> Vec<QParams> {
    group_params_in(xs, group, scheme, range, &Whole::default())
}

/// [`group_params`], with the whole tensor's range from `whole` when one long group is all of it
/// (the same [`finite_min_max`] that group would take).
fn group_params_in(xs: &[f32], group: usize, scheme: QScheme, range: QRange, whole: &Whole) -> Vec<QParams> {
    if group == xs.len() && group > SHORT_GROUP {
        let (lo, hi) = whole.of(xs);
        return vec![calculate_qparams(lo, hi, scheme, range)];
    }
    crate::engine::simd::dispatch!(params_of_groups(xs, group.max(1), scheme, range))
}

/// Groups up to this long find their min and max in one short pass of integer lanes.
const SHORT_GROUP: usize = 1024;

#[inline(always)]
fn params_of_groups(xs: &[f32], group: usize, scheme: QScheme, range: QRange) -> Vec<QParams> {
    xs.chunks_exact(group)
        .map(|g| {
            let (lo, hi) = if g.len() <= SHORT_GROUP {
                block_min_max(g, true)
            } else {
                let (lo, hi, _) = finite_min_max(g);
                (lo, hi)
            };
            // No finite value: an unobserved group (scale 1, zero point 0), as the observers give.
            calculate_qparams(lo, hi, scheme, range)
        })
        .collect()
}

/// Quantizes `xs` (row-major, shaped `shape`) in groups of `group` along the last axis.
pub fn quantize(xs: &[f32], shape: &[usize], group: usize, scheme: QScheme, range: QRange) -> Result<Grouped, FormatError> {
    check(xs, shape, group)?;
    let params = group_params(xs, group, scheme, range);
    let layout = layout(xs.len(), group);
    let mut codes = vec![0i32; xs.len()];
    let mut values = vec![0f32; xs.len()];
    quantize_per_channel_into(xs, layout, &params, range, Rounding::HalfEven, &mut codes).expect("a layout of whole groups");
    fake_quantize_per_channel_into(xs, layout, &params, range, Rounding::HalfEven, &mut values).expect("a layout of whole groups");
    Ok(Grouped { codes, params, values })
}

/// Whether `xs`, shaped `shape`, is made of whole groups of `group` along the last axis.
fn check(xs: &[f32], shape: &[usize], group: usize) -> Result<(), FormatError> {
    if group == 0 {
        return Err(FormatError::BlockSize { values: shape.last().copied().unwrap_or(1), block: 0 });
    }
    super::check_blocks(xs, shape, group)
}

/// The group's grid: code `c` stands for `(c − z) · s`.
pub fn grid(p: &QParams) -> Affine {
    Affine { shift: -(p.zero_point as f32), scale: p.scale, offset: 0.0 }
}

/// The metrics of [`quantize`]'s values without keeping them: each group made a [`PIECE`] at a
/// time into a buffer and measured into `meter` against its grid (`table`: the codes as f32),
/// summed as measuring the kept values sums them (a test checks).
#[allow(clippy::too_many_arguments)]
pub fn measure_fake_quantized(xs: &[f32], shape: &[usize], group: usize, scheme: QScheme, range: QRange, table: &[f32], whole: &Whole, meter: &mut Meter) -> Result<(), FormatError> {
    check(xs, shape, group)?;
    let params = group_params_in(xs, group, scheme, range, whole);
    let mut buf = vec![0f32; if group <= BATCH { BATCH / group * group } else { PIECE.min(group) }];
    crate::engine::simd::dispatch!(measure_groups(xs, group, &params, range, table, &mut buf, meter));
    Ok(())
}

#[inline(always)]
fn measure_groups(xs: &[f32], group: usize, params: &[QParams], range: QRange, table: &[f32], buf: &mut [f32], meter: &mut Meter) {
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    if group <= BATCH {
        // Whole groups, a batch of them at a time, measured together.
        let per = BATCH / group;
        let mut grids = Vec::with_capacity(per);
        for (x, ps) in xs.chunks(per * group).zip(params.chunks(per)) {
            let out = &mut buf[..x.len()];
            grids.clear();
            for ((x, o), p) in x.chunks_exact(group).zip(out.chunks_exact_mut(group)).zip(ps) {
                fake_quantize_into(x, *p, range, Rounding::HalfEven, o);
                grids.push(bounds(grid(p), table));
            }
            m.add_blocks(x, out, group, &grids);
        }
    } else {
        for (x, p) in xs.chunks_exact(group).zip(params) {
            let (lo, hi) = bounds(grid(p), table);
            for piece in x.chunks(PIECE) {
                let out = &mut buf[..piece.len()];
                fake_quantize_into(piece, *p, range, Rounding::HalfEven, out);
                m.add(piece, out, lo, hi);
            }
        }
    }
    *meter = m;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_group_has_its_own_grid() {
        // Two groups of 4 with ranges 100× apart: each keeps its own resolution.
        let xs = [-1.0, 0.0, 0.5, 1.0, -0.01, 0.0, 0.005, 0.01];
        let range = QRange::with_bits(4, false).unwrap();
        let q = quantize(&xs, &[8], 4, QScheme::Symmetric, range).unwrap();
        assert_eq!(q.params.len(), 2);
        assert_eq!(q.params[0].scale, 1.0 / 7.5);
        assert_eq!(q.params[1].scale, 0.01 / 7.5);
        // −1 · (1/s) is −7.4999995 in f32 (PyTorch also multiplies by the reciprocal): −7.
        assert_eq!(q.codes, [-7, 0, 4, 7, -8, 0, 4, 7]);
        assert!(matches!(quantize(&xs, &[2, 4], 3, QScheme::Affine, range), Err(FormatError::BlockSize { values: 4, block: 3 })));
        assert!(matches!(quantize(&xs, &[8], 0, QScheme::Affine, range), Err(FormatError::BlockSize { block: 0, .. })));
    }
}
