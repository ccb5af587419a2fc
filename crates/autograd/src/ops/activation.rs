//! Activations: relu, leaky relu, sigmoid, tanh, softmax and log-softmax.

use crate::{Result, Var};

impl Var {
    pub fn relu(&self) -> Var {
        self.unary(self.value().relu(), |x, _| if x > 0.0 { 1.0 } else { 0.0 })
    }

    pub fn leaky_relu(&self, negative_slope: f32) -> Var {
        self.unary(self.value().leaky_relu(negative_slope), move |x, _| {
            if x >= 0.0 {
                1.0
            } else {
                negative_slope
            }
        })
    }

    /// σ(x), with σ' = y(1 - y) taken from the saved output.
    pub fn sigmoid(&self) -> Var {
        self.unary(self.value().sigmoid(), |_, y| y * (1.0 - y))
    }

    pub fn tanh(&self) -> Var {
        self.unary(self.value().tanh(), |_, y| 1.0 - y * y)
    }

    /// Softmax along `axis`; backward dx = y ⊙ (g - Σ g⊙y).
    pub fn softmax(&self, axis: isize) -> Result<Var> {
        let y = self.value().softmax(axis)?;
        let saved = y.clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| {
                let gy = g.mul(&saved)?;
                let s = gy.sum_axes(&[axis], true)?;
                Ok(vec![Some(gy.sub(&saved.mul(&s)?)?)])
            }),
        ))
    }

    /// log softmax along `axis`; backward dx = g - softmax ⊙ Σ g.
    pub fn log_softmax(&self, axis: isize) -> Result<Var> {
        let y = self.value().log_softmax(axis)?;
        let saved = y.clone();
        Ok(Var::from_op(
            y,
            &[self],
            Box::new(move |g| {
                let s = g.sum_axes(&[axis], true)?;
                Ok(vec![Some(g.sub(&saved.exp().mul(&s)?)?)])
            }),
        ))
    }
}
