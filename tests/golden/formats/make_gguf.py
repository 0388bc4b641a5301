"""Goldens for the engine's legacy GGUF block types (src/engine/formats/gguf.rs) from the `gguf`
package's quants.py (gguf 0.19.0, NumPy 2.4): each type's quantized bytes and their dequantized
values, as f32 bits, for a tensor of 16 rows of 256 values: normal values at several scales, a
row with outliers, an all-zero block, a constant block, a block whose largest magnitude is
negative, ties of the positive and negative maximum, and tiny values. No NaN: quants.py's codes
for NaN depend on the platform's float-to-integer casts.
Usage: python3 tests/golden/formats/make_gguf.py > tests/golden/formats/gguf.json"""
import json
import sys

import gguf
import numpy as np
from gguf.constants import GGMLQuantizationType as Q

TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]


def main():
    rng = np.random.default_rng(2026)
    x = rng.standard_normal((16, 256)).astype(np.float32)
    x[1] *= np.float32(1e-3)
    x[2] *= np.float32(300)
    x[3, 5] = 40  # an outlier
    x[4, :32] = 0  # an all-zero block
    x[4, 32:64] = np.float32(0.75)  # a constant block
    x[5, :32] = -np.abs(x[5, :32]) * 3  # the largest magnitude negative
    x[6, :32] = np.tile(np.array([1.0, -1.0], dtype=np.float32), 16)  # ±max ties
    x[7] = rng.standard_normal(256).astype(np.float32) * np.float32(1e-8)
    out = {"gguf": "0.19.0", "shape": list(x.shape), "x": x.reshape(-1).view(np.uint32).astype(int).tolist(), "types": {}}
    for name in TYPES:
        q = gguf.quantize(x, getattr(Q, name))
        dq = gguf.dequantize(q, getattr(Q, name)).astype(np.float32)
        out["types"][name] = {"bytes": q.reshape(-1).astype(int).tolist(), "values": dq.reshape(-1).view(np.uint32).astype(int).tolist()}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
