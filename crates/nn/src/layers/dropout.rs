//! `Dropout`: inverted dropout. In training each element is zeroed with probability `rate`
//! and survivors are scaled by 1/(1-rate), so inference is the identity (the weight scaling
//! inference rule folded into training). A `noise_shape` (Keras's, batch axis included, 1 on
//! the axes that share one draw) drops whole slices: (None, 1, 1, 1) drops a whole sample,
//! which is stochastic depth on a residual branch.

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
    /// Shape of the mask over the full input shape (batch axis first); `None` entries take
    /// the input's size and 1s broadcast one draw. Default: the input's shape.
    pub noise_shape: Option<Vec<Option<usize>>>,
    rng: RefCell<ChaCha8Rng>,
}

impl Dropout {
    /// The mask generator is drawn from the global seed when the layer is created.
    pub fn new(rate: f32) -> Self {
        Dropout {
            rate,
            noise_shape: None,
            rng: RefCell::new(next_rng()),
        }
    }

    /// Draws the mask on `noise_shape` (batch axis included, as in Keras) and broadcasts it.
    pub fn with_noise_shape(mut self, noise_shape: &[Option<usize>]) -> Self {
        self.noise_shape = Some(noise_shape.to_vec());
        self
    }

    /// The mask's shape for an input of `shape` (batch included).
    fn mask_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let Some(noise) = &self.noise_shape else {
            return Ok(shape.to_vec());
        };
        let bad = || {
            NnError::layer(
                "Dropout",
                format!("noise_shape {noise:?} does not fit inputs of shape {shape:?} (each entry must be None, 1 or the input's size)"),
            )
        };
        if noise.len() != shape.len() {
            return Err(bad());
        }
        noise
            .iter()
            .zip(shape)
            .map(|(n, &d)| match *n {
                None => Ok(d),
                Some(m) if m == 1 || m == d => Ok(m),
                Some(_) => Err(bad()),
            })
            .collect()
    }
}

impl Layer for Dropout {
    fn config(&self) -> serde_json::Value {
        serde_json::json!({"rate": self.rate, "seed": null, "noise_shape": self.noise_shape})
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
        // The batch size is unknown here; any size fits an entry of None or 1.
        let mut full = vec![1];
        full.extend_from_slice(input_shape);
        self.mask_shape(&full)?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !training || self.rate == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let shape = self.mask_shape(&x.shape())?;
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
        let noise_shape = match c.value("noise_shape") {
            None => None,
            Some(v) => Some(noise_shape_from_json(v)?),
        };
        c.finish()?;
        let mut layer = Dropout::new(rate);
        layer.noise_shape = noise_shape;
        Ok(layer)
    }
}

/// Keras's noise_shape: a list of positive integers and nulls.
fn noise_shape_from_json(v: &serde_json::Value) -> Result<Vec<Option<usize>>> {
    let bad = || {
        NnError::layer(
            "Dropout",
            format!(
                "argument `noise_shape`: expected a list of positive integers and nulls, got {v}"
            ),
        )
    };
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|d| match d {
            serde_json::Value::Null => Ok(None),
            d => d
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| Some(n as usize))
                .ok_or_else(bad),
        })
        .collect()
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

    #[test]
    fn noise_shape_drops_whole_samples_and_round_trips_through_the_config() {
        let mut d = Dropout::new(0.5).with_noise_shape(&[None, Some(1), Some(1)]);
        d.build(&[3, 5]).unwrap();
        let x = Var::constant(Tensor::ones([64, 3, 5]));
        let y = d.forward(&x, true).unwrap().value();
        let mut dropped = 0;
        for sample in y.as_slice().chunks(15) {
            assert!(sample.iter().all(|&v| v == sample[0]), "{sample:?}");
            assert!(sample[0] == 0.0 || (sample[0] - 2.0).abs() < 1e-6);
            dropped += usize::from(sample[0] == 0.0);
        }
        assert!((12..=52).contains(&dropped), "dropped {dropped} of 64");
        let back = Dropout::from_config(&d.config()).unwrap();
        assert_eq!(back.noise_shape, Some(vec![None, Some(1), Some(1)]));
        assert_eq!(back.config(), d.config());
    }

    #[test]
    fn noise_shape_that_does_not_fit_the_input_is_refused_at_build() {
        let mut d = Dropout::new(0.5).with_noise_shape(&[None, Some(2)]);
        let err = d.build(&[3]).unwrap_err().to_string();
        assert!(err.contains("noise_shape"), "{err}");
        let mut d = Dropout::new(0.5).with_noise_shape(&[None, Some(1)]);
        assert!(d.build(&[3, 4]).is_err());
    }
}
