#!/usr/bin/env python3
"""Every keras.applications model, saved by Keras 3 with random weights, for krust's import test.

For each application below it writes into OUT (default target/keras-applications/, not
committed: the files are large):
  <name>.keras   Keras 3's zip
  <name>.h5      the legacy HDF5 format
  <name>.x0.npy  a seeded float32 input batch (1 sample)
  <name>.y0.npy  Keras's model.predict output for it (inference mode)
The weights are Keras's own initializers (weights=None) plus seeded non-trivial
batch-normalization statistics, LayerScale factors and Normalization statistics, so that
inference depends on every stored value. The gammas that close EfficientNet's residual
branches are kept small: otherwise EfficientNetV2-M/L's random activations reach 1e6 and a
1e-6 change of the input changes Keras's own output by 70%, leaving nothing to compare. crates/import/tests/keras_applications.rs checks
every model it finds there. CI never runs this script:

    /root/venvs/tf/bin/python tools/make_keras_applications.py [--out DIR] [NAME ...]
    /root/venvs/tf/bin/python tools/make_keras_applications.py --fixtures

--fixtures writes the few small applications committed under fixtures/keras/applications/.
Seed 2026; made with Keras 3.15.1 / TensorFlow 2.21.0.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import applications as A  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SEED = 2026

# name -> (constructor, keyword arguments, input size). include_top=False + pooling="avg"
# lets the smallest size Keras allows be used; a few keep their classifier head (with a small
# `classes`, legal with weights=None at any allowed size).
HEADLESS = dict(include_top=False, pooling="avg")
APPS = {
    "vgg16": (A.VGG16, dict(include_top=True, classes=10), 32),
    "vgg19": (A.VGG19, HEADLESS, 32),
    "resnet50": (A.ResNet50, dict(include_top=True, classes=10), 32),
    "resnet101": (A.ResNet101, HEADLESS, 32),
    "resnet152": (A.ResNet152, HEADLESS, 32),
    "resnet50v2": (A.ResNet50V2, dict(include_top=True, classes=10), 32),
    "resnet101v2": (A.ResNet101V2, HEADLESS, 32),
    "resnet152v2": (A.ResNet152V2, HEADLESS, 32),
    "inception_v3": (A.InceptionV3, dict(include_top=True, classes=10), 75),
    "inception_resnet_v2": (A.InceptionResNetV2, HEADLESS, 75),
    "xception": (A.Xception, HEADLESS, 71),
    "mobilenet": (A.MobileNet, dict(include_top=True, classes=10, alpha=0.5), 32),
    "mobilenet_v2": (A.MobileNetV2, dict(include_top=True, classes=10, alpha=0.5), 32),
    "mobilenet_v3_small": (A.MobileNetV3Small, dict(include_top=True, classes=10), 32),
    "mobilenet_v3_large": (A.MobileNetV3Large, HEADLESS, 32),
    "densenet121": (A.DenseNet121, dict(include_top=True, classes=10), 32),
    "densenet169": (A.DenseNet169, HEADLESS, 32),
    "densenet201": (A.DenseNet201, HEADLESS, 32),
    "nasnet_mobile": (A.NASNetMobile, HEADLESS, 32),
    "nasnet_large": (A.NASNetLarge, HEADLESS, 32),
    "efficientnet_b0": (A.EfficientNetB0, dict(include_top=True, classes=10), 32),
    "efficientnet_b1": (A.EfficientNetB1, HEADLESS, 32),
    "efficientnet_b2": (A.EfficientNetB2, HEADLESS, 32),
    "efficientnet_b3": (A.EfficientNetB3, HEADLESS, 32),
    "efficientnet_b4": (A.EfficientNetB4, HEADLESS, 32),
    "efficientnet_b5": (A.EfficientNetB5, HEADLESS, 32),
    "efficientnet_b6": (A.EfficientNetB6, HEADLESS, 32),
    "efficientnet_b7": (A.EfficientNetB7, HEADLESS, 32),
    "efficientnet_v2_b0": (A.EfficientNetV2B0, dict(include_top=True, classes=10), 32),
    "efficientnet_v2_b1": (A.EfficientNetV2B1, HEADLESS, 32),
    "efficientnet_v2_b2": (A.EfficientNetV2B2, HEADLESS, 32),
    "efficientnet_v2_b3": (A.EfficientNetV2B3, HEADLESS, 32),
    "efficientnet_v2_s": (A.EfficientNetV2S, HEADLESS, 32),
    "efficientnet_v2_m": (A.EfficientNetV2M, HEADLESS, 32),
    "efficientnet_v2_l": (A.EfficientNetV2L, HEADLESS, 32),
    "convnext_tiny": (A.ConvNeXtTiny, dict(include_top=True, classes=10), 32),
    "convnext_small": (A.ConvNeXtSmall, HEADLESS, 32),
    "convnext_base": (A.ConvNeXtBase, HEADLESS, 32),
    "convnext_large": (A.ConvNeXtLarge, HEADLESS, 32),
    "convnext_xlarge": (A.ConvNeXtXLarge, HEADLESS, 32),
    # ConvNeXt's StochasticDepth layers appear only with drop_path_rate > 0, which the named
    # variants do not expose: the shared builder at micro size.
    "convnext_micro_drop_path": (lambda **kw: _convnext_micro(drop_path_rate=0.2, **kw),
                                 dict(include_top=True, classes=10), 32),
}

# Small applications committed as CI fixtures (together well under 3 MB): the applications'
# own builders (keras.src.applications.*) at micro widths and depths, so CI exercises
# hard_silu and the op nodes of MobileNetV3, LayerScale of ConvNeXt, Normalization on axis 3
# and Dropout's noise_shape of EfficientNet. NASNet's micro build is listed but not committed
# (its many layers make 3 MB); `--fixtures nasnet_micro` writes it on demand.
def _mobilenet_v3_micro(**kwargs):
    from keras.src.applications import mobilenet_v3 as m3

    def stack(x, kernel, activation, se_ratio):
        x = m3._inverted_res_block(x, 1, 8, 3, 2, se_ratio, m3.relu, 0)
        x = m3._inverted_res_block(x, 72.0 / 16, 16, 3, 2, None, m3.relu, 1)
        return m3._inverted_res_block(x, 4, 24, kernel, 2, se_ratio, activation, 2)

    return m3.MobileNetV3(stack, 64, model_type="small", name="mobilenet_v3_micro", **kwargs)


def _convnext_micro(**kwargs):
    from keras.src.applications import convnext
    return convnext.ConvNeXt(depths=[1, 1, 1, 1], projection_dims=[8, 16, 32, 64],
                             default_size=32, name="convnext_micro", **kwargs)


def _efficientnet_micro(**kwargs):
    from keras.src.applications import efficientnet
    return efficientnet.EfficientNet(0.1, 0.1, 32, 0.2, name="efficientnet_micro", **kwargs)


def _nasnet_micro(**kwargs):
    from keras.src.applications import nasnet
    return nasnet.NASNet(penultimate_filters=96, num_blocks=1, stem_block_filters=8,
                         skip_reduction=False, filter_multiplier=2, default_size=32,
                         name="nasnet_micro", **kwargs)


NASNET_MICRO = (_nasnet_micro, HEADLESS, 32)
FIXTURES = {
    "mobilenet_v3_micro": (_mobilenet_v3_micro, dict(include_top=True, classes=5), 32),
    "convnext_micro": (_convnext_micro, HEADLESS, 32),
    "efficientnet_micro": (_efficientnet_micro, HEADLESS, 32),
}


def randomize_statistics(model, rng):
    """Seeded values for the weights Keras initializes to constants that hide a layer's
    arithmetic (zero means, unit variances, LayerScale's 1e-6)."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            randomize_statistics(layer, rng)
            continue
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            new = []
            # EfficientNet(V2)'s residual branches end in a "project_bn": small gammas there
            # keep dozens of stacked blocks from compounding into huge activations.
            gain = 0.2 if layer.name.endswith("project_bn") else 1.0
            for w in layer.weights:
                shape = tuple(w.shape)
                if "variance" in w.path:
                    new.append(rng.uniform(0.5, 1.5, shape))
                elif "gamma" in w.path:
                    new.append(gain * rng.uniform(0.8, 1.2, shape))
                else:
                    new.append(0.1 * rng.standard_normal(shape))
            layer.set_weights([v.astype(np.float32) for v in new])
        elif kind == "LayerScale":
            layer.set_weights([rng.uniform(0.1, 0.5, tuple(w.shape)).astype(np.float32)
                               for w in layer.weights])
        elif kind == "Normalization" and layer.weights:
            new = []
            for w in layer.weights:
                shape = tuple(w.shape)
                if "variance" in w.path:
                    new.append(rng.uniform(0.5, 1.5, shape).astype(np.float32))
                elif "mean" in w.path:
                    new.append((0.2 * rng.standard_normal(shape)).astype(np.float32))
                else:
                    new.append(np.asarray(w.numpy()))
            layer.set_weights(new)
            layer.finalize_state()


def make(name, ctor, kwargs, size, out):
    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    start = time.time()
    model = ctor(weights=None, input_shape=(size, size, 3), **kwargs)
    randomize_statistics(model, rng)
    # Pixel-like inputs: several applications rescale 0..255 themselves.
    x = rng.uniform(0.0, 255.0, (1, size, size, 3)).astype(np.float32)
    y = model.predict(x, verbose=0)
    model.save(os.path.join(out, f"{name}.keras"))
    model.save(os.path.join(out, f"{name}.h5"))
    np.save(os.path.join(out, f"{name}.x0.npy"), x)
    np.save(os.path.join(out, f"{name}.y0.npy"), y.astype(np.float32))
    print(f"{name}: input {size}x{size}, output {y.shape}, max|y| {np.abs(y).max():.3g}, "
          f"{model.count_params()} params, {time.time() - start:.1f}s", flush=True)
    del model
    keras.backend.clear_session()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "target", "keras-applications"))
    parser.add_argument("--fixtures", action="store_true",
                        help="write the committed small fixtures instead")
    parser.add_argument("names", nargs="*", help="applications to make (default: all)")
    args = parser.parse_args()
    table = dict(FIXTURES, nasnet_micro=NASNET_MICRO) if args.fixtures else APPS
    out = os.path.join(ROOT, "fixtures", "keras", "applications") if args.fixtures else args.out
    os.makedirs(out, exist_ok=True)
    names = args.names or (list(FIXTURES) if args.fixtures else list(table))
    unknown = [n for n in names if n not in table]
    if unknown:
        sys.exit(f"unknown application(s) {unknown}; known: {list(table)}")
    for name in names:
        ctor, kwargs, size = table[name]
        make(name, ctor, kwargs, size, out)


if __name__ == "__main__":
    main()
