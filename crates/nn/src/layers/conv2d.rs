//! `Conv2D`: channels-last 2-D convolution, kernel (kh, kw, in, filters) as in Keras.

use super::{kernel_and_bias, Layer};
use crate::config::{initializer_to_json, padding_name, ConfigReader};
use crate::inference::{ConvWeights, InferenceRole};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
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
    /// Default 1. With g groups, input and output channels split into g independent
    /// convolutions (the kernel is (kh, kw, in / g, filters)).
    pub groups: usize,
    /// Default linear.
    pub activation: Activation,
    /// Default true.
    pub use_bias: bool,
    /// Default glorot_uniform.
    pub kernel_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint).
    pub penalties: WeightPenalties,
    kernel: Option<Var>,
    bias: Option<Var>,
}

/// The (height, width) tuple the layer stores, from the reader's array.
fn pair([h, w]: [usize; 2]) -> (usize, usize) {
    (h, w)
}

impl Conv2D {
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> Self {
        Conv2D {
            filters,
            kernel_size,
            strides: (1, 1),
            padding: Padding::Valid,
            dilation_rate: (1, 1),
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("Conv2D", &["kernel", "bias"]),
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

    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
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
    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        let extent = |k: usize, d: usize| (k - 1) * d + 1;
        Some(vec![
            (
                extent(self.kernel_size.0, self.dilation_rate.0),
                self.strides.0,
            ),
            (
                extent(self.kernel_size.1, self.dilation_rate.1),
                self.strides.1,
            ),
        ])
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        let cin = self.kernel.as_ref().map_or(0, |k| k.shape()[2]);
        let positions: usize = output_shape.iter().product();
        2 * (positions * self.kernel_size.0 * self.kernel_size.1 * cin) as u64
    }

    fn config(&self) -> serde_json::Value {
        let mut config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": [self.kernel_size.0, self.kernel_size.1],
            "strides": [self.strides.0, self.strides.1],
            "padding": padding_name(self.padding),
            "data_format": "channels_last",
            "dilation_rate": [self.dilation_rate.0, self.dilation_rate.1],
            "groups": self.groups,
            "activation": self.activation.to_config(),
            "use_bias": self.use_bias,
            "kernel_initializer": initializer_to_json(&self.kernel_initializer),
            "bias_initializer": initializer_to_json(&self.bias_initializer),
        });
        self.penalties.write(&mut config);
        config
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.kernel
            .iter()
            .map(|k| ("kernel", k.clone()))
            .chain(self.bias.iter().map(|b| ("bias", b.clone())))
            .collect()
    }

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
        if self.groups == 0 || c % self.groups != 0 || !self.filters.is_multiple_of(self.groups) {
            return Err(NnError::layer(
                "Conv2D",
                format!(
                    "groups {} must divide both the {c} input channels and the {} filters",
                    self.groups, self.filters
                ),
            ));
        }
        self.kernel = Some(Var::parameter(self.kernel_initializer.try_sample(&[
            kh,
            kw,
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
        Ok(vec![oh, ow, self.filters])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let y = grouped_conv2d(x, kernel, self.bias.as_ref(), self.spec(), self.groups)?;
        let out = self.activation.apply(&y)?;
        self.penalties
            .add_losses(&kernel_and_bias(&self.kernel, &self.bias), &out, training)?;
        Ok(out)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&kernel_and_bias(&self.kernel, &self.bias))
    }

    fn inference_role(&self) -> Option<InferenceRole> {
        Some(InferenceRole::Conv2d(ConvWeights {
            kernel: self.kernel.as_ref()?.value(),
            bias: self.bias.as_ref().map(Var::value),
            spec: self.spec(),
            groups: self.groups,
            activation: self.activation,
        }))
    }
}

impl Conv2D {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Conv2D", config)?;
        let mut layer = Conv2D::new(c.usize("filters")?, pair(c.ints("kernel_size")?));
        layer.strides = pair(c.ints_or("strides", [1, 1])?);
        layer.padding = c.padding_or("padding", Padding::Valid)?;
        layer.dilation_rate = pair(c.ints_or("dilation_rate", [1, 1])?);
        layer.groups = match c.value("groups") {
            None => 1,
            Some(g) => g.as_u64().filter(|&g| g > 0).ok_or_else(|| {
                NnError::layer(
                    "Conv2D",
                    format!("argument `groups`: expected a positive integer, got {g}"),
                )
            })? as usize,
        };
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

/// A convolution split into `groups` independent ones: input channel block g meets kernel
/// output block g (the kernel's input axis already has in / groups channels), and the
/// results are concatenated along channels. One group is a plain convolution. One tape node
/// (`Var::conv2d_grouped`), whatever the number of groups.
pub(crate) fn grouped_conv2d(
    x: &Var,
    kernel: &Var,
    bias: Option<&Var>,
    spec: krust_tensor::Conv2dSpec,
    groups: usize,
) -> Result<Var> {
    Ok(x.conv2d_grouped(kernel, bias, spec, groups)?)
}
