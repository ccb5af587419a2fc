//! The named elementwise ops that cross the device seam: each op's scalar formula and its
//! derivative are written once, here, and every backend evaluates them by name (a CUDA backend
//! would compile the same table into device functions) instead of running Rust closures.

use super::{erfc, sigmoid};

/// SELU's constants (Klambauer et al. 2017), as TensorFlow and Keras use them.
const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

/// The cubic coefficient of GELU's tanh approximation, and √(2/π).
const GELU_CUBIC: f64 = 0.044715;
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;

/// A function of one element, y = f(x). Derivatives follow TensorFlow's gradient conventions
/// at kinks, which Keras's reference fixtures use, and are taken from x where the saved output
/// would lose precision (σ' and tanh' in the tails).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Neg,
    /// x + s.
    AddScalar(f32),
    /// x · s.
    MulScalar(f32),
    /// x · scale + shift in one pass (label smoothing, 1 - x, 2x - 1); rounds exactly as the
    /// multiply and add done one after the other.
    Affine {
        scale: f32,
        shift: f32,
    },
    Exp,
    /// Natural logarithm.
    Log,
    Sqrt,
    /// 1 / x.
    Recip,
    /// |x|, with derivative sign(x) (0 at 0, like PyTorch).
    Abs,
    /// -1, 0 or 1 (0 at 0 and for NaN's sign bit alike); derivative 0.
    Sign,
    Square,
    /// x^p.
    PowScalar(f32),
    /// max(x, s); the gradient passes on ties (Keras's maximum).
    MaximumScalar(f32),
    /// min(x, s); the gradient passes on ties (Keras's minimum).
    MinimumScalar(f32),
    Sin,
    Cos,
    /// Clamps into [lo, hi]; the gradient passes on the bounds and stops outside (Keras's clip).
    Clamp {
        lo: f32,
        hi: f32,
    },
    /// max(x, 0); the derivative at 0 is 0 (TensorFlow's ReluGrad).
    Relu,
    /// min(max(x, 0), 6); the derivative is 1 only strictly inside (0, 6).
    Relu6,
    /// x for x ≥ 0, else slope · x; the derivative at 0 is the slope (TensorFlow's
    /// LeakyReluGrad tests x > 0).
    LeakyRelu(f32),
    /// Keras's `relu(x, negative_slope, max_value, threshold)`, composed exactly as Keras
    /// composes it, quirks included: with a negative threshold and a max value, inputs in
    /// (threshold, 0) clip to 0.
    ReluWith {
        negative_slope: f32,
        max_value: Option<f32>,
        threshold: f32,
    },
    /// x for x > 0, else α(eˣ - 1) (expm1, so small negative inputs keep their digits). The
    /// derivative at 0 is α, as Keras's `where(x > 0, elu, α·elu)` gives.
    Elu(f32),
    /// scale · elu(x, α) with SELU's fixed constants; TensorFlow's SeluGrad gives scale at 0.
    Selu,
    /// x·Φ(x) exactly, `0.5·x·erfc(-x/√2)` in float64 (TensorFlow's erfc form keeps
    /// gelu(-10) = -7.6e-23 rather than 0).
    GeluErf,
    /// GELU's tanh approximation `0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`, in float64.
    GeluTanh,
    /// x·σ(x) (also called swish); derivative σ(x)·(1 + x·σ(-x)).
    Silu,
    /// ln(1 + eˣ) as max(x, 0) + ln(1 + e^-|x|), which neither overflows for large x nor loses
    /// the tiny value eˣ for very negative x; the derivative is σ(x).
    Softplus,
    /// x / (1 + |x|); derivative 1 / (1 + |x|)².
    Softsign,
    /// Keras 3's hard sigmoid, relu6(x + 3) / 6 (Keras 2's was clip(0.2x + 0.5, 0, 1)); the
    /// derivative is 1/6 strictly inside (-3, 3).
    HardSigmoid,
    /// σ(x), exp taken only of -|x|. The derivative σ(x)σ(-x) uses the saved y for the factor
    /// that is not close to 1, so σ'(20) = 2.1e-9 instead of y(1 - y) = 0 in float32.
    Sigmoid,
    /// tanh(x). The derivative sech²(x) = 4e/(1 + e)², e = exp(-2|x|), stays accurate where
    /// 1 - y² cancels to 0 (|x| > 9 in float32).
    Tanh,
    /// Huber's function of an error e: ½e² for |e| ≤ delta, else delta·(|e| - ½delta); the
    /// derivative is e clamped to [-delta, delta].
    Huber(f32),
    /// ln(cosh(e)), finite for any e; the derivative is tanh(e). Keras evaluates
    /// e + softplus(-2e) - ln 2, which in float32 cancels to noise for |e| < 1e-3; this uses
    /// ln_1p(2·sinh²(e/2)) for |e| < 1 and |e| + ln_1p(e^(-2|e|)) - ln 2 beyond, in float64.
    LogCosh,
}

