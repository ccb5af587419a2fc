//! `Input`: declares the shape of one sample (without the batch axis).

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `InputLayer`. Its fields are its Keras arguments (see `config::args`); the one it
/// needs, the shape, has no default, so serde itself reports it missing (under either name).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// One sample's shape: Keras 3's `batch_shape` (older files' `batch_input_shape`) without
    /// its first, batch, entry.
    #[serde(
        rename = "batch_shape",
        alias = "batch_input_shape",
        with = "args::batch_shape"
    )]
    shape: Vec<usize>,
    /// Sparse inputs: not supported, `false`.
    #[serde(default)]
    sparse: args::False,
    /// Ragged inputs: not supported, `false` (and not written).
    #[serde(rename = "ragged", default, skip_serializing)]
    _ragged: args::False,
}

impl Input {
    pub fn new(shape: &[usize]) -> Self {
        Input {
            shape: shape.to_vec(),
            sparse: args::False,
            _ragged: args::False,
        }
    }
}

impl Layer for Input {
    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

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

impl KerasArgs for Input {}

impl Input {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("InputLayer", config)
    }
}
