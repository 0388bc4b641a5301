"""The number formats' peers on one 4096 × 4096 layer, one thread: gguf-py's NumPy quantizers
(Q4_0, Q8_0, MXFP4) and torchao's references on CPU (MX with each element type, NVFP4, NF4),
each timed for quantize + dequantize + the metrics (MSE, SQNR, max error), as benches/formats.rs
times the engine. Writes the layer to the .npy named by the first argument, for that bench.
Prints one JSON line per peer and format: {"peer", "format", "seconds"} (best of 3).

Usage: OMP_NUM_THREADS=1 python3 scripts/bench_formats_peers.py target/bench/formats-input.npy"""
import json
import sys
import time

import numpy as np


def layer():
    rng = np.random.default_rng(18)
    x = (rng.standard_normal((4096, 4096)) * 0.02).astype(np.float32)
    flat = x.reshape(-1)
    flat[::65537] *= 40  # a few outliers
    return x


def metrics_np(x, y):
    e = x - y
    mse = float(np.mean(e * e, dtype=np.float64))
    return mse, 10 * np.log10(float(np.mean(x * x, dtype=np.float64)) / mse), float(np.abs(e).max())


def best(f, runs=3):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    x = layer()
    np.save(sys.argv[1], x)
    out = []
    try:
        from gguf import GGMLQuantizationType as T
        from gguf import quants

        for name, t in [("q4_0", T.Q4_0), ("q8_0", T.Q8_0), ("mxfp4", T.MXFP4)]:
            out.append({"peer": "gguf-py", "format": name, "seconds": best(lambda: metrics_np(x, quants.dequantize(quants.quantize(x, t), t)), runs=3)})
    except ImportError:
        print("gguf not installed (pip install gguf): skipped", file=sys.stderr)
    try:
        import torch

        torch.set_num_threads(1)
        from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
        from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx
        from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale
        from torchao.quantization.quantize_.workflows.nf4.nf4_tensor import NF4Tensor

        xt = torch.from_numpy(x)

        def metrics_t(y):
            e = xt - y
            mse = float((e.double() ** 2).mean())
            return mse, 10 * np.log10(float((xt.double() ** 2).mean()) / mse), float(e.abs().max())

        for name, dtype in [("mxfp8-e4m3", torch.float8_e4m3fn), ("mxfp8-e5m2", torch.float8_e5m2), ("mxfp6-e3m2", DTYPE_FP6_E3M2), ("mxfp6-e2m3", DTYPE_FP6_E2M3), ("mxfp4", torch.float4_e2m1fn_x2)]:
            def run(dtype=dtype):
                s, d = to_mx(xt, dtype, 32)
                return metrics_t(to_dtype(d, s, dtype, 32, torch.float32))
            out.append({"peer": "torchao", "format": name, "seconds": best(run)})

        def nvfp4():
            t = NVFP4Tensor.to_nvfp4(xt, per_tensor_scale=per_tensor_amax_to_scale(xt.abs().max()))
            return metrics_t(t.dequantize(torch.float32))
        out.append({"peer": "torchao", "format": "nvfp4", "seconds": best(nvfp4)})

        def nf4():
            return metrics_t(NF4Tensor.from_tensor(xt, 64, 256).get_original_weight())
        out.append({"peer": "torchao", "format": "nf4-dq", "seconds": best(nf4, runs=1)})
    except ImportError:
        print("torch/torchao not installed (pip install torch torchao): skipped", file=sys.stderr)
    for row in out:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
