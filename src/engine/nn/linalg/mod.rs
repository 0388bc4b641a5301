//! Row-major matrix products for the layers.
//!
//! Written out rather than taken from an SGEMM crate on purpose: each output element is summed in
//! one fixed order (over `k`, first to last, with separate multiplies and adds), which LLVM keeps
//! on every target, so a seeded Lab run gives the same bits in the browser as in the CLI. (An
//! optimized SGEMM picks FMA kernels on x86 at run time and plain ones in wasm, whose roundings
//! differ.) The loops vectorize across the output's columns, two rows at a time.

#[cfg(test)]
mod tests;


/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    N,
    T,
}

/// Output columns computed together for a row on its own (the last of an odd count): 6
/// registers of four lanes, then 16, then 8. Chosen by measuring: V8 hoists a block's loads of
/// `b` ahead of its multiplies, so a block needs twice its width in registers, and past about a
/// dozen it spills sums to the stack. Rows in pairs take blocks of 16 (8 vector sums, the loads
/// of `b` shared by the two rows). In V8 on this machine, the bare blocks over a dense
/// 64×128×128 product took 1.5 ms a row at a time in blocks of 24 and 1.1 ms two rows at a
/// time in blocks of 16 (3×8, 3×12, 2×20 and 2×24 came between; 4×8 level with 2×16); `gemm`
/// with its compaction, 1.9 and 1.4 ms; the MLP's FP32 epoch, 8.4 and 7.5 ms (best of 60,
/// interleaved). Natively the width hardly matters.
const COLS: usize = 24;

/// `b`'s rows are padded with zeros to a multiple of this many columns, so that every column
/// block is a whole vector loop (the logits' 10 columns take one 16-column block).
const PAD: usize = 8;

/// `column_blocks!(n_pad, [w1, w2, …], |j0, w| body)` runs `body` for the column blocks
/// `(j0, w)` over `0..n_pad`: as many blocks of each width in turn as fit (widest first, the
/// last one dividing `n_pad`), so every block lies within `n_pad`.
///
/// A macro, so that `body` is written out once per width with `w` a constant (a `match` on it
/// goes away) and is compiled inside the caller. A closure would be a function of its own,
/// without the target features of the [`dispatch!`] copy it is called from: the f32 blocks ran
/// on SSE natively that way (9.1 ms an epoch), where they now run on AVX2 (7.5 ms).
///
/// [`dispatch!`]: crate::engine::simd::dispatch
macro_rules! column_blocks {
    ($n_pad:expr, [$($width:expr),+], |$j0:ident, $w:ident| $body:expr) => {{
        let (n_pad, mut next) = ($n_pad, 0usize);
        $(
            while next + $width <= n_pad {
                let ($j0, $w) = (next, $width);
                $body;
                next += $width;
            }
        )+
        debug_assert_eq!(next, n_pad, "the last width divides n_pad");
    }};
}

mod int;
pub use int::{I16_COLS, PackedI16, gemm_i16_rows, gemm_codes_rows};

/// `c = op(a)·op(b) + beta·c` (`beta` 0 or 1), where `op(a)` is `m×k`, `op(b)` is `k×n` and `c`
/// is `m×n`, all row-major (`a` is stored `m×k` for [`Op::N`], `k×m` for [`Op::T`]; likewise `b`).
/// `c[i][j] = c[i][j]·beta + a(i,0)·b(0,j) + a(i,1)·b(1,j) + …`, in that order.
///
/// # Panics
/// When a slice is shorter than its shape says (a caller's bug, never the data's), or `beta` is
/// neither 0 nor 1.
#[allow(clippy::too_many_arguments)] // BLAS's sgemm: shapes, operands, transposes, beta
pub fn gemm(m: usize, k: usize, n: usize, a: &[f32], op_a: Op, b: &[f32], op_b: Op, beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm {m}×{k}·{k}×{n}: a {} b {} c {}", a.len(), b.len(), c.len());
    assert!(beta == 0.0 || beta == 1.0, "beta {beta}");
    if m == 0 || n == 0 {
        return;
    }
    // `b` as k rows of `n_pad`: copied when transposed or off the padding grid (it is the
    // smaller operand: weights, or a layer's inputs against a wider output).
    let n_pad = n.next_multiple_of(PAD);
    let b_rows: std::borrow::Cow<[f32]> = match op_b {
        Op::N if n == n_pad => std::borrow::Cow::Borrowed(&b[..k * n]),
        Op::N => {
            let mut padded = vec![0f32; k * n_pad];
            for (to, from) in padded.chunks_exact_mut(n_pad).zip(b.chunks_exact(n)) {
                to[..n].copy_from_slice(from);
            }
            std::borrow::Cow::Owned(padded)
        }
        Op::T => {
            let mut t = vec![0f32; k * n_pad];
            transpose_into(&b[..n * k], n, k, &mut t, n_pad);
            std::borrow::Cow::Owned(t)
        }
    };
    let (rsa, csa) = match op_a {
        Op::N => (k, 1),
        Op::T => (1, m),
    };
    crate::engine::simd::dispatch!(kernel(m, k, n, n_pad, a, rsa, csa, &b_rows, beta, c))
}

