#!/usr/bin/env python3
"""Reference fixtures for krust's layers, made with Keras 3.

For every case it builds one Keras layer, draws seeded float32 inputs, and writes the
following into fixtures/keras/layers/<case>/:
  x0.npy, x1.npy, ...   the inputs (channels-last, batch first)
  w0.npy, w1.npy, ...   the layer's weights before the call, in Keras's order
  y.npy                 the layer's output (in training mode where layer.json says so)
  w*_after.npy          for training-mode cases, the weights after the call
  layer.json            {"class_name": ..., "config": layer.get_config()}, exactly as
                        Keras serializes it
crates/nn/tests/keras_layers.rs rebuilds each layer from layer.json with krust's
layer_from_config, so the fixtures pin both the numbers and the parsing of Keras configs.
CI never runs this script. It needs tensorflow/keras:

    /work/venv/bin/python tools/make_keras_layer_fixtures.py
"""

import json
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras", "layers")


def bn_with_moving_stats(axis=-1, n=3):
    """A built BatchNormalization whose gamma, beta and moving statistics are not defaults."""
    layer = layers.BatchNormalization(axis=axis)
    shape = [2, 5, 6, 3]
    layer.build(shape)
    rng = np.random.default_rng(7 + n)
    layer.set_weights([
        rng.uniform(0.5, 1.5, n).astype(np.float32),   # gamma
        rng.standard_normal(n).astype(np.float32),     # beta
        rng.standard_normal(n).astype(np.float32),     # moving_mean
        rng.uniform(0.5, 2.0, n).astype(np.float32),   # moving_variance
    ])
    return layer


def adapted_normalization():
    layer = layers.Normalization()
    layer.adapt(np.random.default_rng(5).standard_normal((50, 3)).astype(np.float32) * 3 + 1)
    return layer


def embedding_with_ids():
    layer = layers.Embedding(7, 3)
    layer.build((None, 4))
    return layer


INTEGER_INPUT_CASES = ["embedding"]


def prelu_with_alpha():
    layer = layers.PReLU(shared_axes=[1, 2])
    layer.build([2, 5, 6, 3])
    layer.set_weights([np.array([[[0.1, -0.2, 0.3]]], dtype=np.float32)])
    return layer


TRAINING_CASES = ["batch_normalization_training"]


