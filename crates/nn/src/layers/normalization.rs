//! `LayerNormalization`, `GroupNormalization` and `InstanceNormalization`: per-sample
//! normalization with learned scale (gamma) and offset (beta); Keras's defaults are on the
//! fields. Instance normalization is group normalization with one group per channel.

use super::Layer;
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_autograd::Var;

/// (x - mean) / sqrt(var + eps) over `axes` (keepdims), with the biased variance.
fn standardize(x: &Var, axes: &[isize], epsilon: f32) -> Result<Var> {
    let mean = x.mean_axes(axes, true)?;
    let centered = x.sub(&mean)?;
    let var = centered.square().mean_axes(axes, true)?;
    Ok(centered.div(&var.add_scalar(epsilon).sqrt())?)
}

/// Reads the initializers every normalization layer has, (gamma, beta), over the layer's
/// current ones (its defaults).
fn read_initializers(
    c: &mut ConfigReader,
    gamma: Initializer,
    beta: Initializer,
) -> Result<(Initializer, Initializer)> {
    Ok((
        c.initializer_or("gamma_initializer", gamma)?,
        c.initializer_or("beta_initializer", beta)?,
    ))
}

/// A learned gamma or beta of `shape`, when the layer has it.
fn parameter(on: bool, init: &Initializer, shape: &[usize]) -> Result<Option<Var>> {
    Ok(if on {
        Some(Var::parameter(init.try_sample(shape)?))
    } else {
        None
    })
}

/// Gamma and beta under their Keras argument prefixes, for the penalties.
fn by_prefix<'a>(
    gamma: &'a Option<Var>,
    beta: &'a Option<Var>,
) -> [(&'static str, Option<&'a Var>); 2] {
    [("gamma", gamma.as_ref()), ("beta", beta.as_ref())]
}

fn scale_and_offset(
    y: Var,
    gamma: &Option<Var>,
    beta: &Option<Var>,
    shape: &[usize],
) -> Result<Var> {
    let mut y = y;
    if let Some(g) = gamma {
        y = y.mul(&g.reshape(shape)?)?;
    }
    if let Some(b) = beta {
        y = y.add(&b.reshape(shape)?)?;
    }
    Ok(y)
}

fn gamma_beta_weights(gamma: &Option<Var>, beta: &Option<Var>) -> Vec<(&'static str, Var)> {
    gamma
        .iter()
        .map(|g| ("gamma", g.clone()))
        .chain(beta.iter().map(|b| ("beta", b.clone())))
        .collect()
}

/// Normalizes each sample over `axis` (by default the features).
#[derive(Debug, Clone)]
pub struct LayerNormalization {
    /// Axes counted on the full shape (batch axis 0). Default `-1`.
    pub axis: Vec<isize>,
    /// Default `1e-3`.
    pub epsilon: f32,
    /// Learn an offset beta. Default `true`.
    pub center: bool,
    /// Learn a scale gamma. Default `true`.
    pub scale: bool,
    /// Default `"ones"`.
    pub gamma_initializer: Initializer,
    /// Default `"zeros"`.
    pub beta_initializer: Initializer,
    /// Regularizers and constraints of gamma and beta, and the activity regularizer.
    pub penalties: WeightPenalties,
    gamma: Option<Var>,
    beta: Option<Var>,
    /// Full-rank shape gamma and beta broadcast with.
    param_shape: Vec<usize>,
}

/// Keras's defaults, the one place they are written (`from_config` reads each argument over
/// them).
impl Default for LayerNormalization {
    fn default() -> Self {
        LayerNormalization {
            axis: vec![-1],
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma_initializer: Initializer::Ones,
            beta_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("LayerNormalization", &["gamma", "beta"]),
            gamma: None,
            beta: None,
            param_shape: Vec::new(),
        }
    }
}

impl LayerNormalization {
    pub fn new() -> Self {
        LayerNormalization::default()
    }

