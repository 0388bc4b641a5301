//! Row-major matrix products for the layers.
//!
//! Written out rather than taken from an SGEMM crate on purpose: each output element is summed in
//! one fixed order (over `k`, first to last, with separate multiplies and adds), which LLVM keeps
//! on every target, so a seeded Lab run gives the same bits in the browser as in the CLI. (An
//! optimized SGEMM picks FMA kernels on x86 at run time and plain ones in wasm, whose roundings
//! differ.) The loops vectorize across the output's columns, 64 at a time.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// Output rows and columns computed together (`ROWS × COLS` accumulators: 16 registers of four
/// lanes). Chosen by measuring eleven shapes in wasm (Node 20) and natively: taller tiles spilled
/// in V8 and ran up to 3× slower; 1 × 64 was fastest or within 3% of it on both.
const ROWS: usize = 1;
const COLS: usize = 64;

/// `c = op(a)·op(b) + beta·c` (`beta` 0 or 1), where `op(a)` is `m×k`, `op(b)` is `k×n` and `c`
/// is `m×n`, all row-major (`a` is stored `m×k` for [`Op::N`], `k×m` for [`Op::T`]; likewise `b`).
/// `c[i][j] = c[i][j]·beta + a(i,0)·b(0,j) + a(i,1)·b(1,j) + …`, in that order.
///
/// # Panics
/// When a slice is shorter than its shape says (a caller's bug, never the data's), or `beta` is
/// neither 0 nor 1.
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], op_a: Op, b: &[f32], op_b: Op, beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm {m}×{k}·{k}×{n}: a {} b {} c {}", a.len(), b.len(), c.len());
    assert!(beta == 0.0 || beta == 1.0, "beta {beta}");
    if m == 0 || n == 0 {
        return;
    }
    // `b` as k rows of n: transposed operands are copied once (they are small: weights).
    let b_rows: std::borrow::Cow<[f32]> = match op_b {
        Op::N => std::borrow::Cow::Borrowed(&b[..k * n]),
        Op::T => std::borrow::Cow::Owned(transpose(b, n, k)),
    };
    let (rsa, csa) = match op_a {
        Op::N => (k, 1),
        Op::T => (1, m),
    };
    crate::engine::simd::dispatch!(kernel(m, k, n, a, rsa, csa, &b_rows, beta, c))
}

/// `t` (`rows × cols`) transposed: `cols × rows`.
fn transpose(t: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for (c, &v) in t[r * cols..(r + 1) * cols].iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// `c = a·b` in exact integer arithmetic: `a` is `m×k`, `b` is `k×n`, `c` is `m×n`, row-major
/// (the integer model's layers, all samples at once). The caller keeps every sum within i32.
pub fn gemm_i32(m: usize, k: usize, n: usize, a: &[i32], b: &[i32], c: &mut [i32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm_i32 {m}×{k}·{k}×{n}");
    crate::engine::simd::dispatch!(kernel(m, k, n, a, k, 1, b, 0, c))
}

/// The element types the kernel multiplies.
trait Element: Copy + Default + PartialEq + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {}
impl Element for f32 {}
impl Element for i32 {}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel<T: Element>(m: usize, k: usize, n: usize, a: &[T], rsa: usize, csa: usize, b: &[T], beta: T, c: &mut [T]) {
    for i0 in (0..m).step_by(ROWS) {
        let rows = ROWS.min(m - i0);
        for j0 in (0..n).step_by(COLS) {
            let cols = COLS.min(n - j0);
            let mut acc = [[T::default(); COLS]; ROWS];
            if beta != T::default() {
                for r in 0..rows {
                    acc[r][..cols].copy_from_slice(&c[(i0 + r) * n + j0..][..cols]);
                }
            }
            if rows == ROWS && cols == COLS {
                // The common case, with fixed trip counts for the vectorizer.
                for p in 0..k {
                    let bp: &[T; COLS] = b[p * n + j0..][..COLS].try_into().expect("COLS values");
                    for (r, acc_r) in acc.iter_mut().enumerate() {
                        let x = a[(i0 + r) * rsa + p * csa];
                        for (s, &y) in acc_r.iter_mut().zip(bp) {
                            *s = *s + x * y;
                        }
                    }
                }
            } else {
                for p in 0..k {
                    let bp = &b[p * n + j0..][..cols];
                    for (r, acc_r) in acc.iter_mut().enumerate().take(rows) {
                        let x = a[(i0 + r) * rsa + p * csa];
                        for (s, &y) in acc_r.iter_mut().zip(bp) {
                            *s = *s + x * y;
                        }
                    }
                }
            }
            for r in 0..rows {
                c[(i0 + r) * n + j0..][..cols].copy_from_slice(&acc[r][..cols]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop, summing over `k` in order: what `gemm` must equal to the bit.
    fn naive(m: usize, k: usize, n: usize, a: &[f32], op_a: Op, b: &[f32], op_b: Op, c0: &[f32], beta: f32) -> Vec<f32> {
        let at = |i: usize, p: usize| if op_a == Op::N { a[i * k + p] } else { a[p * m + i] };
        let bt = |p: usize, j: usize| if op_b == Op::N { b[p * n + j] } else { b[j * k + p] };
        (0..m * n)
            .map(|ij| {
                let mut s = if beta == 0.0 { 0.0 } else { c0[ij] };
                for p in 0..k {
                    s += at(ij / n, p) * bt(p, ij % n);
                }
                s
            })
            .collect()
    }

    #[test]
    fn every_shape_and_transpose_equals_the_plain_loop_bit_for_bit() {
        for (m, k, n) in [(5, 7, 3), (4, 9, 16), (9, 33, 37), (64, 64, 128), (1, 1, 1)] {
            let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
            let c0: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.01).collect();
            for op_a in [Op::N, Op::T] {
                for op_b in [Op::N, Op::T] {
                    for beta in [0.0, 1.0] {
                        let mut c = c0.clone();
                        gemm(m, k, n, &a, op_a, &b, op_b, beta, &mut c);
                        assert_eq!(c, naive(m, k, n, &a, op_a, &b, op_b, &c0, beta), "{m}×{k}×{n} {op_a:?} {op_b:?} β {beta}");
                    }
                }
            }
        }
        gemm(0, 3, 4, &[], Op::N, &[0.0; 12], Op::N, 0.0, &mut []);
    }

    #[test]
    fn integer_products_are_exact() {
        let (m, k, n) = (7, 130, 67);
        let a: Vec<i32> = (0..m * k).map(|i| (i as i32 * 37) % 255 - 127).collect();
        let b: Vec<i32> = (0..k * n).map(|i| (i as i32 * 91) % 255 - 128).collect();
        let mut c = vec![1; m * n];
        gemm_i32(m, k, n, &a, &b, &mut c);
        for i in 0..m {
            for j in 0..n {
                assert_eq!(c[i * n + j], (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum::<i32>());
            }
        }
    }
}
