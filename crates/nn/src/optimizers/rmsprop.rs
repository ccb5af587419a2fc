//! `RMSprop` as Keras 3 implements it: v ← ρ·v + (1 − ρ)·g²; Δ = lr·g / √(v + ε) — ε sits
//! inside the square root — or, when centered, Δ = lr·g / √(v − ḡ² + ε) with ḡ the running mean
//! of g; with momentum, s ← momentum·s + Δ and w ← w − s, else w ← w − Δ.

use super::adam::check_epsilon;
use super::base::{keras_one_minus, BaseArguments, BaseOptimizer};
use super::keras_config::{json_f32, ConfigReader};
use super::state::{load_slots, OptimizerState, Slot};
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use serde_json::{json, Value};

/// Keras's `RMSprop` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct RMSpropConfig {
    /// Default 0.001.
    pub learning_rate: LearningRate,
    /// Decay of the running mean of g²; default 0.9.
    pub rho: f32,
    /// Default 0 (no momentum buffer).
    pub momentum: f32,
    /// Added to the running mean of g² inside the square root; default 1e-7.
    pub epsilon: f32,
    /// Normalize by the estimated variance of g instead of its second moment; default false.
    pub centered: bool,
    /// Decoupled weight decay `w ← w − w·wd·lr` before each update; default None.
    pub weight_decay: Option<f32>,
    /// Scale each gradient to norm at most this; default None.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to [−clipvalue, clipvalue]; default None.
    pub clipvalue: Option<f32>,
    /// Scale all gradients together to a global norm at most this; default None.
    pub global_clipnorm: Option<f32>,
}

impl Default for RMSpropConfig {
    fn default() -> Self {
        RMSpropConfig {
            learning_rate: LearningRate::Constant(1e-3),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RMSprop {
    base: BaseOptimizer,
    rho: f32,
    momentum: f32,
    epsilon: f32,
    centered: bool,
    velocity: Slot,
    momentum_buffer: Slot,
    average_gradient: Slot,
}

impl RMSprop {
    /// RMSprop with a constant learning rate and Keras's other defaults.
    pub fn new(learning_rate: f32) -> Result<Self> {
        RMSprop::with_config(RMSpropConfig {
            learning_rate: learning_rate.into(),
            ..RMSpropConfig::default()
        })
    }

    pub fn with_config(c: RMSpropConfig) -> Result<Self> {
        if !(0.0..1.0).contains(&c.rho) {
            return Err(NnError::argument(
                "rho",
                format!("must be in [0, 1), got {}", c.rho),
            ));
        }
        if !(0.0..=1.0).contains(&c.momentum) {
            return Err(NnError::argument(
                "momentum",
                format!("must be in [0, 1], got {}", c.momentum),
            ));
        }
        check_epsilon(c.epsilon)?;
        Ok(RMSprop {
            base: BaseOptimizer::new(
                c.learning_rate,
                c.weight_decay,
                c.clipnorm,
                c.clipvalue,
                c.global_clipnorm,
            )?,
            rho: c.rho,
            momentum: c.momentum,
            epsilon: c.epsilon,
            centered: c.centered,
            velocity: Slot::new("velocity", 0.0),
            momentum_buffer: Slot::new("momentum", 0.0),
            average_gradient: Slot::new("average_gradient", 0.0),
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("RMSprop", config)?;
        let defaults = RMSpropConfig::default();
        let base = BaseArguments::read(&mut c, &defaults.learning_rate)?;
        let rmsprop = RMSprop::with_config(RMSpropConfig {
            rho: c.f32_or("rho", defaults.rho)?,
            momentum: c.f32_or("momentum", defaults.momentum)?,
            epsilon: c.f32_or("epsilon", defaults.epsilon)?,
            centered: c.bool_or("centered", defaults.centered)?,
            learning_rate: base.learning_rate,
            weight_decay: base.weight_decay,
            clipnorm: base.clipnorm,
            clipvalue: base.clipvalue,
            global_clipnorm: base.global_clipnorm,
        })?;
        c.finish()?;
        Ok(rmsprop)
    }

    /// Keras creates the momentum buffer only for momentum > 0 and the average gradient only
    /// when centered.
    fn slots(&mut self) -> Vec<&mut Slot> {
        let mut slots = vec![&mut self.velocity];
        if self.momentum > 0.0 {
            slots.push(&mut self.momentum_buffer);
        }
        if self.centered {
            slots.push(&mut self.average_gradient);
        }
        slots
    }
}

impl Optimizer for RMSprop {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        let Some(grads) = self.base.gradients(params)? else {
            return Ok(());
        };
        for slot in self.slots() {
            slot.prepare("rmsprop", &grads)?;
        }
        let lr = self.base.current_learning_rate();
        self.base.apply_weight_decay(params, &grads, lr)?;

        let (rho, momentum, eps) = (self.rho, self.momentum, self.epsilon);
        let one_minus_rho = keras_one_minus(rho);
        let rule = Update::RmsProp {
            lr,
            rho,
            one_minus_rho,
            epsilon: eps,
            momentum,
            centered: self.centered,
        };
        for (i, g) in &grads {
            let mut slots = vec![self.velocity.values_mut(*i)];
            if momentum > 0.0 {
                slots.push(self.momentum_buffer.values_mut(*i));
            }
            if self.centered {
                slots.push(self.average_gradient.values_mut(*i));
            }
            params[*i].update_value(|w| apply_update(&rule, w, g, &mut slots))?;
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
        "RMSprop"
    }

    fn iterations(&self) -> u64 {
        self.base.iterations
    }

    fn config(&self) -> Value {
        let mut config = self.base.keras_config("rmsprop");
        config.insert("rho".into(), json_f32(self.rho));
        config.insert("momentum".into(), json_f32(self.momentum));
        config.insert("epsilon".into(), json_f32(self.epsilon));
        config.insert("centered".into(), json!(self.centered));
        Value::Object(config)
    }

    fn state(&self) -> OptimizerState {
        let mut variables = Vec::new();
        self.velocity.export("rmsprop", &mut variables);
        if self.momentum > 0.0 {
            self.momentum_buffer.export("rmsprop", &mut variables);
        }
        if self.centered {
            self.average_gradient.export("rmsprop", &mut variables);
        }
        OptimizerState {
            iterations: self.base.iterations,
            variables,
        }
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        load_slots("rmsprop", &mut self.slots(), &state.variables, params)?;
        self.base.iterations = state.iterations;
        Ok(())
    }
}
