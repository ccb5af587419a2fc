//! `Dense`: y = activation(x·W + b) on the last axis; kernel (in, units) as in Keras.

use super::{kernel_and_bias, Layer};
use crate::config::args::{self, KerasArgs};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Dense(units)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Dense::keras_defaults", deny_unknown_fields)]
pub struct Dense {
    /// Output features (required).
    pub units: usize,
    /// Applied to the output. Default `None` (linear).
    #[serde(with = "args::activation")]
    pub activation: Activation,
    /// Default `true`.
    pub use_bias: bool,
    /// Default `"glorot_uniform"`.
    #[serde(with = "args::initializer")]
    pub kernel_initializer: Initializer,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint).
    #[serde(skip)]
    pub penalties: WeightPenalties,
    #[serde(skip)]
    kernel: Option<Var>,
    #[serde(skip)]
    bias: Option<Var>,
}

impl Dense {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Dense {
            units: 0,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("Dense", &["kernel", "bias"]),
            kernel: None,
            bias: None,
        }
    }

    pub fn new(units: usize) -> Self {
        Dense {
            units,
            ..Self::keras_defaults()
        }
    }

    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }
}

impl Layer for Dense {
    fn flops(&self, output_shape: &[usize]) -> u64 {
        let inputs = self.kernel.as_ref().map_or(0, |k| k.shape()[0]);
        2 * (output_shape.iter().product::<usize>() * inputs) as u64
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.kernel
            .iter()
            .map(|k| ("kernel", k.clone()))
            .chain(self.bias.iter().map(|b| ("bias", b.clone())))
            .collect()
    }

    fn class_name(&self) -> &'static str {
        "Dense"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let Some(&features) = input_shape.last() else {
            return Err(NnError::layer(
                "Dense",
                "input must have at least one axis besides the batch",
            ));
        };
        if self.units == 0 {
            return Err(NnError::argument("units", "Dense needs at least one unit"));
        }
        self.kernel = Some(Var::parameter(
            self.kernel_initializer
                .try_sample(&[features, self.units])?,
        ));
        self.bias = if self.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[self.units])?,
            ))
        } else {
            None
        };
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("checked non-empty") = self.units;
        Ok(out)
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let kernel = self.kernel.as_ref().ok_or(NnError::NotBuilt)?;
        let y = x.dense(kernel, self.bias.as_ref())?;
        let out = self.activation.apply(&y)?;
        self.penalties
            .add_losses(&kernel_and_bias(&self.kernel, &self.bias), &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&kernel_and_bias(&self.kernel, &self.bias))
    }
}

impl KerasArgs for Dense {
    const REQUIRED: &'static [&'static str] = &["units"];

    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }
}

impl Dense {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Dense", config)
    }
}
