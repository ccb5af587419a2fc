//! MobileNet v2 exactly as torchvision 0.29 defines it (width 1.0, channels rounded to
//! multiples of 8, dropout 0.2), every weight layer named by its PyTorch module path so that a
//! torchvision state dict maps onto it by name.

use crate::blocks::named;
use crate::depthwise_bn::{batch_norm, depthwise_no_bias};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::initializers::{FanMode, Initializer, ScalingDistribution};
use krust_nn::layers::{
    ActivationLayer, Add, Conv2D, Dense, Dropout, GlobalAveragePooling2D, ZeroPadding2D,
};
use krust_nn::{Activation, Result};
use krust_tensor::Padding;

/// torchvision's BatchNorm2d defaults: eps 1e-5, momentum 0.1 (Keras momentum 0.9).
const BN_MOMENTUM: f32 = 0.9;
const BN_EPSILON: f32 = 1e-5;

/// (expansion t, output channels c, repeats n, first stride s), torchvision's table.
const INVERTED_RESIDUAL_SETTING: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// torchvision initializes convolutions with kaiming_normal_(mode="fan_out").
fn kaiming_fan_out() -> Initializer {
    Initializer::VarianceScaling {
        scale: 2.0,
        mode: FanMode::FanOut,
        distribution: ScalingDistribution::UntruncatedNormal,
    }
}

/// A square convolution without bias, with PyTorch's symmetric padding (k - 1) / 2: Keras
/// `same` where that is identical (stride 1), else explicit zero padding then `valid`, since
/// Keras's `same` at stride 2 would pad only the bottom and right of even-sized inputs.
fn conv(
    g: &Graph,
    name: &str,
    x: &Symbol,
    filters: usize,
    kernel: usize,
    stride: usize,
) -> Result<Symbol> {
    let (x, padding) = torch_padding(g, name, x, kernel, stride)?;
    let mut layer = Conv2D::new(filters, (kernel, kernel))
        .with_strides((stride, stride))
        .with_padding(padding);
    layer.use_bias = false;
    layer.kernel_initializer = kaiming_fan_out();
    named(g, name, layer, &x)
}

fn depthwise(g: &Graph, name: &str, x: &Symbol, stride: usize) -> Result<Symbol> {
    let (x, padding) = torch_padding(g, name, x, 3, stride)?;
    let mut layer = depthwise_no_bias(3, stride, padding);
    layer.depthwise_initializer = kaiming_fan_out();
    named(g, name, layer, &x)
}

/// PyTorch's padding (k - 1) / 2 on every side, as a Keras padding mode (plus a
/// `<name>.pad` ZeroPadding2D where `same` would differ).
fn torch_padding(
    g: &Graph,
    name: &str,
    x: &Symbol,
    kernel: usize,
    stride: usize,
) -> Result<(Symbol, Padding)> {
    let p = (kernel - 1) / 2;
    if p == 0 {
        return Ok((x.clone(), Padding::Valid));
    }
    if stride == 1 && kernel % 2 == 1 {
        return Ok((x.clone(), Padding::Same));
    }
    let padded = named(
        g,
        &format!("{name}.pad"),
        ZeroPadding2D::new(((p, p), (p, p))),
        x,
    )?;
    Ok((padded, Padding::Valid))
}

/// The convolution of a Conv2dNormActivation.
enum ConvKind {
    /// A square convolution with `filters` outputs.
    Full { filters: usize, kernel: usize },
    /// A 3x3 depthwise convolution.
    Depthwise,
}

/// torchvision's Conv2dNormActivation: `<prefix>.0` conv, `<prefix>.1` BatchNorm,
/// `<prefix>.2` ReLU6.
fn conv_bn_relu6(
    g: &Graph,
    prefix: &str,
    x: &Symbol,
    kind: ConvKind,
    stride: usize,
) -> Result<Symbol> {
    let conv_name = format!("{prefix}.0");
    let y = match kind {
        ConvKind::Full { filters, kernel } => conv(g, &conv_name, x, filters, kernel, stride)?,
        ConvKind::Depthwise => depthwise(g, &conv_name, x, stride)?,
    };
    let y = named(
        g,
        &format!("{prefix}.1"),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &y,
    )?;
    named(
        g,
        &format!("{prefix}.2"),
        ActivationLayer::new(Activation::Relu6),
        &y,
    )
}

