//! `Conv2D`: channels-last 2-D convolution, kernel (kh, kw, in, filters) as in Keras.

use super::Layer;
use crate::initializers::Initializer;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::output_size;
use krust_tensor::{Conv2dSpec, Padding};

#[derive(Debug, Clone)]
pub struct Conv2D {
    pub filters: usize,
    pub kernel_size: (usize, usize),
    /// Default (1, 1).
    pub strides: (usize, usize),
    /// Default valid.
    pub padding: Padding,
    /// Default (1, 1); > 1 is an atrous convolution. Keras forbids strides > 1 with it.
    pub dilation_rate: (usize, usize),
    /// Default linear.
    pub activation: Activation,
    /// Default true.
    pub use_bias: bool,
    /// Default glorot_uniform.
    pub kernel_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    kernel: Option<Var>,
    bias: Option<Var>,
}

impl Conv2D {
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv2D {
            filters,
            kernel_size,
            strides: (1, 1),
            padding: Padding::Valid,
            dilation_rate: (1, 1),
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel: None,
            bias: None,
        }
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_strides(mut self, strides: (usize, usize)) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_dilation(mut self, dilation_rate: (usize, usize)) -> Self {
        self.dilation_rate = dilation_rate;
        self
    }

    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    fn spec(&self) -> Conv2dSpec {
        Conv2dSpec {
            strides: self.strides,
            padding: self.padding,
            dilation: self.dilation_rate,
        }
    }
}

impl Layer for Conv2D {
    fn class_name(&self) -> &'static str {
        "Conv2D"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[h, w, c] = input_shape else {
            return Err(NnError::layer(
                "Conv2D",
                format!("expects inputs (height, width, channels), got {input_shape:?}"),
            ));
        };
        if self.filters == 0 {
            return Err(NnError::argument(
                "filters",
                "Conv2D needs at least one filter",
            ));
        }
        if (self.strides.0 > 1 || self.strides.1 > 1)
            && (self.dilation_rate.0 > 1 || self.dilation_rate.1 > 1)
        {
            return Err(NnError::layer(
                "Conv2D",
                "strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)",
            ));
        }
        let (kh, kw) = self.kernel_size;
        let spec = self.spec();
        let oh = output_size(
            "Conv2D",
            h,
            kh,
            spec.strides.0,
            spec.dilation.0,
            spec.padding,
        )
        .map_err(|e| NnError::layer("Conv2D", e.to_string()))?
        .0;
        let ow = output_size(
            "Conv2D",
            w,
            kw,
            spec.strides.1,
            spec.dilation.1,
            spec.padding,
        )
        .map_err(|e| NnError::layer("Conv2D", e.to_string()))?
        .0;
        self.kernel = Some(Var::parameter(self.kernel_initializer.sample(&[
            kh,
            kw,
            c,
            self.filters,
        ])));
        self.bias = self
            .use_bias
            .then(|| Var::parameter(self.bias_initializer.sample(&[self.filters])));
        Ok(vec![oh, ow, self.filters])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let y = x.conv2d(kernel, self.bias.as_ref(), self.spec())?;
        self.activation.apply(&y)
    }

    fn parameters(&self) -> Vec<Var> {
        self.kernel
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }
}
