#!/usr/bin/env python3
"""Parameter counts of the functional test models, as Keras reports them.

Builds the small ResNet (two residual blocks, the second with a 1x1 projection shortcut) and
the Inception module that crates/nn/tests/functional.rs builds with krust, and writes Keras's
model.count_params() and per-layer counts to fixtures/keras/functional_param_counts.json.
CI never runs this; it needs tensorflow/keras:

    /root/venv/bin/python tools/keras_functional_param_counts.py
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
from keras import layers  # noqa: E402


def small_resnet():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(16, 3, padding="same")(y)
    x = layers.Activation("relu")(layers.Add()([x, y]))
    y = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    y = layers.Conv2D(32, 3, padding="same")(y)
    shortcut = layers.Conv2D(32, 1, strides=2)(x)
    x = layers.Activation("relu")(layers.Add()([y, shortcut]))
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


def inception_module():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    b1 = layers.Conv2D(8, 1, activation="relu")(x)
    b2 = layers.Conv2D(8, 1, activation="relu")(x)
    b2 = layers.Conv2D(12, 3, padding="same", activation="relu")(b2)
    b3 = layers.Conv2D(4, 1, activation="relu")(x)
    b3 = layers.Conv2D(6, 5, padding="same", activation="relu")(b3)
    b4 = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    b4 = layers.Conv2D(6, 1, activation="relu")(b4)
    x = layers.Concatenate()([b1, b2, b3, b4])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs, outputs)


def main():
    out = {"keras_version": keras.__version__}
    for name, build in [("small_resnet", small_resnet), ("inception_module", inception_module)]:
        model = build()
        out[name] = {
            "total": model.count_params(),
            "output_shape": list(model.output.shape[1:]),
            "layers": [[layer.__class__.__name__, layer.count_params()] for layer in model.layers],
        }
    path = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "functional_param_counts.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v["total"] if isinstance(v, dict) else v for k, v in out.items()}))


if __name__ == "__main__":
    main()
