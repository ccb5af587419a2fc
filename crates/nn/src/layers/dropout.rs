//! `Dropout`: inverted dropout. In training each element is zeroed with probability `rate`
//! and survivors are scaled by 1/(1-rate), so inference is the identity (the weight scaling
//! inference rule folded into training). `noise_shape` shares decisions along axes.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::random::{RandomOp, RandomStream};
use serde::{Deserialize, Serialize};

/// Keras's `Dropout(rate)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Dropout::keras_defaults", deny_unknown_fields)]
pub struct Dropout {
    /// Fraction of inputs dropped, in [0, 1). Keras requires it; a config without it reads
    /// as `0.5` (`Dropout::default`).
    pub rate: f32,
    /// Keras's `noise_shape` (batch axis included): the mask's shape, None entries taking the
    /// input's size, 1 entries sharing one decision along that axis (EfficientNet drops whole
    /// samples with [None, 1, 1, 1]). None: one decision per element. Default `None`.
    #[serde(deserialize_with = "args::whole")]
    pub noise_shape: Option<Vec<Option<usize>>>,
    /// Keras's `seed`: the masks' stream, seeded by it, or (default `None`) keyed from the
    /// thread's generator when the layer is created.
    #[serde(rename = "seed", with = "args::seed")]
    masks: RandomStream,
}

impl Dropout {
    /// Draws the masks from a stream of their own made from `seed` (Keras's `seed`
    /// argument), instead of from the thread's generator.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.masks = RandomStream::seeded(seed);
        self
    }

    /// The mask stream's key is drawn from the thread's seed when the layer is created.
    pub fn new(rate: f32) -> Self {
        Dropout {
            rate,
            ..Self::keras_defaults()
        }
    }

    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Dropout {
            rate: 0.5,
            noise_shape: None,
            masks: RandomStream::new(),
        }
    }

    pub fn with_noise_shape(mut self, noise_shape: &[Option<usize>]) -> Self {
        self.noise_shape = Some(noise_shape.to_vec());
        self
    }
}

/// Rate 0.5: what `from_config` reads a config without `rate` as.
impl Default for Dropout {
    fn default() -> Self {
        Dropout::keras_defaults()
    }
}

/// The mask shape for input `shape` (batch included) under Keras's `noise_shape`.
pub(crate) fn mask_shape(
    layer: &str,
    noise_shape: &Option<Vec<Option<usize>>>,
    shape: &[usize],
) -> Result<Vec<usize>> {
    let Some(noise) = noise_shape else {
        return Ok(shape.to_vec());
    };
    if noise.len() != shape.len() {
        return Err(NnError::argument(
            "noise_shape",
            format!("{layer}: {noise:?} does not have the rank of inputs {shape:?}"),
        ));
    }
    noise
        .iter()
        .zip(shape)
        .map(|(n, &s)| match n {
            None => Ok(s),
            Some(n) if *n == s || *n == 1 => Ok(*n),
            Some(n) => Err(NnError::argument(
                "noise_shape",
                format!("{layer}: size {n} neither 1 nor the input's {s} (inputs {shape:?})"),
            )),
        })
        .collect()
}

impl Layer for Dropout {
    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn random_stream(&self) -> Option<&RandomStream> {
        Some(&self.masks)
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
        let shape = mask_shape("Dropout", &self.noise_shape, &x.shape())?;
        let mask = self.masks.draw(RandomOp::inverted_dropout(keep), &shape);
        Ok(x.mul(&Var::constant(mask))?)
    }
}

impl KerasArgs for Dropout {}

impl Dropout {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Dropout", config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krust_tensor::Tensor;

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
        let kept = y.to_vec().iter().filter(|&&v| v != 0.0).count() as f32 / 4000.0;
        assert!((kept - 0.75).abs() < 0.03, "kept {kept}");
        assert!(y
            .to_vec()
            .iter()
            .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
    }
}
