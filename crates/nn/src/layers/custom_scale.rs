//! `CustomScaleLayer` (InceptionResNetV2's residual join): y = a + b · scale for inputs [a, b].

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Its fields are its config's arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomScaleLayer {
    /// The factor of the second (residual) input (required).
    pub scale: f32,
}

impl CustomScaleLayer {
    pub fn new(scale: f32) -> Self {
        CustomScaleLayer { scale }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("CustomScaleLayer", config)
    }
}

impl KerasArgs for CustomScaleLayer {
    const REQUIRED: &'static [&'static str] = &["scale"];
}

impl Layer for CustomScaleLayer {
    fn class_name(&self) -> &'static str {
        "CustomScaleLayer"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.build_multi(&[input_shape.to_vec()])
    }

    fn build_multi(&mut self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        match shapes {
            [a, b] => krust_tensor::broadcast_shapes("CustomScaleLayer", a, b).map_err(|_| {
                NnError::layer(
                    "CustomScaleLayer",
                    format!("inputs {a:?} and {b:?} do not broadcast"),
                )
            }),
            _ => Err(NnError::layer(
                "CustomScaleLayer",
                format!("takes exactly 2 inputs, got {}", shapes.len()),
            )),
        }
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.forward_multi(std::slice::from_ref(x), training)
    }

    fn forward_multi(&self, xs: &[Var], _training: bool) -> Result<Var> {
        let [a, b] = xs else {
            return Err(NnError::layer(
                "CustomScaleLayer",
                format!("takes exactly 2 inputs, got {}", xs.len()),
            ));
        };
        Ok(a.add(&b.mul_scalar(self.scale))?)
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        2 * output_shape.iter().product::<usize>() as u64
    }
}
