//! `RepeatVector`: (batch, features) -> (batch, n, features), the vector repeated n times.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Keras's `RepeatVector(n)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "RepeatVector::keras_defaults", deny_unknown_fields)]
pub struct RepeatVector {
    /// Repeats (required).
    pub n: usize,
}

impl RepeatVector {
    /// The defaults for every argument, the one place they are written: `n` has none (0
    /// stands for it until it is read).
    fn keras_defaults() -> Self {
        RepeatVector { n: 0 }
    }

    pub fn new(n: usize) -> Self {
        RepeatVector { n }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("RepeatVector", config)
    }
}

impl KerasArgs for RepeatVector {
    const REQUIRED: &'static [&'static str] = &["n"];
}

impl Layer for RepeatVector {
    fn class_name(&self) -> &'static str {
        "RepeatVector"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[features] = input_shape else {
            return Err(NnError::layer(
                "RepeatVector",
                format!("expects inputs (features,), got {input_shape:?}"),
            ));
        };
        Ok(vec![self.n, features])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let (batch, features) = (s[0], s.get(1).copied().unwrap_or(0));
        // Broadcasting against ones repeats the vector; the backward sums the copies.
        let ones = Var::constant(Tensor::ones([1, self.n, 1]));
        Ok(x.reshape(&[batch, 1, features])?.mul(&ones)?)
    }
}
