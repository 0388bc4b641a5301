//! The number formats against their references, bit for bit: the goldens in tests/golden/formats/
//! and the scripts that made them beside them.

use quantscope::engine::formats::minifloat::{self, Minifloat};
use serde_json::Value;

fn golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/formats/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn numbers(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// FP8, FP6 and FP4 against ml_dtypes: every code's value, and the code of ties, subnormals,
/// overflow, ±0, ±∞, NaN and random values (saturating, as the golden script explains).
#[test]
fn minifloat_casts_are_ml_dtypes_bit_for_bit() {
    let g = golden("minifloat.json");
    for t in minifloat::ALL {
        let case = &g["types"][t.name];
        assert_eq!(case["bits"].as_u64(), Some(u64::from(t.bits())), "{}", t.name);
        assert_eq!(case["max"].as_f64(), Some(f64::from(t.max_finite())), "{}", t.name);
        for (code, bits) in numbers(&case["decode"]).into_iter().enumerate() {
            let got = t.decode(code as u8);
            // NaN payloads differ between libraries; NaN is NaN.
            let expected = f32::from_bits(bits as u32);
            assert!(got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()), "{} decode {code}: {got} against {expected}", t.name);
        }
        let inputs = numbers(&case["encode_in"]);
        let codes = numbers(&case["encode_out"]);
        assert!(inputs.len() > 1000);
        let wrong: Vec<String> = inputs
            .iter()
            .zip(&codes)
            .filter_map(|(&x, &c)| {
                let x = f32::from_bits(x as u32);
                let got = t.encode(x);
                (u64::from(got) != c).then(|| format!("{x:e} ({:#010x}): {got:#x} against {c:#x}", x.to_bits()))
            })
            .take(10)
            .collect();
        assert!(wrong.is_empty(), "{}: {}", t.name, wrong.join("; "));
    }
}

/// Every f32 bit pattern's neighbourhood is no test; a property is: encoding is monotone and the
/// nearest code is chosen, over many values of every binade.
#[test]
fn encoding_picks_the_nearest_code_monotonically() {
    fn nearest(t: Minifloat, x: f32) -> f32 {
        let mut best = (f32::INFINITY, 0.0f32);
        for code in 0..(1u32 << t.bits()) as u8 {
            let v = t.decode(code);
            if v.is_finite() {
                let d = (v - x).abs();
                if d < best.0 {
                    best = (d, v);
                }
            }
        }
        best.1
    }
    for t in minifloat::ALL {
        let mut last = f32::NEG_INFINITY;
        let mut x = -1.2 * t.max_finite();
        while x < 1.2 * t.max_finite() {
            let got = t.decode(t.encode(x));
            assert!(got >= last, "{}: not monotone at {x}", t.name);
            let want = nearest(t, x.clamp(-t.max_finite(), t.max_finite()));
            assert!((got - x).abs() <= (want - x).abs(), "{}: {x} went to {got}, {want} is nearer", t.name);
            last = got;
            x += t.max_finite() / 997.0 + x.abs() * 0.0137;
        }
    }
}

/// FP8, FP6 and FP4 with a scale per tensor, per row, or none, against NumPy and ml_dtypes in
/// float32: codes, scales and values bit for bit (an outlier, a wide row, an all-zero row, NaN
/// and ±∞, a row of tiny values).
#[test]
fn scaled_minifloats_are_the_reference_bit_for_bit() {
    use quantscope::engine::formats::scaled::{quantize, Scale};
    let g = golden("scaled.json");
    let shape: Vec<usize> = numbers(&g["shape"]).into_iter().map(|d| d as usize).collect();
    let x: Vec<f32> = numbers(&g["x"]).into_iter().map(|b| f32::from_bits(b as u32)).collect();
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let elem = minifloat::ALL.into_iter().find(|t| t.name == case["elem"]).unwrap();
        let scale = match case["scale"].as_str().unwrap() {
            "tensor" => Scale::Tensor,
            "row" => Scale::Row,
            _ => Scale::None,
        };
        let what = format!("{} per {}", elem.name, case["scale"]);
        let q = quantize(elem, scale, &x, &shape).unwrap();
        let bits = |v: &[f32]| v.iter().map(|f| u64::from(f.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&q.scales), numbers(&case["scales"]), "{what}: scales");
        let codes: Vec<u64> = q.codes.iter().map(|&c| u64::from(c)).collect();
        assert_eq!(codes, numbers(&case["codes"]), "{what}: codes");
        for (k, (got, want)) in q.values.iter().zip(numbers(&case["values"])).enumerate() {
            let want = f32::from_bits(want as u32);
            assert!(got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()), "{what}: value {k}: {got} against {want}");
        }
    }
}

