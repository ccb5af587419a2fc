#!/usr/bin/env python3
"""Reference values and gradients of every Keras 3 activation and loss that krust implements.

What it makes
-------------
``fixtures/keras/activations_losses/``:

* ``meta.json``: the versions used, the seed, and every case with its Keras call, its
  arguments, the dtype Keras computed in and the shapes of its arrays;
* ``grid.npy`` / ``grid_dy.npy``: the activation inputs (-10..10 in steps of 0.25, which
  hits every kink of relu/relu6/hard_sigmoid, plus off-grid points and |x| up to 1e4 for the
  stability checks) and an upstream gradient drawn from N(0, 1); ``grid_exp.npy`` /
  ``grid_exp_dy.npy`` are the same for ``exponential``, cut at |x| <= 80 (Keras's own e^x
  overflows float32 beyond 88);
* ``act_<case>/y.npy`` and ``act_<case>/dx.npy``: the activation's output on its grid and the
  gradient of sum(y * dy) w.r.t. x (tf.GradientTape); softmax and log-softmax cases, which
  mix a whole axis, have their own ``x.npy`` and ``dy.npy`` of shape (3, 4, 5);
* ``loss_<case>/``: ``y_pred.npy``, ``y_true.npy`` (or ``labels.npy``, int64, for the sparse
  losses), ``per_sample.npy`` (the loss with reduction=None), ``loss.npy`` (0-d, the default
  reduction "sum_over_batch_size") and ``grad.npy`` (d loss / d y_pred, tf.GradientTape).

Every input is drawn (seeded) in float32 and every Keras computation runs in float64 (the
activations on float64 tensors, the losses with ``dtype="float64"``), so the references are
the exact values of Keras's formulas at krust's float32 inputs; the results are stored as
float32. The exception is the ``*_saturated`` loss cases, whose probabilities sit on or
beyond the clip bounds: Keras clips to [1e-7, 1 - 1e-7] in the loss's dtype, and in float32
(what Keras runs) the upper bound is 0.99999988, not float64's 0.9999999, so those cases are
computed in float32 as Keras computes them in practice.

Versions: tensorflow 2.21, keras 3.15, numpy 2 (the exact strings are written to meta.json).
Seed: 0. The output is deterministic for the same versions.

CI never runs this script; the tests only read the committed files. To regenerate::

    /root/venv/bin/python tools/make_keras_activation_loss_fixtures.py
"""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "fixtures", "keras", "activations_losses")
SEED = 0


def f32(a):
    return np.asarray(a, dtype=np.float32)


def save(case_dir, name, array, dtype=np.float32):
    os.makedirs(case_dir, exist_ok=True)
    # np.ascontiguousarray would turn a 0-d loss into shape (1,).
    np.save(os.path.join(case_dir, name + ".npy"), np.array(array, dtype=dtype, order="C"))


# ---------------------------------------------------------------------------
# Activations

def activation_grid():
    regular = np.arange(-40, 41) * 0.25  # -10 .. 10, step 0.25: 0, ±3, ±6 are kinks
    extra = [1e-6, 1e-3, 0.1, 0.37, 1.7, 2.9, 3.1, 5.9, 6.1, 7.3, 12.5, 20, 30, 50, 100, 1e3, 1e4]
    x = np.concatenate([regular, extra, -np.asarray(extra)])
    return np.unique(f32(x))


def exponential_grid():
    return np.unique(f32(np.concatenate([np.arange(-40, 41) * 0.25, [-80, -50, -20, 20, 50, 80]])))


# name -> (keras function, keyword arguments, grid); krust's Activation per case is chosen by the
# test from `activation` and `params` in meta.json.
ELEMENTWISE = [
    ("sigmoid", "sigmoid", {}),
    ("tanh", "tanh", {}),
    ("relu", "relu", {}),
    ("relu_negative_slope", "relu", {"negative_slope": 0.1}),
    ("relu_max_value_6", "relu", {"max_value": 6.0}),
    ("relu_max_value", "relu", {"max_value": 4.5}),
    ("relu_threshold", "relu", {"threshold": 2.0}),
    ("relu_all_arguments", "relu", {"negative_slope": 0.3, "max_value": 5.0, "threshold": 1.5}),
    ("relu_negative_threshold", "relu", {"negative_slope": 0.2, "threshold": -1.0}),
    ("relu_negative_threshold_max", "relu", {"negative_slope": 0.5, "max_value": 3.0, "threshold": -2.0}),
    ("relu6", "relu6", {}),
    ("leaky_relu", "leaky_relu", {}),
    ("leaky_relu_slope", "leaky_relu", {"negative_slope": 0.01}),
    ("elu", "elu", {}),
    ("elu_alpha", "elu", {"alpha": 0.5}),
    ("selu", "selu", {}),
    ("gelu", "gelu", {}),
    ("gelu_approximate", "gelu", {"approximate": True}),
    ("silu", "silu", {}),
    ("softplus", "softplus", {}),
    ("softsign", "softsign", {}),
    ("hard_sigmoid", "hard_sigmoid", {}),
    ("hard_silu", "hard_silu", {}),
    ("exponential", "exponential", {}),
    ("linear", "linear", {}),
]

