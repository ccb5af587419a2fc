#!/usr/bin/env python3
"""Keras peer benchmark: LeNet-5 on Fashion-MNIST (CPU), the same recipe as `krust train`.

Trains Conv2D 6@5x5 same + relu, MaxPooling 2, Conv2D 16@5x5 valid + relu, MaxPooling 2,
Flatten, Dense 120 relu, Dense 84 relu, Dense 10 (logits) with Adam 1e-3, batch 64 and sparse
categorical cross-entropy from logits, shuffled every epoch, data in memory scaled to [0, 1].
Prints each epoch's training time and the test accuracy after it. CI never runs it.

    /root/venv/bin/python bench/keras_lenet.py --epochs 3 --threads 2 --seed 0
"""

import argparse
import gzip
import os
import struct
import time

import numpy as np

DATA_DIR = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(prefix):
    x = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return (x.astype(np.float32) / 255.0)[..., None], y.astype(np.int64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import keras

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = load_split("train"), load_split("t10k")
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(6, 5, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(16, 5, activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(120, activation="relu"),
        keras.layers.Dense(84, activation="relu"),
        keras.layers.Dense(10),
    ])
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    print(f"keras {keras.__version__}, tensorflow {tf.__version__}, threads {args.threads}, seed {args.seed}")
    for epoch in range(args.epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=64, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        _, acc = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        print(f"epoch {epoch + 1}: {seconds:.2f} s, {len(x_train) / seconds:.0f} images/s, test acc {100 * acc:.2f}%")


if __name__ == "__main__":
    main()
