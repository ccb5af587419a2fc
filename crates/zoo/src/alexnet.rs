//! AlexNet as torchvision 0.29 defines it (`torchvision.models.alexnet`), producing logits.
//!
//! Each ReLU that directly follows a convolution or linear layer is fused into it (PyTorch's
//! `features.1` lives inside `features.0`); weightless layers keep their PyTorch path as name.

use crate::blocks::{conv, dense, dropout, max_pool, named};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{AdaptiveAveragePooling2D, Flatten, Permute};
use krust_nn::Activation::{Linear, Relu};
use krust_nn::Result;

pub(crate) fn alexnet(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    let x = conv(g, "features.0", x, 64, 11, 4, 2, true, Relu)?;
    let x = max_pool(g, "features.2", &x, 3, 2, 0, false)?;
    let x = conv(g, "features.3", &x, 192, 5, 1, 2, true, Relu)?;
    let x = max_pool(g, "features.5", &x, 3, 2, 0, false)?;
    let x = conv(g, "features.6", &x, 384, 3, 1, 1, true, Relu)?;
    let x = conv(g, "features.8", &x, 256, 3, 1, 1, true, Relu)?;
    let x = conv(g, "features.10", &x, 256, 3, 1, 1, true, Relu)?;
    let x = max_pool(g, "features.12", &x, 3, 2, 0, false)?;
    let x = named(g, "avgpool", AdaptiveAveragePooling2D::new((6, 6)), &x)?;
    let x = flatten_channels_first(g, &x)?;
    let x = dropout(g, "classifier.0", &x, 0.5)?;
    let x = dense(g, "classifier.1", &x, 4096, Relu)?;
    let x = dropout(g, "classifier.3", &x, 0.5)?;
    let x = dense(g, "classifier.4", &x, 4096, Relu)?;
    dense(g, "classifier.6", &x, classes, Linear)
}

/// `torch.flatten(x, 1)` of an NCHW map: (c, h, w) order, so the first linear layer's weight
/// matrix is PyTorch's as is.
pub(crate) fn flatten_channels_first(g: &Graph, x: &Symbol) -> Result<Symbol> {
    let x = named(g, "flatten.channels_first", Permute::new(&[3, 1, 2]), x)?;
    named(g, "flatten", Flatten::new(), &x)
}
