//! `Input`: declares the shape of one sample (without the batch axis).

use super::Layer;
use crate::{NnError, Result};
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct Input {
    shape: Vec<usize>,
}

impl Input {
    pub fn new(shape: &[usize]) -> Self {
        Input {
            shape: shape.to_vec(),
        }
    }
}

impl Layer for Input {
    fn class_name(&self) -> &'static str {
        "InputLayer"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if input_shape != self.shape.as_slice() {
            return Err(NnError::layer(
                "InputLayer",
                format!("declared shape {:?} but got {input_shape:?}", self.shape),
            ));
        }
        Ok(self.shape.clone())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.clone())
    }

    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        Some(self.shape.clone())
    }
}
