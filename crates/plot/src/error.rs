//! The one error type of krust-plot: every variant names the PNG that could not be written.

use std::path::PathBuf;

/// Everything that can go wrong writing a plot.
///
/// Display is one line naming the output path and what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot write plot {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot draw plot {}: {message}", path.display())]
    Draw { path: PathBuf, message: String },

    #[error("cannot plot {}: {reason}", path.display())]
    InvalidInput { path: PathBuf, reason: String },
}

impl PlotError {
    pub(crate) fn invalid(path: &std::path::Path, reason: impl Into<String>) -> Self {
        PlotError::InvalidInput {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}