/// `c = aᵀ·b` (`a` stored `k×m`, `b` stored `k×n`, `c` `m×n`): a weight gradient, `gᵀ·x` summed
/// over a batch. Equal to the bit to `gemm(m, k, n, a, Op::T, b, Op::N, 0.0, c)`, but it
/// computes whichever of `c` and `cᵀ = bᵀ·a` costs less: the product skips the zeros of its left
/// operand (where both rows of a pair have them), and each sum runs over the batch in order
/// either way, a zero product changing no sum (see [`gemm`]'s kernel). The cost counted is a
/// vector step per non-zero per padded output column, and a compaction step per entry of the
/// left operand (counted a row at a time; by pairs, the MLP's three choices come out the
/// same, worked by hand from the sparsity of its activations and gradients): the first layer's
/// gradient goes through the digits' pixels (half zeros) rather than the ReLU's (a sixth),
/// while the logits' layer keeps its 128-wide rows rather than computing 10-wide ones.
pub fn gemm_tn(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    if tn_flips(m, k, n, a, b) {
        let mut ct = vec![0f32; n * m];
        gemm(n, k, m, b, Op::T, a, Op::N, 0.0, &mut ct);
        transpose_into(&ct, n, m, c, n);
    } else {
        gemm(m, k, n, a, Op::T, b, Op::N, 0.0, c);
    }
}

