//! The two layer builders every mobile block uses (MobileNet v1/v2, EfficientNet-Lite): a
//! bias-free depthwise convolution and a batch normalization with given statistics settings.

use krust_nn::layers::{BatchNormalization, DepthwiseConv2D};
use krust_tensor::Padding;

/// A square depthwise convolution without bias (every mobile block normalizes right after,
/// so a bias would only duplicate BatchNormalization's beta).
pub(crate) fn depthwise_no_bias(kernel: usize, stride: usize, padding: Padding) -> DepthwiseConv2D {
    let mut conv = DepthwiseConv2D::new((kernel, kernel), 1)
        .with_strides((stride, stride))
        .with_padding(padding);
    conv.use_bias = false;
    conv
}

/// BatchNormalization with a Keras momentum (PyTorch's momentum m is Keras's 1 - m).
pub(crate) fn batch_norm(momentum: f32, epsilon: f32) -> BatchNormalization {
    let mut bn = BatchNormalization::new();
    bn.momentum = momentum;
    bn.epsilon = epsilon;
    bn
}
