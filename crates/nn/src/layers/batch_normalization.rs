//! `BatchNormalization`, as Keras: in training, each feature of `axis` is normalized with the
//! batch's mean and (biased) variance and the moving statistics are updated as
//! moving = moving · momentum + batch · (1 - momentum); in inference the moving statistics
//! are used. Keras's defaults are on the fields.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::inference::{BatchNormStats, InferenceRole};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Keras's `BatchNormalization()`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "BatchNormalization::keras_defaults", deny_unknown_fields)]
pub struct BatchNormalization {
    /// The feature axis, counted on the full shape (batch axis 0). Default `-1`.
    pub axis: isize,
    /// Default `0.99`.
    pub momentum: f32,
    /// Default `1e-3`.
    pub epsilon: f32,
    /// Learn an offset beta. Default `true`.
    pub center: bool,
    /// Learn a scale gamma. Default `true`.
    pub scale: bool,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub beta_initializer: Initializer,
    /// Default `"ones"`.
    #[serde(with = "args::initializer")]
    pub gamma_initializer: Initializer,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub moving_mean_initializer: Initializer,
    /// Default `"ones"`.
    #[serde(with = "args::initializer")]
    pub moving_variance_initializer: Initializer,
    /// Regularizers and constraints of gamma and beta, and the activity regularizer
    /// (Keras's gamma_*, beta_*, activity_regularizer).
    #[serde(skip)]
    pub penalties: WeightPenalties,
    /// Keras's synchronized (multi-device) statistics: not supported, `false`.
    synchronized: args::False,
    /// Keras's batch renormalization: not supported, `false`.
    renorm: args::False,
    /// Only meaningful with `renorm`: not supported, `null`.
    renorm_clipping: args::Unset,
    /// Only meaningful with `renorm`: any value is accepted, Keras's default written.
    renorm_momentum: RenormMomentum,
    #[serde(skip)]
    gamma: Option<Var>,
    #[serde(skip)]
    beta: Option<Var>,
    #[serde(skip)]
    moving_mean: Option<Var>,
    #[serde(skip)]
    moving_variance: Option<Var>,
    /// Per-sample input rank, fixed at build.
    #[serde(skip)]
    rank: usize,
}

/// `renorm_momentum`, which only `renorm` (refused) uses: read as any value, written as
/// Keras's default 0.99.
#[derive(Debug, Clone, Copy, Default)]
struct RenormMomentum;

impl Serialize for RenormMomentum {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_f64(0.99)
    }
}

impl<'de> Deserialize<'de> for RenormMomentum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        IgnoredAny::deserialize(d)?;
        Ok(RenormMomentum)
    }
}

/// Keras's defaults.
impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization::keras_defaults()
    }
}

impl BatchNormalization {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            penalties: WeightPenalties::new("BatchNormalization", &["gamma", "beta"]),
            synchronized: args::False,
            renorm: args::False,
            renorm_clipping: args::Unset,
            renorm_momentum: RenormMomentum,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
            rank: 0,
        }
    }

    pub fn new() -> Self {
        BatchNormalization::keras_defaults()
    }

    pub fn with_axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("BatchNormalization", config)
    }

    /// The trainable weights under their Keras argument prefixes, for the penalties.
    fn by_prefix(&self) -> [(&'static str, Option<&Var>); 2] {
        [("gamma", self.gamma.as_ref()), ("beta", self.beta.as_ref())]
    }

    /// The feature axis within the full shape (batch included).
    fn full_axis(&self, rank: usize) -> Result<usize> {
        let full = rank as isize + 1;
        let a = if self.axis < 0 {
            self.axis + full
        } else {
            self.axis
        };
        if a < 1 || a >= full {
            return Err(NnError::layer(
                "BatchNormalization",
                format!(
                    "axis {} is out of range for inputs of rank {full}",
                    self.axis
                ),
            ));
        }
        Ok(a as usize)
    }

    /// Shape that broadcasts per-feature vectors against the full input.
    fn feature_shape(&self, full_rank: usize, axis: usize, features: usize) -> Vec<usize> {
        let mut s = vec![1; full_rank];
        s[axis] = features;
        s
    }
}

