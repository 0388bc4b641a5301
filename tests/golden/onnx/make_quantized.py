"""Quantized versions of PaddleOCR's classifier, and the values their quantized weights stand for.

Run from the repository root:  python3 tests/golden/onnx/make_quantized.py
(onnxruntime 1.32, onnx, numpy). It quantizes tests/data/models/ppocr-cls-v2.onnx with
onnxruntime's own tools, calibrated on tests/golden/onnx/ppocr-cls-v2_input.npy:

- ppocr-cls-v2-qdq.onnx: quantize_static, QDQ format, int8 weights per channel, uint8 activations;
- ppocr-cls-v2-qop.onnx: quantize_static, QOperator format (QLinearConv, QGemm), uint8 per tensor;
- ppocr-cls-v2-dyn.onnx: quantize_dynamic (ConvInteger), uint8 weights;

and writes quantized.json: for each model, each stored integer tensor that a node reads as
quantized, with its node, type, shape, scales, zero points and axis, and the values onnxruntime's
DequantizeLinear gives it (run in onnxruntime, one small graph per tensor): their min, max and
exact sum, and every k-th value (16 of them). tests/golden_quantized.rs reads the same tensors.
"""
import json
import math
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODELS = ROOT / "tests/data/models"
SRC = MODELS / "ppocr-cls-v2.onnx"
X = np.load(ROOT / "tests/golden/onnx/ppocr-cls-v2_input.npy")
PRE = pathlib.Path("/tmp/ppocr-cls-v2-pre.onnx")


class Reader(CalibrationDataReader):
    def __init__(self):
        self.batches = iter([{"x": X[i : i + 1]} for i in range(len(X))])

    def get_next(self):
        return next(self.batches, None)


# Which input of which op is a quantized tensor: (scale input or a product of two, zero point, axis rule).
SLOTS = {
    "DequantizeLinear": [(0, (1,), 2, "attr")],
    "QLinearConv": [(3, (4,), 5, 0), (8, (1, 4), None, 0)],
    "QLinearMatMul": [(0, (1,), 2, "last"), (3, (4,), 5, "last")],
    "QGemm": [(3, (4,), 5, "transB"), (6, (1, 4), None, 0)],
    "ConvInteger": [(1, "after-cast", 3, 0)],
    "MatMulInteger": [(1, "after-cast", 3, "last")],
}


def dequantize(q, scale, zp, axis):
    """onnxruntime's DequantizeLinear on these values."""
    inputs = [helper.make_tensor_value_info("q", helper.np_dtype_to_tensor_dtype(q.dtype), q.shape)]
    inits = [numpy_helper.from_array(scale.astype(np.float32), "s"), numpy_helper.from_array(zp.astype(q.dtype), "z")]
    node = helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=axis if axis is not None else 1)
    graph = helper.make_graph([node], "dq", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"q": q})[0]


def golden(path):
    m = onnx.load(path)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    out, seen = [], set()
    for node in g.node:
        for slot, scale_from, zp_slot, axis_rule in SLOTS.get(node.op_type, []):
            if slot >= len(node.input) or node.input[slot] not in inits or node.input[slot] in seen:
                continue
            name = node.input[slot]
            q = inits[name]
            if q.dtype.kind not in "iu":
                continue
            seen.add(name)
            if scale_from == "after-cast":
                cast = next(n for n in g.node if n.op_type == "Cast" and node.output[0] in n.input)
                mul = next(n for n in g.node if n.op_type == "Mul" and cast.output[0] in n.input)
                other = next(i for i in mul.input if i != cast.output[0])
                product = next(n for n in g.node if n.op_type == "Mul" and other in n.output)
                scale = next(inits[i] for i in product.input if i in inits)
            elif len(scale_from) == 2:
                scale = (inits[node.input[scale_from[0]]].astype(np.float32) * inits[node.input[scale_from[1]]].astype(np.float32)).astype(np.float32)
            else:
                scale = inits[node.input[scale_from[0]]]
            scale = np.atleast_1d(scale).astype(np.float32)
            zp = np.atleast_1d(inits[node.input[zp_slot]]) if zp_slot is not None and zp_slot < len(node.input) and node.input[zp_slot] else np.zeros(1, q.dtype)
            channels = max(scale.size, zp.size)
            axis = None
            if channels > 1:
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                axis = {"attr": attrs.get("axis", 1), "last": q.ndim - 1, "transB": 0 if attrs.get("transB", 0) else 1}.get(axis_rule, axis_rule)
                axis = axis % q.ndim
            if q.dtype == np.int32:
                # DequantizeLinear takes int32 with a zero point of 0: the bias the accumulator adds.
                y = (q.astype(np.int64) - zp.astype(np.int64).reshape(-1)[0]).astype(np.float32)
                y = y * (scale if axis is None else scale.reshape([-1 if d == axis else 1 for d in range(q.ndim)]))
                reference = dequantize(q, scale if channels > 1 else scale[:1].reshape(()), zp.astype(np.int32) if channels > 1 else zp[:1].reshape(()).astype(np.int32), axis)
                assert np.array_equal(y.astype(np.float32), reference), name
            else:
                s = scale if channels > 1 else scale[:1].reshape(())
                z = (zp if zp.size > 1 else np.broadcast_to(zp, scale.shape)) if channels > 1 else zp[:1].reshape(())
                reference = dequantize(q, s, np.ascontiguousarray(z).astype(q.dtype), axis)
            flat = reference.reshape(-1).astype(np.float32)
            step = max(1, flat.size // 16)
            out.append({
                "name": name,
                "node": node.name,
                "op": node.op_type,
                "dtype": str(q.dtype),
                "shape": list(q.shape),
                "scale": [float(v) for v in scale],
                "zero_point": [int(v) for v in zp.reshape(-1)],
                "axis": axis,
                "min": float(flat.min()),
                "max": float(flat.max()),
                "sum": math.fsum(float(v) for v in flat),
                "step": step,
                "every_step": [float(v) for v in flat[::step][:16]],
            })
    return out


quant_pre_process(str(SRC), str(PRE), skip_symbolic_shape=True)
quantize_static(str(PRE), str(MODELS / "ppocr-cls-v2-qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ, per_channel=True, weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
quantize_static(str(PRE), str(MODELS / "ppocr-cls-v2-qop.onnx"), Reader(), quant_format=QuantFormat.QOperator, per_channel=False, weight_type=QuantType.QUInt8, activation_type=QuantType.QUInt8)
quantize_dynamic(str(PRE), str(MODELS / "ppocr-cls-v2-dyn.onnx"), weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv", "MatMul"])
result = {"onnxruntime": ort.__version__, "models": {}}
for kind in ["qdq", "qop", "dyn"]:
    result["models"][f"ppocr-cls-v2-{kind}"] = golden(MODELS / f"ppocr-cls-v2-{kind}.onnx")
    print(kind, len(result["models"][f"ppocr-cls-v2-{kind}"]), "quantized tensors")
(ROOT / "tests/golden/onnx/quantized.json").write_text(json.dumps(result, separators=(",", ":")) + "\n")
