"""Pins krust's TensorBoard event files to PyTorch's writer: `torch.utils.tensorboard.SummaryWriter`
writes a few scalars (steps 0 and large, negative, zero and fractional values, a non-ASCII tag)
at fixed wall times into fixtures/tensorboard/events.out.tfevents.pytorch, and the events it was
asked to write go to fixtures/tensorboard/scalars.json with the versions used.
crates/train/tests/tensorboard.rs decodes the file and re-encodes every event with krust's writer.

Run with the torch venv (needs `pip install tensorboard`; CI never runs this):
/root/venvs/torch/bin/python tools/make_tensorboard_fixture.py
"""

import json
import pathlib
import platform
import shutil
import tempfile

import google.protobuf
import tensorboard
import torch
from torch.utils.tensorboard import SummaryWriter

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "tensorboard"

# (wall_time, step, tag, value): what krust's callback writes, plus edge cases of the encoding.
EVENTS = [
    (1700000000.25, 0, "epoch_loss", 2.302585),
    (1700000001.5, 0, "epoch_accuracy", 0.0),
    (1700000002.75, 1, "epoch_loss", 0.5),
    (1700000003.125, 127, "batch_loss", -1.25),
    (1700000004.0, 128, "batch_loss", 1e-7),
    (1700000005.5, 300000, "epoch_learning_rate", 0.001),
    (1700000006.0, 2, "épreuve_λ", 3.0e38),
]

with tempfile.TemporaryDirectory() as tmp:
    writer = SummaryWriter(log_dir=tmp)
    for wall_time, step, tag, value in EVENTS:
        writer.add_scalar(tag, value, global_step=step, walltime=wall_time)
    writer.close()
    (written,) = pathlib.Path(tmp).glob("events.out.tfevents.*")
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(written, OUT / "events.out.tfevents.pytorch")

meta = {
    "script": "tools/make_tensorboard_fixture.py",
    "torch": torch.__version__,
    "tensorboard": tensorboard.__version__,
    "protobuf": google.protobuf.__version__,
    "python": platform.python_version(),
    "events": [
        {"wall_time": w, "step": s, "tag": t, "value": v} for w, s, t, v in EVENTS
    ],
}
(OUT / "scalars.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
print("wrote", OUT)
