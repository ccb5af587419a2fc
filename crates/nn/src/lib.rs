//! krust-nn: the Keras-style model library — layers, models, losses and optimizers.
//!
//! Layers (with Keras-compatible configs), activations, initializers, regularizers, losses,
//! optimizers and learning-rate schedules, and the `Sequential` and functional models, all
//! built on `krust-autograd`.

pub mod activations;
pub mod architecture;
pub mod config;
mod error;
pub mod functional;
pub mod inference;
pub mod initializers;
pub mod layers;
pub mod losses;
pub mod optimizers;
pub mod regularizers;
pub mod saving;
pub mod schedules;
mod sequential;
mod summary_table;

pub use activations::Activation;
pub use architecture::{model_from_config, AnyModel};
pub use error::NnError;
pub use functional::{Graph, LayerNode, Model, Module};
pub use layers::Layer;
pub use sequential::Sequential;

pub type Result<T> = std::result::Result<T, NnError>;
