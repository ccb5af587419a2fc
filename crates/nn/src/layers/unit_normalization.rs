//! `UnitNormalization`: scales each sample to unit L2 norm over `axis`,
//! y = x / √max(Σx², 1e-12), as Keras does.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keras's `UnitNormalization(axis=-1)`. Its fields are its Keras arguments (see
/// `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "UnitNormalization::keras_defaults", deny_unknown_fields)]
pub struct UnitNormalization {
    /// Axes counted with the batch axis, as in Keras; the batch axis itself cannot be
    /// normalized over. Default `-1`.
    #[serde(deserialize_with = "args::axis")]
    pub axis: Vec<isize>,
    /// The axes of the batched input, resolved by `build`.
    #[serde(skip)]
    resolved: Vec<isize>,
}

impl UnitNormalization {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        UnitNormalization {
            axis: vec![-1],
            resolved: Vec::new(),
        }
    }

    pub fn new() -> Self {
        UnitNormalization::keras_defaults()
    }

    pub fn with_axis(axis: &[isize]) -> Self {
        UnitNormalization {
            axis: axis.to_vec(),
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("UnitNormalization", config)
    }
}

impl KerasArgs for UnitNormalization {}

impl Default for UnitNormalization {
    fn default() -> Self {
        UnitNormalization::new()
    }
}

impl Layer for UnitNormalization {
    fn class_name(&self) -> &'static str {
        "UnitNormalization"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let rank = input_shape.len() as isize + 1;
        self.resolved = self
            .axis
            .iter()
            .map(|&a| {
                let r = if a < 0 { a + rank } else { a };
                if r <= 0 || r >= rank {
                    Err(NnError::layer(
                        "UnitNormalization",
                        format!("axis {a} is not a feature axis of inputs {input_shape:?}"),
                    ))
                } else {
                    Ok(r)
                }
            })
            .collect::<Result<_>>()?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        if self.resolved.is_empty() {
            return Err(NnError::layer("UnitNormalization", "used before build"));
        }
        let norm = x
            .square()
            .sum_axes(&self.resolved, true)?
            .clip(1e-12, f32::MAX)
            .sqrt();
        Ok(x.div(&norm)?)
    }
}
