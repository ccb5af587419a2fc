//! What every Keras optimizer inherits from `BaseOptimizer`: the learning rate (or schedule),
//! gradient clipping, decoupled weight decay and the iteration count, with Keras's order of
//! operations in one step.

use super::keras_config::{json_option_f32, ConfigReader};
use crate::schedules::LearningRate;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use krust_tensor::Tensor;
use serde_json::{json, Map, Value};

/// The Keras base-class arguments of one optimizer, validated, plus its iteration count.
#[derive(Debug, Clone)]
pub(crate) struct BaseOptimizer {
    pub learning_rate: LearningRate,
    pub weight_decay: Option<f32>,
    pub clipnorm: Option<f32>,
    pub clipvalue: Option<f32>,
    pub global_clipnorm: Option<f32>,
    /// Completed steps; a schedule is evaluated here, so the first update uses step 0.
    pub iterations: u64,
}

fn check_positive(argument: &str, value: Option<f32>) -> Result<()> {
    match value {
        Some(x) if !(x.is_finite() && x > 0.0) => Err(NnError::argument(
            argument,
            format!("must be a positive number, got {x}"),
        )),
        _ => Ok(()),
    }
}

impl BaseOptimizer {
    pub fn new(
        learning_rate: LearningRate,
        weight_decay: Option<f32>,
        clipnorm: Option<f32>,
        clipvalue: Option<f32>,
        global_clipnorm: Option<f32>,
    ) -> Result<Self> {
        learning_rate.validate()?;
        if let Some(wd) = weight_decay {
            if !(wd.is_finite() && wd >= 0.0) {
                return Err(NnError::argument(
                    "weight_decay",
                    format!("must be a finite number >= 0, got {wd}"),
                ));
            }
        }
        // Keras silently ignores a clip value <= 0; a clear error serves better.
        check_positive("clipnorm", clipnorm)?;
        check_positive("clipvalue", clipvalue)?;
        check_positive("global_clipnorm", global_clipnorm)?;
        let set = [clipnorm, clipvalue, global_clipnorm]
            .iter()
            .filter(|c| c.is_some())
            .count();
        if set > 1 {
            return Err(NnError::argument(
                "clipnorm",
                format!(
                    "only one of clipnorm, clipvalue and global_clipnorm can be set, got \
                     clipnorm={clipnorm:?}, clipvalue={clipvalue:?}, \
                     global_clipnorm={global_clipnorm:?}"
                ),
            ));
        }
        Ok(BaseOptimizer {
            learning_rate,
            weight_decay,
            clipnorm,
            clipvalue,
            global_clipnorm,
            iterations: 0,
        })
    }

    /// The rate this step uses: a schedule's value at the current iteration count.
    pub fn current_learning_rate(&self) -> f32 {
        self.learning_rate.at(self.iterations)
    }

    /// The gradients this step applies, as (parameter index, gradient), clipped as configured.
    /// Like Keras's `apply`, parameters without a gradient are left out (and untouched), no
    /// parameters at all is a no-op (`Ok(None)`), and parameters none of which has a gradient
    /// is an error.
    pub fn gradients(&self, params: &[Var]) -> Result<Option<Vec<(usize, Tensor)>>> {
        if params.is_empty() {
            return Ok(None);
        }
        let mut grads: Vec<(usize, Tensor)> = params
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.grad().map(|g| (i, g)))
            .collect();
        if grads.is_empty() {
            return Err(NnError::argument(
                "gradients",
                "no parameter has a gradient: run backward() on the loss before step()",
            ));
        }
        if let Some(c) = self.clipnorm {
            for (_, g) in &mut grads {
                clip_by_norm(g, c);
            }
        } else if let Some(c) = self.global_clipnorm {
            clip_by_global_norm(&mut grads, c);
        } else if let Some(c) = self.clipvalue {
            for (_, g) in &mut grads {
                g.clamp_inplace(-c, c);
            }
        }
        Ok(Some(grads))
    }

    /// Decoupled weight decay, before the update and with this step's rate, as Keras applies
    /// it for every optimizer: w ← w − w·wd·lr (only to parameters that have a gradient).
    pub fn apply_weight_decay(
        &self,
        params: &[Var],
        grads: &[(usize, Tensor)],
        lr: f32,
    ) -> Result<()> {
        let Some(wd) = self.weight_decay else {
            return Ok(());
        };
        let rule = Update::WeightDecay { factor: wd * lr };
        for (i, g) in grads {
            params[*i].update_value(|w| apply_update(&rule, w, g, &mut []))?;
        }
        Ok(())
    }

    /// The base part of Keras's `get_config()`. EMA, loss scaling and gradient accumulation
    /// are not implemented, so they always hold Keras's defaults.
    pub fn keras_config(&self, name: &str) -> Map<String, Value> {
        let config = json!({
            "name": name,
            "learning_rate": self.learning_rate.to_json(),
            "weight_decay": json_option_f32(self.weight_decay),
            "clipnorm": json_option_f32(self.clipnorm),
            "global_clipnorm": json_option_f32(self.global_clipnorm),
            "clipvalue": json_option_f32(self.clipvalue),
            "use_ema": false,
            "ema_momentum": 0.99,
            "ema_overwrite_frequency": null,
            "loss_scale_factor": null,
            "gradient_accumulation_steps": null,
        });
        match config {
            Value::Object(map) => map,
            _ => unreachable!("json! of an object literal is an object"),
        }
    }
}

