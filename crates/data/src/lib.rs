//! Datasets for krust: file readers and epoch batching, kept as bytes and converted to f32 per batch.
//!
//! This crate does not depend on the tensor crates: it hands out `u8` images, `u32` labels
//! and `f32` batch buffers that the training crate copies into tensors.

pub mod arrays;
pub mod batches;
pub mod cifar;
pub mod dataset;
mod error;
pub mod fashion_mnist;
pub mod idx;
pub mod image_folder;

#[cfg(test)]
mod test_files;

pub use dataset::{Dataset, Samples, Targets, TrainTest};
pub use error::DataError;
