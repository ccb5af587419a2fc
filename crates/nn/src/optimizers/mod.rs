//! Optimizers with Keras 3's update rules and defaults: SGD, Adam, AdamW, RMSprop, Adagrad and
//! Nadam, each with Keras's gradient clipping (`clipnorm`, `clipvalue`, `global_clipnorm`),
//! decoupled weight decay and learning-rate schedules, and with exportable state for exact
//! resume. State is kept per parameter position, so an optimizer is paired with one model's
//! parameter list.
//!
//! One step runs in Keras's order: drop parameters without a gradient, clip the gradients,
//! apply weight decay `w ← w − w·wd·lr`, apply the optimizer's update rule, count the
//! iteration. The learning rate of a step is the schedule's value at the iteration count
//! before the step (0 for the first).
//!
//! ```
//! use krust_nn::optimizers::{from_config, Adam, AdamConfig, Optimizer};
//!
//! let adam = Adam::with_config(AdamConfig { amsgrad: true, clipnorm: Some(1.0), ..Default::default() })?;
//! let config = adam.config(); // Keras's get_config(): {"learning_rate": 0.001, "amsgrad": true, ...}
//! let again = from_config("Adam", &config)?;
//! assert_eq!(again.config(), config);
//! # Ok::<(), krust_nn::NnError>(())
//! ```

mod adagrad;
mod adam;
mod adamw;
mod base;
pub(crate) mod keras_config;
mod nadam;
mod rmsprop;
mod sgd;
mod state;

pub use crate::schedules::LearningRate;
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamw::{AdamW, AdamWConfig};
pub use nadam::{Nadam, NadamConfig};
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimizerState;

use crate::{NnError, Result};
use krust_autograd::Var;
use serde_json::Value;

pub trait Optimizer {
    /// Applies one update from the parameters' accumulated gradients. Parameters without a
    /// gradient are left alone (and their state too); if none has one, it is an error, as in
    /// Keras. An empty parameter list is a no-op.
    fn step(&mut self, params: &[Var]) -> Result<()>;
    /// The learning rate the next step will use (a schedule's value at [`Optimizer::iterations`]).
    fn learning_rate(&self) -> f32;
    /// Sets a constant learning rate from now on, replacing a schedule if there was one (Keras
    /// refuses to set the rate of an optimizer built with a schedule).
    fn set_learning_rate(&mut self, lr: f32);
    /// Keras's class name: "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" or "Nadam".
    fn class_name(&self) -> &'static str;
    /// Steps taken so far.
    fn iterations(&self) -> u64;
    /// Keras's `get_config()`: every constructor argument under its Keras name, the learning
    /// rate as a number or a serialized schedule. [`from_config`] reads it back.
    fn config(&self) -> Value;
    /// The iteration count and every state buffer, for saving.
    fn state(&self) -> OptimizerState;
    /// Restores a saved state (from an optimizer built with the same config) for the
    /// parameter list `params`, checking every name and shape first: on error nothing changes.
    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()>;
}

/// Builds an optimizer from its Keras class name (case-insensitive, as `keras.optimizers.get`)
/// and `get_config()` dictionary; `{}` gives Keras's defaults.
pub fn from_config(class_name: &str, config: &Value) -> Result<Box<dyn Optimizer>> {
    Ok(match class_name.to_ascii_lowercase().as_str() {
        "sgd" => Box::new(Sgd::from_keras_config(config)?),
        "adam" => Box::new(Adam::from_keras_config(config)?),
        "adamw" => Box::new(AdamW::from_keras_config(config)?),
        "rmsprop" => Box::new(RMSprop::from_keras_config(config)?),
        "adagrad" => Box::new(Adagrad::from_keras_config(config)?),
        "nadam" => Box::new(Nadam::from_keras_config(config)?),
        _ => {
            return Err(NnError::argument(
                "optimizer",
                format!(
                    "unknown optimizer {class_name:?}; krust has SGD, Adam, AdamW, RMSprop, \
                     Adagrad and Nadam"
                ),
            ))
        }
    })
}

/// Keras's `keras.optimizers.serialize`: `{"module", "class_name", "config", "registered_name"}`.
pub fn serialize(optimizer: &dyn Optimizer) -> Value {
    keras_config::keras_object(
        "keras.optimizers",
        optimizer.class_name(),
        optimizer.config(),
    )
}

/// Keras's `keras.optimizers.deserialize` (or `get` with a bare name such as `"adam"`).
pub fn deserialize(value: &Value) -> Result<Box<dyn Optimizer>> {
    let (class, config) = keras_config::class_and_config("optimizer", value)?;
    from_config(class, &config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use krust_tensor::Tensor;

    fn quadratic_descent(opt: &mut dyn Optimizer, steps: usize) -> f32 {
        // Minimize (w - 3)²: gradient 2(w - 3).
        let w = Var::parameter(Tensor::from_vec([1], vec![0.0]).unwrap());
        for _ in 0..steps {
            let three = Var::constant(Tensor::from_vec([1], vec![3.0]).unwrap());
            w.sub(&three)
                .unwrap()
                .square()
                .sum()
                .unwrap()
                .backward()
                .unwrap();
            opt.step(std::slice::from_ref(&w)).unwrap();
            w.zero_grad();
        }
        w.value().to_vec()[0]
    }

    #[test]
    fn every_optimizer_converges_on_a_quadratic() {
        let near_three = |opt: &mut dyn Optimizer, steps, tol: f32| {
            let w = quadratic_descent(opt, steps);
            assert!((w - 3.0).abs() < tol, "{} ended at {w}", opt.class_name());
        };
        near_three(&mut Sgd::new(0.1, 0.0, false).unwrap(), 100, 1e-3);
        near_three(&mut Sgd::new(0.05, 0.9, true).unwrap(), 300, 1e-3);
        near_three(&mut Adam::new(0.1).unwrap(), 500, 1e-2);
        near_three(&mut AdamW::new(0.1).unwrap(), 500, 5e-2);
        near_three(&mut RMSprop::new(0.01).unwrap(), 1000, 2e-2);
        near_three(&mut Adagrad::new(0.5).unwrap(), 1000, 1e-2);
        near_three(&mut Nadam::new(0.1).unwrap(), 500, 1e-2);
    }

    #[test]
    fn adam_first_step_moves_by_learning_rate() {
        // With bias correction the first Adam step is lr·sign(g) (up to ε).
        let w = Var::parameter(Tensor::from_vec([2], vec![1.0, 1.0]).unwrap());
        w.mul_scalar(5.0).sum().unwrap().backward().unwrap();
        Adam::new(0.01)
            .unwrap()
            .step(std::slice::from_ref(&w))
            .unwrap();
        for v in w.value().to_vec() {
            assert!((v - 0.99).abs() < 1e-6);
        }
    }

    #[test]
    fn non_positive_learning_rate_is_rejected() {
        assert!(Adam::new(0.0).is_err());
        assert!(Sgd::new(-1.0, 0.0, false).is_err());
        assert!(Sgd::new(0.1, 1.5, false).is_err());
    }
}
