"""The Lab's networks, exported as ONNX, run in onnxruntime (tests/golden_lab_onnx.rs).

Run from the repository root:  python3 tests/golden/lab/make_golden.py
It asks the test to write mlp.onnx, cnn.onnx and input.npy here (QUANTSCOPE_BLESS=1), runs
both models on the input in onnxruntime (CPU, one thread), and writes {name}_onnxruntime.npy
and versions.json. Commit all of them.
"""
import json
import os
import pathlib
import subprocess

import numpy as np
import onnxruntime as ort

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]

subprocess.run(["cargo", "test", "--quiet", "--test", "golden_lab_onnx"], cwd=ROOT, check=True, env={**os.environ, "QUANTSCOPE_BLESS": "1"})
x = np.load(HERE / "input.npy")
options = ort.SessionOptions()
options.intra_op_num_threads = 1
for name, shape in [("mlp", (-1, 64)), ("cnn", (-1, 1, 8, 8))]:
    session = ort.InferenceSession(str(HERE / f"{name}.onnx"), options, providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"input": x.reshape(shape)})
    np.save(HERE / f"{name}_onnxruntime.npy", logits.astype(np.float32))
    print(name, logits.shape, "argmax", np.argmax(logits, axis=1)[:8])
(HERE / "versions.json").write_text(json.dumps({"onnxruntime": ort.__version__, "numpy": np.__version__}, indent=2) + "\n")
