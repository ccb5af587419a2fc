//! `Conv3D` over (depth, height, width, channels), kernel (kd, kh, kw, in / groups, filters)
//! as in Keras: one 3-D kernel call and one tape node, grouped or not.

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `Conv3D(filters, kernel_size)`.
    Conv3D, Conv3DClass, rank 3, Regular, [usize; 3]
);

impl Conv3D {
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
