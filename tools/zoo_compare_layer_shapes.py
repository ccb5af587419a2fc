"""Local check (not run in CI): krust-zoo's layer output shapes against torchvision's, layer by
layer, for the given models and input sizes. No weights are needed.

torch side: a forward hook on every module called exactly once (a module reused, like
ResNet's block-level ReLU, has no single shape). krust side: the summary printed by
`cargo run --release -p krust-zoo --example zoo_summary`. A torch module "M" is matched to the
krust layer "M", else "M.concat" (Inception / Fire / dense block outputs), else the last
krust layer named "M.*" (the output of a block or Sequential such as "layer1.0",
"inception3a.branch2" or a DenseNet "denselayer1"). PyTorch's AdaptiveAvgPool2d((1, 1)) keeps (1, 1, C) and
flattens afterwards; krust's GlobalAveragePooling2D gives (C): those count as equal.
Unmatched torch modules (ReLUs fused into convolutions) are listed, not failed.

Usage: /root/venvs/torch/bin/python tools/zoo_compare_layer_shapes.py resnet18:224x224 \
           googlenet:224x224 googlenet:97x113
"""

import os
import re
import subprocess
import sys
from collections import Counter

import torch
from torchvision import models


def torch_shapes(name, h, w):
    kwargs = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    m = getattr(models, name)(**kwargs).eval()
    calls, shapes = Counter(), {}
    for mod_name, mod in m.named_modules():
        if not mod_name:
            continue

        def hook(_mod, _inp, out, mod_name=mod_name):
            calls[mod_name] += 1
            s = list(out.shape)
            shapes[mod_name] = s[2:] + s[1:2] if len(s) == 4 else s[1:]

        mod.register_forward_hook(hook)
    with torch.no_grad():
        logits = m(torch.zeros(1, 3, h, w))
    shapes["<logits>"] = list(logits.shape[1:])
    return {k: v for k, v in shapes.items() if calls[k] <= 1}


def krust_shapes(name, h, w):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(
        ["cargo", "run", "-q", "--release", "-p", "krust-zoo", "--example", "zoo_summary", "--",
         name, str(h), str(w), "3", "1000"],
        cwd=root, check=True, capture_output=True, text=True).stdout
    shapes, last = {}, None
    for line in out.splitlines():
        m = re.match(r"^(\S+) \((\w+)\)\s*\(None, ([\d, ]+)\)", line)
        if m:
            last = [int(d) for d in m.group(3).split(",")]
            shapes[m.group(1)] = last
    shapes["<logits>"] = last
    return shapes


def compare(name, h, w):
    theirs, ours = torch_shapes(name, h, w), krust_shapes(name, h, w)
    matched, bad, unmatched = 0, [], []
    for mod, shape in theirs.items():
        inside = [k for k in ours if k.startswith(mod + ".")]
        for candidate in (mod, mod + ".concat", *inside[-1:]):
            if candidate in ours:
                matched += 1
                squeezed = shape[:2] == [1, 1] and ours[candidate] == shape[2:]
                if ours[candidate] != shape and not squeezed:
                    bad.append((mod, candidate, shape, ours[candidate]))
                break
        else:
            unmatched.append(mod)
    print(f"{name} at {h}x{w}: {matched} layers compared, {len(bad)} differ; "
          f"{len(unmatched)} torch modules without a krust layer of that name")
    for b in bad:
        print("  DIFFERS:", b)
    if unmatched:
        print("  unmatched:", " ".join(unmatched[:40]), "..." if len(unmatched) > 40 else "")
    return not bad


ok = True
for arg in sys.argv[1:] or ["resnet18:224x224", "googlenet:224x224"]:
    name, size = arg.split(":")
    h, w = (int(v) for v in size.split("x"))
    ok &= compare(name, h, w)
sys.exit(0 if ok else 1)
