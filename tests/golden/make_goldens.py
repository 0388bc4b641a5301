#!/usr/bin/env python3
"""Makes tests/golden/goldens.json: reference values from PyTorch's torch.ao.quantization,
NVIDIA's pytorch-quantization (entropy calibration) and NumPy (percentiles), for the engine's
golden tests (tests/golden.rs).

Run by hand, not in CI (it needs PyTorch):
    pip install torch numpy scipy absl-py
    pip install --no-deps pytorch-quantization==2.1.3
    python3 tests/golden/make_goldens.py
Made with PyTorch 2.15.0, NumPy 2.x, pytorch-quantization 2.1.3, on x86_64.
"""
import json
import os
import warnings

import numpy as np
import torch
from torch.ao.quantization import observer as O

warnings.filterwarnings("ignore")
torch.set_num_threads(1)

rng = np.random.default_rng(20261125)


def tensors():
    """Named float32 test tensors."""
    t = {}
    t["normal"] = rng.standard_normal(4096).astype(np.float32)
    t["laplace"] = rng.laplace(0.0, 0.5, 4096).astype(np.float32)
    t["uniform"] = rng.uniform(-0.3, 1.7, 4096).astype(np.float32)
    relu = np.maximum(rng.standard_normal(4096), 0).astype(np.float32)
    t["post_relu"] = relu
    outl = rng.standard_normal(4096).astype(np.float32)
    outl[rng.choice(4096, 8, replace=False)] = np.float32(25.0) * rng.choice([-1, 1], 8).astype(np.float32)
    t["outliers"] = outl
    t["constant"] = np.full(64, 0.75, dtype=np.float32)
    t["tiny"] = np.array([-1.0, 2.0], dtype=np.float32)
    # Per-channel: channels with ranges 100x apart, like depthwise weights after BN folding.
    scales = np.geomspace(0.01, 1.0, 8).astype(np.float32)
    t["channels"] = (rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * scales[:, None, None, None]).astype(np.float32)
    return t


def f32list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


DTYPES = {"quint8": torch.quint8, "qint8": torch.qint8}
SCHEMES = {
    ("per-tensor", "affine"): torch.per_tensor_affine,
    ("per-tensor", "symmetric"): torch.per_tensor_symmetric,
    ("per-channel", "affine"): torch.per_channel_affine,
    ("per-channel", "symmetric"): torch.per_channel_symmetric,
}


def sqnr_db(x, y):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    noise = np.sum((x - y) ** 2)
    return None if noise == 0 else float(10 * np.log10(np.sum(x * x) / noise))


def run_observer(obs, x, batch_axis):
    xt = torch.from_numpy(x.copy())
    if batch_axis is None:
        obs(xt)
    else:
        for i in range(xt.shape[batch_axis]):
            obs(xt.select(batch_axis, i).unsqueeze(batch_axis).contiguous())
    return obs


def fake_quant(x, scale, zp, qmin, qmax, ch_axis):
    xt = torch.from_numpy(x.copy())
    if ch_axis is None:
        return torch.fake_quantize_per_tensor_affine(xt, float(scale[0]), int(zp[0]), qmin, qmax).numpy()
    return torch.fake_quantize_per_channel_affine(
        xt, torch.tensor(scale, dtype=torch.float32), torch.tensor(zp, dtype=torch.int32), ch_axis, qmin, qmax
    ).numpy()


def observer_case(name, kind, x, dtype, granularity, scheme, batch_axis=None, reduce_range=False,
                  qrange=None, ch_axis=0, averaging_constant=0.01, bins=2048):
    kw = dict(dtype=DTYPES[dtype], qscheme=SCHEMES[(granularity, scheme)], reduce_range=reduce_range)
    if qrange is not None:
        kw["quant_min"], kw["quant_max"] = qrange
    per_channel = granularity == "per-channel"
    if kind == "minmax":
        obs = (O.PerChannelMinMaxObserver(ch_axis=ch_axis, **kw) if per_channel else O.MinMaxObserver(**kw))
    elif kind == "moving-average":
        obs = (O.MovingAveragePerChannelMinMaxObserver(ch_axis=ch_axis, averaging_constant=averaging_constant, **kw)
               if per_channel else O.MovingAverageMinMaxObserver(averaging_constant=averaging_constant, **kw))
    elif kind == "histogram":
        obs = O.HistogramObserver(bins=bins, **kw)
    else:
        raise ValueError(kind)
    run_observer(obs, x, batch_axis)
    scale, zp = obs.calculate_qparams()
    scale = scale.reshape(-1).numpy().astype(np.float32)
    zp = zp.reshape(-1).numpy().astype(np.int64)
    if kind == "histogram":
        lo, hi = obs._non_linear_param_search()
        min_val, max_val = [float(lo)], [float(hi)]
    else:
        min_val = f32list(obs.min_val.reshape(-1))
        max_val = f32list(obs.max_val.reshape(-1))
    y = fake_quant(x, scale, zp, obs.quant_min, obs.quant_max, ch_axis if per_channel else None)
    return {
        "name": name,
        "observer": kind,
        "tensor": None,  # filled by caller
        "shape": list(x.shape),
        "dtype": dtype,
        "granularity": granularity,
        "scheme": scheme,
        "ch_axis": ch_axis if per_channel else None,
        "batch_axis": batch_axis,
        "reduce_range": reduce_range,
        "quant_range": list(qrange) if qrange else None,
        "averaging_constant": averaging_constant,
        "bins": bins,
        "quant_min": int(obs.quant_min),
        "quant_max": int(obs.quant_max),
        "min_val": min_val,
        "max_val": max_val,
        "scale": f32list(scale),
        "zero_point": [int(v) for v in zp],
        "fake_quant": f32list(y),
        "sqnr_db": sqnr_db(x, y),
    }


