//! EfficientNet-Lite0 as PyPI `efficientnet-lite-pytorch` 0.1.0 defines it (ReLU6, no
//! squeeze-and-excitation, fixed stem and head, TF-style `same` padding), every weight layer
//! named as in its state dict so the published lite0 weights map onto it by name.
//!
//! Its Conv2dStaticSamePadding pads like TensorFlow's `same` (the odd extra row and column at
//! the bottom and right), which is Keras `same`; the padding is computed for the actual input
//! size here, as the package's dynamic variant does (the static one fixes it for 224x224, where
//! both agree).

use crate::blocks::named;
use crate::depthwise_bn::{batch_norm, depthwise_no_bias};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{ActivationLayer, Add, Conv2D, Dense, Dropout, GlobalAveragePooling2D};
use krust_nn::{Activation, Result};
use krust_tensor::Padding;

/// The package's global params: batch_norm_momentum 0.99 (PyTorch momentum 0.01, Keras 0.99)
/// and batch_norm_epsilon 1e-3.
const BN_MOMENTUM: f32 = 0.99;
const BN_EPSILON: f32 = 1e-3;
const DROPOUT: f32 = 0.2;
/// The largest stochastic-depth rate, scaled by block index / block count.
const DROP_CONNECT: f32 = 0.2;
const STEM: usize = 32;
const HEAD: usize = 1280;

/// One stage of `efficientnet_lite`'s block strings (width and depth 1.0 for lite0, so no
/// rounding applies): repeats, kernel, first stride, expansion, input and output filters.
struct Stage {
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    input: usize,
    output: usize,
}

const STAGES: [Stage; 7] = [
    Stage {
        repeats: 1,
        kernel: 3,
        stride: 1,
        expand: 1,
        input: 32,
        output: 16,
    },
    Stage {
        repeats: 2,
        kernel: 3,
        stride: 2,
        expand: 6,
        input: 16,
        output: 24,
    },
    Stage {
        repeats: 2,
        kernel: 5,
        stride: 2,
        expand: 6,
        input: 24,
        output: 40,
    },
    Stage {
        repeats: 3,
        kernel: 3,
        stride: 2,
        expand: 6,
        input: 40,
        output: 80,
    },
    Stage {
        repeats: 3,
        kernel: 5,
        stride: 1,
        expand: 6,
        input: 80,
        output: 112,
    },
    Stage {
        repeats: 4,
        kernel: 5,
        stride: 2,
        expand: 6,
        input: 112,
        output: 192,
    },
    Stage {
        repeats: 1,
        kernel: 3,
        stride: 1,
        expand: 6,
        input: 192,
        output: 320,
    },
];

fn conv1x1(g: &Graph, name: &str, x: &Symbol, filters: usize) -> Result<Symbol> {
    let mut conv = Conv2D::new(filters, (1, 1));
    conv.use_bias = false;
    named(g, name, conv, x)
}

fn relu6(g: &Graph, name: &str, x: &Symbol) -> Result<Symbol> {
    named(g, name, ActivationLayer::new(Activation::Relu6), x)
}

/// One MBConvBlock `_blocks.<index>` (all id_skip): 1x1 expansion unless the ratio is 1,
/// depthwise conv, linear 1x1 projection; the identity shortcut when stride 1 keeps the
/// channels, with drop-connect at `drop_rate` on the residual branch in training.
#[allow(clippy::too_many_arguments)]
fn mb_conv_block(
    g: &Graph,
    index: usize,
    x: &Symbol,
    kernel: usize,
    stride: usize,
    expand: usize,
    output: usize,
    drop_rate: f32,
) -> Result<Symbol> {
    let p = format!("_blocks.{index}");
    let input = x.shape()[2];
    let hidden = input * expand;
    let mut y = x.clone();
    if expand != 1 {
        y = conv1x1(g, &format!("{p}._expand_conv"), &y, hidden)?;
        y = named(
            g,
            &format!("{p}._bn0"),
            batch_norm(BN_MOMENTUM, BN_EPSILON),
            &y,
        )?;
        y = relu6(g, &format!("{p}._expand_relu6"), &y)?;
    }
    y = named(
        g,
        &format!("{p}._depthwise_conv"),
        depthwise_no_bias(kernel, stride, Padding::Same),
        &y,
    )?;
    y = named(
        g,
        &format!("{p}._bn1"),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &y,
    )?;
    y = relu6(g, &format!("{p}._depthwise_relu6"), &y)?;
    y = conv1x1(g, &format!("{p}._project_conv"), &y, output)?;
    y = named(
        g,
        &format!("{p}._bn2"),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &y,
    )?;
    if stride == 1 && input == output {
        if drop_rate > 0.0 {
            y = named(
                g,
                &format!("{p}._drop_connect"),
                drop_connect(drop_rate),
                &y,
            )?;
        }
        y = g
            .named_layer_boxed(&format!("{p}._add"), Box::new(Add::new()))
            .call(&[&y, x])?;
    }
    Ok(y)
}

/// Stochastic depth: in training the whole residual branch of a sample is dropped with
/// probability `rate` and kept ones are scaled by 1 / (1 - rate), the package's
/// `drop_connect`; at inference it is the identity. Keras spells it as Dropout with
/// noise_shape (None, 1, 1, 1), as its own EfficientNet does.
fn drop_connect(rate: f32) -> Dropout {
    Dropout::new(rate).with_noise_shape(&[None, Some(1), Some(1), Some(1)])
}

/// EfficientNet-Lite0 for `input_shape` (h, w, c), ending with logits.
pub(crate) fn efficientnet_lite0(g: &Graph, inputs: &Symbol, classes: usize) -> Result<Symbol> {
    let mut stem = Conv2D::new(STEM, (3, 3))
        .with_strides((2, 2))
        .with_padding(Padding::Same);
    stem.use_bias = false;
    let mut x = named(g, "_conv_stem", stem, inputs)?;
    x = named(g, "_bn0", batch_norm(BN_MOMENTUM, BN_EPSILON), &x)?;
    x = relu6(g, "_stem_relu6", &x)?;
    let total: usize = STAGES.iter().map(|s| s.repeats).sum();
    let mut index = 0;
    for stage in &STAGES {
        debug_assert_eq!(x.shape()[2], stage.input);
        for r in 0..stage.repeats {
            let stride = if r == 0 { stage.stride } else { 1 };
            // The package scales the rate by the block's position among all blocks.
            let drop_rate = DROP_CONNECT * index as f32 / total as f32;
            x = mb_conv_block(
                g,
                index,
                &x,
                stage.kernel,
                stride,
                stage.expand,
                stage.output,
                drop_rate,
            )?;
            index += 1;
        }
    }
    x = conv1x1(g, "_conv_head", &x, HEAD)?;
    x = named(g, "_bn1", batch_norm(BN_MOMENTUM, BN_EPSILON), &x)?;
    x = relu6(g, "_head_relu6", &x)?;
    x = named(g, "_avg_pooling", GlobalAveragePooling2D::new(), &x)?;
    x = named(g, "_dropout", Dropout::new(DROPOUT), &x)?;
    let logits = named(g, "_fc", Dense::new(classes), &x)?;
    Ok(logits)
}
