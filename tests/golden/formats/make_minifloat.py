"""Goldens for the engine's minifloat element casts (src/engine/formats/minifloat.rs), from
ml_dtypes: FP8 E4M3FN and E5M2, FP6 E3M2 and E2M3, FP4 E2M1.

For each type:
- `decode`: every code's value, as f32 bits (NaN as ml_dtypes gives it);
- `encode`: f32 inputs (as bits) and the code of each. The engine's casts round to nearest even
  and saturate, so the expected code is ml_dtypes' cast of the input clipped to ±max finite
  (ml_dtypes itself turns overflow into NaN or infinity); NaN is cast unclipped, as ml_dtypes
  casts it. The inputs: every code's value and the midpoints between neighbours (ties), just
  above and below each midpoint, f32 subnormals and values under the smallest subnormal, near
  and past the largest finite value, ±0, ±inf, ±NaN, and random normal values at several scales.

Usage: python3 tests/golden/formats/make_minifloat.py > tests/golden/formats/minifloat.json
(ml_dtypes 0.7.0, NumPy 2.4.)"""
import json
import sys

import ml_dtypes as m
import numpy as np

TYPES = {
    "e4m3": m.float8_e4m3fn,
    "e5m2": m.float8_e5m2,
    "e3m2": m.float6_e3m2fn,
    "e2m3": m.float6_e2m3fn,
    "e2m1": m.float4_e2m1fn,
}
BITS = {"e4m3": 8, "e5m2": 8, "e3m2": 6, "e2m3": 6, "e2m1": 4}


def f32_bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32).astype(np.int64).tolist()


def main():
    rng = np.random.default_rng(20261205)
    out = {"ml_dtypes": m.__version__, "types": {}}
    for name, t in TYPES.items():
        n = 1 << BITS[name]
        codes = np.arange(n, dtype=np.uint8)
        values = codes.view(t).astype(np.float32)
        fmax = np.float32(m.finfo(t).max)
        finite = np.unique(values[np.isfinite(values)])
        mids = (finite[:-1].astype(np.float64) + finite[1:].astype(np.float64)) / 2
        mids = mids.astype(np.float32)
        up = np.nextafter(mids, np.float32(np.inf))
        down = np.nextafter(mids, np.float32(-np.inf))
        tiny = np.array([1e-45, 1e-40, 1e-38, 2.0 ** -126, 2.0 ** -20, 2.0 ** -17, 2.0 ** -16, 2.0 ** -10, 2.0 ** -9, 2.0 ** -8], dtype=np.float32)
        edge = np.array([fmax, np.nextafter(fmax, np.float32(np.inf)), fmax * 1.03, fmax * 1.0625, fmax * 2, 3.0e38,
                         0.0, -0.0, np.inf, -np.inf], dtype=np.float32)
        rand = np.concatenate([rng.standard_normal(200).astype(np.float32) * np.float32(s) for s in (0.01, 1.0, float(fmax) / 4)])
        x = np.concatenate([finite, mids, up, down, tiny, -tiny, edge, rand]).astype(np.float32)
        x = np.concatenate([x, -x])
        codes_out = np.clip(x, -fmax, fmax).astype(t).view(np.uint8)
        nan = np.array([np.nan, -np.nan], dtype=np.float32)
        nan_codes = nan.astype(t).view(np.uint8)
        out["types"][name] = {
            "bits": BITS[name],
            "max": float(fmax),
            "decode": f32_bits(values),
            "encode_in": f32_bits(np.concatenate([x, nan])),
            "encode_out": np.concatenate([codes_out, nan_codes]).astype(int).tolist(),
        }
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
