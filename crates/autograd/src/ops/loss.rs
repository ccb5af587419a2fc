//! The fused softmax cross-entropy: one node from logits to the mean loss, with the
//! closed-form gradient (softmax - onehot) / batch instead of chaining log-softmax and gather.

use crate::{Result, Tensor, Var};
use krust_tensor::softmax::{softmax_cross_entropy, softmax_cross_entropy_backward};

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
}
