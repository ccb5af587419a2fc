//! `SGD`: stochastic gradient descent with optional (Nesterov) momentum, Keras form:
//! v ← m·v − lr·g; w ← w + v, or w ← w + m·v − lr·g with Nesterov.

use super::base::{BaseArguments, BaseOptimizer};
use super::keras_config::{json_f32, ConfigReader};
use super::state::{load_slots, OptimizerState, Slot};
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::optim::{apply_update, Update};
use serde_json::{json, Value};

/// Keras's `SGD` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct SgdConfig {
    /// Default 0.01.
    pub learning_rate: LearningRate,
    /// In [0, 1]; default 0 (plain gradient descent, no velocity kept).
    pub momentum: f32,
    /// Default false.
    pub nesterov: bool,
    /// Decoupled weight decay `w ← w − w·wd·lr` before each update; default None.
    pub weight_decay: Option<f32>,
    /// Scale each gradient to norm at most this; default None.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to [−clipvalue, clipvalue]; default None.
    pub clipvalue: Option<f32>,
    /// Scale all gradients together to a global norm at most this; default None.
    pub global_clipnorm: Option<f32>,
}

impl Default for SgdConfig {
    fn default() -> Self {
        SgdConfig {
            learning_rate: LearningRate::Constant(0.01),
            momentum: 0.0,
            nesterov: false,
            weight_decay: None,
            clipnorm: None,
            clipvalue: None,
            global_clipnorm: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sgd {
    base: BaseOptimizer,
    momentum: f32,
    nesterov: bool,
    /// Keras calls the velocity "momentum"; it exists only when momentum ≠ 0.
    velocity: Slot,
}

impl Sgd {
    /// SGD with a constant learning rate (Keras default 0.01) and momentum in [0, 1].
    pub fn new(learning_rate: f32, momentum: f32, nesterov: bool) -> Result<Self> {
        Sgd::with_config(SgdConfig {
            learning_rate: learning_rate.into(),
            momentum,
            nesterov,
            ..SgdConfig::default()
        })
    }

    pub fn with_config(c: SgdConfig) -> Result<Self> {
        if !(0.0..=1.0).contains(&c.momentum) {
            return Err(NnError::argument(
                "momentum",
                format!("must be in [0, 1], got {}", c.momentum),
            ));
        }
        Ok(Sgd {
            base: BaseOptimizer::new(
                c.learning_rate,
                c.weight_decay,
                c.clipnorm,
                c.clipvalue,
                c.global_clipnorm,
            )?,
            momentum: c.momentum,
            nesterov: c.nesterov,
            velocity: Slot::new("momentum", 0.0),
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("SGD", config)?;
        let defaults = SgdConfig::default();
        let base = BaseArguments::read(&mut c, &defaults.learning_rate)?;
        let sgd = Sgd::with_config(SgdConfig {
            momentum: c.f32_or("momentum", defaults.momentum)?,
            nesterov: c.bool_or("nesterov", defaults.nesterov)?,
            learning_rate: base.learning_rate,
            weight_decay: base.weight_decay,
            clipnorm: base.clipnorm,
            clipvalue: base.clipvalue,
            global_clipnorm: base.global_clipnorm,
        })?;
        c.finish()?;
        Ok(sgd)
    }

    fn slots(&mut self) -> Vec<&mut Slot> {
        if self.momentum != 0.0 {
            vec![&mut self.velocity]
        } else {
            vec![]
        }
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        let Some(grads) = self.base.gradients(params)? else {
            return Ok(());
        };
        for slot in self.slots() {
            slot.prepare("sgd", &grads)?;
        }
        let lr = self.base.current_learning_rate();
        self.base.apply_weight_decay(params, &grads, lr)?;
        let (m, nesterov) = (self.momentum, self.nesterov);
        for (i, g) in &grads {
            if m == 0.0 {
                params[*i].update_value(|w| apply_update(&Update::Sgd { lr }, w, g, &mut []))?;
                continue;
            }
            let rule = Update::Momentum {
                lr,
                momentum: m,
                nesterov,
            };
            let v = self.velocity.values_mut(*i);
            params[*i].update_value(|w| apply_update(&rule, w, g, &mut [v]))?;
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
        "SGD"
    }

    fn iterations(&self) -> u64 {
        self.base.iterations
    }

    fn config(&self) -> Value {
        let mut config = self.base.keras_config("sgd");
        config.insert("momentum".into(), json_f32(self.momentum));
        config.insert("nesterov".into(), json!(self.nesterov));
        Value::Object(config)
    }

    fn state(&self) -> OptimizerState {
        let mut variables = Vec::new();
        if self.momentum != 0.0 {
            self.velocity.export("sgd", &mut variables);
        }
        OptimizerState {
            iterations: self.base.iterations,
            variables,
        }
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        load_slots("sgd", &mut self.slots(), &state.variables, params)?;
        self.base.iterations = state.iterations;
        Ok(())
    }
}
