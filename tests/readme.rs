//! Every command the README and docs/cli.md show works as written: each `quantscope …` line of
//! their `sh` blocks runs (on files this test writes under the names they use) and succeeds; each
//! script they name exists and is executable; `cargo install` names a binary of the crate. The
//! README also stays short enough to read in five minutes, and its links and pictures exist.

mod models;

use std::path::{Path, PathBuf};
use std::process::Command;

use quantscope::engine::io::{npy, safetensors};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The lines of `text`'s ```sh blocks, without their comments.
fn sh_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside && line.trim() == "```sh";
            continue;
        }
        if inside {
            let words = words(line);
            if !words.is_empty() {
                out.push(words.join("\u{1f}"));
            }
        }
    }
    out
}

/// A shell line's words: single quotes kept together, an unquoted `#` after a space ends it.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut word, mut quoted, mut started) = (Vec::new(), String::new(), false, false);
    let mut prev = ' ';
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            '#' if !quoted && prev.is_whitespace() => break,
            c if c.is_whitespace() && !quoted => {
                if started {
                    out.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
        prev = c;
    }
    if started {
        out.push(word);
    }
    out
}

/// The files the examples of `doc` name, written by the engine's own writers, in a directory of
/// the doc's own (the tests run at once: one writing a file while another's command reads it
/// made the reader see a truncated file).
fn fixtures(doc: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("readme-examples").join(doc.replace(['/', '.'], "-"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("model.onnx"), models::conv_bn_onnx(&[2, 1, 1, 2], &[1.0, 0.5, 1.0, 0.25])).unwrap();
    let acts: Vec<f32> = (0..4 * 256).map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * (1 + i / 256) as f32).collect();
    std::fs::write(dir.join("acts.npy"), npy::write_f32(&[4, 256], &acts)).unwrap();
    let w: Vec<f32> = (0..8 * 9).map(|i| ((i % 9) as f32 - 4.0) * 0.01 * (1 + i / 9) as f32).collect();
    std::fs::write(dir.join("w.npy"), npy::write_f32(&[8, 9], &w)).unwrap();
    // A language model's layer beside the convolution: the number formats' examples use it.
    let layer: Vec<f32> = (0..64 * 256).map(|i| (((i * 7919) % 2003) as f32 - 1001.0) / 40_000.0).collect();
    let st = safetensors::write_f32(&[("conv1.weight", &[8, 1, 3, 3], &w), ("layers.0.mlp.down_proj.weight", &[64, 256], &layer)]);
    std::fs::write(dir.join("model.safetensors"), st).unwrap();
    let q4k = quantscope::engine::formats::gguf::GgufType::K(quantscope::engine::formats::gguf::KQuant::Q4K).quantize(&layer).unwrap();
    let gguf = quantscope::engine::io::gguf::write(&[("general.architecture", quantscope::engine::io::gguf::Meta::Str("llama".into()))], &[("blk.0.ffn_up.weight", &[64, 256], 12, &q4k)]);
    std::fs::write(dir.join("model.gguf"), gguf).unwrap();
    // The real GGUF file (scripts/tools/models fetches it), linked under its own name.
    let real = dir.join("gemma-3-270m-q4_k_m.gguf");
    let _ = std::fs::remove_file(&real); // a link left by an earlier run
    std::os::unix::fs::symlink(models::real_file("gemma-3-270m-q4_k_m.gguf"), &real).unwrap();
    // A real model and the text-like pictures its golden test runs on.
    std::fs::copy(models::real("ppocr-cls-v2"), dir.join("classifier.onnx")).unwrap();
    std::fs::copy(root().join("tests/golden/onnx/ppocr-cls-v2_input.npy"), dir.join("images.npy")).unwrap();
    dir
}

