#!/usr/bin/env python3
"""Generate reference fixtures for krust's numeric tests, computed with PyTorch.

What it does
------------
For a fixed list of small cases (convolution, max/avg pooling, dense,
softmax cross-entropy) this script draws random inputs and weights with
fixed seeds, computes the forward output ``y`` with PyTorch in float64,
draws an upstream gradient ``dy`` of ``y``'s shape and uses autograd to
compute the gradients of ``sum(y * dy)`` with respect to the input (``dx``)
and, where the op has them, the weights (``dw``) and bias (``db``).  Every
array is written as a float32 (labels: int64) little-endian ``.npy`` file into
``fixtures/<case>/``; ``fixtures/meta.json`` records each case's op,
parameters, shapes and seed, plus the torch and numpy versions.

Conventions (they follow krust, i.e. Keras / TensorFlow):

* activations are channels-last: NHWC; converted to torch's NCHW with permute;
* Conv2D kernels are (kh, kw, in, out); torch wants (out, in, kh, kw);
* Dense kernels are (in, out) and y = x @ w + b;
* ``padding="same"`` is TensorFlow's: for each spatial dim
  out = ceil(in / stride),
  total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0),
  top/left = total // 2, bottom/right = total - top (the extra pad goes to
  the bottom/right).  It is implemented explicitly with ``F.pad`` followed by
  an op with padding=0;
* ``padding="valid"`` means no padding;
* max pooling "same" pads with -inf (padding never wins);
* average pooling "same" excludes padded cells from the divisor: the result is
  sum-pool(zero-padded x) / sum-pool(zero-padded ones).

The output is deterministic: rerunning the script rewrites byte-identical
files (given the same torch/numpy versions).

Rerun with::

    /root/venv/bin/python tools/make_fixtures.py

CI never runs this script; it only reads the committed files in fixtures/.
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "fixtures")
BASE_SEED = 0
WEIGHT_SCALE = 0.3
DTYPE = torch.float64


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def randn(*shape, scale=1.0):
    """N(0, scale^2) sample, rounded to float32 and returned as float64.

    Rounding first means the float64 reference is computed on exactly the
    float32 values that are stored in the .npy files.
    """
    return (torch.randn(*shape, dtype=DTYPE) * scale).to(torch.float32).to(DTYPE)


def nhwc_to_nchw(x):
    return x.permute(0, 3, 1, 2)


def nchw_to_nhwc(x):
    return x.permute(0, 2, 3, 1)


def kernel_to_torch(w):
    """(kh, kw, in, out) -> (out, in, kh, kw)"""
    return w.permute(3, 2, 0, 1)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def tf_same_pads(size, k, stride, dilation=1):
    """TensorFlow 'same' padding for one spatial dim -> (before, after, out)."""
    out = math.ceil(size / stride)
    eff_k = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff_k - size, 0)
    before = total // 2
    return before, total - before, out


def valid_out(size, k, stride, dilation=1):
    return (size - (k - 1) * dilation - 1) // stride + 1


def pad_nchw(x, hw_size, k, stride, dilation, padding, value=0.0):
    """Pad an NCHW tensor according to `padding`; returns (padded, pads)."""
    if padding == "valid":
        return x, (0, 0, 0, 0)
    assert padding == "same"
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(stride), pair(dilation)
    top, bottom, _ = tf_same_pads(hw_size[0], kh, sh, dh)
    left, right, _ = tf_same_pads(hw_size[1], kw, sw, dw)
    # F.pad order for the last two dims: (left, right, top, bottom)
    return F.pad(x, (left, right, top, bottom), value=value), (top, bottom, left, right)


def expected_out_hw(hw, k, stride, dilation, padding):
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(stride), pair(dilation)
    if padding == "same":
        return (math.ceil(hw[0] / sh), math.ceil(hw[1] / sw))
    return (valid_out(hw[0], kh, sh, dh), valid_out(hw[1], kw, sw, dw))


# ---------------------------------------------------------------------------
# ops (NHWC in, NHWC out, float64, differentiable)
# ---------------------------------------------------------------------------

def conv2d_nhwc(x, w, b, stride, padding, dilation):
    kh, kw = w.shape[0], w.shape[1]
    xc = nhwc_to_nchw(x)
    xp, _ = pad_nchw(xc, x.shape[1:3], (kh, kw), stride, dilation, padding)
    y = F.conv2d(xp, kernel_to_torch(w), b, stride=pair(stride), padding=0,
                 dilation=pair(dilation))
    return nchw_to_nhwc(y)


def maxpool_nhwc(x, pool, stride, padding):
    xc = nhwc_to_nchw(x)
    xp, _ = pad_nchw(xc, x.shape[1:3], pool, stride, 1, padding, value=-math.inf)
    y = F.max_pool2d(xp, pair(pool), pair(stride), padding=0)
    return nchw_to_nhwc(y)


def avgpool_nhwc(x, pool, stride, padding):
    """Average pooling; 'same' excludes padded cells from the divisor."""
    k, s = pair(pool), pair(stride)
    xc = nhwc_to_nchw(x)
    xp, _ = pad_nchw(xc, x.shape[1:3], pool, stride, 1, padding, value=0.0)
    ones = torch.ones_like(xc[:1, :1])
    onesp, _ = pad_nchw(ones, x.shape[1:3], pool, stride, 1, padding, value=0.0)
    sums = F.avg_pool2d(xp, k, s, padding=0, divisor_override=1)
    counts = F.avg_pool2d(onesp, k, s, padding=0, divisor_override=1)
    assert torch.all(counts > 0)
    return nchw_to_nhwc(sums / counts)


# ---------------------------------------------------------------------------
# case runners
# ---------------------------------------------------------------------------

def save(case_dir, name, arr, dtype=np.float32):
    # np.array (not np.ascontiguousarray) keeps 0-d arrays 0-d
    arr = np.array(arr, dtype=np.dtype(dtype).newbyteorder("<"), order="C", copy=True)
    np.save(os.path.join(case_dir, name + ".npy"), arr, allow_pickle=False)
    return list(arr.shape)


def grads_of(y, inputs):
    """Draw dy ~ N(0,1) of y's shape; return dy and d sum(y*dy) / d inputs."""
    dy = randn(*y.shape)
    gs = torch.autograd.grad((y * dy).sum(), inputs)
    return dy, gs