/// The base arguments read from a Keras optimizer config.
pub(crate) struct BaseArguments {
    pub learning_rate: LearningRate,
    pub weight_decay: Option<f32>,
    pub clipnorm: Option<f32>,
    pub clipvalue: Option<f32>,
    pub global_clipnorm: Option<f32>,
}

impl BaseArguments {
    /// Reads the base-class keys; `default_learning_rate` is the optimizer's own default
    /// (from its config's `Default`).
    pub fn read(c: &mut ConfigReader, default_learning_rate: &LearningRate) -> Result<Self> {
        c.ignore("name");
        let learning_rate = match c.value("learning_rate") {
            None => default_learning_rate.clone(),
            Some(v) => LearningRate::from_json(v)?,
        };
        let args = BaseArguments {
            learning_rate,
            weight_decay: c.f32_option("weight_decay")?,
            clipnorm: c.f32_option("clipnorm")?,
            clipvalue: c.f32_option("clipvalue")?,
            global_clipnorm: c.f32_option("global_clipnorm")?,
        };
        c.only_default("use_ema", json!(false))?;
        // Only read by Keras when use_ema is on.
        c.ignore("ema_momentum");
        c.only_default("ema_overwrite_frequency", Value::Null)?;
        c.only_default("loss_scale_factor", Value::Null)?;
        c.only_default("gradient_accumulation_steps", Value::Null)?;
        // Keras 3 warns that `decay` is no longer supported and ignores it.
        c.only_default("decay", Value::Null)?;
        Ok(args)
    }
}

/// Keras's `clipnorm`: each gradient scaled by c / max(‖g‖, c), so its norm is at most c.
fn clip_by_norm(g: &mut Tensor, c: f32) {
    let norm = g.sum_of_squares().sqrt() as f32;
    g.scale_ratio_inplace(c, norm.max(c));
}

/// Keras's `global_clipnorm`: all gradients scaled by c · min(1/‖g‖, 1/c), where ‖g‖ is the
/// norm of all of them together. As in Keras, a non-finite norm turns every gradient to NaN
/// rather than hiding the divergence.
fn clip_by_global_norm(grads: &mut [(usize, Tensor)], c: f32) {
    let norm = grads
        .iter()
        .map(|(_, g)| g.sum_of_squares())
        .sum::<f64>()
        .sqrt() as f32;
    // Keras adds (norm − norm) to the scale, which is 0 for a finite norm and NaN otherwise.
    let scale = if norm.is_finite() {
        c * (1.0 / norm).min(1.0 / c)
    } else {
        f32::NAN
    };
    for (_, g) in grads {
        g.scale_inplace(scale);
    }
}

/// 1 − x as Keras computes it for Adam's and RMSprop's moment updates: in Python float64 from
/// the argument as written (0.999, not its float32 0.99900001), then rounded to float32. It
/// gives 0.001 where float32 arithmetic gives 0.00099998713, a 1.3e-5 relative difference
/// in every second-moment update.
pub(crate) fn keras_one_minus(x: f32) -> f32 {
    let as_written: f64 = x.to_string().parse().unwrap_or(x as f64);
    (1.0 - as_written) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grads(values: &[&[f32]]) -> Vec<(usize, Tensor)> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i, Tensor::from_vec([v.len()], v.to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn clipnorm_scales_each_gradient_to_the_norm_and_leaves_small_ones() {
        let mut g = grads(&[&[3.0, 4.0], &[0.3, 0.4]]);
        for (_, t) in &mut g {
            clip_by_norm(t, 1.0);
        }
        assert_eq!(g[0].1.to_vec(), vec![0.6, 0.8]);
        assert_eq!(g[1].1.to_vec(), vec![0.3, 0.4]);
    }

    #[test]
    fn global_clipnorm_scales_all_gradients_together() {
        // Global norm √(3² + 4² + 12²) = 13.
        let mut g = grads(&[&[3.0, 4.0], &[12.0]]);
        clip_by_global_norm(&mut g, 6.5);
        assert_eq!(g[0].1.to_vec(), vec![1.5, 2.0]);
        assert_eq!(g[1].1.to_vec(), vec![6.0]);
        let mut small = grads(&[&[0.3], &[0.4]]);
        clip_by_global_norm(&mut small, 1.0);
        assert_eq!(small[1].1.to_vec(), vec![0.4]);
    }

    #[test]
    fn global_clipnorm_of_a_non_finite_gradient_is_nan_as_in_keras() {
        let mut g = grads(&[&[f32::INFINITY], &[1.0]]);
        clip_by_global_norm(&mut g, 1.0);
        assert!(g[1].1.to_vec()[0].is_nan());
    }

    #[test]
    fn one_minus_beta_is_computed_from_the_decimal_argument() {
        assert_eq!(keras_one_minus(0.999), 0.001);
        assert_ne!(1.0 - 0.999f32, 0.001);
        assert_eq!(keras_one_minus(0.9), 0.1);
    }
}
