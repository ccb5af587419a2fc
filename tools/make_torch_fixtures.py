#!/usr/bin/env python3
"""PyTorch weight files for krust-import's state-dict reader (crates/import/tests/torch_files.rs).

One tiny model (Conv2d 3->4 3x3, BatchNorm2d(4) with num_batches_tracked, Linear 4->2) is
saved in every layout krust reads, plus a few tensor dictionaries for strides, views and
integer dtypes. The values every file must load as are stored once, contiguous, as float32
(or int64 for integer tensors) in fixtures/torch/expected.safetensors, under
"<group>/<tensor name>". CI never runs this script; it needs torch and safetensors:

    /root/venvs/torch/bin/python tools/make_torch_fixtures.py

torch.manual_seed(SEED) makes the weights reproducible; the versions used are written to
fixtures/torch/versions.json.
"""

import json
import os
from collections import OrderedDict

import safetensors
import safetensors.torch
import torch
from torch import nn

SEED = 1234
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "torch")


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.mean(dim=(2, 3)))


def contiguous(state):
    """The reference form: every tensor contiguous, float32 or int64."""
    out = {}
    for name, t in state.items():
        t = t.detach().contiguous().clone()
        out[name] = t.to(torch.float32) if t.is_floating_point() else t.to(torch.int64)
    return out


def save(obj, name, **kwargs):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kwargs)
    print(f"{name}: {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(SEED)
    model = Tiny()
    # One training step so the running statistics and num_batches_tracked are not defaults.
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = model(torch.randn(2, 3, 5, 5)).square().mean()
    loss.backward()
    optimizer.step()
    model.eval()
    state = model.state_dict()
    expected = {}

    def expect(group, tensors):
        for name, t in contiguous(tensors).items():
            expected[f"{group}/{name}"] = t

    save(state, "tiny_zip.pt")
    save(state, "tiny_legacy.pt", _use_new_zipfile_serialization=False)
    save(state, "tiny_protocol4.pt", pickle_protocol=4)
    save(
        state, "tiny_legacy_protocol4.pt", _use_new_zipfile_serialization=False, pickle_protocol=4
    )
    safetensors.torch.save_file(contiguous(state), os.path.join(OUT, "tiny.safetensors"))
    expect("tiny", state)

    channels_last = Tiny()
    channels_last.load_state_dict(state)
    channels_last = channels_last.to(memory_format=torch.channels_last)
    cl_state = channels_last.state_dict()
    assert not cl_state["conv.weight"].is_contiguous()
    save(cl_state, "tiny_channels_last.pt")

    for dtype, group in [
        (torch.float16, "float16"),
        (torch.bfloat16, "bfloat16"),
        (torch.float64, "float64"),
    ]:
        converted = Tiny()
        converted.load_state_dict(state)
        converted = converted.to(dtype)
        save(converted.state_dict(), f"tiny_{group}.pt")
        expect(group, converted.state_dict())

    parallel = nn.DataParallel(model)
    checkpoint = {
        "epoch": 3,
        "model_state_dict": parallel.state_dict(),
        "optimizer_state_dict": optimizer.state_dict(),
        "loss": 0.25,
        "best": None,
        "flags": [True, False],
        "name": "tiny",
        "history": {1: 0.5, 2: 0.375},
    }
    assert next(iter(checkpoint["model_state_dict"])).startswith("module.")
    save(checkpoint, "checkpoint_nested.pt")

    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8
    views = OrderedDict(
        base=base,
        row=base[1],  # storage offset 6
        block=base[1:3, 2:5],  # offset 8, strides (6, 1)
        transposed=base.t(),  # strides (1, 6)
        every_other=base[:, ::2],  # strides (6, 2)
    )
    save(views, "views.pt")
    save(views, "views_legacy.pt", _use_new_zipfile_serialization=False)
    expect("views", views)

    ints = OrderedDict(
        int8=torch.tensor([-128, 0, 127], dtype=torch.int8),
        int16=torch.tensor([-32768, 5, 32767], dtype=torch.int16),
        int32=torch.tensor([[-(2**31), 7], [2**31 - 1, 0]], dtype=torch.int32),
        int64=torch.tensor([-(2**62), 2**62], dtype=torch.int64),
        uint8=torch.tensor([0, 200, 255], dtype=torch.uint8),
        bool=torch.tensor([True, False, True]),
    )
    save(ints, "ints.pt")
    mixed = {
        "f16": torch.linspace(-2, 2, 5).to(torch.float16),
        "bf16": torch.linspace(-3, 3, 7).to(torch.bfloat16),
        "f64": torch.linspace(0, 1, 3, dtype=torch.float64),
        "i32": torch.tensor([1, -2, 3], dtype=torch.int32),
        "u8": torch.tensor([9, 250], dtype=torch.uint8),
        "flag": torch.tensor([False, True]),
    }
    safetensors.torch.save_file(mixed, os.path.join(OUT, "dtypes.safetensors"))
    expect("ints", ints)
    expect("dtypes", mixed)

    safetensors.torch.save_file(expected, os.path.join(OUT, "expected.safetensors"))
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(
            {"torch": torch.__version__, "safetensors": safetensors.__version__, "seed": SEED},
            f,
            indent=2,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
