"""Goldens for NVFP4 (src/engine/formats/nvfp4.rs) from torchao's reference,
`torchao.prototype.mx_formats.nvfp4_tensor.NVFP4Tensor.to_nvfp4` and `dequantize`, with two-level
scaling: an FP32 tensor scale `per_tensor_amax_to_scale(amax) = amax / (448 · 6)` and an E4M3
scale per block of 16 along the last axis, on CPU.

The tensor's amax is its largest finite |x| (torchao leaves the amax to its caller; a NaN or an
infinity there would make every value NaN), and a tensor whose scale would not be positive and
finite (all zeros) gets the tensor scale 1, where torchao's 0 would give 0/0 = NaN; the script
passes torchao exactly those tensor scales.

Requires torch 2.15 and torchao 0.18 (pip install torch torchao).
Usage: python3 tests/golden/formats/make_nvfp4.py > tests/golden/formats/nvfp4.json"""
import json
import sys

import numpy as np
import torch
from torchao.prototype.mx_formats.kernels import unpack_uint4
from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor, per_tensor_amax_to_scale


def bits(t):
    return np.ascontiguousarray(t.numpy(), dtype=np.float32).reshape(-1).view(np.uint32).astype(np.int64).tolist()


def tensor_scale(w):
    finite = np.abs(w[np.isfinite(w)])
    amax = torch.tensor(finite.max() if finite.size else 0.0, dtype=torch.float32)
    s = per_tensor_amax_to_scale(amax)
    if not (s > 0 and torch.isfinite(s)):
        s = torch.tensor(1.0, dtype=torch.float32)
    return s


def case(name, w):
    x = torch.from_numpy(w)
    s = tensor_scale(w)
    t = NVFP4Tensor.to_nvfp4(x.clone(), block_size=16, per_tensor_scale=s)
    codes = unpack_uint4(t.qdata.contiguous().view(torch.uint8)).reshape(-1)
    return {
        "name": name,
        "shape": list(w.shape),
        "x": bits(x),
        "tensor_scale": bits(s.reshape(1)),
        "scales": t.scale.contiguous().view(torch.uint8).reshape(-1).tolist(),
        "codes": codes.tolist(),
        "values": bits(t.dequantize(torch.float32)),
    }


def main():
    rng = np.random.default_rng(4)
    a = (rng.standard_normal((8, 64)) * 0.02).astype(np.float32)
    a[2, 9] = 1.5  # an outlier: its block's scale is near 448, the others' small
    a[4, 16:32] = 0  # an all-zero block
    a[5, 0:16] *= np.float32(1e-6)  # a block whose E4M3 scale underflows to the clamp
    a[6, 32:48] = np.float32(0.25) * (1 + np.arange(16, dtype=np.float32) / 16)
    b = (rng.standard_normal((4, 32)) * 3).astype(np.float32)
    b[0, 3] = np.nan
    b[1, 17] = np.inf
    b[2, 0] = -np.inf
    b[3] *= np.float32(1e30)
    c = np.zeros((2, 16), dtype=np.float32)
    d = (rng.standard_normal((3, 48)) * 1e-3).astype(np.float32)
    out = {"block": 16, "cases": [case("normal", a), case("non-finite", b), case("zeros", c), case("small", d)]}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
