//! The file parsers never panic: random bytes and random mutations of valid files (proptest),
//! and a corpus of bad files kept as regression tests (tests/corpus/), each of which must give an
//! error that names the file.

mod models;

use prost::Message;
use proptest::prelude::*;
use quantscope::engine::model::{Model, Runner};
use quantscope::engine::tensor::Tensor;
use quantscope::engine::io::onnx::{GraphProto, ModelProto, TensorProto};
use quantscope::engine::io::{load, npy, safetensors, LoadOptions};

fn valid_files() -> Vec<(&'static str, Vec<u8>)> {
    let data: Vec<f32> = (0..24).map(|i| i as f32 * 0.25 - 3.0).collect();
    let npz = {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("a.npy", opts).unwrap();
        w.write_all(&npy::write_f32(&[4, 6], &data)).unwrap();
        w.finish().unwrap();
        buf.into_inner()
    };
    let onnx = ModelProto {
        ir_version: 8,
        graph: Some(GraphProto {
            initializer: vec![TensorProto { dims: vec![4, 6], data_type: 1, float_data: data.clone(), name: "w".into(), ..Default::default() }],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    // A quantized weight as onnxruntime's QDQ format stores it: int8 codes, a scale and a zero
    // point per row, dequantized by a node.
    let codes: Vec<u8> = (0..24).map(|i| (i * 11 % 256) as u8).collect();
    let int8 = |name: &str, dims: Vec<i64>, raw: Vec<u8>| TensorProto { dims, data_type: 3, raw_data: raw, name: name.into(), ..Default::default() };
    let qdq = ModelProto {
        ir_version: 8,
        graph: Some(GraphProto {
            node: vec![quantscope::engine::io::onnx::NodeProto {
                op_type: "DequantizeLinear".into(),
                input: vec!["wq".into(), "s".into(), "z".into()],
                output: vec!["w".into()],
                attribute: vec![quantscope::engine::io::onnx::AttributeProto { name: "axis".into(), i: 0, r#type: 2, ..Default::default() }],
                ..Default::default()
            }],
            initializer: vec![
                int8("wq", vec![4, 6], codes),
                TensorProto { dims: vec![4], data_type: 1, float_data: vec![0.5, 0.25, 0.125, 1.0], name: "s".into(), ..Default::default() },
                int8("z", vec![4], vec![0, 1, 255, 3]),
            ],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec();
    vec![
        ("q.onnx", qdq),
        ("f.npy", npy::write_f32(&[4, 6], &data)),
        ("f.npz", npz),
        ("f.safetensors", safetensors::write_f32(&[("w", &[4, 6], &data), ("b", &[6], &data[..6])])),
        ("f.onnx", onnx),
        ("f.gguf", gguf_seed(&data)),
    ]
}

/// A GGUF file: metadata (a string, a number), an F32 tensor of `data`, and a Q4_K and a Q8_0
/// one.
fn gguf_seed(data: &[f32]) -> Vec<u8> {
    use quantscope::engine::formats::gguf::{BlockType, GgufType, KQuant};
    use quantscope::engine::io::gguf::{write, Meta};
    let xs: Vec<f32> = (0..256).map(|i| (i as f32 - 128.0) / 64.0).collect();
    let q4k = GgufType::K(KQuant::Q4K).quantize(&xs).unwrap();
    let q8 = GgufType::Legacy(BlockType::Q8_0).quantize(&xs[..64]).unwrap();
    let f32s: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    write(
        &[("general.architecture", Meta::Str("llama".into())), ("general.quantization_version", Meta::UInt(2))],
        &[("w", &[4, 6], 0, &f32s), ("k", &[1, 256], 12, &q4k), ("q", &[2, 32], 8, &q8)],
    )
}

#[test]
fn the_seeds_are_valid() {
    for (name, bytes) in valid_files() {
        let ts = load(name, &bytes, LoadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ts[0].data.len(), 24, "{name}");
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Overwrite(usize, u64),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        // Plant large numbers where lengths and dimensions live.
        (any::<usize>(), prop_oneof![Just(u64::MAX), Just(1 << 40), Just(0x7fff_ffff), any::<u64>()]).prop_map(|(i, v)| Mutation::Overwrite(i, v)),
    ]
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let n = bytes.len().max(1);
    match m {
        Mutation::Truncate(i) => bytes.truncate(i % n),
        Mutation::Flip(i, b) => {
            if !bytes.is_empty() {
                bytes[i % n] ^= b | 1;
            }
        }
        Mutation::Insert(i, b) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, b.iter().copied());
        }
        Mutation::Overwrite(i, v) => {
            let at = i % n;
            for (k, byte) in v.to_le_bytes().iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at + k) {
                    *slot = *byte;
                }
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutated_files_never_panic(which in 0usize..6, ms in proptest::collection::vec(mutation(), 1..4), fold in any::<bool>()) {
        let (name, seed) = valid_files().swap_remove(which);
        let bytes = ms.iter().fold(seed, apply);
        if let Err(e) = load(name, &bytes, LoadOptions { fold_bn: fold }) {
            prop_assert_eq!(&e.file, name);
            prop_assert!(!e.problem.is_empty());
        }
    }

    #[test]
    fn random_bytes_never_panic(ext in prop_oneof![Just("npy"), Just("npz"), Just("safetensors"), Just("onnx"), Just("gguf")],
                                bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let name = format!("r.{ext}");
        let _ = load(&name, &bytes, LoadOptions { fold_bn: true });
        // The same with a plausible magic prefix, so parsing goes further.
        let prefix: &[u8] = match ext { "npy" => b"\x93NUMPY\x01\x00", "npz" => b"PK\x03\x04", "safetensors" => &[64, 0, 0, 0, 0, 0, 0, 0, b'{'], "gguf" => b"GGUF\x03\0\0\0", _ => b"\x08\x08" };
        let _ = load(&name, &[prefix, &bytes[..]].concat(), LoadOptions::default());
    }

    /// A GGUF header read from any prefix of a mutated file (as the page reads it) never panics:
    /// it is read, asks for more, or names the file.
    #[test]
    fn gguf_headers_from_any_prefix(ms in proptest::collection::vec(mutation(), 1..4), cut in any::<usize>()) {
        use quantscope::engine::io::gguf::read_header;
        let bytes = ms.iter().fold(gguf_seed(&[0.5; 24]), apply);
        let cut = cut % (bytes.len() + 1);
        match read_header("m.gguf", &bytes[..cut], bytes.len() as u64) {
            Ok(Some(h)) => prop_assert!(h.entries.iter().all(|e| e.end <= bytes.len() as u64)),
            Ok(None) => prop_assert!(cut < bytes.len()),
            Err(e) => prop_assert!(e.to_string().starts_with("m.gguf")),
        }
    }

    /// GGUF block decoders on any bytes: whole blocks decode to one value per code (NaN and ±∞
    /// scales included), anything else is refused by size; quantizing any f32 (NaN, ±∞) gives
    /// whole blocks.
    #[test]
    fn gguf_blocks_decode_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1200),
                                    xs in proptest::collection::vec(any::<u32>().prop_map(f32::from_bits), 0..100)) {
        use quantscope::engine::formats::gguf::{BlockType, BLOCK};
        use quantscope::engine::formats::gguf::{KQuant, QK_K};
        for t in BlockType::ALL {
            match t.dequantize(&bytes) {
                Ok(v) => prop_assert_eq!(v.len(), bytes.len() / t.type_size() * BLOCK),
                Err(_) => prop_assert!(bytes.len() % t.type_size() != 0),
            }
            match t.quantize(&xs) {
                Ok(q) => prop_assert_eq!(q.len(), xs.len() / BLOCK * t.type_size()),
                Err(_) => prop_assert!(xs.len() % BLOCK != 0),
            }
        }
        for t in KQuant::ALL {
            match t.dequantize(&bytes) {
                Ok(v) => prop_assert_eq!(v.len(), bytes.len() / t.type_size() * QK_K),
                Err(_) => prop_assert!(bytes.len() % t.type_size() != 0),
            }
        }
    }
}

/// Panics inside tract are caught and become errors (checked below); keep them off the output
/// (`QUANTSCOPE_FUZZ_VERBOSE=1` shows them).
fn quiet_tract_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("QUANTSCOPE_FUZZ_VERBOSE").is_some() {
            return;
        }
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/tract-")) {
                default(info);
            }
        }));
    });
}

