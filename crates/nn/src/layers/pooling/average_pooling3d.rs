//! `AveragePooling3D`: the mean of the real (unpadded) cells of each window over (depth, height, width, channels).

keras_pool_class!(
    /// Keras's `AveragePooling3D(pool_size)`.
    AveragePooling3D, AveragePooling3DClass, rank 3, Average, [usize; 3], [(usize, usize); 3]
);