def main():
    t = tensors()
    cases = []

    def add(tensor, **kw):
        c = observer_case(x=t[tensor], **kw)
        c["tensor"] = tensor
        cases.append(c)

    for tensor in ["normal", "laplace", "uniform", "post_relu", "outliers", "constant", "tiny"]:
        for dtype, scheme in [("quint8", "affine"), ("qint8", "symmetric"), ("quint8", "symmetric"), ("qint8", "affine")]:
            add(tensor, name=f"minmax-{tensor}-{dtype}-{scheme}", kind="minmax", dtype=dtype,
                granularity="per-tensor", scheme=scheme)
    add("tiny", name="minmax-tiny-reduce", kind="minmax", dtype="quint8", granularity="per-tensor",
        scheme="affine", reduce_range=True)
    for qr, dtype in [((0, 15), "quint8"), ((-8, 7), "qint8"), ((-127, 127), "qint8"), ((0, 3), "quint8")]:
        for scheme in ["affine", "symmetric"]:
            add("normal", name=f"minmax-normal-{dtype}-{qr[0]}_{qr[1]}-{scheme}", kind="minmax", dtype=dtype,
                granularity="per-tensor", scheme=scheme, qrange=qr)
    # Moving average over batches: the channels tensor fed slice by slice along axis 0.
    for c in [0.01, 0.3]:
        add("channels", name=f"ema-channels-{c}", kind="moving-average", dtype="quint8",
            granularity="per-tensor", scheme="affine", batch_axis=0, averaging_constant=c)
    add("channels", name="minmax-channels-batches", kind="minmax", dtype="quint8",
        granularity="per-tensor", scheme="affine", batch_axis=0)
    # Per channel, on two axes.
    for scheme in ["affine", "symmetric"]:
        for axis in [0, 1]:
            add("channels", name=f"perchannel-minmax-{scheme}-axis{axis}", kind="minmax", dtype="qint8",
                granularity="per-channel", scheme=scheme, ch_axis=axis)
        add("channels", name=f"perchannel-ema-{scheme}", kind="moving-average", dtype="qint8",
            granularity="per-channel", scheme=scheme, ch_axis=0, batch_axis=3, averaging_constant=0.1)
    # Histogram observer, one batch (exact) and several (within a bin).
    for tensor in ["normal", "laplace", "outliers", "post_relu", "uniform"]:
        for dtype, scheme in [("quint8", "affine"), ("qint8", "symmetric")]:
            add(tensor, name=f"histogram-{tensor}-{dtype}-{scheme}", kind="histogram", dtype=dtype,
                granularity="per-tensor", scheme=scheme)
    add("channels", name="histogram-channels-batches", kind="histogram", dtype="quint8",
        granularity="per-tensor", scheme="affine", batch_axis=0)

    # NVIDIA entropy calibration (per tensor, |x| histogram, 2048 bins, start bin 128).
    from pytorch_quantization.calib.histogram import HistogramCalibrator
    entropy = []
    for tensor, bits, unsigned, batch_axis in [("normal", 8, False, None), ("laplace", 8, False, None),
                                               ("outliers", 8, False, None), ("post_relu", 8, True, None),
                                               ("normal", 4, False, None), ("normal_batches", 8, False, 0)]:
        # normal_batches: the normal tensor as 4 batches of 1024, so later batches grow the
        # histogram by a few bins (the channels tensor would grow it 100x: NVIDIA's calibrator
        # then takes hours over its O(bins^2) search).
        cal = HistogramCalibrator(num_bits=bits, axis=None, unsigned=unsigned)
        data = t["normal"].reshape(4, 1024) if tensor == "normal_batches" else t[tensor]
        x = torch.from_numpy(data.copy())
        if batch_axis is None:
            cal.collect(x)
        else:
            for i in range(x.shape[batch_axis]):
                cal.collect(x.select(batch_axis, i).contiguous())
        amax = float(cal.compute_amax("entropy"))
        entropy.append({"tensor": tensor, "bits": bits, "unsigned": unsigned, "batch_axis": batch_axis,
                        "amax": amax})

    # NumPy percentiles (linear).
    percentile = []
    for tensor in ["normal", "outliers", "laplace"]:
        for p in [99.0, 99.9, 99.99]:
            x = t[tensor]
            percentile.append({"tensor": tensor, "percentile": p,
                               "abs": float(np.percentile(np.abs(x), p)),
                               "low": float(np.percentile(x, 100 - p)),
                               "high": float(np.percentile(x, p))})

    out = {
        "made_with": {"torch": torch.__version__, "numpy": np.__version__},
        "tensors": {k: {"shape": list(v.shape), "data": f32list(v)} for k, v in t.items()},
        "observers": cases,
        "entropy": entropy,
        "percentile": percentile,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "goldens.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
    print(f"wrote {path}: {len(cases)} observer cases, {len(entropy)} entropy, {len(percentile)} percentile")


if __name__ == "__main__":
    main()
