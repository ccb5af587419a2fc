//! The training crate's error type.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Nn(#[from] krust_nn::NnError),
    #[error(transparent)]
    Tensor(#[from] krust_tensor::TensorError),
    #[error(transparent)]
    Data(#[from] krust_data::DataError),
    #[error(transparent)]
    Metrics(#[from] krust_metrics::MetricsError),
    #[error("the loss became {value} at epoch {epoch}, batch {batch}; lower the learning rate or check the inputs")]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        value: f32,
    },
    #[error("{}: {why}", path.display())]
    File {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("invalid {argument}: {why}")]
    Argument { argument: &'static str, why: String },
    #[error("an ensemble needs at least one member's outputs to average")]
    EmptyEnsemble,
    #[error("ensemble member {member} has {got} outputs, but member 1 has {expected}")]
    EnsembleOutputs {
        member: usize,
        got: usize,
        expected: usize,
    },
}
