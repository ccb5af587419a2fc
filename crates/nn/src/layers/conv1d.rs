//! `Conv1D`: convolution over (steps, channels), kernel (kernel_size, in / groups, filters) as
//! in Keras; padding "valid", "same" or "causal" (left-padded so output t sees inputs ≤ t).
//! It runs as a 2-D convolution on a height-1 image.

use super::conv2d::grouped_conv2d;
use super::{kernel_and_bias, Layer};
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::output_size;
use krust_tensor::{Conv2dSpec, Padding};

/// Conv1D's padding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding1D {
    Valid,
    Same,
    /// (kernel_size - 1) · dilation zeros on the left only.
    Causal,
}

#[derive(Debug, Clone)]
pub struct Conv1D {
    pub filters: usize,
    pub kernel_size: usize,
    pub strides: usize,
    pub padding: Padding1D,
    pub dilation_rate: usize,
    pub groups: usize,
    pub activation: Activation,
    pub use_bias: bool,
    pub kernel_initializer: Initializer,
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint).
    pub penalties: WeightPenalties,
    kernel: Option<Var>,
    bias: Option<Var>,
}

impl Conv1D {
    pub fn new(filters: usize, kernel_size: usize) -> Self {
        Conv1D {
            filters,
            kernel_size,
            strides: 1,
            padding: Padding1D::Valid,
            dilation_rate: 1,
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("Conv1D", &["kernel", "bias"]),
            kernel: None,
            bias: None,
        }
    }

    pub fn with_padding(mut self, padding: Padding1D) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_strides(mut self, strides: usize) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_dilation(mut self, dilation_rate: usize) -> Self {
        self.dilation_rate = dilation_rate;
        self
    }

    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    fn spec(&self) -> Conv2dSpec {
        let padding = if self.padding == Padding1D::Same {
            Padding::Same
        } else {
            Padding::Valid
        };
        Conv2dSpec {
            strides: (1, self.strides),
            padding,
            dilation: (1, self.dilation_rate),
        }
    }

    fn causal_pad(&self) -> usize {
        if self.padding == Padding1D::Causal {
            (self.kernel_size.max(1) - 1) * self.dilation_rate
        } else {
            0
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Conv1D", config)?;
        let one = |v: (usize, usize)| v.0;
        let mut layer = Conv1D::new(
            c.usize("filters")?,
            one(single(&mut c, "kernel_size", None)?),
        );
        layer.strides = one(single(&mut c, "strides", Some(1))?);
        layer.dilation_rate = one(single(&mut c, "dilation_rate", Some(1))?);
        layer.padding = match c
            .value("padding")
            .and_then(|v| v.as_str())
            .unwrap_or("valid")
        {
            "valid" => Padding1D::Valid,
            "same" => Padding1D::Same,
            "causal" => Padding1D::Causal,
            other => {
                return Err(NnError::layer(
                    "Conv1D",
                    format!("argument `padding`: {other:?} is not valid, same or causal"),
                ))
            }
        };
        layer.groups = c.value("groups").and_then(|g| g.as_u64()).unwrap_or(1) as usize;
        layer.activation = c.activation_or("activation", Activation::Linear)?;
        layer.use_bias = c.bool_or("use_bias", true)?;
        layer.kernel_initializer =
            c.initializer_or("kernel_initializer", Initializer::GlorotUniform)?;
        layer.bias_initializer = c.initializer_or("bias_initializer", Initializer::Zeros)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }
}

/// Reads an int or a one-element list (Keras writes 1-D sizes as [k]).
pub(crate) fn single(
    c: &mut ConfigReader,
    key: &'static str,
    default: Option<usize>,
) -> Result<(usize, usize)> {
    match default {
        Some(d) => c.ints_or(key, [d]),
        None => c.ints(key),
    }
    .map(|[k]| (k, k))
}

impl Layer for Conv1D {
    fn class_name(&self) -> &'static str {
        "Conv1D"
    }

    fn config(&self) -> serde_json::Value {
        let padding = match self.padding {
            Padding1D::Valid => "valid",
            Padding1D::Same => "same",
            Padding1D::Causal => "causal",
        };
        let mut config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": [self.kernel_size],
            "strides": [self.strides],
            "padding": padding,
            "data_format": "channels_last",
            "dilation_rate": [self.dilation_rate],
            "groups": self.groups,
            "activation": self.activation.to_config(),
            "use_bias": self.use_bias,
            "kernel_initializer": initializer_to_json(&self.kernel_initializer),
            "bias_initializer": initializer_to_json(&self.bias_initializer),
        });
        self.penalties.write(&mut config);
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[steps, c] = input_shape else {
            return Err(NnError::layer(
                "Conv1D",
                format!("expects inputs (steps, channels), got {input_shape:?}"),
            ));
        };
        if self.filters == 0
            || self.groups == 0
            || c % self.groups != 0
            || !self.filters.is_multiple_of(self.groups)
        {
            return Err(NnError::layer("Conv1D", format!("filters {} and groups {} must be positive, and groups must divide {c} input channels and the filters", self.filters, self.groups)));
        }
        if self.strides > 1 && self.dilation_rate > 1 {
            return Err(NnError::layer(
                "Conv1D",
                "strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)",
            ));
        }
        let spec = self.spec();
        let (out, _, _) = output_size(
            "Conv1D",
            steps + self.causal_pad(),
            self.kernel_size,
            self.strides,
            self.dilation_rate,
            spec.padding,
        )
        .map_err(|e| NnError::layer("Conv1D", e.to_string()))?;
        self.kernel = Some(Var::parameter(self.kernel_initializer.try_sample(&[
            self.kernel_size,
            c / self.groups,
            self.filters,
        ])?));
        self.bias = if self.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[self.filters])?,
            ))
        } else {
            None
        };
        Ok(vec![out, self.filters])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let s = x.shape();
        let mut x2 = x.reshape(&[s[0], 1, s[1], s[2]])?;
        if self.causal_pad() > 0 {
            x2 = x2.pad(&[(0, 0), (0, 0), (self.causal_pad(), 0), (0, 0)], 0.0)?;
        }
        let k = kernel.shape();
        let k2 = kernel.reshape(&[1, k[0], k[1], k[2]])?;
        let y = grouped_conv2d(&x2, &k2, self.bias.as_ref(), self.spec(), self.groups)?;
        let ys = y.shape();
        let out = self.activation.apply(&y.reshape(&[ys[0], ys[2], ys[3]])?)?;
        self.penalties
            .add_losses(&kernel_and_bias(&self.kernel, &self.bias), &out, training)?;
        Ok(out)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&kernel_and_bias(&self.kernel, &self.bias))
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.kernel
            .iter()
            .map(|k| ("kernel", k.clone()))
            .chain(self.bias.iter().map(|b| ("bias", b.clone())))
            .collect()
    }

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        Some(vec![(
            (self.kernel_size - 1) * self.dilation_rate + 1,
            self.strides,
        )])
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        let cin = self.kernel.as_ref().map_or(0, |k| k.shape()[1]);
        2 * (output_shape.iter().product::<usize>() * self.kernel_size * cin) as u64
    }
}
