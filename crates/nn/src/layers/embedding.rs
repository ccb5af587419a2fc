//! `Embedding`: maps integer token ids (given as float inputs of any shape) to learned vectors
//! of `output_dim`, from a table of `input_dim` rows initialized U(-0.05, 0.05) by default as
//! in Keras. Ids that are not whole numbers in [0, input_dim) are an error naming the value.

use super::Layer;
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_autograd::Var;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Embedding {
    pub input_dim: usize,
    pub output_dim: usize,
    /// Default `"uniform"`: RandomUniform(-0.05, 0.05).
    pub embeddings_initializer: Initializer,
    /// The table's regularizer and constraint and the activity regularizer (Keras's
    /// embeddings_regularizer, embeddings_constraint, activity_regularizer).
    pub penalties: WeightPenalties,
    embeddings: Option<Var>,
}

impl Embedding {
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            embeddings_initializer: Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            penalties: WeightPenalties::new("Embedding", &["embeddings"]),
            embeddings: None,
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Embedding", config)?;
        let mut layer = Embedding::new(c.usize("input_dim")?, c.usize("output_dim")?);
        layer.embeddings_initializer =
            c.initializer_or("embeddings_initializer", layer.embeddings_initializer)?;
        layer.penalties.read(&mut c)?;
        c.only("mask_zero", json!(false))?;
        c.absent("input_length")?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for Embedding {
    fn class_name(&self) -> &'static str {
        "Embedding"
    }

    fn config(&self) -> Value {
        let mut config = json!({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializer_to_json(&self.embeddings_initializer),
            "mask_zero": false,
        });
        self.penalties.write(&mut config);
        config
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
