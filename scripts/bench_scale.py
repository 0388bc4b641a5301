"""The scale benchmark's peer: a NumPy script that memory-maps a .safetensors file and walks it
tensor by tensor, computing what `quantscope inspect` reports for each tensor (min, max, mean,
std, absmax, NaN/Inf counts, and the ratio of the widest row range to the narrowest).

    python3 scripts/bench_scale.py make FILE      # 48 tensors of 4096 x 4096 in BF16 (1.6 GB)
    python3 scripts/bench_scale.py walk FILE      # prints seconds and peak memory (MB)

BF16 comes from ml_dtypes (NumPy has no bfloat16). One thread (OMP_NUM_THREADS=1 for BLAS; the
walk uses none). scripts/bench runs both beside `quantscope inspect` on the same file.
"""
import json
import resource
import sys
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None

TENSORS, ROWS, COLS = 48, 4096, 4096


def make(path):
    rng = np.random.default_rng(7)
    header, offset = {}, 0
    nbytes = ROWS * COLS * 2
    for i in range(TENSORS):
        header[f"layers.{i}.weight"] = {"dtype": "BF16", "shape": [ROWS, COLS], "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for i in range(TENSORS):
            # Rows whose scales spread over 100x, as real layers' do.
            scale = np.float32(0.02) * np.float32(10.0) ** np.linspace(-1, 1, ROWS, dtype=np.float32)[:, None]
            x = (rng.standard_normal((ROWS, COLS), dtype=np.float32) * scale).astype(ml_dtypes.bfloat16)
            f.write(x.tobytes())


def walk(path):
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    start = 8 + n
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    kinds = {"BF16": ml_dtypes.bfloat16, "F16": np.float16, "F32": np.float32}
    rows = []
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        x = raw[start + a:start + b].view(kinds[e["dtype"]]).reshape(e["shape"]).astype(np.float32)
        finite = np.isfinite(x)
        f = x[finite] if not finite.all() else x
        r = {"name": name, "min": float(f.min()), "max": float(f.max()), "mean": float(f.mean(dtype=np.float64)),
             "std": float(f.std(dtype=np.float64)), "absmax": float(np.abs(f).max()), "nan": int(np.isnan(x).sum()),
             "inf": int(np.isinf(x).sum())}
        if x.ndim >= 2:
            flat = x.reshape(x.shape[0], -1)
            ranges = flat.max(axis=1) - flat.min(axis=1)
            r["channel_range_ratio"] = float(ranges.max() / ranges.min()) if ranges.min() > 0 else None
        rows.append(r)
        del x, f, finite
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"numpy mmap walk: {len(rows)} tensors in {seconds:.2f} s, peak memory {peak_mb:.0f} MB")


if __name__ == "__main__":
    if ml_dtypes is None:
        sys.exit("bench_scale.py needs ml_dtypes (pip install ml_dtypes)")
    {"make": make, "walk": walk}[sys.argv[1]](sys.argv[2])
