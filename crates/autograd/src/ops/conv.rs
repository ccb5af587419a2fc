//! 2-D convolution with optional bias, one node: forward im2col·W + b, backward
//! col2im(g·Wᵀ), im2col(x)ᵀ·g and Σg (see `krust_tensor::conv`).

use crate::{Result, Var};
use krust_tensor::conv::{conv2d, conv2d_backward};
use krust_tensor::Conv2dSpec;

impl Var {
    pub fn conv2d(&self, kernel: &Var, bias: Option<&Var>, spec: Conv2dSpec) -> Result<Var> {
        let (x, w) = (self.value(), kernel.value());
        let b = bias.map(|b| b.value());
        let y = conv2d(&x, &w, b.as_ref(), &spec)?;
        let (need_x, need_w) = (self.requires_grad(), kernel.requires_grad());
        let need_b = bias.map(|b| b.requires_grad());
        let mut parents = vec![self, kernel];
        parents.extend(bias);
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let grads =
                    conv2d_backward(&x, &w, g, &spec, need_x, need_w, need_b.unwrap_or(false))?;
                let mut out = vec![grads.input, grads.kernel];
                if need_b.is_some() {
                    out.push(grads.bias);
                }
                Ok(out)
            }),
        ))
    }
}
