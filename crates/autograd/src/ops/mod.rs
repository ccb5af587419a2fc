//! The differentiable ops, one file per family; each op's forward and backward side by side.

mod activation;
mod conv;
mod elementwise;
mod gather;
mod loss;
mod matmul;
mod norm;
mod pool;
mod reduce;
mod shape;

pub use norm::BatchNormOutput;
