//! Runtime dispatch of the hot loops to wider vector units.
//!
//! The kernels are written as plain loops that LLVM vectorizes. On x86-64 the baseline is SSE2,
//! which lacks blends and rounding instructions; `dispatch!` compiles the same loop a second
//! time with AVX2 enabled and picks that copy when the CPU has it (checked once, cached by std).
//! On wasm32 the app is built with `+simd128` (.cargo/config.toml), so the plain loop is already
//! SIMD there.

/// `dispatch!(f(args…))` calls `f` (an `#[inline(always)]` function) through an AVX2 copy when
/// available, else directly.
macro_rules! dispatch {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2")]
            #[allow(clippy::too_many_arguments)]
            fn avx2<F: FnOnce() -> R, R>(f: F) -> R {
                f()
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                // The closure inlined into `avx2` whatever its size, so that it and everything
                // inlined into it compile with AVX2.
                unsafe { avx2(#[inline(always)] || $f($($arg),*)) }
            } else {
                $f($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $f($($arg),*)
        }
    }};
}

pub(crate) use dispatch;

/// `t` truncated to an integer, for a `t` the caller has already clamped into i32's range (NaN
/// excluded). On x86 the unchecked conversion is one `cvttps2dq` per vector; on wasm the
/// saturating `as` maps to `i32x4.trunc_sat_f32x4_s`, which LLVM vectorizes, while the unchecked
/// form is left scalar.
#[inline(always)]
pub(crate) fn trunc_clamped(t: f32) -> i32 {
    debug_assert!(t >= i32::MIN as f32 && t < i32::MAX as f32, "{t} not clamped");
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: the caller clamped `t` into i32's range, and a NaN fails the comparisons
        // every caller clamps with (they map it onto a bound).
        unsafe { t.to_int_unchecked::<i32>() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        t as i32
    }
}

/// Values a streaming loop asks for ahead of where it reads (8 KiB of f32): on this project's
/// machine kind the hardware prefetcher alone leaves a one-pass kernel over 64 MB at about half
/// the read bandwidth a prefetched one reaches (measured: min/max 16M, 7.4 → 4.6 ms best).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
pub(crate) const PREFETCH_AHEAD: usize = 2048;

/// Hints that the cache line `PREFETCH_AHEAD` values after `at` will be read soon (x86 only;
/// a no-op elsewhere: wasm has no prefetch instruction).
#[inline(always)]
pub(crate) fn prefetch_ahead(at: *const f32) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // A prefetch never faults, and `wrapping_add` keeps the address computation defined
        // past the end of the slice.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_add(PREFETCH_AHEAD) as *const i8) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// Values [`warm`] is best given at once: 16 KiB, well inside L1.
pub(crate) const WARM_VALUES: usize = 4096;

/// Reads one value per 64-byte line of `xs` in a tight loop, so that the lines' cache misses
/// overlap (as many as the core's fill buffers hold) before a heavier loop walks the same values.
/// For wasm, which has no prefetch instruction: there a heavy loop leaves only a line or two in
/// flight and runs at the memory's latency, not its bandwidth (measured: the Explorer's fused
/// pass over 10M values ~2× slower per value than over 1M, which stay in cache).
#[inline]
pub(crate) fn warm(xs: &[f32]) {
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut sink = 0u32;
        for line in xs.chunks(16) {
            sink ^= line[0].to_bits();
        }
        std::hint::black_box(sink);
    }
    #[cfg(target_arch = "x86_64")]
    let _ = xs;
}

/// `f`'s bits as an i32 that orders as the floats do (−0 just before +0; NaN beyond ±∞).
#[inline(always)]
fn ordered(f: f32) -> i32 {
    let b = f.to_bits() as i32;
    b ^ ((b >> 31) & 0x7fff_ffff)
}

/// [`ordered`]'s inverse.
#[inline(always)]
fn from_ordered(k: i32) -> f32 {
    f32::from_bits((k ^ ((k >> 31) & 0x7fff_ffff)) as u32)
}

