//! `Normalization` (preprocessing): y = (x - mean) / max(√variance, 1e-7) per feature of one
//! axis (the last by default; EfficientNet names it as 3), with mean and variance either fixed in the config or adapted from data
//! (`adapt`), then kept as the non-trainable weights mean, variance and count as in Keras;
//! `invert` maps back.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Tensor, UnaryOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keras's `Normalization(axis=-1, mean=None, variance=None, invert=False)`. Its fields are
/// its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Normalization::keras_defaults", deny_unknown_fields)]
pub struct Normalization {
    /// The feature axis, counted with the batch axis as in Keras (negative from the end);
    /// None is the last axis. Default `-1` (None).
    #[serde(with = "one_axis")]
    pub axis: Option<isize>,
    /// Map normalized values back. Default `false`.
    pub invert: bool,
    /// Fixed statistics, given with `variance` (then the layer has no weights). Default
    /// `None`: adapted to data, or loaded as weights.
    #[serde(deserialize_with = "args::numbers_opt")]
    pub mean: Option<Vec<f32>>,
    /// Given with `mean`. Default `None`.
    #[serde(deserialize_with = "args::numbers_opt")]
    pub variance: Option<Vec<f32>>,
    /// Per-sample shape the statistics broadcast as (features on the axis), set by `build`.
    #[serde(skip)]
    stats_shape: Vec<usize>,
    /// The weights mean, variance and count, when the statistics are not fixed.
    #[serde(skip)]
    weights: Option<(Var, Var, Var)>,
}

/// Keras's `axis` for a layer that normalizes along one axis: an integer or a list of one,
/// written as a list; `-1` (the last axis) is None.
mod one_axis {
    use crate::config::args::axis_list;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    pub fn serialize<S: Serializer>(axis: &Option<isize>, s: S) -> Result<S::Ok, S::Error> {
        [axis.unwrap_or(-1)].serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<isize>, D::Error> {
        let v = Value::deserialize(d)?;
        match axis_list(&v).as_deref() {
            Some([a]) => Ok(Some(*a).filter(|&a| a != -1)),
            _ => Err(D::Error::custom(format!(
                "krust normalizes along one axis, got {v}"
            ))),
        }
    }
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization::keras_defaults()
    }
}

impl Normalization {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Normalization {
            axis: None,
            invert: false,
            mean: None,
            variance: None,
            stats_shape: Vec::new(),
            weights: None,
        }
    }

    /// A layer whose statistics come from `adapt` (or from loaded weights).
    pub fn new() -> Self {
        Normalization::keras_defaults()
    }

    /// A layer with fixed statistics.
    pub fn with_stats(mean: &[f32], variance: &[f32]) -> Self {
        Normalization {
            mean: Some(mean.to_vec()),
            variance: Some(variance.to_vec()),
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Normalization", config)
    }

    /// The fixed statistics (mean, variance), when the config gives them.
    fn fixed(&self) -> Option<(&[f32], &[f32])> {
        Some((self.mean.as_deref()?, self.variance.as_deref()?))
    }

    /// Fits mean and (biased) variance per feature of the last axis on `data`.
    pub fn adapt(&mut self, data: &Tensor) -> Result<()> {
        if self.axis.is_some() {
            return Err(NnError::layer(
                "Normalization",
                "krust adapts along the last axis only",
            ));
        }
        let features = *data
            .shape()
            .last()
            .ok_or_else(|| NnError::layer("Normalization", "cannot adapt to a scalar"))?;
        let rows = data.numel() / features.max(1);
        if rows == 0 {
            return Err(NnError::layer(
                "Normalization",
                "cannot adapt to empty data",
            ));
        }
        let flat = data.reshape([rows, features])?;
        let mean = flat.mean_axes(&[0], false)?;
        let var = flat.sub(&mean)?.square().mean_axes(&[0], false)?;
        match &self.weights {
            Some((m, v, c)) => {
                m.set_value(mean)?;
                v.set_value(var)?;
                c.set_value(Tensor::scalar(rows as f32))?;
            }
            None => {
                self.weights = Some((
                    Var::constant(mean),
                    Var::constant(var),
                    Var::constant(Tensor::scalar(rows as f32)),
                ));
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<(Tensor, Tensor)> {
        match (self.fixed(), &self.weights) {
            (Some((m, v)), _) => Ok((
                Tensor::from_vec([m.len()], m.to_vec())?,
                Tensor::from_vec([v.len()], v.to_vec())?,
            )),
            (None, Some((m, v, _))) => Ok((m.value(), v.value())),
            _ => Err(NnError::layer(
                "Normalization",
                "has no statistics: adapt it to data or load its weights",
            )),
        }
    }
}

impl KerasArgs for Normalization {
    fn check_args(&mut self) -> Result<()> {
        if self.mean.is_some() != self.variance.is_some() {
            return Err(NnError::layer(
                "Normalization",
                "give both mean and variance, or neither (then adapt)",
            ));
        }
        Ok(())
    }
}

impl Layer for Normalization {
    fn class_name(&self) -> &'static str {
        "Normalization"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let rank = input_shape.len() as isize + 1;
        let axis = self.axis.unwrap_or(-1);
        let resolved = if axis < 0 { axis + rank } else { axis };
        if resolved <= 0 || resolved >= rank {
            return Err(NnError::layer(
                "Normalization",
                format!("axis {axis} is not a feature axis of inputs {input_shape:?}"),
            ));
        }
        let at = resolved as usize - 1;
        let features = input_shape[at];
        // Statistics broadcast from the right: features at the axis, 1 after it.
        self.stats_shape = std::iter::once(features)
            .chain(std::iter::repeat_n(1, input_shape.len() - at - 1))
            .collect();
        match self.fixed() {
            Some((m, v)) => {
                let fits = |n: usize| n == features || n == 1;
                if !fits(m.len()) || !fits(v.len()) {
                    return Err(NnError::layer(
                        "Normalization",
                        format!(
                            "mean/variance of length {}/{} do not fit {features} features",
                            m.len(),
                            v.len()
                        ),
                    ));
                }
            }
            None if self.weights.is_none() => {
                crate::initializers::Initializer::checked_elements(&[features])?;
                self.weights = Some((
                    Var::constant(Tensor::zeros([features])),
                    Var::constant(Tensor::ones([features])),
                    Var::constant(Tensor::scalar(0.0)),
                ));
            }
            None => {}
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let (mean, var) = self.stats()?;
        let (mean, var) = if mean.numel() > 1 && self.stats_shape.len() > 1 {
            (
                mean.reshape(self.stats_shape.clone())?,
                var.reshape(self.stats_shape.clone())?,
            )
        } else {
            (mean, var)
        };
        let std = Var::constant(var.sqrt().unary(UnaryOp::MaximumScalar(1e-7)));
        let mean = Var::constant(mean);
        Ok(if self.invert {
            x.mul(&std)?.add(&mean)?
        } else {
            x.sub(&mean)?.div(&std)?
        })
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        match (self.fixed(), &self.weights) {
            (None, Some((m, v, c))) => vec![
                ("mean", m.clone()),
                ("variance", v.clone()),
                ("count", c.clone()),
            ],
            _ => Vec::new(),
        }
    }
}
