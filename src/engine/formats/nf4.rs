//! NF4, QLoRA's 4-bit NormalFloat (Dettmers et al. 2023), as bitsandbytes computes it: blocks of
//! 64 values along the last axis, each scaled by its largest |x| (kept as an f32 "absmax") onto
//! sixteen code values placed at quantiles of a normal distribution, so that normally distributed
//! weights use every code about equally often. NF4-DQ, QLoRA's double quantization, stores the
//! absmax values themselves in 8 bits: their mean is subtracted, and groups of 256 are quantized
//! with bitsandbytes' signed "dynamic" 8-bit code (a float-like code dense near zero) and one f32
//! scale per group.
//!
//! Step for step as bitsandbytes 0.50.2's pure-PyTorch kernels (tests/golden/formats/make_nf4.py
//! checks codes, scales and values bit for bit):
//! - `code = nearest(clamp(x · (1 / max(absmax, 1e−38)), −1, 1))`, the nearest by the f32
//!   midpoints between code values, a value on a midpoint taking the lower code;
//! - `x̂ = NF4[code] · absmax`;
//! - double quantization: `a = absmax − mean`; per group of 256, `s = max |a|`, codes
//!   `nearest(clamp(a · (1 / max(s, 1e−38)), −1, 1))` in the dynamic code (a last, shorter group
//!   divides by `max(s, 1e−38)` instead, and stores that); `absmax' = DYNAMIC[code] · s + mean`.
//!
//! The mean is the correctly rounded mean of the finite absmax values (PyTorch's f32 `mean`
//! depends on the machine's vector width; the golden script checks that it agrees on its cases).
//! A block holding a NaN or an infinity decodes to NaN, and stays out of the mean and of its
//! group's scale, where bitsandbytes' mean would make the whole tensor NaN.

use super::measure::{unless_clipped, Meter};
use super::quantized::{bounds, Affine};
use super::{FormatError, Whole};

/// Values per block.
pub const BLOCK: usize = 64;
/// Absmax values per group of the double quantization.
pub const GROUP: usize = 256;
/// The smallest absmax that scaling divides by.
const TINY: f32 = 1e-38;

/// The NF4 code values, bitsandbytes' table.
#[allow(clippy::excessive_precision)]
pub const CODE: [f32; 16] = [
    -1.0,
    -0.6961928009986877,
    -0.5250730514526367,
    -0.39491748809814453,
    -0.28444138169288635,
    -0.18477343022823334,
    -0.09105003625154495,
    0.0,
    0.07958029955625534,
    0.16093020141124725,
    0.24611230194568634,
    0.33791524171829224,
    0.44070982933044434,
    0.5626170039176941,
    0.7229568362236023,
    1.0,
];