/// The legacy GGUF block types against the `gguf` package's quants.py: the quantized bytes and
/// the dequantized values, bit for bit.
#[test]
fn gguf_legacy_blocks_are_gguf_py_bit_for_bit() {
    use quantscope::engine::formats::gguf::BlockType;
    let g = golden("gguf.json");
    let x: Vec<f32> = numbers(&g["x"]).into_iter().map(|b| f32::from_bits(b as u32)).collect();
    for t in BlockType::ALL {
        let case = &g["types"][t.name()];
        let want: Vec<u8> = numbers(&case["bytes"]).into_iter().map(|b| b as u8).collect();
        let got = t.quantize(&x).unwrap();
        assert_eq!(got.len(), want.len(), "{}", t.name());
        if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
            let block = i / t.type_size();
            panic!("{}: byte {i} (block {block}, byte {} of it): {:#04x} against {:#04x}", t.name(), i % t.type_size(), got[i], want[i]);
        }
        let values: Vec<u64> = t.dequantize(&want).unwrap().iter().map(|v| u64::from(v.to_bits())).collect();
        assert_eq!(values, numbers(&case["values"]), "{}: dequantized", t.name());
    }
}

/// The K-quants decoded as the `gguf` package's quants.py decodes them, bit for bit, on random
/// super-blocks with finite scales.
#[test]
fn kquants_decode_as_gguf_py_bit_for_bit() {
    use quantscope::engine::formats::gguf::KQuant;
    let g = golden("kquants.json");
    for t in KQuant::ALL {
        let case = &g["types"][t.name()];
        let bytes: Vec<u8> = numbers(&case["bytes"]).into_iter().map(|b| b as u8).collect();
        let want = numbers(&case["values"]);
        let got: Vec<u64> = t.dequantize(&bytes).unwrap().iter().map(|v| u64::from(v.to_bits())).collect();
        assert_eq!(got.len(), want.len(), "{}", t.name());
        if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
            panic!("{}: value {i} (super-block {}, position {}): {} against {}", t.name(), i / 256, i % 256, f32::from_bits(got[i] as u32), f32::from_bits(want[i] as u32));
        }
        assert!(t.dequantize(&bytes[..t.type_size() - 1]).is_err());
    }
}

fn floats(v: &Value) -> Vec<f32> {
    numbers(v).into_iter().map(|b| f32::from_bits(b as u32)).collect()
}

fn shape_of(v: &Value) -> Vec<usize> {
    numbers(v).into_iter().map(|d| d as usize).collect()
}

/// `got` equals `want` bit for bit, NaN equal to NaN; names the first difference.
fn assert_values(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: count");
    if let Some(k) = got.iter().zip(want).position(|(g, w)| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan())) {
        panic!("{what}: value {k}: {} against {}", got[k], want[k]);
    }
}

