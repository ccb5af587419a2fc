"""Reference sizes of the torchvision architectures in krust-zoo.

For every model, at 1000 and at 10 classes: `params`, torchvision's own count
(sum(p.numel() for p in model.parameters())), `buffers` (BatchNorm running mean/var;
num_batches_tracked left out) and `params_and_buffers`, which is what krust's (and Keras's)
count_params reports, since it counts BatchNorm's moving statistics as weights.
GoogLeNet is built with aux_logits=False (its auxiliary classifiers are training-only).
No weights are downloaded; counts do not depend on initialisation.

Run with the torch venv: /root/venvs/torch/bin/python tools/zoo_param_counts.py
Writes fixtures/zoo/param_counts.json.
"""

import json
import pathlib

import torch
import torchvision
from torchvision import models

MODELS = ["alexnet", "vgg11", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn", "vgg19_bn",
          "resnet18", "resnet34", "resnet50", "googlenet", "squeezenet1_1", "densenet121"]


def sizes(name, classes):
    kwargs = {"num_classes": classes}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=False)
    m = getattr(models, name)(**kwargs)
    params = sum(p.numel() for p in m.parameters())
    buffers = sum(b.numel() for n, b in m.named_buffers() if not n.endswith("num_batches_tracked"))
    return {"classes": classes, "params": params, "buffers": buffers,
            "params_and_buffers": params + buffers}


out = {"meta": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                "googlenet": "aux_logits=False"}}
for name in MODELS:
    row = sizes(name, 1000)
    row["classes_10"] = sizes(name, 10)
    out[name] = row
    print(name, row["params"], row["params_and_buffers"], row["classes_10"]["params"])

path = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "zoo" / "param_counts.json"
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(json.dumps(out, indent=1) + "\n")
print("wrote", path)
