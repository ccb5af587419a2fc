//! `Rescaling`: y = x · scale + offset, e.g. scale 1/255 to bring pixels to [0, 1].

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::Result;
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Rescaling(scale, offset)`. Its fields are its Keras arguments (see
/// `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Rescaling::keras_defaults", deny_unknown_fields)]
pub struct Rescaling {
    /// Keras requires it; a config without it reads as `1.0`.
    pub scale: f32,
    /// Default `0.0`.
    pub offset: f32,
}

/// The identity, scale 1 and Keras's default offset 0: what `from_config` reads absent
/// arguments as.
impl Default for Rescaling {
    fn default() -> Self {
        Rescaling::keras_defaults()
    }
}

impl Rescaling {
    /// The defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Rescaling {
            scale: 1.0,
            offset: 0.0,
        }
    }

    pub fn new(scale: f32, offset: f32) -> Self {
        Rescaling { scale, offset }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Rescaling", config)
    }
}

impl KerasArgs for Rescaling {}

impl Layer for Rescaling {
    fn class_name(&self) -> &'static str {
        "Rescaling"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.mul_scalar(self.scale).add_scalar(self.offset))
    }
}
