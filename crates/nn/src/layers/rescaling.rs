//! `Rescaling`: y = x · scale + offset, e.g. scale 1/255 to bring pixels to [0, 1].

use super::Layer;
use crate::config::ConfigReader;
use crate::Result;
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct Rescaling {
    /// Keras requires it; a config without it reads as `1.0` (`Rescaling::default`).
    pub scale: f32,
    /// Default `0.0`.
    pub offset: f32,
}

/// The identity, scale 1 and Keras's default offset 0: what `from_config` reads absent
/// arguments as.
impl Default for Rescaling {
    fn default() -> Self {
        Rescaling::new(1.0, 0.0)
    }
}

impl Rescaling {
    pub fn new(scale: f32, offset: f32) -> Self {
        Rescaling { scale, offset }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Rescaling", config)?;
        let mut layer = Rescaling::default();
        layer.scale = c.f32_or("scale", layer.scale)?;
        layer.offset = c.f32_or("offset", layer.offset)?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for Rescaling {
    fn class_name(&self) -> &'static str {
        "Rescaling"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({"scale": self.scale, "offset": self.offset})
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.mul_scalar(self.scale).add_scalar(self.offset))
    }
}
