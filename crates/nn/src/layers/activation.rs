//! `Activation`: applies an activation function as a layer of its own.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::regularizers::{Regularizer, WeightPenalties};
use crate::{Activation, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Activation(activation)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "ActivationLayer::keras_defaults", deny_unknown_fields)]
pub struct ActivationLayer {
    /// Keras requires it; a config without it reads as linear (`ActivationLayer::default`).
    #[serde(with = "args::activation")]
    pub activation: Activation,
}

/// Linear: what `from_config` reads a config without `activation` as.
impl Default for ActivationLayer {
    fn default() -> Self {
        ActivationLayer::keras_defaults()
    }
}

impl ActivationLayer {
    /// What a config without arguments reads as, the one place it is written.
    fn keras_defaults() -> Self {
        ActivationLayer {
            activation: Activation::Linear,
        }
    }

    pub fn new(activation: Activation) -> Self {
        ActivationLayer { activation }
    }
}

impl Layer for ActivationLayer {
    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn class_name(&self) -> &'static str {
        "Activation"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        self.activation.apply(x)
    }

    fn inference_role(&self) -> Option<crate::inference::InferenceRole> {
        Some(crate::inference::InferenceRole::Activation(self.activation))
    }
}

impl KerasArgs for ActivationLayer {}

impl ActivationLayer {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Activation", config)
    }
}

/// `ActivityRegularization`: the identity, adding l1·Σ|x| + l2·Σx² (divided by the batch
/// size, as Keras) to the training loss. Its fields are its Keras arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    default = "ActivityRegularization::keras_defaults",
    deny_unknown_fields
)]
pub struct ActivityRegularization {
    /// Default `0.0`.
    l1: f32,
    /// Default `0.0`.
    l2: f32,
    /// Keras's `activity_regularizer`, which `l1` and `l2` make: not accepted besides them,
    /// `null` (and not written).
    #[serde(skip_serializing)]
    activity_regularizer: args::Unset,
    /// The L1L2 activity regularizer of `l1` and `l2`, and the penalties recorded in the
    /// current pass.
    #[serde(skip)]
    penalties: WeightPenalties,
}

impl ActivityRegularization {
    /// Keras's defaults, no penalty: l1 = l2 = 0; the one place they are written.
    fn keras_defaults() -> Self {
        let mut layer = ActivityRegularization {
            l1: 0.0,
            l2: 0.0,
            activity_regularizer: args::Unset,
            penalties: WeightPenalties::new("ActivityRegularization", &[]),
        };
        layer.penalize();
        layer
    }

    pub fn new(l1: f32, l2: f32) -> Self {
        let mut layer = ActivityRegularization {
            l1,
            l2,
            ..Self::keras_defaults()
        };
        layer.penalize();
        layer
    }

    /// Sets the activity regularizer from `l1` and `l2`.
    fn penalize(&mut self) {
        self.penalties.activity_regularizer = Some(Regularizer::L1L2 {
            l1: self.l1,
            l2: self.l2,
        });
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("ActivityRegularization", config)
    }
}

impl KerasArgs for ActivityRegularization {
    fn check_args(&mut self) -> Result<()> {
        self.penalize();
        Ok(())
    }
}

/// Keras's defaults, no penalty: l1 = l2 = 0.
impl Default for ActivityRegularization {
    fn default() -> Self {
        ActivityRegularization::keras_defaults()
    }
}

impl Layer for ActivityRegularization {
    fn class_name(&self) -> &'static str {
        "ActivityRegularization"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.penalties.add_losses(&[], x, training)?;
        Ok(x.clone())
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }
}
