//! Broadcasting arithmetic and unary math. Binary backward rules sum the gradient back to each
//! operand's own shape, undoing the broadcast.

use crate::{Result, Tensor, Var};

/// Records a broadcasting binary op whose partial derivatives are given per element by `da`
/// and `db` as functions of (a, b).
fn binary(
    a: &Var,
    b: &Var,
    forward: fn(&Tensor, &Tensor) -> Result<Tensor>,
    da: fn(f32, f32) -> f32,
    db: fn(f32, f32) -> f32,
) -> Result<Var> {
    let (x, y) = (a.value(), b.value());
    let out = forward(&x, &y)?;
    let (need_a, need_b) = (a.requires_grad(), b.requires_grad());
    Ok(Var::from_op(
        out,
        &[a, b],
        Box::new(move |g| {
            // Operands already of the output's shape (a dropout mask, a gate) are used as they
            // are; only broadcast ones are expanded, once. The local rule then runs as one
            // parallel pass.
            let expand = |t: &Tensor| -> Result<Tensor> {
                if t.shape() == g.shape() {
                    Ok(t.clone())
                } else {
                    t.broadcast_zip("grad", &Tensor::zeros(g.shape().to_vec()), |v, _| v)
                }
            };
            let (xb, yb) = (expand(&x)?, expand(&y)?);
            let local = |d: fn(f32, f32) -> f32| g.zip_map3(&xb, &yb, move |gv, p, q| gv * d(p, q));
            let ga = if need_a {
                Some(local(da)?.sum_to_shape(x.shape())?)
            } else {
                None
            };
            let gb = if need_b {
                Some(local(db)?.sum_to_shape(y.shape())?)
            } else {
                None
            };
            Ok(vec![ga, gb])
        }),
    ))
}

impl Var {
    pub fn add(&self, other: &Var) -> Result<Var> {
        // d(a+b) = (g, g): no per-element work, just un-broadcast.
        let (x, y) = (self.value(), other.value());
        let out = x.add(&y)?;
        let (sa, sb) = (x.shape().to_vec(), y.shape().to_vec());
        Ok(Var::from_op(
            out,
            &[self, other],
            Box::new(move |g| Ok(vec![Some(g.sum_to_shape(&sa)?), Some(g.sum_to_shape(&sb)?)])),
        ))
    }

    pub fn sub(&self, other: &Var) -> Result<Var> {
        let (x, y) = (self.value(), other.value());
        let out = x.sub(&y)?;
        let (sa, sb) = (x.shape().to_vec(), y.shape().to_vec());
        Ok(Var::from_op(
            out,
            &[self, other],
            Box::new(move |g| {
                Ok(vec![
                    Some(g.sum_to_shape(&sa)?),
                    Some(g.neg().sum_to_shape(&sb)?),
                ])
            }),
        ))
    }

    pub fn mul(&self, other: &Var) -> Result<Var> {
        binary(self, other, Tensor::mul, |_, b| b, |a, _| a)
    }

    pub fn div(&self, other: &Var) -> Result<Var> {
        binary(
            self,
            other,
            Tensor::div,
            |_, b| 1.0 / b,
            |a, b| -a / (b * b),
        )
    }

    /// Elementwise maximum; on ties the gradient goes to the first operand.
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        binary(
            self,
            other,
            Tensor::maximum,
            |a, b| if a >= b { 1.0 } else { 0.0 },
            |a, b| if a >= b { 0.0 } else { 1.0 },
        )
    }

    /// Elementwise minimum; on ties the gradient goes to the first operand.
    pub fn minimum(&self, other: &Var) -> Result<Var> {
        binary(
            self,
            other,
            Tensor::minimum,
            |a, b| if a <= b { 1.0 } else { 0.0 },
            |a, b| if a <= b { 0.0 } else { 1.0 },
        )
    }

    /// Records a unary elementwise op with derivative `d(x, y)` where y = f(x).
    pub(crate) fn unary(
        &self,
        out: Tensor,
        d: impl Fn(f32, f32) -> f32 + Send + Sync + 'static,
    ) -> Var {
        let x = self.value();
        let y = out.clone();
        Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.zip_map3(&x, &y, |g, x, y| g * d(x, y))?)])),
        )
    }

    pub fn neg(&self) -> Var {
        self.unary(self.value().neg(), |_, _| -1.0)
    }

    pub fn add_scalar(&self, s: f32) -> Var {
        self.unary(self.value().add_scalar(s), |_, _| 1.0)
    }

    pub fn mul_scalar(&self, s: f32) -> Var {
        self.unary(self.value().mul_scalar(s), move |_, _| s)
    }

    pub fn exp(&self) -> Var {
        self.unary(self.value().exp(), |_, y| y)
    }

    pub fn log(&self) -> Var {
        self.unary(self.value().log(), |x, _| 1.0 / x)
    }

    pub fn sqrt(&self) -> Var {
        self.unary(self.value().sqrt(), |_, y| 0.5 / y)
    }

    /// |x|, with derivative sign(x) (0 at 0, like PyTorch).
    pub fn abs(&self) -> Var {
        self.unary(self.value().abs(), |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }

    pub fn square(&self) -> Var {
        self.unary(self.value().square(), |x, _| 2.0 * x)
    }

    pub fn powf(&self, p: f32) -> Var {
        self.unary(self.value().powf(p), move |x, _| p * x.powf(p - 1.0))
    }
}

impl Var {
    /// Clamps into [lo, hi]; the gradient is zero where the clamp is active (Keras's clip).
    pub fn clip(&self, lo: f32, hi: f32) -> Var {
        self.unary(self.value().map(move |x| x.clamp(lo, hi)), move |x, _| {
            if (lo..=hi).contains(&x) {
                1.0
            } else {
                0.0
            }
        })
    }
}
