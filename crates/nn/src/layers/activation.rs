//! `Activation`: applies an activation function as a layer of its own.

use super::Layer;
use crate::config::ConfigReader;
use crate::{Activation, Result};
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct ActivationLayer {
    /// Keras requires it; a config without it reads as linear (`ActivationLayer::default`).
    pub activation: Activation,
}

/// Linear: what `from_config` reads a config without `activation` as.
impl Default for ActivationLayer {
    fn default() -> Self {
        ActivationLayer::new(Activation::Linear)
    }
}

impl ActivationLayer {
    pub fn new(activation: Activation) -> Self {
        ActivationLayer { activation }
    }
}

impl Layer for ActivationLayer {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"activation": self.activation.to_config()})
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

impl ActivationLayer {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Activation", config)?;
        let mut layer = ActivationLayer::default();
        layer.activation = c.activation_or("activation", layer.activation)?;
        c.finish()?;
        Ok(layer)
    }
}

/// `ActivityRegularization`: the identity, adding l1·Σ|x| + l2·Σx² (divided by the batch
/// size, as Keras) to the training loss.
#[derive(Debug, Clone)]
pub struct ActivityRegularization {
    /// Default `0.0`.
    l1: f32,
    /// Default `0.0`.
    l2: f32,
    /// The L1L2 activity regularizer, and the penalties recorded in the current pass.
    penalties: crate::regularizers::WeightPenalties,
}

impl ActivityRegularization {
    pub fn new(l1: f32, l2: f32) -> Self {
        let mut penalties =
            crate::regularizers::WeightPenalties::new("ActivityRegularization", &[]);
        penalties.activity_regularizer = Some(crate::regularizers::Regularizer::L1L2 { l1, l2 });
        ActivityRegularization { l1, l2, penalties }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("ActivityRegularization", config)?;
        let defaults = ActivityRegularization::default();
        let l1 = c.f32_or("l1", defaults.l1)?;
        let l2 = c.f32_or("l2", defaults.l2)?;
        c.absent("activity_regularizer")?;
        c.finish()?;
        Ok(ActivityRegularization::new(l1, l2))
    }
}

/// Keras's defaults, no penalty: l1 = l2 = 0.
impl Default for ActivityRegularization {
    fn default() -> Self {
        ActivityRegularization::new(0.0, 0.0)
    }
}

impl Layer for ActivityRegularization {
    fn class_name(&self) -> &'static str {
        "ActivityRegularization"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({"l1": self.l1, "l2": self.l2})
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
