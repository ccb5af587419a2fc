//! `Conv2DTranspose` and `Conv1DTranspose`: the transpose (gradient) of a convolution, used to
//! upsample. Kernel (kh, kw, filters, in_channels) as in Keras; output length follows Keras:
//! valid: in·stride + max(k - stride, 0); same: in·stride; with output_padding p:
//! (in - 1)·stride + k - 2·pad + p, pad = 0 (valid) or k // 2 (same), k the dilated size.

use super::conv1d::single;
use super::{kernel_and_bias, Layer};
use crate::config::{initializer_to_json, padding_name, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Conv2dSpec, Padding};

/// Keras's deconvolution output length for one axis.
pub fn transpose_output_length(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> usize {
    let k = (kernel - 1) * dilation + 1;
    match (output_padding, padding) {
        (None, Padding::Valid) => input * stride + k.saturating_sub(stride),
        (None, Padding::Same) => input * stride,
        (Some(p), pad_mode) => {
            let pad = if pad_mode == Padding::Same { k / 2 } else { 0 };
            ((input - 1) * stride + k + p).saturating_sub(2 * pad)
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConvTranspose {
    pub filters: usize,
    pub kernel_size: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
    pub output_padding: Option<(usize, usize)>,
    pub dilation_rate: (usize, usize),
    pub activation: Activation,
    pub use_bias: bool,
    /// Default glorot_uniform.
    pub kernel_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint).
    pub penalties: WeightPenalties,
    one_d: bool,
    kernel: Option<Var>,
    bias: Option<Var>,
    out_hw: (usize, usize),
}

/// `Conv2DTranspose(filters, kernel_size)`.
pub struct Conv2DTranspose;
/// `Conv1DTranspose(filters, kernel_size)` over (steps, channels).
pub struct Conv1DTranspose;

impl Conv2DTranspose {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> ConvTranspose {
        ConvTranspose::new(filters, kernel_size, false)
    }
}

impl Conv1DTranspose {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: usize) -> ConvTranspose {
        ConvTranspose::new(filters, (1, kernel_size), true)
    }
}

impl ConvTranspose {
    fn new(filters: usize, kernel_size: (usize, usize), one_d: bool) -> Self {
        ConvTranspose {
            filters,
            kernel_size,
            strides: (1, 1),
            padding: Padding::Valid,
            output_padding: None,
            dilation_rate: (1, 1),
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new(
                if one_d {
                    "Conv1DTranspose"
                } else {
                    "Conv2DTranspose"
                },
                &["kernel", "bias"],
            ),
            one_d,
            kernel: None,
            bias: None,
            out_hw: (0, 0),
        }
    }

    pub fn with_strides(mut self, strides: (usize, usize)) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn with_output_padding(mut self, output_padding: (usize, usize)) -> Self {
        self.output_padding = Some(output_padding);
        self
    }

    fn name(&self) -> &'static str {
        if self.one_d {
            "Conv1DTranspose"
        } else {
            "Conv2DTranspose"
        }
    }

    pub fn from_config(class: &str, config: &serde_json::Value) -> Result<Self> {
        let one_d = class == "Conv1DTranspose";
        let name = if one_d {
            "Conv1DTranspose"
        } else {
            "Conv2DTranspose"
        };
        let mut c = ConfigReader::new(name, config)?;
        let pair = |c: &mut ConfigReader,
                    key: &'static str,
                    default: Option<usize>|
         -> Result<(usize, usize)> {
            if one_d {
                single(c, key, default).map(|(_, k)| (1, k))
            } else {
                match default {
                    Some(d) => c.ints_or(key, [d; 2]),
                    None => c.ints(key),
                }
                .map(|[a, b]| (a, b))
            }
        };
        let mut layer = ConvTranspose::new(
            c.usize("filters")?,
            pair(&mut c, "kernel_size", None)?,
            one_d,
        );
        layer.strides = pair(&mut c, "strides", Some(1))?;
        layer.dilation_rate = pair(&mut c, "dilation_rate", Some(1))?;
        layer.padding = c.padding_or("padding", Padding::Valid)?;
        if c.value("output_padding").is_some() {
            layer.output_padding = Some(pair(&mut c, "output_padding", None)?);
        }
        layer.activation = c.activation_or("activation", Activation::Linear)?;
        layer.use_bias = c.bool_or("use_bias", true)?;
        layer.kernel_initializer =
            c.initializer_or("kernel_initializer", Initializer::GlorotUniform)?;
        layer.bias_initializer = c.initializer_or("bias_initializer", Initializer::Zeros)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }

    fn spec(&self) -> Conv2dSpec {
        Conv2dSpec {
            strides: self.strides,
            padding: self.padding,
            dilation: self.dilation_rate,
        }
    }
}

impl Layer for ConvTranspose {
    fn class_name(&self) -> &'static str {
        self.name()
    }

    fn config(&self) -> serde_json::Value {
        let pick = |p: (usize, usize)| {
            if self.one_d {
                serde_json::json!([p.1])
            } else {
                serde_json::json!([p.0, p.1])
            }
        };
        let mut config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": pick(self.kernel_size),
            "strides": pick(self.strides),
            "padding": padding_name(self.padding),
            "output_padding": self.output_padding.map(pick),
            "data_format": "channels_last",
            "dilation_rate": pick(self.dilation_rate),
            "activation": self.activation.to_config(),
            "use_bias": self.use_bias,
            "kernel_initializer": initializer_to_json(&self.kernel_initializer),
            "bias_initializer": initializer_to_json(&self.bias_initializer),
        });
        self.penalties.write(&mut config);
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (h, w, c) = match (self.one_d, input_shape) {
            (true, &[steps, c]) => (1, steps, c),
            (false, &[h, w, c]) => (h, w, c),
            _ => {
                return Err(NnError::layer(
                    self.name(),
                    format!("unexpected input shape {input_shape:?}"),
                ))
            }
        };
        if let Some((ph, pw)) = self.output_padding {
            if (!self.one_d && ph >= self.strides.0) || pw >= self.strides.1 {
                return Err(NnError::layer(
                    self.name(),
                    "output_padding must be smaller than the strides (as in Keras)",
                ));
            }
        }
        let (kh, kw) = self.kernel_size;
        let oh = if self.one_d {
            1
        } else {
            transpose_output_length(
                h,
                kh,
                self.strides.0,
                self.dilation_rate.0,
                self.padding,
                self.output_padding.map(|p| p.0),
            )
        };
        let ow = transpose_output_length(
            w,
            kw,
            self.strides.1,
            self.dilation_rate.1,
            self.padding,
            self.output_padding.map(|p| p.1),
        );
        self.out_hw = (oh, ow);
        let shape: Vec<usize> = if self.one_d {
            vec![kw, self.filters, c]
        } else {
            vec![kh, kw, self.filters, c]
        };
        self.kernel = Some(Var::parameter(self.kernel_initializer.try_sample(&shape)?));
        self.bias = if self.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[self.filters])?,
            ))
        } else {
            None
        };
        Ok(if self.one_d {
            vec![ow, self.filters]
        } else {
            vec![oh, ow, self.filters]
        })
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let s = x.shape();
        let (x4, k4) = if self.one_d {
            let k = kernel.shape();
            (
                x.reshape(&[s[0], 1, s[1], s[2]])?,
                kernel.reshape(&[1, k[0], k[1], k[2]])?,
            )
        } else {
            (x.clone(), kernel.clone())
        };
        let mut y = x4.conv2d_transpose(&k4, self.out_hw, self.spec())?;
        if let Some(b) = &self.bias {
            y = y.add(b)?;
        }
        if self.one_d {
            let ys = y.shape();
            y = y.reshape(&[ys[0], ys[2], ys[3]])?;
        }
        let out = self.activation.apply(&y)?;
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

    fn flops(&self, _output_shape: &[usize]) -> u64 {
        let k = self.kernel.as_ref().map_or(0, |k| k.value_ref().numel());
        let inputs = if self.one_d {
            self.out_hw.1
        } else {
            self.out_hw.0 * self.out_hw.1
        };
        // Every input position meets the whole kernel: in_positions · k multiply-adds,
        // approximated through the output size divided by the strides.
        2 * (inputs / (self.strides.0 * self.strides.1).max(1) * k / self.filters.max(1)
            * self.filters) as u64
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn conv2d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv2DTranspose",
            json!({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 3, 4, 2], 1),
        );
    }

    #[test]
    fn conv1d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv1DTranspose",
            json!({"filters": 2, "kernel_size": 3, "strides": 2}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 5, 3], 2),
        );
    }
}
