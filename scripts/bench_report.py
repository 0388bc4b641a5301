#!/usr/bin/env python3
"""The tables of scripts/bench's runs:
    bench_report.py CRITERION_DIR NUMPY_TXT BROWSER_TXT [TORCH_TXT [MODELS_ORT_TXT BROWSER_MODELS_TXT]]
Kernels: native figures are criterion's median; wasm and JS are the page's best (median) of its
runs; NumPy's and PyTorch's are their medians. Real models: medians throughout (criterion's,
the model worker's and onnxruntime-web's on the benchmark page, onnxruntime's mean)."""
import json
import os
import platform
import re
import sys

crit_dir, numpy_txt, browser_txt = sys.argv[1:4]
torch_txt = sys.argv[4] if len(sys.argv) > 4 else None
models_ort_txt, browser_models_txt = (sys.argv[5:7] + [None, None])[:2]
# The real models of benches/models.rs and tests/bench_web.rs: label → what it is.
MODELS = [
    ("mobilenet-224", "PP-LCNet orientation classifier, MobileNet class (1×3×224×224)"),
    ("mobilenetv3-cls-b8", "PaddleOCR MobileNetV3 text-direction classifier (8×3×48×192)"),
    ("ppocr-det-320", "PP-OCRv4 text detector (1×3×320×320)"),
]

# Kernel id → (label, criterion id, numpy line prefix, target ms)
KERNELS = [
    ("fake_quantize_inplace", "fake-quantize in place, 16M", "16M/fake_quantize_inplace", "fake_quantize in place", 10),
    ("fake_quantize_into", "fake-quantize into a buffer, 16M", "16M/fake_quantize", None, None),
    ("min_max", "min / max, 16M", "16M/min_max", "min + max", 5),
    (None, "(floor: one plain read of 16M)", "16M/read_floor_sum", None, None),
    ("histogram_2048", "histogram 2048 bins, 16M", "16M/histogram_2048", "histogram 2048 bins", 20),
    ("analysis_per_tensor", "full per-tensor analysis, 1M", "1M/analysis_per_tensor", None, 8),
    ("l2_search", "HistogramObserver L2 search, 1M", "1M/histogram_observer/l2_search", None, 5),
    ("l2_observe_and_search", "HistogramObserver observe + search, 1M", "1M/histogram_observer/observe_and_search", None, None),
    ("explorer_redraw_1m", "Explorer redraw (view + every chart drawn), 1M", None, None, 16),
    ("explorer_redraw_10m", "Explorer redraw (view + every chart drawn), 10M", None, None, 100),
    ("lab_mlp_fp32_epoch", "Lab: FP32 epoch, MLP 64-128-128-10, 1,346 digits", "lab/mlp/fp32_epoch", "mlp fp32 epoch", 8),
    ("lab_mlp_qat_epoch", "Lab: QAT epoch (W4A4), same MLP", "lab/mlp/qat_epoch", "mlp qat epoch", 15),
    ("lab_mlp_integer_1797", "Lab: integer MLP, 1,797 digits", "lab/mlp/integer_inference_1797", "mlp int8 inference", 1),
    ("lab_cnn_fp32_epoch", "Lab: FP32 epoch, CNN (8, 16 channels)", "lab/cnn/fp32_epoch", "cnn fp32 epoch", None),
    ("lab_cnn_qat_epoch", "Lab: QAT epoch (W4A4), CNN", "lab/cnn/qat_epoch", "cnn qat epoch", None),
    ("lab_cnn_integer_1797", "Lab: integer CNN, 1,797 digits", "lab/cnn/integer_inference_1797", "cnn int8 inference", None),
    ("setting_minmax", "Explorer setting from scratch, 10M: min/max", "setting/minmax", None, 1100),
    ("setting_percentile", "… percentile", "setting/percentile", None, 1400),
    ("setting_histogram_65536", "… histogram, 65,536 bins", "setting/histogram_65536", None, 1200),
    ("setting_channels_1024", "… per channel, 1,024 channels", "setting/channels_1024", None, 1000),
    ("setting_entropy_8192", "… entropy, 8,192 bins", "setting/entropy_8192", None, 4100),
    ("setting_mse", "… MSE", "setting/mse", None, 5000),
    ("setting_entropy_65536_outliers", "… entropy, 65,536 bins, 50% outliers of 10⁶", "setting/entropy_65536_outliers", None, 10000),
]


