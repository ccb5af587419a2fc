//! `DepthwiseConv2D` (each input channel convolved with its own `depth_multiplier` filters,
//! kernel (kh, kw, in, depth_multiplier)), and `SeparableConv2D` / `SeparableConv1D`
//! (a depthwise convolution followed by a 1x1 pointwise one), as in Keras.

use super::conv1d::single;
use super::Layer;
use crate::config::{initializer_to_json, padding_name, ConfigReader};
use crate::inference::{ConvWeights, InferenceRole};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::output_size;
use krust_tensor::{Conv2dSpec, Padding};

/// The depthwise step: a grouped convolution with one group per input channel, its kernel
/// (kh, kw, in, m) read as (kh, kw, 1, in·m) so output channel c·m + j is filter j of channel c
/// (the same memory, so the reshape is free). The bias, when given, is fused into the node.
fn depthwise(x: &Var, kernel: &Var, bias: Option<&Var>, spec: Conv2dSpec) -> Result<Var> {
    let k = kernel.shape();
    let grouped = kernel.reshape(&[k[0], k[1], 1, k[2] * k[3]])?;
    Ok(x.conv2d_grouped(&grouped, bias, spec, k[2])?)
}

fn spatial_out(
    layer: &str,
    hw: (usize, usize),
    k: (usize, usize),
    spec: &Conv2dSpec,
) -> Result<(usize, usize)> {
    let size = |len, k, s, d| {
        output_size("conv", len, k, s, d, spec.padding)
            .map(|o| o.0)
            .map_err(|e| NnError::layer(layer, e.to_string()))
    };
    Ok((
        size(hw.0, k.0, spec.strides.0, spec.dilation.0)?,
        size(hw.1, k.1, spec.strides.1, spec.dilation.1)?,
    ))
}

/// Shared arguments of the depthwise family.
#[derive(Debug, Clone)]
struct DepthwiseArgs {
    kernel_size: (usize, usize),
    strides: (usize, usize),
    padding: Padding,
    dilation_rate: (usize, usize),
    depth_multiplier: usize,
    activation: Activation,
    use_bias: bool,
}

impl DepthwiseArgs {
    fn new(kernel_size: (usize, usize)) -> Self {
        DepthwiseArgs {
            kernel_size,
            strides: (1, 1),
            padding: Padding::Valid,
            dilation_rate: (1, 1),
            depth_multiplier: 1,
            activation: Activation::Linear,
            use_bias: true,
        }
    }

    fn spec(&self) -> Conv2dSpec {
        Conv2dSpec {
            strides: self.strides,
            padding: self.padding,
            dilation: self.dilation_rate,
        }
    }

    /// Reads the arguments common to the family; 1-D layers pass `one_d`.
    fn read(c: &mut ConfigReader, layer: &str, one_d: bool) -> Result<Self> {
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
        let mut a = DepthwiseArgs::new(pair(c, "kernel_size", None)?);
        a.strides = pair(c, "strides", Some(1))?;
        a.dilation_rate = pair(c, "dilation_rate", Some(1))?;
        a.padding = c.padding_or("padding", Padding::Valid)?;
        a.depth_multiplier = c
            .value("depth_multiplier")
            .and_then(|v| v.as_u64())
            .unwrap_or(1) as usize;
        a.activation = c.activation_or("activation", Activation::Linear)?;
        a.use_bias = c.bool_or("use_bias", true)?;
        if a.depth_multiplier == 0 {
            return Err(NnError::layer(
                layer,
                "argument `depth_multiplier` must be at least 1",
            ));
        }
        Ok(a)
    }

    fn config(&self, one_d: bool) -> serde_json::Value {
        let pick = |p: (usize, usize)| {
            if one_d {
                serde_json::json!([p.1])
            } else {
                serde_json::json!([p.0, p.1])
            }
        };
        serde_json::json!({
            "kernel_size": pick(self.kernel_size),
            "strides": pick(self.strides),
            "padding": padding_name(self.padding),
            "data_format": "channels_last",
            "dilation_rate": pick(self.dilation_rate),
            "depth_multiplier": self.depth_multiplier,
            "activation": self.activation.to_config(),
            "use_bias": self.use_bias,
        })
    }
}