/// The MX formats against torchao's `to_mx`/`to_dtype`: every element type torchao has, every
/// scale rounding; E8M0 scales, element codes and values bit for bit (tiny, subnormal, huge,
/// infinite and NaN blocks among them). Where torchao's eager RCEIL misses the exact ceiling
/// (its f32 `log2`, see make_mx.py), the block's scale is the exact one the script recorded and
/// its values follow from it.
#[test]
fn mx_formats_are_torchao_bit_for_bit() {
    use quantscope::engine::formats::mx::{self, Element, ScaleRounding, SCALE_NAN};
    let g = golden("mx.json");
    let (shape, x) = (shape_of(&g["shape"]), floats(&g["x"]));
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 20);
    let mut inexact_seen = 0;
    for case in cases {
        let elem = Element::Float(minifloat::ALL.into_iter().find(|t| t.name == case["elem"]).unwrap());
        let rounding = ScaleRounding::parse(case["rounding"].as_str().unwrap()).unwrap();
        let what = format!("mx {} {}", case["elem"], rounding.name());
        let q = mx::quantize(elem, rounding, &x, &shape).unwrap();
        let mut scales: Vec<u64> = numbers(&case["scales"]);
        let mut values = floats(&case["values"]);
        let codes = numbers(&case["codes"]);
        let mut inexact = vec![false; scales.len()];
        for pair in case.get("rceil_inexact").and_then(Value::as_array).into_iter().flatten() {
            let (block, exact) = (pair[0].as_u64().unwrap() as usize, pair[1].as_u64().unwrap());
            inexact[block] = true;
            inexact_seen += 1;
            scales[block] = exact;
            let block_x = &x[block * mx::BLOCK..][..mx::BLOCK];
            let factor = mx::scale_value(127u8.wrapping_sub((exact as u8).wrapping_sub(127)));
            for (k, &xi) in block_x.iter().enumerate() {
                values[block * mx::BLOCK + k] = elem.decode(elem.encode(xi * factor)) * mx::scale_value(exact as u8);
            }
        }
        assert_eq!(q.scales.iter().map(|&b| u64::from(b)).collect::<Vec<_>>(), scales, "{what}: scales");
        for (b, (got, want)) in q.codes.chunks(mx::BLOCK).zip(codes.chunks(mx::BLOCK)).enumerate() {
            // A NaN block's codes are the reference's arbitrary bits; its values are NaN.
            if q.scales[b] != SCALE_NAN && !inexact[b] {
                assert_eq!(got.iter().map(|&c| u64::from(c)).collect::<Vec<_>>(), want, "{what}: codes of block {b}");
            }
        }
        assert_values(&what, &q.values, &values);
    }
    assert!(inexact_seen >= 5, "the golden covers torchao's inexact RCEIL blocks");
}

/// NVFP4 against torchao's `NVFP4Tensor` with its per-tensor scale: the tensor scale, the E4M3
/// block scales, the E2M1 codes and the values bit for bit (an outlier, zero, underflowing,
/// NaN, infinite and huge blocks, and an all-zero tensor).
#[test]
fn nvfp4_is_torchao_bit_for_bit() {
    use quantscope::engine::formats::nvfp4;
    let g = golden("nvfp4.json");
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let what = format!("nvfp4 {}", case["name"]);
        let x = floats(&case["x"]);
        let q = nvfp4::quantize(&x, &shape_of(&case["shape"])).unwrap();
        assert_eq!(q.tensor_scale.to_bits(), floats(&case["tensor_scale"])[0].to_bits(), "{what}: tensor scale");
        assert_eq!(q.scales.iter().map(|&b| u64::from(b)).collect::<Vec<_>>(), numbers(&case["scales"]), "{what}: block scales");
        for (b, (got, want)) in q.codes.chunks(nvfp4::BLOCK).zip(numbers(&case["codes"]).chunks(nvfp4::BLOCK)).enumerate() {
            // A NaN block's codes are the reference's arbitrary bits; its values are NaN.
            if !got.is_empty() && !x[b * nvfp4::BLOCK..][..nvfp4::BLOCK].iter().any(|v| v.is_nan()) {
                assert_eq!(got.iter().map(|&c| u64::from(c)).collect::<Vec<_>>(), want, "{what}: codes of block {b}");
            }
        }
        assert_values(&what, &q.values, &floats(&case["values"]));
    }
}

