//! Loss kernels: the fused softmax cross-entropy (one node from logits to the mean loss, with
//! the closed-form gradient (softmax - onehot) / batch instead of chaining log-softmax and
//! gather), and per-element loss terms whose composed form would lose precision or get a kink
//! wrong. The per-element terms compute in float64 and leave reductions to the caller.

use crate::{Result, Tensor, TensorError, Var};
use krust_tensor::softmax::{softmax_cross_entropy, softmax_cross_entropy_backward};
use krust_tensor::{BinaryOp, TernaryOp, UnaryOp};

impl Var {
    /// Mean over the batch of -log softmax(self)[label]; `self` is (batch, classes) logits.
    pub fn softmax_cross_entropy(&self, labels: &[u32]) -> Result<Var> {
        let (loss, probs) = softmax_cross_entropy(&self.value_ref(), labels)?;
        let labels = labels.to_vec();
        Ok(Var::from_op(
            Tensor::scalar(loss),
            &[self],
            Box::new(move |g| {
                Ok(vec![Some(softmax_cross_entropy_backward(
                    &probs,
                    &labels,
                    g.item()?,
                ))])
            }),
        ))
    }

    /// Per-element binary cross-entropy of probabilities `self` against `targets` (see
    /// [`BinaryOp::BinaryCrossEntropy`]: Keras's float32 clip, float64 terms).
    pub fn binary_cross_entropy(&self, targets: &Tensor, epsilon: f32) -> Result<Var> {
        self.against_targets(BinaryOp::BinaryCrossEntropy { epsilon }, targets)
    }

    /// Per-element binary cross-entropy of logits `self` against `targets`, TensorFlow's
    /// sigmoid_cross_entropy_with_logits (see [`BinaryOp::BinaryCrossEntropyWithLogits`]).
    pub fn binary_cross_entropy_with_logits(&self, targets: &Tensor) -> Result<Var> {
        self.against_targets(BinaryOp::BinaryCrossEntropyWithLogits, targets)
    }

    /// Huber's function of an error e: ½e² for |e| ≤ delta, else delta·(|e| - ½delta); the
    /// derivative is e clamped to [-delta, delta].
    pub fn huber(&self, delta: f32) -> Var {
        self.apply_unary(UnaryOp::Huber(delta))
    }

    /// ln(cosh(e)), finite for any e, in float64 without cancellation near 0 (see
    /// [`UnaryOp::LogCosh`]); the derivative is tanh(e).
    pub fn log_cosh(&self) -> Var {
        self.apply_unary(UnaryOp::LogCosh)
    }

    /// Per-element (ln(1 + max(p, epsilon)) - ln(1 + max(t, epsilon)))², the term of the mean
    /// squared logarithmic error (see [`BinaryOp::SquaredLogError`]).
    pub fn squared_log_error(&self, targets: &Tensor, epsilon: f32) -> Result<Var> {
        self.against_targets(BinaryOp::SquaredLogError { epsilon }, targets)
    }

    /// Records `op(x, t)` elementwise against constant targets of the same shape, with
    /// d/dx = ∂op/∂x; the targets get no gradient.
    fn against_targets(&self, op: BinaryOp, targets: &Tensor) -> Result<Var> {
        let x = self.value();
        if x.shape() != targets.shape() {
            return Err(TensorError::mismatch(
                op.name(),
                x.shape(),
                targets.shape(),
                "targets must have the prediction's shape",
            ));
        }
        let out = x.binary(op, targets)?;
        let t = targets.clone();
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.ternary(TernaryOp::LhsGrad(op), &x, &t)?)])),
        ))
    }
}
