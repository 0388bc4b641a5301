//! Row-major matrix products for the layers.
//!
//! Written out rather than taken from an SGEMM crate on purpose: each output element is summed in
//! one fixed order (over `k`, first to last, with separate multiplies and adds), which LLVM keeps
//! on every target, so a seeded Lab run gives the same bits in the browser as in the CLI. (An
//! optimized SGEMM picks FMA kernels on x86 at run time and plain ones in wasm, whose roundings
//! differ.) The loops vectorize across the output's columns, two rows at a time.

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

/// The integer product's column granularity: the packed operand's columns are padded to a
/// multiple of 16, and the kernels work in blocks of 32 columns (wasm: 8 vectors of four i32
/// sums), with a 16-column block at the end where the width asks for it (the 10 logits).
pub const I16_COLS: usize = 16;

/// The right operand of [`gemm_i16_rows`]: `k × n` codes packed in pairs along `k`, the two values of
/// a pair side by side for each column (`data[(q·n_pad + j)·2 + r] = b[2q + r][j]`), so one
/// 16-bit dot-product instruction (wasm `i32x4.dot_i16x8_s`, x86 `pmaddwd`) does two steps of
/// the sum for four columns. Columns are padded with zeros to a multiple of [`I16_COLS`], and
/// `k` to an even count.
#[derive(Clone, Debug, PartialEq)]
pub struct PackedI16 {
    k: usize,
    n: usize,
    n_pad: usize,
    data: Vec<i16>,
    /// The same values as bytes, for x86's `vpdpbusd`, when they fit and the CPU has it.
    bytes: Option<PackedI8>,
}

/// [`PackedI16`]'s values as signed bytes in quads along `k` (`data[(q·n_pad + j)·4 + r] =
/// b[4q + r][j]`, `k` padded with zeros to a multiple of 4), and each column's sum: the
/// operand of AVX-512 VNNI's `vpdpbusd`, which multiplies unsigned bytes by signed ones and
/// adds four steps of the sum to each of 16 columns in one instruction (twice `vpdpwssd`'s
/// two). This is how int8 inference runs on x86 (fbgemm): activations as `u8` codes, and the
/// zero point's share taken out through the column sums (Jacob et al. 2018, eq. 7–8).
#[derive(Clone, Debug, PartialEq)]
struct PackedI8 {
    data: Vec<i8>,
    colsum: Vec<i32>,
}

impl PackedI16 {
    /// Packs `rows` (`n × k`, row `j` holding column `j`'s `k` values: a layer's weights, one
    /// output per row) less `zero(j)`. Every value must fit in i16 (codes of at most 8 bits less
    /// their zero point do).
    pub fn from_rows(rows: &[i32], n: usize, k: usize, zero: impl Fn(usize) -> i32) -> PackedI16 {
        let (k2, n_pad) = (k.div_ceil(2), n.div_ceil(I16_COLS) * I16_COLS);
        let mut data = vec![0i16; k2 * n_pad * 2];
        for j in 0..n {
            let z = zero(j);
            for (p, &v) in rows[j * k..][..k].iter().enumerate() {
                data[((p / 2) * n_pad + j) * 2 + p % 2] = (v - z) as i16;
            }
        }
        let bytes = PackedI8::new(rows, n, k, n_pad, &zero);
        PackedI16 { k, n, n_pad, data, bytes }
    }
}

impl PackedI8 {
    /// `rows` less `zero(j)` as bytes, or `None` where the CPU lacks AVX-512 VNNI or a value
    /// does not fit in i8 (affine weights of 8 bits).
    fn new(rows: &[i32], n: usize, k: usize, n_pad: usize, zero: &impl Fn(usize) -> i32) -> Option<PackedI8> {
        if !vnni() {
            return None;
        }
        let k4 = k.div_ceil(4);
        let (mut data, mut colsum) = (vec![0i8; k4 * n_pad * 4], vec![0i32; n_pad]);
        for j in 0..n {
            let z = zero(j);
            for (p, &v) in rows[j * k..][..k].iter().enumerate() {
                data[((p / 4) * n_pad + j) * 4 + p % 4] = i8::try_from(v - z).ok()?;
                colsum[j] += v - z;
            }
        }
        Some(PackedI8 { data, colsum })
    }
}

