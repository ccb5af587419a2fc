"""PyTorch references for the zoo's torchvision architectures: weights of a randomly
initialized torchvision model (BatchNorm statistics and affine parameters moved away from
0/1, so a mix-up of running mean/var or weight/bias shows), an input batch and the logits the
module's forward returns in eval mode, at 224x224 and at a smaller, non-square 72x88.

    python tools/make_torch_zoo_fixtures.py            # every architecture, 1000 classes,
                                                       # into target/torch-zoo/ (large; not
                                                       # committed; the tests use it if present)
    python tools/make_torch_zoo_fixtures.py --small    # the committed fixture: SqueezeNet 1.1
                                                       # with 10 classes, float16 weights, into
                                                       # fixtures/torch/zoo/

Files per model NAME: NAME.pth (torch.save, zip format), NAME_input_HxW.npy (float32 NHWC),
NAME_logits_HxW.npy (float32). torch 2.15 / torchvision 0.29, seed 0 per model.
"""
import argparse
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision import models

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURES = [
    "alexnet", "vgg11", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn", "vgg19_bn",
    "resnet18", "resnet34", "resnet50", "googlenet", "squeezenet1_1", "densenet121",
    "mobilenet_v2",
]
SIZES = [(224, 224, 1), (72, 88, 2)]  # (height, width, batch)


def make(name, classes):
    kwargs = {"weights": None, "num_classes": classes}
    if name == "googlenet":
        # torchvision's published GoogLeNet file carries the auxiliary heads; keep them so the
        # loader's "ignored with a note" path is exercised. Eval-mode forward returns logits.
        kwargs.update(aux_logits=True, init_weights=True)
    model = getattr(models, name)(**kwargs)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5, generator=g)
                module.running_var.uniform_(0.5, 2.0, generator=g)
                module.weight.uniform_(0.5, 1.5, generator=g)
                module.bias.normal_(0.0, 0.2, generator=g)
    return model.eval()


def write(name, classes, out, half=False):
    torch.manual_seed(0)
    model = make(name, classes)
    if half:
        # Round the weights to float16 so that the float32 reference is computed from exactly
        # the values the float16 file stores.
        with torch.no_grad():
            for t in list(model.parameters()) + list(model.buffers()):
                if t.is_floating_point():
                    t.copy_(t.half().float())
    state = model.state_dict()
    if half:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    torch.save(state, out / f"{name}.pth")
    for h, w, batch in SIZES if not half else SIZES[1:]:
        x = torch.randn(batch, 3, h, w)
        with torch.no_grad():
            y = model(x)
        np.save(out / f"{name}_input_{h}x{w}.npy", x.permute(0, 2, 3, 1).contiguous().numpy())
        np.save(out / f"{name}_logits_{h}x{w}.npy", y.numpy())
    print(name, "written")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(2)
    print("torch", torch.__version__, "torchvision", torchvision.__version__)
    if args.small:
        out = ROOT / "fixtures/torch/zoo"
        out.mkdir(parents=True, exist_ok=True)
        write("squeezenet1_1", 10, out, half=True)
        return
    out = ROOT / "target/torch-zoo"
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or ARCHITECTURES:
        write(name, 1000, out)


if __name__ == "__main__":
    main()
