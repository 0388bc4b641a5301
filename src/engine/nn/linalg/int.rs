//! The integer model's products: 16-bit codes packed in pairs along `k` and summed in i32, by
//! `pmaddwd`/AVX-512 VNNI natively and `i32x4.dot_i16x8_s` in wasm, skipping zero steps.


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
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) n_pad: usize,
    pub(super) data: Vec<i16>,
    /// The same values as bytes, for x86's `vpdpbusd`, when they fit and the CPU has it.
    pub(super) bytes: Option<PackedI8>,
}

/// [`PackedI16`]'s values as signed bytes in quads along `k` (`data[(q·n_pad + j)·4 + r] =
/// b[4q + r][j]`, `k` padded with zeros to a multiple of 4), and each column's sum: the
/// operand of AVX-512 VNNI's `vpdpbusd`, which multiplies unsigned bytes by signed ones and
/// adds four steps of the sum to each of 16 columns in one instruction (twice `vpdpwssd`'s
/// two). This is how int8 inference runs on x86 (fbgemm): activations as `u8` codes, and the
/// zero point's share taken out through the column sums (Jacob et al. 2018, eq. 7–8).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PackedI8 {
    pub(super) data: Vec<i8>,
    pub(super) colsum: Vec<i32>,
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
    pub(super) fn new(rows: &[i32], n: usize, k: usize, n_pad: usize, zero: &impl Fn(usize) -> i32) -> Option<PackedI8> {
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
pub(super) fn vnni() -> bool {
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
/// (`PackedI8`) each row runs on them as `Σ (a + lift)·b − lift·Σ b`; the sums are the
/// same integers. A row with a value outside the promise takes the 16-bit path, so the promise
/// is checked, not trusted.
pub fn gemm_codes_rows(m: usize, a: &[i16], lift: i32, b: &PackedI16, row: impl FnMut(usize, &[i32])) {
    gemm_rows(m, a, Some(lift), b, row)
}

pub(super) fn gemm_rows(m: usize, a: &[i16], lift: Option<i32>, b: &PackedI16, mut row: impl FnMut(usize, &[i32])) {
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
pub(super) struct ByteRows<'b> {
    pub(super) packed: &'b PackedI8,
    pub(super) lift: i32,
    pub(super) n_pad: usize,
    pub(super) start: Vec<i32>,
    pub(super) levels: Vec<u8>,
    pub(super) quads: Vec<(u32, i32)>,
}

impl<'b> ByteRows<'b> {
    pub(super) fn new(packed: &'b PackedI8, lift: i32, k: usize, n_pad: usize) -> ByteRows<'b> {
        // The kernel reads `packed` unchecked on the strength of this.
        assert_eq!(packed.data.len(), k.div_ceil(4) * n_pad * 4, "a packed operand's shape");
        let start = packed.colsum.iter().map(|&s| s.wrapping_mul(lift.wrapping_neg())).collect();
        ByteRows { packed, lift, n_pad, start, levels: vec![0; k.div_ceil(4) * 4], quads: vec![(0, 0); k.div_ceil(4)] }
    }

    /// `acc[j] = Σ r[p]·b[p][j]` through the levels `r + lift`, or `false` (and `acc` left
    /// unspecified) if a level lies outside `0..=255`.
    pub(super) fn row(&mut self, r: &[i16], acc: &mut [i32]) -> bool {
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
pub(super) unsafe fn byte_row_vnni(rows: &mut ByteRows, r: &[i16], acc: &mut [i32]) -> bool {
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
pub(super) fn int_row(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
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
pub(super) fn int_row_portable(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
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
pub(super) fn int_row_wasm(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    assert!(acc.len() >= b.n_pad);
    column_blocks!(b.n_pad, [32, 16], |j0, w| match w {
        // SAFETY: column_blocks keeps every block within n_pad <= acc.len().
        32 => unsafe { wasm_block::<8>(nz, b, j0, acc) },
        _ => unsafe { wasm_block::<4>(nz, b, j0, acc) },
    });
}

/// `pair_block!(attributes, name, vector, lanes, zero, splat, load, dot, add, store)`: `R`
/// registers of `lanes` sums, `lanes·R` columns from `j0`, of a row's pairs `nz` against `b`:
/// the same loop for each target, over its vector type and 16-bit dot-product instruction. The
/// caller keeps `j0 + lanes·R <= n_pad <= acc.len()`; each `off` is a pair row's start in
/// `b.data` (gemm_i16_rows checks the shapes), so every load and store is in bounds.
macro_rules! pair_block {
    ($(#[$attr:meta])* $name:ident, $vec:ty, $lanes:expr, $zero:expr, $splat:path, $load:path, $dot:path, $add:path, $store:path) => {
        $(#[$attr])*
        pub(super) unsafe fn $name<const R: usize>(nz: &[(u32, i32)], b: &PackedI16, j0: usize, acc: &mut [i32]) {
            let mut s = [$zero; R];
            for &(off, pair) in nz {
                let x = $splat(pair);
                // SAFETY: see the macro's doc: 2·lanes·R values from the pair row's column j0.
                let bp = unsafe { b.data.as_ptr().add(off as usize + 2 * j0) } as *const $vec;
                for (t, st) in s.iter_mut().enumerate() {
                    *st = $add(*st, $dot(x, unsafe { $load(bp.add(t)) }));
                }
            }
            for (t, st) in s.iter().enumerate() {
                // SAFETY: j0 + lanes·(t + 1) <= j0 + lanes·R <= acc.len().
                unsafe { $store(acc.as_mut_ptr().add(j0 + $lanes * t) as *mut $vec, *st) };
            }
        }
    };
}

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::{i32x4_add, i32x4_dot_i16x8, i32x4_splat, v128, v128_load, v128_store};

pair_block!(
    /// `4R` columns from `j0` of [`int_row_wasm`] (`i32x4.dot_i16x8_s`).
    #[cfg(target_arch = "wasm32")]
    #[inline(always)]
    wasm_block, v128, 4, i32x4_splat(0), i32x4_splat, v128_load, i32x4_dot_i16x8, i32x4_add, v128_store
);

/// [`int_row`] with AVX2's `vpmaddwd`: eight columns a register, 32 a block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn int_row_avx2(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
    assert!(acc.len() >= b.n_pad);
    // SAFETY (both blocks): the CPU's features are this function's, and column_blocks keeps
    // every block within n_pad <= acc.len().
    column_blocks!(b.n_pad, [32, 16], |j0, w| match w {
        32 => unsafe { avx2_block::<4>(nz, b, j0, acc) },
        _ => unsafe { avx2_block::<2>(nz, b, j0, acc) },
    });
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{__m256i, _mm256_add_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_set1_epi32, _mm256_setzero_si256, _mm256_storeu_si256};

pair_block!(
    /// `8R` columns from `j0` of [`int_row_avx2`] (`vpmaddwd`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    avx2_block, __m256i, 8, _mm256_setzero_si256(), _mm256_set1_epi32, _mm256_loadu_si256, _mm256_madd_epi16, _mm256_add_epi32, _mm256_storeu_si256
);

/// [`int_row`] with AVX-512 VNNI's `vpdpwssd` ([`vnni_row`]).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
pub(super) unsafe fn int_row_vnni(nz: &[(u32, i32)], b: &PackedI16, acc: &mut [i32]) {
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
pub(super) unsafe fn vnni_row<const QUADS: bool>(steps: &[(u32, i32)], data: *const u8, scale: usize, n_pad: usize, start: Option<&[i32]>, acc: &mut [i32]) {
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
pub(super) unsafe fn vnni_block<const R: usize, const QUADS: bool>(steps: &[(u32, i32)], data: *const u8, scale: usize, j0: usize, start: Option<&[i32]>, acc: &mut [i32]) {
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