/// Whether the CPU has AVX-512 VNNI's integer dot products.
fn vnni() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512vnni");
    #[allow(unreachable_code)]
    false
}

/// `a·b` in exact integer arithmetic, one output row at a time: `a` is `m × k` (values within
/// i16), `b` packed; `row(i, c_i)` receives row `i`'s `n` sums. Integer sums are exact in any
/// order, so the SIMD kernels and the portable loop give the same numbers; the caller keeps
/// every sum within i32 (with 8-bit codes, `k` up to 32,000). Pairs of zeros in `a` (post-ReLU
/// codes at their zero point, blank pixels) are dropped before the product, without branches.
pub fn gemm_i16_rows(m: usize, a: &[i16], b: &PackedI16, row: impl FnMut(usize, &[i32])) {
    gemm_rows(m, a, None, b, row)
}

/// [`gemm_i16_rows`] for `a` holding codes less a zero point, `a + lift` within `0..=255`
/// (the codes less the range's minimum: 8-bit unsigned levels). Where `b` has bytes
/// ([`PackedI8`]) each row runs on them as `Σ (a + lift)·b − lift·Σ b`; the sums are the
/// same integers. A row with a value outside the promise takes the 16-bit path, so the promise
/// is checked, not trusted.
pub fn gemm_codes_rows(m: usize, a: &[i16], lift: i32, b: &PackedI16, row: impl FnMut(usize, &[i32])) {
    gemm_rows(m, a, Some(lift), b, row)
}

fn gemm_rows(m: usize, a: &[i16], lift: Option<i32>, b: &PackedI16, mut row: impl FnMut(usize, &[i32])) {
    let (k, n) = (b.k, b.n);
    let k2 = k.div_ceil(2);
    assert!(a.len() >= m * k, "gemm_i16 {m}×{k}·{k}×{n}: a holds {}", a.len());
    // The kernels read `b` unchecked on the strength of this.
    assert_eq!(b.data.len(), k2 * b.n_pad * 2, "a packed operand's shape");
    // One row's non-zero pairs: (offset of the pair's row in `b.data`, a[2q] and a[2q+1] in the
    // low and high halves of an i32).
    let mut nz = vec![(0u32, 0i32); k2];
    let mut acc = vec![0i32; b.n_pad];
    let stride = u32::try_from(b.n_pad * 2).expect("a packed row fits in u32");
    let mut bytes = lift.zip(b.bytes.as_ref()).map(|(lift, bytes)| ByteRows::new(bytes, lift, k, b.n_pad));
    for i in 0..m {
        let r = &a[i * k..][..k];
        if bytes.as_mut().is_some_and(|bytes| bytes.row(r, &mut acc)) {
            row(i, &acc[..n]);
            continue;
        }
        let (mut len, mut off) = (0, 0);
        let pairs = r.chunks_exact(2);
        let last = pairs.remainder().first().map(|&lo| [lo, 0]);
        for p in pairs.map(|p| [p[0], p[1]]).chain(last) {
            let pair = (p[0] as u16 as u32 | (p[1] as u16 as u32) << 16) as i32;
            nz[len] = (off, pair);
            len += usize::from(pair != 0);
            off += stride;
        }
        int_row(&nz[..len], b, &mut acc);
        row(i, &acc[..n]);
    }
}

/// [`gemm_codes_rows`]'s byte path for one `lift`: the share `−lift·Σ b` each row's sums
/// start from, and one row's levels and non-zero quads of them (the offset of the quad's row of
/// bytes, four `u8` levels). (Only x86 packs bytes.)
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct ByteRows<'b> {
    packed: &'b PackedI8,
    lift: i32,
    n_pad: usize,
    start: Vec<i32>,
    levels: Vec<u8>,
    quads: Vec<(u32, i32)>,
}