#[derive(Debug, Clone)]
pub struct DepthwiseConv2D {
    args: DepthwiseArgs,
    /// Default glorot_uniform.
    pub depthwise_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    /// Regularizers and constraints of the depthwise kernel and the bias, and the activity
    /// regularizer (Keras's depthwise_*, bias_*, activity_regularizer).
    pub penalties: WeightPenalties,
    kernel: Option<Var>,
    bias: Option<Var>,
}

impl DepthwiseConv2D {
    pub fn new(kernel_size: (usize, usize), depth_multiplier: usize) -> Self {
        let mut args = DepthwiseArgs::new(kernel_size);
        args.depth_multiplier = depth_multiplier;
        DepthwiseConv2D {
            args,
            depthwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("DepthwiseConv2D", &["depthwise", "bias"]),
            kernel: None,
            bias: None,
        }
    }

    /// The weights under their Keras argument prefixes (Keras names the depthwise kernel
    /// "kernel" but configures it as "depthwise_*"), for the penalties.
    fn by_prefix(&self) -> [(&'static str, Option<&Var>); 2] {
        [
            ("depthwise", self.kernel.as_ref()),
            ("bias", self.bias.as_ref()),
        ]
    }

    pub fn with_strides(mut self, strides: (usize, usize)) -> Self {
        self.args.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.args.padding = padding;
        self
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("DepthwiseConv2D", config)?;
        let args = DepthwiseArgs::read(&mut c, "DepthwiseConv2D", false)?;
        let mut layer = DepthwiseConv2D::new(args.kernel_size, args.depth_multiplier);
        layer.args = args;
        layer.depthwise_initializer =
            c.initializer_or("depthwise_initializer", Initializer::GlorotUniform)?;
        layer.bias_initializer = c.initializer_or("bias_initializer", Initializer::Zeros)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for DepthwiseConv2D {
    fn class_name(&self) -> &'static str {
        "DepthwiseConv2D"
    }

    fn config(&self) -> serde_json::Value {
        let mut c = self.args.config(false);
        c["depthwise_initializer"] = initializer_to_json(&self.depthwise_initializer);
        c["bias_initializer"] = initializer_to_json(&self.bias_initializer);
        self.penalties.write(&mut c);
        c
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[h, w, c] = input_shape else {
            return Err(NnError::layer(
                "DepthwiseConv2D",
                format!("expects inputs (height, width, channels), got {input_shape:?}"),
            ));
        };
        let a = &self.args;
        let (oh, ow) = spatial_out("DepthwiseConv2D", (h, w), a.kernel_size, &a.spec())?;
        let m = a.depth_multiplier;
        self.kernel = Some(Var::parameter(self.depthwise_initializer.try_sample(&[
            a.kernel_size.0,
            a.kernel_size.1,
            c,
            m,
        ])?));
        self.bias = if a.use_bias {
            Some(Var::parameter(self.bias_initializer.try_sample(&[c * m])?))
        } else {
            None
        };
        Ok(vec![oh, ow, c * m])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let y = depthwise(x, kernel, self.bias.as_ref(), self.args.spec())?;
        let out = self.args.activation.apply(&y)?;
        self.penalties
            .add_losses(&self.by_prefix(), &out, training)?;
        Ok(out)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties.constrain(&self.by_prefix())
    }

    fn inference_role(&self) -> Option<InferenceRole> {
        // The grouped reading of the kernel that `depthwise` uses (the same memory).
        let kernel = self.kernel.as_ref()?.value();
        let &[kh, kw, c, m] = kernel.shape() else {
            return None;
        };
        Some(InferenceRole::Conv2d(ConvWeights {
            kernel: kernel.reshape([kh, kw, 1, c * m]).ok()?,
            bias: self.bias.as_ref().map(Var::value),
            spec: self.args.spec(),
            groups: c,
            activation: self.args.activation,
        }))
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.kernel
            .iter()
            .map(|k| ("kernel", k.clone()))
            .chain(self.bias.iter().map(|b| ("bias", b.clone())))
            .collect()
    }

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        let a = &self.args;
        Some(vec![
            ((a.kernel_size.0 - 1) * a.dilation_rate.0 + 1, a.strides.0),
            ((a.kernel_size.1 - 1) * a.dilation_rate.1 + 1, a.strides.1),
        ])
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        2 * (output_shape.iter().product::<usize>()
            * self.args.kernel_size.0
            * self.args.kernel_size.1) as u64
    }
}

/// Depthwise then pointwise; `one_d` makes it SeparableConv1D over (steps, channels).
#[derive(Debug, Clone)]
pub struct SeparableConv {
    pub filters: usize,
    args: DepthwiseArgs,
    /// Default glorot_uniform.
    pub depthwise_initializer: Initializer,
    /// Default glorot_uniform.
    pub pointwise_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    /// Regularizers and constraints of both kernels and the bias, and the activity
    /// regularizer (Keras's depthwise_*, pointwise_*, bias_*, activity_regularizer).
    pub penalties: WeightPenalties,
    one_d: bool,
    depthwise_kernel: Option<Var>,
    pointwise_kernel: Option<Var>,
    bias: Option<Var>,
}

/// `SeparableConv2D(filters, kernel_size)`.
pub struct SeparableConv2D;
/// `SeparableConv1D(filters, kernel_size)`.
pub struct SeparableConv1D;

impl SeparableConv2D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: (usize, usize)) -> SeparableConv {
        SeparableConv::new(filters, DepthwiseArgs::new(kernel_size), false)
    }
}