/// Reads a model and, when that works, prepares it (capturing) and runs it on zeros: every step
/// either works or gives an error that names the file.
fn try_model(name: &str, bytes: &[u8]) {
    let model = match Model::read(name, bytes) {
        Ok(m) => m,
        Err(e) => return assert!(e.to_string().starts_with(name), "{e}"),
    };
    let shapes: Vec<Vec<usize>> = model.inputs.iter().map(|i| i.default_shape()).collect();
    match Runner::new(&model, &shapes, true) {
        Ok(runner) => {
            let inputs: Vec<Tensor> = model
                .inputs
                .iter()
                .zip(&shapes)
                .map(|(i, s)| Tensor { name: i.name.clone(), shape: s.clone(), data: vec![0.0; s.iter().product()], stored_as: "f32".into() })
                .collect();
            if let Err(e) = runner.run(&inputs) {
                assert!(e.to_string().starts_with(name), "{e}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with(name), "{e}"),
    }
}

/// A change to a model's structure, which (unlike most byte flips) still decodes and so reaches
/// tract's graph building, shape inference and kernels.
#[derive(Debug, Clone)]
enum Edit {
    /// Node `n % len` gets op `OPS[k % len]`.
    Op(usize, usize),
    /// Node `n`'s input `i` reads value `v` (one of the model's values, or a new name).
    Rewire(usize, usize, usize),
    /// Node `n` loses its last input, or its last output.
    DropInput(usize),
    DropOutput(usize),
    /// Initializer `t` gets dims `d`.
    Dims(usize, Vec<i64>),
    /// Initializer `t` keeps only `k` values.
    Cut(usize, usize),
    /// Node `n`'s integer-list attributes (kernel, pads, strides) become `v`.
    Ints(usize, Vec<i64>),
    /// The graph input's dims become `d`.
    InputDims(Vec<i64>),
}

/// tract 0.23.9's shape inference for BatchNormalization indexes a slice unchecked when its data
/// input has no channel axis (undefined behaviour, an abort in debug builds). The runner refuses
/// the cases it can see (a constant or a graph input of rank below 2); docs/cli.md says so. So
/// the edits leave the batch norm and the conv that feeds it alone (`PROTECTED`), and keep the
/// input 4-D: the rest of the graph is still edited freely.
const PROTECTED: &[&str] = &["conv", "bn"];

const OPS: &[&str] = &["Conv", "Relu", "Gemm", "Add", "Mul", "Reshape", "Flatten", "Softmax", "MatMul", "Transpose", "Concat", "MaxPool", "Nonexistent"];

fn small_dims() -> impl Strategy<Value = Vec<i64>> {
    proptest::collection::vec(prop_oneof![0i64..5, Just(-1), Just(1 << 40), 1i64..20], 0..5)
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<usize>()).prop_map(|(n, k)| Edit::Op(n, k)),
        (any::<usize>(), any::<usize>(), any::<usize>()).prop_map(|(n, i, v)| Edit::Rewire(n, i, v)),
        any::<usize>().prop_map(Edit::DropInput),
        any::<usize>().prop_map(Edit::DropOutput),
        (any::<usize>(), small_dims()).prop_map(|(t, d)| Edit::Dims(t, d)),
        (any::<usize>(), 0usize..40).prop_map(|(t, k)| Edit::Cut(t, k)),
        (any::<usize>(), proptest::collection::vec(prop_oneof![-2i64..6, Just(1 << 31)], 0..6)).prop_map(|(n, v)| Edit::Ints(n, v)),
        proptest::collection::vec(prop_oneof![0i64..5, Just(1 << 40), 1i64..20], 4).prop_map(Edit::InputDims),
    ]
}

fn edit_model(bytes: &[u8], edits: &[Edit]) -> Vec<u8> {
    use quantscope::engine::io::onnx::pb;
    let mut m = ModelProto::decode(bytes).unwrap();
    let g = m.graph.as_mut().unwrap();
    let values: Vec<String> = g.node.iter().flat_map(|n| n.output.clone()).chain(g.initializer.iter().map(|t| t.name.clone())).chain(["x".into(), "ghost".into()]).collect();
    for e in edits {
        let nodes = g.node.len().max(1);
        let inits = g.initializer.len().max(1);
        match e {
            Edit::Op(n, k) => {
                if let Some(node) = g.node.get_mut(n % nodes).filter(|node| !PROTECTED.contains(&node.name.as_str())) {
                    node.op_type = OPS[k % OPS.len()].into();
                }
            }
            Edit::Rewire(n, i, v) => {
                if let Some(node) = g.node.get_mut(n % nodes).filter(|node| !PROTECTED.contains(&node.name.as_str())) {
                    let slots = node.input.len() + 1;
                    let value = values[v % values.len()].clone();
                    if i % slots == node.input.len() {
                        node.input.push(value);
                    } else {
                        node.input[i % slots] = value;
                    }
                }
            }
            Edit::DropInput(n) => {
                g.node.get_mut(n % nodes).filter(|node| !PROTECTED.contains(&node.name.as_str())).map(|node| node.input.pop());
            }
            Edit::DropOutput(n) => {
                g.node.get_mut(n % nodes).filter(|node| !PROTECTED.contains(&node.name.as_str())).map(|node| node.output.pop());
            }
            Edit::Dims(t, d) => {
                if let Some(t) = g.initializer.get_mut(t % inits) {
                    t.dims = d.clone();
                }
            }
            Edit::Cut(t, k) => {
                if let Some(t) = g.initializer.get_mut(t % inits) {
                    t.float_data.truncate(*k);
                }
            }
            Edit::Ints(n, v) => {
                if let Some(node) = g.node.get_mut(n % nodes) {
                    for a in node.attribute.iter_mut().filter(|a| !a.ints.is_empty()) {
                        a.ints = v.clone();
                    }
                }
            }
            Edit::InputDims(d) => {
                if let Some(pb::type_proto::Value::TensorType(t)) = g.input[0].r#type.as_mut().and_then(|t| t.value.as_mut()) {
                    t.shape = Some(pb::TensorShapeProto {
                        dim: d.iter().map(|&v| pb::tensor_shape_proto::Dimension { value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)), ..Default::default() }).collect(),
                    });
                }
            }
        }
    }
    m.encode_to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Byte mutations of a small CNN: mostly the protobuf decoder's errors.
    #[test]
    fn mutated_models_never_panic(ms in proptest::collection::vec(mutation(), 1..4)) {
        quiet_tract_panics();
        let bytes = ms.iter().fold(models::tiny_cnn(), apply);
        try_model("m.onnx", &bytes);
    }

    /// Mutated PNG and JPEG pictures: decoded, resized and normalised, or an error naming them.
    #[test]
    fn mutated_pictures_never_panic(jpeg in any::<bool>(), ms in proptest::collection::vec(mutation(), 1..4)) {
        use quantscope::engine::model::images::{batch, Preprocess, Preset};
        let img = image::RgbImage::from_fn(13, 9, |x, y| image::Rgb([(x * 19) as u8, (y * 27) as u8, ((x + y) * 7) as u8]));
        let mut seed = std::io::Cursor::new(Vec::new());
        img.write_to(&mut seed, if jpeg { image::ImageFormat::Jpeg } else { image::ImageFormat::Png }).unwrap();
        let bytes = ms.iter().fold(seed.into_inner(), apply);
        match batch("x", &[("p.img".into(), bytes)], &Preprocess::preset(Preset::ImageNet, (16, 16))) {
            Ok(t) => prop_assert_eq!(t.shape, vec![1, 3, 16, 16]),
            Err(e) => prop_assert!(e.starts_with("p.img: "), "{}", e),
        }
    }

    /// Structural edits of the same CNN: tract's graph building, shape inference and kernels.
    #[test]
    fn edited_models_never_panic(edits in proptest::collection::vec(edit(), 1..4)) {
        quiet_tract_panics();
        try_model("m.onnx", &edit_model(&models::tiny_cnn(), &edits));
    }
}

