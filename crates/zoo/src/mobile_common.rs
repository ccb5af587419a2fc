//! Pieces shared by the mobile architectures: bias-free depthwise convolutions and their
//! batch normalization.

use krust_nn::layers::{BatchNormalization, DepthwiseConv2D};
use krust_nn::Result;
use krust_tensor::Padding;

/// A square depthwise convolution without bias (every mobile block normalizes right after,
/// so a bias would only duplicate BatchNormalization's beta).
pub(crate) fn depthwise_no_bias(
    kernel: usize,
    stride: usize,
    padding: Padding,
) -> Result<DepthwiseConv2D> {
    // The builder has no bias switch; the Keras config does.
    DepthwiseConv2D::from_config(&serde_json::json!({
        "kernel_size": [kernel, kernel],
        "strides": [stride, stride],
        "padding": krust_nn::config::padding_name(padding),
        "use_bias": false,
    }))
}

/// BatchNormalization with a Keras momentum (PyTorch's momentum m is Keras's 1 - m).
pub(crate) fn batch_norm(momentum: f32, epsilon: f32) -> BatchNormalization {
    let mut bn = BatchNormalization::new();
    bn.momentum = momentum;
    bn.epsilon = epsilon;
    bn
}