def criterion_ms(bench_id):
    if bench_id is None:
        return None
    path = os.path.join(crit_dir, *bench_id.split("/"), "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"] / 1e6
    except (OSError, KeyError, ValueError):
        return None


def numpy_ms():
    """NumPy's `NAME (16M): X ms` and PyTorch's `NAME (torch): X ms` lines."""
    out = {}
    for path in filter(None, [numpy_txt, torch_txt]):
        try:
            for line in open(path):
                m = re.match(r"(.+?)\s*\((?:16M|torch)\):\s*([0-9.]+) ms", line.strip())
                if m:
                    out[m.group(1).strip()] = float(m.group(2))
        except OSError:
            pass
    return out


def browser():
    try:
        for line in open(browser_txt):
            if line.startswith("BENCH-JSON "):
                return json.loads(line[len("BENCH-JSON "):])
    except OSError:
        pass
    return None


def fmt(v):
    return "—" if v is None else f"{v:.2f}"


np_ms = numpy_ms()
page = browser()
rows = {r["id"]: r for r in (page or {}).get("rows", [])}
print(f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; one thread each.")
if page:
    print(f"Browser: {page['user_agent']}; page size: {page['size']}; wasm SIMD128: {page['simd128']}")
print()
print("| Kernel | native (criterion median) | wasm best (median) | plain JS best (median) | NumPy or PyTorch | target |")
print("|---|---|---|---|---|---|")
for kid, label, crit, np_key, target in KERNELS:
    r = rows.get(kid, {}) if kid else {}
    def cell(t):
        return "—" if not t else f"{t['best_ms']:.2f} ({t['median_ms']:.2f})"
    same = " (same result)" if r.get("agree") else ""
    print(f"| {label} | {fmt(criterion_ms(crit))} | {cell(r.get('wasm'))} | {cell(r.get('js'))}{same} | "
          f"{fmt(np_ms.get(np_key)) if np_key else '—'} | {('≤ ' + str(target)) if target else '—'} |")


def lines_with(path, prefix):
    try:
        return [line[len(prefix):].strip() for line in open(path) if line.startswith(prefix)]
    except (OSError, TypeError):
        return []


if models_ort_txt or browser_models_txt:
    ort = {}
    for line in lines_with(models_ort_txt, ""):
        parts = line.split()
        if len(parts) == 2 and parts[0] in dict(MODELS):
            ort[parts[0]] = float(parts[1])
    web = json.loads((lines_with(browser_models_txt, "BENCH-MODELS ") or ["{}"])[-1])
    reports = {m["label"]: m["report"] for m in web.get("models", [])}
    print()
    print(f"Real models, one thread each: tract natively and in the model worker (wasm); onnxruntime {ort and 'natively' or '(not run)'}, "
          f"onnxruntime-web {web.get('onnxruntime_web', '(not run)')} in the same Chromium.")
    print()
    print("| model | native run | calibrate | PTQ run | onnxruntime | wasm run | calibrate | PTQ run | onnxruntime-web | wasm ÷ web |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, what in MODELS:
        native = {w: criterion_ms(f"model/{w}_{label}") for w in ("run", "calibrate", "ptq")}
        def times(run, x):
            return "—" if x is None or not run else f"{x:.1f} ms ({x / run:.2f}×)"
        rows = {r["workload"]: r for r in reports.get(label, {}).get("rows", [])}
        med = {w: (rows.get(w, {}).get("tract") or {}).get("median_ms") for w in ("run", "calibrate", "ptq")}
        peer = (rows.get("run", {}).get("onnxruntime_web") or {}).get("median_ms")
        ratio = reports.get(label, {}).get("tract_over_onnxruntime_web")
        print(f"| {what} | {fmt(native['run'])} ms | {times(native['run'], native['calibrate'])} | {times(native['run'], native['ptq'])} | "
              f"{fmt(ort.get(label))} ms | {fmt(med['run'])} ms | {times(med['run'], med['calibrate'])} | {times(med['run'], med['ptq'])} | "
              f"{fmt(peer)} ms | {fmt(ratio)}× |")
    if web.get("calibration_64_224_s") is not None:
        print()
        print(f"Calibration of {web.get('calibration_samples')} pictures at 224×224 (PP-LCNet, batch 8, min/max) in the Model view, "
              f"click to table: {web['calibration_64_224_s']:.2f} s.")