/// NF4 and NF4-DQ against bitsandbytes' `quantize_4bit`/`dequantize_4bit` (its pure-PyTorch
/// kernels): the code tables, every code, absmax and value bit for bit, and the double
/// quantization's mean, codes and group scales (an outlier, zero, subnormal and midpoint blocks,
/// a last short group of absmax values, and NaN and ±∞ for plain NF4).
#[test]
fn nf4_is_bitsandbytes_bit_for_bit() {
    use quantscope::engine::formats::nf4;
    let g = golden("nf4.json");
    assert_values("the NF4 code", &nf4::CODE, &floats(&g["nf4_code"]));
    assert_values("the dynamic code", &nf4::dynamic_code(), &floats(&g["dynamic_code"]));
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    let u64s = |v: &[u8]| v.iter().map(|&c| u64::from(c)).collect::<Vec<_>>();
    for case in cases {
        let (x, shape) = (floats(&case["x"]), shape_of(&case["shape"]));
        let what = format!("nf4 {}", case["name"]);
        let q = nf4::quantize(&x, &shape, false).unwrap();
        let want = &case["nf4"];
        for (b, (got, want)) in q.codes.chunks(nf4::BLOCK).zip(numbers(&want["codes"]).chunks(nf4::BLOCK)).enumerate() {
            // A non-finite block's codes are the reference's arbitrary picks; its values compare.
            if x[b * nf4::BLOCK..][..nf4::BLOCK].iter().all(|v| v.is_finite()) {
                assert_eq!(u64s(got), want, "{what}: codes of block {b}");
            }
        }
        assert_values(&format!("{what}: absmax"), &q.absmax, &floats(&want["absmax"]));
        assert_values(&what, &q.values, &floats(&want["values"]));
        let Some(want) = case.get("nf4_dq") else { continue };
        let what = format!("nf4-dq {}", case["name"]);
        let q = nf4::quantize(&x, &shape, true).unwrap();
        let dq = q.double.as_ref().unwrap();
        assert_eq!(dq.mean.to_bits(), floats(&want["offset"])[0].to_bits(), "{what}: mean");
        assert_eq!(u64s(&dq.codes), numbers(&want["absmax_codes"]), "{what}: absmax codes");
        assert_values(&format!("{what}: group scales"), &dq.scales, &floats(&want["absmax_scales"]));
        assert_eq!(u64s(&q.codes), numbers(&want["codes"]), "{what}: codes");
        assert_values(&what, &q.values, &floats(&want["values"]));
    }
}

/// The group-wise integer grid against PyTorch's per-channel min/max observer and fake
/// quantization on the tensor reshaped to [groups, G]: scales, zero points and values bit for bit.
#[test]
fn group_wise_int_is_pytorch_bit_for_bit() {
    use quantscope::engine::formats::group;
    use quantscope::engine::quantizer::qparams::{QRange, QScheme};
    let g = golden("group.json");
    let (shape, x) = (shape_of(&g["shape"]), floats(&g["x"]));
    let cases = g["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let bits = case["bits"].as_u64().unwrap() as u32;
        let affine = case["scheme"] == "affine";
        let size = case["group"].as_u64().unwrap() as usize;
        let what = format!("int{bits} {} groups of {size}", case["scheme"]);
        let (scheme, range) = if affine { (QScheme::Affine, QRange::with_bits(bits, true).unwrap()) } else { (QScheme::Symmetric, QRange::with_bits(bits, false).unwrap()) };
        let q = group::quantize(&x, &shape, size, scheme, range).unwrap();
        assert_values(&format!("{what}: scales"), &q.params.iter().map(|p| p.scale).collect::<Vec<_>>(), &floats(&case["scales"]));
        let zps: Vec<i64> = case["zero_points"].as_array().unwrap().iter().map(|z| z.as_i64().unwrap()).collect();
        assert_eq!(q.params.iter().map(|p| i64::from(p.zero_point)).collect::<Vec<_>>(), zps, "{what}: zero points");
        assert_values(&what, &q.values, &floats(&case["values"]));
    }
}

