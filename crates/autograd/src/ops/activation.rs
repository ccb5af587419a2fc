//! Activations (Keras 3's catalog), each forward next to its derivative. Derivatives are taken
//! from x where the saved output would lose precision (σ' and tanh' in the tails), and kinks
//! follow TensorFlow's gradient conventions, which Keras's reference fixtures use.

use crate::{Result, TensorError, Var};
use krust_tensor::elementwise::{erfc, sigmoid};

/// SELU's constants (Klambauer et al. 2017), as TensorFlow and Keras use them.
const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

/// The cubic coefficient of GELU's tanh approximation, and √(2/π).
const GELU_CUBIC: f64 = 0.044715;
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

impl Var {
    /// max(x, 0); the derivative at 0 is 0 (TensorFlow's ReluGrad).
    pub fn relu(&self) -> Var {
        self.unary(self.value().relu(), |x, _| if x > 0.0 { 1.0 } else { 0.0 })
    }

    /// x for x > 0, else negative_slope · x; the derivative at 0 is the slope (TensorFlow's
    /// LeakyReluGrad tests x > 0).
    pub fn leaky_relu(&self, negative_slope: f32) -> Var {
        self.unary(self.value().leaky_relu(negative_slope), move |x, _| {
            if x > 0.0 {
                1.0
            } else {
                negative_slope
            }
        })
    }

    /// min(max(x, 0), 6); the derivative is 1 only strictly inside (0, 6).
    pub fn relu6(&self) -> Var {
        self.unary(self.value().map(|x| x.clamp(0.0, 6.0)), |x, _| {
            if x > 0.0 && x < 6.0 {
                1.0
            } else {
                0.0
            }
        })
    }

    /// Keras's `relu(x, negative_slope, max_value, threshold)`: x above `threshold` (0 below
    /// it), clipped to [0, max_value] when a max is given, plus negative_slope · (x - threshold)
    /// below the threshold. Built exactly as Keras composes it, quirks included: with a
    /// negative threshold and a max value, inputs in (threshold, 0) clip to 0.
    pub fn relu_with(&self, negative_slope: f32, max_value: Option<f32>, threshold: f32) -> Var {
        if negative_slope != 0.0 && max_value.is_none() && threshold == 0.0 {
            return self.leaky_relu(negative_slope);
        }
        let spec = ReluSpec {
            negative_slope,
            max_value,
            threshold,
        };
        self.unary(self.value().map(move |x| spec.value(x)), move |x, _| {
            spec.derivative(x)
        })
    }

    /// x for x > 0, else α(eˣ - 1) (expm1, so small negative inputs keep their digits).
    /// The derivative at 0 is α, as Keras's `where(x > 0, elu, α·elu)` gives.
    pub fn elu(&self, alpha: f32) -> Var {
        let y = self
            .value()
            .map(move |x| if x > 0.0 { x } else { alpha * x.exp_m1() });
        self.unary(y, move |x, _| if x > 0.0 { 1.0 } else { alpha * x.exp() })
    }

    /// scale · elu(x, α) with SELU's fixed constants; TensorFlow's SeluGrad gives scale at 0.
    pub fn selu(&self) -> Var {
        let y = self.value().map(|x| {
            if x > 0.0 {
                SELU_SCALE * x
            } else {
                SELU_SCALE * SELU_ALPHA * x.exp_m1()
            }
        });
        self.unary(y, |x, _| {
            if x < 0.0 {
                SELU_SCALE * SELU_ALPHA * x.exp()
            } else {
                SELU_SCALE
            }
        })
    }

    /// x·Φ(x), Φ the standard normal CDF: exactly `0.5·x·erfc(-x/√2)` when `approximate` is
    /// false (Keras's default, and TensorFlow's erfc form, which keeps gelu(-10) = -7.6e-23
    /// rather than 0), else the tanh approximation `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    /// Both are evaluated in float64.
    pub fn gelu(&self, approximate: bool) -> Var {
        if approximate {
            let y = self.value().map(|x| gelu_tanh(x as f64).0 as f32);
            self.unary(y, |x, _| gelu_tanh(x as f64).1 as f32)
        } else {
            let y = self.value().map(|x| gelu_erf(x as f64).0 as f32);
            self.unary(y, |x, _| gelu_erf(x as f64).1 as f32)
        }
    }

    /// x·σ(x) (also called swish); derivative σ(x)·(1 + x·σ(-x)).
    pub fn silu(&self) -> Var {
        self.unary(self.value().map(|x| x * sigmoid(x)), |x, _| {
            sigmoid(x) * (1.0 + x * sigmoid(-x))
        })
    }

    /// ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^-|x|) so it neither overflows for large x
    /// nor loses the tiny value e^x for very negative x; the derivative is σ(x).
    pub fn softplus(&self) -> Var {
        self.unary(self.value().map(softplus), |x, _| sigmoid(x))
    }

    /// x / (1 + |x|); derivative 1 / (1 + |x|)².
    pub fn softsign(&self) -> Var {
        self.unary(self.value().map(|x| x / (1.0 + x.abs())), |x, _| {
            let d = 1.0 + x.abs();
            1.0 / (d * d)
        })
    }