/// bitsandbytes' signed dynamic 8-bit code (`create_dynamic_map()`), as f32 bits, ascending.
const DYNAMIC_BITS: [u32; 256] = [
    0xbf7e3333, 0xbf7a999a, 0xbf770000, 0xbf736666, 0xbf6fcccd, 0xbf6c3333, 0xbf68999a, 0xbf650000,
    0xbf616666, 0xbf5dcccd, 0xbf5a3333, 0xbf56999a, 0xbf530000, 0xbf4f6666, 0xbf4bcccd, 0xbf483333,
    0xbf44999a, 0xbf410000, 0xbf3d6666, 0xbf39cccd, 0xbf363334, 0xbf32999a, 0xbf2f0000, 0xbf2b6666,
    0xbf27cccd, 0xbf243334, 0xbf20999a, 0xbf1d0000, 0xbf196666, 0xbf15cccd, 0xbf123334, 0xbf0e999a,
    0xbf0b0000, 0xbf076666, 0xbf03cccc, 0xbf003333, 0xbef93332, 0xbef20000, 0xbeeacccc, 0xbee3999a,
    0xbedc6666, 0xbed53333, 0xbece0000, 0xbec6cccc, 0xbebf999a, 0xbeb86666, 0xbeb13333, 0xbeaa0000,
    0xbea2cccc, 0xbe9b999a, 0xbe946666, 0xbe8d3334, 0xbe860000, 0xbe7d9999, 0xbe6f3333, 0xbe60cccd,
    0xbe526666, 0xbe440000, 0xbe35999a, 0xbe273333, 0xbe18cccd, 0xbe0a6666, 0xbdf80000, 0xbddb3334,
    0xbdc9eb85, 0xbdc428f7, 0xbdbe6667, 0xbdb8a3d7, 0xbdb2e148, 0xbdad1eb8, 0xbda75c2a, 0xbda1999a,
    0xbd9bd70a, 0xbd96147b, 0xbd9051eb, 0xbd8a8f5d, 0xbd84cccd, 0xbd7e147b, 0xbd728f5d, 0xbd670a3d,
    0xbd5b851f, 0xbd500000, 0xbd447ae1, 0xbd38f5c3, 0xbd2d70a3, 0xbd21eb85, 0xbd166667, 0xbd0ae148,
    0xbcfeb852, 0xbce7ae15, 0xbcd0a3d7, 0xbcb9999a, 0xbca28f5d, 0xbc8b851f, 0xbc68f5c3, 0xbc3ae148,
    0xbc1f3b64, 0xbc160418, 0xbc0ccccd, 0xbc039581, 0xbbf4bc6a, 0xbbe24dd3, 0xbbcfdf3b, 0xbbbd70a4,
    0xbbab020d, 0xbb989374, 0xbb8624dd, 0xbb676c8a, 0xbb428f5c, 0xbb1db22d, 0xbaf1a9fc, 0xbaa7ef9d,
    0xba7765ff, 0xba59e83e, 0xba3c6a80, 0xba1eecc1, 0xba016f01, 0xb9c7e283, 0xb98ce705, 0xb923d70b,
    0xb8ba1f4b, 0xb88aefb3, 0xb8378034, 0xb7b24206, 0xb70205ff, 0xb65a1a94, 0xb513a3b7, 0x00000000,
    0x3513a3b7, 0x365a1a94, 0x370205ff, 0x37b24206, 0x38378034, 0x388aefb3, 0x38ba1f4b, 0x3923d70b,
    0x398ce705, 0x39c7e283, 0x3a016f01, 0x3a1eecc1, 0x3a3c6a80, 0x3a59e83e, 0x3a7765ff, 0x3aa7ef9d,
    0x3af1a9fc, 0x3b1db22d, 0x3b428f5c, 0x3b676c8a, 0x3b8624dd, 0x3b989374, 0x3bab020d, 0x3bbd70a4,
    0x3bcfdf3b, 0x3be24dd3, 0x3bf4bc6a, 0x3c039581, 0x3c0ccccd, 0x3c160418, 0x3c1f3b64, 0x3c3ae148,
    0x3c68f5c3, 0x3c8b851f, 0x3ca28f5d, 0x3cb9999a, 0x3cd0a3d7, 0x3ce7ae15, 0x3cfeb852, 0x3d0ae148,
    0x3d166667, 0x3d21eb85, 0x3d2d70a3, 0x3d38f5c3, 0x3d447ae1, 0x3d500000, 0x3d5b851f, 0x3d670a3d,
    0x3d728f5d, 0x3d7e147b, 0x3d84cccd, 0x3d8a8f5d, 0x3d9051eb, 0x3d96147b, 0x3d9bd70a, 0x3da1999a,
    0x3da75c2a, 0x3dad1eb8, 0x3db2e148, 0x3db8a3d7, 0x3dbe6667, 0x3dc428f7, 0x3dc9eb85, 0x3ddb3334,
    0x3df80000, 0x3e0a6666, 0x3e18cccd, 0x3e273333, 0x3e35999a, 0x3e440000, 0x3e526666, 0x3e60cccd,
    0x3e6f3333, 0x3e7d9999, 0x3e860000, 0x3e8d3334, 0x3e946666, 0x3e9b999a, 0x3ea2cccc, 0x3eaa0000,
    0x3eb13333, 0x3eb86666, 0x3ebf999a, 0x3ec6cccc, 0x3ece0000, 0x3ed53333, 0x3edc6666, 0x3ee3999a,
    0x3eeacccc, 0x3ef20000, 0x3ef93332, 0x3f003333, 0x3f03cccc, 0x3f076666, 0x3f0b0000, 0x3f0e999a,
    0x3f123334, 0x3f15cccd, 0x3f196666, 0x3f1d0000, 0x3f20999a, 0x3f243334, 0x3f27cccd, 0x3f2b6666,
    0x3f2f0000, 0x3f32999a, 0x3f363334, 0x3f39cccd, 0x3f3d6666, 0x3f410000, 0x3f44999a, 0x3f483333,
    0x3f4bcccd, 0x3f4f6666, 0x3f530000, 0x3f56999a, 0x3f5a3333, 0x3f5dcccd, 0x3f616666, 0x3f650000,
    0x3f68999a, 0x3f6c3333, 0x3f6fcccd, 0x3f736666, 0x3f770000, 0x3f7a999a, 0x3f7e3333, 0x3f800000,
];

/// The dynamic code's values.
pub fn dynamic_code() -> [f32; 256] {
    DYNAMIC_BITS.map(f32::from_bits)
}

/// The f32 midpoints between consecutive values of an ascending code.
fn midpoints<const N: usize>(code: &[f32; N]) -> Vec<f32> {
    code.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
}

