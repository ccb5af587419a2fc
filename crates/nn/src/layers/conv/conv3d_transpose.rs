//! `Conv3DTranspose`: the transpose (input gradient) of a 3-D convolution, kernel (kd, kh,
//! kw, filters, in_channels) as in Keras; one native 3-D kernel call (`Var::conv3d_transpose`).

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `Conv3DTranspose(filters, kernel_size)`.
    Conv3DTranspose, Conv3DTransposeClass, rank 3, Transposed, [usize; 3]
);

impl Conv3DTranspose {
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
