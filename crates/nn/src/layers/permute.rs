//! `Permute`: reorders the per-sample axes; `dims` counts from 1 (the batch axis stays), as
//! in Keras: Permute((2, 1)) swaps the two axes of (steps, features).

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Permute(dims)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Permute::keras_defaults", deny_unknown_fields)]
pub struct Permute {
    /// The new order of the per-sample axes, counted from 1 (required).
    #[serde(deserialize_with = "args::whole")]
    pub dims: Vec<usize>,
}

impl Permute {
    /// The defaults for every argument, the one place they are written: `dims` has none
    /// (empty until it is read).
    fn keras_defaults() -> Self {
        Permute { dims: Vec::new() }
    }

    pub fn new(dims: &[usize]) -> Self {
        Permute {
            dims: dims.to_vec(),
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Permute", config)
    }
}

impl KerasArgs for Permute {
    const REQUIRED: &'static [&'static str] = &["dims"];
}

impl Layer for Permute {
    fn class_name(&self) -> &'static str {
        "Permute"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut sorted = self.dims.clone();
        sorted.sort_unstable();
        if sorted != (1..=input_shape.len()).collect::<Vec<_>>() {
            return Err(NnError::layer(
                "Permute",
                format!(
                    "dims {:?} must be a permutation of 1..={} for inputs {input_shape:?}",
                    self.dims,
                    input_shape.len()
                ),
            ));
        }
        Ok(self.dims.iter().map(|&d| input_shape[d - 1]).collect())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let perm: Vec<usize> = std::iter::once(0)
            .chain(self.dims.iter().copied())
            .collect();
        Ok(x.permute(&perm)?)
    }
}