impl<'b> ByteRows<'b> {
    fn new(packed: &'b PackedI8, lift: i32, k: usize, n_pad: usize) -> ByteRows<'b> {
        // The kernel reads `packed` unchecked on the strength of this.
        assert_eq!(packed.data.len(), k.div_ceil(4) * n_pad * 4, "a packed operand's shape");
        let start = packed.colsum.iter().map(|&s| s.wrapping_mul(lift.wrapping_neg())).collect();
        ByteRows { packed, lift, n_pad, start, levels: vec![0; k.div_ceil(4) * 4], quads: vec![(0, 0); k.div_ceil(4)] }
    }

    /// `acc[j] = Σ r[p]·b[p][j]` through the levels `r + lift`, or `false` (and `acc` left
    /// unspecified) if a level lies outside `0..=255`.
    fn row(&mut self, r: &[i16], acc: &mut [i32]) -> bool {
        #[cfg(target_arch = "x86_64")]
        if vnni() {
            // SAFETY: the CPU has AVX-512 VNNI (checked just above).
            return unsafe { byte_row_vnni(self, r, acc) };
        }
        unreachable!("bytes are packed only for a CPU with AVX-512 VNNI ({} values, lift {}, {} sums)", r.len(), self.lift, acc.len())
    }
}

/// [`ByteRows::row`] on AVX-512: the levels (branch-free, vectorized), their non-zero quads,
/// then `vpdpbusd` ([`vnni_row`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn byte_row_vnni(rows: &mut ByteRows, r: &[i16], acc: &mut [i32]) -> bool {
    let mut outside = 0u32;
    for (l, &v) in rows.levels.iter_mut().zip(r) {
        let level = (v as i32 + rows.lift) as u32;
        outside |= level;
        *l = level as u8;
    }
    if outside > 0xff {
        return false;
    }
    // The bytes past `r.len()` stay zero: the last quad's padding.
    let (mut len, mut off) = (0, 0u32);
    let stride = u32::try_from(rows.n_pad * 4).expect("a packed row fits in u32");
    for quad in rows.levels.chunks_exact(4) {
        let word = i32::from_le_bytes(quad.try_into().expect("four levels"));
        rows.quads[len] = (off, word);
        len += usize::from(word != 0);
        off += stride;
    }
    // SAFETY: each quad's offset is a row's start in the bytes (whose shape ByteRows::new
    // asserts), and the CPU's features are this function's.
    unsafe { vnni_row::<true>(&rows.quads[..len], rows.packed.data.as_ptr().cast(), 1, rows.n_pad, Some(&rows.start), acc) };
    true
}

/// `acc[j] = Σ a[2q]·b[2q][j] + a[2q+1]·b[2q+1][j]` over the pairs `nz`, on the widest
/// integer dot product the target has.
fn int_row(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512vnni") {
        // SAFETY: the CPU has AVX-512 VNNI (checked just above), which implies AVX-512F.
        return unsafe { int_row_vnni(nz, b, acc) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { int_row_avx2(nz, b, acc) };
    }
    #[cfg(target_arch = "wasm32")]
    return int_row_wasm(nz, b, acc);
    #[allow(unreachable_code)]
    int_row_portable(nz, b, acc)
}

/// [`int_row`] in plain Rust: the reference the SIMD kernels are tested against.
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn int_row_portable(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    for j0 in (0..b.n_pad).step_by(I16_COLS) {
        let mut s = [0i32; I16_COLS];
        for &(off, pair) in nz {
            let (x0, x1) = (pair as i16 as i32, (pair >> 16) as i16 as i32);
            let bp: &[i16; 2 * I16_COLS] = b.data[off as usize + 2 * j0..][..2 * I16_COLS].try_into().expect("a block");
            for (t, st) in s.iter_mut().enumerate() {
                *st = st.wrapping_add(x0 * bp[2 * t] as i32 + x1 * bp[2 * t + 1] as i32);
            }
        }
        acc[j0..j0 + I16_COLS].copy_from_slice(&s);
    }
}

