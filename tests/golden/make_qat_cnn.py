"""One QAT step of the Lab's small CNN in PyTorch: the golden for quantscope's conv-batch-norm
fake-quantization, forward and backward (src/engine/nn/net.rs, tested in tests/golden.rs).

The network is the Lab's CNN at 4x4 (conv 3x3 1->2, depthwise 3x3, pointwise 2->3, each
torch.ao.nn.intrinsic.qat.ConvBn2d followed by ReLU, then torch.ao.nn.qat.Linear 48->3), without
pooling. Weights are fake-quantized per tensor, symmetric, 4 bits, from their min/max (the
ConvBn2d modules fold gamma/sigma into them first, as PyTorch's _forward_approximate does);
activations are fake-quantized with fixed 8-bit scales and zero points. Parameters are exact
binary fractions so both sides start from the same bits. Run with PyTorch 2.15:

    python3 tests/golden/make_qat_cnn.py > tests/golden/qat_cnn.json
"""
import json

import torch
import torch.nn.functional as F
from torch.ao.nn.intrinsic.qat import ConvBn2d
from torch.ao.nn.qat import Linear
from torch.ao.quantization import FakeQuantize, MinMaxObserver, QConfig

torch.set_num_threads(1)

W_QMIN, W_QMAX = -8, 7
weight_fq = FakeQuantize.with_args(observer=MinMaxObserver, quant_min=W_QMIN, quant_max=W_QMAX, dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)
qconfig = QConfig(activation=FakeQuantize.with_args(observer=MinMaxObserver), weight=weight_fq)

# Activations: input in [-2, 2], every layer's output in [-4, 4], 8-bit unsigned codes.
A_QMIN, A_QMAX = 0, 255
IN_Q = (4.0 / 255.0, 128)
OUT_Q = (8.0 / 255.0, 128)


def fq(x, q):
    scale = float(torch.tensor(q[0], dtype=torch.float32))
    return torch.fake_quantize_per_tensor_affine(x, scale, q[1], A_QMIN, A_QMAX)


def exact(n, mul, mod, offset, div):
    return [((i * mul) % mod - offset) / div for i in range(n)]


def build():
    conv = ConvBn2d(1, 2, 3, padding=1, bias=False, qconfig=qconfig)
    dw = ConvBn2d(2, 2, 3, padding=1, groups=2, bias=False, qconfig=qconfig)
    pw = ConvBn2d(2, 3, 1, bias=False, qconfig=qconfig)
    lin = Linear(48, 3, qconfig=qconfig)
    params = {}
    with torch.no_grad():
        for k, (m, seed) in enumerate([(conv, 37), (dw, 41), (pw, 43)]):
            m.weight.copy_(torch.tensor(exact(m.weight.numel(), seed, 101, 50, 128), dtype=torch.float32).reshape(m.weight.shape))
            c = m.bn.num_features
            m.bn.weight.copy_(torch.tensor([0.75 + 0.25 * i + 0.125 * k for i in range(c)]))
            m.bn.bias.copy_(torch.tensor([0.25 - 0.125 * i for i in range(c)]))
            m.bn.running_mean.copy_(torch.tensor([0.0625 * i - 0.03125 * k for i in range(c)]))
            m.bn.running_var.copy_(torch.tensor([0.5 + 0.25 * i for i in range(c)]))
            params[f"layer{k}"] = {
                "weight": m.weight.flatten().tolist(),
                "gamma": m.bn.weight.tolist(),
                "beta": m.bn.bias.tolist(),
                "running_mean": m.bn.running_mean.tolist(),
                "running_var": m.bn.running_var.tolist(),
            }
        lin.weight.copy_(torch.tensor(exact(48 * 3, 53, 97, 48, 256), dtype=torch.float32).reshape(3, 48))
        lin.bias.zero_()
        params["layer3"] = {"weight": lin.weight.flatten().tolist(), "bias": lin.bias.tolist()}
    return (conv, dw, pw, lin), params


x = torch.tensor(exact(4 * 16, 29, 61, 30, 16), dtype=torch.float32).reshape(4, 1, 4, 4)
y = torch.tensor([0, 2, 1, 2])
cases = []
for freeze_bn in [False, True]:
    (conv, dw, pw, lin), params = build()
    for m in (conv, dw, pw, lin):
        m.train()
    if freeze_bn:
        for m in (conv, dw, pw):
            m.freeze_bn_stats()
    h = fq(x, IN_Q)
    for m in (conv, dw, pw):
        h = fq(F.relu(m(h)), OUT_Q)
    # quantscope's activations are NHWC: flatten in (h, w, c) order.
    flat = h.permute(0, 2, 3, 1).reshape(4, -1)
    logits = fq(lin(flat), OUT_Q)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    grads = []
    for m in (conv, dw, pw):
        grads += [m.weight.grad.flatten().tolist(), m.bn.weight.grad.tolist(), m.bn.bias.grad.tolist()]
    grads += [lin.weight.grad.flatten().tolist(), lin.bias.grad.tolist()]
    cases.append({
        "freeze_bn": freeze_bn,
        "loss": loss.item(),
        "logits": logits.flatten().tolist(),
        "grads": grads,
        "running_mean": [m.bn.running_mean.tolist() for m in (conv, dw, pw)],
        "running_var": [m.bn.running_var.tolist() for m in (conv, dw, pw)],
    })

print(json.dumps({
    "torch": torch.__version__,
    "x": x.flatten().tolist(),
    "y": y.tolist(),
    "weight_range": [W_QMIN, W_QMAX],
    "act_range": [A_QMIN, A_QMAX],
    "input_q": IN_Q,
    "output_q": OUT_Q,
    "params": params,
    "cases": cases,
}, indent=1))
