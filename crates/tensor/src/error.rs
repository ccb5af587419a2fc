//! The tensor crate's error type: every variant names the op and the shapes that disagreed.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum TensorError {
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible: {why}")]
    ShapeMismatch {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
        why: String,
    },
    #[error("{op}: invalid argument: {why}")]
    InvalidArgument { op: &'static str, why: String },
    #[error("cannot build a tensor of shape {shape:?} ({expected} elements) from {found} values")]
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
}

impl TensorError {
    pub fn invalid(op: &'static str, why: impl Into<String>) -> Self {
        TensorError::InvalidArgument {
            op,
            why: why.into(),
        }
    }

    pub fn mismatch(
        op: &'static str,
        lhs: &[usize],
        rhs: &[usize],
        why: impl Into<String>,
    ) -> Self {
        TensorError::ShapeMismatch {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            why: why.into(),
        }
    }
}
