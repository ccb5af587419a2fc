//! `LayerNormalization`, `GroupNormalization` and `InstanceNormalization`: per-sample
//! normalization with learned scale (gamma) and offset (beta); Keras's defaults are on the
//! fields. Instance normalization is group normalization with one group per channel.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// (x - mean) / sqrt(var + eps) over `axes` (keepdims), with the biased variance.
fn standardize(x: &Var, axes: &[isize], epsilon: f32) -> Result<Var> {
    let mean = x.mean_axes(axes, true)?;
    let centered = x.sub(&mean)?;
    let var = centered.square().mean_axes(axes, true)?;
    Ok(centered.div(&var.add_scalar(epsilon).sqrt())?)
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

/// Normalizes each sample over `axis` (by default the features). Keras's
/// `LayerNormalization()`; its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "LayerNormalization::keras_defaults", deny_unknown_fields)]
pub struct LayerNormalization {
    /// Axes counted on the full shape (batch axis 0). Default `-1`.
    #[serde(deserialize_with = "args::axis")]
    pub axis: Vec<isize>,
    /// Default `1e-3`.
    pub epsilon: f32,
    /// Learn an offset beta. Default `true`.
    pub center: bool,
    /// Learn a scale gamma. Default `true`.
    pub scale: bool,
    /// krust implements Keras's default only, `false`.
    rms_scaling: args::False,
    /// Default `"ones"`.
    #[serde(with = "args::initializer")]
    pub gamma_initializer: Initializer,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub beta_initializer: Initializer,
    /// Regularizers and constraints of gamma and beta, and the activity regularizer.
    #[serde(skip)]
    pub penalties: WeightPenalties,
    #[serde(skip)]
    gamma: Option<Var>,
    #[serde(skip)]
    beta: Option<Var>,
    /// Full-rank shape gamma and beta broadcast with.
    #[serde(skip)]
    param_shape: Vec<usize>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        LayerNormalization::keras_defaults()
    }
}

impl LayerNormalization {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        LayerNormalization {
            axis: vec![-1],
            epsilon: 1e-3,
            center: true,
            scale: true,
            rms_scaling: args::False,
            gamma_initializer: Initializer::Ones,
            beta_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("LayerNormalization", &["gamma", "beta"]),
            gamma: None,
            beta: None,
            param_shape: Vec::new(),
        }
    }

    pub fn new() -> Self {
        LayerNormalization::keras_defaults()
    }

    pub fn with_axis(mut self, axis: &[isize]) -> Self {
        self.axis = axis.to_vec();
        self
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("LayerNormalization", config)
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

impl KerasArgs for LayerNormalization {
    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }
}

impl Layer for LayerNormalization {
    fn class_name(&self) -> &'static str {
        "LayerNormalization"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
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

/// A Keras class that [`GroupNorm`] implements: its name and its default `groups`.
pub trait GroupNormClass: std::fmt::Debug + Clone + 'static {
    const NAME: &'static str;
    /// The default number of groups; None (one group per channel) for a class without a
    /// `groups` argument.
    const GROUPS: Option<usize>;
    /// The arguments of `GroupNorm` the class does not take.
    const NOT_TAKEN: &'static [&'static str] = &[];
}

/// The Keras class of [`GroupNormalization`]: 32 groups by default.
#[derive(Debug, Clone)]
pub struct GroupNormalizationClass;

impl GroupNormClass for GroupNormalizationClass {
    const NAME: &'static str = "GroupNormalization";
    const GROUPS: Option<usize> = Some(32);
}

/// The Keras class of [`InstanceNormalization`]: one group per channel, no `groups` argument.
#[derive(Debug, Clone)]
pub struct InstanceNormalizationClass;

impl GroupNormClass for InstanceNormalizationClass {
    const NAME: &'static str = "InstanceNormalization";
    const GROUPS: Option<usize> = None;
    const NOT_TAKEN: &'static [&'static str] = &["groups"];
}

/// Keras's `GroupNormalization(groups=32)`.
pub type GroupNormalization = GroupNorm<GroupNormalizationClass>;
/// Group normalization with one group per channel.
pub type InstanceNormalization = GroupNorm<InstanceNormalizationClass>;

/// Splits the channels (last axis) into `groups` and normalizes each group of each sample over
/// its channels and all spatial positions. Its fields are its Keras arguments (see
/// `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "GroupNorm::keras_defaults", deny_unknown_fields)]
pub struct GroupNorm<C: GroupNormClass> {
    /// Must divide the channel count; None means one group per channel (instance
    /// normalization, which has no `groups` argument). Default `32`.
    #[serde(
        deserialize_with = "args::positive_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub groups: Option<usize>,
    /// krust implements Keras's default only, the last axis.
    axis: args::LastAxis,
    /// Default `1e-3`.
    pub epsilon: f32,
    /// Learn an offset beta. Default `true`.
    pub center: bool,
    /// Learn a scale gamma. Default `true`.
    pub scale: bool,
    /// Default `"ones"`.
    #[serde(with = "args::initializer")]
    pub gamma_initializer: Initializer,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub beta_initializer: Initializer,
    /// Regularizers and constraints of gamma and beta, and the activity regularizer.
    #[serde(skip)]
    pub penalties: WeightPenalties,
    #[serde(skip)]
    gamma: Option<Var>,
    #[serde(skip)]
    beta: Option<Var>,
    #[serde(skip)]
    channels: usize,
    #[serde(skip)]
    class: PhantomData<C>,
}

impl<C: GroupNormClass> GroupNorm<C> {
    /// Keras's defaults for every argument of class `C`, the one place they are written.
    fn keras_defaults() -> Self {
        GroupNorm {
            groups: C::GROUPS,
            axis: args::LastAxis,
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma_initializer: Initializer::Ones,
            beta_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new(C::NAME, &["gamma", "beta"]),
            gamma: None,
            beta: None,
            channels: 0,
            class: PhantomData,
        }
    }

    /// Builds the layer from its Keras config; `groups` must be a positive integer (a
    /// malformed value is an error naming it, never the default).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read(C::NAME, config)
    }
}

impl GroupNormalization {
    pub fn new(groups: usize) -> Self {
        GroupNorm {
            groups: Some(groups),
            ..Self::keras_defaults()
        }
    }
}

impl InstanceNormalization {
    pub fn new() -> Self {
        Self::keras_defaults()
    }
}

impl Default for InstanceNormalization {
    fn default() -> Self {
        InstanceNormalization::new()
    }
}

impl<C: GroupNormClass> KerasArgs for GroupNorm<C> {
    const NOT_TAKEN: &'static [&'static str] = C::NOT_TAKEN;

    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }

    /// A class without a `groups` argument (instance normalization) takes none.
    fn check_args(&mut self) -> Result<()> {
        if C::GROUPS.is_none() && self.groups.is_some() {
            return Err(NnError::layer(
                C::NAME,
                "argument `groups` is not supported by krust",
            ));
        }
        Ok(())
    }
}

impl<C: GroupNormClass> Layer for GroupNorm<C> {
    fn class_name(&self) -> &'static str {
        C::NAME
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let Some(&c) = input_shape.last() else {
            return Err(NnError::layer(C::NAME, "needs inputs with a channel axis"));
        };
        let groups = self.groups.unwrap_or(c);
        if groups == 0 || c % groups != 0 {
            return Err(NnError::layer(
                C::NAME,
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
