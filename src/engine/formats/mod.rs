//! Number formats beside the integer grid: the element types of FP8, FP6 and FP4
//! ([`minifloat`]) and their use with a scale per tensor or row ([`scaled`]), on which the block
//! formats build: MX ([`mx`]), NVFP4 ([`nvfp4`]); QLoRA's NF4 ([`nf4`]); the integer grid in
//! groups ([`group`]); llama.cpp's GGUF block types ([`gguf`]). Each is checked bit for bit
//! against its reference (tests/golden/formats/).

pub mod compare;
pub mod gguf;
pub mod group;
pub mod measure;
pub mod minifloat;
pub mod mx;
pub mod nf4;
pub mod nvfp4;
pub mod parts;
pub mod quantized;
pub mod scaled;
pub mod spec;
#[cfg(test)]
mod test_data;

/// What a format cannot do with a tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("{values} values do not fill a tensor of shape {shape:?}")]
    Shape { values: usize, shape: Vec<usize> },
    #[error("the last axis holds {values} values, not a multiple of the block of {block}")]
    BlockSize { values: usize, block: usize },
    #[error("{bytes} bytes are not whole blocks of {block}")]
    BlockBytes { bytes: usize, block: usize },
    #[error("{0} bits are not supported (2 to 8)")]
    Bits(u32),
}

/// The largest finite |x| of `xs` (0 without finite values).
pub(crate) fn finite_amax(xs: &[f32]) -> f32 {
    let (lo, hi, _) = crate::engine::observer::finite_min_max(xs);
    amax_of(lo, hi)
}

/// The largest magnitude of a finite min and max (0 when there was no finite value).
fn amax_of(lo: f32, hi: f32) -> f32 {
    if lo <= hi { lo.abs().max(hi.abs()) } else { 0.0 }
}

/// What some formats take from the whole tensor, found on first use and then shared: its finite
/// min and max (per-tensor integer grids, minifloats and NVFP4 scale by them: side by side, one
/// pass over the tensor instead of eight) and NF4-DQ's mean absmax. Ask it of one tensor only;
/// a part of a tensor measured on its own (the CLI's threads, `formats::parts`, and the
/// comparison's slices) is given its whole's, found beforehand.
#[derive(Default)]
pub struct Whole {
    range: std::sync::OnceLock<(f32, f32)>,
    absmax_mean: std::sync::OnceLock<f32>,
}

impl Whole {
    /// The finite min and max of `xs` (the tensor this is of).
    pub fn of(&self, xs: &[f32]) -> (f32, f32) {
        *self.range.get_or_init(|| {
            let (lo, hi, _) = crate::engine::observer::finite_min_max(xs);
            (lo, hi)
        })
    }

    /// The largest finite |x| of `xs` (0 without finite values), from the range.
    pub fn amax(&self, xs: &[f32]) -> f32 {
        let (lo, hi) = self.of(xs);
        amax_of(lo, hi)
    }

    /// NF4-DQ's mean of `absmax`, the tensor's block absmax values ([`nf4::finite_mean`]).
    pub fn absmax_mean(&self, absmax: &[f32]) -> f32 {
        *self.absmax_mean.get_or_init(|| nf4::finite_mean(absmax))
    }
}

/// Checks that `xs` fills `shape` and that its last axis is whole blocks of `block`.
pub(crate) fn check_blocks(xs: &[f32], shape: &[usize], block: usize) -> Result<(), FormatError> {
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(xs.len()) {
        return Err(FormatError::Shape { values: xs.len(), shape: shape.to_vec() });
    }
    let last = shape.last().copied().unwrap_or(1);
    if !last.is_multiple_of(block) {
        return Err(FormatError::BlockSize { values: last, block });
    }
    Ok(())
}