impl SeparableConv1D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(filters: usize, kernel_size: usize) -> SeparableConv {
        SeparableConv::new(filters, DepthwiseArgs::new((1, kernel_size)), true)
    }
}

impl SeparableConv {
    fn new(filters: usize, args: DepthwiseArgs, one_d: bool) -> Self {
        SeparableConv {
            filters,
            args,
            depthwise_initializer: Initializer::GlorotUniform,
            pointwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new(
                if one_d {
                    "SeparableConv1D"
                } else {
                    "SeparableConv2D"
                },
                &["depthwise", "pointwise", "bias"],
            ),
            one_d,
            depthwise_kernel: None,
            pointwise_kernel: None,
            bias: None,
        }
    }

    /// The weights under their Keras argument prefixes, for the penalties.
    fn by_prefix(&self) -> [(&'static str, Option<&Var>); 3] {
        [
            ("depthwise", self.depthwise_kernel.as_ref()),
            ("pointwise", self.pointwise_kernel.as_ref()),
            ("bias", self.bias.as_ref()),
        ]
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.args.padding = padding;
        self
    }

    pub fn with_depth_multiplier(mut self, m: usize) -> Self {
        self.args.depth_multiplier = m;
        self
    }

    pub fn from_config(class: &str, config: &serde_json::Value) -> Result<Self> {
        let one_d = class == "SeparableConv1D";
        let name = if one_d {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        };
        let mut c = ConfigReader::new(name, config)?;
        let filters = c.usize("filters")?;
        let args = DepthwiseArgs::read(&mut c, name, one_d)?;
        let mut layer = SeparableConv::new(filters, args, one_d);
        layer.depthwise_initializer =
            c.initializer_or("depthwise_initializer", Initializer::GlorotUniform)?;
        layer.pointwise_initializer =
            c.initializer_or("pointwise_initializer", Initializer::GlorotUniform)?;
        layer.bias_initializer = c.initializer_or("bias_initializer", Initializer::Zeros)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }

    fn name(&self) -> &'static str {
        if self.one_d {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        }
    }
}

