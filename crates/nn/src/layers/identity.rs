//! `Identity`: passes its input through unchanged (Keras's placeholder layer).

use super::Layer;
use crate::Result;
use krust_autograd::Var;

#[derive(Debug, Clone, Default)]
pub struct Identity;

impl Identity {
    pub fn new() -> Self {
        Identity
    }
}

impl Layer for Identity {
    fn class_name(&self) -> &'static str {
        "Identity"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({})
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.clone())
    }
}
