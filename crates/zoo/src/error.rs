//! The zoo's error type: building models, loading pretrained weights, reading photos.

use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ZooError {
    #[error(transparent)]
    Nn(#[from] krust_nn::NnError),
    #[error(transparent)]
    Import(#[from] krust_import::ImportError),
    /// A weights file or photo that cannot be used, with the reason.
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
}

impl ZooError {
    pub(crate) fn file(path: &Path, why: impl std::fmt::Display) -> Self {
        ZooError::File {
            path: path.to_path_buf(),
            why: why.to_string(),
        }
    }
}
