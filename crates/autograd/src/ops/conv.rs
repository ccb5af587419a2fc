//! 2-D and 3-D convolution (plain, grouped, depthwise) with optional bias, one node each: forward
//! im2col·W + b, backward col2im(g·Wᵀ), im2col(x)ᵀ·g and Σg (see `krust_tensor::conv`).

use crate::{Result, Var};
use krust_tensor::conv::{
    conv2d, conv2d_backward, conv2d_grouped, conv2d_grouped_backward, conv3d_grouped,
    conv3d_grouped_backward, Conv2dGrads, Conv3dSpec,
};
use krust_tensor::{Conv2dSpec, Result as TensorResult, Tensor};

impl Var {
    /// Convolution of (n, h, w, in) with kernel (kh, kw, in, filters) and optional bias:
    /// `conv2d_grouped` with one group.
    pub fn conv2d(&self, kernel: &Var, bias: Option<&Var>, spec: Conv2dSpec) -> Result<Var> {
        self.conv2d_grouped(kernel, bias, spec, 1)
    }

    /// Convolution split into `groups` independent ones, kernel (kh, kw, in / groups, filters):
    /// input channel block g meets output channel block g. `groups` = in is a depthwise
    /// convolution (kernel (kh, kw, 1, in·m)); one group is `conv2d`. One tape node.
    pub fn conv2d_grouped(
        &self,
        kernel: &Var,
        bias: Option<&Var>,
        spec: Conv2dSpec,
        groups: usize,
    ) -> Result<Var> {
        self.convolution_node(
            kernel,
            bias,
            |x, w, b| conv2d_grouped(x, w, b, &spec, groups),
            move |x, w, g, need| {
                conv2d_grouped_backward(x, w, g, &spec, groups, need[0], need[1], need[2])
            },
        )
    }

    /// 3-D convolution of (n, d, h, w, in) with kernel (kd, kh, kw, in, filters) and optional
    /// bias: `conv3d_grouped` with one group.
    pub fn conv3d(&self, kernel: &Var, bias: Option<&Var>, spec: Conv3dSpec) -> Result<Var> {
        self.conv3d_grouped(kernel, bias, spec, 1)
    }

    /// 3-D convolution split into `groups` independent ones, kernel (kd, kh, kw, in / groups,
    /// filters); `groups` = in is a depthwise 3-D convolution. One kernel call and one tape
    /// node whatever the groups.
    pub fn conv3d_grouped(
        &self,
        kernel: &Var,
        bias: Option<&Var>,
        spec: Conv3dSpec,
        groups: usize,
    ) -> Result<Var> {
        self.convolution_node(
            kernel,
            bias,
            |x, w, b| conv3d_grouped(x, w, b, &spec, groups),
            move |x, w, g, need| {
                conv3d_grouped_backward(x, w, g, &spec, groups, need[0], need[1], need[2])
            },
        )
    }

    /// The tape node every convolution makes: `forward(x, kernel, bias)` now, and on the way
    /// back `backward(x, kernel, dy, [need input, need kernel, need bias])`, whose gradients go
    /// to the input, the kernel and (when given) the bias.
    fn convolution_node(
        &self,
        kernel: &Var,
        bias: Option<&Var>,
        forward: impl FnOnce(&Tensor, &Tensor, Option<&Tensor>) -> TensorResult<Tensor>,
        backward: impl Fn(&Tensor, &Tensor, &Tensor, [bool; 3]) -> TensorResult<Conv2dGrads> + 'static,
    ) -> Result<Var> {
        let (x, w) = (self.value(), kernel.value());
        let b = bias.map(|b| b.value());
        let y = forward(&x, &w, b.as_ref())?;
        let need_b = bias.map(|b| b.requires_grad());
        let need = [
            self.requires_grad(),
            kernel.requires_grad(),
            need_b.unwrap_or(false),
        ];
        let mut parents = vec![self, kernel];
        parents.extend(bias);
        Ok(Var::from_op(
            y,
            &parents,
            Box::new(move |g| {
                let grads = backward(&x, &w, g, need)?;
                let mut out = vec![grads.input, grads.kernel];
                if need_b.is_some() {
                    out.push(grads.bias);
                }
                Ok(out)
            }),
        ))
    }
}

impl Var {
    /// Transposed convolution (the gradient of `conv2d` with respect to its input) producing
    /// (n, out_h, out_w, filters) from (n, h, w, in_channels), with Keras's kernel layout
    /// (kh, kw, filters, in_channels). `spec` and the output size describe the convolution
    /// this one inverts: a `conv2d` with `spec` maps the output shape back to the input's.
    pub fn conv2d_transpose(
        &self,
        kernel: &Var,
        out_hw: (usize, usize),
        spec: Conv2dSpec,
    ) -> Result<Var> {
        let (x, w) = (self.value(), kernel.value());
        let (n, filters) = (
            x.shape().first().copied().unwrap_or(0),
            w.shape().get(2).copied().unwrap_or(0),
        );
        let out_shape = [n, out_hw.0, out_hw.1, filters];
        // Only the shape of the "input" matters when just the input gradient is asked for.
        let placeholder = krust_tensor::Tensor::zeros(out_shape);
        let y = conv2d_backward(&placeholder, &w, &x, &spec, true, false, false)?
            .input
            .ok_or_else(|| {
                krust_tensor::TensorError::invalid("conv2d_transpose", "no output computed")
            })?;
        let (need_x, need_w) = (self.requires_grad(), kernel.requires_grad());
        Ok(Var::from_op(
            y,
            &[self, kernel],
            Box::new(move |g| {
                // d/dx: the forward convolution of g; d/dW: the kernel gradient of that same
                // convolution with x in the role of its output gradient.
                let dx = if need_x {
                    Some(conv2d(g, &w, None, &spec)?)
                } else {
                    None
                };
                let dw = if need_w {
                    conv2d_backward(g, &w, &x, &spec, false, true, false)?.kernel
                } else {
                    None
                };
                Ok(vec![dx, dw])
            }),
        ))
    }
}