def cases():
    img = (2, 5, 6, 3)
    return [
        ("zero_padding2d_asymmetric", layers.ZeroPadding2D(((1, 2), (0, 3))), [img]),
        ("cropping2d_asymmetric", layers.Cropping2D(((1, 0), (2, 1))), [img]),
        ("up_sampling2d_nearest", layers.UpSampling2D((2, 3)), [(2, 3, 4, 2)]),
        ("global_average_pooling2d", layers.GlobalAveragePooling2D(), [img]),
        ("global_max_pooling2d_keepdims", layers.GlobalMaxPooling2D(keepdims=True), [img]),
        ("reshape_inferred", layers.Reshape((-1, 6)), [img]),
        ("permute", layers.Permute((3, 1, 2)), [img]),
        ("repeat_vector", layers.RepeatVector(4), [(3, 5)]),
        ("rescaling", layers.Rescaling(1.0 / 255, offset=-0.5), [img]),
        ("flatten", layers.Flatten(), [img]),
        ("add", layers.Add(), [img, img, img]),
        ("subtract", layers.Subtract(), [img, img]),
        ("multiply", layers.Multiply(), [img, img]),
        ("average", layers.Average(), [img, img, img]),
        ("maximum", layers.Maximum(), [img, img]),
        ("minimum", layers.Minimum(), [img, img]),
        ("concatenate_last_axis", layers.Concatenate(), [img, (2, 5, 6, 2)]),
        ("concatenate_axis_1", layers.Concatenate(axis=1), [img, (2, 2, 6, 3)]),
        ("batch_normalization_inference", bn_with_moving_stats(), [img]),
        ("batch_normalization_axis1_inference", bn_with_moving_stats(axis=1, n=5), [img]),
        ("layer_normalization", layers.LayerNormalization(), [img]),
        ("layer_normalization_axes_1_2", layers.LayerNormalization(axis=[1, 2]), [img]),
        ("group_normalization", layers.GroupNormalization(groups=2), [(2, 5, 6, 4)]),
        ("group_normalization_per_channel", layers.GroupNormalization(groups=3), [img]),
        ("conv1d_same_stride2", layers.Conv1D(4, 3, strides=2, padding="same"), [(2, 9, 3)]),
        ("conv1d_causal_dilation2", layers.Conv1D(3, 3, padding="causal", dilation_rate=2), [(2, 10, 2)]),
        ("conv2d_groups2", layers.Conv2D(4, 3, groups=2, padding="same"), [(2, 6, 5, 4)]),
        ("depthwise_conv2d_same_stride2_multiplier2", layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2), [(2, 7, 8, 3)]),
        ("separable_conv2d", layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2), [(2, 6, 6, 3)]),
        ("separable_conv1d", layers.SeparableConv1D(4, 3), [(2, 9, 3)]),
        ("max_pooling1d_same_stride2", layers.MaxPooling1D(3, strides=2, padding="same"), [(2, 9, 3)]),
        ("average_pooling1d_same", layers.AveragePooling1D(2, strides=1, padding="same"), [(2, 7, 3)]),
        ("global_max_pooling1d", layers.GlobalMaxPooling1D(), [(2, 7, 3)]),
        ("global_average_pooling3d_keepdims", layers.GlobalAveragePooling3D(keepdims=True), [(2, 3, 4, 2, 3)]),
        ("conv2d_transpose_valid_stride2", layers.Conv2DTranspose(3, 3, strides=2), [(2, 4, 5, 2)]),
        ("conv2d_transpose_same_stride2", layers.Conv2DTranspose(4, 3, strides=2, padding="same"), [(2, 4, 5, 3)]),
        ("conv2d_transpose_same_stride2_output_padding", layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1), [(2, 3, 4, 2)]),
        ("conv2d_transpose_valid_k2_stride3", layers.Conv2DTranspose(2, 2, strides=3), [(1, 3, 3, 2)]),
        ("conv1d_transpose_same_stride2", layers.Conv1DTranspose(3, 4, strides=2, padding="same"), [(2, 5, 2)]),
        ("zero_padding1d_asymmetric", layers.ZeroPadding1D((2, 1)), [(2, 4, 3)]),
        ("zero_padding3d_asymmetric", layers.ZeroPadding3D(((1, 0), (0, 2), (1, 1))), [(2, 2, 3, 2, 2)]),
        ("cropping1d_asymmetric", layers.Cropping1D((1, 2)), [(2, 6, 3)]),
        ("cropping3d_asymmetric", layers.Cropping3D(((1, 0), (0, 1), (1, 1))), [(2, 3, 3, 4, 2)]),
        ("up_sampling1d", layers.UpSampling1D(3), [(2, 4, 2)]),
        ("up_sampling3d", layers.UpSampling3D((2, 1, 2)), [(2, 2, 2, 3, 2)]),
        ("conv3d_same_stride2", layers.Conv3D(3, (3, 3, 2), strides=(2, 2, 1), padding="same"), [(2, 5, 4, 3, 2)]),
        ("conv3d_valid_dilation2", layers.Conv3D(2, 2, dilation_rate=2), [(1, 5, 5, 5, 2)]),
        ("max_pooling3d_same_stride2", layers.MaxPooling3D((2, 3, 2), strides=(2, 2, 1), padding="same"), [(2, 3, 5, 4, 2)]),
        ("average_pooling3d_same_stride2", layers.AveragePooling3D(3, strides=2, padding="same"), [(2, 5, 5, 3, 2)]),
        ("relu_layer", layers.ReLU(max_value=0.8, negative_slope=0.1, threshold=0.3), [img]),
        ("leaky_relu_layer", layers.LeakyReLU(), [img]),
        ("elu_layer", layers.ELU(alpha=0.7), [img]),
        ("softmax_layer_axis1", layers.Softmax(axis=1), [img]),
        ("prelu_shared", prelu_with_alpha(), [img]),
        ("dot_vectors", layers.Dot(axes=1), [(3, 5), (3, 5)]),
        ("dot_normalized", layers.Dot(axes=1, normalize=True), [(3, 5), (3, 5)]),
        ("dot_matrices", layers.Dot(axes=(2, 2)), [(2, 3, 4), (2, 5, 4)]),
        ("dot_matrices_axes_1_1", layers.Dot(axes=(1, 1)), [(2, 4, 3), (2, 4, 5)]),
        ("normalization_fixed", layers.Normalization(mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0]), [img]),
        ("normalization_adapted", adapted_normalization(), [img]),
        ("embedding", embedding_with_ids(), [(3, 4)]),
        ("up_sampling2d_bilinear", layers.UpSampling2D((2, 3), interpolation="bilinear"), [(2, 3, 4, 2)]),
        ("up_sampling2d_bilinear_x4", layers.UpSampling2D(4, interpolation="bilinear"), [(1, 2, 3, 1)]),
        ("conv3d_transpose_same_stride2", layers.Conv3DTranspose(2, 3, strides=2, padding="same"), [(2, 3, 4, 3, 2)]),
        ("conv3d_transpose_valid_output_padding", layers.Conv3DTranspose(3, (2, 3, 2), strides=(2, 2, 3), output_padding=(1, 0, 2)), [(1, 2, 3, 2, 2)]),
        ("max_pooling2d_same_stride2", layers.MaxPooling2D(3, strides=2, padding="same"), [(2, 7, 8, 3)]),
        ("average_pooling2d_same_stride2", layers.AveragePooling2D(3, strides=2, padding="same"), [(2, 7, 8, 3)]),
    ]


