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
