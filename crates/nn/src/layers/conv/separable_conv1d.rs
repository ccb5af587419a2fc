//! `SeparableConv1D`: a depthwise convolution over (steps, channels) followed by a pointwise
//! (kernel size 1) one, as in Keras.

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `SeparableConv1D(filters, kernel_size)`.
    SeparableConv1D, SeparableConv1DClass, rank 1, Separable, usize
);

impl SeparableConv1D {
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
