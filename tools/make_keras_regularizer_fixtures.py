#!/usr/bin/env python3
"""Reference fixtures for krust's weight regularizers, constraints and initializers, made
with Keras 3.

For every case it builds one Keras layer with regularizers, constraints and non-default
initializers on its weights, and writes into fixtures/keras/regularizers/<case>/:
  layer.json            {"class_name": ..., "config": layer.get_config()}, exactly as
                        Keras serializes it
  w0.npy, w1.npy, ...   the weights the layer is given before the call, in Keras's order
  w*_init.npy           the weights as Keras's initializers made them (only for cases whose
                        initializers are all deterministic: Constant, Ones, Zeros)
  x0.npy                the input (token ids stored as float32 for Embedding)
  y.npy                 the output of one training-mode call
  penalty.npy           sum(layer.losses) after that call: the weight penalties and the
                        activity penalty (divided by the batch size, as Keras does)
  w*_constrained.npy    every weight after that call with its constraint applied, as the
                        optimizer does after a step (unconstrained weights as they are)
crates/nn/tests/keras_regularizers.rs rebuilds each layer from layer.json with krust's
layer_from_config and checks all of it. CI never runs this script. It needs keras 3 and a
backend (tensorflow-cpu):

    /work/venv/bin/python tools/make_keras_regularizer_fixtures.py
"""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import constraints, initializers, layers, regularizers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "regularizers")
SEED = 2027


def cases():
    """(name, layer, input shape, initializers all deterministic, integer input ids)."""
    return [
        (
            "conv2d_transpose",
            layers.Conv2DTranspose(
                3, 3, strides=2, padding="same",
                kernel_initializer=initializers.Constant(0.1), bias_initializer="ones",
                kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                bias_regularizer=regularizers.L2(0.03),
                activity_regularizer=regularizers.L1(0.01),
                kernel_constraint=constraints.MaxNorm(0.5, axis=[0, 1, 2]),
                bias_constraint=constraints.NonNeg(),
            ),
            (2, 3, 4, 2), True, False,
        ),
        (
            "conv1d_transpose",
            layers.Conv1DTranspose(
                2, 3, strides=2,
                kernel_initializer="he_normal",
                kernel_regularizer=regularizers.L2(0.05),
                kernel_constraint=constraints.UnitNorm(axis=0),
            ),
            (2, 5, 3), False, False,
        ),
        (
            "conv3d",
            layers.Conv3D(
                2, 2, padding="same",
                kernel_initializer="lecun_uniform",
                bias_initializer=initializers.Constant(-0.2),
                kernel_regularizer=regularizers.L1L2(0.02, 0.01),
                bias_regularizer=regularizers.L1(0.5),
                kernel_constraint=constraints.MaxNorm(0.7, axis=[0, 1, 2, 3]),
                bias_constraint=constraints.MinMaxNorm(0.1, 0.3, rate=0.5, axis=0),
            ),
            (2, 3, 3, 2, 2), False, False,
        ),
        (
            "depthwise_conv2d",
            layers.DepthwiseConv2D(
                2, depth_multiplier=2,
                depthwise_initializer=initializers.Constant(0.2), bias_initializer="ones",
                depthwise_regularizer=regularizers.L2(0.05),
                bias_regularizer=regularizers.L1(0.1),
                activity_regularizer=regularizers.L2(0.02),
                depthwise_constraint=constraints.UnitNorm(axis=[0, 1]),
                bias_constraint=constraints.MaxNorm(1.0),
            ),
            (2, 4, 4, 3), True, False,
        ),
        (
            "separable_conv1d",
            layers.SeparableConv1D(
                3, 3, depth_multiplier=2,
                depthwise_initializer="ones",
                pointwise_initializer=initializers.Constant(0.5),
                bias_initializer="zeros",
                depthwise_regularizer=regularizers.L1(0.02),
                pointwise_regularizer=regularizers.L2(0.03),
                bias_regularizer=regularizers.L1L2(0.01, 0.01),
                activity_regularizer=regularizers.L2(0.01),
                depthwise_constraint=constraints.MinMaxNorm(0.2, 0.8, rate=0.7, axis=0),
                pointwise_constraint=constraints.NonNeg(),
                bias_constraint=constraints.MaxNorm(0.1),
            ),
            (2, 6, 2), True, False,
        ),
        (
            "separable_conv2d",
            layers.SeparableConv2D(
                4, 3, padding="same",
                depthwise_initializer="glorot_normal", pointwise_initializer="he_uniform",
                depthwise_regularizer=regularizers.L2(0.01),
                pointwise_regularizer=regularizers.L1(0.01),
                depthwise_constraint=constraints.MaxNorm(0.6, axis=[0, 1]),
                pointwise_constraint=constraints.UnitNorm(axis=2),
            ),
            (2, 4, 4, 3), False, False,
        ),
        (
            "embedding",
            layers.Embedding(
                6, 4,
                embeddings_initializer=initializers.Constant(0.3),
                embeddings_regularizer=regularizers.L2(0.1),
                activity_regularizer=regularizers.L1(0.05),
                embeddings_constraint=constraints.UnitNorm(axis=1),
            ),
            (3, 5), True, True,
        ),
        (
            "batch_normalization",
            layers.BatchNormalization(
                momentum=0.9,
                gamma_initializer=initializers.Constant(1.5), beta_initializer="ones",
                moving_mean_initializer=initializers.Constant(0.5),
                moving_variance_initializer=initializers.Constant(2.0),
                gamma_regularizer=regularizers.L2(0.1),
                beta_regularizer=regularizers.L1(0.2),
                gamma_constraint=constraints.MinMaxNorm(0.5, 1.0, rate=1.0, axis=0),
                beta_constraint=constraints.NonNeg(),
                activity_regularizer=regularizers.L2(0.01),
            ),
            (4, 3, 3), True, False,
        ),
        (
            "layer_normalization",
            layers.LayerNormalization(
                axis=[-2, -1],
                gamma_initializer=initializers.Constant(0.8), beta_initializer="ones",
                gamma_regularizer=regularizers.L1L2(0.01, 0.02),
                beta_regularizer=regularizers.L2(0.05),
                gamma_constraint=constraints.MaxNorm(1.0, axis=1),
                beta_constraint=constraints.NonNeg(),
            ),
            (2, 3, 4), True, False,
        ),
        (
            "group_normalization",
            layers.GroupNormalization(
                groups=2,
                gamma_initializer=initializers.Constant(2.0), beta_initializer="zeros",
                gamma_regularizer=regularizers.L1(0.1),
                beta_regularizer=regularizers.L2(0.1),
                gamma_constraint=constraints.UnitNorm(axis=0),
                beta_constraint=constraints.MaxNorm(0.5),
                activity_regularizer=regularizers.L1(0.01),
            ),
            (2, 3, 3, 4), True, False,
        ),
        (
            "prelu",
            layers.PReLU(
                shared_axes=[1],
                alpha_initializer=initializers.Constant(0.25),
                alpha_regularizer=regularizers.L1(0.1),
                alpha_constraint=constraints.NonNeg(),
            ),
            (2, 3, 4), True, False,
        ),
    ]


