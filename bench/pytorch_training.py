"""PyTorch training throughput and peak memory of the benchmark models, the peer of
`krust bench --workload vgg_block|seed_cnn|small_cnn`.

    /root/venvs/torch/bin/python bench/pytorch_training.py --workload vgg_block [--channels-last]
    /root/venvs/torch/bin/python bench/pytorch_training.py --workload seed_cnn [--epochs 1]
    /root/venvs/torch/bin/python bench/pytorch_training.py --workload small_cnn [--epochs 1]

Workloads (float32, CPU, --threads threads, default 2; cross-entropy on logits; batch 64):
  vgg_block  (conv 3x3 same 64 + BN + relu) x2, max pool 2, (conv 3x3 same 128 + BN + relu) x2,
             max pool 2, global average pool, dense 10, on random 32x32x3 images; SGD lr 0.01
             momentum 0.9. --rounds rounds of --steps steps after --warmup untimed steps.
  seed_cnn   conv 32@5x5 relu, max pool 2, conv 64@5x5 relu, max pool 2, flatten, dense 1000
             relu, dense 10 ("valid" convolutions); Adam lr 1e-3; Fashion-MNIST.
  small_cnn  krust's zoo small_cnn (crates/zoo/src/small_cnn.rs), layer for layer: 3x3 same
             convolutions without bias, each followed by batch normalization (Keras's eps 1e-3,
             momentum 0.99) and relu: 32, pool, 64, 64, pool, dropout 0.25, flatten, dense 256
             without bias + BN + relu, dropout 0.5, dense 10; Adam lr 1e-3; Fashion-MNIST.
The Fashion-MNIST workloads train --epochs whole epochs (60,000 images, reshuffled each epoch,
batches gathered from a float32 NCHW tensor in [0, 1], as bench/pytorch_lenet.py does) after
--warmup untimed steps on the first batches; /usr/share/datasets/fashion-mnist comes from
`apt-get install dataset-fashion-mnist`. --limit N trains on the first N images only (a quick
check of the script, not a benchmark).

One line per workload: images/s of the median round or epoch, the median step time, and the
process's peak resident memory (getrusage ru_maxrss), which includes PyTorch itself (about
0.5 GB after import); run one workload per process so that the figure is that workload's.
--channels-last runs the convolutional models in torch.channels_last, which is faster for
some of them on the CPU: measure both and quote the better.
On a busy machine set OMP_WAIT_POLICY=PASSIVE (bench/README.md says why).
"""
import argparse
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch
from torch import nn

from pytorch_lenet import read_idx  # the same IDX reader as the LeNet-5 peer

DATA_DIR = "/usr/share/datasets/fashion-mnist"
BATCH = 64


def fashion_mnist_train(data_dir):
    paths = [os.path.join(data_dir, f"train-{kind}-idx{d}-ubyte.gz")
             for kind, d in (("images", 3), ("labels", 1))]
    for p in paths:
        if not os.path.isfile(p):
            sys.exit(f"error: {p} is missing (apt-get install dataset-fashion-mnist, "
                     f"or give --data-dir)")
    images, labels = (read_idx(p) for p in paths)
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1).contiguous()
    return x, torch.from_numpy(labels.astype(np.int64))


def keras_bn(channels, two_d=True):
    """Batch normalization with Keras's defaults (eps 1e-3, moving-average momentum 0.99)."""
    cls = nn.BatchNorm2d if two_d else nn.BatchNorm1d
    return cls(channels, eps=1e-3, momentum=0.01)


def vgg_block():
    def conv_bn_relu(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1), keras_bn(cout), nn.ReLU()]
    return nn.Sequential(
        *conv_bn_relu(3, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2),
        *conv_bn_relu(64, 128), *conv_bn_relu(128, 128), nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10),
    )


def seed_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 1000), nn.ReLU(),
        nn.Linear(1000, 10),
    )


def small_cnn():
    def conv_bn_relu(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), keras_bn(cout), nn.ReLU()]
    return nn.Sequential(
        *conv_bn_relu(1, 32), nn.MaxPool2d(2),
        *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 256, bias=False), keras_bn(256, two_d=False), nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(256, 10),
    )


WORKLOADS = {
    "vgg_block": (vgg_block, "SGD lr 0.01 momentum 0.9, random 32x32x3 images"),
    "seed_cnn": (seed_cnn, "Adam lr 1e-3, Fashion-MNIST"),
    "small_cnn": (small_cnn, "Adam lr 1e-3, Fashion-MNIST"),
}


def make_step(model, opt, memory_format):
    loss_fn = nn.CrossEntropyLoss()

    def step(xb, yb):
        xb = xb.contiguous(memory_format=memory_format)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return xb.shape[0]
    return step


def timed_steps(step, batches):
    """Runs `step` over `batches`; returns (images, seconds, per-step seconds)."""
    times, images = [], 0
    for xb, yb in batches:
        t = time.perf_counter()
        images += step(xb, yb)
        times.append(time.perf_counter() - t)
    return images, sum(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all",
                    help="one workload per process gives a peak memory of its own")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--epochs", type=int, default=1, help="Fashion-MNIST epochs to time")
    ap.add_argument("--rounds", type=int, default=5, help="vgg_block rounds to time")
    ap.add_argument("--steps", type=int, default=10, help="vgg_block steps per round")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    ap.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    ap.add_argument("--data-dir", default=DATA_DIR)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    for name in ("threads", "epochs", "rounds", "steps"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.warmup < 0 or (args.limit is not None and args.limit < 1):
        ap.error("--warmup must be >= 0 and --limit >= 1")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {BATCH}, "
          f"{'channels_last' if args.channels_last else 'contiguous (NCHW)'}", flush=True)
    names = list(WORKLOADS) if args.workload == "all" else [args.workload]
    fashion = None
    for name in names:
        build, recipe = WORKLOADS[name]
        model = build().to(memory_format=fmt)
        model.train()
        if name == "vgg_block":
            opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        else:
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        step = make_step(model, opt, fmt)
        gen = torch.Generator().manual_seed(args.seed)
        if name == "vgg_block":
            xb = torch.rand(BATCH, 3, 32, 32, generator=gen)
            yb = torch.arange(BATCH) % 10
            timed_steps(step, [(xb, yb)] * args.warmup)
            rounds = [timed_steps(step, [(xb, yb)] * args.steps) for _ in range(args.rounds)]
            what = f"{args.rounds} rounds of {args.steps} steps"
        else:
            if fashion is None:
                fashion = fashion_mnist_train(args.data_dir)
            x, y = fashion
            if args.limit is not None:
                x, y = x[:args.limit], y[:args.limit]
            n = x.shape[0]
            timed_steps(step, [(x[i * BATCH:(i + 1) * BATCH], y[i * BATCH:(i + 1) * BATCH])
                               for i in range(args.warmup)])
            rounds = []
            for _ in range(args.epochs):
                perm = torch.randperm(n, generator=gen)
                batches = ((x[idx], y[idx]) for idx in perm.split(BATCH))
                rounds.append(timed_steps(step, batches))
            what = f"{args.epochs} epoch(s) of {n} images"
        rates = [images / secs for images, secs, _ in rounds]
        step_ms = 1e3 * statistics.median([t for _, _, times in rounds for t in times])
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
        best = max(range(len(rates)), key=rates.__getitem__)
        print(f"{name}: {statistics.median(rates):.0f} img/s median over {what} "
              f"(best {rates[best]:.0f}; {rounds[best][1]:.2f} s per round/epoch), "
              f"median step {step_ms:.2f} ms, peak RSS {rss_mb:.0f} MB; {recipe}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
