"""Goldens for NF4 and NF4 with double quantization (src/engine/formats/nf4.rs) from
bitsandbytes 0.50.2, the QLoRA implementation: `functional.quantize_4bit(..., quant_type="nf4",
blocksize=64, compress_statistics=False/True)` and `dequantize_4bit`, with float32 input.

bitsandbytes has two CPU paths: its native library (C++, which looks the 8-bit codes of the
double quantization up in a 65 536-bin table, an approximation of the nearest code), and the
pure-PyTorch kernels it registers as the default, which take the nearest code exactly, as its
CUDA kernels do. This script uses the pure-PyTorch kernels, by refusing the native library's load.

A NaN or an infinity makes bitsandbytes' double quantization NaN or infinite throughout (through
the mean of the absmax values); the engine leaves the other blocks alone, so that case is compared
for plain NF4 only.

Where the reference varies: the double quantization subtracts the mean of the block absmax
values, and PyTorch's float32 `mean` sums in an order that depends on the machine's vector width.
The engine takes the correctly rounded mean; the script checks that PyTorch's equals it for every
case here.

Requires torch 2.15 and bitsandbytes 0.50.2 (pip install torch bitsandbytes==0.50.2).
Usage: python3 tests/golden/formats/make_nf4.py > tests/golden/formats/nf4.json"""
import ctypes
import json
import sys


def refuse(*args, **kwargs):
    raise OSError("the golden uses bitsandbytes' pure-PyTorch kernels")


ctypes.cdll.LoadLibrary = refuse

import numpy as np  # noqa: E402
import torch  # noqa: E402
import bitsandbytes.functional as F  # noqa: E402
from bitsandbytes.cextension import lib  # noqa: E402

assert type(lib).__name__ == "ErrorHandlerMockBNBNativeLibrary", "the native library must not load"


def bits(t):
    return np.ascontiguousarray(t.float().numpy(), dtype=np.float32).reshape(-1).view(np.uint32).astype(np.int64).tolist()


def unpack(packed, n):
    p = packed.reshape(-1).to(torch.int64)
    codes = torch.stack([p >> 4, p & 15], dim=1).reshape(-1)
    return codes[:n].tolist()


def case(name, w, dq=True):
    x = torch.from_numpy(w)
    out = {"name": name, "shape": list(w.shape), "x": bits(x)}
    q, st = F.quantize_4bit(x.clone(), blocksize=64, quant_type="nf4", compress_statistics=False)
    out["nf4"] = {"codes": unpack(q, w.size), "absmax": bits(st.absmax), "values": bits(F.dequantize_4bit(q, st))}
    if not dq:
        return out
    q, st = F.quantize_4bit(x.clone(), blocksize=64, quant_type="nf4", compress_statistics=True)
    absmax = F.quantize_4bit(x.clone(), blocksize=64, quant_type="nf4")[1].absmax
    exact_mean = np.float32(np.mean(absmax.numpy().astype(np.float64)))
    assert st.offset.item() == exact_mean, f"{name}: torch's mean {st.offset.item()} is not the correctly rounded {exact_mean}"
    out["nf4_dq"] = {
        "codes": unpack(q, w.size),
        "offset": bits(st.offset.reshape(1)),
        "absmax_codes": st.absmax.tolist(),
        "absmax_scales": bits(st.state2.absmax),
        "values": bits(F.dequantize_4bit(q, st)),
    }
    return out


def main():
    rng = np.random.default_rng(64)
    a = (rng.standard_normal((16, 256)) * 0.02).astype(np.float32)
    a[1, 3] = 0.9  # an outlier
    a[2, 64:128] = 0  # an all-zero block
    a[3, 0:64] *= np.float32(1e-39)  # f32 subnormals: the absmax is clamped to 1e-38 for scaling
    a[4, 0:64] = np.linspace(-1, 1, 64, dtype=np.float32) * np.float32(0.3)  # values on the code's midpoints and ends
    b = (rng.standard_normal((300, 64)) * 0.5).astype(np.float32)  # 300 blocks: a last absmax block of 44
    b[5, 0:64] = 0  # a block whose absmax is 0
    nonfinite = b[:8].copy()
    nonfinite[6, 5] = np.inf
    nonfinite[7, 1] = np.nan
    c = np.zeros((1, 64), dtype=np.float32)
    out = {
        "nf4_code": bits(F.get_4bit_type("nf4", device="cpu")),
        "dynamic_code": bits(F.create_dynamic_map()),
        # With a NaN or an infinity, the reference's mean of the absmax values, and so every value
        # of the double quantization, is NaN or infinite: the engine keeps the other blocks
        # (nf4.rs), so only the plain NF4 is compared there.
        "cases": [case("normal", a), case("long", b), case("zeros", c), case("non-finite", nonfinite, dq=False)],
    }
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
