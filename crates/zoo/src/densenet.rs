//! DenseNet-121 as torchvision 0.29 defines it (`torchvision.models.densenet121`: growth 32,
//! blocks 6-12-24-16, bottleneck 4x, no dropout), producing logits.
//!
//! Each dense layer reads the concatenation of the block's input and all earlier layers'
//! outputs, in that order, exactly as torchvision's `torch.cat(features, 1)`.

use crate::blocks::{batch_norm, concat, conv, dense, max_pool, named, relu};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{AveragePooling2D, GlobalAveragePooling2D};
use krust_nn::Activation::Linear;
use krust_nn::Result;

const EPS: f32 = 1e-5;
const GROWTH: usize = 32;
const BOTTLENECK: usize = 4;

/// `_DenseLayer`: norm1, relu1, 1x1 conv1 to 4 * growth, norm2, relu2, 3x3 conv2 to growth.
fn dense_layer(g: &Graph, name: &str, x: &Symbol) -> Result<Symbol> {
    let n = |s: &str| format!("{name}.{s}");
    let y = batch_norm(g, &n("norm1"), x, EPS)?;
    let y = relu(g, &n("relu1"), &y)?;
    let y = conv(
        g,
        &n("conv1"),
        &y,
        BOTTLENECK * GROWTH,
        1,
        1,
        0,
        false,
        Linear,
    )?;
    let y = batch_norm(g, &n("norm2"), &y, EPS)?;
    let y = relu(g, &n("relu2"), &y)?;
    conv(g, &n("conv2"), &y, GROWTH, 3, 1, 1, false, Linear)
}

/// `_Transition`: norm, relu, 1x1 conv halving the channels, 2x2 average pooling.
fn transition(g: &Graph, name: &str, x: &Symbol) -> Result<Symbol> {
    let n = |s: &str| format!("{name}.{s}");
    let channels = x.shape()[2] / 2;
    let y = batch_norm(g, &n("norm"), x, EPS)?;
    let y = relu(g, &n("relu"), &y)?;
    let y = conv(g, &n("conv"), &y, channels, 1, 1, 0, false, Linear)?;
    named(g, &n("pool"), AveragePooling2D::new((2, 2)), &y)
}

pub(crate) fn densenet121(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    let x = conv(g, "features.conv0", x, 64, 7, 2, 3, false, Linear)?;
    let x = batch_norm(g, "features.norm0", &x, EPS)?;
    let x = relu(g, "features.relu0", &x)?;
    let mut x = max_pool(g, "features.pool0", &x, 3, 2, 1, false)?;
    let blocks = [6, 12, 24, 16];
    for (b, &layers) in blocks.iter().enumerate() {
        let block = format!("features.denseblock{}", b + 1);
        let mut features = vec![x.clone()];
        for l in 1..=layers {
            let layer = format!("{block}.denselayer{l}");
            let input = if features.len() == 1 {
                x.clone()
            } else {
                let refs: Vec<&Symbol> = features.iter().collect();
                concat(g, &format!("{layer}.input_concat"), &refs)?
            };
            features.push(dense_layer(g, &layer, &input)?);
        }
        let refs: Vec<&Symbol> = features.iter().collect();
        x = concat(g, &format!("{block}.concat"), &refs)?;
        if b + 1 < blocks.len() {
            x = transition(g, &format!("features.transition{}", b + 1), &x)?;
        }
    }
    let x = batch_norm(g, "features.norm5", &x, EPS)?;
    let x = relu(g, "relu", &x)?;
    let x = named(g, "avgpool", GlobalAveragePooling2D::new(), &x)?;
    dense(g, "classifier", &x, classes, Linear)
}