    pub fn with_axis(mut self, axis: &[isize]) -> Self {
        self.axis = axis.to_vec();
        self
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("LayerNormalization", config)?;
        let mut layer = LayerNormalization::new();
        if let Some(v) = c.value("axis") {
            layer.axis = match v.as_i64() {
                Some(a) => vec![a as isize],
                None => v
                    .as_array()
                    .and_then(|a| a.iter().map(|x| x.as_i64().map(|n| n as isize)).collect())
                    .ok_or_else(|| {
                        NnError::layer(
                            "LayerNormalization",
                            format!("argument `axis`: expected integers, got {v}"),
                        )
                    })?,
            };
        }
        layer.epsilon = c.f32_or("epsilon", layer.epsilon)?;
        layer.center = c.bool_or("center", layer.center)?;
        layer.scale = c.bool_or("scale", layer.scale)?;
        c.only("rms_scaling", serde_json::json!(false))?;
        (layer.gamma_initializer, layer.beta_initializer) =
            read_initializers(&mut c, layer.gamma_initializer, layer.beta_initializer)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }

    fn full_axes(&self, rank: usize) -> Result<Vec<usize>> {
        let full = rank as isize + 1;
        let mut axes: Vec<usize> = self
            .axis
            .iter()
            .map(|&a| {
                let a = if a < 0 { a + full } else { a };
                if a < 1 || a >= full {
                    Err(NnError::layer(
                        "LayerNormalization",
                        format!(
                            "axis {:?} is out of range for inputs of rank {full}",
                            self.axis
                        ),
                    ))
                } else {
                    Ok(a as usize)
                }
            })
            .collect::<Result<_>>()?;
        axes.sort_unstable();
        axes.dedup();
        Ok(axes)
    }
}

impl Layer for LayerNormalization {
    fn class_name(&self) -> &'static str {
        "LayerNormalization"
    }

    fn config(&self) -> serde_json::Value {
        let mut config = serde_json::json!({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": false,
            "beta_initializer": initializer_to_json(&self.beta_initializer),
            "gamma_initializer": initializer_to_json(&self.gamma_initializer),
        });
        self.penalties.write(&mut config);
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let axes = self.full_axes(input_shape.len())?;
        let mut param_shape = vec![1; input_shape.len() + 1];
        for &a in &axes {
            param_shape[a] = input_shape[a - 1];
        }
        let n: Vec<usize> = axes.iter().map(|&a| input_shape[a - 1]).collect();
        self.gamma = parameter(self.scale, &self.gamma_initializer, &n)?;
        self.beta = parameter(self.center, &self.beta_initializer, &n)?;
        self.param_shape = param_shape;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let axes: Vec<isize> = self
            .full_axes(x.shape().len() - 1)?
            .iter()
            .map(|&a| a as isize)
            .collect();
        let y = standardize(x, &axes, self.epsilon)?;
        let out = scale_and_offset(y, &self.gamma, &self.beta, &self.param_shape)?;
        self.penalties
            .add_losses(&by_prefix(&self.gamma, &self.beta), &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&by_prefix(&self.gamma, &self.beta))
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        gamma_beta_weights(&self.gamma, &self.beta)
    }
}

/// Splits the channels (last axis) into `groups` and normalizes each group of each sample over
/// its channels and all spatial positions.
#[derive(Debug, Clone)]
pub struct GroupNormalization {
    /// Must divide the channel count; None means one group per channel (instance
    /// normalization). Default `32`.
    pub groups: Option<usize>,
    /// Default `1e-3`.
    pub epsilon: f32,
    /// Learn an offset beta. Default `true`.
    pub center: bool,
    /// Learn a scale gamma. Default `true`.
    pub scale: bool,
    /// Default `"ones"`.
    pub gamma_initializer: Initializer,
    /// Default `"zeros"`.
    pub beta_initializer: Initializer,
    /// Regularizers and constraints of gamma and beta, and the activity regularizer.
    pub penalties: WeightPenalties,
    class: &'static str,
    gamma: Option<Var>,
    beta: Option<Var>,
    channels: usize,
}

/// Keras's defaults, 32 groups among them: the one place they are written (`new`,
/// `InstanceNormalization::new` and `from_config` start from them).
impl Default for GroupNormalization {
    fn default() -> Self {
        GroupNormalization {
            groups: Some(32),
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma_initializer: Initializer::Ones,
            beta_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("GroupNormalization", &["gamma", "beta"]),
            class: "GroupNormalization",
            gamma: None,
            beta: None,
            channels: 0,
        }
    }
}

