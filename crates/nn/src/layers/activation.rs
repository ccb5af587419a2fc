//! `Activation`: applies an activation function as a layer of its own.

use super::Layer;
use crate::config::ConfigReader;
use crate::{Activation, Result};
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct ActivationLayer {
    pub activation: Activation,
}

impl ActivationLayer {
    pub fn new(activation: Activation) -> Self {
        ActivationLayer { activation }
    }
}

impl Layer for ActivationLayer {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"activation": self.activation.name()})
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
}

impl ActivationLayer {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Activation", config)?;
        let activation = c.activation_or("activation", Activation::Linear)?;
        c.finish()?;
        Ok(ActivationLayer::new(activation))
    }
}