def run_conv(case_dir, seed, x_shape, w_shape, stride, padding, dilation):
    torch.manual_seed(seed)
    x = randn(*x_shape).requires_grad_(True)
    w = randn(*w_shape, scale=WEIGHT_SCALE).requires_grad_(True)
    b = randn(w_shape[3], scale=WEIGHT_SCALE).requires_grad_(True)
    y = conv2d_nhwc(x, w, b, stride, padding, dilation)
    oh, ow = expected_out_hw(x_shape[1:3], w_shape[:2], stride, dilation, padding)
    assert tuple(y.shape) == (x_shape[0], oh, ow, w_shape[3]), y.shape
    dy, (dx, dw, db) = grads_of(y, (x, w, b))
    shapes = {}
    for name, t in [("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy),
                    ("dx", dx), ("dw", dw), ("db", db)]:
        shapes[name] = save(case_dir, name, t.detach().numpy())
    if padding == "valid":
        # sanity: explicit computation == torch's own conv with its padding=0
        ref = F.conv2d(nhwc_to_nchw(x), kernel_to_torch(w), b, stride=stride,
                       padding=0, dilation=dilation)
        assert torch.allclose(nchw_to_nhwc(ref), y, rtol=0, atol=1e-12)
    if padding == "same" and stride == 1:
        # torch's own padding="same" (stride 1 only) pads the extra on the
        # right/bottom too, so it must agree with the TF rule.
        ref = F.conv2d(nhwc_to_nchw(x), kernel_to_torch(w), b, padding="same",
                       dilation=dilation)
        assert torch.allclose(nchw_to_nhwc(ref), y, rtol=0, atol=1e-12)
    return {"op": "conv2d", "padding": padding, "strides": list(pair(stride)),
            "dilation": list(pair(dilation)), "kernel_size": list(w_shape[:2]),
            "filters": w_shape[3], "use_bias": True, "shapes": shapes}


def run_maxpool(case_dir, seed, x_shape, pool, stride, padding):
    torch.manual_seed(seed)
    x = randn(*x_shape).requires_grad_(True)
    y = maxpool_nhwc(x, pool, stride, padding)
    oh, ow = expected_out_hw(x_shape[1:3], pool, stride, 1, padding)
    assert tuple(y.shape) == (x_shape[0], oh, ow, x_shape[3]), y.shape
    assert torch.isfinite(y).all()
    dy, (dx,) = grads_of(y, (x,))
    if padding == "valid":
        ref = F.max_pool2d(nhwc_to_nchw(x), pool, stride)
        assert torch.equal(nchw_to_nhwc(ref), y)
    shapes = {}
    for name, t in [("x", x), ("y", y), ("dy", dy), ("dx", dx)]:
        shapes[name] = save(case_dir, name, t.detach().numpy())
    return {"op": "max_pool2d", "padding": padding, "pool_size": list(pair(pool)),
            "strides": list(pair(stride)), "shapes": shapes}


def run_avgpool(case_dir, seed, x_shape, pool, stride, padding):
    torch.manual_seed(seed)
    x = randn(*x_shape).requires_grad_(True)
    y = avgpool_nhwc(x, pool, stride, padding)
    oh, ow = expected_out_hw(x_shape[1:3], pool, stride, 1, padding)
    assert tuple(y.shape) == (x_shape[0], oh, ow, x_shape[3]), y.shape
    dy, (dx,) = grads_of(y, (x,))
    if padding == "valid":
        ref = F.avg_pool2d(nhwc_to_nchw(x), pool, stride)
        assert torch.allclose(nchw_to_nhwc(ref), y, rtol=0, atol=1e-12)
    shapes = {}
    for name, t in [("x", x), ("y", y), ("dy", dy), ("dx", dx)]:
        shapes[name] = save(case_dir, name, t.detach().numpy())
    return {"op": "avg_pool2d", "padding": padding, "pool_size": list(pair(pool)),
            "strides": list(pair(stride)),
            "same_padding_divisor": "count of real (unpadded) cells in the window",
            "shapes": shapes}


def run_dense(case_dir, seed, x_shape, units):
    torch.manual_seed(seed)
    x = randn(*x_shape).requires_grad_(True)
    w = randn(x_shape[1], units, scale=WEIGHT_SCALE).requires_grad_(True)
    b = randn(units, scale=WEIGHT_SCALE).requires_grad_(True)
    y = x @ w + b
    ref = F.linear(x, w.t(), b)
    assert torch.allclose(ref, y, rtol=0, atol=1e-12)
    dy, (dx, dw, db) = grads_of(y, (x, w, b))
    shapes = {}
    for name, t in [("x", x), ("w", w), ("b", b), ("y", y), ("dy", dy),
                    ("dx", dx), ("dw", dw), ("db", db)]:
        shapes[name] = save(case_dir, name, t.detach().numpy())
    return {"op": "dense", "units": units, "use_bias": True,
            "formula": "y = x @ w + b, w is (in, out)", "shapes": shapes}


def run_softmax_ce(case_dir, seed, batch, classes):
    torch.manual_seed(seed)
    x = randn(batch, classes, scale=2.0)
    # one row with large logits (around +-50) to test numerical stability
    x[batch - 1] = torch.tensor([50.0, -50.0, 49.0, -48.5, 47.25][:classes]
                                + [0.0] * max(classes - 5, 0), dtype=DTYPE)
    x = x.requires_grad_(True)  # all values are exactly representable in f32
    labels = torch.randint(0, classes, (batch,), dtype=torch.int64)
    labels[batch - 1] = 2  # not the argmax of the large row: non-trivial loss
    loss = -(F.log_softmax(x, dim=1)[torch.arange(batch), labels]).mean()
    ref = F.cross_entropy(x, labels)
    assert torch.allclose(ref, loss, rtol=0, atol=1e-12)
    assert torch.isfinite(loss)
    (dx,) = torch.autograd.grad(loss, (x,))
    shapes = {
        "x": save(case_dir, "x", x.detach().numpy()),
        "labels": save(case_dir, "labels", labels.numpy(), dtype=np.int64),
        "loss": save(case_dir, "loss", np.array(loss.item())),
        "dx": save(case_dir, "dx", dx.numpy()),
    }
    return {"op": "softmax_cross_entropy", "reduction": "mean over batch",
            "formula": "loss = mean_i(-log_softmax(x)[i, labels[i]]); dx = dloss/dx",
            "large_logit_row": batch - 1, "shapes": shapes}


# ---------------------------------------------------------------------------
# case list: (name, seed, runner, kwargs)
# ---------------------------------------------------------------------------

CASES = [
    ("conv2d_valid", 101, run_conv,
     dict(x_shape=(2, 7, 6, 3), w_shape=(3, 3, 3, 4), stride=1, padding="valid", dilation=1)),
    ("conv2d_same_stride2", 102, run_conv,
     dict(x_shape=(2, 8, 7, 3), w_shape=(3, 3, 3, 4), stride=2, padding="same", dilation=1)),
    ("conv2d_same_stride2_k4", 103, run_conv,
     dict(x_shape=(1, 9, 8, 2), w_shape=(4, 4, 2, 3), stride=2, padding="same", dilation=1)),
    ("conv2d_dilation2", 104, run_conv,
     dict(x_shape=(2, 9, 9, 2), w_shape=(3, 3, 2, 3), stride=1, padding="valid", dilation=2)),
    # same seed as conv2d_dilation2 -> identical x, w, b; only padding differs
    ("conv2d_dilation2_same", 104, run_conv,
     dict(x_shape=(2, 9, 9, 2), w_shape=(3, 3, 2, 3), stride=1, padding="same", dilation=2)),
    ("maxpool_same_stride2", 201, run_maxpool,
     dict(x_shape=(2, 7, 7, 3), pool=3, stride=2, padding="same")),
    ("maxpool_valid_pool2", 202, run_maxpool,
     dict(x_shape=(2, 6, 5, 2), pool=2, stride=2, padding="valid")),
    ("maxpool_valid_pool3_stride2", 203, run_maxpool,
     dict(x_shape=(1, 7, 8, 2), pool=3, stride=2, padding="valid")),
    ("avgpool_same_stride2", 301, run_avgpool,
     dict(x_shape=(2, 7, 7, 3), pool=3, stride=2, padding="same")),
    ("avgpool_same_pool2_stride1", 302, run_avgpool,
     dict(x_shape=(1, 5, 6, 2), pool=2, stride=1, padding="same")),
    ("avgpool_valid_pool3_stride2", 303, run_avgpool,
     dict(x_shape=(1, 7, 8, 2), pool=3, stride=2, padding="valid")),
    ("dense", 401, run_dense, dict(x_shape=(4, 5), units=3)),
    ("softmax_cross_entropy", 501, run_softmax_ce, dict(batch=6, classes=5)),
]


def main():
    torch.manual_seed(BASE_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    meta = {
        "generator": "tools/make_fixtures.py",
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "base_seed": BASE_SEED,
        "weight_scale": WEIGHT_SCALE,
        "compute_dtype": "float64",
        "stored_dtype": "float32 little-endian (labels: int64)",
        "layout": "NHWC activations; conv kernel (kh, kw, in, out); dense kernel (in, out)",
        "gradients": "dx/dw/db are gradients of sum(y * dy); softmax_cross_entropy: of loss",
        "cases": {},
    }
    for name, seed, runner, kwargs in CASES:
        case_dir = os.path.join(OUT_DIR, name)
        if os.path.isdir(case_dir):
            shutil.rmtree(case_dir)
        os.makedirs(case_dir)
        info = runner(case_dir, seed, **kwargs)
        info["seed"] = seed
        meta["cases"][name] = info
        print(f"{name}: " + ", ".join(f"{k}{tuple(v)}" for k, v in info["shapes"].items()))
    with open(os.path.join(OUT_DIR, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
