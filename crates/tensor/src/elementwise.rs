//! Elementwise kernels: unary maps (math and activations) and NumPy-broadcasting binary ops.

use crate::parallel::{for_each_chunk_mut, MIN_PARALLEL_ELEMENTS};
use crate::shape::{broadcast_shapes, broadcast_strides, numel};
use crate::tensor::Storage;
use crate::{Result, Tensor, TensorError};
use rayon::prelude::*;

impl Tensor {
    /// Applies `f` to every element.
    pub fn map<F>(&self, f: F) -> Tensor
    where
        F: Fn(f32) -> f32 + Sync + Send,
    {
        match self.storage_ref() {
            Storage::Cpu(_) => {
                let src = self.as_slice();
                let mut out = crate::buffer::dirty(src.len());
                for_each_chunk_mut(&mut out, |start, chunk| {
                    let end = start + chunk.len();
                    for (o, &x) in chunk.iter_mut().zip(&src[start..end]) {
                        *o = f(x);
                    }
                });
                Tensor::from_parts(self.shape().to_vec(), out)
            }
        }
    }

    /// Combines two tensors of identical shape elementwise.
    pub fn zip_map<F>(&self, other: &Tensor, f: F) -> Result<Tensor>
    where
        F: Fn(f32, f32) -> f32 + Sync + Send,
    {
        if self.shape() != other.shape() {
            return Err(TensorError::mismatch(
                "zip_map",
                self.shape(),
                other.shape(),
                "shapes must be equal",
            ));
        }
        let (a, b) = (self.as_slice(), other.as_slice());
        let mut out = crate::buffer::dirty(a.len());
        for_each_chunk_mut(&mut out, |start, chunk| {
            let end = start + chunk.len();
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..end]).zip(&b[start..end]) {
                *o = f(x, y);
            }
        });
        Ok(Tensor::from_parts(self.shape().to_vec(), out))
    }

    /// Combines three tensors of identical shape elementwise in one pass (backward rules that
    /// need the upstream gradient, the input and the output).
    pub fn zip_map3<F>(&self, b: &Tensor, c: &Tensor, f: F) -> Result<Tensor>
    where
        F: Fn(f32, f32, f32) -> f32 + Sync + Send,
    {
        if self.shape() != b.shape() || self.shape() != c.shape() {
            return Err(TensorError::mismatch(
                "zip_map3",
                self.shape(),
                b.shape(),
                "shapes must be equal",
            ));
        }
        let (xa, xb, xc) = (self.as_slice(), b.as_slice(), c.as_slice());
        let mut out = crate::buffer::dirty(xa.len());
        for_each_chunk_mut(&mut out, |start, chunk| {
            let end = start + chunk.len();
            let inputs = xa[start..end]
                .iter()
                .zip(&xb[start..end])
                .zip(&xc[start..end]);
            for (o, ((&p, &q), &r)) in chunk.iter_mut().zip(inputs) {
                *o = f(p, q, r);
            }
        });
        Ok(Tensor::from_parts(self.shape().to_vec(), out))
    }

    /// Combines two tensors elementwise after NumPy broadcasting.
    pub fn broadcast_zip<F>(&self, op: &'static str, other: &Tensor, f: F) -> Result<Tensor>
    where
        F: Fn(f32, f32) -> f32 + Sync + Send,
    {
        if self.shape() == other.shape() {
            return self.zip_map(other, f);
        }
        let out_shape = broadcast_shapes(op, self.shape(), other.shape())?;
        if other.numel() == 1 && out_shape == self.shape() {
            let y = other.as_slice()[0];
            return Ok(self.map(|x| f(x, y)));
        }
        if self.numel() == 1 && out_shape == other.shape() {
            let x = self.as_slice()[0];
            return Ok(other.map(|y| f(x, y)));
        }
        let rank = out_shape.len();
        let sa = broadcast_strides(self.shape(), &out_shape);
        let sb = broadcast_strides(other.shape(), &out_shape);
        let (a, b) = (self.as_slice(), other.as_slice());
        let inner = if rank == 0 { 1 } else { out_shape[rank - 1] };
        let (ia, ib) = if rank == 0 {
            (0, 0)
        } else {
            (sa[rank - 1], sb[rank - 1])
        };
        let mut out = crate::buffer::dirty(numel(&out_shape));
        let fill_row = |row: usize, dst: &mut [f32]| {
            // Offsets of this row's first element in each operand.
            let (mut oa, mut ob, mut rem) = (0, 0, row);
            for d in (0..rank.saturating_sub(1)).rev() {
                let idx = rem % out_shape[d];
                rem /= out_shape[d];
                oa += idx * sa[d];
                ob += idx * sb[d];
            }
            // Unit or zero inner strides (a per-channel vector against channels-last data, the
            // common case) run as slice loops the compiler vectorizes.
            let len = dst.len();
            match (ia, ib) {
                (1, 1) => {
                    let (ra, rb) = (&a[oa..oa + len], &b[ob..ob + len]);
                    for ((o, &x), &y) in dst.iter_mut().zip(ra).zip(rb) {
                        *o = f(x, y);
                    }
                }
                (1, 0) => {
                    let y = b[ob];
                    for (o, &x) in dst.iter_mut().zip(&a[oa..oa + len]) {
                        *o = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = a[oa];
                    for (o, &y) in dst.iter_mut().zip(&b[ob..ob + len]) {
                        *o = f(x, y);
                    }
                }
                _ => {
                    for (j, o) in dst.iter_mut().enumerate() {
                        *o = f(a[oa + j * ia], b[ob + j * ib]);
                    }
                }
            }
        };
        if out.len() >= MIN_PARALLEL_ELEMENTS && inner > 0 {
            // Tasks of several short rows, so rayon's per-task cost stays small.
            let rows_per_task = (4096 / inner).max(1);
            out.par_chunks_mut(inner * rows_per_task)
                .enumerate()
                .for_each(|(t, block)| {
                    for (r, dst) in block.chunks_mut(inner).enumerate() {
                        fill_row(t * rows_per_task + r, dst);
                    }
                });
        } else if inner > 0 {
            out.chunks_mut(inner)
                .enumerate()
                .for_each(|(row, dst)| fill_row(row, dst));
        }
        Ok(Tensor::from_parts(out_shape, out))
    }

    pub fn add(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("add", other, |x, y| x + y)
    }

    pub fn sub(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("sub", other, |x, y| x - y)
    }

    pub fn mul(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("mul", other, |x, y| x * y)
    }

    pub fn div(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("div", other, |x, y| x / y)
    }

    pub fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("maximum", other, f32::max)
    }

    pub fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        self.broadcast_zip("minimum", other, f32::min)
    }

    pub fn add_scalar(&self, s: f32) -> Tensor {
        self.map(|x| x + s)
    }

    pub fn mul_scalar(&self, s: f32) -> Tensor {
        self.map(|x| x * s)
    }

    pub fn neg(&self) -> Tensor {
        self.map(|x| -x)
    }

    pub fn exp(&self) -> Tensor {
        self.map(f32::exp)
    }

    pub fn log(&self) -> Tensor {
        self.map(f32::ln)
    }

    pub fn sqrt(&self) -> Tensor {
        self.map(f32::sqrt)
    }

    pub fn abs(&self) -> Tensor {
        self.map(f32::abs)
    }

    pub fn square(&self) -> Tensor {
        self.map(|x| x * x)
    }

    pub fn powf(&self, p: f32) -> Tensor {
        self.map(|x| x.powf(p))
    }

    pub fn relu(&self) -> Tensor {
        self.map(|x| x.max(0.0))
    }

    pub fn leaky_relu(&self, negative_slope: f32) -> Tensor {
        self.map(|x| if x >= 0.0 { x } else { negative_slope * x })
    }

    pub fn sigmoid(&self) -> Tensor {
        self.map(sigmoid)
    }

    pub fn tanh(&self) -> Tensor {
        self.map(f32::tanh)
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