/// [`int_row`] with wasm's `i32x4.dot_i16x8_s`: two steps of the sum for four columns an
/// instruction, 32 columns a block (8 vectors of sums: V8 already spills some at this width).
#[cfg(target_arch = "wasm32")]
fn int_row_wasm(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    assert!(acc.len() >= b.n_pad);
    column_blocks!(b.n_pad, [32, 16], |j0, w| match w {
        32 => wasm_block::<8>(nz, b, j0, acc),
        _ => wasm_block::<4>(nz, b, j0, acc),
    });
}

/// `4R` columns from `j0` of [`int_row_wasm`], which keeps `j0 + 4R <= n_pad <= acc.len()`.
#[cfg(target_arch = "wasm32")]
#[inline(always)]
fn wasm_block<const R: usize>(nz: &[(u32, i32)], b: &PackedI16, j0: usize, acc: &mut [i32]) {
    use core::arch::wasm32::{i32x4_add, i32x4_dot_i16x8, i32x4_splat, v128, v128_load, v128_store};
    let mut s = [i32x4_splat(0); R];
    for &(off, pair) in nz {
        let x = i32x4_splat(pair);
        // SAFETY: `off` is a pair row's start (asserted to lie in `data` by gemm_i16_rows's
        // shape check) and j0 + 4R <= n_pad: 8R i16 values, 8 per (unaligned) load.
        let bp = unsafe { b.data.as_ptr().add(off as usize + 2 * j0) } as *const v128;
        for (t, st) in s.iter_mut().enumerate() {
            *st = i32x4_add(*st, i32x4_dot_i16x8(x, unsafe { v128_load(bp.add(t)) }));
        }
    }
    for (t, st) in s.iter().enumerate() {
        // SAFETY: j0 + 4t + 4 <= j0 + 4R <= acc.len().
        unsafe { v128_store(acc.as_mut_ptr().add(j0 + 4 * t) as *mut v128, *st) };
    }
}

/// [`int_row`] with AVX2's `vpmaddwd`: eight columns a register, 32 a block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn int_row_avx2(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    assert!(acc.len() >= b.n_pad);
    // SAFETY (both blocks): the CPU's features are this function's, and column_blocks keeps
    // every block within n_pad <= acc.len().
    column_blocks!(b.n_pad, [32, 16], |j0, w| match w {
        32 => unsafe { avx2_block::<4>(nz, b, j0, acc) },
        _ => unsafe { avx2_block::<2>(nz, b, j0, acc) },
    });
}

/// `8R` columns from `j0` of [`int_row_avx2`], which keeps `j0 + 8R <= n_pad <= acc.len()`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn avx2_block<const R: usize>(nz: &[(u32, i32)], b: &PackedI16, j0: usize, acc: &mut [i32]) {
    use std::arch::x86_64::{__m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi32, _mm256_setzero_si256, _mm256_storeu_si256};
    let mut s = [_mm256_setzero_si256(); R];
    for &(off, pair) in nz {
        let x = _mm256_set1_epi32(pair);
        // SAFETY: `off` is a pair row's start (see wasm_block) and j0 + 8R <= n_pad: 16R values,
        // 16 per (unaligned) load.
        let bp = unsafe { b.data.as_ptr().add(off as usize + 2 * j0) } as *const __m256i;
        for (t, st) in s.iter_mut().enumerate() {
            *st = _mm256_add_epi32(*st, _mm256_madd_epi16(x, unsafe { _mm256_loadu_si256(bp.add(t)) }));
        }
    }
    for (t, st) in s.iter().enumerate() {
        // SAFETY: j0 + 8t + 8 <= j0 + 8R <= acc.len().
        unsafe { _mm256_storeu_si256(acc.as_mut_ptr().add(j0 + 8 * t) as *mut __m256i, *st) };
    }
}

/// [`int_row`] with AVX-512 VNNI's `vpdpwssd` ([`vnni_row`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn int_row_vnni(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    // SAFETY: each pair's offset is a row's start in `b.data` (whose shape gemm_rows asserts),
    // and the CPU's features are this function's.
    unsafe { vnni_row::<false>(nz, b.data.as_ptr().cast(), 2, b.n_pad, None, acc) }
}

