//! Broadcasting arithmetic and unary math. Binary backward rules sum the gradient back to each
//! operand's own shape, undoing the broadcast.

use crate::{Result, Var};
use krust_tensor::{BinaryOp, TernaryOp, UnaryOp};

impl Var {
    /// Records a broadcasting binary op; its backward rule scales g by the op's partial
    /// derivatives and sums each back to its operand's own shape, undoing the broadcast.
    pub fn apply_binary(&self, op: BinaryOp, other: &Var) -> Result<Var> {
        let (x, y) = (self.value(), other.value());
        let out = x.binary(op, &y)?;
        let (need_a, need_b) = (self.requires_grad(), other.requires_grad());
        Ok(Var::from_op(
            out,
            &[self, other],
            Box::new(move |g| {
                // Operands already of the output's shape (a dropout mask, a gate) are used as
                // they are; only broadcast ones are expanded, once. The local rule then runs
                // as one parallel pass.
                let (xb, yb) = (x.broadcast_to(g.shape())?, y.broadcast_to(g.shape())?);
                let local = |rule: TernaryOp| g.ternary(rule, &xb, &yb);
                let ga = if need_a {
                    Some(local(TernaryOp::LhsGrad(op))?.sum_to_shape(x.shape())?)
                } else {
                    None
                };
                let gb = if need_b {
                    Some(local(TernaryOp::RhsGrad(op))?.sum_to_shape(y.shape())?)
                } else {
                    None
                };
                Ok(vec![ga, gb])
            }),
        ))
    }

    /// Records a unary elementwise op; its backward rule is g · op'(x), one ternary pass over
    /// (g, x, y).
    pub fn apply_unary(&self, op: UnaryOp) -> Var {
        let x = self.value();
        let out = x.unary(op);
        let y = out.clone();
        Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.ternary(TernaryOp::UnaryGrad(op), &x, &y)?)])),
        )
    }

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
        self.apply_binary(BinaryOp::Mul, other)
    }

    pub fn div(&self, other: &Var) -> Result<Var> {
        self.apply_binary(BinaryOp::Div, other)
    }

    /// Elementwise maximum; on ties the gradient goes to the first operand.
    pub fn maximum(&self, other: &Var) -> Result<Var> {
        self.apply_binary(BinaryOp::Maximum, other)
    }

    /// Elementwise minimum; on ties the gradient goes to the first operand.
    pub fn minimum(&self, other: &Var) -> Result<Var> {
        self.apply_binary(BinaryOp::Minimum, other)
    }

    pub fn neg(&self) -> Var {
        self.apply_unary(UnaryOp::Neg)
    }

    pub fn add_scalar(&self, s: f32) -> Var {
        self.apply_unary(UnaryOp::AddScalar(s))
    }

    pub fn mul_scalar(&self, s: f32) -> Var {
        self.apply_unary(UnaryOp::MulScalar(s))
    }

    pub fn exp(&self) -> Var {
        self.apply_unary(UnaryOp::Exp)
    }

    pub fn log(&self) -> Var {
        self.apply_unary(UnaryOp::Log)
    }

    pub fn sqrt(&self) -> Var {
        self.apply_unary(UnaryOp::Sqrt)
    }

    /// |x|, with derivative sign(x) (0 at 0, like PyTorch).
    pub fn abs(&self) -> Var {
        self.apply_unary(UnaryOp::Abs)
    }

    pub fn square(&self) -> Var {
        self.apply_unary(UnaryOp::Square)
    }

    pub fn powf(&self, p: f32) -> Var {
        self.apply_unary(UnaryOp::PowScalar(p))
    }

    /// Clamps into [lo, hi]; the gradient is zero where the clamp is active (Keras's clip).
    pub fn clip(&self, lo: f32, hi: f32) -> Var {
        self.apply_unary(UnaryOp::Clamp { lo, hi })
    }
}
