//! 2-D and 3-D convolution (plain, grouped, depthwise) with optional bias, one node each: forward
//! im2col·W + b, backward col2im(g·Wᵀ), im2col(x)ᵀ·g and Σg (see `krust_tensor::conv`); and
//! their transposes, whose forward is the convolution's input gradient.

use crate::{Result, Var};
use krust_tensor::conv::{
    conv2d, conv2d_backward, conv2d_grouped, conv2d_grouped_backward, conv3d, conv3d_backward,
    conv3d_grouped, conv3d_grouped_backward, Conv2dGrads, Conv3dSpec,
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
        self.transposed_node(
            kernel,
            &[out_hw.0, out_hw.1],
            move |x, w| conv2d(x, w, None, &spec),
            move |x, w, dy, need| conv2d_backward(x, w, dy, &spec, need[0], need[1], false),
        )
    }

    /// 3-D transposed convolution (the gradient of `conv3d` with respect to its input)
    /// producing (n, out_d, out_h, out_w, filters) from (n, d, h, w, in_channels), kernel
    /// (kd, kh, kw, filters, in_channels) as in Keras; `spec` and `out_dhw` describe the
    /// convolution this one inverts, as for `conv2d_transpose`.
    pub fn conv3d_transpose(
        &self,
        kernel: &Var,
        out_dhw: [usize; 3],
        spec: Conv3dSpec,
    ) -> Result<Var> {
        self.transposed_node(
            kernel,
            &out_dhw,
            move |x, w| conv3d(x, w, None, &spec),
            move |x, w, dy, need| conv3d_backward(x, w, dy, &spec, need[0], need[1], false),
        )
    }

    /// The tape node of a transposed convolution, given the convolution `conv(x, w)` it
    /// inverts and that convolution's backward `grads(x, w, dy, [need input, need kernel])`.
    /// Forward: the input gradient of `conv` with self in the role of dy (only the shape of
    /// conv's input, `out_spatial` × filters, matters). Backward: d/dx is the forward `conv`
    /// of g; d/dW is conv's kernel gradient with g as its input and x as its dy.
    fn transposed_node(
        &self,
        kernel: &Var,
        out_spatial: &[usize],
        conv: impl Fn(&Tensor, &Tensor) -> TensorResult<Tensor> + 'static,
        grads: impl Fn(&Tensor, &Tensor, &Tensor, [bool; 2]) -> TensorResult<Conv2dGrads> + 'static,
    ) -> Result<Var> {
        let (x, w) = (self.value(), kernel.value());
        let n = x.shape().first().copied().unwrap_or(0);
        // Kernel (k..., filters, in_channels): filters is the second-to-last axis.
        let filters = w.shape().iter().rev().nth(1).copied().unwrap_or(0);
        let mut out_shape = vec![n];
        out_shape.extend_from_slice(out_spatial);
        out_shape.push(filters);
        let placeholder = Tensor::zeros(out_shape);
        let y = grads(&placeholder, &w, &x, [true, false])?
            .input
            .ok_or_else(|| {
                krust_tensor::TensorError::invalid("conv_transpose", "no output computed")
            })?;
        let (need_x, need_w) = (self.requires_grad(), kernel.requires_grad());
        Ok(Var::from_op(
            y,
            &[self, kernel],
            Box::new(move |g| {
                let dx = if need_x { Some(conv(g, &w)?) } else { None };
                let dw = if need_w {
                    grads(g, &w, &x, [false, true])?.kernel
                } else {
                    None
                };
                Ok(vec![dx, dw])
            }),
        ))
    }
}