/// `acc[j] = start[j] (or 0) + Σ dot(x, row[j])` over `steps` `(offset, x)` on AVX-512 VNNI,
/// 64 columns a block (then 32, then 16). Both packings hold four bytes a column per step, 16
/// columns a register: `QUADS` takes `x` as four `u8` levels against quads of `i8` (`vpdpbusd`),
/// otherwise as two `i16` against pairs of `i16` (`vpdpwssd`). A step's row starts at byte
/// `offset·scale` of `data`.
///
/// # Safety
/// The CPU has AVX-512 VNNI, and every step's row of `data` holds `4·n_pad` bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn vnni_row<const QUADS: bool>(steps: &[(u32, i32)], data: *const u8, scale: usize, n_pad: usize, start: Option<&[i32]>, acc: &mut [i32]) {
    assert!(acc.len() >= n_pad && start.is_none_or(|s| s.len() >= n_pad));
    // SAFETY (every block): the caller's promise, and column_blocks keeps every block within
    // n_pad <= acc.len().
    column_blocks!(n_pad, [64, 32, 16], |j0, w| match w {
        64 => unsafe { vnni_block::<4, QUADS>(steps, data, scale, j0, start, acc) },
        32 => unsafe { vnni_block::<2, QUADS>(steps, data, scale, j0, start, acc) },
        _ => unsafe { vnni_block::<1, QUADS>(steps, data, scale, j0, start, acc) },
    });
}

