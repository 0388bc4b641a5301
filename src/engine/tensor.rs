//! Tensors as the engine sees them (f32 values with a shape), and the channel layout that
//! per-channel quantization walks.

use serde::{Deserialize, Serialize};

/// A named f32 tensor, row-major (C order).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
    /// The element type it was stored as (e.g. "f16"), for display.
    pub stored_as: String,
}

/// Why a shape or axis does not fit.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShapeError {
    #[error("axis {axis} is out of range for a tensor of rank {rank}")]
    Axis { axis: usize, rank: usize },
    #[error("shape {shape:?} holds {expected} values, but there are {actual}")]
    Count { shape: Vec<usize>, expected: usize, actual: usize },
    #[error("{what} has {actual} entries, one per channel of {channels} expected")]
    Channels { what: &'static str, actual: usize, channels: usize },
}

/// Number of elements of `shape`, or `None` if it overflows `usize`.
pub fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// How the elements of a row-major tensor split into the channels of one axis: the data is
/// `outer` repetitions of `channels` contiguous blocks of `inner` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelLayout {
    pub outer: usize,
    pub channels: usize,
    pub inner: usize,
}

impl ChannelLayout {
    /// The layout of `shape` along `axis`; `data_len` must equal the shape's element count.
    pub fn new(shape: &[usize], axis: usize, data_len: usize) -> Result<ChannelLayout, ShapeError> {
        if axis >= shape.len() {
            return Err(ShapeError::Axis { axis, rank: shape.len() });
        }
        let expected = element_count(shape).unwrap_or(usize::MAX);
        if expected != data_len {
            return Err(ShapeError::Count { shape: shape.to_vec(), expected, actual: data_len });
        }
        Ok(ChannelLayout {
            outer: shape[..axis].iter().product(),
            channels: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        })
    }

    /// Calls `f(channel, offset, block)` for every contiguous block of one channel's values, in
    /// memory order.
    pub fn for_each_block<'a>(&self, data: &'a [f32], mut f: impl FnMut(usize, usize, &'a [f32])) {
        if self.inner == 0 || self.channels == 0 {
            return;
        }
        for (b, block) in data.chunks_exact(self.inner).enumerate() {
            f(b % self.channels, b * self.inner, block);
        }
    }

    /// Checks that `n` per-channel entries were given.
    pub fn check_channels(&self, what: &'static str, n: usize) -> Result<(), ShapeError> {
        if n == self.channels {
            Ok(())
        } else {
            Err(ShapeError::Channels { what, actual: n, channels: self.channels })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_conv_weight() {
        // (out=2, in=3, kh=1, kw=2) along axis 0 and axis 1.
        let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let l0 = ChannelLayout::new(&[2, 3, 1, 2], 0, 12).unwrap();
        assert_eq!((l0.outer, l0.channels, l0.inner), (1, 2, 6));
        let l1 = ChannelLayout::new(&[2, 3, 1, 2], 1, 12).unwrap();
        let mut seen = vec![Vec::new(); 3];
        l1.for_each_block(&data, |c, _, block| seen[c].extend_from_slice(block));
        assert_eq!(seen[1], vec![2.0, 3.0, 8.0, 9.0]);
        assert_eq!(ChannelLayout::new(&[2, 3], 2, 6), Err(ShapeError::Axis { axis: 2, rank: 2 }));
        assert!(matches!(ChannelLayout::new(&[2, 3], 0, 5), Err(ShapeError::Count { .. })));
        // Empty tensors have no blocks.
        let empty = ChannelLayout::new(&[0, 4], 1, 0).unwrap();
        empty.for_each_block(&[], |_, _, _| panic!("no blocks"));
        assert_eq!(element_count(&[usize::MAX, 2]), None);
    }
}