impl GroupNormalization {
    pub fn new(groups: usize) -> Self {
        GroupNormalization {
            groups: Some(groups),
            ..GroupNormalization::default()
        }
    }

    /// Builds the layer from its Keras config; `groups` must be a positive integer (a
    /// malformed value is an error naming it, never the default).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("GroupNormalization", config)?;
        let mut layer = GroupNormalization::default();
        if let Some(groups) = layer.groups {
            layer.groups = Some(c.positive_or("groups", groups)?);
        }
        layer.read_arguments(c)?;
        Ok(layer)
    }

    /// Reads the arguments group and instance normalization share, each over the layer's
    /// current value, and finishes the reader.
    fn read_arguments(&mut self, mut c: ConfigReader) -> Result<()> {
        self.epsilon = c.f32_or("epsilon", self.epsilon)?;
        self.center = c.bool_or("center", self.center)?;
        self.scale = c.bool_or("scale", self.scale)?;
        c.only("axis", serde_json::json!(-1))?;
        (self.gamma_initializer, self.beta_initializer) =
            read_initializers(&mut c, self.gamma_initializer, self.beta_initializer)?;
        self.penalties.read(&mut c)?;
        c.finish()
    }
}

/// Group normalization with one group per channel.
pub struct InstanceNormalization;

impl InstanceNormalization {
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> GroupNormalization {
        GroupNormalization {
            groups: None,
            class: "InstanceNormalization",
            penalties: WeightPenalties::new("InstanceNormalization", &["gamma", "beta"]),
            ..GroupNormalization::default()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<GroupNormalization> {
        let c = ConfigReader::new("InstanceNormalization", config)?;
        let mut layer = InstanceNormalization::new();
        layer.read_arguments(c)?;
        Ok(layer)
    }
}

impl Layer for GroupNormalization {
    fn class_name(&self) -> &'static str {
        self.class
    }

    fn config(&self) -> serde_json::Value {
        let mut config = serde_json::json!({
            "axis": -1,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializer_to_json(&self.beta_initializer),
            "gamma_initializer": initializer_to_json(&self.gamma_initializer),
        });
        self.penalties.write(&mut config);
        if let Some(g) = self.groups {
            config["groups"] = serde_json::json!(g);
        }
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let Some(&c) = input_shape.last() else {
            return Err(NnError::layer(
                self.class,
                "needs inputs with a channel axis",
            ));
        };
        let groups = self.groups.unwrap_or(c);
        if groups == 0 || c % groups != 0 {
            return Err(NnError::layer(
                self.class,
                format!("{c} channels cannot be split into {groups} groups"),
            ));
        }
        self.channels = c;
        self.gamma = parameter(self.scale, &self.gamma_initializer, &[c])?;
        self.beta = parameter(self.center, &self.beta_initializer, &[c])?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let shape = x.shape();
        let (b, c) = (shape[0], self.channels);
        let groups = self.groups.unwrap_or(c);
        let positions: usize = shape[1..shape.len() - 1].iter().product();
        let grouped = x.reshape(&[b, positions, groups, c / groups])?;
        let y = standardize(&grouped, &[1, 3], self.epsilon)?.reshape(&shape)?;
        let mut param_shape = vec![1; shape.len()];
        param_shape[shape.len() - 1] = c;
        let out = scale_and_offset(y, &self.gamma, &self.beta, &param_shape)?;
        self.penalties
            .add_losses(&by_prefix(&self.gamma, &self.beta), &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&by_prefix(&self.gamma, &self.beta))
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        gamma_beta_weights(&self.gamma, &self.beta)
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn layer_normalization_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "LayerNormalization",
            json!({"axis": [-2, -1]}),
            &[("gamma", "gamma"), ("beta", "beta")],
            &random(&[2, 3, 4], 1),
        );
    }

    #[test]
    fn group_normalization_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "GroupNormalization",
            json!({"groups": 2}),
            &[("gamma", "gamma"), ("beta", "beta")],
            &random(&[2, 3, 3, 4], 2),
        );
    }

    #[test]
    fn instance_normalization_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "InstanceNormalization",
            json!({}),
            &[("gamma", "gamma"), ("beta", "beta")],
            &random(&[2, 5, 3], 3),
        );
    }
}
