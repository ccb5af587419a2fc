//! Loss kernels: the fused softmax cross-entropy (one node from logits to the mean loss, with
//! the closed-form gradient (softmax - onehot) / batch instead of chaining log-softmax and
//! gather), and per-element loss terms whose composed form would lose precision or get a kink
//! wrong. The per-element terms compute in float64 and leave reductions to the caller.

use crate::{Result, Tensor, TensorError, Var};
use krust_tensor::elementwise::sigmoid;
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

    /// Per-element binary cross-entropy of probabilities `self` against `targets`:
    /// -(t·ln p + (1-t)·ln(1-p)) with p clipped to [epsilon, 1 - epsilon] in float32 as Keras
    /// clips (so the upper bound is 0.99999988). ln(1-p) is ln_1p(-p), which keeps its digits
    /// for small p. The clip passes the gradient on its bounds and stops it outside.
    pub fn binary_cross_entropy(&self, targets: &Tensor, epsilon: f32) -> Result<Var> {
        let (lo, hi) = (epsilon, 1.0 - epsilon);
        self.against_targets(
            "binary_cross_entropy",
            targets,
            move |x, t| {
                let (p, t) = (x.clamp(lo, hi) as f64, t as f64);
                (-(t * p.ln() + (1.0 - t) * (-p).ln_1p())) as f32
            },
            move |x, t| {
                if !(lo..=hi).contains(&x) {
                    return 0.0;
                }
                let (p, t) = (x as f64, t as f64);
                (-(t / p - (1.0 - t) / (1.0 - p))) as f32
            },
        )
    }

    /// Per-element binary cross-entropy of logits `self` against `targets`, TensorFlow's
    /// sigmoid_cross_entropy_with_logits: max(x, 0) - x·t + ln(1 + e^-|x|), finite for any x.
    /// The gradient is σ(x) - t, also at x = 0 (a zero-initialized output layer's logits),
    /// where relu and abs composed would give -t.
    pub fn binary_cross_entropy_with_logits(&self, targets: &Tensor) -> Result<Var> {
        self.against_targets(
            "binary_cross_entropy_with_logits",
            targets,
            |x, t| {
                let (x, t) = (x as f64, t as f64);
                (x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()) as f32
            },
            |x, t| sigmoid(x) - t,
        )
    }

    /// Huber's function of an error e: ½e² for |e| ≤ delta, else delta·(|e| - ½delta); the
    /// derivative is e clamped to [-delta, delta].
    pub fn huber(&self, delta: f32) -> Var {
        let y = self.value().map(move |e| {
            let a = e.abs();
            if a <= delta {
                0.5 * e * e
            } else {
                delta * a - 0.5 * delta * delta
            }
        });
        self.unary(y, move |e, _| e.clamp(-delta, delta))
    }

    /// ln(cosh(e)), finite for any e; the derivative is tanh(e). Keras evaluates
    /// e + softplus(-2e) - ln 2, which in float32 cancels to noise for |e| < 1e-3; this uses
    /// ln_1p(2·sinh²(e/2)) for |e| < 1 and |e| + ln_1p(e^(-2|e|)) - ln 2 beyond, in float64.
    pub fn log_cosh(&self) -> Var {
        let y = self.value().map(|e| {
            let a = (e as f64).abs();
            let v = if a < 1.0 {
                let s = (0.5 * a).sinh();
                (2.0 * s * s).ln_1p()
            } else {
                a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2
            };
            v as f32
        });
        self.unary(y, |e, _| e.tanh())
    }

    /// Per-element (ln(1 + max(p, epsilon)) - ln(1 + max(t, epsilon)))², the term of the mean
    /// squared logarithmic error, with ln_1p for small values. As in Keras's maximum, the
    /// gradient passes at p = epsilon and stops below it.
    pub fn squared_log_error(&self, targets: &Tensor, epsilon: f32) -> Result<Var> {
        let diff =
            move |x: f32, t: f32| (x.max(epsilon) as f64).ln_1p() - (t.max(epsilon) as f64).ln_1p();
        self.against_targets(
            "squared_log_error",
            targets,
            move |x, t| diff(x, t).powi(2) as f32,
            move |x, t| {
                if x < epsilon {
                    0.0
                } else {
                    (2.0 * diff(x, t) / (1.0 + x as f64)) as f32
                }
            },
        )
    }

    /// Records `f(x, t)` elementwise against constant targets of the same shape, with
    /// d/dx = `d(x, t)`; the targets get no gradient.
    fn against_targets(
        &self,
        op: &'static str,
        targets: &Tensor,
        f: impl Fn(f32, f32) -> f32 + Send + Sync + 'static,
        d: impl Fn(f32, f32) -> f32 + Send + Sync + 'static,
    ) -> Result<Var> {
        let x = self.value();
        if x.shape() != targets.shape() {
            return Err(TensorError::mismatch(
                op,
                x.shape(),
                targets.shape(),
                "targets must have the prediction's shape",
            ));
        }
        let out = x.zip_map(targets, f)?;
        let t = targets.clone();
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.zip_map3(&x, &t, |g, x, t| g * d(x, t))?)])),
        ))
    }
}