impl KerasArgs for BatchNormalization {
    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let axis = self.full_axis(input_shape.len())?;
        let n = input_shape[axis - 1];
        self.rank = input_shape.len();
        let sample = |init: &Initializer, trainable: bool| -> Result<Var> {
            let t = init.try_sample(&[n])?;
            Ok(if trainable {
                Var::parameter(t)
            } else {
                Var::constant(t)
            })
        };
        self.gamma = if self.scale {
            Some(sample(&self.gamma_initializer, true)?)
        } else {
            None
        };
        self.beta = if self.center {
            Some(sample(&self.beta_initializer, true)?)
        } else {
            None
        };
        self.moving_mean = Some(sample(&self.moving_mean_initializer, false)?);
        self.moving_variance = Some(sample(&self.moving_variance_initializer, false)?);
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let (Some(mm), Some(mv)) = (&self.moving_mean, &self.moving_variance) else {
            return Err(NnError::NotBuilt);
        };
        let full_rank = x.shape().len();
        let axis = self.full_axis(full_rank - 1)?;
        let features = x.shape()[axis];
        let fshape = self.feature_shape(full_rank, axis, features);
        let y = if training {
            // One fused op: the composed form (mean, sub, square, mean, div, mul, add) made
            // about a dozen full-size temporaries forward and backward and cost small_cnn most
            // of its step time.
            let out =
                x.batch_norm_training(axis, self.gamma.as_ref(), self.beta.as_ref(), self.epsilon)?;
            // Moving statistics follow the batch, outside the tape.
            let m = self.momentum;
            let blend = |moving: &Var, batch: &[f32]| -> Result<()> {
                let batch = Tensor::from_vec(vec![batch.len()], batch.to_vec())?;
                moving.update_value(|t| {
                    let batch = batch.reshape(t.shape().to_vec())?;
                    t.blend_inplace(&batch, m)
                })?;
                Ok(())
            };
            blend(mm, &out.mean)?;
            blend(mv, &out.variance)?;
            out.y
        } else {
            let mean = Var::constant(mm.value().reshape(fshape.clone())?);
            let var = Var::constant(mv.value().reshape(fshape.clone())?);
            let inv_std = var.add_scalar(self.epsilon).sqrt();
            let mut y = x.sub(&mean)?.div(&inv_std)?;
            if let Some(g) = &self.gamma {
                y = y.mul(&g.reshape(&fshape)?)?;
            }
            if let Some(b) = &self.beta {
                y = y.add(&b.reshape(&fshape)?)?;
            }
            y
        };
        self.penalties.add_losses(&self.by_prefix(), &y, training)?;
        Ok(y)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties.constrain(&self.by_prefix())
    }

    fn inference_role(&self) -> Option<InferenceRole> {
        // Folding scales a convolution's output channels: the normalized axis must be the last.
        if self.full_axis(self.rank).ok()? != self.rank {
            return None;
        }
        Some(InferenceRole::BatchNorm(BatchNormStats {
            moving_mean: self.moving_mean.as_ref()?.value(),
            moving_variance: self.moving_variance.as_ref()?.value(),
            gamma: self.gamma.as_ref().map(Var::value),
            beta: self.beta.as_ref().map(Var::value),
            epsilon: self.epsilon,
        }))
    }

    fn parameters(&self) -> Vec<Var> {
        self.gamma.iter().chain(self.beta.iter()).cloned().collect()
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        let mut w = Vec::new();
        w.extend(self.gamma.iter().map(|v| ("gamma", v.clone())));
        w.extend(self.beta.iter().map(|v| ("beta", v.clone())));
        w.extend(self.moving_mean.iter().map(|v| ("moving_mean", v.clone())));
        w.extend(
            self.moving_variance
                .iter()
                .map(|v| ("moving_variance", v.clone())),
        );
        w
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        4 * output_shape.iter().product::<usize>() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::layer_from_config;
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn batch_normalization_honours_initializers_regularizers_and_constraints() {
        for training_config in [json!({}), json!({"axis": 1, "momentum": 0.5})] {
            check_weight_rules(
                "BatchNormalization",
                training_config,
                &[("gamma", "gamma"), ("beta", "beta")],
                &random(&[4, 3, 2], 1),
            );
        }
    }

    #[test]
    fn moving_statistics_initializers_are_used_and_round_trip() {
        let config = json!({
            "moving_mean_initializer": {"class_name": "Constant", "config": {"value": 0.25}},
            "moving_variance_initializer": {"class_name": "Constant", "config": {"value": 4.0}},
        });
        let mut bn = BatchNormalization::from_config(&config).unwrap();
        bn.build(&[3]).unwrap();
        let again = layer_from_config("BatchNormalization", &bn.config()).unwrap();
        assert_eq!(again.config(), bn.config());
        let w = bn.weights();
        assert_eq!(w[2].0, "moving_mean");
        assert_eq!(w[2].1.value().to_vec(), vec![0.25; 3]);
        assert_eq!(w[3].1.value().to_vec(), vec![4.0; 3]);
        // Inference uses them: (x - 0.25) / sqrt(4 + 1e-3).
        let y = bn
            .forward(
                &Var::constant(krust_tensor::Tensor::full([1, 3], 2.25)),
                false,
            )
            .unwrap();
        let want = 2.0 / (4.0f32 + 1e-3).sqrt();
        assert!(y.value().to_vec().iter().all(|v| (v - want).abs() < 1e-6));
    }
}
