//! `Adam` as Keras 3 implements it: the bias correction is folded into the step size,
//! α = lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ), and ε is added to √v (not √v̂), with ε = 1e-7 by default;
//! `amsgrad` divides by the running maximum of v instead.

use super::base::{keras_one_minus, BaseArguments, BaseOptimizer};
use super::keras_config::{json_f32, ConfigReader};
use super::state::{load_slots, OptimizerState, Slot};
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use serde_json::{json, Value};

/// Keras's `Adam` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct AdamConfig {
    /// Default 0.001.
    pub learning_rate: LearningRate,
    /// Decay of the first moment; default 0.9.
    pub beta_1: f32,
    /// Decay of the second moment; default 0.999.
    pub beta_2: f32,
    /// Added to √v; default 1e-7.
    pub epsilon: f32,
    /// Divide by the running maximum of v (AMSGrad); default false.
    pub amsgrad: bool,
    /// Decoupled weight decay `w ← w − w·wd·lr` before each update; default None.
    pub weight_decay: Option<f32>,
    /// Scale each gradient to norm at most this; default None.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to [−clipvalue, clipvalue]; default None.
    pub clipvalue: Option<f32>,
    /// Scale all gradients together to a global norm at most this; default None.
    pub global_clipnorm: Option<f32>,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig {
            learning_rate: LearningRate::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            amsgrad: false,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Adam {
    base: BaseOptimizer,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    amsgrad: bool,
    momentum: Slot,
    velocity: Slot,
    velocity_hat: Slot,
    /// "Adam", or "AdamW" when [`super::AdamW`] wraps this one.
    class_name: &'static str,
}

pub(crate) fn check_beta(argument: &str, beta: f32) -> Result<()> {
    if !(0.0..1.0).contains(&beta) {
        return Err(NnError::argument(
            argument,
            format!("must be in [0, 1), got {beta}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_epsilon(epsilon: f32) -> Result<()> {
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(NnError::argument(
            "epsilon",
            format!("must be a finite number >= 0, got {epsilon}"),
        ));
    }
    Ok(())
}

impl Adam {
    /// Adam with a constant learning rate and Keras's other defaults.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Adam::with_config(AdamConfig {
            learning_rate: learning_rate.into(),
            ..AdamConfig::default()
        })
    }

    pub fn with_config(c: AdamConfig) -> Result<Self> {
        Adam::build(c, "Adam")
    }

    pub(crate) fn build(c: AdamConfig, class_name: &'static str) -> Result<Self> {
        check_beta("beta_1", c.beta_1)?;
        check_beta("beta_2", c.beta_2)?;
        check_epsilon(c.epsilon)?;
        Ok(Adam {
            base: BaseOptimizer::new(
                c.learning_rate,
                c.weight_decay,
                c.clipnorm,
                c.clipvalue,
                c.global_clipnorm,
            )?,
            beta_1: c.beta_1,
            beta_2: c.beta_2,
            epsilon: c.epsilon,
            amsgrad: c.amsgrad,
            momentum: Slot::new("momentum", 0.0),
            velocity: Slot::new("velocity", 0.0),
            velocity_hat: Slot::new("velocity_hat", 0.0),
            class_name,
        })
    }

    /// Reads the config of Keras's `Adam` (or `AdamW`), each absent argument taking its value
    /// from `defaults` (the optimizer's own: AdamW's weight decay is 0.004).
    pub(crate) fn read_keras_config(
        c: &mut ConfigReader,
        defaults: AdamConfig,
    ) -> Result<AdamConfig> {
        let base = BaseArguments::read(c, &defaults.learning_rate)?;
        Ok(AdamConfig {
            beta_1: c.f32_or("beta_1", defaults.beta_1)?,
            beta_2: c.f32_or("beta_2", defaults.beta_2)?,
            epsilon: c.f32_or("epsilon", defaults.epsilon)?,
            amsgrad: c.bool_or("amsgrad", defaults.amsgrad)?,
            learning_rate: base.learning_rate,
            weight_decay: base.weight_decay.or(defaults.weight_decay),
            clipnorm: base.clipnorm,
            clipvalue: base.clipvalue,
            global_clipnorm: base.global_clipnorm,
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Adam", config)?;
        let adam = Adam::with_config(Adam::read_keras_config(&mut c, AdamConfig::default())?)?;
        c.finish()?;
        Ok(adam)
    }

    fn prefix(&self) -> &'static str {
        match self.class_name {
            "AdamW" => "adamw",
            _ => "adam",
        }
    }

    fn slots(&mut self) -> Vec<&mut Slot> {
        let mut slots = vec![&mut self.momentum, &mut self.velocity];
        if self.amsgrad {
            slots.push(&mut self.velocity_hat);
        }
        slots
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        let Some(grads) = self.base.gradients(params)? else {
            return Ok(());
        };
        let prefix = self.prefix();
        for slot in self.slots() {
            slot.prepare(prefix, &grads)?;
        }
        let lr = self.base.current_learning_rate();
        self.base.apply_weight_decay(params, &grads, lr)?;

        // In float32 and in Keras's order, so that the rounding of 1 − β₂ᵗ (large relative
        // to the result for small t) matches Keras's.
        let t = (self.base.iterations + 1) as f32;
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let alpha = lr * (1.0 - b2.powf(t)).sqrt() / (1.0 - b1.powf(t));
        let (one_minus_b1, one_minus_b2) = (keras_one_minus(b1), keras_one_minus(b2));
        let rule = Update::Adam {
            alpha,
            one_minus_beta_1: one_minus_b1,
            one_minus_beta_2: one_minus_b2,
            epsilon: eps,
            amsgrad: self.amsgrad,
        };
        for (i, g) in &grads {
            let m = self.momentum.values_mut(*i);
            let v = self.velocity.values_mut(*i);
            if self.amsgrad {
                let v_hat = self.velocity_hat.values_mut(*i);
                params[*i].update_value(|w| apply_update(&rule, w, g, &mut [m, v, v_hat]))?;
            } else {
                params[*i].update_value(|w| apply_update(&rule, w, g, &mut [m, v]))?;
            }
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
        self.class_name
    }

    fn iterations(&self) -> u64 {
        self.base.iterations
    }

    fn config(&self) -> Value {
        let mut config = self.base.keras_config(self.prefix());
        config.insert("beta_1".into(), json_f32(self.beta_1));
        config.insert("beta_2".into(), json_f32(self.beta_2));
        config.insert("epsilon".into(), json_f32(self.epsilon));
        config.insert("amsgrad".into(), json!(self.amsgrad));
        Value::Object(config)
    }

    fn state(&self) -> OptimizerState {
        let prefix = self.prefix();
        let mut variables = Vec::new();
        self.momentum.export(prefix, &mut variables);
        self.velocity.export(prefix, &mut variables);
        if self.amsgrad {
            self.velocity_hat.export(prefix, &mut variables);
        }
        OptimizerState {
            iterations: self.base.iterations,
            variables,
        }
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        let prefix = self.prefix();
        load_slots(prefix, &mut self.slots(), &state.variables, params)?;
        self.base.iterations = state.iterations;
        Ok(())
    }
}
