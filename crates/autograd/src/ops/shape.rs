//! Shape ops: reshape, flatten, permute, slice, concatenate, pad. Their backward rules move
//! gradients back without arithmetic.

use crate::{Result, Tensor, TensorError, Var};

impl Var {
    pub fn reshape(&self, shape: &[usize]) -> Result<Var> {
        let x = self.value();
        let old = x.shape().to_vec();
        Ok(Var::from_op(
            x.reshape(shape.to_vec())?,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.reshape(old)?)])),
        ))
    }

    /// Keeps the first (batch) axis and flattens the rest, as Keras's Flatten.
    pub fn flatten(&self) -> Result<Var> {
        let s = self.shape();
        let batch = *s
            .first()
            .ok_or_else(|| TensorError::invalid("flatten", "cannot flatten a scalar"))?;
        self.reshape(&[batch, s[1..].iter().product()])
    }

    pub fn permute(&self, perm: &[usize]) -> Result<Var> {
        let out = self.value().permute(perm)?;
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.permute(&inverse)?)])),
        ))
    }

    pub fn slice(&self, axis: isize, start: usize, end: usize) -> Result<Var> {
        let x = self.value();
        let out = x.slice(axis, start, end)?;
        let shape = x.shape().to_vec();
        let a = if axis < 0 {
            (axis + shape.len() as isize) as usize
        } else {
            axis as usize
        };
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| {
                let mut pads = vec![(0, 0); shape.len()];
                pads[a] = (start, shape[a] - end);
                Ok(vec![Some(g.pad(&pads, 0.0)?)])
            }),
        ))
    }

    pub fn concat(vars: &[&Var], axis: isize) -> Result<Var> {
        let values: Vec<Tensor> = vars.iter().map(|v| v.value()).collect();
        let refs: Vec<&Tensor> = values.iter().collect();
        let out = Tensor::concat(&refs, axis)?;
        let sizes: Vec<usize> = values
            .iter()
            .map(|v| {
                v.shape()[if axis < 0 {
                    (axis + v.rank() as isize) as usize
                } else {
                    axis as usize
                }]
            })
            .collect();
        Ok(Var::from_op(
            out,
            vars,
            Box::new(move |g| {
                let mut start = 0;
                sizes
                    .iter()
                    .map(|&n| {
                        let part = g.slice(axis, start, start + n);
                        start += n;
                        part.map(Some)
                    })
                    .collect()
            }),
        ))
    }

    pub fn pad(&self, pads: &[(usize, usize)], value: f32) -> Result<Var> {
        let out = self.value().pad(pads, value)?;
        let pads = pads.to_vec();
        Ok(Var::from_op(
            out,
            &[self],
            Box::new(move |g| Ok(vec![Some(g.crop(&pads)?)])),
        ))
    }
}
