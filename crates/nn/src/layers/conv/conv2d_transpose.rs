//! `Conv2DTranspose`: the transpose (input gradient) of a 2-D convolution, used to upsample;
//! kernel (kh, kw, filters, in_channels) and output lengths as in Keras (see
//! `transpose_output_length`).

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `Conv2DTranspose(filters, kernel_size)`.
    Conv2DTranspose, Conv2DTransposeClass, rank 2, Transposed, (usize, usize)
);

impl Conv2DTranspose {
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
