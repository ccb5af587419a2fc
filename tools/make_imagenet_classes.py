"""Writes crates/zoo/data/imagenet_classes.txt: the 1000 ImageNet-1k class names, one per
line in class-index order, from torchvision's models/_meta.py (BSD-3-Clause, torchvision 0.29).

Run: /path/to/venv-with-torchvision/bin/python tools/make_imagenet_classes.py
"""
from pathlib import Path

import torchvision
from torchvision.models._meta import _IMAGENET_CATEGORIES

assert len(_IMAGENET_CATEGORIES) == 1000
out = Path(__file__).resolve().parent.parent / "crates/zoo/data/imagenet_classes.txt"
out.write_text("\n".join(_IMAGENET_CATEGORIES) + "\n")
print(f"wrote {out} from torchvision {torchvision.__version__}")
