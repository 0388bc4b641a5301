//! Server-side rendering of the shell's components (yew's `ssr` feature), natively: the markup
//! each view produces, with no browser.

use quantscope::ui::app::{App, AppProps};
use quantscope::ui::i18n::Lang;
use yew::LocalServerRenderer;

async fn render(hash: &str) -> String {
    render_in(hash, Lang::En).await
}

/// The app at `hash` in a browser whose preferred language is `browser_lang`.
async fn render_in(hash: &str, browser_lang: Lang) -> String {
    LocalServerRenderer::<App>::with_props(AppProps { initial_hash: hash.to_string().into(), browser_lang }).render().await
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        tokio::task::LocalSet::new().run_until(f).await
    })
}

#[test]
fn explorer_renders_controls_chart_and_readouts() {
    let html = run(render("#view=explorer&bits=4&scheme=symmetric"));
    assert!(html.contains("QuantScope"));
    for id in ["tab-explorer", "tab-lab", "tab-learn", "ctl-dist", "ctl-n", "ctl-seed", "ctl-channels",
               "ctl-outlier-fraction", "ctl-observer", "ctl-scheme", "ctl-dtype", "ctl-bits", "ctl-narrow",
               "ctl-reduce-range", "ctl-quant-min", "ctl-quant-max", "ctl-granularity", "ctl-rounding",
               "ctl-range-lo", "ctl-range-hi", "ctl-range-reset", "ctl-log", "chart-histogram", "chart-codes",
               "chart-transfer", "chart-errors", "chart-error-by-value", "metric-scale", "metric-zero-point",
               "metric-observed", "metric-range", "metric-sqnr-db", "metric-mse", "metric-mse-split",
               "metric-max-error", "metric-clipped", "metric-levels-used", "metric-non-finite", "sweep-start"] {
        assert!(html.contains(&format!("data-testid=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("Bit width: 4"));
    // Symmetric signed codes: the zero point is 0 and 4 bits give 16 levels.
    assert!(html.contains(r#"data-testid="metric-zero-point">0<"#), "zero point");
    assert!(html.contains(r#"/ 16<"#), "levels used of 16");
    assert!(!html.contains("url-notice"));
}

/// A number format replaces the integer grid's view with its own, computed as the engine
/// computes it; the observer's controls give way to the format's.
#[test]
fn a_format_replaces_the_grid_with_its_view() {
    use quantscope::engine::views::formats::{keep, view};
    use quantscope::ui::state::UrlState;
    let hash = "#view=explorer&fmt=mxfp4&n=102400&of=0.001&om=40";
    let html = run(render(hash));
    for id in ["ctl-format", "format-hint", "chart-format-histogram", "format-bits-per-weight", "format-sqnr-db", "format-mse-split", "format-saturated",
               "format-flushed", "format-blocks", "format-block", "chart-format-errors", "chart-format-scales-0", "format-worst", "compare-start"] {
        assert!(html.contains(&format!("data-testid=\"{id}\"")), "missing {id}");
    }
    for gone in ["ctl-observer", "metric-scale", "chart-codes"] {
        assert!(!html.contains(&format!("data-testid=\"{gone}\"")), "{gone} belongs to the integer grid");
    }
    let (url, _) = UrlState::from_hash(hash);
    let xs = url.synth_spec().generate().unwrap();
    let r = url.format_request(256).unwrap();
    let shape = url.shape();
    let v = view(&xs, &shape, &quantscope::engine::statistics::stats::summarize(&xs), &keep(&xs, &shape, &r).unwrap(), &r);
    assert_eq!(testid_text(&html, "format-bits-per-weight"), "4.2500");
    assert_eq!(testid_text(&html, "format-sqnr-db"), quantscope::ui::format::sig4(v.metrics.sqnr_db));
    assert_eq!(testid_text(&html, "format-block"), format!("{} (row 0, from column {})", v.block, v.block * 32));
    assert!(html.contains(&format!("data-testid=\"format-worst-{}\"", v.block)), "the drawn block heads the worst");

    let int = run(render("#view=explorer&fmt=int&bits=4&scheme=symmetric&fgroup=128&n=51200"));
    assert!(int.contains("data-testid=\"ctl-format-group\"") && int.contains("data-testid=\"ctl-format-bits\""));
    assert_eq!(testid_text(&int, "format-bits-per-weight"), "4.2500", "4 bits and a 32-bit scale per 128 (symmetric: no zero point)");
    assert_eq!(testid_text(&int, "format-label"), "int4 g128 sym");
    let bad = run(render("#view=explorer&fmt=q4_k&n=10000"));
    assert!(testid_text(&bad, "explorer-error").contains("not a multiple of the block of 256"), "{}", testid_text(&bad, "explorer-error"));
    let mx = run(render("#view=explorer&fmt=mxfp6-e2m3&fround=rceil&n=102400"));
    assert!(mx.contains("data-testid=\"ctl-format-rounding\""));
    assert_eq!(testid_text(&mx, "format-label"), "mxfp6-e2m3 rceil");
}

#[test]
fn each_tab_renders_its_view() {
    let lab = run(render("#view=lab"));
    assert!(lab.contains(r#"data-testid="lab-train""#));
    assert!(lab.contains(r#"data-view="lab""#));
    assert!(lab.contains(r#"aria-selected="true" data-testid="tab-lab""#) || lab.contains("tab selected"));
    let learn = run(render("#view=learn"));
    assert!(learn.contains(r#"data-testid="learn""#));
    assert!(!learn.contains("chart-histogram"));
}

/// The Lab's settings follow the network: widths for the MLP; channels and the batch-norm
/// freeze for the CNN, which the heading names.
#[test]
fn the_lab_shows_the_settings_of_its_network() {
    let mlp = run(render("#view=lab"));
    assert!(mlp.contains(r#"data-testid="lab-hidden""#) && !mlp.contains(r#"data-testid="lab-channels""#));
    assert!(mlp.contains("MLP [128, 128] on digits, W4A4"));
    let cnn = run(render("#view=lab&lmodel=cnn&lch=4,8&lfreezebn=2"));
    assert!(!cnn.contains(r#"data-testid="lab-hidden""#));
    assert!(cnn.contains(r#"data-testid="lab-channels""#) && cnn.contains(r#"value="4,8""#));
    assert!(cnn.contains(r#"data-testid="lab-freeze-bn""#) && cnn.contains(r#"value="2""#));
    assert!(cnn.contains("CNN [4, 8] on digits, W4A4"));
}

#[test]
fn malformed_hash_renders_defaults_and_notice() {
    let html = run(render("#view=nowhere&bits=99&%%%"));
    assert!(html.contains(r#"data-testid="url-notice""#));
    assert!(html.contains("view=nowhere") && html.contains("bits=99"));
    assert!(html.contains(r#"data-view="explorer""#), "falls back to the default view");
    assert!(html.contains("Bit width: 8"));
}

#[test]
fn tab_links_keep_the_other_settings() {
    let html = run(render("#view=explorer&bits=5&seed=9"));
    assert!(html.contains("href=\"#view=lab&amp;dist=normal&amp;mu=0&amp;sigma=auto&amp;dof=3&amp;sep=4&amp;n=100000&amp;seed=9&amp;bits=5"), "{}", &html[..600.min(html.len())]);
}

#[test]
fn benchmark_page_renders_without_a_tab_and_its_table() {
    let html = run(render("#view=bench"));
    assert!(html.contains(r#"data-testid="bench-page""#));
    assert!(html.contains(r#"data-testid="bench-run""#));
    assert!(!html.contains("tab-benchmarks"), "the benchmark page is not a tab");

    use quantscope::ui::bench::{BenchTable, BenchTableProps, Row, Size, Timing};
    let row = |id, label, js: Option<Timing>| Row {
        id,
        label,
        n: 1 << 20,
        target_ms: Some(5.0),
        wasm: Some(Timing { best_ms: 2.0, median_ms: 2.5, runs: 7 }),
        js,
        agree: js.map(|_| true),
    };
    let rows = vec![
        row("min_max", "min / max", Some(Timing { best_ms: 8.0, median_ms: 9.0, runs: 7 })),
        row("l2_search", "HistogramObserver L2 search", None),
        Row { n: 1797, ..row("lab_mlp_integer_1797", "Lab: the integer MLP over all 1,797 digits", None) },
    ];
    let table = run(LocalServerRenderer::<BenchTable>::with_props(BenchTableProps { rows, size: Size::Quick }).render());
    assert!(table.contains(r#"data-testid="bench-min_max-wasm" class="num">2.00 (2.50)<"#), "{table}");
    assert!(table.contains(r#"data-testid="bench-min_max-js" class="num">8.00 (9.00)<"#));
    assert!(table.contains("4.0×"), "JS / wasm ratio");
    assert!(table.contains(r#"data-testid="bench-min_max-agree">yes<"#));
    // A 16M kernel's target is not claimed at the quick size; a 1M kernel's is.
    assert!(table.contains("(at 16M)"));
    assert!(table.contains("≤ 5"));
    // Counts: the page's sizes in M (2²⁰), anything else in full.
    assert!(table.contains(r#"<td class="num">1M</td>"#), "{table}");
    assert!(table.contains("<td class=\"num\">1\u{202f}797</td>"), "{table}");
}

#[test]
fn observer_parameters_appear_for_their_observer_only() {
    let ema = run(render("#obs=moving-average&ac=0.1"));
    assert!(ema.contains(r#"data-testid="ctl-averaging-constant""#));
    assert!(!ema.contains(r#"data-testid="ctl-percentile""#));
    let pct = run(render("#obs=percentile&pct=99.9&tails=both"));
    assert!(pct.contains(r#"data-testid="ctl-percentile""#) && pct.contains(r#"data-testid="ctl-tails""#));
    // Channels and outliers bring their own settings.
    let ch = run(render("#ch=8&spread=100&of=0.001&om=50&gran=channel"));
    assert!(ch.contains(r#"data-testid="ctl-spread""#) && ch.contains(r#"data-testid="ctl-outlier-magnitude""#));
    assert!(ch.contains("(channel 0 of 8)"));
    for id in ["channels-panel", "chart-channels", "ctl-channel-sort", "metric-channel-ratio", "metric-sqnr-per-tensor", "metric-sqnr-per-channel", "metric-sqnr-gain"] {
        assert!(ch.contains(&format!(r#"data-testid="{id}""#)), "missing {id}");
    }
    assert!(!run(render("#ch=1")).contains("channels-panel"), "one channel: no per-channel view");
    for id in ["dynamics-panel", "chart-dynamics", "ctl-batches", "ctl-drift", "ctl-dynamics-ac", "ctl-dynamics-step", "dynamics-play", "dynamics-step", "dynamics-minmax", "dynamics-ema"] {
        assert!(ch.contains(&format!(r#"data-testid="{id}""#)), "missing {id}");
    }
}

#[test]
fn a_hand_set_range_clips_and_an_impossible_setting_says_why() {
    let html = run(render("#lo=-0.5&hi=0.5&n=10000"));
    // [−0.5, 0.5] in quint8: s = 1/255 and, in f32 as in PyTorch, −0.5/s = −127.49999, so
    // z = 127 and the grid spans [−127·s, 128·s] = [−0.4980, 0.5020]. NumPy agrees:
    // >>> s = np.float32(1)/np.float32(255); np.float32(-0.5)/s  ->  np.float32(-127.49999)
    let range = &html[html.find(r#"data-testid="metric-range""#).unwrap()..][..60];
    assert!(range.contains(">[-0.4980, 0.5020]<"), "{range}");
    assert!(!html.contains(r#"data-testid="metric-clipped">0.00%<"#), "a narrow hand-set range clips");
    // A custom range that does not hold 0 cannot be used: a message, and the controls stay.
    let bad = run(render("#qmin=-10&qmax=auto&obs=mse&gran=channel"));
    assert!(bad.contains(r#"data-testid="explorer-error""#), "per-channel MSE is not a thing: say so");
    assert!(bad.contains("per tensor"), "{}", &bad[bad.find("explorer-error").unwrap_or(0)..][..200.min(bad.len())]);
    assert!(bad.contains(r#"data-testid="ctl-observer""#));
}

#[test]
fn a_link_to_a_file_says_to_open_it() {
    let html = run(render("#src=file&file=model%20v2.safetensors&tensor=encoder.dw"));
    assert!(html.contains(r#"data-testid="ctl-file""#), "the file picker is there");
    assert!(html.contains("Open that file to see it"), "the view says what to do");
    assert!(html.contains("model v2.safetensors") && html.contains("encoder.dw"), "with the names from the link");
    assert!(!html.contains(r#"data-testid="ctl-dist""#), "no synthetic settings for a file");
    assert!(!html.contains(r#"data-testid="sweep-start""#));
}

/// Text between a `data-testid` attribute and the next `<`.
fn testid_text<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html.find(&format!(r#"data-testid="{id}""#)).unwrap_or_else(|| panic!("no {id}"));
    let rest = &html[at..];
    let start = rest.find('>').unwrap() + 1;
    &rest[start..start + rest[start..].find('<').unwrap()]
}

#[test]
fn the_first_lesson_moves_a_value_through_the_formulas() {
    let html = run(render("#view=learn&lesson=scale-zero-point"));
    assert!(html.contains("<math"), "formulas are MathML");
    // [−1, 2] at 8 bits: the issue's public test vector, s = 3/255, z = 85.
    assert_eq!(testid_text(&html, "learn-scale"), "0.01176");
    assert_eq!(testid_text(&html, "learn-zero-point"), "85");
    // r = 0.5: 0.5/s = 42.5 rounds half to even to 42, + 85 = 127, x̂ = 42·s.
    assert_eq!(testid_text(&html, "learn-q"), "127");
    assert_eq!(testid_text(&html, "learn-xhat"), "0.4941");
    for key in ["scale-zero-point", "outliers", "ema", "per-channel", "bits", "ptq-qat", "real-model"] {
        assert!(html.contains(&format!(r#"data-testid="lesson-{key}""#)), "{key}");
    }
}

#[test]
fn the_bits_lesson_shows_six_db_per_bit() {
    let html = run(render("#view=learn&lesson=bits"));
    let sqnr = |b: u32| testid_text(&html, &format!("bits-sqnr-{b}")).parse::<f64>().unwrap();
    // 20·log10(2^b − 1): 6.62 dB from 3 to 4 bits, tending to 6.02 dB per bit; 48.13 dB at 8.
    for b in 2..=12u32 {
        let theory = 20.0 * (((1u64 << b) - 1) as f64).log10();
        assert!((sqnr(b) - theory).abs() < 0.1, "{b} bits: {} vs {theory}", sqnr(b));
    }
    assert!(html.contains(r#"data-testid="lesson-preset""#));
}

/// The visible text of rendered markup: text between tags, and the labels a screen reader
/// reads (`aria-label`, `title`, `placeholder`).
fn visible_text(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let text = rest[..open].trim();
        if !text.is_empty() {
            out.push(text.to_string());
        }
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c);
        let tag = &rest[open..close];
        for attr in ["aria-label=\"", "title=\"", "placeholder=\""] {
            if let Some(at) = tag.find(attr) {
                let v = &tag[at + attr.len()..];
                out.push(v[..v.find('"').unwrap_or(v.len())].to_string());
            }
        }
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out
}

/// Words in Latin letters that stay in the Chinese UI: the field's abbreviations and symbols,
/// names, the engine's layer descriptions, and what the user typed or loaded.
const KEPT: &[&str] = &[
    "QuantScope", "PTQ", "QAT", "SQNR", "MSE", "FP", "KL", "L2", "EMA", "MinMax", "min", "max", "dB", "ReLU", "ReLU6", "MLP", "CNN",
    "PyTorch", "NVIDIA", "torch", "round", "quint", "qint", "quant", "NaN", "Inf", "CSV", "JSON", "npy", "npz", "onnx", "safetensors",
    "ONNX", "English", "Adam", "SGD", "BN", "XOR", "sep", "qmin", "qmax", "scale", "zero", "point", "error", "clamp", "affine",
    "symmetric", "observer", "worker", "fake", "quantize", "PNG", "JS", "wasm", "scripts", "bench", "auto", "dense", "conv", "depthwise",
    "pointwise", "ConvBn", "MovingAverageMinMax", "Jacob", "et", "al", "arXiv", "CVPR", "UCI", "CC", "BY", "scikit", "learn",
    "Okabe", "Ito", "Alpaydin", "Kaynak", "Machine", "Learning", "Repository", "ao", "quantization", "log", "synthetic", "seed",
    "yew", "plotters", "serde", "tract", "half", "image", "proptest", "libm", "rand", "gloo", "web", "sys", "bindgen", "js",
    "flate", "zip", "thiserror", "safetensors", "prost", "percent", "encoding", "console", "panic", "hook", "futures", "distr",
    // The number formats' names, as the CLI and the URL spell them (`fp8-e4m3`, `nf4-dq`, `int`).
    "fp", "mxfp", "mxint", "nvfp", "nf", "dq", "int", "e4m3", "e5m2", "e3m2", "e2m3", "e2m1", "FP8", "MX", "OCP", "E8M0", "E4M3", "NVFP",
    "NF", "QLoRA", "GGUF", "llama", "cpp", "GPTQ", "AWQ", "torchao", "rceil", "amax", "emax", "floor", "absmax", "DQ", "log2", "Transformer",
    "Gemma", "INT", "sym", "row",
];

#[test]
fn a_chinese_page_has_no_english_left() {
    for hash in ["#view=explorer&lang=zh", "#view=explorer&lang=zh&ch=8&gran=channel", "#view=lab&lang=zh", "#view=bench&lang=zh",
                 "#view=explorer&src=file&lang=zh", "#view=explorer&obs=moving-average&nb=10&lang=zh",
                 "#view=explorer&fmt=mxfp4&n=102400&lang=zh", "#view=explorer&fmt=int&fgroup=128&n=51200&lang=zh", "#view=explorer&fmt=q4_k&n=25600&lang=zh"]
        .into_iter()
        .chain(["scale-zero-point", "outliers", "ema", "per-channel", "bits", "ptq-qat", "real-model", "formats"].map(|l| Box::leak(format!("#view=learn&lesson={l}&lang=zh").into_boxed_str()) as &str))
    {
        let html = run(render(hash));
        assert!(html.contains(r#"lang="zh-Hans""#), "{hash}");
        let english: Vec<String> = visible_text(&html)
            .into_iter()
            .filter(|text| quantscope::ui::i18n::english_words(text).iter().any(|w| !KEPT.contains(w)))
            .collect();
        assert!(english.is_empty(), "{hash}: English left in the Chinese page: {english:#?}");
    }
}

#[test]
fn the_language_comes_from_the_link_then_the_browser() {
    let zh = run(render_in("#view=explorer&bits=4", Lang::Zh));
    assert!(zh.contains("位宽：4") && zh.contains(r#"lang="zh-Hans""#), "a Chinese browser");
    let en = run(render_in("#view=explorer&bits=4&lang=en", Lang::Zh));
    assert!(en.contains("Bit width: 4") && !en.contains("位宽"), "the link's language wins");
    let linked = run(render_in("#view=explorer&bits=4&lang=zh", Lang::En));
    assert!(linked.contains("位宽：4"), "lang=zh in an English browser");
    assert!(run(render("#lang=fr")).contains("url-notice"), "an unknown language is reported");
}

#[test]
fn embed_keys_mark_the_page() {
    let html = run(render("#view=explorer&header_hide=1&controls_hide=1"));
    assert!(html.contains(r#"class="shell hide-header hide-controls""#), "{}", &html[..400]);
    for part in ["header", "controls", "source", "histogram", "readouts", "codes", "transfer", "errors", "sweep"] {
        assert!(html.contains(&format!(r#"data-part="{part}""#)), "{part} is marked");
    }
    assert!(!run(render("#view=explorer")).contains("hide-"), "nothing hidden by default");
}

/// The Model view: its controls before any model; and the PTQ comparison rendered from a
/// report, in graph order, with the exact values in `data-value`, the layer to blame, ∞ and
/// "n/a" where they belong, and the synthetic label.
#[test]
fn the_model_view_renders_its_controls_and_a_comparison() {
    use quantscope::engine::model::report::{LayerReport, Report};
    use quantscope::ui::i18n::Tr;
    use quantscope::ui::model::tables::{ComparisonProps, ComparisonTable};
    use quantscope::worker::model::Compared;
    use std::rc::Rc;
    use yew::prelude::*;

    let html = run(render("#view=model"));
    for id in ["model-file", "feed-pictures", "feed-arrays", "feed-synthetic", "model-samples", "model-batch", "model-observer", "model-calibrate", "model-ptq", "model-fold-bn"] {
        assert!(html.contains(&format!("data-testid=\"{id}\"")), "missing {id}");
    }
    assert!(html.contains("No model open yet."));
    let zh = run(render("#view=model&lang=zh"));
    assert!(zh.contains("尚未打开模型。"));

    let layer = |name: &str, op: &str, w: Option<f64>, local: Option<f64>, cumulative: f64, quantized: bool| LayerReport {
        name: name.into(),
        node: name.into(),
        op: op.into(),
        weight_sqnr_db: w,
        local_sqnr_db: local,
        cumulative_sqnr_db: Some(cumulative),
        act_quantized: quantized,
    };
    let report = |dw: f64, out: f64| Report {
        output_sqnr_db: Some(out),
        top1_agreement: 0.75,
        accuracy: Some(0.5),
        fp32_accuracy: Some(0.625),
        folded: 3,
        eval_samples: 8,
        synthetic: true,
        layers: vec![
            layer("conv1", "Conv", Some(40.0), Some(38.0), 38.0, true),
            layer("reshape", "Reshape", None, None, f64::INFINITY, false),
            layer("dw", "Conv", Some(dw), Some(dw - 2.0), 12.0, true),
            layer("relu", "Relu", None, Some(45.0), 11.5, true),
        ],
    };
    let compared = Rc::new(Compared { per_tensor: report(9.5, 7.25), per_channel: report(44.0, 30.5) });

    #[derive(Properties, PartialEq)]
    struct Wrap {
        compared: Rc<Compared>,
    }
    #[function_component]
    fn Shown(props: &Wrap) -> Html {
        html! { <ContextProvider<Tr> context={Tr::default()}><ComparisonTable ..ComparisonProps { compared: props.compared.clone() } /></ContextProvider<Tr>> }
    }
    let html = run(LocalServerRenderer::<Shown>::with_props(Wrap { compared }).render());
    assert!(html.contains(r#"data-testid="ptq-tensor-output-sqnr" data-value="7.25""#), "{html}");
    assert!(html.contains(r#"data-testid="ptq-channel-output-sqnr" data-value="30.5""#));
    assert!(html.contains("heat-bad") && html.contains("heat-good"), "the output SQNR coloured by how bad it is");
    // The reshape has no weight and no quantizer: no row. The others, in graph order.
    let rows: Vec<&str> = html.match_indices(r#"data-testid="ptq-row" data-name=""#).map(|(i, m)| html[i + m.len()..].split('"').next().unwrap()).collect();
    assert_eq!(rows, ["conv1", "dw", "relu"]);
    assert!(html.contains(r#"data-testid="ptq-blame" data-name="dw""#), "the depthwise conv costs most per tensor");
    assert!(html.contains("dw (Conv) costs the most on its own: 7.5 dB local SQNR, 42.0 dB per channel."));
    assert!(html.contains("n/a"), "the relu has no weight");
    assert!(html.contains(r#"data-testid="synthetic""#));
    assert!(html.contains(r#"<rect width="20.0""#), "12 dB of 60: a fifth of the bar");
}

/// An ONNX model's layer browser: tensors in graph order grouped under the node that reads them,
/// a batch norm's parameters marked and not counted as layers needing per-channel quantization,
/// NaN counted apart, and "n/a" (not "—") where a ratio does not apply.
#[test]
fn the_layer_browser_follows_the_graph() {
    use prost::Message;
    use quantscope::engine::io::onnx::{read_with_uses, GraphProto, ModelProto, NodeProto, TensorProto};
    use quantscope::ui::files::{LayerBrowser, LayerBrowserProps, OpenFile};
    use std::rc::Rc;
    let tensor = |name: &str, dims: &[i64], data: &[f32]| TensorProto { name: name.into(), dims: dims.to_vec(), data_type: 1, float_data: data.to_vec(), ..Default::default() };
    let node = |op: &str, name: &str, inputs: &[&str], output: &str| NodeProto {
        name: name.into(),
        op_type: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        ..Default::default()
    };
    let graph = GraphProto {
        node: vec![
            node("Conv", "conv1", &["x", "w", "b"], "y"),
            node("BatchNormalization", "bn1", &["y", "gamma", "beta", "mean", "var"], "z"),
            node("MatMul", "fc", &["z", "fc.w"], "out"),
        ],
        // Stored out of graph order; the BN variance spreads 1000×, the fc weight holds a NaN.
        initializer: vec![
            tensor("fc.w", &[2, 2], &[1.0, f32::NAN, 3.0, 4.0]),
            tensor("var", &[2, 1], &[1000.0, 1.0]),
            tensor("gamma", &[2], &[1.0, 1.0]),
            tensor("beta", &[2], &[0.0, 0.0]),
            tensor("mean", &[2], &[0.0, 0.0]),
            tensor("w", &[2, 2], &[-0.01, 0.01, -1.0, 1.0]),
            tensor("b", &[2], &[0.0, 0.0]),
        ],
        ..Default::default()
    };
    let bytes = ModelProto { graph: Some(graph), ..Default::default() }.encode_to_vec();
    let read = read_with_uses("m.onnx", &bytes, false).unwrap();
    let file = Rc::new(OpenFile::parsed("m.onnx", read.tensors, None, false).with_uses(read.uses, read.stored));
    let props = LayerBrowserProps { file, current: "w".into(), on_choose: yew::Callback::noop(), on_compare: None, generation: 0 };
    let html = run(LocalServerRenderer::<LayerBrowser>::with_props(props).render());
    let rows: Vec<&str> = html.match_indices(r#"data-testid="layer-row" data-name=""#).map(|(i, m)| html[i + m.len()..].split('"').next().unwrap()).collect();
    assert_eq!(rows, ["w", "b", "gamma", "beta", "mean", "var", "fc.w"], "graph order, a node's tensors in input order");
    assert!(html.contains("Conv · conv1") && html.contains("BatchNormalization · bn1") && html.contains("MatMul · fc"), "{html}");
    assert_eq!(html.matches("Conv · conv1").count(), 1, "the node heads its first row only");
    assert_eq!(html.matches(r#"data-testid="bn-param""#).count(), 4);
    // Only the conv weight needs per-channel quantization: the BN variance's spread does not count.
    assert!(html.contains("⚠ 1 need per-channel quantization"), "{html}");
    assert!(html.contains("1 hold NaN or Inf") && html.matches(r#"data-testid="flag-non-finite""#).count() == 1);
    // Every tensor is read: "—" appears nowhere in a cell; 1-D ones say n/a.
    assert!(!html.contains(">—<") && html.contains(">n/a<"), "{html}");

    // A quantized model (onnxruntime's QDQ): weights as stored, scales marked as the quantizers'.
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/models/ppocr-cls-v2-qdq.onnx")).unwrap();
    let read = read_with_uses("qdq.onnx", &bytes, false).unwrap();
    let file = Rc::new(OpenFile::parsed("qdq.onnx", read.tensors, None, false).with_uses(read.uses, read.stored));
    let props = LayerBrowserProps { file, current: "".into(), on_choose: yew::Callback::noop(), on_compare: None, generation: 0 };
    let html = run(LocalServerRenderer::<LayerBrowser>::with_props(props).render());
    assert!(html.contains(r#"data-testid="stored">int8 · 16 scales, axis 0<"#), "per-channel int8 weights");
    assert!(html.contains(r#"data-testid="stored">uint8 · s "#) && html.contains(r#"title="DequantizeLinear · "#));
    assert!(html.matches(r#"data-testid="quantizer-param""#).count() > 100, "every scale marked");
}
