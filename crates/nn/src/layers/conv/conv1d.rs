//! `Conv1D`: convolution over (steps, channels), kernel (kernel_size, in / groups, filters) as
//! in Keras; padding "valid", "same" or "causal" (left-padded so output t sees inputs ≤ t).

use super::{AxisSizes, Conv};

keras_conv_class!(
    /// Keras's `Conv1D(filters, kernel_size)`.
    Conv1D, Conv1DClass, rank 1, Regular, usize
);

/// Conv1D's padding modes (causal among them): the convolutions' padding.
pub type Padding1D = super::ConvPadding;

impl Conv1D {
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv::with_kernel(filters, kernel_size.to_axes())
    }
}