/// The index of the code nearest `v` by `bounds` (`torch.bucketize`: the number of bounds below
/// `v`; a NaN gives the last code, as there).
#[inline]
fn nearest(bounds: &[f32], v: f32) -> u8 {
    if v.is_nan() { bounds.len() as u8 } else { bounds.partition_point(|&b| b < v) as u8 }
}

/// `x` scaled by `r` and clamped to [−1, 1] (NaN stays NaN).
#[inline]
fn unit(x: f32, r: f32) -> f32 {
    let y = x * r;
    if y.is_nan() { y } else { y.clamp(-1.0, 1.0) }
}

/// The double quantization of the absmax values.
#[derive(Clone, Debug, PartialEq)]
pub struct DoubleQuant {
    pub mean: f32,
    /// One dynamic-code index per block.
    pub codes: Vec<u8>,
    /// One f32 scale per group of [`GROUP`] blocks.
    pub scales: Vec<f32>,
}

/// A tensor in NF4.
#[derive(Clone, Debug, PartialEq)]
pub struct Nf4 {
    /// One NF4 code (0–15) per value.
    pub codes: Vec<u8>,
    /// The absmax each block is decoded with (after the double quantization, if any).
    pub absmax: Vec<f32>,
    pub double: Option<DoubleQuant>,
    pub values: Vec<f32>,
}

/// Quantizes `xs` (row-major, shaped `shape`) to NF4, with the double quantization if `double`.
pub fn quantize(xs: &[f32], shape: &[usize], double: bool) -> Result<Nf4, FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let bounds = midpoints(&CODE);
    let absmax = block_absmax(xs);
    let mut codes = vec![0u8; xs.len()];
    for ((block, codes), &a) in xs.chunks_exact(BLOCK).zip(codes.chunks_exact_mut(BLOCK)).zip(&absmax) {
        let r = 1.0 / a.max(TINY);
        for (&x, c) in block.iter().zip(codes.iter_mut()) {
            *c = nearest(&bounds, unit(x, r));
        }
    }
    let (absmax, double) = if double {
        let (dq, decoded) = double_quantize(&absmax, finite_mean(&absmax));
        (decoded, Some(dq))
    } else {
        (absmax, None)
    };
    let mut values = vec![0.0f32; xs.len()];
    for ((values, codes), &a) in values.chunks_exact_mut(BLOCK).zip(codes.chunks_exact(BLOCK)).zip(&absmax) {
        for (v, &c) in values.iter_mut().zip(codes) {
            *v = CODE[usize::from(c)] * a;
        }
    }
    Ok(Nf4 { codes, absmax, double, values })
}

/// The metrics of [`quantize`]'s values without keeping them: each block's values made into a
/// buffer and measured into `meter` against its grid, summed as measuring the kept values sums
/// them (a test checks).
/// `whole` gives the double quantization's mean absmax, the whole tensor's.
pub fn measure_fake_quantized(xs: &[f32], shape: &[usize], double: bool, whole: &Whole, meter: &mut Meter) -> Result<(), FormatError> {
    super::check_blocks(xs, shape, BLOCK)?;
    let absmax = block_absmax(xs);
    let decoded = if double { double_quantize(&absmax, whole.absmax_mean(&absmax)).1 } else { absmax.clone() };
    let b: [f32; 15] = midpoints(&CODE).try_into().expect("15 midpoints");
    crate::engine::simd::dispatch!(measure_blocks(xs, &absmax, &decoded, &b, meter));
    Ok(())
}

#[inline(always)]
fn measure_blocks(xs: &[f32], absmax: &[f32], decoded: &[f32], b: &[f32; 15], meter: &mut Meter) {
    // A local meter, whose lanes can stay in registers.
    let mut m = std::mem::take(meter);
    let mut scales = absmax.iter().zip(decoded);
    super::measure::measure_blocks::<BLOCK>(&mut m, xs, #[inline(always)] |block, out| {
        let (&a, &d) = scales.next().expect("a block's absmax");
        let r = 1.0 / a.max(TINY);
        for (o, &x) in out.iter_mut().zip(block) {
            *o = code_value(b, unit(x, r)) * d;
        }
        let grid = bounds(Affine::scaled(d), &CODE);
        // No |x| beyond the absmax (NaN there when the block holds one): a block whose absmax
        // lies within its bounds (every block, without double quantization) is measured
        // without the clipping checks.
        unless_clipped(grid, (-a, a))
    });
    *meter = m;
}

/// `CODE[nearest(b, u)]` by comparisons that vectorize (the binary search does not): the
/// last code whose lower midpoint is below `u` (the midpoints ascend); NaN gives the last code.
#[inline(always)]
fn code_value(b: &[f32; 15], u: f32) -> f32 {
    let mut v = CODE[0];
    for (i, &m) in b.iter().enumerate() {
        v = if m < u { CODE[i + 1] } else { v };
    }
    if u.is_nan() { CODE[15] } else { v }
}

