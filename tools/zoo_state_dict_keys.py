"""The state-dict layout of the torchvision architectures in krust-zoo: for every model (at 10
classes), each state-dict entry's name and shape, num_batches_tracked left out. krust's tests
check that its layer names and weight shapes map onto these one to one (Conv2D/Dense weight
and bias, BatchNormalization weight/bias/running_mean/running_var), so torchvision weights
load by name. GoogLeNet: aux_logits=False. No weights are downloaded.

Run with the torch venv: /root/venvs/torch/bin/python tools/zoo_state_dict_keys.py
Writes fixtures/zoo/state_dict_keys.json: {"meta": ..., model: [[key, shape], ...]}.
"""

import json
import pathlib

import torch
import torchvision
from torchvision import models

MODELS = ["alexnet", "vgg11", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn", "vgg19_bn",
          "resnet18", "resnet34", "resnet50", "googlenet", "squeezenet1_1", "densenet121"]

out = {"meta": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                "classes": 10, "googlenet": "aux_logits=False"}}
for name in MODELS:
    kwargs = {"num_classes": 10}
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=False)
    m = getattr(models, name)(**kwargs)
    out[name] = [[k, list(v.shape)] for k, v in m.state_dict().items()
                 if not k.endswith("num_batches_tracked")]

path = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "zoo" / "state_dict_keys.json"
path.write_text(json.dumps(out, separators=(",", ":")) + "\n")
print("wrote", path, path.stat().st_size, "bytes")
