//! `LayerScale` (ConvNeXt's): y = x · γ, one learned factor per channel of the last axis,
//! initialized to `init_values` so a residual branch starts almost switched off.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "LayerScale::keras_defaults", deny_unknown_fields)]
pub struct LayerScale {
    /// The initial value of every factor. Keras's ConvNeXt always passes it; a config
    /// without it reads as ConvNeXt's `1e-6`.
    pub init_values: f32,
    /// Channels of the last axis, as Keras's config declares them (required).
    pub projection_dim: usize,
    #[serde(skip)]
    gamma: Option<Var>,
}

impl LayerScale {
    /// ConvNeXt's defaults, the one place they are written (`projection_dim` is required).
    fn keras_defaults() -> Self {
        LayerScale {
            init_values: 1e-6,
            projection_dim: 0,
            gamma: None,
        }
    }

    pub fn new(init_values: f32, projection_dim: usize) -> Self {
        LayerScale {
            init_values,
            ..LayerScale::with_projection_dim(projection_dim)
        }
    }

    /// ConvNeXt's `init_values`, 1e-6.
    pub fn with_projection_dim(projection_dim: usize) -> Self {
        LayerScale {
            projection_dim,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("LayerScale", config)
    }
}

impl KerasArgs for LayerScale {
    const REQUIRED: &'static [&'static str] = &["projection_dim"];
}

impl Layer for LayerScale {
    fn class_name(&self) -> &'static str {
        "LayerScale"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape.last() != Some(&self.projection_dim) {
            return Err(NnError::layer(
                "LayerScale",
                format!(
                    "projection_dim {} does not match the last axis of inputs {input_shape:?}",
                    self.projection_dim
                ),
            ));
        }
        if self.gamma.is_none() {
            let gamma = crate::initializers::Initializer::Constant {
                value: self.init_values,
            };
            self.gamma = Some(Var::parameter(gamma.try_sample(&[self.projection_dim])?));
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let gamma = self
            .gamma
            .as_ref()
            .ok_or_else(|| NnError::layer("LayerScale", "used before build"))?;
        Ok(x.mul(gamma)?)
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.gamma.iter().map(|g| ("gamma", g.clone())).collect()
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        output_shape.iter().product::<usize>() as u64
    }
}
