//! `Flatten`: (batch, d1, d2, ...) -> (batch, d1·d2·...), channels-last order kept.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::Result;
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Flatten()`. Its field is its Keras argument (see `config::args`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Flatten {
    /// Written as `"channels_last"`, the only layout krust supports.
    pub data_format: args::ChannelsLast,
}

impl Flatten {
    pub fn new() -> Self {
        Flatten::default()
    }
}

impl Layer for Flatten {
    fn config(&self) -> serde_json::Value {
        args::write(self)
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

impl KerasArgs for Flatten {}

impl Flatten {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Flatten", config)
    }
}