impl UnaryOp {
    /// f(x).
    #[inline(always)]
    pub fn apply(self, x: f32) -> f32 {
        use UnaryOp::*;
        match self {
            Neg => -x,
            AddScalar(s) => x + s,
            MulScalar(s) => x * s,
            Affine { scale, shift } => x * scale + shift,
            Exp => x.exp(),
            Log => x.ln(),
            Sqrt => x.sqrt(),
            Recip => 1.0 / x,
            Abs => x.abs(),
            Sign => sign(x),
            Square => x * x,
            PowScalar(p) => x.powf(p),
            MaximumScalar(s) => x.max(s),
            MinimumScalar(s) => x.min(s),
            Sin => x.sin(),
            Cos => x.cos(),
            Clamp { lo, hi } => x.clamp(lo, hi),
            Relu => x.max(0.0),
            Relu6 => x.clamp(0.0, 6.0),
            LeakyRelu(slope) => {
                if x >= 0.0 {
                    x
                } else {
                    slope * x
                }
            }
            ReluWith {
                negative_slope,
                max_value,
                threshold,
            } => relu_with(x, negative_slope, max_value, threshold),
            Elu(alpha) => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp_m1()
                }
            }
            GeluErf => gelu_erf(x as f64).0 as f32,
            GeluTanh => gelu_tanh(x as f64).0 as f32,
            Silu => x * sigmoid(x),
            Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Softsign => x / (1.0 + x.abs()),
            HardSigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
            Sigmoid => sigmoid(x),
            Tanh => x.tanh(),
            Huber(delta) => {
                let a = x.abs();
                if a <= delta {
                    0.5 * x * x
                } else {
                    delta * a - 0.5 * delta * delta
                }
            }
            LogCosh => log_cosh(x as f64) as f32,
        }
    }

    /// f'(x), given also y = f(x) (several derivatives are cheapest from the output).
    #[inline(always)]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        use UnaryOp::*;
        match self {
            Neg => -1.0,
            AddScalar(_) => 1.0,
            MulScalar(s) => s,
            Affine { scale, .. } => scale,
            Exp => y,
            Log => 1.0 / x,
            Sqrt => 0.5 / y,
            Recip => -1.0 / (x * x),
            Abs => sign(x),
            Sign => 0.0,
            Square => 2.0 * x,
            PowScalar(p) => p * x.powf(p - 1.0),
            MaximumScalar(s) => indicator(x >= s),
            MinimumScalar(s) => indicator(x <= s),
            Sin => x.cos(),
            Cos => -x.sin(),
            Clamp { lo, hi } => indicator((lo..=hi).contains(&x)),
            Relu => indicator(x > 0.0),
            Relu6 => indicator(x > 0.0 && x < 6.0),
            LeakyRelu(slope) => {
                if x > 0.0 {
                    1.0
                } else {
                    slope
                }
            }
            ReluWith {
                negative_slope,
                max_value,
                threshold,
            } => relu_with_derivative(x, negative_slope, max_value, threshold),
            Elu(alpha) => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * x.exp()
                }
            }
            Selu => {
                if x < 0.0 {
                    SELU_SCALE * SELU_ALPHA * x.exp()
                } else {
                    SELU_SCALE
                }
            }
            GeluErf => gelu_erf(x as f64).1 as f32,
            GeluTanh => gelu_tanh(x as f64).1 as f32,
            Silu => sigmoid(x) * (1.0 + x * sigmoid(-x)),
            Softplus => sigmoid(x),
            Softsign => {
                let d = 1.0 + x.abs();
                1.0 / (d * d)
            }
            HardSigmoid => {
                if x > -3.0 && x < 3.0 {
                    1.0 / 6.0
                } else {
                    0.0
                }
            }
            Sigmoid => {
                if x >= 0.0 {
                    y * sigmoid(-x)
                } else {
                    y * (1.0 - y)
                }
            }
            Tanh => {
                let e = (-2.0 * x.abs()).exp();
                4.0 * e / ((1.0 + e) * (1.0 + e))
            }
            Huber(delta) => x.clamp(-delta, delta),
            LogCosh => x.tanh(),
        }
    }
}

