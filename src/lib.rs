//! krust: Keras-style deep learning for computer vision, in Rust.
//!
//! This crate re-exports the library layers and hosts the `krust` command line.
//!
//! ```
//! use krust::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! krust::tensor::random::set_seed(42);
//! let mut model = Sequential::new();
//! model.add(Input::new(&[28, 28, 1]))?;
//! model.add(Conv2D::new(8, (3, 3)).with_padding(Padding::Same).with_activation(Activation::Relu))?;
//! model.add(MaxPooling2D::new((2, 2)))?;
//! model.add(Flatten::new())?;
//! model.add(Dense::new(10))?;
//! print!("{}", model.summary());
//!
//! // One training step on a batch of 4 images with integer labels.
//! let mut optimizer = Adam::new(1e-3)?;
//! let loss_fn = SparseCategoricalCrossentropy { from_logits: true };
//! let images = Tensor::zeros([4, 28, 28, 1]);
//! let labels = [3u32, 1, 4, 1];
//! let logits = model.forward(&Var::constant(images.clone()), true)?;
//! let mut loss = loss_fn.compute(&logits, &Targets::Sparse(&labels))?;
//! for penalty in model.losses() {
//!     loss = loss.add(&penalty)?; // the layers' regularizers (Keras's `model.losses`)
//! }
//! loss.backward()?;
//! optimizer.step(&model.parameters())?;
//!
//! // Inference: no tape, dropout off.
//! let probabilities = model.predict(&images)?.softmax(-1)?;
//! assert_eq!(probabilities.shape(), &[4, 10]);
//! # Ok(())
//! # }
//! ```

pub use krust_autograd as autograd;
/// The course demos (the `krust-course` crate), under the name they had in this crate.
pub use krust_course as demos;
pub use krust_data as data;
pub use krust_metrics as metrics;
pub use krust_nn as nn;
pub use krust_plot as plot;
pub use krust_tensor as tensor;
pub use krust_train as train;
pub use krust_zoo as zoo;

/// The Keras-like API in one import.
pub mod prelude {
    pub use krust_autograd::{no_grad, Var};
    pub use krust_nn::functional::{Graph, Model, Module};
    pub use krust_nn::initializers::Initializer;
    pub use krust_nn::layers::*;
    pub use krust_nn::losses::*;
    pub use krust_nn::optimizers::{
        Adagrad, Adam, AdamW, LearningRate, Nadam, Optimizer, RMSprop, Sgd,
    };
    pub use krust_nn::regularizers::{Constraint, MaxNorm, Regularizer};
    pub use krust_nn::saving::{load_model, load_sequential, save_model};
    pub use krust_nn::schedules::*;
    pub use krust_nn::{Activation, AnyModel, Sequential};
    pub use krust_tensor::{Conv2dSpec, Padding, Pool2dSpec, Tensor};
    pub use krust_train::{evaluate, fit, FitConfig};
}