AXIS_CASES = [
    ("softmax_last_axis", "softmax", -1),
    ("softmax_middle_axis", "softmax", 1),
    ("softmax_first_axis", "softmax", 0),
    ("log_softmax_last_axis", "log_softmax", -1),
    ("log_softmax_first_axis", "log_softmax", 0),
]


def activation_and_gradient(fn, x, dy, kwargs):
    xv = tf.Variable(x.astype(np.float64))
    with tf.GradientTape() as tape:
        y = fn(xv, **kwargs)
        s = tf.reduce_sum(y * dy.astype(np.float64))
    dx = tape.gradient(s, xv)
    return y.numpy(), dx.numpy()


def make_activations(rng, meta):
    grids = {"grid": activation_grid(), "grid_exp": exponential_grid()}
    for name, x in grids.items():
        save(OUT_DIR, name, x)
        save(OUT_DIR, name + "_dy", f32(rng.standard_normal(x.shape)))
    dys = {name: np.load(os.path.join(OUT_DIR, name + "_dy.npy")) for name in grids}
    cases = {}
    for case, activation, kwargs in ELEMENTWISE:
        grid = "grid_exp" if activation == "exponential" else "grid"
        fn = getattr(keras.activations, activation)
        y, dx = activation_and_gradient(fn, grids[grid], dys[grid], kwargs)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx)), case
        case_dir = os.path.join(OUT_DIR, "act_" + case)
        save(case_dir, "y", y)
        save(case_dir, "dx", dx)
        cases[case] = {"activation": activation, "params": kwargs, "grid": grid,
                       "dtype": "float64"}

    # A (3, 4, 5) input whose lanes include huge and equal values.
    x = f32(rng.standard_normal((3, 4, 5)) * 3.0)
    x[0, 0, :] = [1e4, -1e4, 0.0, 1e3, -50.0]
    x[1, 2, :] = [1e4, 1e4, 1e4, 1e4, 1e4]
    x[2, :, 3] = [-1e4, 80.0, 1e4, -3.0]
    dy = f32(rng.standard_normal(x.shape))
    for case, activation, axis in AXIS_CASES:
        fn = getattr(keras.activations, activation)
        y, dx = activation_and_gradient(fn, x, dy, {"axis": axis})
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx)), case
        case_dir = os.path.join(OUT_DIR, "act_" + case)
        for name, a in [("x", x), ("dy", dy), ("y", y), ("dx", dx)]:
            save(case_dir, name, a)
        cases[case] = {"activation": activation, "params": {"axis": axis}, "grid": None,
                       "dtype": "float64", "shape": list(x.shape)}
    meta["activations"] = cases


# ---------------------------------------------------------------------------
# Losses

def one_hot(labels, classes):
    return np.eye(classes, dtype=np.float32)[labels]


