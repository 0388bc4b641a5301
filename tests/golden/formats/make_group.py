"""Goldens for the group-wise integer grid (src/engine/formats/group.rs) from PyTorch 2.15: the
tensor reshaped to [groups, G] (groups along the last axis), `PerChannelMinMaxObserver(ch_axis=0)`
for each group's scale and zero point, and `torch.fake_quantize_per_channel_affine` for the
values; 4 and 8 bits, affine (unsigned codes, [0, 2^b − 1]) and symmetric (signed codes,
[−2^(b−1), 2^(b−1) − 1]), groups of 32 and 128.

Requires torch 2.15 (pip install torch).
Usage: python3 tests/golden/formats/make_group.py > tests/golden/formats/group.json"""
import json
import sys

import numpy as np
import torch
from torch.ao.quantization.observer import PerChannelMinMaxObserver


def bits(t):
    return np.ascontiguousarray(t.numpy(), dtype=np.float32).reshape(-1).view(np.uint32).astype(np.int64).tolist()


def main():
    rng = np.random.default_rng(128)
    w = (rng.standard_normal((8, 256)) * 0.02).astype(np.float32)
    w[1, 7] = 0.8  # an outlier in one group
    w[2, 128:256] = 0  # zero groups
    w[3, 0:32] = np.abs(w[3, 0:32])  # a group of positive values only
    w[4, 40] = -2.5
    x = torch.from_numpy(w)
    out = {"shape": list(w.shape), "x": bits(x), "cases": []}
    for nbits in (4, 8):
        for scheme in ("affine", "symmetric"):
            for group in (32, 128):
                if scheme == "affine":
                    qmin, qmax, dtype, qscheme = 0, 2**nbits - 1, torch.quint8, torch.per_channel_affine
                else:
                    qmin, qmax, dtype, qscheme = -(2 ** (nbits - 1)), 2 ** (nbits - 1) - 1, torch.qint8, torch.per_channel_symmetric
                g = x.reshape(-1, group)
                obs = PerChannelMinMaxObserver(ch_axis=0, dtype=dtype, qscheme=qscheme, quant_min=qmin, quant_max=qmax)
                obs(g)
                scale, zp = obs.calculate_qparams()
                values = torch.fake_quantize_per_channel_affine(g, scale.float(), zp.int(), 0, qmin, qmax)
                out["cases"].append({"bits": nbits, "scheme": scheme, "group": group, "scales": bits(scale.float()), "zero_points": zp.tolist(), "values": bits(values)})
    json.dump(out, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
