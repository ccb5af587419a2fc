//! krust-tensor: the n-d float32 tensor, its shape algebra and the CPU kernels behind the device seam.
//!
//! Every op takes tensors and returns a new tensor; storage is shared (`Arc`) so reshapes and
//! clones are free. Ops dispatch on [`Storage`] in one place per op family, which is where a
//! CUDA device will plug in later without touching layers or training code.

mod backend;
pub mod buffer;
mod error;
pub mod random;
mod shape;
mod tensor;

pub mod conv;
pub mod elementwise;
pub mod matmul;
pub mod norm;
pub mod optim;
pub mod parallel;
pub mod pool;
pub mod reduce;
pub mod sgemm;
pub mod shape_ops;
pub mod softmax;

pub use conv::{Conv2dSpec, Epilogue, Padding};
pub use elementwise::{BinaryOp, TernaryOp, UnaryOp};
pub use error::TensorError;
pub use pool::{Pool2dSpec, PoolSpec};
pub use random::RandomOp;
pub use shape::{broadcast_shapes, checked_numel, numel, strides_of};
pub use tensor::{Device, Tensor};

pub type Result<T> = std::result::Result<T, TensorError>;
