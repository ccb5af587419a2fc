//! `Dropout`: inverted dropout. In training each element is zeroed with probability `rate`
//! and survivors are scaled by 1/(1-rate), so inference is the identity (the weight scaling
//! inference rule folded into training).

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::random::next_rng;
use krust_tensor::Tensor;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cell::RefCell;

#[derive(Debug, Clone)]
pub struct Dropout {
    /// Fraction of inputs dropped, in [0, 1).
    pub rate: f32,
    rng: RefCell<ChaCha8Rng>,
}

impl Dropout {
    /// The mask generator is drawn from the global seed when the layer is created.
    pub fn new(rate: f32) -> Self {
        Dropout {
            rate,
            rng: RefCell::new(next_rng()),
        }
    }
}

impl Layer for Dropout {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"rate": self.rate, "seed": null, "noise_shape": null})
    }

    fn class_name(&self) -> &'static str {
        "Dropout"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(NnError::argument(
                "rate",
                format!("Dropout rate must be in [0, 1), got {}", self.rate),
            ));
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let shape = x.shape();
        let n: usize = shape.iter().product();
        let mut rng = self.rng.borrow_mut();
        let mask: Vec<f32> = (0..n)
            .map(|_| if rng.gen::<f32>() < keep { scale } else { 0.0 })
            .collect();
        Ok(x.mul(&Var::constant(Tensor::from_vec(shape, mask)?))?)
    }
}

impl Dropout {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("Dropout", config)?;
        let rate = c.f32_or("rate", 0.5)?;
        c.absent("seed")?;
        c.absent("noise_shape")?;
        c.finish()?;
        Ok(Dropout::new(rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropout_is_identity_at_inference_and_keeps_expectation_in_training() {
        let mut d = Dropout::new(0.25);
        d.build(&[1000]).unwrap();
        let x = Var::constant(Tensor::ones([4, 1000]));
        assert_eq!(
            d.forward(&x, false).unwrap().value().to_vec(),
            x.value().to_vec()
        );
        let y = d.forward(&x, true).unwrap().value();
        let kept = y.as_slice().iter().filter(|&&v| v != 0.0).count() as f32 / 4000.0;
        assert!((kept - 0.75).abs() < 0.03, "kept {kept}");
        assert!(y
            .as_slice()
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    }
}