/// The smallest and largest value of a short block (a quantization group), NaN ignored, and ±∞
/// too with `finite`; `(+∞, −∞)` for none. Of equal zeros, −0 is the smaller. Compared as
/// [`ordered`] integers in eight lanes: a float compare-and-select fold, and `f32::min` (which
/// ignores NaN, unlike wasm's vector `min`, so it is a call there), measured 2–3× slower per
/// block in wasm.
#[inline(always)]
pub(crate) fn block_min_max(x: &[f32], finite: bool) -> (f32, f32) {
    const LANES: usize = 8;
    let (mut lo, mut hi) = ([i32::MAX; LANES], [i32::MIN; LANES]);
    let key = |v: f32| -> (i32, i32) {
        // Finite values take part, and ±∞ unless `finite`. (Float tests: the integer ones on
        // the magnitude's bits became unsigned compares, four instructions each in V8.)
        let ok = if finite { v.is_finite() } else { !v.is_nan() };
        let k = ordered(v);
        (if ok { k } else { i32::MAX }, if ok { k } else { i32::MIN })
    };
    let chunks = x.chunks_exact(LANES);
    for &v in chunks.remainder() {
        let (l, h) = key(v);
        lo[0] = lo[0].min(l);
        hi[0] = hi[0].max(h);
    }
    for c in chunks {
        for j in 0..LANES {
            let (l, h) = key(c[j]);
            lo[j] = lo[j].min(l);
            hi[j] = hi[j].max(h);
        }
    }
    let (lo, hi) = (lo.into_iter().fold(i32::MAX, i32::min), hi.into_iter().fold(i32::MIN, i32::max));
    (if lo == i32::MAX { f32::INFINITY } else { from_ordered(lo) }, if hi == i32::MIN { f32::NEG_INFINITY } else { from_ordered(hi) })
}

/// The largest magnitude of a short block as f32 bit patterns (which order as the magnitudes
/// do, NaN's above ∞'s): NaN left out, and NaN taken in. An integer maximum in eight lanes: a
/// float fold with `f32::max` (which ignores NaN, unlike wasm's vector `max`) compiled to scalar
/// code in wasm, and natively too.
#[inline(always)]
pub(crate) fn block_magnitudes(x: &[f32]) -> (u32, u32) {
    const LANES: usize = 8;
    let (mut m, mut raw) = ([0u32; LANES], [0u32; LANES]);
    let chunks = x.chunks_exact(LANES);
    for &v in chunks.remainder() {
        let a = v.to_bits() & 0x7fff_ffff;
        raw[0] = raw[0].max(a);
        m[0] = m[0].max(if v.is_nan() { 0 } else { a });
    }
    for c in chunks {
        for j in 0..LANES {
            let a = c[j].to_bits() & 0x7fff_ffff;
            raw[j] = raw[j].max(a);
            m[j] = m[j].max(if c[j].is_nan() { 0 } else { a });
        }
    }
    let top = |l: [u32; LANES]| l.into_iter().fold(0, u32::max);
    (top(m), top(raw))
}

/// The largest magnitudes of a short block's values with the sign bit clear and with it set,
/// as f32 bit patterns (0 for none), NaN left out: the value of largest magnitude is the side's
/// whose magnitude is larger, and only a tie between the sides leaves its sign to the order of
/// the values. Two integer maxima of the values' bits in eight lanes, in one pass: as i32 the
/// bits of the values with the sign clear order as their magnitudes and lie above those with it
/// set, and as u32 the bits of those with it set order as their magnitudes and lie above the
/// rest (five vector operations per four values; selecting each side's magnitude measured
/// 1.5× slower in wasm).
#[inline(always)]
pub(crate) fn block_signed_magnitudes(x: &[f32]) -> (u32, u32) {
    const LANES: usize = 8;
    let (mut pos, mut neg) = ([0i32; LANES], [0u32; LANES]);
    let chunks = x.chunks_exact(LANES);
    // NaN's bits to 0.
    let bits = |v: f32| {
        v.to_bits() & !mask(v.is_nan())
    };
    for &v in chunks.remainder() {
        let b = bits(v);
        pos[0] = pos[0].max(b as i32);
        neg[0] = neg[0].max(b);
    }
    for c in chunks {
        for j in 0..LANES {
            let b = bits(c[j]);
            pos[j] = pos[j].max(b as i32);
            neg[j] = neg[j].max(b);
        }
    }
    let pos = pos.into_iter().fold(0, i32::max) as u32;
    let neg = neg.into_iter().fold(0, u32::max);
    (pos, if neg > 0x7fff_ffff { neg & 0x7fff_ffff } else { 0 })
}