/// Whether [`gemm_tn`] computes `cᵀ = bᵀ·a` rather than `c = aᵀ·b`: the cheaper by its count.
fn tn_flips(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> bool {
    let nonzeros = |v: &[f32]| v.iter().filter(|&&x| x != 0.0).count();
    let cost = |left: &[f32], width: usize| nonzeros(left) * width.next_multiple_of(PAD) + left.len();
    cost(&b[..k * n], m) < cost(&a[..k * m], n)
}

/// Writes `t` (`rows × cols`) transposed into the first `rows` columns of `out`'s `cols` rows of
/// `stride`, in 4×4 blocks, then the edges value by value: each block writes 16 bytes to each of
/// four output rows, where a row-by-row copy writes one value per cache line (the forward pass's
/// three weight transposes took 0.7 ms of an epoch in wasm that way, 0.25 ms now).
fn transpose_into(t: &[f32], rows: usize, cols: usize, out: &mut [f32], stride: usize) {
    assert!(t.len() >= rows * cols && out.len() >= cols.saturating_sub(1) * stride + rows && stride >= rows, "transpose {rows}×{cols} into stride {stride}");
    let (rows4, cols4) = (rows / 4 * 4, cols / 4 * 4);
    for r0 in (0..rows4).step_by(4) {
        for c0 in (0..cols4).step_by(4) {
            let x: [[f32; 4]; 4] = std::array::from_fn(|i| t[(r0 + i) * cols + c0..][..4].try_into().expect("four values"));
            for j in 0..4 {
                out[(c0 + j) * stride + r0..][..4].copy_from_slice(&[x[0][j], x[1][j], x[2][j], x[3][j]]);
            }
        }
        for c in cols4..cols {
            for r in r0..r0 + 4 {
                out[c * stride + r] = t[r * cols + c];
            }
        }
    }
    for r in rows4..rows {
        for c in 0..cols {
            out[c * stride + r] = t[r * cols + c];
        }
    }
}

/// The element types the layers' loops work on: f32 for training and the simulation, i32 and
/// i16 for the integer model's codes.
pub trait Element: Copy + Default + PartialOrd + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {}
impl Element for f32 {}
impl Element for i32 {}
impl Element for i16 {}

/// `row_blocks!(R; nz, b, n_pad, n, beta, rows, padded, [w1, w2, …])`: `R` rows of the
/// product (`rows`, `R × n` of `c`) by [`f32_block`]s over the column blocks of
/// [`column_blocks!`], summed in `padded` (`R × n_pad`), so that every block is whole.
macro_rules! row_blocks {
    ($r:literal; $nz:expr, $b:expr, $n_pad:expr, $n:expr, $beta:expr, $rows:expr, $padded:expr, [$($width:tt),+]) => {{
        let (nz, b, n_pad, n, beta, rows, padded): (_, &[f32], usize, usize, f32, &mut [f32], &mut [f32]) = ($nz, $b, $n_pad, $n, $beta, $rows, $padded);
        if beta != 0.0 {
            for (to, from) in padded.chunks_exact_mut(n_pad).zip(rows.chunks_exact(n)) {
                to[..n].copy_from_slice(from);
            }
        }
        column_blocks!(n_pad, [$($width),+], |j0, width| match width {
            $($width => f32_block::<{ $r }, $width>(nz, b, j0, beta, n_pad, padded),)+
            _ => unreachable!("a block width"),
        });
        for (to, from) in rows.chunks_exact_mut(n).zip(padded.chunks_exact(n_pad)) {
            to.copy_from_slice(&from[..n]);
        }
    }};
}

/// Two output rows at a time (then the last one on its own), in column blocks over `b`'s
/// `n_pad` columns. Where both rows' entries of `a` are zero the step adds nothing and is
/// skipped: a sixth to a quarter of the MLP's post-ReLU activations and their gradients are
/// zeros, and half the digits' pixels (the same blank ones in every image). Where one of the
/// two is zero, its row adds `0·b`, as the plain loop does. (Neither changes a sum, except
/// against an infinite or NaN `b`, which the Lab stops on before, and the sign of a zero sum;
/// every target runs the same steps, so the bits agree across them.)
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel(m: usize, k: usize, n: usize, n_pad: usize, a: &[f32], rsa: usize, csa: usize, b: &[f32], beta: f32, c: &mut [f32]) {
    // The blocks read `b` unchecked on the strength of this.
    assert!(b.len() >= k * n_pad && n_pad.is_multiple_of(PAD) && n <= n_pad, "kernel: b holds {} values, not {k}×{n_pad}", b.len());
    let mut padded = vec![0f32; 2 * n_pad];
    let mut steps = vec![(0usize, [0f32; 2]); k];
    let (pairs, last) = c[..m * n].split_at_mut(m / 2 * 2 * n);
    for (i, rows) in pairs.chunks_exact_mut(2 * n).enumerate().map(|(q, rows)| (2 * q, rows)) {
        let nz = nonzero_steps(k, n_pad, |p| [a[i * rsa + p * csa], a[(i + 1) * rsa + p * csa]], &mut steps);
        // Two rows of 16 columns: 8 vector sums, the most V8 keeps in registers next to the
        // loads (see COLS).
        row_blocks!(2; nz, b, n_pad, n, beta, rows, &mut padded, [16, PAD]);
    }
    if !last.is_empty() {
        let i = m - 1;
        let mut steps = vec![(0usize, [0f32; 1]); k];
        let nz = nonzero_steps(k, n_pad, |p| [a[i * rsa + p * csa]], &mut steps);
        row_blocks!(1; nz, b, n_pad, n, beta, last, &mut padded[..n_pad], [COLS, 16, PAD]);
    }
}

/// The steps of `R` rows' sums where some row's entry of `a` (`x(p)`) is non-zero, with the
/// offsets of their rows of `b` (`p·n_pad`): found once for every column block, without
/// branches (every step is written, the count moves on past the non-zero ones).
#[inline(always)]
fn nonzero_steps<const R: usize>(k: usize, n_pad: usize, x: impl Fn(usize) -> [f32; R], buf: &mut [(usize, [f32; R])]) -> &[(usize, [f32; R])] {
    let mut len = 0;
    for p in 0..k {
        let xs = x(p);
        buf[len] = (p * n_pad, xs);
        len += usize::from(xs.iter().any(|&v| v != 0.0));
    }
    &buf[..len]
}

/// Columns `j0..j0 + C` of `R` rows of sums (`padded`, rows of `n_pad`), from zero, or from
/// what they hold when `beta` is 1. The caller keeps `j0 + C <= n_pad`, and every offset in
/// `nz` a multiple of `n_pad` below `b.len()`.
#[inline(always)]
fn f32_block<const R: usize, const C: usize>(nz: &[(usize, [f32; R])], b: &[f32], j0: usize, beta: f32, n_pad: usize, padded: &mut [f32]) {
    let block = |r: usize| j0 + r * n_pad..j0 + r * n_pad + C;
    // Whole blocks in and out: copies of the block's width only, so LLVM keeps the sums in
    // vector registers.
    let mut acc = [[0f32; C]; R];
    if beta != 0.0 {
        for (r, s) in acc.iter_mut().enumerate() {
            *s = padded[block(r)].try_into().expect("a block");
        }
    }
    for &(offset, x) in nz {
        // SAFETY: offset = p·n_pad with p < k, j0 + C <= n_pad and b.len() >= k·n_pad (the
        // caller's promise): the C values at offset + j0 are in bounds.
        let bp: &[f32; C] = unsafe { &*(b.as_ptr().add(offset + j0) as *const [f32; C]) };
        for (t, &y) in bp.iter().enumerate() {
            for r in 0..R {
                acc[r][t] += x[r] * y;
            }
        }
    }
    for (r, s) in acc.iter().enumerate() {
        padded[block(r)].copy_from_slice(s);
    }
}
