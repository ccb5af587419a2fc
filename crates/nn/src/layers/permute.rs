//! `Permute`: reorders the per-sample axes; `dims` counts from 1 (the batch axis stays), as
//! in Keras: Permute((2, 1)) swaps the two axes of (steps, features).

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;

#[derive(Debug, Clone)]
pub struct Permute {
    pub dims: Vec<usize>,
}

impl Permute {
    pub fn new(dims: &[usize]) -> Self {
        Permute {
            dims: dims.to_vec(),
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Permute", config)?;
        let dims = c.shape("dims")?;
        c.finish()?;
        Ok(Permute::new(&dims))
    }
}

impl Layer for Permute {
    fn class_name(&self) -> &'static str {
        "Permute"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({"dims": self.dims})
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
