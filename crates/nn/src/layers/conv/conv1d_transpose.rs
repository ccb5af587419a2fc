//! `Conv1DTranspose`: the transpose (input gradient) of a 1-D convolution over (steps,
//! channels), used to upsample; kernel (kernel_size, filters, in_channels) as in Keras.

use super::Conv;

keras_conv_class!(
    /// Keras's `Conv1DTranspose(filters, kernel_size)`. Its builder methods take
    /// (1, steps) pairs, as when it ran as a 2-D layer.
    Conv1DTranspose, Conv1DTransposeClass, rank 1, Transposed, (usize, usize)
);

impl Conv1DTranspose {
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv::with_kernel(filters, vec![kernel_size])
    }
}
