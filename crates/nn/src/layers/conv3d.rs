//! `Conv3D` over (depth, height, width, channels), kernel (kd, kh, kw, in / groups, filters),
//! grouped or not, and `MaxPooling3D` / `AveragePooling3D`: one krust-tensor kernel and one
//! tape node each. `Conv3DTranspose` is still composed along depth from 2-D transposed
//! convolutions (see its doc).

use super::{kernel_and_bias, Layer};
use crate::config::{initializer_to_json, padding_name, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::{output_size, Conv3dSpec};
use krust_tensor::{Conv2dSpec, Padding, PoolSpec};
use serde_json::Value;

/// Reads an int or a list of three ints (`ConfigReader::ints_opt`).
fn triple(c: &mut ConfigReader, key: &'static str, default: Option<usize>) -> Result<[usize; 3]> {
    match default {
        Some(d) => c.ints_or(key, [d; 3]),
        None => c.ints(key),
    }
}

/// Input depth slice `d` as a 2-D batch (b, h, w, c).
fn depth_slice(x: &Var, d: usize) -> Result<Var> {
    let s = x.shape();
    Ok(x.slice(1, d, d + 1)?.reshape(&[s[0], s[2], s[3], s[4]])?)
}

/// Stacks 2-D results (b, h, w, c) along a new depth axis.
fn stack_depth(slices: &[Var]) -> Result<Var> {
    let expanded = slices
        .iter()
        .map(|v| {
            let s = v.shape();
            v.reshape(&[s[0], 1, s[1], s[2], s[3]])
        })
        .collect::<std::result::Result<Vec<Var>, _>>()?;
    let refs: Vec<&Var> = expanded.iter().collect();
    Ok(Var::concat(&refs, 1)?)
}

#[derive(Debug, Clone)]
pub struct Conv3D {
    pub filters: usize,
    pub kernel_size: [usize; 3],
    pub strides: [usize; 3],
    pub padding: Padding,
    pub dilation_rate: [usize; 3],
    pub groups: usize,
    pub activation: Activation,
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

impl Conv3D {
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        Conv3D {
            filters,
            kernel_size,
            strides: [1; 3],
            padding: Padding::Valid,
            dilation_rate: [1; 3],
            groups: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("Conv3D", &["kernel", "bias"]),
            kernel: None,
            bias: None,
        }
    }

    pub fn with_strides(mut self, strides: [usize; 3]) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    fn spec(&self) -> Conv3dSpec {
        Conv3dSpec {
            strides: self.strides,
            padding: self.padding,
            dilation: self.dilation_rate,
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Conv3D", config)?;
        let mut layer = Conv3D::new(c.usize("filters")?, triple(&mut c, "kernel_size", None)?);
        layer.strides = triple(&mut c, "strides", Some(1))?;
        layer.dilation_rate = triple(&mut c, "dilation_rate", Some(1))?;
        layer.padding = c.padding_or("padding", Padding::Valid)?;
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

impl Layer for Conv3D {
    fn class_name(&self) -> &'static str {
        "Conv3D"
    }

    fn config(&self) -> Value {
        let mut config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": padding_name(self.padding),
            "data_format": "channels_last",
            "dilation_rate": self.dilation_rate,
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
        let &[d, h, w, c] = input_shape else {
            return Err(NnError::layer(
                "Conv3D",
                format!("expects inputs (depth, height, width, channels), got {input_shape:?}"),
            ));
        };
        if self.groups == 0 || c % self.groups != 0 || !self.filters.is_multiple_of(self.groups) {
            return Err(NnError::layer(
                "Conv3D",
                format!(
                    "groups {} must divide {c} input channels and {} filters",
                    self.groups, self.filters
                ),
            ));
        }
        let size = |len, i: usize| {
            output_size(
                "Conv3D",
                len,
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
            )
            .map_err(|e| NnError::layer("Conv3D", e.to_string()))
        };
        let (od, oh, ow) = (size(d, 0)?.0, size(h, 1)?.0, size(w, 2)?.0);
        let [kd, kh, kw] = self.kernel_size;
        self.kernel = Some(Var::parameter(self.kernel_initializer.try_sample(&[
            kd,
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
        Ok(vec![od, oh, ow, self.filters])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        // Grouped or not: one 3-D kernel call and one tape node.
        let y = x.conv3d_grouped(kernel, self.bias.as_ref(), self.spec(), self.groups)?;
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

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        Some(
            (0..3)
                .map(|i| {
                    (
                        (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1,
                        self.strides[i],
                    )
                })
                .collect(),
        )
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        let cin = self.kernel.as_ref().map_or(0, |k| k.shape()[3]);
        2 * (output_shape.iter().product::<usize>()
            * self.kernel_size.iter().product::<usize>()
            * cin) as u64
    }
}

/// 3-D max or average pooling (the average excludes padding along every axis).
#[derive(Debug, Clone)]
pub struct Pooling3D {
    pub pool_size: [usize; 3],
    pub strides: [usize; 3],
    pub padding: Padding,
    max: bool,
}

pub struct MaxPooling3D;
pub struct AveragePooling3D;

impl MaxPooling3D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: [usize; 3]) -> Pooling3D {
        Pooling3D {
            pool_size,
            strides: pool_size,
            padding: Padding::Valid,
            max: true,
        }
    }
}

impl AveragePooling3D {
    #[allow(clippy::new_ret_no_self)]
    pub fn new(pool_size: [usize; 3]) -> Pooling3D {
        Pooling3D {
            pool_size,
            strides: pool_size,
            padding: Padding::Valid,
            max: false,
        }
    }
}

impl Pooling3D {
    pub fn with_strides(mut self, strides: [usize; 3]) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    fn name(&self) -> &'static str {
        if self.max {
            "MaxPooling3D"
        } else {
            "AveragePooling3D"
        }
    }

    pub fn from_config(class: &str, config: &Value) -> Result<Self> {
        let max = class == "MaxPooling3D";
        let name = if max {
            "MaxPooling3D"
        } else {
            "AveragePooling3D"
        };
        let mut c = ConfigReader::new(name, config)?;
        let pool_size = triple(&mut c, "pool_size", Some(2))?;
        let strides = c.ints_or("strides", pool_size)?;
        let padding = c.padding_or("padding", Padding::Valid)?;
        c.finish()?;
        Ok(Pooling3D {
            pool_size,
            strides,
            padding,
            max,
        })
    }
}

impl Layer for Pooling3D {
    fn class_name(&self) -> &'static str {
        self.name()
    }

    fn config(&self) -> Value {
        serde_json::json!({"pool_size": self.pool_size, "strides": self.strides, "padding": padding_name(self.padding), "data_format": "channels_last"})
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[d, h, w, c] = input_shape else {
            return Err(NnError::layer(
                self.name(),
                format!("expects inputs (depth, height, width, channels), got {input_shape:?}"),
            ));
        };
        let size = |len, i: usize| {
            output_size(
                "pooling",
                len,
                self.pool_size[i],
                self.strides[i],
                1,
                self.padding,
            )
            .map(|o| o.0)
            .map_err(|e| NnError::layer(self.name(), e.to_string()))
        };
        Ok(vec![size(d, 0)?, size(h, 1)?, size(w, 2)?, c])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        // One N-d pooling kernel and one tape node.
        let spec = PoolSpec::new(&self.pool_size)
            .with_strides(&self.strides)
            .with_padding(self.padding);
        Ok(if self.max {
            x.max_pool(spec)?
        } else {
            x.avg_pool(spec)?
        })
    }

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        Some(
            (0..3)
                .map(|i| (self.pool_size[i], self.strides[i]))
                .collect(),
        )
    }
}

/// `Conv3DTranspose`, kernel (kd, kh, kw, filters, in_channels) as in Keras. Every input
/// depth slice meets every kernel depth tap through a 2-D transposed convolution, landing at
/// output depth d·stride + t·dilation - front (front: the depth padding of the convolution
/// this one inverts).
#[derive(Debug, Clone)]
pub struct Conv3DTranspose {
    pub filters: usize,
    pub kernel_size: [usize; 3],
    pub strides: [usize; 3],
    pub padding: Padding,
    pub output_padding: Option<[usize; 3]>,
    pub dilation_rate: [usize; 3],
    pub activation: Activation,
    pub use_bias: bool,
    /// Default glorot_uniform.
    pub kernel_initializer: Initializer,
    /// Default zeros.
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint).
    pub penalties: WeightPenalties,
    kernel: Option<Var>,
    bias: Option<Var>,
    out: [usize; 3],
}

impl Conv3DTranspose {
    pub fn new(filters: usize, kernel_size: [usize; 3]) -> Self {
        Conv3DTranspose {
            filters,
            kernel_size,
            strides: [1; 3],
            padding: Padding::Valid,
            output_padding: None,
            dilation_rate: [1; 3],
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("Conv3DTranspose", &["kernel", "bias"]),
            kernel: None,
            bias: None,
            out: [0; 3],
        }
    }

    pub fn with_strides(mut self, strides: [usize; 3]) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Conv3DTranspose", config)?;
        let mut layer =
            Conv3DTranspose::new(c.usize("filters")?, triple(&mut c, "kernel_size", None)?);
        layer.strides = triple(&mut c, "strides", Some(1))?;
        layer.dilation_rate = triple(&mut c, "dilation_rate", Some(1))?;
        layer.padding = c.padding_or("padding", Padding::Valid)?;
        layer.output_padding = c.ints_opt("output_padding")?;
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

impl Layer for Conv3DTranspose {
    fn class_name(&self) -> &'static str {
        "Conv3DTranspose"
    }

    fn config(&self) -> Value {
        let mut config = serde_json::json!({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": padding_name(self.padding),
            "output_padding": self.output_padding,
            "data_format": "channels_last",
            "dilation_rate": self.dilation_rate,
            "activation": self.activation.to_config(),
            "use_bias": self.use_bias,
            "kernel_initializer": initializer_to_json(&self.kernel_initializer),
            "bias_initializer": initializer_to_json(&self.bias_initializer),
        });
        self.penalties.write(&mut config);
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[d, h, w, c] = input_shape else {
            return Err(NnError::layer(
                "Conv3DTranspose",
                format!("expects inputs (depth, height, width, channels), got {input_shape:?}"),
            ));
        };
        if let Some(p) = self.output_padding {
            if (0..3).any(|i| p[i] >= self.strides[i]) {
                return Err(NnError::layer(
                    "Conv3DTranspose",
                    "output_padding must be smaller than the strides (as in Keras)",
                ));
            }
        }
        let len = |n, i: usize| {
            super::transpose_output_length(
                n,
                self.kernel_size[i],
                self.strides[i],
                self.dilation_rate[i],
                self.padding,
                self.output_padding.map(|p| p[i]),
            )
        };
        self.out = [len(d, 0), len(h, 1), len(w, 2)];
        let [kd, kh, kw] = self.kernel_size;
        self.kernel = Some(Var::parameter(self.kernel_initializer.try_sample(&[
            kd,
            kh,
            kw,
            self.filters,
            c,
        ])?));
        self.bias = if self.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[self.filters])?,
            ))
        } else {
            None
        };
        Ok(vec![self.out[0], self.out[1], self.out[2], self.filters])
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let depth = x.shape()[1];
        let [od, oh, ow] = self.out;
        // Depth padding of the forward convolution from od slices back to `depth`.
        let (_, front, _) = output_size(
            "Conv3DTranspose",
            od,
            self.kernel_size[0],
            self.strides[0],
            self.dilation_rate[0],
            self.padding,
        )?;
        let spec = Conv2dSpec {
            strides: (self.strides[1], self.strides[2]),
            padding: self.padding,
            dilation: (self.dilation_rate[1], self.dilation_rate[2]),
        };
        let k = kernel.shape();
        let taps: Vec<Var> = (0..k[0])
            .map(|t| {
                kernel
                    .slice(0, t, t + 1)?
                    .reshape(&[k[1], k[2], k[3], k[4]])
            })
            .collect::<std::result::Result<_, _>>()?;
        let mut slices: Vec<Option<Var>> = vec![None; od];
        for d in 0..depth {
            let xd = depth_slice(x, d)?;
            for (t, tap) in taps.iter().enumerate() {
                let at =
                    (d * self.strides[0] + t * self.dilation_rate[0]) as isize - front as isize;
                if at < 0 || at as usize >= od {
                    continue;
                }
                let y = xd.conv2d_transpose(tap, (oh, ow), spec)?;
                let slot = &mut slices[at as usize];
                *slot = Some(match slot.take() {
                    Some(acc) => acc.add(&y)?,
                    None => y,
                });
            }
        }
        let b = x.shape()[0];
        let zeros = || Var::constant(krust_tensor::Tensor::zeros([b, oh, ow, self.filters]));
        let slices: Vec<Var> = slices
            .into_iter()
            .map(|s| s.unwrap_or_else(zeros))
            .collect();
        let mut y = stack_depth(&slices)?;
        if let Some(bias) = &self.bias {
            y = y.add(bias)?;
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
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn conv3d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv3D",
            json!({"filters": 3, "kernel_size": [2, 2, 1], "padding": "same"}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 3, 3, 2, 2], 1),
        );
    }

    #[test]
    fn conv3d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv3DTranspose",
            json!({"filters": 2, "kernel_size": 2, "strides": [2, 1, 1]}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 2, 2, 3, 3], 2),
        );
    }
}