/// The K-quants' quantizers against llama.cpp's C reference (`quantize_row_q*_K_ref`, built
/// from the llama-cpp-python sdist by make_kquantize.py): every byte, and the values they decode
/// to, on super-blocks with an outlier, zeros, a constant, tiny and large values, one sign only,
/// heavy tails and ties.
#[test]
fn kquant_quantizers_are_llama_cpp_bit_for_bit() {
    use quantscope::engine::formats::gguf::{kquantize, KQuant, QK_K};
    let g = golden("kquantize.json");
    let x = floats(&g["x"]);
    assert_eq!(x.len(), 18 * QK_K);
    for t in KQuant::ALL {
        let case = &g["types"][t.name()];
        let want: Vec<u8> = numbers(&case["bytes"]).into_iter().map(|b| b as u8).collect();
        let got = kquantize::quantize(t, &x).unwrap();
        assert_eq!(got.len(), want.len(), "{}", t.name());
        if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
            panic!("{}: byte {i} (super-block {}, byte {}): {:#04x} against {:#04x}", t.name(), i / t.type_size(), i % t.type_size(), got[i], want[i]);
        }
        assert_values(t.name(), &t.dequantize(&got).unwrap(), &floats(&case["values"]));
    }
}

/// The hot paths that give values without codes (scaled minifloats, MX, NVFP4) equal the coded
/// paths the goldens above check, bit for bit, on the goldens' inputs.
#[test]
fn the_fast_paths_equal_the_checked_ones() {
    use quantscope::engine::formats::mx::{self, Element, ScaleRounding};
    use quantscope::engine::formats::{nvfp4, scaled};
    let g = golden("mx.json");
    let (shape, x) = (shape_of(&g["shape"]), floats(&g["x"]));
    let elems = minifloat::ALL.into_iter().map(Element::Float).chain([Element::Int8]);
    for elem in elems {
        for rounding in ScaleRounding::ALL {
            let slow = mx::quantize(elem, rounding, &x, &shape).unwrap();
            let (scales, values) = mx::fake_quantize(elem, rounding, &x, &shape).unwrap();
            assert_eq!(scales, slow.scales, "{elem:?} {rounding:?}");
            assert_values(&format!("mx {elem:?} {rounding:?}"), &values, &slow.values);
        }
    }
    for case in golden("nvfp4.json")["cases"].as_array().unwrap() {
        let (x, shape) = (floats(&case["x"]), shape_of(&case["shape"]));
        let slow = nvfp4::quantize(&x, &shape).unwrap();
        let (t, scales, values) = nvfp4::fake_quantize(&x, &shape).unwrap();
        assert_eq!((t.to_bits(), scales), (slow.tensor_scale.to_bits(), slow.scales));
        assert_values("nvfp4", &values, &slow.values);
    }
    let g = golden("scaled.json");
    let (shape, x) = (shape_of(&g["shape"]), floats(&g["x"]));
    for elem in minifloat::ALL {
        for scale in [scaled::Scale::Tensor, scaled::Scale::Row, scaled::Scale::None] {
            let slow = scaled::quantize(elem, scale, &x, &shape).unwrap();
            let (scales, values) = scaled::fake_quantize(elem, scale, &x, &shape).unwrap();
            assert_values(&format!("{} {scale:?} scales", elem.name), &scales, &slow.scales);
            assert_values(&format!("{} {scale:?}", elem.name), &values, &slow.values);
        }
    }
}

/// IQ4_NL and ggml's MXFP4 decoded as the `gguf` package decodes them, bit for bit (MXFP4's
/// E8M0 bytes 0, 1, 254 and 255 among the blocks).
#[test]
fn iq4_nl_and_ggml_mxfp4_decode_as_gguf_py() {
    use quantscope::engine::formats::gguf::other::Other;
    let g = golden("other.json");
    for t in [Other::Iq4Nl, Other::Mxfp4] {
        let case = &g["types"][t.name()];
        let bytes: Vec<u8> = numbers(&case["bytes"]).into_iter().map(|b| b as u8).collect();
        assert_values(t.name(), &t.dequantize(&bytes).unwrap(), &floats(&case["values"]));
        assert!(t.dequantize(&bytes[..t.type_size() + 1]).is_err());
    }
}
