#!/usr/bin/env python3
"""PyTorch, one thread, on the Lab's benchmark workloads (src/engine/nn/bench.rs), for
scripts/bench: one FP32 and one QAT epoch of the 64-128-128-10 MLP and of the CNN (conv 3x3 ->
BN -> ReLU, depthwise 3x3 -> BN -> ReLU, pointwise -> BN -> ReLU -> max pool, linear; 8 and 16
channels) on 1,346 digits in batches of 64 with Adam, and each model converted to int8 (fbgemm)
over all 1,797 digits. QAT uses fake-quantization at 4 bits (weights per tensor, symmetric;
activations with moving-average min/max), as the Lab's W4A4; the integer models are PyTorch's
8-bit ones (fbgemm has no 4-bit kernels). Prints `NAME (torch): MEDIAN ms (best B)` lines.
Usage: scripts/bench_torch.py [--quick]"""
import gzip
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
import torch.nn as nn
from torch.ao.quantization import (DeQuantStub, FakeQuantize, MinMaxObserver, MovingAverageMinMaxObserver, QConfig,
                                   QuantStub, convert, fuse_modules, fuse_modules_qat, get_default_qconfig, prepare,
                                   prepare_qat)

warnings.filterwarnings("ignore")  # torch.ao.quantization's deprecation notices
torch.set_num_threads(1)
torch.manual_seed(0)
RUNS = 5 if "--quick" in sys.argv else 15
ROOT = Path(__file__).resolve().parent.parent

rows = [list(map(float, line.split(","))) for line in gzip.open(ROOT / "static/data/digits.csv.gz", "rt")]
data = torch.tensor(rows)
x_all, y_all = data[:, :64] / 16.0, data[:, 64].long()
x_train, y_train = x_all[:1346], y_all[:1346]

W4 = FakeQuantize.with_args(observer=MinMaxObserver, quant_min=-8, quant_max=7, dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
A4 = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=15, dtype=torch.quint8)
W4A4 = QConfig(activation=A4, weight=W4)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.l0, self.r0, self.l1, self.r1, self.l2 = nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10)

    def forward(self, x):
        x = self.quant(x)
        return self.dequant(self.l2(self.r1(self.l1(self.r0(self.l0(x))))))

    fuse = [["l0", "r0"], ["l1", "r1"]]


class Cnn(nn.Module):
    def __init__(self, c1=8, c2=16):
        super().__init__()
        self.quant, self.dequant = QuantStub(), DeQuantStub()
        self.c0, self.b0, self.r0 = nn.Conv2d(1, c1, 3, padding=1, bias=False), nn.BatchNorm2d(c1), nn.ReLU()
        self.c1, self.b1, self.r1 = nn.Conv2d(c1, c1, 3, padding=1, groups=c1, bias=False), nn.BatchNorm2d(c1), nn.ReLU()
        self.c2, self.b2, self.r2 = nn.Conv2d(c1, c2, 1, bias=False), nn.BatchNorm2d(c2), nn.ReLU()
        self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(16 * c2, 10)

    def forward(self, x):
        x = self.quant(x.reshape(-1, 1, 8, 8))
        x = self.r0(self.b0(self.c0(x)))
        x = self.r1(self.b1(self.c1(x)))
        x = self.pool(self.r2(self.b2(self.c2(x))))
        return self.dequant(self.fc(x.flatten(1)))

    fuse = [["c0", "b0", "r0"], ["c1", "b1", "r1"], ["c2", "b2", "r2"]]


def epoch(model, opt):
    perm = torch.randperm(len(x_train))
    for i in range(0, len(x_train), 64):
        idx = perm[i:i + 64]
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
        opt.step()


def timed(f, runs=RUNS):
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(samples), min(samples)


def report(name, t):
    print(f"{name} (torch): {t[0]:.2f} ms (best {t[1]:.2f})", flush=True)


for name, make in [("mlp", Mlp), ("cnn", Cnn)]:
    model = make().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(3):
        epoch(model, opt)
    report(f"{name} fp32 epoch", timed(lambda: epoch(model, opt)))
    qat = make().train()
    qat.load_state_dict(model.state_dict())
    qat = fuse_modules_qat(qat, qat.fuse)
    qat.qconfig = W4A4
    prepare_qat(qat, inplace=True)
    opt = torch.optim.Adam(qat.parameters(), lr=5e-4)
    epoch(qat, opt)
    report(f"{name} qat epoch", timed(lambda: epoch(qat, opt)))
    # PTQ to int8 (fbgemm), calibrated on 256 samples, over all 1,797 digits.
    torch.backends.quantized.engine = "fbgemm"
    ptq = make().eval()
    ptq.load_state_dict(model.state_dict())
    ptq = fuse_modules(ptq, ptq.fuse)
    ptq.qconfig = get_default_qconfig("fbgemm")
    prepare(ptq, inplace=True)
    with torch.no_grad():
        ptq(x_train[:256])
    int8 = convert(ptq)
    with torch.no_grad():
        int8(x_all)
        report(f"{name} int8 inference", timed(lambda: int8(x_all)))
