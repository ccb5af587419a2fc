//! `SeparableConv2D`: a depthwise convolution followed by a 1x1 pointwise one, as in Keras.

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `SeparableConv2D(filters, kernel_size)`.
    SeparableConv2D, SeparableConv2DClass, rank 2, Separable, (usize, usize)
);

impl SeparableConv2D {
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