def save(d, name, array):
    np.save(os.path.join(d, name), np.asarray(array, dtype=np.float32))


def main():
    keras.utils.set_random_seed(SEED)
    shutil.rmtree(OUT, ignore_errors=True)
    rng = np.random.default_rng(SEED)
    for name, layer, shape, deterministic, ids in cases():
        d = os.path.join(OUT, name)
        os.makedirs(d)
        if ids:
            x = rng.integers(0, layer.input_dim, shape).astype(np.int32)
        else:
            x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
        layer.build(shape)
        if deterministic:
            for i, w in enumerate(layer.get_weights()):
                save(d, f"w{i}_init.npy", w)
        # Weights with both signs and norms on both sides of the constraints' bounds.
        weights = []
        for v in layer.weights:
            w = rng.uniform(-1.0, 1.0, v.shape)
            w.flat[0] = -abs(w.flat[0])  # so that NonNeg always has something to do
            if v.name == "moving_variance":
                w = rng.uniform(0.5, 2.0, v.shape)
            weights.append(w.astype(np.float32))
        layer.set_weights(weights)
        for i, w in enumerate(weights):
            save(d, f"w{i}.npy", w)
        save(d, "x0.npy", x)
        y = layer(x, training=True)
        save(d, "y.npy", y)
        penalty = sum(float(np.asarray(loss)) for loss in layer.losses)
        save(d, "penalty.npy", [penalty])
        for i, v in enumerate(layer.weights):
            c = getattr(v, "constraint", None)
            save(d, f"w{i}_constrained.npy", c(v) if c is not None else v)
        with open(os.path.join(d, "layer.json"), "w") as f:
            json.dump({"class_name": layer.__class__.__name__, "config": layer.get_config()}, f, indent=1)
            f.write("\n")
    import platform
    import tensorflow as tf

    rows = "\n".join(
        f"| `{name}` | `{layer.__class__.__name__}` | {'yes' if deterministic else 'no'} |"
        for name, layer, _, deterministic, _ in cases()
    )
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "# Regularizer, constraint and initializer fixtures (computed with Keras 3)\n\n"
            "`crates/nn/tests/keras_regularizers.rs` rebuilds each layer here from Keras's own "
            "config and checks krust against it. `tools/make_keras_regularizer_fixtures.py` made "
            f"them with Keras {keras.__version__} on the TensorFlow {tf.__version__} backend (on the "
            f"CPU), Python {platform.python_version()} and numpy {np.__version__}, with numpy and "
            f"Keras seed {SEED}. CI never runs that script. It only reads the committed files.\n\n"
            "Each folder is one layer with regularizers, constraints and non-default initializers "
            "on its weights:\n\n"
            "| file | meaning |\n| --- | --- |\n"
            "| `layer.json` | Keras's class name and `get_config()` |\n"
            "| `w0.npy`, `w1.npy`, ... | the weights it is given, in Keras's order |\n"
            "| `w*_init.npy` | the weights as its initializers built them (deterministic initializers only) |\n"
            "| `x0.npy` | the input (token ids as float32 for Embedding) |\n"
            "| `y.npy` | the output of one training-mode call |\n"
            "| `penalty.npy` | `sum(layer.losses)` after that call: weight penalties plus the activity penalty divided by the batch size |\n"
            "| `w*_constrained.npy` | every weight after that call with its constraint applied (as is when it has none) |\n\n"
            "| case | layer | `w*_init.npy` |\n| --- | --- | --- |\n"
            f"{rows}\n"
        )

if __name__ == "__main__":
    main()
