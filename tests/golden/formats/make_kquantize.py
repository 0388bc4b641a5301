"""Goldens for the K-quant quantizers (src/engine/formats/gguf/kquantize.rs) from llama.cpp's C
reference, `quantize_row_q{2,3,4,5,6}_K_ref` in ggml/src/ggml-quants.c, as it ships in the
llama-cpp-python 0.3.36 sdist on PyPI (sha256 below). The script builds that one file into a
small shared library (gcc -O2 -ffp-contract=off: every float operation rounded on its own, as on
a machine or build without fused multiply-adds; with FMA contraction the reference's own bytes
change) and records the quantized bytes, and the C dequantization of them, which must equal the
`gguf` package's (checked here).

Usage: python3 tests/golden/formats/make_kquantize.py llama_cpp_python-0.3.36.tar.gz \
           > tests/golden/formats/kquantize.json
The sdist: https://pypi.org/project/llama-cpp-python/0.3.36/#files (needs numpy and gguf 0.19.0)."""
import ctypes
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile

import numpy as np
from gguf import GGMLQuantizationType, quants

SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
ROOT = "llama_cpp_python-0.3.36/vendor/llama.cpp/ggml/"
TYPES = {"Q2_K": ("q2_K", 84), "Q3_K": ("q3_K", 110), "Q4_K": ("q4_K", 144), "Q5_K": ("q5_K", 176), "Q6_K": ("q6_K", 210)}
# ggml-quants.c calls these only on paths the reference quantizers do not take.
STUBS = r"""
#include <stdlib.h>
#include <stddef.h>
void ggml_abort(const char * file, int line, const char * fmt, ...) { abort(); }
size_t ggml_row_size(int type, long long ne) { abort(); }
const char * ggml_type_name(int type) { return "?"; }
size_t ggml_type_size(int type) { abort(); }
"""


def build(sdist, work):
    with open(sdist, "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == SDIST_SHA256, "not the pinned sdist"
    with tarfile.open(sdist) as t:
        members = [m for m in t.getmembers() if m.name.startswith(ROOT + "include/") or m.name.startswith(ROOT + "src/ggml-") and (m.name.endswith(".h") or m.name.endswith("ggml-quants.c")) or m.name.startswith(ROOT + "src/ggml-cpu/")]
        t.extractall(work, members=members, filter="data")
    base = os.path.join(work, ROOT)
    with open(os.path.join(work, "stubs.c"), "w") as f:
        f.write(STUBS)
    lib = os.path.join(work, "libkq.so")
    subprocess.run(["gcc", "-O2", "-ffp-contract=off", "-fPIC", "-shared", "-std=gnu11", "-I" + base + "include", "-I" + base + "src", base + "src/ggml-quants.c", os.path.join(work, "stubs.c"), "-o", lib, "-lm"], check=True)
    return ctypes.CDLL(lib)


def inputs():
    rng = np.random.default_rng(256)
    rows = [rng.standard_normal(256) * 0.02 for _ in range(8)]
    o = rng.standard_normal(256) * 0.02
    o[17] = 1.5  # an outlier
    rows.append(o)
    rows.append(np.zeros(256))  # all zero
    rows.append(np.full(256, 0.25))  # constant
    rows.append(rng.standard_normal(256) * 1e-12)  # below GROUP_MAX_EPS in places
    rows.append(rng.standard_normal(256) * 1e4)  # large
    rows.append(np.abs(rng.standard_normal(256)) * 0.1)  # positive only: minimums of 0
    rows.append(-np.abs(rng.standard_normal(256)) * 0.1)  # negative only
    h = rng.standard_normal(256) * 0.02
    h[:16] = 0  # a zero sub-block beside others
    rows.append(h)
    rows.append(rng.laplace(size=256) * 0.05)  # heavy tails
    rows.append(np.round(rng.standard_normal(256) * 4) / 4)  # values on a grid: ties
    return np.concatenate(rows).astype(np.float32)


def main():
    lib = build(sys.argv[1], tempfile.mkdtemp())
    x = inputs()
    n = x.size
    fp = ctypes.POINTER(ctypes.c_float)
    out = {"x": x.view(np.uint32).astype(np.int64).tolist(), "types": {}}
    for name, (c, size) in TYPES.items():
        buf = (ctypes.c_uint8 * (n // 256 * size))()
        getattr(lib, f"quantize_row_{c}_ref")(x.ctypes.data_as(fp), buf, ctypes.c_int64(n))
        data = np.frombuffer(bytes(buf), dtype=np.uint8)
        values = np.zeros(n, dtype=np.float32)
        getattr(lib, f"dequantize_row_{c}")(buf, values.ctypes.data_as(fp), ctypes.c_int64(n))
        py = quants.dequantize(data, getattr(GGMLQuantizationType, name)).astype(np.float32)
        assert np.array_equal(py.view(np.uint32), values.view(np.uint32)), f"{name}: the C and gguf-py dequantizations differ"
        out["types"][name] = {"bytes": data.astype(int).tolist(), "values": values.view(np.uint32).astype(np.int64).tolist()}
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
