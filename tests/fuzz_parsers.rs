//! The file parsers never panic: random bytes and random mutations of valid files (proptest),
//! and a corpus of bad files kept as regression tests (tests/corpus/), each of which must give an
//! error that names the file.

use prost::Message;
use proptest::prelude::*;
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
    vec![
        ("f.npy", npy::write_f32(&[4, 6], &data)),
        ("f.npz", npz),
        ("f.safetensors", safetensors::write_f32(&[("w", &[4, 6], &data), ("b", &[6], &data[..6])])),
        ("f.onnx", onnx),
    ]
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
    fn mutated_files_never_panic(which in 0usize..4, ms in proptest::collection::vec(mutation(), 1..4), fold in any::<bool>()) {
        let (name, seed) = valid_files().swap_remove(which);
        let bytes = ms.iter().fold(seed, apply);
        if let Err(e) = load(name, &bytes, LoadOptions { fold_bn: fold }) {
            prop_assert_eq!(&e.file, name);
            prop_assert!(!e.problem.is_empty());
        }
    }

    #[test]
    fn random_bytes_never_panic(ext in prop_oneof![Just("npy"), Just("npz"), Just("safetensors"), Just("onnx")],
                                bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let name = format!("r.{ext}");
        let _ = load(&name, &bytes, LoadOptions { fold_bn: true });
        // The same with a plausible magic prefix, so parsing goes further.
        let prefix: &[u8] = match ext { "npy" => b"\x93NUMPY\x01\x00", "npz" => b"PK\x03\x04", "safetensors" => &[64, 0, 0, 0, 0, 0, 0, 0, b'{'], _ => b"\x08\x08" };
        let _ = load(&name, &[prefix, &bytes[..]].concat(), LoadOptions::default());
    }
}

#[test]
fn corpus_of_bad_files_gives_named_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        match load(&name, &bytes, LoadOptions { fold_bn: true }) {
            Ok(ts) => panic!("{name} should be rejected, gave {} tensors", ts.len()),
            Err(e) => {
                assert_eq!(e.file, name);
                assert!(e.to_string().starts_with(&name), "{e}");
            }
        }
        seen += 1;
    }
    assert!(seen >= 15, "the corpus has {seen} files");
}
