//! `Adagrad` as Keras 3 implements it: a ← a + g², starting from `initial_accumulator_value`
//! (0.1), and w ← w − lr·g / √(a + ε) — ε inside the square root.

use super::adam::check_epsilon;
use super::base::{BaseArguments, BaseOptimizer};
use super::keras_config::{json_f32, ConfigReader};
use super::state::{load_slots, OptimizerState, Slot};
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use serde_json::Value;

/// Keras's `Adagrad` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct AdagradConfig {
    /// Default 0.001.
    pub learning_rate: LearningRate,
    /// Starting value of the accumulated squared gradients; default 0.1.
    pub initial_accumulator_value: f32,
    /// Added to the accumulator inside the square root; default 1e-7.
    pub epsilon: f32,
    /// Decoupled weight decay `w ← w − w·wd·lr` before each update; default None.
    pub weight_decay: Option<f32>,
    /// Scale each gradient to norm at most this; default None.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to [−clipvalue, clipvalue]; default None.
    pub clipvalue: Option<f32>,
    /// Scale all gradients together to a global norm at most this; default None.
    pub global_clipnorm: Option<f32>,
}

impl Default for AdagradConfig {
    fn default() -> Self {
        AdagradConfig {
            learning_rate: LearningRate::Constant(1e-3),
            initial_accumulator_value: 0.1,
            epsilon: 1e-7,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Adagrad {
    base: BaseOptimizer,
    initial_accumulator_value: f32,
    epsilon: f32,
    accumulator: Slot,
}

impl Adagrad {
    /// Adagrad with a constant learning rate and Keras's other defaults.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Adagrad::with_config(AdagradConfig {
            learning_rate: learning_rate.into(),
            ..AdagradConfig::default()
        })
    }

    pub fn with_config(c: AdagradConfig) -> Result<Self> {
        let initial = c.initial_accumulator_value;
        if !(initial.is_finite() && initial >= 0.0) {
            return Err(NnError::argument(
                "initial_accumulator_value",
                format!("must be a finite number >= 0, got {initial}"),
            ));
        }
        check_epsilon(c.epsilon)?;
        Ok(Adagrad {
            base: BaseOptimizer::new(
                c.learning_rate,
                c.weight_decay,
                c.clipnorm,
                c.clipvalue,
                c.global_clipnorm,
            )?,
            initial_accumulator_value: initial,
            epsilon: c.epsilon,
            accumulator: Slot::new("accumulator", initial),
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Adagrad", config)?;
        let defaults = AdagradConfig::default();
        let base = BaseArguments::read(&mut c, &defaults.learning_rate)?;
        let adagrad = Adagrad::with_config(AdagradConfig {
            initial_accumulator_value: c.f32_or(
                "initial_accumulator_value",
                defaults.initial_accumulator_value,
            )?,
            epsilon: c.f32_or("epsilon", defaults.epsilon)?,
            learning_rate: base.learning_rate,
            weight_decay: base.weight_decay,
            clipnorm: base.clipnorm,
            clipvalue: base.clipvalue,
            global_clipnorm: base.global_clipnorm,
        })?;
        c.finish()?;
        Ok(adagrad)
    }
}

impl Optimizer for Adagrad {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        let Some(grads) = self.base.gradients(params)? else {
            return Ok(());
        };
        self.accumulator.prepare("adagrad", &grads)?;
        let lr = self.base.current_learning_rate();
        self.base.apply_weight_decay(params, &grads, lr)?;
        let eps = self.epsilon;
        let rule = Update::Adagrad { lr, epsilon: eps };
        for (i, g) in &grads {
            let a = self.accumulator.values_mut(*i);
            params[*i].update_value(|w| apply_update(&rule, w, g, &mut [a]))?;
        }
        self.base.iterations += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f32 {
        self.base.current_learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.base.learning_rate = LearningRate::Constant(lr);
    }

    fn class_name(&self) -> &'static str {
        "Adagrad"
    }

    fn iterations(&self) -> u64 {
        self.base.iterations
    }

    fn config(&self) -> Value {
        let mut config = self.base.keras_config("adagrad");
        config.insert(
            "initial_accumulator_value".into(),
            json_f32(self.initial_accumulator_value),
        );
        config.insert("epsilon".into(), json_f32(self.epsilon));
        Value::Object(config)
    }

    fn state(&self) -> OptimizerState {
        let mut variables = Vec::new();
        self.accumulator.export("adagrad", &mut variables);
        OptimizerState {
            iterations: self.base.iterations,
            variables,
        }
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        load_slots(
            "adagrad",
            &mut [&mut self.accumulator],
            &state.variables,
            params,
        )?;
        self.base.iterations = state.iterations;
        Ok(())
    }
}