    /// Keras 3's hard sigmoid, relu6(x + 3) / 6 (Keras 2's was clip(0.2x + 0.5, 0, 1));
    /// the derivative is 1/6 strictly inside (-3, 3).
    pub fn hard_sigmoid(&self) -> Var {
        let y = self.value().map(|x| (x + 3.0).clamp(0.0, 6.0) / 6.0);
        self.unary(y, |x, _| if x > -3.0 && x < 3.0 { 1.0 / 6.0 } else { 0.0 })
    }

    /// eˣ, Keras's "exponential" activation (the same op as [`Var::exp`]).
    pub fn exponential(&self) -> Var {
        self.exp()
    }

    /// σ(x). The derivative σ(x)σ(-x) uses the saved y for the factor that is not close to 1,
    /// so σ'(20) = 2.1e-9 instead of y(1 - y) = 0 in float32.
    pub fn sigmoid(&self) -> Var {
        self.unary(self.value().sigmoid(), |x, y| {
            if x >= 0.0 {
                y * sigmoid(-x)
            } else {
                y * (1.0 - y)
            }
        })
    }

    /// tanh(x). The derivative sech²(x) = 4e/(1 + e)², e = exp(-2|x|), stays accurate where
    /// 1 - y² cancels to 0 (|x| > 9 in float32).
    pub fn tanh(&self) -> Var {
        self.unary(self.value().tanh(), |x, _| {
            let e = (-2.0 * x.abs()).exp();
            4.0 * e / ((1.0 + e) * (1.0 + e))
        })
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
        let (x, a) = (self.value(), alpha.value());
        let out = x.broadcast_zip("prelu", &a, |x, a| if x > 0.0 { x } else { a * x })?;
        if out.shape() != x.shape() {
            return Err(TensorError::mismatch(
                "prelu",
                x.shape(),
                a.shape(),
                "alpha must broadcast to the input's shape",
            ));
        }
        let alpha_shape = a.shape().to_vec();
        Ok(Var::from_op(
            out,
            &[self, alpha],
            Box::new(move |g| {
                let slope = x.broadcast_zip("prelu_backward", &a, |x, a| {
                    if x > 0.0 {
                        1.0
                    } else if x < 0.0 {
                        a
                    } else {
                        0.0
                    }
                })?;
                let dx = g.mul(&slope)?;
                let dalpha = g
                    .zip_map(&x, |g, x| g * x.min(0.0))?
                    .sum_to_shape(&alpha_shape)?;
                Ok(vec![Some(dx), Some(dalpha)])
            }),
        ))
    }
}

/// ln(1 + eˣ) without overflow or underflow to 0.
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// The parameters of Keras's general relu, with its forward and derivative per element.
#[derive(Clone, Copy)]
struct ReluSpec {
    negative_slope: f32,
    max_value: Option<f32>,
    threshold: f32,
}

impl ReluSpec {
    /// Keras with threshold 0 and max_value 6 takes TensorFlow's relu6, whose derivative is 0 at
    /// x = 6; relu followed by a clip would pass it.
    fn is_relu6(&self) -> bool {
        self.threshold == 0.0 && self.max_value == Some(6.0)
    }

    /// The positive part before the max-value clip: x above the threshold, else 0.
    fn positive_part(&self, x: f32) -> f32 {
        if x > self.threshold {
            x
        } else {
            0.0
        }
    }

    fn value(&self, x: f32) -> f32 {
        let mut y = self.positive_part(x);
        if let Some(max) = self.max_value {
            // Keras clips to [0, max]: with a negative threshold, (threshold, 0) becomes 0.
            y = y.clamp(0.0, max);
        }
        if self.negative_slope != 0.0 {
            y -= self.negative_slope * (self.threshold - x).max(0.0);
        }
        y
    }

    fn derivative(&self, x: f32) -> f32 {
        let p = self.positive_part(x);
        let mut d = if self.is_relu6() {
            (x > 0.0 && x < 6.0) as u8 as f32
        } else {
            let through_where = (x > self.threshold) as u8 as f32;
            // TensorFlow's clip_by_value passes the gradient on its bounds.
            let through_clip = match self.max_value {
                Some(max) => (p >= 0.0 && p <= max) as u8 as f32,
                None => 1.0,
            };
            through_where * through_clip
        };
        if self.negative_slope != 0.0 && x < self.threshold {
            d += self.negative_slope;
        }
        d
    }
}

/// (gelu(x), gelu'(x)) in the exact form: x·Φ(x) and Φ(x) + x·φ(x).
fn gelu_erf(x: f64) -> (f64, f64) {
    let cdf = 0.5 * erfc(-x * std::f64::consts::FRAC_1_SQRT_2);
    let pdf = (-0.5 * x * x).exp()
        * (0.5 * std::f64::consts::FRAC_2_SQRT_PI)
        * std::f64::consts::FRAC_1_SQRT_2;
    (x * cdf, cdf + x * pdf)
}

/// (gelu(x), gelu'(x)) in the tanh approximation, using ½(1 + tanh u) = σ(2u) so the left
/// tail keeps its tiny values instead of cancelling 1 + tanh u to 0.
fn gelu_tanh(x: f64) -> (f64, f64) {
    let u = SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x);
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
    let (s, s_neg) = (sigmoid64(2.0 * u), sigmoid64(-2.0 * u));
    (x * s, s + 2.0 * x * s * s_neg * du)
}

/// The logistic function in float64, exp taken only of -|x|.
fn sigmoid64(x: f64) -> f64 {
    let e = (-x.abs()).exp();
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}