fn check_commands(doc: &str) -> usize {
    let text = std::fs::read_to_string(root().join(doc)).unwrap();
    let dir = fixtures(doc);
    let mut ran = 0;
    for line in sh_lines(&text) {
        let words: Vec<&str> = line.split('\u{1f}').collect();
        match words[0] {
            "quantscope" => {
                let out = Command::new(env!("CARGO_BIN_EXE_quantscope")).args(&words[1..]).current_dir(&dir).output().unwrap();
                assert!(out.status.success(), "{doc}: `{}` failed: {}", words.join(" "), String::from_utf8_lossy(&out.stderr));
                assert!(!out.stdout.is_empty(), "{doc}: `{}` printed nothing", words.join(" "));
                ran += 1;
            }
            "cargo" => {
                assert_eq!(&words[..3], ["cargo", "install", "--path"], "{doc}: {line}");
                let bin = words.iter().position(|w| *w == "--bin").map(|i| words[i + 1]);
                assert_eq!(bin, Some("quantscope"), "{doc}: install only the CLI, not the browser's entry points");
            }
            script if script.starts_with("scripts/") => {
                let path = root().join(script);
                let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap_or_else(|_| panic!("{doc}: no {script}")).permissions());
                assert!(mode & 0o111 != 0, "{doc}: {script} is not executable");
            }
            other => panic!("{doc}: a command this test does not know how to check: {other}"),
        }
    }
    ran
}

#[test]
fn the_readme_commands_work_as_written() {
    assert!(check_commands("README.md") >= 5, "the README's CLI examples ran");
}

#[test]
fn the_cli_reference_commands_work_as_written() {
    assert!(check_commands("docs/cli.md") >= 8, "docs/cli.md's examples ran");
}

#[test]
fn the_readme_is_short_and_its_links_exist() {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(lines <= 200, "the README has {lines} lines: keep it to about 200, put the rest in docs/");
    // Every relative link and picture points at a file of the repository.
    for (i, _) in text.match_indices("](") {
        let target = &text[i + 2..];
        let target = &target[..target.find(')').unwrap()];
        if !target.starts_with("http") && !target.starts_with('#') {
            assert!(root().join(target).exists(), "README links to {target}, which is not there");
        }
    }
    for doc in ["architecture", "benchmarks", "testing", "url-state", "cli"] {
        assert!(text.contains(&format!("docs/{doc}.md")), "the README links docs/{doc}.md");
    }
}

#[test]
fn the_shell_words_are_read_as_a_shell_would() {
    assert_eq!(words("quantscope view '#n=1&obs=mse' --json   # a comment"), ["quantscope", "view", "#n=1&obs=mse", "--json"]);
    assert_eq!(words("  # only a comment"), Vec::<String>::new());
    assert_eq!(sh_lines("```sh\na b # c\n```\n```\nnot sh\n```").len(), 1);
}

/// The Pages workflow cannot run here, so it may only call what the test command runs itself:
/// `scripts/test` with some of its layers, and `scripts/dist`, which the e2e layer builds with.
#[test]
fn the_pages_workflow_runs_only_what_the_tests_run() {
    let workflow = std::fs::read_to_string(root().join(".github/workflows/pages.yml")).unwrap();
    let runs: Vec<&str> = workflow.lines().filter_map(|l| l.trim().strip_prefix("run:")).map(str::trim).collect();
    assert!(!runs.is_empty(), "the workflow runs something");
    for run in &runs {
        let words: Vec<&str> = run.split_whitespace().collect();
        match words[..] {
            ["scripts/dist"] => {}
            ["scripts/test", ref layers @ ..] => {
                for layer in layers {
                    assert!(["lint", "native", "ssr", "e2e", "wasm"].contains(layer), "scripts/test has no layer {layer}");
                }
            }
            _ => panic!("the Pages workflow runs `{run}`, which the test command does not"),
        }
    }
    assert!(runs.contains(&"scripts/dist"), "the workflow builds the site with scripts/dist");
    let test = std::fs::read_to_string(root().join("scripts/test")).unwrap();
    assert!(test.lines().any(|l| l.trim() == "scripts/dist"), "the e2e layer builds with scripts/dist");
    assert!(workflow.contains("actions/deploy-pages"), "the workflow publishes to Pages");
}
