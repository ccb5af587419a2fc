//! `RepeatVector`: (batch, features) -> (batch, n, features), the vector repeated n times.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;

#[derive(Debug, Clone)]
pub struct RepeatVector {
    pub n: usize,
}

impl RepeatVector {
    pub fn new(n: usize) -> Self {
        RepeatVector { n }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("RepeatVector", config)?;
        let n = c.usize("n")?;
        c.finish()?;
        Ok(RepeatVector::new(n))
    }
}

impl Layer for RepeatVector {
    fn class_name(&self) -> &'static str {
        "RepeatVector"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({"n": self.n})
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