def loss_cases(rng):
    """(case, Keras class, arguments, y_true or int labels, y_pred, dtype)."""
    u = lambda lo, hi, shape: f32(rng.uniform(lo, hi, shape))  # noqa: E731
    n = lambda shape, scale=1.0: f32(rng.standard_normal(shape) * scale)  # noqa: E731
    binary = lambda shape: f32(rng.integers(0, 2, shape))  # noqa: E731
    labels = lambda rows, classes: rng.integers(0, classes, rows).astype(np.int64)  # noqa: E731

    cases = []
    add = lambda *c: cases.append(c)  # noqa: E731

    y_bin = binary((4, 3))
    y_bin[3] = [0.25, 0.5, 0.9]  # soft labels are allowed
    add("binary_crossentropy", "BinaryCrossentropy", {}, y_bin, u(0.02, 0.98, (4, 3)), "float64")
    logits = n((4, 3), 3.0)
    logits[0] = [0.0, 20.0, -20.0]
    add("binary_crossentropy_from_logits", "BinaryCrossentropy", {"from_logits": True},
        y_bin, logits, "float64")
    add("binary_crossentropy_label_smoothing", "BinaryCrossentropy", {"label_smoothing": 0.1},
        binary((4, 3)), u(0.02, 0.98, (4, 3)), "float64")
    add("binary_crossentropy_from_logits_label_smoothing", "BinaryCrossentropy",
        {"from_logits": True, "label_smoothing": 0.2}, binary((4, 3)), n((4, 3), 3.0), "float64")
    add("binary_crossentropy_rank3", "BinaryCrossentropy", {}, binary((2, 3, 4)),
        u(0.02, 0.98, (2, 3, 4)), "float64")
    add("binary_crossentropy_saturated", "BinaryCrossentropy", {},
        f32([[1, 0, 1, 0], [0, 1, 1, 0]]),
        f32([[0.0, 1.0, 1.0, 0.0], [1e-9, 0.999999999, 0.5, 0.3]]), "float32")

    y_cat = one_hot(labels(4, 5), 5)
    y_cat[3] = [0.1, 0.2, 0.3, 0.4, 0.0]  # soft labels
    # Rows that do not sum to 1: Keras renormalizes them first.
    add("categorical_crossentropy", "CategoricalCrossentropy", {}, y_cat, u(0.05, 1.0, (4, 5)),
        "float64")
    cat_logits = n((4, 5), 3.0)
    cat_logits[0] = [50.0, -50.0, 0.0, 10.0, -10.0]
    add("categorical_crossentropy_from_logits", "CategoricalCrossentropy", {"from_logits": True},
        y_cat, cat_logits, "float64")
    add("categorical_crossentropy_label_smoothing", "CategoricalCrossentropy",
        {"label_smoothing": 0.1}, one_hot(labels(4, 5), 5), u(0.05, 1.0, (4, 5)), "float64")
    add("categorical_crossentropy_from_logits_label_smoothing", "CategoricalCrossentropy",
        {"from_logits": True, "label_smoothing": 0.2}, one_hot(labels(4, 5), 5), n((4, 5), 3.0),
        "float64")
    add("categorical_crossentropy_saturated", "CategoricalCrossentropy", {},
        one_hot(np.array([0, 1, 2]), 3),
        f32([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.8, 0.0]]), "float32")

    add("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", {}, labels(4, 5),
        u(0.05, 1.0, (4, 5)), "float64")
    add("sparse_categorical_crossentropy_from_logits", "SparseCategoricalCrossentropy",
        {"from_logits": True}, labels(4, 5), cat_logits, "float64")
    add("sparse_categorical_crossentropy_from_logits_rank3", "SparseCategoricalCrossentropy",
        {"from_logits": True}, labels(6, 5).reshape(2, 3), n((2, 3, 5), 2.0), "float64")
    add("sparse_categorical_crossentropy_saturated", "SparseCategoricalCrossentropy", {},
        np.array([0, 1, 2], dtype=np.int64),
        f32([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.8, 0.0]]), "float32")

    add("mean_squared_error", "MeanSquaredError", {}, n((2, 3, 4)), n((2, 3, 4)), "float64")
    add("mean_absolute_error", "MeanAbsoluteError", {}, n((4, 5)), n((4, 5)), "float64")
    y_mape = n((4, 5), 2.0)
    y_mape[0, 0] = 0.0  # divided by epsilon instead
    add("mean_absolute_percentage_error", "MeanAbsolutePercentageError", {}, y_mape, n((4, 5)),
        "float64")
    y_msle, p_msle = u(-0.5, 3.0, (4, 5)), u(-0.5, 3.0, (4, 5))
    p_msle[0, :2] = [1e-3, 2e-4]
    add("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", {}, y_msle, p_msle,
        "float64")
    add("huber", "Huber", {}, n((4, 5)), n((4, 5), 2.0), "float64")
    add("huber_delta", "Huber", {"delta": 0.5}, n((4, 5)), n((4, 5), 2.0), "float64")
    y_lc, p_lc = n((4, 5)), n((4, 5), 2.0)
    p_lc[0] = y_lc[0] + f32([1e-4, -1e-3, 30.0, -30.0, 0.5])
    add("log_cosh", "LogCosh", {}, y_lc, p_lc, "float64")

    add("hinge_binary_labels", "Hinge", {}, binary((4, 5)), n((4, 5)), "float64")
    add("hinge_signed_labels", "Hinge", {}, binary((4, 5)) * 2 - 1, n((4, 5)), "float64")
    y_soft = binary((4, 5))
    y_soft[0, 0] = 0.5  # not all 0/1: Keras leaves every label unconverted
    add("hinge_unconverted_labels", "Hinge", {}, y_soft, n((4, 5)), "float64")
    add("squared_hinge", "SquaredHinge", {}, binary((4, 5)), n((4, 5)), "float64")
    add("categorical_hinge", "CategoricalHinge", {}, one_hot(labels(4, 5), 5), n((4, 5)),
        "float64")
    p_neg = n((4, 5))
    p_neg[0] = [-1.0, -2.0, -0.5, -3.0, -0.25]  # every other score < 0: the max is the true 0
    add("categorical_hinge_negative_scores", "CategoricalHinge", {},
        one_hot(np.array([1, 0, 2, 3]), 5), p_neg, "float64")

    y_kl = u(0.0, 1.0, (4, 5))
    y_kl /= y_kl.sum(-1, keepdims=True)
    y_kl[0, 0] = 0.0  # clipped to epsilon
    p_kl = np.exp(n((4, 5)))
    p_kl = f32(p_kl / p_kl.sum(-1, keepdims=True))
    add("kl_divergence", "KLDivergence", {}, f32(y_kl), p_kl, "float64")
    add("poisson", "Poisson", {}, f32(rng.poisson(1.5, (4, 5))), u(0.1, 3.0, (4, 5)), "float64")
    y_cos = n((4, 5))
    y_cos[3] = 0.0  # a zero vector: the similarity is 0
    add("cosine_similarity", "CosineSimilarity", {}, y_cos, n((4, 5)), "float64")
    return cases


