"""Local check (not run in CI): krust-zoo's models with torchvision's weights give
torchvision's logits. For each model:size, a randomly initialised torchvision model (BatchNorm
running statistics randomised too, so eval-mode normalisation matters) is saved as one .npy
per state-dict entry with a random input and its eval-mode logits; the krust example
`torch_logits_check` loads them by name and prints the largest logit difference.

Usage: /root/venvs/torch/bin/python tools/zoo_torch_logits.py resnet18:224 googlenet:97 ...
"""

import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch
from torchvision import models

SEED = 3
ROOT = pathlib.Path(__file__).resolve().parent.parent


def check(name, size, classes=10):
    torch.manual_seed(SEED)
    kwargs = {"num_classes": classes}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=True)
    m = getattr(models, name)(**kwargs)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.2, 0.2)
    m.eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        logits = m(x)
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        (d / "weights").mkdir()
        for k, v in m.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                np.save(d / "weights" / f"{k}.npy", v.numpy().astype(np.float32))
        np.save(d / "input.npy", x.permute(0, 2, 3, 1).contiguous().numpy())
        np.save(d / "logits.npy", logits.numpy())
        subprocess.run(["cargo", "run", "-q", "--release", "-p", "krust-zoo", "--example",
                        "torch_logits_check", "--", str(d), name, str(size), str(size),
                        str(classes)], cwd=ROOT, check=True)


for arg in sys.argv[1:]:
    name, size = arg.split(":")
    check(name, int(size))