#[test]
fn truncated_real_model_is_named() {
    let bytes = std::fs::read(models::real("ppocr-cls-v2")).unwrap();
    for cut in [0, 1, 100, 4096, bytes.len() / 2, bytes.len() - 1] {
        try_model("cls.onnx", &bytes[..cut]);
        assert!(Model::read("cls.onnx", &bytes[..cut]).is_err(), "cut at {cut}");
    }
}

/// Each bad file is given to its reader: pictures (`picture-*`) to the picture batcher, class
/// labels (`labels-*`) to the labels reader, the rest to the tensor loader.
#[test]
fn corpus_of_bad_files_gives_named_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        if name.starts_with("picture-") {
            use quantscope::engine::model::images::{batch, Preprocess, Preset};
            let e = batch("x", &[(name.clone(), bytes)], &Preprocess::preset(Preset::ZeroOne, (8, 8))).expect_err(&name);
            assert!(e.starts_with(&format!("{name}: not a readable PNG or JPEG picture")), "{e}");
        } else if name.starts_with("labels-") {
            let e = npy::read_labels(&name, &bytes).expect_err(&name);
            assert!(e.to_string().starts_with(&name), "{e}");
        } else {
            match load(&name, &bytes, LoadOptions { fold_bn: true }) {
                Ok(ts) => panic!("{name} should be rejected, gave {} tensors", ts.len()),
                Err(e) => {
                    assert_eq!(e.file, name);
                    assert!(e.to_string().starts_with(&name), "{e}");
                }
            }
        }
        seen += 1;
    }
    assert!(seen >= 29, "the corpus has {seen} files");
}

