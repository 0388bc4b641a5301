"""Goldens for the engine's IQ4_NL and MXFP4 decoding (src/engine/formats/gguf/other.rs) from the
`gguf` package's quants.py (gguf 0.19.0): 16 blocks of random bytes each (IQ4_NL's f16 scale set
to random finite values; MXFP4's E8M0 byte left random, so 0, 1, 254 and 255 are among them), and
the values gguf-py decodes them to, as f32 bits.
Usage: python3 tests/golden/formats/make_other.py > tests/golden/formats/other.json"""
import json
import sys

import gguf
import numpy as np
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as Q


def main():
    rng = np.random.default_rng(20)
    out = {"gguf": "0.19.0", "types": {}}
    for name in ("IQ4_NL", "MXFP4"):
        qtype = getattr(Q, name)
        block, size = GGML_QUANT_SIZES[qtype]
        raw = rng.integers(0, 256, size=(16, size), dtype=np.uint8)
        if name == "IQ4_NL":
            d = (rng.standard_normal(16) * 0.01).astype(np.float16)
            raw[:, 0:2] = d.view(np.uint8).reshape(16, 2)
        else:
            raw[:4, 0] = [0, 1, 254, 255]
        with np.errstate(over="ignore"):
            values = gguf.dequantize(raw.reshape(-1), qtype).astype(np.float32)
        assert values.size == 16 * block
        out["types"][name] = {"bytes": raw.reshape(-1).astype(int).tolist(), "values": values.view(np.uint32).astype(int).tolist()}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
