//! Elementwise ops: named unary ops (math and activations), NumPy-broadcasting binary ops and
//! the ternary backward rules, all evaluated through the device seam in [`crate::backend`].

mod ops;

pub use ops::{BinaryOp, TernaryOp, UnaryOp};

use crate::backend;
use crate::parallel::MIN_PARALLEL_ELEMENTS;
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

impl Tensor {
    /// Applies a named unary op to every element (dispatched on the device in
    /// [`crate::backend`]).
    pub fn unary(&self, op: UnaryOp) -> Tensor {
        backend::unary(op, self)
    }

    /// Combines two tensors elementwise with a named op after NumPy broadcasting.
    pub fn binary(&self, op: BinaryOp, other: &Tensor) -> Result<Tensor> {
        backend::binary(op, self, other)
    }

    /// Combines three tensors of one shape elementwise in one pass (backward rules that need
    /// the upstream gradient, the input and the output).
    pub fn ternary(&self, op: TernaryOp, b: &Tensor, c: &Tensor) -> Result<Tensor> {
        backend::ternary(op, self, b, c)
    }

    /// This tensor repeated along broadcast axes to `shape` (NumPy's broadcast_to).
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let out = self.binary(BinaryOp::Left, &Tensor::zeros(shape.to_vec()))?;
        if out.shape() != shape {
            return Err(TensorError::mismatch(
                "broadcast_to",
                self.shape(),
                shape,
                "the tensor must broadcast to the target shape",
            ));
        }
        Ok(out)
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Add, other)
    }

    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Sub, other)
    }

    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Mul, other)
    }

    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Div, other)
    }

    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Maximum, other)
    }

    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.binary(BinaryOp::Minimum, other)
    }

    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.unary(UnaryOp::AddScalar(s))
    }

    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.unary(UnaryOp::MulScalar(s))
    }

    pub fn neg(&self) -> Tensor {
        self.unary(UnaryOp::Neg)
    }

    pub fn exp(&self) -> Tensor {
        self.unary(UnaryOp::Exp)
    }

    pub fn log(&self) -> Tensor {
        self.unary(UnaryOp::Log)
    }

    pub fn sqrt(&self) -> Tensor {
        self.unary(UnaryOp::Sqrt)
    }

    pub fn abs(&self) -> Tensor {
        self.unary(UnaryOp::Abs)
    }

    pub fn square(&self) -> Tensor {
        self.unary(UnaryOp::Square)
    }

    pub fn powf(&self, p: f32) -> Tensor {
        self.unary(UnaryOp::PowScalar(p))
    }

    pub fn clamp(&self, lo: f32, hi: f32) -> Tensor {
        self.unary(UnaryOp::Clamp { lo, hi })
    }

    pub fn relu(&self) -> Tensor {
        self.unary(UnaryOp::Relu)
    }

    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        self.unary(UnaryOp::LeakyRelu(negative_slope))
    }

    pub fn sigmoid(&self) -> Tensor {
        self.unary(UnaryOp::Sigmoid)
    }

    pub fn tanh(&self) -> Tensor {
        self.unary(UnaryOp::Tanh)
    }

    /// In-place `self += alpha * other` on equal shapes (gradient accumulation, optimizers).
    pub fn axpy_inplace(&mut self, alpha: f32, other: &Tensor) -> Result<()> {
        if self.shape() != other.shape() {
            return Err(TensorError::mismatch(
                "axpy",
                self.shape(),
                other.shape(),
                "shapes must be equal",
            ));
        }
        let src = other.as_slice();
        let dst = self.as_mut_slice();
        if dst.len() >= MIN_PARALLEL_ELEMENTS {
            dst.par_iter_mut()
                .zip(src.par_iter())
                .for_each(|(d, s)| *d += alpha * s);
        } else {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += alpha * s);
        }
        Ok(())
    }
}

