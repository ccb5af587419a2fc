//! `MaxPooling1D`: the maximum of each window of steps, over (steps, channels).

keras_pool_class!(
    /// Keras's `MaxPooling1D(pool_size)`.
    MaxPooling1D, MaxPooling1DClass, rank 1, Max, usize, (usize, usize)
);
