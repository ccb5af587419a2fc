//! `DepthwiseConv2D`: each input channel convolved with its own `depth_multiplier` filters,
//! kernel (kh, kw, in, depth_multiplier) as in Keras; one grouped convolution with a group
//! per input channel.

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `DepthwiseConv2D(kernel_size, depth_multiplier)`.
    DepthwiseConv2D, DepthwiseConv2DClass, rank 2, Depthwise, (usize, usize)
);

impl DepthwiseConv2D {
    pub fn new(kernel_size: (usize, usize), depth_multiplier: usize) -> Self {
        Conv::with_kernel(0, kernel_size.to_axes()).with_depth_multiplier(depth_multiplier)
    }
}
