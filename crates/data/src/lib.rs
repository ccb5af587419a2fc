//! krust-data: datasets — file readers, epoch batching and augmentation.
//!
//! Samples are kept as bytes and converted to f32 per batch.
//!
//! Readers: [`fashion_mnist`] (IDX files, via [`idx`]), [`cifar`] (CIFAR-10/100 binary),
//! [`image_folder`] (JPEG/PNG photos in one sub-folder per class) and [`arrays`] (numpy
//! `.npy`/`.npz`, plus the `.npy` writer for predictions). Each produces a [`Dataset`] or a
//! [`TrainTest`] pair, and reports problems as a [`DataError`] naming the file at fault.
//!
//! This crate does not depend on the tensor crates: it hands out `u8` images, `u32` labels
//! and `f32` batch buffers that the training crate copies into tensors.

pub mod arrays;
pub mod augment;
pub mod batches;
pub mod cifar;
pub mod dataset;
mod error;
pub mod fashion_mnist;
pub mod idx;
pub mod image_folder;
pub mod loader;

#[cfg(test)]
mod test_files;

pub use dataset::{Dataset, Samples, Targets, TrainTest};
pub use error::DataError;
