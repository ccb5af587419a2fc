#!/usr/bin/env python3
"""PyTorch peer for `krust bench`'s depthwise lines: MobileNet v2's 3x3 depthwise convolutions.

Times the same layers krust benchmarks (3x3, multiplier 1, with bias, batch 16,
channels_last float32 on the CPU) the same way: best of 5 after one warm-up call; "forward"
is the forward pass alone (no_grad), "backward" is forward + backward (input, kernel and bias
gradients) less the forward. CI never runs it.

    /root/venvs/torch/bin/python bench/pytorch_depthwise.py --threads 2

PyTorch pads "same" symmetrically (padding=1); for stride 2 on an even size Keras pads 0/1
instead, which gives the same output size and the same work.
"""

import argparse
import time

import torch
from torch import nn

CASES = [  # (batch, size, channels, stride)
    (16, 112, 96, 2),
    (16, 56, 144, 1),
]


def best_of(reps, f):
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for n, size, c, stride in CASES:
        conv = nn.Conv2d(c, c, 3, stride=stride, padding=1, groups=c, bias=True)
        conv = conv.to(memory_format=torch.channels_last)
        x = torch.randn(n, c, size, size).to(memory_format=torch.channels_last)
        x.requires_grad_(True)
        with torch.no_grad():
            dy = torch.randn_like(conv(x))

        def forward():
            with torch.no_grad():
                conv(x)

        def both():
            conv.zero_grad(set_to_none=True)
            x.grad = None
            conv(x).backward(dy)

        fwd = best_of(5, forward)
        bwd = max(best_of(5, both) - fwd, 0.0)
        label = f"depthwise 3x3/{stride} on {n}x{size}x{size}x{c}"
        print(f"{label + ' forward':<44}{fwd * 1e3:>10.2f}ms")
        print(f"{label + ' backward':<44}{bwd * 1e3:>10.2f}ms")


if __name__ == "__main__":
    main()
