//! Tensors and formats the tests of cutting a tensor up (parts, slices) share.

use super::scaled::Scale;
use super::spec::{Format, Params};

/// `n` values with the edge cases in them: rows whose scales differ 100×, a zero block, a NaN, a
/// huge value, tiny ones (those past the first 64 for `n` of at least 64).
pub(super) fn values(n: usize) -> Vec<f32> {
    let mut xs: Vec<f32> = (0..n).map(|i| ((i * 7919 % 997) as f32 - 498.0) / 400.0 * (1.0 + (i / 300 % 100) as f32)).collect();
    if n >= 64 {
        xs[..64].fill(0.0);
        xs[n / 3] = f32::NAN;
        xs[n / 2 + 5] = 3e30;
        xs[2 * n / 3..2 * n / 3 + 40].iter_mut().for_each(|v| *v *= 1e-38);
    }
    xs
}

/// The comparison's formats and four more: the integer grid per row and in groups of 64, FP8
/// per row, FP6 as a raw cast.
pub(super) fn formats() -> Vec<Format> {
    let p = Params::default();
    let mut formats = Format::comparison();
    for (name, params) in [("int", Params { scale: Scale::Row, ..p }), ("int", Params { bits: 4, group: Some(64), ..p }), ("fp8-e4m3", Params { scale: Scale::Row, ..p }), ("fp6-e2m3", Params { scale: Scale::None, ..p })] {
        formats.push(Format::parse(name, &params).expect("a listed name"));
    }
    formats
}
