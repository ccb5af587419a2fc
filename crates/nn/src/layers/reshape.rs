//! `Reshape`: gives each sample a new shape with the same number of values; one dimension
//! may be -1 and is then inferred, as in Keras.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// Keras's `Reshape(target_shape)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Reshape::keras_defaults", deny_unknown_fields)]
pub struct Reshape {
    /// Target per-sample shape; at most one entry may be -1 (required).
    #[serde(deserialize_with = "args::whole")]
    pub target_shape: Vec<isize>,
    #[serde(skip)]
    resolved: Vec<usize>,
}

impl Reshape {
    /// The defaults for every argument, the one place they are written: `target_shape` has
    /// none (empty until it is read).
    fn keras_defaults() -> Self {
        Reshape {
            target_shape: Vec::new(),
            resolved: Vec::new(),
        }
    }

    pub fn new(target_shape: &[isize]) -> Self {
        Reshape {
            target_shape: target_shape.to_vec(),
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Reshape", config)
    }
}

impl KerasArgs for Reshape {
    const REQUIRED: &'static [&'static str] = &["target_shape"];
}

impl Layer for Reshape {
    fn class_name(&self) -> &'static str {
        "Reshape"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let product = |dims: &[usize]| {
            krust_tensor::checked_numel(dims).ok_or_else(|| {
                NnError::layer(
                    "Reshape",
                    format!(
                        "inputs {input_shape:?} or target_shape {:?} overflow a usize",
                        self.target_shape
                    ),
                )
            })
        };
        let total = product(input_shape)?;
        let unknown = self.target_shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || self.target_shape.iter().any(|&d| d < -1 || d == 0) {
            return Err(NnError::layer(
                "Reshape",
                format!(
                    "target_shape {:?} may hold one -1 and otherwise positive sizes",
                    self.target_shape
                ),
            ));
        }
        let known_dims: Vec<usize> = self
            .target_shape
            .iter()
            .filter(|&&d| d > 0)
            .map(|&d| d as usize)
            .collect();
        let known = product(&known_dims)?;
        let fits = if unknown == 1 {
            known > 0 && total.is_multiple_of(known)
        } else {
            known == total
        };
        if !fits {
            return Err(NnError::layer(
                "Reshape",
                format!(
                    "cannot reshape {input_shape:?} ({total} values per sample) to {:?}",
                    self.target_shape
                ),
            ));
        }
        self.resolved = self
            .target_shape
            .iter()
            .map(|&d| if d == -1 { total / known } else { d as usize })
            .collect();
        Ok(self.resolved.clone())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let batch = x.shape().first().copied().unwrap_or(0);
        let shape: Vec<usize> = std::iter::once(batch)
            .chain(self.resolved.iter().copied())
            .collect();
        Ok(x.reshape(&shape)?)
    }
}