def make_losses(rng, meta):
    cases = {}
    for case, cls, kwargs, y_true, y_pred, dtype in loss_cases(rng):
        np_dtype = np.float64 if dtype == "float64" else np.float32
        loss = getattr(keras.losses, cls)(dtype=dtype, **kwargs)
        per_sample_loss = getattr(keras.losses, cls)(dtype=dtype, reduction=None, **kwargs)
        sparse = y_true.dtype == np.int64
        y_t = y_true if sparse else y_true.astype(np_dtype)
        p = tf.Variable(y_pred.astype(np_dtype))
        with tf.GradientTape() as tape:
            value = loss(y_t, p)
        grad = tape.gradient(value, p).numpy()
        per_sample = per_sample_loss(y_t, p).numpy()
        for name, a in [("value", value.numpy()), ("per_sample", per_sample), ("grad", grad)]:
            assert np.all(np.isfinite(a)), (case, name)
        case_dir = os.path.join(OUT_DIR, "loss_" + case)
        save(case_dir, "y_pred", y_pred)
        if sparse:
            save(case_dir, "labels", y_true, dtype=np.int64)
        else:
            save(case_dir, "y_true", y_true)
        save(case_dir, "per_sample", per_sample)
        save(case_dir, "loss", value.numpy())
        save(case_dir, "grad", grad)
        cases[case] = {
            "loss": cls,
            "params": kwargs,
            "targets": "sparse" if sparse else "dense",
            "dtype": dtype,
            "y_pred_shape": list(y_pred.shape),
            "per_sample_shape": list(per_sample.shape),
        }
    meta["losses"] = cases


def main():
    if os.path.isdir(OUT_DIR):
        for entry in os.listdir(OUT_DIR):
            path = os.path.join(OUT_DIR, entry)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif entry.endswith(".npy") or entry == "meta.json":
                os.remove(path)
    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.default_rng(SEED)
    meta = {
        "generator": "tools/make_keras_activation_loss_fixtures.py",
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__,
                     "numpy": np.__version__},
        "seed": SEED,
        "epsilon": keras.backend.epsilon(),
    }
    make_activations(rng, meta)
    make_losses(rng, meta)
    with open(os.path.join(OUT_DIR, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, name))
                for d, _, files in os.walk(OUT_DIR) for name in files)
    print(f"wrote {len(meta['activations'])} activation and {len(meta['losses'])} loss cases "
          f"to {os.path.relpath(OUT_DIR, ROOT)} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
