//! Named building blocks for the torchvision architectures: each layer with weights gets the
//! PyTorch module path as its name, so a torchvision state dict maps onto it by name.

use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{
    ActivationLayer, Add, BatchNormalization, Concatenate, Conv2D, Dense, Dropout, Layer,
    MaxPooling2D, ZeroPadding2D,
};
use krust_nn::{Activation, Result};
use krust_tensor::Padding;

/// Adds `layer` to the graph under `name` and calls it on `x`.
pub(crate) fn named(
    g: &Graph,
    name: &str,
    layer: impl Layer + 'static,
    x: &Symbol,
) -> Result<Symbol> {
    g.named_layer_boxed(name, Box::new(layer)).call(&[x])
}

/// PyTorch's `nn.Conv2d(kernel_size=k, stride, padding=pad, bias)` followed by `activation`.
/// Symmetric padding that equals Keras's "same" (stride 1, odd kernel, pad (k - 1) / 2) is
/// "same"; any other padding is an explicit `ZeroPadding2D` ("<name>.pad") before a "valid"
/// convolution, because "same" with stride 2 pads bottom/right only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv(
    g: &Graph,
    name: &str,
    x: &Symbol,
    filters: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    bias: bool,
    activation: Activation,
) -> Result<Symbol> {
    let mut layer = Conv2D::new(filters, (kernel, kernel))
        .with_strides((stride, stride))
        .with_activation(activation);
    layer.use_bias = bias;
    let input = if pad == 0 {
        x.clone()
    } else if stride == 1 && kernel % 2 == 1 && pad == (kernel - 1) / 2 {
        layer = layer.with_padding(Padding::Same);
        x.clone()
    } else {
        named(
            g,
            &format!("{name}.pad"),
            ZeroPadding2D::new(((pad, pad), (pad, pad))),
            x,
        )?
    };
    named(g, name, layer, &input)
}

/// PyTorch's `nn.BatchNorm2d(eps=epsilon)` with its default momentum 0.1 (Keras's 0.9).
pub(crate) fn batch_norm(g: &Graph, name: &str, x: &Symbol, epsilon: f32) -> Result<Symbol> {
    let mut bn = BatchNormalization::new();
    bn.epsilon = epsilon;
    bn.momentum = 0.9;
    named(g, name, bn, x)
}

pub(crate) fn relu(g: &Graph, name: &str, x: &Symbol) -> Result<Symbol> {
    named(g, name, ActivationLayer::new(Activation::Relu), x)
}

/// PyTorch's `nn.MaxPool2d(kernel, stride, padding, ceil_mode)`.
pub(crate) fn max_pool(
    g: &Graph,
    name: &str,
    x: &Symbol,
    kernel: usize,
    stride: usize,
    pad: usize,
    ceil_mode: bool,
) -> Result<Symbol> {
    let mut pool = MaxPooling2D::new((kernel, kernel))
        .with_strides((stride, stride))
        .with_ceil_mode(ceil_mode);
    if pad > 0 {
        pool = pool.with_explicit_padding(((pad, pad), (pad, pad)));
    }
    named(g, name, pool, x)
}

pub(crate) fn dense(
    g: &Graph,
    name: &str,
    x: &Symbol,
    units: usize,
    activation: Activation,
) -> Result<Symbol> {
    named(g, name, Dense::new(units).with_activation(activation), x)
}

pub(crate) fn dropout(g: &Graph, name: &str, x: &Symbol, rate: f32) -> Result<Symbol> {
    named(g, name, Dropout::new(rate), x)
}

/// `torch.cat(xs, 1)`: channels are the last axis here.
pub(crate) fn concat(g: &Graph, name: &str, xs: &[&Symbol]) -> Result<Symbol> {
    g.named_layer_boxed(name, Box::new(Concatenate::new(-1)))
        .call(xs)
}

pub(crate) fn add(g: &Graph, name: &str, xs: &[&Symbol]) -> Result<Symbol> {
    g.named_layer_boxed(name, Box::new(Add::new())).call(xs)
}
