//! `Embedding`: maps integer token ids (given as float inputs of any shape) to learned vectors
//! of `output_dim`, from a table of `input_dim` rows initialized U(-0.05, 0.05) by default as
//! in Keras. Ids that are not whole numbers in [0, input_dim) are an error naming the value.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Keras's `Embedding(input_dim, output_dim)`. Its fields are its Keras arguments (see
/// `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Embedding::keras_defaults", deny_unknown_fields)]
pub struct Embedding {
    /// Rows of the table, one per token id (required).
    pub input_dim: usize,
    /// Length of each vector (required).
    pub output_dim: usize,
    /// Default `"uniform"`: RandomUniform(-0.05, 0.05).
    #[serde(with = "args::initializer")]
    pub embeddings_initializer: Initializer,
    /// The table's regularizer and constraint and the activity regularizer (Keras's
    /// embeddings_regularizer, embeddings_constraint, activity_regularizer).
    #[serde(skip)]
    pub penalties: WeightPenalties,
    /// Masking padding id 0: not supported, `false`.
    mask_zero: args::False,
    /// Keras 2's fixed input length: not supported, `null` (and not written).
    #[serde(skip_serializing)]
    input_length: args::Unset,
    #[serde(skip)]
    embeddings: Option<Var>,
}

impl Embedding {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Embedding {
            input_dim: 0,
            output_dim: 0,
            embeddings_initializer: Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            penalties: WeightPenalties::new("Embedding", &["embeddings"]),
            mask_zero: args::False,
            input_length: args::Unset,
            embeddings: None,
        }
    }

    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Embedding", config)
    }
}

impl KerasArgs for Embedding {
    const REQUIRED: &'static [&'static str] = &["input_dim", "output_dim"];

    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }
}

impl Layer for Embedding {
    fn class_name(&self) -> &'static str {
        "Embedding"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(NnError::layer(
                "Embedding",
                "input_dim and output_dim must be at least 1",
            ));
        }
        let table = self
            .embeddings_initializer
            .try_sample(&[self.input_dim, self.output_dim])?;
        self.embeddings = Some(Var::parameter(table));
        let mut out = input_shape.to_vec();
        out.push(self.output_dim);
        Ok(out)
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let table = self.embeddings.as_ref().ok_or(NnError::NotBuilt)?;
        let ids = x.value();
        let indices = ids
            .to_vec()
            .iter()
            .map(|&v| {
                if v.fract() == 0.0 && v >= 0.0 && (v as usize) < self.input_dim {
                    Ok(v as usize)
                } else {
                    Err(NnError::layer(
                        "Embedding",
                        format!("input {v} is not a token id in [0, {})", self.input_dim),
                    ))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = table.gather_rows(&indices, ids.shape())?;
        self.penalties
            .add_losses(&[("embeddings", Some(table))], &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties
            .constrain(&[("embeddings", self.embeddings.as_ref())])
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.embeddings
            .iter()
            .map(|e| ("embeddings", e.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::check_weight_rules;
    use krust_tensor::Tensor;
    use serde_json::json;

    #[test]
    fn embedding_honours_initializer_regularizer_constraint_and_activity_regularizer() {
        let ids = Tensor::from_vec([2, 3], vec![0.0, 4.0, 2.0, 2.0, 1.0, 4.0]).unwrap();
        check_weight_rules(
            "Embedding",
            json!({"input_dim": 5, "output_dim": 3}),
            &[("embeddings", "embeddings")],
            &ids,
        );
    }
}
