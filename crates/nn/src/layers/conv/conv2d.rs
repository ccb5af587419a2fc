//! `Conv2D`: channels-last 2-D convolution, kernel (kh, kw, in / groups, filters) as in Keras.

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `Conv2D(filters, kernel_size)`.
    Conv2D, Conv2DClass, rank 2, Regular, (usize, usize)
);

impl Conv2D {
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
