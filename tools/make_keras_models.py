#!/usr/bin/env python3
"""Whole Keras models for krust's model import (crates/import), made with Keras 3.

For every model below it writes into fixtures/keras/models/:
  <name>.keras          Keras 3's zip (config.json, metadata.json, model.weights.h5)
  <name>.h5             the legacy HDF5 format (model_config attribute + model_weights group)
  <name>.x0.npy, ...    seeded float32 inputs, one per model input
  <name>.y0.npy, ...    Keras's model.predict outputs (inference mode), one per output
  resnet_block.chunked.h5  resnet_block.h5 with chunked, gzip-compressed datasets
Batch-normalization layers get non-default moving statistics so inference depends on them.
`unsupported_lstm` holds a layer krust lacks and `unsupported_argument` an argument value krust
does not implement (channels_first); they have no .npy files: krust must refuse them with an error naming it.
crates/import/tests/keras_models.rs checks every model. CI never runs this script:

    /work/venv/bin/python tools/make_keras_models.py
"""

import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "models")
SEED = 2026


def randomize_weights(model, rng):
    """Non-trivial weights everywhere: biases, gammas and moving statistics included."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            randomize_weights(layer, rng)
            continue
        new = []
        for w in layer.weights:
            shape = tuple(w.shape)
            if "variance" in w.path or "gamma" in w.path:
                new.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
            else:
                new.append((0.4 * rng.standard_normal(shape)).astype(np.float32))
        if new:
            layer.set_weights(new)
            # Normalization derives the statistics it applies from its weights when they are
            # loaded; set_weights alone would leave the adapted ones in use.
            if hasattr(layer, "finalize_state"):
                layer.finalize_state()


def sequential_cnn():
    return keras.Sequential([
        keras.Input((12, 12, 3)),
        layers.Rescaling(1.0 / 2, offset=-0.25),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, strides=2, padding="valid", dilation_rate=1, activation="tanh"),
        layers.ZeroPadding2D(((1, 0), (0, 1))),
        layers.Conv2D(6, 2, groups=2, dilation_rate=1),
        layers.SpatialDropout2D(0.3),
        layers.AveragePooling2D(2, padding="same"),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(5, activation="softmax"),
    ], name="sequential_cnn")


def sequential_mixed():
    return keras.Sequential([
        keras.Input((8, 8, 2)),
        layers.Conv2D(4, 3, dilation_rate=2, padding="same"),
        layers.Activation("relu"),
        layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same"),
        layers.SeparableConv2D(5, 3, padding="same", activation="elu"),
        layers.UpSampling2D(2),
        layers.Cropping2D(((1, 1), (2, 0))),
        layers.LayerNormalization(),
        layers.GroupNormalization(groups=5),
        layers.GaussianNoise(0.2),
        layers.GaussianDropout(0.2),
        layers.Permute((2, 1, 3)),
        layers.GlobalMaxPooling2D(),
        layers.RepeatVector(3),
        layers.Reshape((15,)),
        layers.Dense(4),
    ], name="sequential_mixed")


def resnet_block():
    x = keras.Input((10, 10, 3), name="image")
    h = layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
    h = layers.BatchNormalization()(h)
    h = layers.Activation("relu")(h)
    y = layers.Conv2D(8, 3, padding="same", use_bias=False)(h)
    y = layers.BatchNormalization()(y)
    shortcut = layers.Conv2D(8, 1)(x)
    h = layers.Add()([y, shortcut])
    h = layers.Activation("relu")(h)
    h = layers.GlobalAveragePooling2D()(h)
    out = layers.Dense(3)(h)
    return keras.Model(x, out, name="resnet_block")


def inception_block():
    x = keras.Input((9, 9, 4))
    a = layers.Conv2D(3, 1, activation="relu")(x)
    b = layers.Conv2D(2, 1, activation="relu")(x)
    b = layers.Conv2D(4, 3, padding="same", activation="relu")(b)
    c = layers.Conv2D(2, 1)(x)
    c = layers.Conv2D(3, 5, padding="same")(c)
    d = layers.MaxPooling2D(3, strides=1, padding="same")(x)
    d = layers.Conv2D(2, 1)(d)
    h = layers.Concatenate()([a, b, c, d])
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    out = layers.Dense(4, activation="sigmoid")(h)
    return keras.Model(x, out, name="inception_block")


def multi_io():
    a = keras.Input((6, 6, 2), name="left")
    b = layers.Input((6, 6, 2), name="right")
    shared = layers.Conv2D(3, 3, padding="same")
    ha, hb = shared(a), shared(b)
    merged = [
        layers.Add()([ha, hb]),
        layers.Subtract()([ha, hb]),
        layers.Multiply()([ha, hb]),
        layers.Average()([ha, hb]),
        layers.Maximum()([ha, hb]),
        layers.Minimum()([ha, hb]),
    ]
    h = layers.Concatenate(axis=-1)(merged)
    h = layers.GlobalAveragePooling2D()(h)
    out1 = layers.Dense(2, name="head_a")(h)
    out2 = layers.Dense(3, activation="softmax", name="head_b")(layers.GlobalMaxPooling2D()(hb))
    return keras.Model([a, b], [out1, out2], name="multi_io")


def conv1d_model():
    return keras.Sequential([
        keras.Input((16, 3)),
        layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="relu"),
        layers.Conv1D(5, 3, strides=2, padding="same"),
        layers.SeparableConv1D(4, 3, padding="valid", depth_multiplier=2),
        layers.SpatialDropout1D(0.2),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(3),
    ], name="conv1d_model")


def nested():
    inner = keras.Sequential([
        keras.Input((8, 8, 3)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
    ], name="features")
    x = keras.Input((8, 8, 3))
    h = inner(x)
    h = layers.Flatten()(h)
    out = layers.Dense(3)(h)
    return keras.Model(x, out, name="nested")


def volumetric():
    """The 3-D family: convolution (strided, same), transposed convolution, pooling, padding,
    cropping, upsampling, spatial dropout and both global poolings."""
    x = keras.Input((6, 7, 8, 2))
    h = layers.Conv3D(3, 3, strides=2, padding="same", activation="relu")(x)
    h = layers.ZeroPadding3D(((1, 0), (0, 1), (1, 1)))(h)
    h = layers.Conv3DTranspose(4, 3, strides=2, padding="same")(h)
    h = layers.MaxPooling3D(2, strides=2, padding="same")(h)
    h = layers.AveragePooling3D(2, strides=1, padding="valid")(h)
    h = layers.UpSampling3D((1, 2, 2))(h)
    h = layers.Cropping3D(((0, 0), (1, 0), (1, 1)))(h)
    h = layers.Conv3D(3, 2, dilation_rate=2, padding="valid")(h)
    h = layers.SpatialDropout3D(0.3)(h)
    a = layers.GlobalAveragePooling3D()(h)
    b = layers.GlobalMaxPooling3D(keepdims=True)(h)
    b = layers.Flatten()(b)
    out = layers.Dense(3)(layers.Concatenate()([a, b]))
    return keras.Model(x, out, name="volumetric")


def sequence_model():
    """The 1-D family: transposed convolution, both poolings, padding, cropping,
    upsampling and global poolings."""
    x = keras.Input((11, 3))
    h = layers.Conv1DTranspose(4, 3, strides=2, padding="same", activation="relu")(x)
    h = layers.MaxPooling1D(2, padding="same")(h)
    h = layers.ZeroPadding1D((1, 2))(h)
    h = layers.AveragePooling1D(3, strides=2, padding="same")(h)
    h = layers.Cropping1D((2, 1))(h)
    h = layers.UpSampling1D(3)(h)
    h = layers.Conv1DTranspose(3, 2, strides=3, padding="valid")(h)
    a = layers.GlobalAveragePooling1D()(h)
    b = layers.GlobalMaxPooling1D()(h)
    out = layers.Dense(2)(layers.Concatenate()([a, b]))
    return keras.Model(x, out, name="sequence_model")


def decoder():
    """Transposed 2-D convolutions, bilinear upsampling and the activation layers."""
    return keras.Sequential([
        keras.Input((4, 5, 3)),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1),
        layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2),
        layers.UpSampling2D((2, 3), interpolation="bilinear"),
        layers.Conv2DTranspose(3, 2, strides=3, padding="valid", activation="sigmoid"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.PReLU(shared_axes=[1, 2]),
        layers.ELU(alpha=0.5),
        layers.AveragePooling2D(3, strides=2, padding="same"),
        layers.Softmax(axis=1),
        layers.ActivityRegularization(l1=0.01),
        layers.MaxPooling2D((3, 2), strides=(2, 3), padding="valid"),
        layers.Flatten(),
        layers.Dense(4, activation="gelu"),
    ], name="decoder")


def embedding_and_dot():
    """Embedding of integer ids (fed as float32 whole numbers, which Keras casts), both
    Normalization forms, and Dot with and without normalization."""
    ids = keras.Input((6,), name="ids")
    features = keras.Input((5,), name="features")
    e = layers.Embedding(10, 4)(ids)
    e = layers.Conv1D(4, 3, padding="same", activation="tanh")(e)
    e = layers.GlobalAveragePooling1D()(e)
    fixed = layers.Normalization(mean=[0.5, -1.0, 0.0, 2.0, 1.0], variance=[4.0, 0.25, 1.0, 9.0, 1.0])
    f = fixed(features)
    adapted = layers.Normalization()
    adapted.adapt(np.random.default_rng(3).standard_normal((40, 5)).astype(np.float32) * 2 + 0.5)
    g = adapted(features)
    f = layers.Dense(4)(f)
    g = layers.Dense(4)(g)
    cosine = layers.Dot(axes=1, normalize=True)([e, f])
    dot = layers.Dot(axes=1)([f, g])
    out = layers.Concatenate()([cosine, dot, e])
    return keras.Model([ids, features], out, name="embedding_and_dot")


def activations():
    """Every Keras activation by name, each on its own branch of one Dense layer."""
    names = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "softplus",
             "softsign", "hard_sigmoid", "exponential", "sigmoid", "tanh", "linear", "softmax"]
    x = keras.Input((6,))
    h = layers.Dense(5)(x)
    branches = [layers.Activation(n, name=f"act_{n}")(h) for n in names]
    out = layers.Concatenate()(branches)
    return keras.Model(x, out, name="activations")


def unsupported_lstm():
    return keras.Sequential([keras.Input((5, 3)), layers.LSTM(4), layers.Dense(2)], name="unsupported_lstm")


def unsupported_argument():
    # krust is channels-last only.
    return keras.Sequential([
        keras.Input((2, 6, 6)),
        layers.Conv2D(3, 3, data_format="channels_first"),
    ], name="unsupported_argument")


MODELS = [sequential_cnn, sequential_mixed, resnet_block, inception_block, multi_io,
          conv1d_model, nested, volumetric, sequence_model, decoder, embedding_and_dot,
          activations]
# Inputs drawn as whole numbers in [0, high) instead of Gaussian noise (embedding ids).
INTEGER_INPUTS = {"ids": 10}
UNSUPPORTED = [unsupported_lstm, unsupported_argument]


def save(model, name):
    model.save(os.path.join(OUT, name + ".keras"))
    model.save(os.path.join(OUT, name + ".h5"))


def rewrite_chunked(src, dst):
    """A copy of a legacy .h5 model whose datasets are chunked and gzip-compressed, as h5py
    writes them when asked: Keras itself writes contiguous ones, but other tools do not."""
    import h5py
    shutil.copy(src, dst)
    with h5py.File(dst, "r+") as f:
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for n in names:
            data = f[n][()]
            del f[n]
            chunks = tuple(max(1, d // 2) for d in data.shape) or None
            f.create_dataset(n, data=data, chunks=chunks, compression="gzip", shuffle=True)


def main():
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for make in MODELS:
        model = make()
        name = model.name
        randomize_weights(model, rng)
        xs = [
            rng.integers(0, INTEGER_INPUTS[i.name], (3,) + tuple(i.shape[1:])).astype(np.float32)
            if i.name in INTEGER_INPUTS
            else rng.standard_normal((3,) + tuple(i.shape[1:])).astype(np.float32)
            for i in model.inputs
        ]
        ys = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
        ys = ys if isinstance(ys, list) else [ys]
        for i, x in enumerate(xs):
            np.save(os.path.join(OUT, f"{name}.x{i}.npy"), x)
        for i, y in enumerate(ys):
            np.save(os.path.join(OUT, f"{name}.y{i}.npy"), np.asarray(y, np.float32))
        save(model, name)
        print(name, [x.shape for x in xs], "->", [np.shape(y) for y in ys], model.count_params(), "params")
    rewrite_chunked(os.path.join(OUT, "resnet_block.h5"), os.path.join(OUT, "resnet_block.chunked.h5"))
    for make in UNSUPPORTED:
        model = make()
        save(model, model.name)
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            f"# Keras model fixtures\n\nMade by `tools/make_keras_models.py` with Keras {keras.__version__} "
            f"(numpy seed {SEED}). Each model is saved as `.keras` and legacy `.h5`, with seeded inputs "
            "`<name>.x*.npy` and Keras's inference outputs `<name>.y*.npy`. `unsupported_*` models use a "
            "layer or argument krust lacks and must be refused by name.\n")


if __name__ == "__main__":
    main()
