//! krust-train: `fit` with a Keras-style progress bar, `evaluate`, and the per-epoch history.

mod error;
mod fit;

pub use error::TrainError;
pub use fit::{evaluate, fit, EpochStats, Evaluation, FitConfig, History};

pub type Result<T> = std::result::Result<T, TrainError>;
