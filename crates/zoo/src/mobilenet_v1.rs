//! MobileNet (v1) exactly as Keras applications define it (alpha 1.0, depth multiplier 1,
//! dropout 1e-3, Keras's layer names), with the top ending in logits
//! (classifier_activation=None).

use crate::blocks::named;
use crate::depthwise_bn::{batch_norm, depthwise_no_bias};
use krust_nn::functional::{Graph, Symbol};
use krust_nn::layers::{
    ActivationLayer, Conv2D, Dropout, GlobalAveragePooling2D, ReLU, Reshape, ZeroPadding2D,
};
use krust_nn::{Activation, Result};
use krust_tensor::Padding;

/// Keras's BatchNormalization defaults, which MobileNet keeps.
const BN_MOMENTUM: f32 = 0.99;
const BN_EPSILON: f32 = 1e-3;

/// (pointwise filters, stride) of depthwise blocks 1..=13.
const BLOCKS: [(usize, usize); 13] = [
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
];

fn relu6(g: &Graph, name: &str, x: &Symbol) -> Result<Symbol> {
    named(g, name, ReLU::new(Some(6.0), 0.0, 0.0), x)
}

/// Keras's `_conv_block`: conv1 (3x3, stride 2, same, no bias), conv1_bn, conv1_relu.
fn conv_block(g: &Graph, x: &Symbol, filters: usize) -> Result<Symbol> {
    let mut conv = Conv2D::new(filters, (3, 3))
        .with_strides((2, 2))
        .with_padding(Padding::Same);
    conv.use_bias = false;
    let x = named(g, "conv1", conv, x)?;
    let x = named(g, "conv1_bn", batch_norm(BN_MOMENTUM, BN_EPSILON), &x)?;
    relu6(g, "conv1_relu", &x)
}

/// Keras's `_depthwise_conv_block`: at stride 2 the input is padded on the bottom and right
/// only (conv_pad_<id>) before a `valid` depthwise conv; then BN, ReLU6, 1x1 pointwise conv,
/// BN, ReLU6.
fn depthwise_block(
    g: &Graph,
    x: &Symbol,
    filters: usize,
    stride: usize,
    id: usize,
) -> Result<Symbol> {
    let (x, padding) = if stride == 1 {
        (x.clone(), Padding::Same)
    } else {
        let padded = named(
            g,
            &format!("conv_pad_{id}"),
            ZeroPadding2D::new(((0, 1), (0, 1))),
            x,
        )?;
        (padded, Padding::Valid)
    };
    let x = named(
        g,
        &format!("conv_dw_{id}"),
        depthwise_no_bias(3, stride, padding),
        &x,
    )?;
    let x = named(
        g,
        &format!("conv_dw_{id}_bn"),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &x,
    )?;
    let x = relu6(g, &format!("conv_dw_{id}_relu"), &x)?;
    let mut pointwise = Conv2D::new(filters, (1, 1)).with_padding(Padding::Same);
    pointwise.use_bias = false;
    let x = named(g, &format!("conv_pw_{id}"), pointwise, &x)?;
    let x = named(
        g,
        &format!("conv_pw_{id}_bn"),
        batch_norm(BN_MOMENTUM, BN_EPSILON),
        &x,
    )?;
    relu6(g, &format!("conv_pw_{id}_relu"), &x)
}

/// Keras's MobileNet (alpha 1.0) for `input_shape` (h, w, c), ending with logits.
pub(crate) fn mobilenet_v1(g: &Graph, inputs: &Symbol, classes: usize) -> Result<Symbol> {
    let mut x = conv_block(g, inputs, 32)?;
    for (i, &(filters, stride)) in BLOCKS.iter().enumerate() {
        x = depthwise_block(g, &x, filters, stride, i + 1)?;
    }
    x = named(
        g,
        "global_average_pooling2d",
        GlobalAveragePooling2D::with_keepdims(true),
        &x,
    )?;
    x = named(g, "dropout", Dropout::new(1e-3), &x)?;
    x = named(
        g,
        "conv_preds",
        Conv2D::new(classes, (1, 1)).with_padding(Padding::Same),
        &x,
    )?;
    x = named(g, "reshape_2", Reshape::new(&[classes as isize]), &x)?;
    let logits = named(
        g,
        "predictions",
        ActivationLayer::new(Activation::Linear),
        &x,
    )?;
    Ok(logits)
}