/// A function of two elements, c = f(a, b), evaluated after NumPy broadcasting. The partial
/// derivatives feed the backward rules; ops against constant targets (the losses) still
/// define the target's partial, so one gradient check covers every op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// max(a, b); on ties the gradient goes to a.
    Maximum,
    /// min(a, b); on ties the gradient goes to a.
    Minimum,
    /// a^b.
    Pow,
    /// a, with b contributing only its shape (broadcasting a to b's shape).
    Left,
    /// 1 where a == b, else 0 (the arg-max mask of a max reduction); derivative 0.
    Equal,
    /// Parametric ReLU of x = a with slope α = b: x for x > 0, else α·x. Keras builds it as
    /// relu(x) - α·relu(-x), so both partials are 0 at exactly x = 0; ∂/∂α = min(x, 0).
    Prelu,
    /// Binary cross-entropy of a probability p = a against a target t = b:
    /// -(t·ln p + (1-t)·ln(1-p)) in float64, with p clipped to [epsilon, 1 - epsilon] in
    /// float32 as Keras clips (so the upper bound is 0.99999988). ln(1-p) is ln_1p(-p), which
    /// keeps its digits for small p. The clip passes the gradient on its bounds and stops it
    /// outside.
    BinaryCrossEntropy {
        epsilon: f32,
    },
    /// TensorFlow's sigmoid_cross_entropy_with_logits of a logit x = a against t = b:
    /// max(x, 0) - x·t + ln(1 + e^-|x|), finite for any x. ∂/∂x is σ(x) - t, also at x = 0 (a
    /// zero-initialized output layer's logits), where relu and abs composed would give -t.
    BinaryCrossEntropyWithLogits,
    /// (ln(1 + max(p, epsilon)) - ln(1 + max(t, epsilon)))² of p = a, t = b, with ln_1p for
    /// small values, in float64. As in Keras's maximum, the gradient passes at p = epsilon and
    /// stops below it.
    SquaredLogError {
        epsilon: f32,
    },
}

impl BinaryOp {
    /// f(a, b).
    #[inline(always)]
    pub fn apply(self, a: f32, b: f32) -> f32 {
        use BinaryOp::*;
        match self {
            Add => a + b,
            Sub => a - b,
            Mul => a * b,
            Div => a / b,
            Maximum => a.max(b),
            Minimum => a.min(b),
            Pow => a.powf(b),
            Left => a,
            Equal => indicator(a == b),
            Prelu => {
                if a > 0.0 {
                    a
                } else {
                    b * a
                }
            }
            BinaryCrossEntropy { epsilon } => {
                let (p, t) = (a.clamp(epsilon, 1.0 - epsilon) as f64, b as f64);
                (-(t * p.ln() + (1.0 - t) * (-p).ln_1p())) as f32
            }
            BinaryCrossEntropyWithLogits => {
                let (x, t) = (a as f64, b as f64);
                (x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()) as f32
            }
            SquaredLogError { epsilon } => log_error(a, b, epsilon).powi(2) as f32,
        }
    }

    /// ∂f/∂a at (a, b).
    #[inline(always)]
    pub fn derivative_lhs(self, a: f32, b: f32) -> f32 {
        use BinaryOp::*;
        match self {
            Add | Sub | Left => 1.0,
            Mul => b,
            Div => 1.0 / b,
            Maximum => indicator(a >= b),
            Minimum => indicator(a <= b),
            Pow => b * a.powf(b - 1.0),
            Equal => 0.0,
            Prelu => {
                if a > 0.0 {
                    1.0
                } else if a < 0.0 {
                    b
                } else {
                    0.0
                }
            }
            BinaryCrossEntropy { epsilon } => {
                if !(epsilon..=1.0 - epsilon).contains(&a) {
                    return 0.0;
                }
                let (p, t) = (a as f64, b as f64);
                (-(t / p - (1.0 - t) / (1.0 - p))) as f32
            }
            BinaryCrossEntropyWithLogits => sigmoid(a) - b,
            SquaredLogError { epsilon } => {
                if a < epsilon {
                    0.0
                } else {
                    (2.0 * log_error(a, b, epsilon) / (1.0 + a as f64)) as f32
                }
            }
        }
    }