/// Each block's largest |x|.
pub(crate) fn block_absmax(xs: &[f32]) -> Vec<f32> {
    xs.chunks_exact(BLOCK).map(super::mx::block_amax).collect()
}

/// The double quantization's mean: of the finite values of `absmax`, correctly rounded to f32
/// (0 without any).
pub fn finite_mean(absmax: &[f32]) -> f32 {
    let (sum, count) = absmax.iter().filter(|a| a.is_finite()).fold((0.0f64, 0usize), |(s, n), &a| (s + f64::from(a), n + 1));
    if count == 0 { 0.0 } else { (sum / count as f64) as f32 }
}

/// Quantizes the absmax values `absmax` with the dynamic code, their mean `mean` subtracted;
/// returns them and their decoded values (NaN for a non-finite absmax).
fn double_quantize(absmax: &[f32], mean: f32) -> (DoubleQuant, Vec<f32>) {
    let code = dynamic_code();
    let bounds = midpoints(&code);
    let mut dq = DoubleQuant { mean, codes: Vec::with_capacity(absmax.len()), scales: Vec::new() };
    let mut decoded = Vec::with_capacity(absmax.len());
    for group in absmax.chunks(GROUP) {
        let centred: Vec<f32> = group.iter().map(|&a| a - mean).collect();
        let s = centred.iter().filter(|a| a.is_finite()).fold(0.0f32, |m, a| m.max(a.abs()));
        // A whole group multiplies by the reciprocal and stores its own scale; a last, shorter
        // group divides, and stores the clamped scale (bitsandbytes' two code paths).
        let whole = group.len() == GROUP;
        let stored = if whole { s } else { s.max(TINY) };
        let r = 1.0 / s.max(TINY);
        for &a in &centred {
            let u = if whole { unit(a, r) } else { let y = a / stored; if y.is_nan() { y } else { y.clamp(-1.0, 1.0) } };
            let c = nearest(&bounds, u);
            dq.codes.push(c);
            decoded.push(if a.is_finite() { code[usize::from(c)] * stored + mean } else { f32::NAN });
        }
        dq.scales.push(stored);
    }
    (dq, decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vectorizable code lookup is the binary search's, on every midpoint, its neighbours,
    /// the ends, zeros, NaN and a sweep of [−1, 1].
    #[test]
    fn code_values_by_comparison_are_the_search() {
        let b = midpoints(&CODE);
        let lanes: [f32; 15] = b.clone().try_into().unwrap();
        let mut us: Vec<f32> = (0..=20_000).map(|i| i as f32 / 10_000.0 - 1.0).collect();
        for &m in &b {
            us.extend([m, f32::from_bits(m.to_bits() + 1), f32::from_bits(m.to_bits() - 1)]);
        }
        us.extend([-1.0, 1.0, 0.0, -0.0, f32::NAN]);
        for u in us {
            assert_eq!(code_value(&lanes, u).to_bits(), CODE[usize::from(nearest(&b, u))].to_bits(), "{u:e}");
        }
    }

    #[test]
    fn a_block_scales_onto_the_code() {
        let mut xs = vec![0.0f32; 128];
        xs[0] = -2.0;
        xs[1] = 1.0;
        xs[2] = 0.04;
        let q = quantize(&xs, &[2, 64], false).unwrap();
        assert_eq!(q.absmax, [2.0, 0.0]);
        // −2 → −1; 1 → 0.5, below the midpoint 0.5017 of 0.4407 and 0.5626; 0.04 → 0.02 → 0;
        // zeros → code 7 (0.0).
        assert_eq!(&q.codes[..3], &[0, 12, 7]);
        assert_eq!(nearest(&midpoints(&CODE), f32::NAN), 15);
        assert_eq!(q.values[0], -2.0);
        assert!(q.values[64..].iter().all(|&v| v == 0.0));
        assert!(matches!(quantize(&xs, &[4, 32], false), Err(FormatError::BlockSize { values: 32, block: 64 })));
    }

    #[test]
    fn a_non_finite_block_stays_out_of_the_double_quantization() {
        let mut xs: Vec<f32> = (0..64 * 3).map(|i| ((i * 37 % 101) as f32 - 50.0) / 100.0).collect();
        xs[70] = f32::NAN;
        xs[130] = f32::INFINITY;
        let q = quantize(&xs, &[3, 64], true).unwrap();
        let dq = q.double.as_ref().unwrap();
        assert_eq!(dq.mean, q.absmax[0].max(0.0).max(dq.mean), "the mean is the first block's own absmax");
        assert!(q.values[..64].iter().all(|v| v.is_finite()));
        assert!(q.values[64..].iter().all(|v| v.is_nan()));
        assert_eq!(dynamic_code().windows(2).filter(|w| w[0] >= w[1]).count(), 0, "the dynamic code ascends");
    }
}
