"""Goldens for the engine's K-quant decoding (src/engine/formats/kquants.rs) from the `gguf`
package's quants.py (gguf 0.19.0): for each of Q2_K … Q6_K, 12 super-blocks of random bytes whose
f16 scales (d, and dmin where there is one) are set to random finite values, and the values
gguf-py decodes them to, as f32 bits.
Usage: python3 tests/golden/formats/make_kquants.py > tests/golden/formats/kquants.json"""
import json
import sys

import gguf
import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as Q

# Where each type keeps its f16 scales, in bytes from the super-block's start.
HALVES = {"Q2_K": [80, 82], "Q3_K": [108], "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208]}


def main():
    rng = np.random.default_rng(11)
    out = {"gguf": "0.19.0", "types": {}}
    for name, halves in HALVES.items():
        qtype = getattr(Q, name)
        block, size = GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(12, size), dtype=np.uint8)
        for at in halves:
            d = (rng.standard_normal(12) * 0.01).astype(np.float16)
            raw[:, at:at + 2] = d.view(np.uint8).reshape(12, 2)
        values = gguf.dequantize(raw.reshape(-1), qtype).astype(np.float32)
        assert values.size == 12 * block
        out["types"][name] = {"bytes": raw.reshape(-1).astype(int).tolist(), "values": values.view(np.uint32).astype(int).tolist()}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
