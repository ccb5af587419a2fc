//! `MaxPooling2D`: the maximum of each window, channels-last; strides default to the pool size.

keras_pool_class!(
    /// Keras's `MaxPooling2D(pool_size)`.
    MaxPooling2D, MaxPooling2DClass, rank 2, Max, (usize, usize), ((usize, usize), (usize, usize))
);
