//! `MaxPooling3D`: the maximum of each window over (depth, height, width, channels).

keras_pool_class!(
    /// Keras's `MaxPooling3D(pool_size)`.
    MaxPooling3D, MaxPooling3DClass, rank 3, Max, [usize; 3], [(usize, usize); 3]
);
