//! `Normalization` (preprocessing): y = (x - mean) / max(√variance, 1e-7) per feature of one
//! axis (the last by default; EfficientNet names it as 3), with mean and variance either fixed in the config or adapted from data
//! (`adapt`), then kept as the non-trainable weights mean, variance and count as in Keras;
//! `invert` maps back.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Tensor, UnaryOp};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub struct Normalization {
    /// Fixed statistics from the config (then the layer has no weights).
    pub fixed: Option<(Vec<f32>, Vec<f32>)>,
    /// Map normalized values back. Default `false`.
    pub invert: bool,
    /// The feature axis, counted with the batch axis as in Keras (negative from the end);
    /// None is the last axis. Default `-1` (None).
    pub axis: Option<isize>,
    /// Per-sample shape the statistics broadcast as (features on the axis), set by `build`.
    stats_shape: Vec<usize>,
    mean: Option<Var>,
    variance: Option<Var>,
    count: Option<Var>,
}

impl Normalization {
    /// A layer whose statistics come from `adapt` (or from loaded weights).
    pub fn new() -> Self {
        Normalization::default()
    }

    /// A layer with fixed statistics.
    pub fn with_stats(mean: &[f32], variance: &[f32]) -> Self {
        Normalization {
            fixed: Some((mean.to_vec(), variance.to_vec())),
            ..Default::default()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Normalization", config)?;
        let axis = match c.value("axis") {
            None | Some(Value::Null) => None,
            Some(v) => match super::unit_normalization::axis_list(v).as_deref() {
                Some([a]) => Some(*a),
                _ => {
                    return Err(NnError::layer(
                        "Normalization",
                        format!("argument `axis`: krust normalizes along one axis, got {v}"),
                    ))
                }
            },
        };
        // A number or a list of numbers; anything else is an error naming the argument.
        let mut list = |key: &str| -> Result<Option<Vec<f32>>> {
            let Some(v) = c.value(key) else {
                return Ok(None);
            };
            let numbers = match v.as_f64() {
                Some(x) => Some(vec![x as f32]),
                None => v.as_array().and_then(|a| {
                    a.iter()
                        .map(|x| x.as_f64().map(|f| f as f32))
                        .collect::<Option<Vec<f32>>>()
                }),
            };
            numbers.map(Some).ok_or_else(|| {
                NnError::layer(
                    "Normalization",
                    format!("argument `{key}`: expected a number or a list of numbers, got {v}"),
                )
            })
        };
        let (mean, variance) = (list("mean")?, list("variance")?);
        let invert = c.bool_or("invert", Normalization::new().invert)?;
        c.finish()?;
        let mut layer = match (mean, variance) {
            (Some(m), Some(v)) => Normalization::with_stats(&m, &v),
            (None, None) => Normalization::new(),
            _ => {
                return Err(NnError::layer(
                    "Normalization",
                    "give both mean and variance, or neither (then adapt)",
                ))
            }
        };
        layer.invert = invert;
        layer.axis = axis.filter(|&a| a != -1);
        Ok(layer)
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
        match (&self.mean, &self.variance, &self.count) {
            (Some(m), Some(v), Some(c)) => {
                m.set_value(mean)?;
                v.set_value(var)?;
                c.set_value(Tensor::scalar(rows as f32))?;
            }
            _ => {
                self.mean = Some(Var::constant(mean));
                self.variance = Some(Var::constant(var));
                self.count = Some(Var::constant(Tensor::scalar(rows as f32)));
            }
        }
        Ok(())
    }

    fn stats(&self) -> Result<(Tensor, Tensor)> {
        match (&self.fixed, &self.mean, &self.variance) {
            (Some((m, v)), _, _) => Ok((
                Tensor::from_vec([m.len()], m.clone())?,
                Tensor::from_vec([v.len()], v.clone())?,
            )),
            (None, Some(m), Some(v)) => Ok((m.value(), v.value())),
            _ => Err(NnError::layer(
                "Normalization",
                "has no statistics: adapt it to data or load its weights",
            )),
        }
    }
}

impl Layer for Normalization {
    fn class_name(&self) -> &'static str {
        "Normalization"
    }

    fn config(&self) -> Value {
        let (mean, variance) = match &self.fixed {
            Some((m, v)) => (json!(m), json!(v)),
            None => (Value::Null, Value::Null),
        };
        json!({"axis": [self.axis.unwrap_or(-1)], "invert": self.invert, "mean": mean, "variance": variance})
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
        match &self.fixed {
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
            None if self.mean.is_none() => {
                crate::initializers::Initializer::checked_elements(&[features])?;
                self.mean = Some(Var::constant(Tensor::zeros([features])));
                self.variance = Some(Var::constant(Tensor::ones([features])));
                self.count = Some(Var::constant(Tensor::scalar(0.0)));
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
        if self.fixed.is_some() {
            return Vec::new();
        }
        let mut w = Vec::new();
        w.extend(self.mean.iter().map(|v| ("mean", v.clone())));
        w.extend(self.variance.iter().map(|v| ("variance", v.clone())));
        w.extend(self.count.iter().map(|v| ("count", v.clone())));
        w
    }
}