impl Layer for SeparableConv {
    fn class_name(&self) -> &'static str {
        self.name()
    }

    fn config(&self) -> serde_json::Value {
        let mut c = self.args.config(self.one_d);
        c["filters"] = serde_json::json!(self.filters);
        c["depthwise_initializer"] = initializer_to_json(&self.depthwise_initializer);
        c["pointwise_initializer"] = initializer_to_json(&self.pointwise_initializer);
        c["bias_initializer"] = initializer_to_json(&self.bias_initializer);
        self.penalties.write(&mut c);
        c
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
        let a = &self.args;
        let (oh, ow) = spatial_out(self.name(), (h, w), a.kernel_size, &a.spec())?;
        let m = a.depth_multiplier;
        // Keras stores the 1-D kernels without the height axis, and samples them in the
        // shape it stores (the fans are the same either way).
        let (depthwise_shape, pointwise_shape) = if self.one_d {
            (vec![a.kernel_size.1, c, m], vec![1, c * m, self.filters])
        } else {
            (
                vec![a.kernel_size.0, a.kernel_size.1, c, m],
                vec![1, 1, c * m, self.filters],
            )
        };
        self.depthwise_kernel = Some(Var::parameter(
            self.depthwise_initializer.try_sample(&depthwise_shape)?,
        ));
        self.pointwise_kernel = Some(Var::parameter(
            self.pointwise_initializer.try_sample(&pointwise_shape)?,
        ));
        self.bias = if a.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[self.filters])?,
            ))
        } else {
            None
        };
        if self.one_d {
            return Ok(vec![ow, self.filters]);
        }
        Ok(vec![oh, ow, self.filters])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let (Some(dk), Some(pk)) = (&self.depthwise_kernel, &self.pointwise_kernel) else {
            return Err(NnError::NotBuilt);
        };
        let s = x.shape();
        let x4 = if self.one_d {
            x.reshape(&[s[0], 1, s[1], s[2]])?
        } else {
            x.clone()
        };
        let d = dk.shape();
        let dk4 = if self.one_d {
            dk.reshape(&[1, d[0], d[1], d[2]])?
        } else {
            dk.clone()
        };
        let p = pk.shape();
        let pk4 = pk.reshape(&[1, 1, p[p.len() - 2], p[p.len() - 1]])?;
        let y = depthwise(&x4, &dk4, None, self.args.spec())?.conv2d(
            &pk4,
            self.bias.as_ref(),
            Conv2dSpec::default(),
        )?;
        let y = if self.one_d {
            let ys = y.shape();
            y.reshape(&[ys[0], ys[2], ys[3]])?
        } else {
            y
        };
        let out = self.args.activation.apply(&y)?;
        self.penalties
            .add_losses(&self.by_prefix(), &out, training)?;
        Ok(out)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties.constrain(&self.by_prefix())
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        let mut w = Vec::new();
        w.extend(
            self.depthwise_kernel
                .iter()
                .map(|k| ("depthwise_kernel", k.clone())),
        );
        w.extend(
            self.pointwise_kernel
                .iter()
                .map(|k| ("pointwise_kernel", k.clone())),
        );
        w.extend(self.bias.iter().map(|b| ("bias", b.clone())));
        w
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        let cm = self
            .pointwise_kernel
            .as_ref()
            .map_or(0, |k| k.shape()[k.shape().len() - 2]);
        let positions: usize = output_shape[..output_shape.len() - 1].iter().product();
        2 * (positions * cm * (self.args.kernel_size.0 * self.args.kernel_size.1 + self.filters))
            as u64
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn depthwise_conv2d_honours_initializers_regularizers_and_constraints() {
        // Keras names the weight "kernel" but configures it as "depthwise_*".
        check_weight_rules(
            "DepthwiseConv2D",
            json!({"kernel_size": 2, "depth_multiplier": 2}),
            &[("depthwise", "kernel"), ("bias", "bias")],
            &random(&[2, 4, 3, 3], 1),
        );
    }

    #[test]
    fn separable_conv2d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "SeparableConv2D",
            json!({"filters": 4, "kernel_size": 3, "padding": "same"}),
            &[
                ("depthwise", "depthwise_kernel"),
                ("pointwise", "pointwise_kernel"),
                ("bias", "bias"),
            ],
            &random(&[2, 4, 4, 3], 2),
        );
    }

    #[test]
    fn separable_conv1d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "SeparableConv1D",
            json!({"filters": 3, "kernel_size": 2, "depth_multiplier": 2}),
            &[
                ("depthwise", "depthwise_kernel"),
                ("pointwise", "pointwise_kernel"),
                ("bias", "bias"),
            ],
            &random(&[2, 5, 2], 3),
        );
    }
}
