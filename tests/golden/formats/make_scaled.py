"""Goldens for the scaled minifloat formats (src/engine/formats/scaled.rs): FP8, FP6 and FP4 with
one scale per tensor, one per row, or none, as issue 18 defines them, computed in float32 with
NumPy and ml_dtypes:
    s = amax / max_finite  (amax: the largest finite |x| of the tensor or row; s = 1 where that
                            gives no positive finite scale, e.g. an all-zero row)
    code = cast(clip(x / s, −max, max))      (ml_dtypes' cast: round to nearest even)
    x̂ = f32(code) · s                         (NaN stays NaN)
Usage: python3 tests/golden/formats/make_scaled.py > tests/golden/formats/scaled.json"""
import json
import sys

import ml_dtypes as m
import numpy as np

TYPES = {"e4m3": m.float8_e4m3fn, "e5m2": m.float8_e5m2, "e3m2": m.float6_e3m2fn, "e2m3": m.float6_e2m3fn, "e2m1": m.float4_e2m1fn}


def bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.int64).tolist()


def quantize(x, t, scale):
    fmax = np.float32(m.finfo(t).max)
    rows = x.reshape(x.shape[0], -1) if scale == "row" else x.reshape(1, -1)
    if scale == "none":
        s = np.ones(1, dtype=np.float32)
    else:
        amax = np.where(np.isfinite(rows), np.abs(rows), np.float32(0)).max(axis=1).astype(np.float32)
        s = (amax / fmax).astype(np.float32)
        s[~((s > 0) & np.isfinite(s))] = np.float32(1)
    q = np.clip(rows / s[:, None], -fmax, fmax).astype(np.float32)
    codes = q.astype(t)
    values = (codes.astype(np.float32) * s[:, None]).astype(np.float32)
    values[np.isnan(rows)] = np.nan
    return codes.view(np.uint8).reshape(-1), s, values.reshape(-1)


def main():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((16, 48)).astype(np.float32) * np.float32(0.05)
    w[3, 7] = 2.5  # an outlier
    w[5] *= 40  # a wide row
    w[9] = 0  # an all-zero row
    w[11, 0], w[11, 1], w[11, 2] = np.nan, np.inf, -np.inf
    w[13] = rng.standard_normal(48).astype(np.float32) * np.float32(1e-30)  # tiny
    out = {"shape": list(w.shape), "x": bits(w.reshape(-1)), "cases": []}
    for name, t in TYPES.items():
        for scale in ("tensor", "row", "none"):
            codes, s, values = quantize(w, t, scale)
            out["cases"].append({"elem": name, "scale": scale, "codes": codes.astype(int).tolist(), "scales": bits(s), "values": bits(values)})
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