def same_padding_size_cases():
    """'same' padding with stride 2 on even and odd sizes, for convolution and both poolings
    in 1-D, 2-D and 3-D (the earlier cases cover the other parities). Listed last so that the
    earlier cases keep their random draws."""
    return [
        ("conv1d_same_stride2_even", layers.Conv1D(3, 4, strides=2, padding="same"), [(2, 10, 2)]),
        ("max_pooling1d_same_stride2_even", layers.MaxPooling1D(3, strides=2, padding="same"), [(2, 10, 3)]),
        ("average_pooling1d_same_stride2_odd", layers.AveragePooling1D(3, strides=2, padding="same"), [(2, 9, 2)]),
        ("average_pooling1d_same_stride2_even", layers.AveragePooling1D(2, strides=2, padding="same"), [(2, 10, 2)]),
        ("conv2d_same_stride2_even_odd", layers.Conv2D(3, 3, strides=2, padding="same"), [(2, 8, 7, 2)]),
        ("conv2d_same_stride2_k4", layers.Conv2D(2, 4, strides=2, padding="same"), [(2, 6, 9, 2)]),
        ("conv2d_dilation2_same", layers.Conv2D(3, 3, dilation_rate=2, padding="same"), [(2, 7, 6, 2)]),
        ("max_pooling2d_same_stride2_pool2", layers.MaxPooling2D(2, strides=2, padding="same"), [(2, 6, 7, 2)]),
        ("average_pooling2d_same_stride2_even", layers.AveragePooling2D(3, strides=2, padding="same"), [(2, 8, 6, 2)]),
        ("conv3d_same_stride2_even_odd", layers.Conv3D(2, 3, strides=2, padding="same"), [(2, 4, 6, 5, 2)]),
        ("max_pooling3d_same_stride2_even_odd", layers.MaxPooling3D(3, strides=2, padding="same"), [(2, 4, 6, 5, 2)]),
        ("average_pooling3d_same_stride2_even_odd", layers.AveragePooling3D(2, strides=2, padding="same"), [(2, 4, 6, 5, 2)]),
    ]


def layer_scale_with_gamma():
    from keras.src.applications.convnext import LayerScale
    layer = LayerScale(1e-6, 3)
    layer.build([2, 5, 6, 3])
    layer.set_weights([np.array([0.5, -1.5, 2.0], dtype=np.float32)])
    return layer


