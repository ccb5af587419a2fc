//! `Embedding`: maps integer token ids (given as float inputs of any shape) to learned vectors
//! of `output_dim`, from a table of `input_dim` rows initialized U(-0.05, 0.05) as in Keras.
//! Ids that are not whole numbers in [0, input_dim) are an error naming the value.

use super::Layer;
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::random::next_rng;
use krust_tensor::Tensor;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Embedding {
    pub input_dim: usize,
    pub output_dim: usize,
    embeddings: Option<Var>,
}

impl Embedding {
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            embeddings: None,
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Embedding", config)?;
        let layer = Embedding::new(c.usize("input_dim")?, c.usize("output_dim")?);
        if let Some(init) = c.value("embeddings_initializer") {
            let class = init
                .get("class_name")
                .and_then(Value::as_str)
                .or(init.as_str())
                .unwrap_or("");
            if !matches!(class, "RandomUniform" | "uniform" | "random_uniform") {
                return Err(NnError::layer("Embedding", format!("argument `embeddings_initializer`: only Keras's default RandomUniform is supported, got {class:?}")));
            }
        }
        c.absent("embeddings_regularizer")?;
        c.absent("activity_regularizer")?;
        c.absent("embeddings_constraint")?;
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
        let init = Initializer::RandomUniform {
            minval: -0.05,
            maxval: 0.05,
        };
        json!({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": initializer_to_json(&init),
            "embeddings_regularizer": null,
            "activity_regularizer": null,
            "embeddings_constraint": null,
            "mask_zero": false,
        })
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(NnError::layer(
                "Embedding",
                "input_dim and output_dim must be at least 1",
            ));
        }
        let table = Tensor::rand_uniform(
            [self.input_dim, self.output_dim],
            -0.05,
            0.05,
            &mut next_rng(),
        );
        self.embeddings = Some(Var::parameter(table));
        let mut out = input_shape.to_vec();
        out.push(self.output_dim);
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let table = self.embeddings.as_ref().ok_or(NnError::NotBuilt)?;
        let ids = x.value();
        let indices = ids
            .as_slice()
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
        Ok(table.gather_rows(&indices, ids.shape())?)
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.embeddings
            .iter()
            .map(|e| ("embeddings", e.clone()))
            .collect()
    }
}
