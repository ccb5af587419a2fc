//! `AdamW`: Adam with decoupled weight decay (Loshchilov & Hutter), which Keras 3 implements as
//! its `Adam` plus the base optimizer's weight decay w ← w − w·wd·lr before each update, with
//! `weight_decay` required and 0.004 by default.

use super::adam::{Adam, AdamConfig};
use super::keras_config::ConfigReader;
use super::state::OptimizerState;
use super::Optimizer;
use crate::schedules::LearningRate;
use crate::Result;
use krust_autograd::Var;
use serde_json::Value;

/// Keras's `AdamW` arguments; `Default` gives Keras's defaults.
#[derive(Debug, Clone)]
pub struct AdamWConfig {
    /// Default 0.001.
    pub learning_rate: LearningRate,
    /// Decoupled weight decay `w ← w − w·wd·lr`, applied before each Adam update; default 0.004.
    pub weight_decay: f32,
    /// Default 0.9.
    pub beta_1: f32,
    /// Default 0.999.
    pub beta_2: f32,
    /// Added to √v; default 1e-7.
    pub epsilon: f32,
    /// Default false.
    pub amsgrad: bool,
    /// Scale each gradient to norm at most this; default None.
    pub clipnorm: Option<f32>,
    /// Clip each gradient element to [−clipvalue, clipvalue]; default None.
    pub clipvalue: Option<f32>,
    /// Scale all gradients together to a global norm at most this; default None.
    pub global_clipnorm: Option<f32>,
}

/// Adam's defaults, with weight decay 0.004.
impl Default for AdamWConfig {
    fn default() -> Self {
        let adam = AdamConfig::default();
        AdamWConfig {
            learning_rate: adam.learning_rate,
            weight_decay: 0.004,
            beta_1: adam.beta_1,
            beta_2: adam.beta_2,
            epsilon: adam.epsilon,
            amsgrad: adam.amsgrad,
            clipnorm: adam.clipnorm,
            clipvalue: adam.clipvalue,
            global_clipnorm: adam.global_clipnorm,
        }
    }
}

/// AdamW is Adam with a weight decay that is always set.
impl From<AdamWConfig> for AdamConfig {
    fn from(c: AdamWConfig) -> AdamConfig {
        AdamConfig {
            learning_rate: c.learning_rate,
            beta_1: c.beta_1,
            beta_2: c.beta_2,
            epsilon: c.epsilon,
            amsgrad: c.amsgrad,
            weight_decay: Some(c.weight_decay),
            clipnorm: c.clipnorm,
            clipvalue: c.clipvalue,
            global_clipnorm: c.global_clipnorm,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AdamW {
    adam: Adam,
}

impl AdamW {
    /// AdamW with a constant learning rate and Keras's other defaults (weight decay 0.004).
    pub fn new(learning_rate: f32) -> Result<Self> {
        AdamW::with_config(AdamWConfig {
            learning_rate: learning_rate.into(),
            ..AdamWConfig::default()
        })
    }

    pub fn with_config(c: AdamWConfig) -> Result<Self> {
        Ok(AdamW {
            adam: Adam::build(c.into(), "AdamW")?,
        })
    }

    pub(crate) fn from_keras_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("AdamW", config)?;
        let adam = Adam::read_keras_config(&mut c, AdamWConfig::default().into())?;
        c.finish()?;
        Ok(AdamW {
            adam: Adam::build(adam, "AdamW")?,
        })
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &[Var]) -> Result<()> {
        self.adam.step(params)
    }

    fn learning_rate(&self) -> f32 {
        self.adam.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.adam.set_learning_rate(lr)
    }

    fn class_name(&self) -> &'static str {
        "AdamW"
    }

    fn iterations(&self) -> u64 {
        self.adam.iterations()
    }

    fn config(&self) -> Value {
        self.adam.config()
    }

    fn state(&self) -> OptimizerState {
        self.adam.state()
    }

    fn load_state(&mut self, state: &OptimizerState, params: &[Var]) -> Result<()> {
        self.adam.load_state(state, params)
    }
}
