//! Row-major matrix products for the layers, through `matrixmultiply`'s SGEMM.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// `c = op(a)·op(b) + beta·c`, where `op(a)` is `m×k`, `op(b)` is `k×n` and `c` is `m×n`, all
/// row-major (`a` is stored `m×k` for [`Op::N`], `k×m` for [`Op::T`]; likewise `b`).
///
/// # Panics
/// When a slice is shorter than its shape says (a caller's bug, never the data's).
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], op_a: Op, b: &[f32], op_b: Op, beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm {m}×{k}·{k}×{n}: a {} b {} c {}", a.len(), b.len(), c.len());
    if m == 0 || n == 0 {
        return;
    }
    let (rsa, csa) = match op_a {
        Op::N => (k as isize, 1),
        Op::T => (1, m as isize),
    };
    let (rsb, csb) = match op_b {
        Op::N => (n as isize, 1),
        Op::T => (1, k as isize),
    };
    // SAFETY: the strides address a[0 .. m·k), b[0 .. k·n) and c[0 .. m·n) only (row-major
    // layouts of the stated shapes), and the lengths were checked above.
    unsafe {
        matrixmultiply::sgemm(m, k, n, 1.0, a.as_ptr(), rsa, csa, b.as_ptr(), rsb, csb, beta, c.as_mut_ptr(), n as isize, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, k: usize, n: usize, a: &[f32], op_a: Op, b: &[f32], op_b: Op) -> Vec<f32> {
        let at = |i: usize, p: usize| if op_a == Op::N { a[i * k + p] } else { a[p * m + i] };
        let bt = |p: usize, j: usize| if op_b == Op::N { b[p * n + j] } else { b[j * k + p] };
        (0..m * n).map(|ij| (0..k).map(|p| at(ij / n, p) * bt(p, ij % n)).sum()).collect()
    }

    #[test]
    fn every_transpose_matches_a_plain_loop() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
        for op_a in [Op::N, Op::T] {
            for op_b in [Op::N, Op::T] {
                let mut c = vec![1.0; m * n];
                gemm(m, k, n, &a, op_a, &b, op_b, 0.0, &mut c);
                for (x, y) in c.iter().zip(naive(m, k, n, &a, op_a, &b, op_b)) {
                    assert!((x - y).abs() < 1e-5, "{op_a:?} {op_b:?}: {x} {y}");
                }
                // beta = 1 accumulates.
                let mut c2 = c.clone();
                gemm(m, k, n, &a, op_a, &b, op_b, 1.0, &mut c2);
                for (x, y) in c2.iter().zip(&c) {
                    assert!((x - 2.0 * y).abs() < 1e-5);
                }
            }
        }
        gemm(0, 3, 4, &[], Op::N, &[0.0; 12], Op::N, 0.0, &mut []);
    }
}
