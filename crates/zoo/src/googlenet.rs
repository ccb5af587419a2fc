//! GoogLeNet (Inception v1) as torchvision 0.29 defines it with `aux_logits=False` and
//! `transform_input=False` (`torchvision.models.googlenet`), producing logits.
//!
//! Faithful to torchvision rather than the paper: every `BasicConv2d` is a bias-free
//! convolution, `BatchNorm2d(eps=0.001)` and ReLU, the "5x5" branch uses a 3x3 convolution,
//! and the max poolings use `ceil_mode=True`.

use crate::blocks::{batch_norm, concat, conv, dense, dropout, max_pool, named, relu};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::GlobalAveragePooling2D;
use krust_nn::Activation::Linear;
use krust_nn::Result;

/// torchvision's `BasicConv2d` named `name` (its layers are `<name>.conv` and `<name>.bn`).
fn basic_conv(
    g: &Graph,
    name: &str,
    x: &Symbol,
    filters: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
) -> Result<Symbol> {
    let x = conv(
        g,
        &format!("{name}.conv"),
        x,
        filters,
        kernel,
        stride,
        pad,
        false,
        Linear,
    )?;
    let x = batch_norm(g, &format!("{name}.bn"), &x, 1e-3)?;
    relu(g, &format!("{name}.relu"), &x)
}

/// One Inception module: 1x1, 1x1 -> 3x3, 1x1 -> 3x3 ("5x5"), 3x3 max pool -> 1x1 branches,
/// concatenated on channels in that order.
#[allow(clippy::too_many_arguments)]
fn inception(
    g: &Graph,
    name: &str,
    x: &Symbol,
    ch1x1: usize,
    ch3x3red: usize,
    ch3x3: usize,
    ch5x5red: usize,
    ch5x5: usize,
    pool_proj: usize,
) -> Result<Symbol> {
    let n = |s: &str| format!("{name}.{s}");
    let b1 = basic_conv(g, &n("branch1"), x, ch1x1, 1, 1, 0)?;
    let b2 = basic_conv(g, &n("branch2.0"), x, ch3x3red, 1, 1, 0)?;
    let b2 = basic_conv(g, &n("branch2.1"), &b2, ch3x3, 3, 1, 1)?;
    let b3 = basic_conv(g, &n("branch3.0"), x, ch5x5red, 1, 1, 0)?;
    let b3 = basic_conv(g, &n("branch3.1"), &b3, ch5x5, 3, 1, 1)?;
    let b4 = max_pool(g, &n("branch4.0"), x, 3, 1, 1, true)?;
    let b4 = basic_conv(g, &n("branch4.1"), &b4, pool_proj, 1, 1, 0)?;
    concat(g, &n("concat"), &[&b1, &b2, &b3, &b4])
}

pub(crate) fn googlenet(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    let x = basic_conv(g, "conv1", x, 64, 7, 2, 3)?;
    let x = max_pool(g, "maxpool1", &x, 3, 2, 0, true)?;
    let x = basic_conv(g, "conv2", &x, 64, 1, 1, 0)?;
    let x = basic_conv(g, "conv3", &x, 192, 3, 1, 1)?;
    let x = max_pool(g, "maxpool2", &x, 3, 2, 0, true)?;
    let x = inception(g, "inception3a", &x, 64, 96, 128, 16, 32, 32)?;
    let x = inception(g, "inception3b", &x, 128, 128, 192, 32, 96, 64)?;
    let x = max_pool(g, "maxpool3", &x, 3, 2, 0, true)?;
    let x = inception(g, "inception4a", &x, 192, 96, 208, 16, 48, 64)?;
    let x = inception(g, "inception4b", &x, 160, 112, 224, 24, 64, 64)?;
    let x = inception(g, "inception4c", &x, 128, 128, 256, 24, 64, 64)?;
    let x = inception(g, "inception4d", &x, 112, 144, 288, 32, 64, 64)?;
    let x = inception(g, "inception4e", &x, 256, 160, 320, 32, 128, 128)?;
    let x = max_pool(g, "maxpool4", &x, 2, 2, 0, true)?;
    let x = inception(g, "inception5a", &x, 256, 160, 320, 32, 128, 128)?;
    let x = inception(g, "inception5b", &x, 384, 192, 384, 48, 128, 128)?;
    let x = named(g, "avgpool", GlobalAveragePooling2D::new(), &x)?;
    let x = dropout(g, "dropout", &x, 0.2)?;
    dense(g, "fc", &x, classes, Linear)
}
