//! krust: Keras-style deep learning for computer vision, in Rust.
//!
//! This crate re-exports the library layers and hosts the `krust` command line.

pub use krust_autograd as autograd;
pub use krust_data as data;
pub use krust_nn as nn;
pub use krust_tensor as tensor;
pub use krust_train as train;
pub use krust_zoo as zoo;

/// The Keras-like API in one import.
pub mod prelude {
    pub use krust_autograd::{no_grad, Var};
    pub use krust_nn::layers::{
        ActivationLayer, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input, Layer,
        MaxPooling2D,
    };
    pub use krust_nn::losses::{
        CategoricalCrossentropy, Loss, SparseCategoricalCrossentropy, Targets,
    };
    pub use krust_nn::optimizers::{Adam, Optimizer, Sgd};
    pub use krust_nn::{Activation, Sequential};
    pub use krust_tensor::{Conv2dSpec, Padding, Pool2dSpec, Tensor};
    pub use krust_train::{evaluate, fit, FitConfig};
}
