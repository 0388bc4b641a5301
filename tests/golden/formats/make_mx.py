"""Goldens for the OCP microscaling formats (src/engine/formats/mx.rs) from torchao's reference,
`torchao.prototype.mx_formats.mx_tensor.to_mx` and `to_dtype`, for every element type torchao has
(FP8 E4M3 and E5M2, FP6 E3M2 and E2M3, FP4 E2M1) and every scale rounding (floor, ceil, even,
rceil), blocks of 32 along the last axis, on CPU in eager mode.

Where the reference varies: in eager mode torchao's RCEIL takes `ceil(log2(amax / max))` with
float32 `torch.log2`, which rounds log2 of a value just above a power of two down onto the
integer, so the ceiling misses by one; the hardware instruction it stands in for
(`cvt.rp.satfinite.ue8m0x2.f32`, cuBLAS's definition) is exact. The engine computes the exact
ceiling; this script records, for each RCEIL case, the blocks where torchao's eager exponent is
not the exact one (`rceil_inexact`), with the exact exponent, and the test checks those blocks
against the exact definition and every other block against torchao bit for bit.

Requires torch 2.15 and torchao 0.18 (pip install torch torchao).
Usage: python3 tests/golden/formats/make_mx.py > tests/golden/formats/mx.json"""
import json
import sys

import numpy as np
import torch
from torchao.prototype.mx_formats.config import ScaleCalculationMode as Mode
from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
from torchao.prototype.mx_formats.kernels import unpack_uint4
from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx

ELEMS = {
    "e4m3": (torch.float8_e4m3fn, 448.0),
    "e5m2": (torch.float8_e5m2, 57344.0),
    "e3m2": (DTYPE_FP6_E3M2, 28.0),
    "e2m3": (DTYPE_FP6_E2M3, 7.5),
    "e2m1": (torch.float4_e2m1fn_x2, 6.0),
}
MODES = {"floor": Mode.FLOOR, "ceil": Mode.CEIL, "even": Mode.EVEN, "rceil": Mode.RCEIL}
BLOCK = 32


def bits(t):
    return np.ascontiguousarray(t.numpy(), dtype=np.float32).view(np.uint32).astype(np.int64).tolist()


def exact_rceil(amax, max_pos):
    """The exact ceil(log2(amax / max_pos)) + 127, clamped to [0, 254], as the hardware gives it."""
    out = []
    for a in amax:
        d = np.float32(a) / np.float32(max_pos)
        if np.isnan(d):
            out.append(255)
        elif np.isinf(d):
            out.append(254)
        elif d == 0:
            out.append(0)
        else:
            m, e = np.frexp(np.float64(d))  # d = m·2^e, 0.5 <= m < 1
            c = e - 1 if m == 0.5 else e
            out.append(int(min(max(c, -127), 127)) + 127)
    return out


def inputs():
    rng = np.random.default_rng(18)
    w = (rng.standard_normal((6, 256)) * 0.05).astype(np.float32)
    w[0, 5] = 3.0  # an outlier in a block
    w[1, 32:64] = 0  # an all-zero block
    w[1, 64:96] *= np.float32(1e-36)  # tiny values: scales at the bottom of E8M0
    w[1, 96:128] = rng.standard_normal(32).astype(np.float32) * np.float32(1e-41)  # f32 subnormals
    w[2, 0:32] = np.float32(2.0) ** rng.integers(-8, 8, 32)  # powers of two: amax exact
    w[2, 32] = np.float32(4.0) * (1 + np.float32(2) ** -23)  # just above a power of two
    w[2, 64] = np.float32(6.5)  # rounds up to the next binade at E2M1's precision (even)
    w[2, 96] = np.float32(7.9)
    w[2, 128] = np.float32(448.0) * 3.9  # for E4M3: just below a power of two times max
    w[3, 0:32] *= np.float32(1e30)  # huge
    w[3, 32] = np.float32(3e38)
    w[3, 64] = np.inf  # an infinite value in a block
    w[3, 96] = np.nan  # a NaN in a block
    w[3, 128] = -np.inf
    # Scales just above powers of two for every element type's RCEIL.
    for i, (_, max_pos) in enumerate(ELEMS.values()):
        w[4, 32 * i] = np.float32(max_pos) * np.float32(2.0 ** (i * 3 - 4)) * (1 + np.float32(2) ** -23)
    w[5] = rng.standard_normal(256).astype(np.float32) * np.float32(1e4)
    return w


def main():
    w = inputs()
    x = torch.from_numpy(w)
    amax = np.abs(w.reshape(-1, BLOCK)).max(axis=1)
    out = {"shape": list(w.shape), "block": BLOCK, "x": bits(x.reshape(-1)), "cases": []}
    for name, (dtype, max_pos) in ELEMS.items():
        for mode_name, mode in MODES.items():
            scale, data = to_mx(x.clone(), dtype, BLOCK, mode)
            scale_u8 = scale.view(torch.uint8).reshape(-1)
            if dtype == torch.float4_e2m1fn_x2:
                codes = unpack_uint4(data.contiguous().view(torch.uint8)).reshape(-1)
            else:
                codes = data.contiguous().view(torch.uint8).reshape(-1)
            values = to_dtype(data, scale, dtype, BLOCK, torch.float32).reshape(-1)
            case = {"elem": name, "rounding": mode_name, "scales": scale_u8.tolist(), "codes": codes.tolist(), "values": bits(values)}
            if mode_name == "rceil":
                exact = exact_rceil(amax, max_pos)
                case["rceil_inexact"] = [[b, e] for b, (t, e) in enumerate(zip(scale_u8.tolist(), exact)) if t != e]
            out["cases"].append(case)
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
