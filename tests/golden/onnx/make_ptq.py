"""Reference PTQ outcomes for tests/golden_models.rs, on the inputs make_calibration.py saved.

1. Weights only, int8 symmetric, batch norm folded: the same simulation as the engine's, done
   here in numpy on onnxruntime. Each BatchNormalization that reads a Conv's output (its only
   reader) is folded into the Conv (w·γ/√(var+ε), (b − mean)·γ/√(var+ε) + β); each Conv,
   ConvTranspose, Gemm and MatMul weight is fake-quantized as PyTorch's symmetric MinMax
   observer does (scale = max|w| / 127.5 per tensor or per output channel, zero point 0,
   round half to even, clamp to [−128, 127]); onnxruntime runs the float and the quantized
   model, batch by batch; the output SQNR is 10·log10(Σy² / Σ(y − ŷ)²) over all outputs.
2. Full W8A8 by onnxruntime itself: quant_pre_process (which folds batch norm), then
   quantize_static in QDQ format (MinMax calibration on the same batches, uint8 activations,
   int8 weights), per tensor and per channel, run by onnxruntime twice: as it runs by default
   (the QDQ pairs fused into its integer kernels) and with graph optimizations off (every
   QuantizeLinear/DequantizeLinear executed as written, in float: a simulation, like ours).

Run from the repository root after make_calibration.py:
    python3 tests/golden/onnx/make_ptq.py
"""
import json
import pathlib
import tempfile

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from make_calibration import MODELS, Reader

HERE = pathlib.Path(__file__).parent


def constants(graph):
    """name -> (getter, setter) of every initializer and Constant-node value."""
    table = {}
    for t in graph.initializer:
        table[t.name] = t
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    table[n.output[0]] = a.t
    return table


def set_tensor(proto, values):
    new = numpy_helper.from_array(values.astype(np.float32), proto.name)
    proto.CopyFrom(new)


def fold(model):
    g = model.graph
    consts = constants(g)
    readers = {}
    for n in g.node:
        for i in n.input:
            readers[i] = readers.get(i, 0) + 1
    for o in g.output:
        readers[o.name] = readers.get(o.name, 0) + 1
    convs = {n.output[0]: n for n in g.node if n.op_type == "Conv"}
    drop = []
    for bn in g.node:
        if bn.op_type != "BatchNormalization" or bn.input[0] not in convs or readers.get(bn.input[0]) != 1:
            continue
        conv = convs[bn.input[0]]
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(consts[k]).astype(np.float32) for k in bn.input[1:5])
        w = numpy_helper.to_array(consts[conv.input[1]]).astype(np.float32)
        factor = (gamma / np.sqrt(var + np.float32(eps))).astype(np.float32)
        b = numpy_helper.to_array(consts[conv.input[2]]).astype(np.float32) if len(conv.input) > 2 and conv.input[2] else np.zeros(w.shape[0], np.float32)
        set_tensor(consts[conv.input[1]], w * factor.reshape(-1, *[1] * (w.ndim - 1)))
        bias = (b - mean) * factor + beta
        if len(conv.input) > 2 and conv.input[2]:
            set_tensor(consts[conv.input[2]], bias)
        else:
            name = conv.input[1] + ".folded_bias"
            g.initializer.append(numpy_helper.from_array(bias.astype(np.float32), name))
            conv.input.append(name)
        conv.output[0] = bn.output[0]
        drop.append(bn)
    for bn in drop:
        g.node.remove(bn)
    return len(drop)


def fake_quant_weights(model, per_channel):
    g = model.graph
    consts = constants(g)
    done = set()
    for n in g.node:
        if n.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") or len(n.input) < 2 or n.input[1] not in consts or n.input[1] in done:
            continue
        t = consts[n.input[1]]
        if t.data_type != onnx.TensorProto.FLOAT:
            continue
        done.add(n.input[1])
        w = numpy_helper.to_array(t).astype(np.float32)
        trans_b = any(a.name == "transB" and a.i for a in n.attribute)
        axis = {"Conv": 0, "ConvTranspose": 1, "Gemm": 0 if trans_b else 1, "MatMul": w.ndim - 1}[n.op_type]
        if per_channel:
            reduce = tuple(i for i in range(w.ndim) if i != axis)
            amax = np.abs(w).max(axis=reduce, keepdims=True)
        else:
            amax = np.abs(w).max()
        # PyTorch's symmetric qint8: scale = max(−min, max) / ((qmax − qmin)/2), at least eps.
        scale = np.maximum(np.float32(amax) / np.float32(127.5), np.finfo(np.float32).eps).astype(np.float32)
        q = np.clip(np.round(w * (np.float32(1) / scale)), -128, 127)
        set_tensor(t, q * scale)


def run(path, x, batch, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.graph_optimization_level = level
    s = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + batch]})[0] for i in range(0, len(x), batch)])


def sqnr(y, yq):
    return float(10 * np.log10(np.sum(y.astype(np.float64) ** 2) / np.sum((y.astype(np.float64) - yq) ** 2)))


def main():
    out = {}
    for name, m in MODELS.items():
        x = np.load(HERE / f"{name}_input.npy")
        batch = m["batch"]
        base = onnx.load(str(m["path"]))
        folded = onnx.ModelProto()
        folded.CopyFrom(base)
        n_folded = fold(folded)
        result = {"folded": n_folded}
        with tempfile.TemporaryDirectory() as tmp:
            tmp = pathlib.Path(tmp)
            onnx.save(folded, tmp / "folded.onnx")
            y = run(tmp / "folded.onnx", x, batch)
            for per_channel in (False, True):
                q = onnx.ModelProto()
                q.CopyFrom(folded)
                fake_quant_weights(q, per_channel)
                onnx.save(q, tmp / "q.onnx")
                key = "weights_only_per_channel" if per_channel else "weights_only_per_tensor"
                result[key] = sqnr(y, run(tmp / "q.onnx", x, batch))
            y0 = run(m["path"], x, batch)
            # Per-channel QDQ needs opset 13 (DequantizeLinear's axis); PaddleOCR's exports are 11 and 12.
            onnx.save(onnx.version_converter.convert_version(base, 13), tmp / "op13.onnx")
            quant_pre_process(str(tmp / "op13.onnx"), str(tmp / "pre.onnx"), skip_symbolic_shape=True)
            for per_channel in (False, True):
                quantize_static(str(tmp / "pre.onnx"), str(tmp / "qdq.onnx"), Reader("x", x, batch), quant_format=QuantFormat.QDQ,
                                per_channel=per_channel, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax)
                key = "ort_w8a8_per_channel" if per_channel else "ort_w8a8_per_tensor"
                # As onnxruntime runs it (QDQ fused into its integer kernels), and with every
                # QuantizeLinear/DequantizeLinear executed as written, in float: the simulation.
                result[key] = sqnr(y0, run(tmp / "qdq.onnx", x, batch))
                result[key + "_qdq_in_float"] = sqnr(y0, run(tmp / "qdq.onnx", x, batch, ort.GraphOptimizationLevel.ORT_DISABLE_ALL))
        out[name] = result
        print(name, result)
    json.dump({"onnxruntime": ort.__version__, "models": out}, open(HERE / "ptq.json", "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