/// +∞'s bit pattern: magnitudes above it are NaN's.
pub(crate) const INFINITY_BITS: u32 = 0x7f80_0000;

/// `b` as a lane mask: all ones where set, as a vector compare gives it. (Arrays of `bool` do
/// not vectorize: LLVM widens them lane by lane, in branches.)
#[inline(always)]
pub(crate) fn mask(b: bool) -> u32 {
    u32::from(b).wrapping_neg()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values drawn from `specials` by a linear congruential `seed`.
    fn mixed(specials: &[f32], n: usize, seed: &mut u32) -> Vec<f32> {
        (0..n)
            .map(|_| {
                *seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                specials[(*seed >> 16) as usize % specials.len()]
            })
            .collect()
    }

    /// The largest magnitudes, NaN left out and taken in, are a fold's.
    #[test]
    fn block_magnitudes_are_a_fold() {
        let specials = [0.0, -0.0, 1.0, -3.0, 1e-45, f32::MAX, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, 2.5];
        let mut seed = 3u32;
        for n in [0, 1, 7, 8, 9, 16, 32, 33, 64] {
            for _ in 0..200 {
                let x = mixed(&specials, n, &mut seed);
                let finite_max = x.iter().filter(|v| !v.is_nan()).fold(0f32, |m, v| m.max(v.abs()));
                let (m, raw) = block_magnitudes(&x);
                assert_eq!(m, finite_max.to_bits(), "{x:?}");
                assert_eq!(raw > INFINITY_BITS, x.iter().any(|v| v.is_nan()), "{x:?}");
                if raw <= INFINITY_BITS {
                    assert_eq!(raw, m, "{x:?}");
                }
            }
        }
    }

    /// The largest magnitudes of each sign are a fold's, NaN left out, −0 on the negative side.
    #[test]
    fn block_signed_magnitudes_are_folds() {
        let specials = [0.0, -0.0, 1.0, -1.0, -3.0, 3.0, 1e-45, -1e-45, f32::MAX, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, 2.5];
        let mut seed = 11u32;
        for n in [0, 1, 7, 8, 9, 16, 32, 33, 64] {
            for _ in 0..200 {
                let x = mixed(&specials, n, &mut seed);
                let side = |negative: bool| x.iter().filter(|v| !v.is_nan() && v.is_sign_negative() == negative).fold(0f32, |m, v| m.max(v.abs())).to_bits();
                assert_eq!(block_signed_magnitudes(&x), (side(false), side(true)), "{x:?}");
            }
        }
    }

    /// Every kind of value alone and mixed: the block's min and max are a fold's (NaN ignored,
    /// ±∞ ignored with `finite`), −0 below +0.
    #[test]
    fn block_min_max_is_a_fold() {
        let specials = [0.0, -0.0, 1.0, -1.0, f32::MIN_POSITIVE, -1e-45, f32::MAX, f32::MIN, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, 3.5, -2.25];
        let mut seed = 7u32;
        for n in [0, 1, 2, 7, 8, 9, 16, 31, 32, 33, 64, 256] {
            for _ in 0..200 {
                let x = mixed(&specials, n, &mut seed);
                for finite in [false, true] {
                    let keep = |v: &f32| !v.is_nan() && (!finite || v.is_finite());
                    let key = |v: &f32| (*v, v.is_sign_positive());
                    let lo = x.iter().filter(|v| keep(v)).min_by(|a, b| key(a).partial_cmp(&key(b)).unwrap()).copied().unwrap_or(f32::INFINITY);
                    let hi = x.iter().filter(|v| keep(v)).max_by(|a, b| key(a).partial_cmp(&key(b)).unwrap()).copied().unwrap_or(f32::NEG_INFINITY);
                    let (l, h) = block_min_max(&x, finite);
                    assert_eq!((l.to_bits(), h.to_bits()), (lo.to_bits(), hi.to_bits()), "{x:?} finite {finite}");
                }
            }
        }
    }
}
