//! VGG 11/16/19, with and without batch normalization, as torchvision 0.29 defines them
//! (`torchvision.models.vgg`), producing logits.
//!
//! Without batch normalization each ReLU is fused into the convolution or linear layer before
//! it; with it, a convolution (with bias, as in torchvision) is followed by its
//! `BatchNorm2d(eps=1e-5)` and a ReLU layer, at consecutive `features.<i>` indices.

use crate::alexnet::flatten_channels_first;
use crate::blocks::{batch_norm, conv, dense, dropout, max_pool, named, relu};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::AdaptiveAveragePooling2D;
use krust_nn::Activation::{Linear, Relu};
use krust_nn::Result;

/// torchvision's `cfgs`: a number is a 3x3 convolution with that many filters, 0 is a 2x2
/// max pooling.
const A: &[usize] = &[64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
const D: &[usize] = &[
    64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
];
const E: &[usize] = &[
    64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0,
];

fn vgg(g: &Graph, x: &Symbol, classes: usize, cfg: &[usize], bn: bool) -> Result<Symbol> {
    let mut x = x.clone();
    let mut i = 0;
    for &filters in cfg {
        if filters == 0 {
            x = max_pool(g, &format!("features.{i}"), &x, 2, 2, 0, false)?;
            i += 1;
        } else if bn {
            x = conv(
                g,
                &format!("features.{i}"),
                &x,
                filters,
                3,
                1,
                1,
                true,
                Linear,
            )?;
            x = batch_norm(g, &format!("features.{}", i + 1), &x, 1e-5)?;
            x = relu(g, &format!("features.{}", i + 2), &x)?;
            i += 3;
        } else {
            x = conv(
                g,
                &format!("features.{i}"),
                &x,
                filters,
                3,
                1,
                1,
                true,
                Relu,
            )?;
            i += 2;
        }
    }
    let x = named(g, "avgpool", AdaptiveAveragePooling2D::new((7, 7)), &x)?;
    let x = flatten_channels_first(g, &x)?;
    let x = dense(g, "classifier.0", &x, 4096, Relu)?;
    let x = dropout(g, "classifier.2", &x, 0.5)?;
    let x = dense(g, "classifier.3", &x, 4096, Relu)?;
    let x = dropout(g, "classifier.5", &x, 0.5)?;
    dense(g, "classifier.6", &x, classes, Linear)
}

pub(crate) fn vgg11(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, A, false)
}

pub(crate) fn vgg16(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, D, false)
}

pub(crate) fn vgg19(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, E, false)
}

pub(crate) fn vgg11_bn(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, A, true)
}

pub(crate) fn vgg16_bn(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, D, true)
}

pub(crate) fn vgg19_bn(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    vgg(g, x, classes, E, true)
}
