//! `Input`: declares the shape of one sample (without the batch axis).

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct Input {
    shape: Vec<usize>,
}

impl Input {
    pub fn new(shape: &[usize]) -> Self {
        Input {
            shape: shape.to_vec(),
        }
    }
}

impl Layer for Input {
    fn config(&self) -> serde_json::Value {
        let mut batch_shape = vec![serde_json::Value::Null];
        batch_shape.extend(self.shape.iter().map(|&d| serde_json::json!(d)));
        serde_json::json!({"batch_shape": batch_shape, "sparse": false})
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

impl Input {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("InputLayer", config)?;
        // Keras 3 writes "batch_shape", older files "batch_input_shape"; the batch axis is null.
        let batch = c
            .value("batch_shape")
            .or_else(|| c.value("batch_input_shape"));
        let dims = batch
            .and_then(|v| v.as_array())
            .filter(|dims| !dims.is_empty())
            .and_then(|dims| {
                dims[1..]
                    .iter()
                    .map(|d| d.as_u64().map(|n| n as usize))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                NnError::layer(
                    "InputLayer",
                    format!("needs a batch_shape like [null, 28, 28, 1], got {batch:?}"),
                )
            })?;
        c.only("sparse", serde_json::json!(false))?;
        c.only("ragged", serde_json::json!(false))?;
        c.finish()?;
        Ok(Input::new(&dims))
    }
}
