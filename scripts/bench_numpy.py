#!/usr/bin/env python3
"""NumPy's figures for the kernels of benches/engine.rs, on the same machine, one thread:
    OMP_NUM_THREADS=1 python3 scripts/bench_numpy.py
Best of 10 runs each, on 16M float32 values from N(0, 1)."""
import time

import numpy as np

N = 16 << 20
x = np.random.default_rng(7).standard_normal(N).astype(np.float32)
scale, zp, qmin, qmax = np.float32(8 / 255), np.float32(128), np.float32(0), np.float32(255)
inv = np.float32(1) / scale


def best(f, reps=10):
    t = []
    for _ in range(reps):
        s = time.perf_counter()
        f()
        t.append(time.perf_counter() - s)
    return min(t) * 1e3


def fq_inplace():
    y = x.copy()  # excluded below by subtracting the copy's time
    np.multiply(y, inv, out=y)
    np.rint(y, out=y)
    np.add(y, zp, out=y)
    np.clip(y, qmin, qmax, out=y)
    np.subtract(y, zp, out=y)
    np.multiply(y, scale, out=y)


copy = best(lambda: x.copy())
print(f"numpy {np.__version__}")
print(f"fake_quantize in place (16M): {best(fq_inplace) - copy:.1f} ms")
print(f"min + max (16M):              {best(lambda: (x.min(), x.max())):.1f} ms")
print(f"histogram 2048 bins (16M):    {best(lambda: np.histogram(x, bins=2048, range=(-5, 5)), 3):.1f} ms")
