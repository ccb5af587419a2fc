//! krust-autograd: define-by-run reverse-mode differentiation over `krust_tensor::Tensor`.
//!
//! Ops on [`Var`]s that require gradients record a node holding their inputs and a backward
//! rule; [`Var::backward`] walks those nodes once in reverse topological order, accumulating
//! gradients into the leaves and freeing the graph as it goes. Each op's forward and backward
//! sit next to each other in `ops/`, one file per op family.

pub mod gradcheck;
mod ops;
mod var;

pub use krust_tensor::{BinaryOp, Result, Tensor, TensorError, TernaryOp, UnaryOp};
pub use ops::BatchNormOutput;
pub use var::{is_grad_enabled, no_grad, Var};