    /// ∂f/∂b at (a, b).
    #[inline(always)]
    pub fn derivative_rhs(self, a: f32, b: f32) -> f32 {
        use BinaryOp::*;
        match self {
            Add => 1.0,
            Sub => -1.0,
            Mul => a,
            Div => -a / (b * b),
            Maximum => 1.0 - indicator(a >= b),
            Minimum => 1.0 - indicator(a <= b),
            Pow => a.powf(b) * a.ln(),
            Left | Equal => 0.0,
            Prelu => a.min(0.0),
            BinaryCrossEntropy { epsilon } => {
                let p = a.clamp(epsilon, 1.0 - epsilon) as f64;
                ((-p).ln_1p() - p.ln()) as f32
            }
            BinaryCrossEntropyWithLogits => -a,
            SquaredLogError { epsilon } => {
                if b < epsilon {
                    0.0
                } else {
                    (-2.0 * log_error(a, b, epsilon) / (1.0 + b as f64)) as f32
                }
            }
        }
    }

    /// The op's name in shape errors.
    pub fn name(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "add",
            Sub => "sub",
            Mul => "mul",
            Div => "div",
            Maximum => "maximum",
            Minimum => "minimum",
            Pow => "pow",
            Left => "broadcast_to",
            Equal => "equal",
            Prelu => "prelu",
            BinaryCrossEntropy { .. } => "binary_cross_entropy",
            BinaryCrossEntropyWithLogits => "binary_cross_entropy_with_logits",
            SquaredLogError { .. } => "squared_log_error",
        }
    }
}

/// A function of three same-shaped elements: the backward rules, which scale the upstream
/// gradient g by an op's local derivative in one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TernaryOp {
    /// (g, x, y = op(x)) ↦ g · op'(x).
    UnaryGrad(UnaryOp),
    /// (g, a, b) ↦ g · ∂op/∂a.
    LhsGrad(BinaryOp),
    /// (g, a, b) ↦ g · ∂op/∂b.
    RhsGrad(BinaryOp),
}

impl TernaryOp {
    #[inline(always)]
    pub fn apply(self, g: f32, p: f32, q: f32) -> f32 {
        match self {
            TernaryOp::UnaryGrad(op) => g * op.derivative(p, q),
            TernaryOp::LhsGrad(op) => g * op.derivative_lhs(p, q),
            TernaryOp::RhsGrad(op) => g * op.derivative_rhs(p, q),
        }
    }

    /// The op's name in shape errors.
    pub fn name(self) -> &'static str {
        "ternary"
    }
}

/// 1.0 for true, 0.0 for false.
#[inline(always)]
fn indicator(b: bool) -> f32 {
    b as u8 as f32
}

/// -1, 0 or 1.
#[inline(always)]
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// ln(1 + max(p, epsilon)) - ln(1 + max(t, epsilon)) in float64.
fn log_error(p: f32, t: f32, epsilon: f32) -> f64 {
    (p.max(epsilon) as f64).ln_1p() - (t.max(epsilon) as f64).ln_1p()
}

/// ln(cosh(e)) in float64 without overflow or cancellation (see [`UnaryOp::LogCosh`]).
fn log_cosh(e: f64) -> f64 {
    let a = e.abs();
    if a < 1.0 {
        let s = (0.5 * a).sinh();
        (2.0 * s * s).ln_1p()
    } else {
        a + (-2.0 * a).exp().ln_1p() - std::f64::consts::LN_2
    }
}

/// Keras's general relu: the positive part (x above the threshold, else 0), clipped to
/// [0, max] when a max is given, minus negative_slope · (threshold - x) below the threshold.
fn relu_with(x: f32, negative_slope: f32, max_value: Option<f32>, threshold: f32) -> f32 {
    let mut y = if x > threshold { x } else { 0.0 };
    if let Some(max) = max_value {
        // Keras clips to [0, max]: with a negative threshold, (threshold, 0) becomes 0.
        y = y.clamp(0.0, max);
    }
    if negative_slope != 0.0 {
        y -= negative_slope * (threshold - x).max(0.0);
    }
    y
}

/// The derivative of [`relu_with`]. Keras with threshold 0 and max_value 6 takes TensorFlow's
/// relu6, whose derivative is 0 at x = 6; relu followed by a clip would pass it.
fn relu_with_derivative(
    x: f32,
    negative_slope: f32,
    max_value: Option<f32>,
    threshold: f32,
) -> f32 {
    let p = if x > threshold { x } else { 0.0 };
    let mut d = if threshold == 0.0 && max_value == Some(6.0) {
        indicator(x > 0.0 && x < 6.0)
    } else {
        let through_where = indicator(x > threshold);
        // TensorFlow's clip_by_value passes the gradient on its bounds.
        let through_clip = match max_value {
            Some(max) => indicator((0.0..=max).contains(&p)),
            None => 1.0,
        };
        through_where * through_clip
    };
    if negative_slope != 0.0 && x < threshold {
        d += negative_slope;
    }
    d
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