/// `16R` columns from `j0` of [`vnni_row`], which keeps `j0 + 16R <= n_pad`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
#[inline]
unsafe fn vnni_block<const R: usize, const QUADS: bool>(steps: &[(u32, i32)], data: *const u8, scale: usize, j0: usize, start: Option<&[i32]>, acc: &mut [i32]) {
    use std::arch::x86_64::{__m512i, _mm512_add_epi32, _mm512_dpbusd_epi32, _mm512_dpwssd_epi32, _mm512_loadu_si512, _mm512_set1_epi32, _mm512_setzero_si512, _mm512_storeu_si512};
    // A VNNI instruction takes 5 cycles to feed its sum to the next one: alternate steps go to
    // two sets of sums, added at the end, so the chains overlap.
    let step = |s: &mut [__m512i; R], (off, x): (u32, i32)| {
        let x = _mm512_set1_epi32(x);
        // SAFETY: the row holds 4·n_pad bytes (vnni_row's promise) and j0 + 16R <= n_pad:
        // 64R bytes from 4·j0, 64 per (unaligned) load.
        let bp = unsafe { data.add(off as usize * scale + 4 * j0) } as *const __m512i;
        for (t, st) in s.iter_mut().enumerate() {
            let w = unsafe { _mm512_loadu_si512(bp.add(t)) };
            *st = if QUADS { _mm512_dpbusd_epi32(*st, x, w) } else { _mm512_dpwssd_epi32(*st, x, w) };
        }
    };
    // SAFETY: j0 + 16R <= n_pad <= start.len() (asserted by vnni_row).
    let mut s: [__m512i; R] = match start {
        Some(start) => std::array::from_fn(|t| unsafe { _mm512_loadu_si512(start.as_ptr().add(j0 + 16 * t) as *const __m512i) }),
        None => [_mm512_setzero_si512(); R],
    };
    let mut u = [_mm512_setzero_si512(); R];
    let mut pairs = steps.chunks_exact(2);
    for two in &mut pairs {
        step(&mut s, two[0]);
        step(&mut u, two[1]);
    }
    if let [last] = pairs.remainder() {
        step(&mut s, *last);
    }
    for (t, (st, ut)) in s.iter().zip(u).enumerate() {
        // SAFETY: j0 + 16t + 16 <= j0 + 16R <= acc.len().
        unsafe { _mm512_storeu_si512(acc.as_mut_ptr().add(j0 + 16 * t) as *mut __m512i, _mm512_add_epi32(*st, ut)) };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop, summing over `k` in order: what `gemm` must equal to the bit.
    #[allow(clippy::too_many_arguments)] // gemm's arguments and the `c` it starts from
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

    /// Values with runs of zeros (as post-ReLU activations and their gradients have), `zeros`
    /// in 8 of them, and signed zeros among them.
    fn sparse(len: usize, freq: f32, zeros: usize) -> Vec<f32> {
        (0..len)
            .map(|i| match i % 8 {
                z if z < zeros && (i / 8) % 3 != 1 => if i % 2 == 0 { 0.0 } else { -0.0 },
                _ => (i as f32 * freq).sin(),
            })
            .collect()
    }

    #[test]
    fn every_shape_and_transpose_equals_the_plain_loop_bit_for_bit() {
        // Widths on and off the padding grid, below one block and across every block width.
        for (m, k, n) in [(5, 7, 3), (4, 9, 16), (9, 33, 37), (3, 5, 48), (2, 70, 63), (3, 6, 10), (2, 4, 8), (2, 3, 25), (64, 64, 128), (1, 1, 1)] {
            for zeros in [0, 3, 8] {
                let a = sparse(m * k, 0.37, zeros);
                let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
                let c0: Vec<f32> = (0..m * n).map(|i| i as f32 * 0.01).collect();
                for op_a in [Op::N, Op::T] {
                    for op_b in [Op::N, Op::T] {
                        for beta in [0.0, 1.0] {
                            let mut c = c0.clone();
                            gemm(m, k, n, &a, op_a, &b, op_b, beta, &mut c);
                            let want = naive(m, k, n, &a, op_a, &b, op_b, &c0, beta);
                            assert_eq!(c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{m}×{k}×{n} {op_a:?} {op_b:?} β {beta}, {zeros} zeros in 8");
                        }
                    }
                }
            }
        }
        gemm(0, 3, 4, &[], Op::N, &[0.0; 12], Op::N, 0.0, &mut []);
    }

    #[test]
    fn the_transposed_product_takes_either_side_with_the_same_bits() {
        // Either operand the sparser, so both ways of computing run.
        let mut flips = Vec::new();
        for (m, k, n, za, zb) in [(10, 64, 128, 0, 4), (128, 64, 64, 2, 4), (128, 64, 64, 4, 2), (7, 5, 3, 8, 0), (3, 1, 9, 0, 8), (16, 0, 4, 0, 0)] {
            let a = sparse(k * m, 0.43, za);
            let b = sparse(k * n, 0.29, zb);
            flips.push(tn_flips(m, k, n, &a, &b));
            let mut c = vec![f32::NAN; m * n];
            gemm_tn(m, k, n, &a, &b, &mut c);
            let want = naive(m, k, n, &a, Op::T, &b, Op::N, &[], 0.0);
            assert_eq!(c.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "{m}×{k}×{n}");
        }
        assert!(flips.contains(&true) && flips.contains(&false), "both ways ran: {flips:?}");
    }

    #[test]
    fn transposing_into_a_padded_buffer_moves_every_value() {
        for (rows, cols, stride) in [(1, 1, 1), (3, 10, 8), (9, 17, 9), (16, 16, 24), (8, 12, 8), (5, 4, 7), (0, 5, 0)] {
            let t: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let mut out = vec![-1f32; cols * stride];
            transpose_into(&t, rows, cols, &mut out, stride);
            for c in 0..cols {
                for r in 0..stride {
                    assert_eq!(out[c * stride + r], if r < rows { t[r * cols + c] } else { -1.0 }, "{rows}×{cols} stride {stride} at ({c}, {r})");
                }
            }
        }
    }

    #[test]
    fn integer_products_are_exact() {
        for (m, k, n) in [(7, 130, 67), (3, 9, 8), (5, 1, 33), (2, 255, 32), (4, 0, 5)] {
            // Zeros alone, in pairs, and whole zero rows (the kernels skip pairs of zeros).
            let a: Vec<i16> = (0..m * k).map(|i| if i % 5 == 0 || (i / 2) % 7 == 3 || i / k.max(1) == 2 { 0 } else { ((i * 37) % 511) as i16 - 255 }).collect();
            let b: Vec<i32> = (0..n * k).map(|i| (i as i32 * 91) % 255 - 128).collect();
            let zero = |j: usize| (j % 3) as i32;
            let packed = PackedI16::from_rows(&b, n, k, zero);
            let mut c = vec![1; m * n];
            gemm_i16_rows(m, &a, &packed, |i, row| c[i * n..][..n].copy_from_slice(row));
            for i in 0..m {
                for j in 0..n {
                    let want: i32 = (0..k).map(|p| a[i * k + p] as i32 * (b[j * k + p] - zero(j))).sum();
                    assert_eq!(c[i * n + j], want, "{m}×{k}×{n} at ({i}, {j})");
                }
            }
        }
    }

    #[test]
    fn products_of_codes_take_bytes_where_they_fit_and_give_the_same_sums() {
        // Weights within i8 (packed as bytes on a CPU with VNNI) and past it (8-bit affine
        // weights less their zero point), `k` on and off the quads' grid.
        for (m, k, n, span) in [(6, 130, 67, 255), (6, 130, 67, 301), (5, 7, 16, 200), (4, 64, 128, 15), (3, 3, 10, 9), (2, 0, 5, 1)] {
            let b: Vec<i32> = (0..n * k).map(|i| (i as i32 * 91) % span - span / 2).collect();
            let packed = PackedI16::from_rows(&b, n, k, |_| 0);
            assert_eq!(packed.bytes.is_some(), vnni() && span <= 256, "{m}×{k}×{n}, weights across {span}");
            for lift in [0, 3, 128, 255] {
                // Levels with runs of zeros (whole zero quads); row 1 holds one level past 255
                // and row 2 one below 0, which the 16-bit path must take.
                let level = |i: usize| match (i / k.max(1), i % k.max(1)) {
                    (1, 5) => 256,
                    (2, 2) => -1,
                    (_, p) if (p / 4) % 3 == 0 => 0,
                    _ => ((i * 37) % 256) as i32,
                };
                let a: Vec<i16> = (0..m * k).map(|i| (level(i) - lift) as i16).collect();
                let mut c = vec![7; m * n];
                gemm_codes_rows(m, &a, lift, &packed, |i, row| c[i * n..][..n].copy_from_slice(row));
                for i in 0..m {
                    for j in 0..n {
                        let want: i32 = (0..k).map(|p| a[i * k + p] as i32 * b[j * k + p]).sum();
                        assert_eq!(c[i * n + j], want, "{m}×{k}×{n}, weights across {span}, lift {lift}, at ({i}, {j})");
                    }
                }
            }
        }
    }

    #[test]
    fn the_simd_integer_kernel_equals_the_portable_one() {
        // 112 columns: blocks of 64, 32 and 16 for the AVX-512 kernel.
        let (k, n) = (40, 107);
        let b: Vec<i32> = (0..n * k).map(|i| (i as i32 * 53) % 255 - 127).collect();
        let packed = PackedI16::from_rows(&b, n, k, |_| 0);
        // Pairs of values across ±255, the widest that 8-bit codes less their zero point give.
        let nz: Vec<(u32, i32)> = (0..k as u32 / 2).filter(|q| q % 3 != 1).map(|q| (q * packed.n_pad as u32 * 2, ((q as i32 * 97) % 511 - 255) & 0xffff | ((q as i32 * 31) % 511 - 255) << 16)).collect();
        let mut plain = vec![0; packed.n_pad];
        int_row_portable(&nz, &packed, &mut plain);
        let mut fast = vec![0; packed.n_pad];
        int_row(&nz, &packed, &mut fast);
        assert_eq!(fast, plain, "the kernel this CPU runs");
        // Every x86 kernel this CPU can run, not only the widest.
        #[cfg(target_arch = "x86_64")]
        for (name, kernel, has) in [
            ("AVX2", int_row_avx2 as unsafe fn(&[(u32, i32)], &PackedI16, &mut [i32]), std::arch::is_x86_feature_detected!("avx2")),
            ("AVX-512 VNNI", int_row_vnni, std::arch::is_x86_feature_detected!("avx512vnni")),
        ] {
            if has {
                let mut fast = vec![0; packed.n_pad];
                // SAFETY: the CPU has the kernel's features (checked).
                unsafe { kernel(&nz, &packed, &mut fast) };
                assert_eq!(fast, plain, "{name}");
            }
        }
    }
}
