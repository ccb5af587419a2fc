//! Activations (Keras 3's catalog). Each is a named [`UnaryOp`], whose formula and derivative
//! sit side by side in krust-tensor's `elementwise/ops.rs`: derivatives are taken from x where
//! the saved output would lose precision (σ' and tanh' in the tails), and kinks follow
//! TensorFlow's gradient conventions, which Keras's reference fixtures use.

use crate::{Result, TensorError, Var};
use krust_tensor::{BinaryOp, UnaryOp};

impl Var {
    /// max(x, 0); the derivative at 0 is 0 (TensorFlow's ReluGrad).
    pub fn relu(&self) -> Var {
        self.apply_unary(UnaryOp::Relu)
    }

    /// x for x > 0, else negative_slope · x; the derivative at 0 is the slope (TensorFlow's
    /// LeakyReluGrad tests x > 0).
    pub fn leaky_relu(&self, negative_slope: f32) -> Var {
        self.apply_unary(UnaryOp::LeakyRelu(negative_slope))
    }

    /// min(max(x, 0), 6); the derivative is 1 only strictly inside (0, 6).
    pub fn relu6(&self) -> Var {
        self.apply_unary(UnaryOp::Relu6)
    }

    /// Keras's `relu(x, negative_slope, max_value, threshold)`: x above `threshold` (0 below
    /// it), clipped to [0, max_value] when a max is given, plus negative_slope · (x - threshold)
    /// below the threshold. Built exactly as Keras composes it, quirks included: with a
    /// negative threshold and a max value, inputs in (threshold, 0) clip to 0.
    pub fn relu_with(&self, negative_slope: f32, max_value: Option<f32>, threshold: f32) -> Var {
        if negative_slope != 0.0 && max_value.is_none() && threshold == 0.0 {
            return self.leaky_relu(negative_slope);
        }
        self.apply_unary(UnaryOp::ReluWith {
            negative_slope,
            max_value,
            threshold,
        })
    }

    /// x for x > 0, else α(eˣ - 1) (expm1, so small negative inputs keep their digits).
    /// The derivative at 0 is α, as Keras's `where(x > 0, elu, α·elu)` gives.
    pub fn elu(&self, alpha: f32) -> Var {
        self.apply_unary(UnaryOp::Elu(alpha))
    }

    /// scale · elu(x, α) with SELU's fixed constants; TensorFlow's SeluGrad gives scale at 0.
    pub fn selu(&self) -> Var {
        self.apply_unary(UnaryOp::Selu)
    }

    /// x·Φ(x), Φ the standard normal CDF: exactly `0.5·x·erfc(-x/√2)` when `approximate` is
    /// false (Keras's default, and TensorFlow's erfc form, which keeps gelu(-10) = -7.6e-23
    /// rather than 0), else the tanh approximation `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    /// Both are evaluated in float64.
    pub fn gelu(&self, approximate: bool) -> Var {
        self.apply_unary(if approximate {
            UnaryOp::GeluTanh
        } else {
            UnaryOp::GeluErf
        })
    }

    /// x·σ(x) (also called swish); derivative σ(x)·(1 + x·σ(-x)).
    pub fn silu(&self) -> Var {
        self.apply_unary(UnaryOp::Silu)
    }

    /// ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^-|x|) so it neither overflows for large x
    /// nor loses the tiny value e^x for very negative x; the derivative is σ(x).
    pub fn softplus(&self) -> Var {
        self.apply_unary(UnaryOp::Softplus)
    }

    /// x / (1 + |x|); derivative 1 / (1 + |x|)².
    pub fn softsign(&self) -> Var {
        self.apply_unary(UnaryOp::Softsign)
    }

    /// Keras 3's hard sigmoid, relu6(x + 3) / 6 (Keras 2's was clip(0.2x + 0.5, 0, 1));
    /// the derivative is 1/6 strictly inside (-3, 3).
    pub fn hard_sigmoid(&self) -> Var {
        self.apply_unary(UnaryOp::HardSigmoid)
    }

    /// eˣ, Keras's "exponential" activation (the same op as [`Var::exp`]).
    pub fn exponential(&self) -> Var {
        self.exp()
    }

    /// σ(x). The derivative σ(x)σ(-x) uses the saved y for the factor that is not close to 1,
    /// so σ'(20) = 2.1e-9 instead of y(1 - y) = 0 in float32.
    pub fn sigmoid(&self) -> Var {
        self.apply_unary(UnaryOp::Sigmoid)
    }

    /// tanh(x). The derivative sech²(x) = 4e/(1 + e)², e = exp(-2|x|), stays accurate where
    /// 1 - y² cancels to 0 (|x| > 9 in float32).
    pub fn tanh(&self) -> Var {
        self.apply_unary(UnaryOp::Tanh)
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

    /// Parametric ReLU (the op behind Keras's PReLU layer): x for x > 0, alpha·x below, with
    /// `alpha` broadcast against x (its shape must broadcast to x's). Keras builds it as
    /// relu(x) - alpha·relu(-x), so both gradients are 0 at exactly x = 0; alpha's gradient is
    /// min(x, 0), summed over the broadcast axes.
    pub fn prelu(&self, alpha: &Var) -> Result<Var> {
        let (x, a) = (self.shape(), alpha.shape());
        let out = self.apply_binary(BinaryOp::Prelu, alpha)?;
        if out.shape() != x {
            return Err(TensorError::mismatch(
                "prelu",
                &x,
                &a,
                "alpha must broadcast to the input's shape",
            ));
        }
        Ok(out)
    }
}
