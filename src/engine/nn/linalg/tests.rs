//! The products against a plain triple loop, bit for bit: every shape, transpose and zero pattern,
//! f32 and integer.

use super::*;
use super::int::*;

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
