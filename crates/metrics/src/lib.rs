//! Classification and regression metrics on plain slices, with Keras and scikit-learn semantics.
//!
//! This crate does not depend on the tensor crates: scores arrive as row-major `&[f32]`
//! (`num_samples × num_classes`), labels as `&[u32]`, and every metric returns `f64` so
//! that sums over a whole test set do not lose precision. Nothing here panics on user data:
//! mismatched lengths, empty input and out-of-range labels are [`MetricsError`]s.

pub mod accuracy;
pub mod confusion;
mod error;
pub mod regression;
pub mod roc;
mod validate;

#[cfg(test)]
mod reference_tests;

pub use accuracy::{
    argmax_rows, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_accuracy,
};
pub use confusion::ConfusionMatrix;
pub use error::MetricsError;
pub use regression::{mean_absolute_error, mean_squared_error};
pub use roc::{one_vs_rest_macro_auc, roc_auc};
