#!/usr/bin/env python3
"""PyTorch peer benchmark: LeNet-5 (or krust's small_cnn, --model small_cnn) on Fashion-MNIST (CPU).

This is the reference point for krust's LeNet benchmark. It runs the same model,
optimiser, batch size and data, timed the same way, so the two can be compared side by
side. CI never runs it.

    /root/venv/bin/python bench/pytorch_lenet.py --epochs 3 --threads 2

The data is read from the gzipped IDX files in /usr/share/datasets/fashion-mnist and
kept in memory as a float32 NCHW tensor (N, 1, 28, 28) scaled to [0, 1]. Each epoch's
time covers only the training loop (time.perf_counter). Test accuracy is evaluated
outside the timed part, in no_grad batches of 1000.
"""

import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
from torch import nn

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    """Read a gzipped IDX file (unsigned-byte data) into a numpy array."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {dims}, got {data.size} bytes")
    return data.reshape(dims)


def load_split(data_dir, prefix):
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1).contiguous()
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def lenet5():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def small_cnn():
    """krust's zoo small_cnn: 3x3 same convs without bias, each followed by batch norm
    (Keras's eps 1e-3 and momentum 0.99, i.e. PyTorch momentum 0.01) and ReLU."""
    def conv_bn_relu(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01), nn.ReLU()]
    return nn.Sequential(
        *conv_bn_relu(1, 32), nn.MaxPool2d(2),
        *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256, bias=False), nn.BatchNorm1d(256, eps=1e-3, momentum=0.01),
        nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(256, 10),
    )


MODELS = {"lenet5": lenet5, "small_cnn": small_cnn}


@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, x.shape[0], batch):
        logits = model(x[i:i + batch])
        correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / x.shape[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--model", choices=sorted(MODELS), default="lenet5")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_train, y_train = load_split(args.data_dir, "train")
    x_test, y_test = load_split(args.data_dir, "t10k")
    n = x_train.shape[0]

    model = MODELS[args.model]()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, "
          f"batch {args.batch_size}, Adam lr {args.lr}, seed {args.seed}", flush=True)

    times, accs = [], []
    for epoch in range(1, args.epochs + 1):
        perm = torch.randperm(n, generator=gen)
        loss_sum = torch.zeros((), dtype=torch.float64)
        steps = 0
        t0 = time.perf_counter()
        for i in range(0, n, args.batch_size):
            idx = perm[i:i + args.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            loss_sum += loss.detach()
            steps += 1
        dt = time.perf_counter() - t0
        acc = evaluate(model, x_test, y_test)
        times.append(dt)
        accs.append(acc)
        print(f"epoch {epoch}: {dt:.2f} s, {n / dt:.0f} images/s, "
              f"train loss {loss_sum.item() / steps:.4f}, test acc {acc * 100:.2f}%",
              flush=True)

    total = sum(times)
    print(f"summary: pytorch {args.model} {args.epochs} epochs, {args.threads} threads, "
          f"{total:.2f} s total train time, mean {total / len(times):.2f} s/epoch, "
          f"{n * len(times) / total:.0f} images/s, final test acc {accs[-1] * 100:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
