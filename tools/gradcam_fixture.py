"""PyTorch reference for krust_zoo::gradcam::grad_cam (Grad-CAM, Selvaraju et al. 2017).

Takes the committed SqueezeNet 1.1 fixture (10 classes, random float16 weights, written by
make_torch_zoo_fixtures.py --small) and the first image of its 72x88 input, hooks the
output of `features` (the last Fire module's concatenation, krust's `features.12.concat`)
with forward and backward hooks, backpropagates the predicted class's logit, and writes the
Grad-CAM map: alpha_k = spatial mean of the gradient, cam = ReLU(sum_k alpha_k A_k), resized
with F.interpolate(bilinear, align_corners=False) to 72x88 and min-max scaled to [0, 1].

    /root/venvs/torch/bin/python tools/gradcam_fixture.py

Writes fixtures/torch/zoo/squeezenet1_1_gradcam_72x88.npy (float32, 72x88) and
squeezenet1_1_gradcam_class.npy (float32, [class]). Not run in CI.
"""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torchvision import models

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT / "fixtures/torch/zoo"


def main():
    torch.set_num_threads(2)
    model = models.squeezenet1_1(weights=None, num_classes=10)
    state = torch.load(ZOO / "squeezenet1_1.pth")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    x = torch.from_numpy(np.load(ZOO / "squeezenet1_1_input_72x88.npy")[:1]).permute(0, 3, 1, 2)

    saved = {}
    model.features.register_forward_hook(lambda m, i, out: saved.__setitem__("a", out))
    model.features.register_full_backward_hook(lambda m, gi, go: saved.__setitem__("g", go[0]))
    logits = model(x.contiguous())
    cls = int(logits[0].argmax())
    model.zero_grad()
    logits[0, cls].backward()

    a, g = saved["a"][0].detach(), saved["g"][0]
    alpha = g.mean(dim=(1, 2))
    cam = F.relu((alpha[:, None, None] * a).sum(0))
    cam = F.interpolate(cam[None, None], size=x.shape[2:], mode="bilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    if cam.max() > 0:
        cam = cam / cam.max()
    np.save(ZOO / "squeezenet1_1_gradcam_72x88.npy", cam.numpy().astype(np.float32))
    np.save(ZOO / "squeezenet1_1_gradcam_class.npy", np.array([cls], dtype=np.float32))
    print("class", cls, "map", tuple(a.shape), "->", tuple(cam.shape))


if __name__ == "__main__":
    main()
