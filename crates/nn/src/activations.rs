//! Activation functions by Keras name, applied to autograd variables.

use crate::{NnError, Result};
use krust_autograd::Var;

/// The activations a layer can apply to its output (`activation=` in Keras).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    Relu,
    LeakyRelu {
        negative_slope: f32,
    },
    Sigmoid,
    Tanh,
    /// Softmax over the last axis.
    Softmax,
}

impl Activation {
    pub fn apply(&self, x: &Var) -> Result<Var> {
        Ok(match *self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu { negative_slope } => x.leaky_relu(negative_slope),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Softmax => x.softmax(-1)?,
        })
    }

    /// Parses a Keras activation name ("relu", "softmax", "leaky_relu" with Keras's 0.2 slope...).
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu { negative_slope: 0.2 },
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            other => {
                return Err(NnError::argument(
                    "activation",
                    format!("unknown activation {other:?} (known: linear, relu, leaky_relu, sigmoid, tanh, softmax)"),
                ))
            }
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }
}
