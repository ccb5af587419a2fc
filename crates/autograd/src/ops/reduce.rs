//! Reductions: sum, mean and max over axes. Max sends the gradient to the maxima, split
//! equally among ties (as PyTorch's amax).

use crate::{BinaryOp, Result, Var};

impl Var {
    pub fn sum_axes(&self, axes: &[isize], keepdims: bool) -> Result<Var> {
        let x = self.value();
        let out = x.sum_axes(axes, keepdims)?;
        let kept = x.sum_axes(axes, true)?.shape().to_vec();
        let shape = x.shape().to_vec();
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| {
                let g = g.reshape(kept)?;
                Ok(vec![Some(g.broadcast_to(&shape)?)])
            }),
        ))
    }

    pub fn mean_axes(&self, axes: &[isize], keepdims: bool) -> Result<Var> {
        let n_in = self.value_ref().numel();
        let s = self.sum_axes(axes, keepdims)?;
        let n_out = s.value_ref().numel();
        Ok(s.mul_scalar(n_out as f32 / n_in.max(1) as f32))
    }

    /// Sum of every element, as a scalar.
    pub fn sum(&self) -> Result<Var> {
        let axes: Vec<isize> = (0..self.shape().len() as isize).collect();
        self.sum_axes(&axes, false)
    }

    /// Mean of every element, as a scalar.
    pub fn mean(&self) -> Result<Var> {
        let axes: Vec<isize> = (0..self.shape().len() as isize).collect();
        self.mean_axes(&axes, false)
    }

    pub fn max_axes(&self, axes: &[isize], keepdims: bool) -> Result<Var> {
        let x = self.value();
        let out = x.max_axes(axes, keepdims)?;
        let m = x.max_axes(axes, true)?;
        let kept = m.shape().to_vec();
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| {
                let mask = x.binary(BinaryOp::Equal, &m)?;
                let ties = mask.sum_axes(axes_of(&kept, x.shape()).as_slice(), true)?;
                let g = g.reshape(kept)?.div(&ties)?;
                Ok(vec![Some(mask.mul(&g)?)])
            }),
        ))
    }
}

/// The axes along which `kept` (keepdims result) was reduced from `full`.
fn axes_of(kept: &[usize], full: &[usize]) -> Vec<isize> {
    (0..full.len())
        .filter(|&i| kept[i] == 1 && full[i] != 1)
        .map(|i| i as isize)
        .collect()
}
