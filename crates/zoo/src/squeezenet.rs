//! SqueezeNet 1.1 as torchvision 0.29 defines it (`torchvision.models.squeezenet1_1`),
//! producing what its forward returns: the ReLU'd, globally averaged output of the final 1x1
//! convolution (non-negative "logits", as in torchvision).
//!
//! ReLUs are fused into the convolutions before them; max poolings use `ceil_mode=True`.

use crate::blocks::{concat, conv, dropout, max_pool, named};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::GlobalAveragePooling2D;
use krust_nn::Activation::Relu;
use krust_nn::Result;

/// torchvision's `Fire` module: a 1x1 squeeze, then 1x1 and 3x3 expansions concatenated.
fn fire(
    g: &Graph,
    name: &str,
    x: &Symbol,
    squeeze: usize,
    expand1x1: usize,
    expand3x3: usize,
) -> Result<Symbol> {
    let n = |s: &str| format!("{name}.{s}");
    let s = conv(g, &n("squeeze"), x, squeeze, 1, 1, 0, true, Relu)?;
    let a = conv(g, &n("expand1x1"), &s, expand1x1, 1, 1, 0, true, Relu)?;
    let b = conv(g, &n("expand3x3"), &s, expand3x3, 3, 1, 1, true, Relu)?;
    concat(g, &n("concat"), &[&a, &b])
}

pub(crate) fn squeezenet1_1(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    let x = conv(g, "features.0", x, 64, 3, 2, 0, true, Relu)?;
    let x = max_pool(g, "features.2", &x, 3, 2, 0, true)?;
    let x = fire(g, "features.3", &x, 16, 64, 64)?;
    let x = fire(g, "features.4", &x, 16, 64, 64)?;
    let x = max_pool(g, "features.5", &x, 3, 2, 0, true)?;
    let x = fire(g, "features.6", &x, 32, 128, 128)?;
    let x = fire(g, "features.7", &x, 32, 128, 128)?;
    let x = max_pool(g, "features.8", &x, 3, 2, 0, true)?;
    let x = fire(g, "features.9", &x, 48, 192, 192)?;
    let x = fire(g, "features.10", &x, 48, 192, 192)?;
    let x = fire(g, "features.11", &x, 64, 256, 256)?;
    let x = fire(g, "features.12", &x, 64, 256, 256)?;
    let x = dropout(g, "classifier.0", &x, 0.5)?;
    let x = conv(g, "classifier.1", &x, classes, 1, 1, 0, true, Relu)?;
    named(g, "classifier.3", GlobalAveragePooling2D::new(), &x)
}
