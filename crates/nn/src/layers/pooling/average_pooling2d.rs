//! `AveragePooling2D`: the mean of the real (unpadded) cells of each window, channels-last; strides default to the pool size.

keras_pool_class!(
    /// Keras's `AveragePooling2D(pool_size)`.
    AveragePooling2D, AveragePooling2DClass, rank 2, Average, (usize, usize), ((usize, usize), (usize, usize))
);