/// Dot product with 32 independent partial sums (four vector registers), so the compiler
/// can vectorize it and consecutive FMAs do not wait on each other; a plain `sum()` must add
/// in order and stays scalar.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 32;
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut lanes = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..LANES {
            lanes[i] = x[i].mul_add(y[i], lanes[i]);
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Sum with 32 independent partial sums (vectorizes; the order differs from a plain sum).
pub fn sum_lanes(a: &[f32]) -> f32 {
    const LANES: usize = 32;
    let mut lanes = [0.0f32; LANES];
    let chunks = a.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for x in chunks {
        for i in 0..LANES {
            lanes[i] += x[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Logistic sigmoid written so that neither branch overflows: exp is only taken of -|x|.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The error function erf(x), accurate to a few ulps of float64 (so far beyond float32): a
/// power series with only positive terms for |x| < 2, and 1 - erfc(|x|) beyond. Rust's
/// `f64::erf` is not stable yet; GELU needs it.
pub fn erf(x: f64) -> f64 {
    let z = x.abs();
    let magnitude = if z < ERF_SERIES_LIMIT {
        erf_series(z)
    } else {
        1.0 - erfc_continued_fraction(z)
    };
    magnitude.copysign(x)
}

/// The complementary error function 1 - erf(x), with full relative accuracy in the right
/// tail (erfc(10) = 2.1e-45 is not 0), where 1 - erf(x) would cancel to nothing.
pub fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        2.0 - erfc(-x)
    } else if x < ERF_SERIES_LIMIT {
        // erfc(2) = 4.7e-3, so at most ~3 of float64's 16 digits cancel here.
        1.0 - erf_series(x)
    } else {
        erfc_continued_fraction(x)
    }
}

/// Below this, erf's series converges in under 50 terms; above it the continued fraction for
/// erfc converges in under 60 (it needs 190 at z = 1).
const ERF_SERIES_LIMIT: f64 = 2.0;

/// erf(z) = 2/√π · e^(-z²) · Σ_n (2z²)^n z / (1·3·5···(2n+1)). Every term is
/// positive, so nothing cancels (unlike the alternating Taylor series of erf). For 0 ≤ z < 2.
fn erf_series(z: f64) -> f64 {
    let two_z2 = 2.0 * z * z;
    let (mut term, mut sum) = (z, z);
    let mut n = 0.0;
    while term > sum * 1e-17 {
        n += 1.0;
        term *= two_z2 / (2.0 * n + 1.0);
        sum += term;
    }
    std::f64::consts::FRAC_2_SQRT_PI * (-z * z).exp() * sum
}

/// erfc(z) = e^(-z²)/√π / (z + (1/2)/(z + (2/2)/(z + (3/2)/(z + ...)))) for z ≥ 2, evaluated
/// by the modified Lentz method.
fn erfc_continued_fraction(z: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (mut f, mut c, mut d) = (z, z, 0.0);
    for i in 1..100 {
        let a = 0.5 * i as f64;
        d = z + a * d;
        d = 1.0 / if d == 0.0 { TINY } else { d };
        c = z + a / c;
        if c == 0.0 {
            c = TINY;
        }
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-z * z).exp() / (f * std::f64::consts::PI.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{broadcast_shapes, numel};

    fn t(shape: &[usize], v: &[f32]) -> Tensor {
        Tensor::from_vec(shape.to_vec(), v.to_vec()).unwrap()
    }

    #[test]
    fn broadcasting_adds_bias_over_rows() {
        let x = t(&[2, 3], &[1., 2., 3., 4., 5., 6.]);
        let b = t(&[3], &[10., 20., 30.]);
        assert_eq!(
            x.add(&b).unwrap().to_vec(),
            vec![11., 22., 33., 14., 25., 36.]
        );
    }

    #[test]
    fn broadcasting_column_against_row_makes_outer_sum() {
        let c = t(&[2, 1], &[1., 2.]);
        let r = t(&[1, 3], &[10., 20., 30.]);
        let s = c.add(&r).unwrap();
        assert_eq!(s.shape(), &[2, 3]);
        assert_eq!(s.to_vec(), vec![11., 21., 31., 12., 22., 32.]);
    }

    #[test]
    fn incompatible_shapes_are_an_error_not_a_panic() {
        let a = t(&[2, 3], &[0.; 6]);
        let b = t(&[2], &[0.; 2]);
        assert!(matches!(a.mul(&b), Err(TensorError::ShapeMismatch { .. })));
    }

    /// An op and its textbook formula in float64.
    type UnaryReference = (UnaryOp, fn(f64) -> f64);
    type BinaryReference = (BinaryOp, fn(f64, f64) -> f64);

    /// Inputs that avoid every op's kinks and domain edges except where listed per op.
    const XS: [f32; 6] = [-2.5, -0.7, -0.01, 0.3, 1.2, 7.5];

    fn close(got: f32, want: f64) -> bool {
        (got as f64 - want).abs() <= 1e-5 * want.abs().max(1.0)
    }

    #[test]
    fn every_unary_op_matches_its_textbook_formula() {
        let table: Vec<UnaryReference> = vec![
            (UnaryOp::Neg, |x| -x),
            (UnaryOp::AddScalar(1.5), |x| x + 1.5),
            (UnaryOp::MulScalar(-3.0), |x| -3.0 * x),
            (
                UnaryOp::Affine {
                    scale: 2.0,
                    shift: -1.0,
                },
                |x| 2.0 * x - 1.0,
            ),
            (UnaryOp::Exp, f64::exp),
            (UnaryOp::Recip, |x| 1.0 / x),
            (UnaryOp::Abs, f64::abs),
            (UnaryOp::Sign, |x| if x > 0.0 { 1.0 } else { -1.0 }),
            (UnaryOp::Square, |x| x * x),
            (UnaryOp::MaximumScalar(0.5), |x| x.max(0.5)),
            (UnaryOp::MinimumScalar(0.5), |x| x.min(0.5)),
            (UnaryOp::Sin, f64::sin),
            (UnaryOp::Cos, f64::cos),
            (UnaryOp::Clamp { lo: -1.0, hi: 1.0 }, |x| x.clamp(-1.0, 1.0)),
            (UnaryOp::Relu, |x| if x > 0.0 { x } else { 0.0 }),
            (UnaryOp::Relu6, |x| x.clamp(0.0, 6.0)),
            (
                UnaryOp::LeakyRelu(0.2),
                |x| if x > 0.0 { x } else { 0.2 * x },
            ),
            (
                UnaryOp::ReluWith {
                    negative_slope: 0.1,
                    max_value: Some(5.0),
                    threshold: 0.5,
                },
                |x| if x > 0.5 { x.min(5.0) } else { 0.1 * (x - 0.5) },
            ),
            (UnaryOp::Elu(1.5), |x| {
                if x > 0.0 {
                    x
                } else {
                    1.5 * (x.exp() - 1.0)
                }
            }),
            (UnaryOp::Selu, |x| {
                let (alpha, scale) = (1.6732632423543772, 1.0507009873554805);
                scale * if x > 0.0 { x } else { alpha * (x.exp() - 1.0) }
            }),
            (UnaryOp::GeluErf, |x| 0.5 * x * (1.0 + erf(x / 2f64.sqrt()))),
            (UnaryOp::GeluTanh, |x| {
                let u = (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x);
                0.5 * x * (1.0 + u.tanh())
            }),
            (UnaryOp::Silu, |x| x / (1.0 + (-x).exp())),
            (UnaryOp::Softplus, |x| (1.0 + x.exp()).ln()),
            (UnaryOp::Softsign, |x| x / (1.0 + x.abs())),
            (UnaryOp::HardSigmoid, |x| ((x + 3.0) / 6.0).clamp(0.0, 1.0)),
            (UnaryOp::Sigmoid, |x| 1.0 / (1.0 + (-x).exp())),
            (UnaryOp::Tanh, f64::tanh),
            (UnaryOp::Huber(1.0), |x| {
                if x.abs() <= 1.0 {
                    0.5 * x * x
                } else {
                    x.abs() - 0.5
                }
            }),
            (UnaryOp::LogCosh, |x| x.cosh().ln()),
        ];
        let x = t(&[2, 3], &XS);
        for (op, want) in table {
            let got = x.unary(op);
            assert_eq!(got.shape(), &[2, 3]);
            for (&v, &g) in XS.iter().zip(got.as_slice()) {
                assert!(
                    close(g, want(v as f64)),
                    "{op:?}({v}) = {g}, want {}",
                    want(v as f64)
                );
            }
        }
        // Ops defined only on positive inputs.
        let positive = [0.04f32, 0.5, 2.0, 9.0];
        let table: Vec<UnaryReference> = vec![
            (UnaryOp::Log, f64::ln),
            (UnaryOp::Sqrt, f64::sqrt),
            (UnaryOp::PowScalar(1.5), |x| x.powf(1.5)),
        ];
        let x = t(&[4], &positive);
        for (op, want) in table {
            for (&v, &g) in positive.iter().zip(x.unary(op).as_slice()) {
                assert!(close(g, want(v as f64)), "{op:?}({v}) = {g}");
            }
        }
    }

    #[test]
    fn every_binary_op_matches_its_textbook_formula_under_broadcasting() {
        let table: Vec<BinaryReference> = vec![
            (BinaryOp::Add, |a, b| a + b),
            (BinaryOp::Sub, |a, b| a - b),
            (BinaryOp::Mul, |a, b| a * b),
            (BinaryOp::Div, |a, b| a / b),
            (BinaryOp::Maximum, f64::max),
            (BinaryOp::Minimum, f64::min),
            (BinaryOp::Pow, |a, b| a.abs().powf(b)),
            (BinaryOp::Left, |a, _| a),
            (BinaryOp::Equal, |a, b| if a == b { 1.0 } else { 0.0 }),
            (BinaryOp::Prelu, |x, a| if x > 0.0 { x } else { a * x }),
            (BinaryOp::BinaryCrossEntropyWithLogits, |x, t| {
                let p = 1.0 / (1.0 + (-x).exp());
                -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
            }),
            (BinaryOp::SquaredLogError { epsilon: 1e-7 }, |p, t| {
                ((1.0 + p.max(1e-7)).ln() - (1.0 + t.max(1e-7)).ln()).powi(2)
            }),
        ];
        // (a's shape, b's shape): equal, row vector, column against row, scalar each side.
        let cases: [(&[usize], &[usize]); 5] = [
            (&[2, 3], &[2, 3]),
            (&[2, 3], &[3]),
            (&[2, 1], &[1, 3]),
            (&[2, 3], &[]),
            (&[], &[2, 3]),
        ];
        for (sa, sb) in cases {
            let a_vals: Vec<f32> = XS[..numel(sa)].to_vec();
            let b_vals: Vec<f32> = XS[XS.len() - numel(sb)..].iter().map(|v| v * 0.5).collect();
            let (a, b) = (t(sa, &a_vals), t(sb, &b_vals));
            let out_shape = broadcast_shapes("test", sa, sb).unwrap();
            let (ea, eb) = (
                a.broadcast_to(&out_shape).unwrap(),
                b.broadcast_to(&out_shape).unwrap(),
            );
            for &(op, want) in &table {
                // Pow is defined here on |a|.
                let a_op = if op == BinaryOp::Pow {
                    a.abs()
                } else {
                    a.clone()
                };
                let got = a_op.binary(op, &b).unwrap();
                assert_eq!(got.shape(), out_shape.as_slice(), "{op:?} {sa:?} {sb:?}");
                for ((&x, &y), &g) in ea.as_slice().iter().zip(eb.as_slice()).zip(got.as_slice()) {
                    let w = want(x as f64, y as f64);
                    assert!(
                        close(g, w),
                        "{op:?}({x}, {y}) = {g}, want {w} ({sa:?} {sb:?})"
                    );
                }
            }
        }
        // Cross-entropy of probabilities needs p in (0, 1) and broadcasting alike.
        let p = t(&[2, 2], &[0.1, 0.5, 0.7, 0.99]);
        let y = t(&[2], &[0.0, 1.0]);
        let got = p
            .binary(BinaryOp::BinaryCrossEntropy { epsilon: 1e-7 }, &y)
            .unwrap();
        let want = [
            -(0.9f64.ln()),
            -(0.5f64.ln()),
            -(0.3f64.ln()),
            -(0.99f64.ln()),
        ];
        for (&g, &w) in got.as_slice().iter().zip(&want) {
            assert!(close(g, w), "bce {g} want {w}");
        }
    }

    #[test]
    fn ternary_ops_scale_the_gradient_by_the_local_derivative() {
        let g = t(&[3], &[2.0, -1.0, 0.5]);
        let x = t(&[3], &[-1.0, 0.5, 3.0]);
        let y = x.unary(UnaryOp::Square);
        let got = g
            .ternary(TernaryOp::UnaryGrad(UnaryOp::Square), &x, &y)
            .unwrap();
        assert_eq!(got.to_vec(), vec![-4.0, -1.0, 3.0]);
        let b = t(&[3], &[4.0, 2.0, -2.0]);
        let lhs = g
            .ternary(TernaryOp::LhsGrad(BinaryOp::Div), &x, &b)
            .unwrap();
        assert_eq!(lhs.to_vec(), vec![0.5, -0.5, -0.25]);
        let rhs = g
            .ternary(TernaryOp::RhsGrad(BinaryOp::Mul), &x, &b)
            .unwrap();
        assert_eq!(rhs.to_vec(), vec![-2.0, -0.5, 1.5]);
        assert!(g
            .ternary(TernaryOp::UnaryGrad(UnaryOp::Neg), &x, &t(&[1], &[0.0]))
            .is_err());
        assert_eq!(
            x.binary(BinaryOp::Equal, &x).unwrap().to_vec(),
            vec![1.0; 3]
        );
    }

    #[test]
    fn broadcast_to_repeats_along_new_and_unit_axes() {
        let c = t(&[2, 1], &[1., 2.]);
        assert_eq!(
            c.broadcast_to(&[2, 2, 3]).unwrap().to_vec(),
            [1., 1., 1., 2., 2., 2.].repeat(2)
        );
        assert!(c.broadcast_to(&[3, 3]).is_err());
        assert!(t(&[3], &[1., 2., 3.]).broadcast_to(&[3, 1]).is_err());
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        assert_eq!(sigmoid(-1e4), 0.0);
        assert_eq!(sigmoid(1e4), 1.0);
        assert!((sigmoid(-1.0) - 0.268_941_42).abs() < 1e-7);
    }

    #[test]
    fn erf_and_erfc_match_reference_values_to_float64_precision() {
        // (x, erf(x), erfc(x)) from Python's math.erf/erfc.
        let table = [
            (1e-3, 0.0011283787909692365, 0.9988716212090307),
            (0.1, 0.1124629160182849, 0.8875370839817152),
            (0.5, 0.5204998778130465, 0.4795001221869535),
            (1.0, 0.8427007929497149, 0.15729920705028513),
            (2.0, 0.9953222650189527, 0.004677734981047265),
            (2.9, 0.9999589021219005, 4.109787809945886e-05),
            (3.0, 0.9999779095030014, 2.2090496998585438e-05),
            (3.5, 0.9999992569016276, 7.430983723414128e-07),
            (5.0, 0.9999999999984626, 1.5374597944280351e-12),
            (10.0, 1.0, 2.088487583762545e-45),
            (26.0, 1.0, 5.663192408856143e-296),
        ];
        for (x, want_erf, want_erfc) in table {
            let close = |got: f64, want: f64| (got - want).abs() <= 1e-13 * want.abs();
            assert!(close(erf(x), want_erf), "erf({x}) = {}", erf(x));
            assert!(close(erf(-x), -want_erf), "erf(-{x}) = {}", erf(-x));
            assert!(close(erfc(x), want_erfc), "erfc({x}) = {}", erfc(x));
            assert!(close(erfc(-x), 2.0 - want_erfc), "erfc(-{x})");
        }
        assert_eq!(erf(0.0), 0.0);
        assert_eq!(erfc(1e4), 0.0);
        assert_eq!(erfc(-1e4), 2.0);
    }
}
