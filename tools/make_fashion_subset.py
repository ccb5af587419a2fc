#!/usr/bin/env python3
"""Make the small stratified Fashion-MNIST subset shipped in data/fashion-mnist-subset/.

Source: the Debian package dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist),
upstream https://github.com/zalandoresearch/fashion-mnist (MIT/Expat, Copyright 2017 Zalando SE).

Takes exactly TRAIN_PER_CLASS images of each of the 10 classes from the training files and
TEST_PER_CLASS from the t10k files, chosen and then shuffled with random.Random(SEED), and
writes them as gzipped IDX files with the standard names. gzip uses compresslevel 9 and
mtime=0 so that rerunning the script gives byte-identical files.

Python 3 standard library only. Usage:
    python3 tools/make_fashion_subset.py [SOURCE_DIR] [OUTPUT_DIR]
"""

import gzip
import os
import random
import struct
import sys

SEED = 2026
NUM_CLASSES = 10
TRAIN_PER_CLASS = 1000
TEST_PER_CLASS = 200
DEFAULT_SOURCE = "/usr/share/datasets/fashion-mnist"
DEFAULT_OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "fashion-mnist-subset")

UNSIGNED_BYTE = 0x08


def read_idx(path):
    """Return (dims, data bytes) of an unsigned-byte IDX file, gzipped or not."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero0, zero1, type_code, rank = raw[0], raw[1], raw[2], raw[3]
    if zero0 != 0 or zero1 != 0 or type_code != UNSIGNED_BYTE:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * rank, raw[4 : 4 + 4 * rank])
    data = raw[4 + 4 * rank :]
    expected = 1
    for d in dims:
        expected *= d
    if len(data) != expected:
        raise ValueError(f"{path}: expected {expected} data bytes, found {len(data)}")
    return list(dims), data


def write_idx_gz(path, dims, data):
    header = bytes([0, 0, UNSIGNED_BYTE, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    # Write through GzipFile with filename="" and mtime=0 so the gzip header holds no
    # timestamp or name: reruns are byte-identical.
    with open(path, "wb") as raw_file:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw_file, mtime=0) as gz:
            gz.write(header)
            gz.write(data)


def make_split(source_dir, output_dir, prefix, per_class, rng):
    image_dims, images = read_idx(os.path.join(source_dir, f"{prefix}-images-idx3-ubyte.gz"))
    label_dims, labels = read_idx(os.path.join(source_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    count, height, width = image_dims
    if label_dims != [count]:
        raise ValueError(f"{prefix}: {count} images but labels have dims {label_dims}")
    image_size = height * width

    by_class = [[] for _ in range(NUM_CLASSES)]
    for index, label in enumerate(labels):
        by_class[label].append(index)

    chosen = []
    for class_id, indices in enumerate(by_class):
        if len(indices) < per_class:
            raise ValueError(f"{prefix}: class {class_id} has only {len(indices)} images")
        chosen.extend(rng.sample(indices, per_class))
    rng.shuffle(chosen)

    subset_images = b"".join(images[i * image_size : (i + 1) * image_size] for i in chosen)
    subset_labels = bytes(labels[i] for i in chosen)
    write_idx_gz(
        os.path.join(output_dir, f"{prefix}-images-idx3-ubyte.gz"),
        [len(chosen), height, width],
        subset_images,
    )
    write_idx_gz(os.path.join(output_dir, f"{prefix}-labels-idx1-ubyte.gz"), [len(chosen)], subset_labels)
    print(f"{prefix}: {len(chosen)} images ({per_class} per class), {height}x{width}")


def main():
    source_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_SOURCE
    output_dir = os.path.normpath(sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUTPUT)
    os.makedirs(output_dir, exist_ok=True)
    # One generator for both splits, train first, so the whole output depends on SEED alone.
    rng = random.Random(SEED)
    make_split(source_dir, output_dir, "train", TRAIN_PER_CLASS, rng)
    make_split(source_dir, output_dir, "t10k", TEST_PER_CLASS, rng)
    print(f"wrote {output_dir}")


if __name__ == "__main__":
    main()
