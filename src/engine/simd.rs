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
                unsafe { avx2(|| $f($($arg),*)) }
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
