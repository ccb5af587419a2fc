//! `Flatten`: (batch, d1, d2, ...) -> (batch, d1·d2·...), channels-last order kept.

use super::Layer;
use crate::config::ConfigReader;
use crate::Result;
use krust_autograd::Var;

#[derive(Debug, Clone, Default)]
pub struct Flatten;

impl Flatten {
    pub fn new() -> Self {
        Flatten
    }
}

impl Layer for Flatten {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"data_format": "channels_last"})
    }

    fn class_name(&self) -> &'static str {
        "Flatten"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let total = krust_tensor::checked_numel(input_shape).ok_or_else(|| {
            crate::NnError::layer(
                "Flatten",
                format!("inputs {input_shape:?} overflow a usize"),
            )
        })?;
        Ok(vec![total])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.flatten()?)
    }
}

impl Flatten {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        ConfigReader::new("Flatten", config)?.finish()?;
        Ok(Flatten)
    }
}
