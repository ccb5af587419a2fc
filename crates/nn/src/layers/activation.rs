//! `Activation`: applies an activation function as a layer of its own.

use super::Layer;
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
