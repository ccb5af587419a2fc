"""Pins krust's PyTorch-style poolings to PyTorch: MaxPool2d/AvgPool2d with explicit padding and
ceil_mode, and AdaptiveAvgPool2d, on small random inputs (all values negative for max pooling,
so a padded cell winning would show). Writes fixtures/torch/pooling.json (channels-last).

Run with the torch venv: /root/venvs/torch/bin/python tools/make_torch_pool_fixtures.py
"""

import json
import pathlib

import torch

SEED = 7
torch.manual_seed(SEED)

cases = []


def add(name, module, shape, negative=False):
    n, c, h, w = shape
    x = torch.randn(shape)
    if negative:
        x = -x.abs() - 1.0
    with torch.no_grad():
        y = module(x)
    entry = {"name": name, "input_shape": [n, h, w, c],
             "input": x.permute(0, 2, 3, 1).reshape(-1).tolist(),
             "output_shape": [y.shape[0], y.shape[2], y.shape[3], y.shape[1]],
             "output": y.permute(0, 2, 3, 1).reshape(-1).tolist()}
    if isinstance(module, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)):
        k, s, p = module.kernel_size, module.stride, module.padding
        entry.update(op="max" if isinstance(module, torch.nn.MaxPool2d) else "avg",
                     kernel=k, stride=s, padding=p, ceil_mode=module.ceil_mode)
    else:
        entry.update(op="adaptive_avg", output_size=list(module.output_size))
    cases.append(entry)


MaxPool, AvgPool, Adaptive = torch.nn.MaxPool2d, torch.nn.AvgPool2d, torch.nn.AdaptiveAvgPool2d
# ResNet / DenseNet stem pooling, even and odd sizes.
add("max k3 s2 p1, 8x7", MaxPool(3, 2, padding=1), (2, 3, 8, 7), negative=True)
# GoogLeNet / SqueezeNet ceil-mode poolings.
add("max k3 s2 ceil, 8x9", MaxPool(3, 2, ceil_mode=True), (1, 2, 8, 9), negative=True)
add("max k2 s2 ceil, 7x6", MaxPool(2, 2, ceil_mode=True), (1, 2, 7, 6), negative=True)
add("max k3 s1 p1 ceil, 5x6", MaxPool(3, 1, padding=1, ceil_mode=True), (1, 2, 5, 6), negative=True)
# A last window that would start in the right padding is dropped (5 + 2 -> 3 windows, not 4).
add("max k2 s2 p1 ceil, 5x5", MaxPool(2, 2, padding=1, ceil_mode=True), (1, 2, 5, 5), negative=True)
add("max k3 s2 p1 ceil, 6x5", MaxPool(3, 2, padding=1, ceil_mode=True), (1, 1, 6, 5), negative=True)
# krust's average excludes padded cells: PyTorch's count_include_pad=False.
add("avg k3 s2 p1 ceil, 6x5", AvgPool(3, 2, padding=1, ceil_mode=True, count_include_pad=False),
    (1, 2, 6, 5))
add("avg k2 s2 ceil, 5x7", AvgPool(2, 2, ceil_mode=True, count_include_pad=False), (1, 2, 5, 7))
# AlexNet's (6, 6) and VGG's (7, 7) at sizes that are not multiples, smaller and larger.
add("adaptive 13x13 -> 6x6", Adaptive((6, 6)), (1, 2, 13, 13))
add("adaptive 5x7 -> 3x2", Adaptive((3, 2)), (2, 2, 5, 7))
add("adaptive 1x1 -> 7x7", Adaptive((7, 7)), (1, 3, 1, 1))
add("adaptive 2x3 -> 7x7", Adaptive((7, 7)), (1, 1, 2, 3))
# In ceil mode PyTorch keeps one window even when the input is smaller than the window
# (GoogLeNet at 15x15 pools a 2x2 map with a 3x3 window).
add("max k3 s2 ceil, 2x2", MaxPool(3, 2, ceil_mode=True), (1, 2, 2, 2), negative=True)

out = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "torch" / "pooling.json"
out.parent.mkdir(parents=True, exist_ok=True)
meta = {"torch": torch.__version__, "seed": SEED}
out.write_text(json.dumps({"meta": meta, "cases": cases}))
print(f"wrote {len(cases)} cases to {out}")
