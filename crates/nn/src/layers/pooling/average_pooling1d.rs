//! `AveragePooling1D`: the mean of the real (unpadded) steps of each window, over (steps, channels).

keras_pool_class!(
    /// Keras's `AveragePooling1D(pool_size)`.
    AveragePooling1D, AveragePooling1DClass, rank 1, Average, usize, (usize, usize)
);
