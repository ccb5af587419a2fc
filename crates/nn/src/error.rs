//! The nn crate's error type: names the layer or argument that was wrong.

use krust_tensor::TensorError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum NnError {
    #[error(transparent)]
    Tensor(#[from] TensorError),
    #[error("layer {layer}: {why}")]
    Layer { layer: String, why: String },
    #[error("invalid {argument}: {why}")]
    Argument { argument: String, why: String },
    #[error("{path}: {why}")]
    File {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("the model has not been built: add an Input layer first or call build(input_shape)")]
    NotBuilt,
}

impl NnError {
    pub fn file(path: &std::path::Path, why: impl std::fmt::Display) -> Self {
        NnError::File {
            path: path.to_path_buf(),
            why: why.to_string(),
        }
    }

    pub fn layer(layer: &str, why: impl Into<String>) -> Self {
        NnError::Layer {
            layer: layer.to_string(),
            why: why.into(),
        }
    }

    pub fn argument(argument: &str, why: impl Into<String>) -> Self {
        NnError::Argument {
            argument: argument.to_string(),
            why: why.into(),
        }
    }
}
