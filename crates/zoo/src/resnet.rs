//! ResNet 18/34/50 as torchvision 0.29 defines them (`torchvision.models.resnet`; ResNet-50
//! is "v1.5", striding in the bottleneck's 3x3 convolution), producing logits.
//!
//! Stride-2 3x3 and 7x7 convolutions pad explicitly (PyTorch pads both sides, Keras's "same"
//! only bottom/right); the stem's max pooling uses PyTorch's padding 1.

use crate::blocks::{add, batch_norm, conv, dense, max_pool, named, relu};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::GlobalAveragePooling2D;
use krust_nn::Activation::Linear;
use krust_nn::Result;

const EPS: f32 = 1e-5;

fn conv_bn(
    g: &Graph,
    (conv_name, bn_name): (&str, &str),
    x: &Symbol,
    filters: usize,
    kernel: usize,
    stride: usize,
) -> Result<Symbol> {
    let x = conv(
        g,
        conv_name,
        x,
        filters,
        kernel,
        stride,
        kernel / 2,
        false,
        Linear,
    )?;
    batch_norm(g, bn_name, &x, EPS)
}

/// One residual block `prefix` ("layer2.0"); `bottleneck` selects torchvision's Bottleneck
/// (expansion 4) over BasicBlock.
fn block(
    g: &Graph,
    prefix: &str,
    x: &Symbol,
    planes: usize,
    stride: usize,
    bottleneck: bool,
) -> Result<Symbol> {
    let n = |s: &str| format!("{prefix}.{s}");
    let (y, out_planes) = if bottleneck {
        let y = conv_bn(g, (&n("conv1"), &n("bn1")), x, planes, 1, 1)?;
        let y = relu(g, &n("relu1"), &y)?;
        let y = conv_bn(g, (&n("conv2"), &n("bn2")), &y, planes, 3, stride)?;
        let y = relu(g, &n("relu2"), &y)?;
        (
            conv_bn(g, (&n("conv3"), &n("bn3")), &y, planes * 4, 1, 1)?,
            planes * 4,
        )
    } else {
        let y = conv_bn(g, (&n("conv1"), &n("bn1")), x, planes, 3, stride)?;
        let y = relu(g, &n("relu1"), &y)?;
        (
            conv_bn(g, (&n("conv2"), &n("bn2")), &y, planes, 3, 1)?,
            planes,
        )
    };
    let in_planes = x.shape()[2];
    let shortcut = if stride != 1 || in_planes != out_planes {
        let d = (n("downsample.0"), n("downsample.1"));
        conv_bn(g, (&d.0, &d.1), x, out_planes, 1, stride)?
    } else {
        x.clone()
    };
    let y = add(g, &n("add"), &[&y, &shortcut])?;
    relu(g, &n("relu"), &y)
}

fn resnet(
    g: &Graph,
    x: &Symbol,
    classes: usize,
    blocks: [usize; 4],
    bottleneck: bool,
) -> Result<Symbol> {
    let x = conv_bn(g, ("conv1", "bn1"), x, 64, 7, 2)?;
    let x = relu(g, "relu", &x)?;
    let mut x = max_pool(g, "maxpool", &x, 3, 2, 1, false)?;
    for (stage, (&count, planes)) in blocks.iter().zip([64, 128, 256, 512]).enumerate() {
        for b in 0..count {
            let stride = if stage > 0 && b == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{b}", stage + 1);
            x = block(g, &prefix, &x, planes, stride, bottleneck)?;
        }
    }
    let x = named(g, "avgpool", GlobalAveragePooling2D::new(), &x)?;
    dense(g, "fc", &x, classes, Linear)
}

pub(crate) fn resnet18(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    resnet(g, x, classes, [2, 2, 2, 2], false)
}

pub(crate) fn resnet34(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    resnet(g, x, classes, [3, 4, 6, 3], false)
}

pub(crate) fn resnet50(g: &Graph, x: &Symbol, classes: usize) -> Result<Symbol> {
    resnet(g, x, classes, [3, 4, 6, 3], true)
}
