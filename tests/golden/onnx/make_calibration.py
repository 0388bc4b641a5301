"""Reference activations for tests/golden_models.rs, from onnxruntime.

For each real model: fixed inputs (seeded, image-like, preprocessed as the model's own pipeline
does), saved as <name>_input.npy; the FP32 outputs onnxruntime computes batch by batch, saved as
<name>_output.npy; and every calibrated tensor's min and max from onnxruntime's MinMax
calibrator (`create_calibrator`, `CalibrationMethod.MinMax`) over the same batches, in
<name>_minmax.json.

Run from the repository root after `scripts/tools/models`:
    pip install onnxruntime==1.32.0 numpy==2.4.6 onnx==1.23.2
    python3 tests/golden/onnx/make_calibration.py
"""
import json
import os
import pathlib
import tempfile

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, create_calibrator

HERE = pathlib.Path(__file__).parent
CACHE = pathlib.Path(os.environ.get("QUANTSCOPE_MODELS", pathlib.Path.home() / ".cache/quantscope/models"))


def images(rng, n, h, w):
    """Text-like uint8 pictures: a light, smoothly coloured page with rows of dark glyph-sized
    marks, so that the OCR models see something like their real input (the detector fires on the
    rows, the classifier answers with confidence)."""
    out = np.empty((n, h, w, 3), np.float32)
    for i in range(n):
        low = rng.uniform(150, 255, (h // 16 + 1, w // 16 + 1, 3))
        page = np.kron(low, np.ones((16, 16, 1)))[:h, :w]
        for row in range(int(rng.integers(1, 4)), h - 12, 20):
            x = int(rng.integers(2, 12))
            while x < w - 10:
                gw, gh = int(rng.integers(3, 8)), int(rng.integers(6, 11))
                page[row:row + gh, x:x + gw] = rng.uniform(0, 60)
                x += gw + int(rng.integers(1, 4)) + (12 if rng.uniform() < 0.08 else 0)
        out[i] = page
    return np.clip(np.round(out), 0, 255)


MODELS = {
    # PaddleOCR's text-direction classifier: (x/255 − 0.5)/0.5, NCHW.
    "ppocr-cls-v2": dict(path=HERE.parent.parent / "data/models/ppocr-cls-v2.onnx", n=4, h=48, w=192, batch=2,
                         mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    # PaddleOCR's PP-OCRv4 text detector: ImageNet mean and std, NCHW.
    "ppocr-det-v4": dict(path=CACHE / "ppocr-det-v4.onnx", n=2, h=160, w=160, batch=1,
                         mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
}


class Reader(CalibrationDataReader):
    def __init__(self, name, x, batch):
        self.items = [{name: x[i:i + batch]} for i in range(0, len(x), batch)]

    def get_next(self):
        return self.items.pop(0) if self.items else None


def main():
    for name, m in MODELS.items():
        rng = np.random.default_rng(17)
        pics = images(rng, m["n"], m["h"], m["w"]) / 255.0
        x = ((pics - np.array(m["mean"], np.float32)) / np.array(m["std"], np.float32)).transpose(0, 3, 1, 2)
        x = np.ascontiguousarray(x, dtype=np.float32)
        np.save(HERE / f"{name}_input.npy", x)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(m["path"]), options, providers=["CPUExecutionProvider"])
        input_name = session.get_inputs()[0].name
        outputs = [session.run(None, {input_name: x[i:i + m["batch"]]})[0] for i in range(0, len(x), m["batch"])]
        np.save(HERE / f"{name}_output.npy", np.concatenate(outputs).astype(np.float32))
        with tempfile.TemporaryDirectory() as tmp:
            calibrator = create_calibrator(str(m["path"]), [], augmented_model_path=os.path.join(tmp, "augmented.onnx"),
                                           calibrate_method=CalibrationMethod.MinMax)
            calibrator.collect_data(Reader(input_name, x, m["batch"]))
            ranges = calibrator.compute_data()
            table = {k: [float(np.asarray(v.range_value[0]).reshape(())), float(np.asarray(v.range_value[1]).reshape(()))] for k, v in ranges.data.items()}
        # onnxruntime reports (+inf, -inf) for tensors with no elements (empty shape constants).
        empty = sorted(k for k, (lo, hi) in table.items() if not (np.isfinite(lo) and np.isfinite(hi)))
        table = {k: v for k, v in table.items() if k not in empty}
        json.dump({"onnxruntime": ort.__version__, "batch": m["batch"], "ranges": table, "empty": empty},
                  open(HERE / f"{name}_minmax.json", "w"), indent=1, sort_keys=True)
        print(name, x.shape, len(table), "tensors")


if __name__ == "__main__":
    main()