def application_layer_cases():
    """Layers and arguments the keras.applications models use (tools/make_keras_applications.py),
    plus the rest of their families. Listed last so that the earlier cases keep their draws."""
    from keras.src.applications.convnext import StochasticDepth
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    img = (2, 5, 6, 3)
    return [
        ("layer_scale", layer_scale_with_gamma(), [img]),
        ("custom_scale_layer", CustomScaleLayer(0.17), [img, img]),
        ("unit_normalization", layers.UnitNormalization(), [img]),
        ("unit_normalization_axes_1_2", layers.UnitNormalization(axis=[1, 2]), [img]),
        ("alpha_dropout_inference", layers.AlphaDropout(0.3), [img]),
        ("dropout_noise_shape_inference", layers.Dropout(0.3, noise_shape=(None, 1, 1, 3)), [img]),
        ("normalization_axis3", layers.Normalization(axis=3, mean=[0.5, -1.0, 2.0], variance=[4.0, 0.25, 1.0]), [img]),
        ("normalization_axis1", layers.Normalization(axis=1, mean=[0.5, -1.0, 2.0, 0.0, 1.0], variance=[4.0, 0.25, 1.0, 2.0, 0.5]), [img]),
        ("dot_negative_axis", layers.Dot(axes=-1), [(3, 5), (3, 5)]),
        ("dot_matrices_negative_axes", layers.Dot(axes=(-1, -1)), [(2, 3, 4), (2, 5, 4)]),
        ("activation_hard_silu", layers.Activation("hard_silu"), [img]),
        ("multiply_broadcast", layers.Multiply(), [img, (2, 1, 1, 3)]),
        ("identity", layers.Identity(), [img]),
        ("stochastic_depth_inference", StochasticDepth(0.3), [img]),
    ]


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    rng = np.random.default_rng(2026)
    all_cases = (
        cases()
        + [("batch_normalization_training", bn_with_moving_stats(), [(4, 5, 6, 3)])]
        + same_padding_size_cases()
        + application_layer_cases()
    )
    for name, layer, shapes in all_cases:
        if name in INTEGER_INPUT_CASES:
            xs = [rng.integers(0, 7, s).astype(np.float32) for s in shapes]
        else:
            xs = [rng.standard_normal(s).astype(np.float32) * 2 + 1 for s in shapes]
        d = os.path.join(OUT, name)
        os.makedirs(d)
        if not layer.built:
            layer.build(list(shapes[0]) if len(shapes) == 1 else [list(x) for x in shapes])
        if (("normalization" in name and "batch" not in name and name.startswith(("layer", "group")))) or "conv" in name:
            # Non-trivial gamma and beta, so their use is pinned too.
            layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for w in layer.get_weights()])
        weights = layer.get_weights()
        for i, w in enumerate(weights):
            np.save(os.path.join(d, f"w{i}.npy"), np.asarray(w, dtype=np.float32))
        training = name in TRAINING_CASES
        y = layer(xs if len(xs) > 1 else xs[0], training=training)
        y = np.asarray(y, dtype=np.float32)
        if training:
            for i, w in enumerate(layer.get_weights()):
                np.save(os.path.join(d, f"w{i}_after.npy"), np.asarray(w, dtype=np.float32))
        for i, x in enumerate(xs):
            np.save(os.path.join(d, f"x{i}.npy"), x)
        np.save(os.path.join(d, "y.npy"), y)
        with open(os.path.join(d, "layer.json"), "w") as f:
            json.dump({"class_name": layer.__class__.__name__, "config": layer.get_config(), "training": training}, f, indent=1)
            f.write("\n")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "# Keras layer fixtures\n\n"
            f"Made by `tools/make_keras_layer_fixtures.py` with Keras {keras.__version__} "
            "(numpy seed 2026). Each folder holds the inputs `x*.npy`, the inference output `y.npy` "
            "and `layer.json` (Keras's class name and `get_config()`).\n"
        )


if __name__ == "__main__":
    main()