/// Found by `edited_models_never_panic` (in CI): a GlobalAveragePool over an empty input of
/// [2⁴⁰, 1, 2, 0] made tract allocate 17 TB for its output and abort. Input dimensions past the
/// largest input are refused, and so are stored tensors whose dims exceed the values they hold.
#[test]
fn dims_beyond_the_stored_values_are_refused() {
    let edited = edit_model(&models::tiny_cnn(), &[Edit::Dims(0, vec![1 << 22, 1 << 22])]);
    let model = Model::read("huge.onnx", &edited).unwrap();
    let shapes: Vec<Vec<usize>> = model.inputs.iter().map(|i| i.default_shape()).collect();
    let e = Runner::new(&model, &shapes, false).unwrap_err().to_string();
    assert!(e.starts_with("huge.onnx") && e.contains("make 17592186044416 values, it holds"), "{e}");
    // And an empty input with a dimension past any input's size ([2⁴⁰, 1, 2, 0]).
    let empty = edit_model(&models::tiny_cnn(), &[Edit::InputDims(vec![1 << 40, 1, 2, 0])]);
    let model = Model::read("empty.onnx", &empty).unwrap();
    let shapes: Vec<Vec<usize>> = model.inputs.iter().map(|i| i.default_shape()).collect();
    let e = Runner::new(&model, &shapes, false).unwrap_err().to_string();
    assert!(e.contains("holds more than"), "{e}");
    let negative = edit_model(&models::tiny_cnn(), &[Edit::Dims(0, vec![-1, 4])]);
    let e = Model::read("neg.onnx", &negative).and_then(|m| Runner::new(&m, &[vec![1, 1, 8, 8]], false).map(|_| ()));
    assert!(e.is_err(), "negative dims");
}
