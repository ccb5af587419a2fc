//! `Nadam`: Adam with Nesterov momentum, in Keras 3's form (Dozat 2016) with the momentum
//! schedule μₜ = β₁·(1 − ½·0.96ᵗ) and its running product Πμ ("u_product", kept as state):
//! m̂ = μₜ₊₁·m / (1 − Πμ·μₜ₊₁) + (1 − μₜ)·g / (1 − Πμ), v̂ = v / (1 − β₂ᵗ),
//! w ← w − lr·m̂ / (√v̂ + ε).

use super::adam::{check_beta, check_epsilon};
use super::base::{BaseArguments, BaseOptimizer};
use super::keras_config::{json_f32, ConfigReader};
use super::state::{load_slots, state_error, OptimizerState, Slot};
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::Result;
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use krust_tensor::Tensor;
use serde_json::Value;

/// Keras's `Nadam` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct NadamConfig {
    /// Default 0.001.
    pub learning_rate: LearningRate,
    /// Default 0.9.
    pub beta_1: f32,
    /// Default 0.999.
    pub beta_2: f32,
    /// Added to √v̂; default 1e-7.
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

impl Default for NadamConfig {
    fn default() -> Self {
        NadamConfig {
            learning_rate: LearningRate::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Nadam {
    base: BaseOptimizer,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    momentum: Slot,
    velocity: Slot,
    /// Πμ over the steps taken, in float32 like Keras's variable; 1 before the first step.
    u_product: f32,
}

const U_PRODUCT: &str = "nadam/u_product";

impl Nadam {
    /// Nadam with a constant learning rate and Keras's other defaults.
    pub fn new(learning_rate: f32) -> Result<Self> {
        Nadam::with_config(NadamConfig {
            learning_rate: learning_rate.into(),
            ..NadamConfig::default()
        })
    }

    pub fn with_config(c: NadamConfig) -> Result<Self> {
        check_beta("beta_1", c.beta_1)?;
        check_beta("beta_2", c.beta_2)?;
        check_epsilon(c.epsilon)?;
        Ok(Nadam {
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
            momentum: Slot::new("momentum", 0.0),
            velocity: Slot::new("velocity", 0.0),
            u_product: 1.0,
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Nadam", config)?;
        let defaults = NadamConfig::default();
        let base = BaseArguments::read(&mut c, &defaults.learning_rate)?;
        let nadam = Nadam::with_config(NadamConfig {
            beta_1: c.f32_or("beta_1", defaults.beta_1)?,
            beta_2: c.f32_or("beta_2", defaults.beta_2)?,
            epsilon: c.f32_or("epsilon", defaults.epsilon)?,
            learning_rate: base.learning_rate,
            weight_decay: base.weight_decay,
            clipnorm: base.clipnorm,
            clipvalue: base.clipvalue,
            global_clipnorm: base.global_clipnorm,
        })?;
        c.finish()?;
        Ok(nadam)
    }
}

impl Optimizer for Nadam {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        let Some(grads) = self.base.gradients(params)? else {
            return Ok(());
        };
        self.momentum.prepare("nadam", &grads)?;
        self.velocity.prepare("nadam", &grads)?;
        let lr = self.base.current_learning_rate();
        self.base.apply_weight_decay(params, &grads, lr)?;

        // All in float32 and in Keras's order: 1 − β₂ᵗ loses most of its digits for small t,
        // and matching Keras means losing the same ones.
        let t = (self.base.iterations + 1) as f32;
        let mu = |t: f32| self.beta_1 * (1.0 - 0.5 * 0.96f32.powf(t));
        // Keras advances the product once per step, before updating any variable.
        self.u_product = self.u_product * self.beta_1 * (1.0 - 0.5 * 0.96f32.powf(t));
        let (u_t, u_next) = (mu(t), mu(t + 1.0));
        let u_product = self.u_product;
        let u_product_next = u_product * u_next;
        let beta_2_power = self.beta_2.powf(t);
        let (b1, b2, eps) = (self.beta_1, self.beta_2, self.epsilon);
        let rule = Update::Nadam {
            lr,
            beta_1: b1,
            beta_2: b2,
            epsilon: eps,
            u_t,
            u_next,
            u_product,
            u_product_next,
            beta_2_power,
        };
        for (i, g) in &grads {
            let m = self.momentum.values_mut(*i);
            let v = self.velocity.values_mut(*i);
            params[*i].update_value(|w| apply_update(&rule, w, g, &mut [m, v]))?;
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
        "Nadam"
    }

    fn iterations(&self) -> u64 {
        self.base.iterations
    }

    fn config(&self) -> Value {
        let mut config = self.base.keras_config("nadam");
        config.insert("beta_1".into(), json_f32(self.beta_1));
        config.insert("beta_2".into(), json_f32(self.beta_2));
        config.insert("epsilon".into(), json_f32(self.epsilon));
        Value::Object(config)
    }

    fn state(&self) -> OptimizerState {
        let mut variables = Vec::new();
        self.momentum.export("nadam", &mut variables);
        self.velocity.export("nadam", &mut variables);
        variables.push((U_PRODUCT.to_string(), Tensor::scalar(self.u_product)));
        OptimizerState {
            iterations: self.base.iterations,
            variables,
        }
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        let (scalars, slots): (Vec<_>, Vec<_>) = state
            .variables
            .iter()
            .cloned()
            .partition(|(name, _)| name == U_PRODUCT);
        let u_product = match scalars.as_slice() {
            [] if state.iterations == 0 => 1.0,
            [] => return Err(state_error(format!("{U_PRODUCT} is missing"))),
            [(_, t)] if t.numel() == 1 => t.item()?,
            [(_, t)] => {
                return Err(state_error(format!(
                    "{U_PRODUCT} must be a scalar, got shape {:?}",
                    t.shape()
                )))
            }
            _ => return Err(state_error(format!("{U_PRODUCT} appears twice"))),
        };
        load_slots(
            "nadam",
            &mut [&mut self.momentum, &mut self.velocity],
            &slots,
            params,
        )?;
        self.u_product = u_product;
        self.base.iterations = state.iterations;
        Ok(())
    }
}