/// torchvision's InvertedResidual `features.<index>`: optional 1x1 expansion, 3x3
/// depthwise, linear 1x1 projection, and the identity shortcut when stride 1 keeps channels.
fn inverted_residual(
    g: &Graph,
    index: usize,
    x: &Symbol,
    out_channels: usize,
    stride: usize,
    expand_ratio: usize,
) -> Result<Symbol> {
    let in_channels = x.shape()[2];
    let hidden = in_channels * expand_ratio;
    let p = format!("features.{index}.conv");
    let mut y = x.clone();
    let mut part = 0;
    if expand_ratio != 1 {
        let expand = ConvKind::Full {
            filters: hidden,
            kernel: 1,
        };
        y = conv_bn_relu6(g, &format!("{p}.{part}"), &y, expand, 1)?;
        part += 1;
    }
    y = conv_bn_relu6(g, &format!("{p}.{part}"), &y, ConvKind::Depthwise, stride)?;
    y = conv(g, &format!("{p}.{}", part + 1), &y, out_channels, 1, 1)?;
    y = named(
        g,
        &format!("{p}.{}", part + 2),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &y,
    )?;
    if stride == 1 && in_channels == out_channels {
        y = g
            .named_layer_boxed(&format!("features.{index}.add"), Box::new(Add::new()))
            .call(&[x, &y])?;
    }
    Ok(y)
}

/// torchvision's `_make_divisible`: the nearest multiple of `divisor` (at least `divisor`),
/// rounded up by one step if rounding lost more than 10%.
fn make_divisible(v: f32, divisor: usize) -> usize {
    let d = divisor as f32;
    let mut new_v = ((v + d / 2.0) / d).floor() as usize * divisor;
    new_v = new_v.max(divisor);
    if (new_v as f32) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// MobileNet v2 (torchvision, width 1.0) for `input_shape` (h, w, c), ending with logits.
pub(crate) fn mobilenet_v2(g: &Graph, inputs: &Symbol, classes: usize) -> Result<Symbol> {
    let width = 1.0f32;
    let stem = ConvKind::Full {
        filters: make_divisible(32.0 * width, 8),
        kernel: 3,
    };
    let mut x = conv_bn_relu6(g, "features.0", inputs, stem, 2)?;
    let mut index = 1;
    for (t, c, n, s) in INVERTED_RESIDUAL_SETTING {
        let out = make_divisible(c as f32 * width, 8);
        for i in 0..n {
            let stride = if i == 0 { s } else { 1 };
            x = inverted_residual(g, index, &x, out, stride, t)?;
            index += 1;
        }
    }
    let last = ConvKind::Full {
        filters: make_divisible(1280.0 * width.max(1.0), 8),
        kernel: 1,
    };
    x = conv_bn_relu6(g, &format!("features.{index}"), &x, last, 1)?;
    x = named(g, "avgpool", GlobalAveragePooling2D::new(), &x)?;
    x = named(g, "classifier.0", Dropout::new(0.2), &x)?;
    let mut fc = Dense::new(classes);
    fc.kernel_initializer = Initializer::RandomNormal {
        mean: 0.0,
        stddev: 0.01,
    };
    let logits = named(g, "classifier.1", fc, &x)?;
    Ok(logits)
}

#[cfg(test)]
mod tests {
    use super::make_divisible;

    #[test]
    fn make_divisible_rounds_like_torchvision() {
        assert_eq!(make_divisible(32.0, 8), 32);
        assert_eq!(make_divisible(1280.0, 8), 1280);
        assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
        assert_eq!(make_divisible(24.0 * 0.5, 8), 16);
        assert_eq!(make_divisible(3.0, 8), 8);
    }
}
