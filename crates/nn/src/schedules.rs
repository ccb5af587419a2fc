//! Learning-rate schedules as Keras 3 defines them (`keras.optimizers.schedules`): the rate as
//! a function of the optimizer's iteration count, which starts at 0 for the first update.
//!
//! ```
//! use krust_nn::optimizers::{Adam, AdamConfig, Optimizer};
//! use krust_nn::schedules::CosineDecay;
//!
//! // Linear warmup from 0 to 1e-3 over 100 steps, then cosine decay to 0 over 1000 steps.
//! let schedule = CosineDecay::new(0.0, 1000)?.with_warmup(1e-3, 100)?;
//! let adam = Adam::with_config(AdamConfig { learning_rate: schedule.into(), ..Default::default() })?;
//! assert_eq!(adam.learning_rate(), 0.0);
//! # Ok::<(), krust_nn::NnError>(())
//! ```
//!
//! Every schedule computes in float64 and rounds once to float32; Keras computes in float32,
//! so the two agree to about 1e-7 relative.

use crate::optimizers::keras_config::{json_f32, keras_object, ConfigReader};
use crate::{NnError, Result};
use serde_json::{json, Value};
use std::f64::consts::PI;
use std::fmt;
use std::sync::Arc;

/// A learning rate that depends on the optimizer step.
pub trait LearningRateSchedule: fmt::Debug + Send + Sync {
    /// The rate for the update made at optimizer iteration `step` (0 for the first update).
    fn learning_rate(&self, step: u64) -> f32;
    /// Keras's class name, as written in configs ("ExponentialDecay").
    fn class_name(&self) -> &'static str;
    /// Keras's `get_config()`: the constructor arguments under their Keras names.
    fn config(&self) -> Value;
}

/// What an optimizer takes as its learning rate: a constant or a schedule.
#[derive(Debug, Clone)]
pub enum LearningRate {
    Constant(f32),
    Schedule(Arc<dyn LearningRateSchedule>),
}

impl LearningRate {
    /// The rate at optimizer iteration `step`.
    pub fn at(&self, step: u64) -> f32 {
        match self {
            LearningRate::Constant(lr) => *lr,
            LearningRate::Schedule(s) => s.learning_rate(step),
        }
    }

    /// A constant must be a positive number (a schedule checked its own arguments).
    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            LearningRate::Constant(lr) if !(lr.is_finite() && *lr > 0.0) => Err(NnError::argument(
                "learning_rate",
                format!("must be a positive number, got {lr}"),
            )),
            _ => Ok(()),
        }
    }

    /// The value of `"learning_rate"` in an optimizer config: a number, or the schedule's
    /// serialized form.
    pub(crate) fn to_json(&self) -> Value {
        match self {
            LearningRate::Constant(lr) => json_f32(*lr),
            LearningRate::Schedule(s) => serialize(s.as_ref()),
        }
    }

    pub(crate) fn from_json(value: &Value) -> Result<LearningRate> {
        match value {
            Value::Number(n) => Ok(LearningRate::Constant(n.as_f64().unwrap_or(f64::NAN) as f32)),
            Value::Object(_) => deserialize(value).map(LearningRate::Schedule),
            _ => Err(NnError::argument(
                "learning_rate",
                format!("must be a number or a serialized schedule, got {value}"),
            )),
        }
    }
}

impl From<f32> for LearningRate {
    fn from(lr: f32) -> Self {
        LearningRate::Constant(lr)
    }
}

impl<S: LearningRateSchedule + 'static> From<S> for LearningRate {
    fn from(schedule: S) -> Self {
        LearningRate::Schedule(Arc::new(schedule))
    }
}

/// Keras's `keras.optimizers.schedules.serialize`.
pub fn serialize(schedule: &dyn LearningRateSchedule) -> Value {
    keras_object(
        "keras.optimizers.schedules",
        schedule.class_name(),
        schedule.config(),
    )
}

/// Keras's `keras.optimizers.schedules.deserialize`: a `{"class_name", "config"}` object.
pub fn deserialize(value: &Value) -> Result<Arc<dyn LearningRateSchedule>> {
    let (class, config) =
        crate::optimizers::keras_config::class_and_config("learning rate schedule", value)?;
    from_config(class, &config)
}

/// Builds a schedule from its Keras class name and config.
pub fn from_config(class_name: &str, config: &Value) -> Result<Arc<dyn LearningRateSchedule>> {
    let mut c = ConfigReader::new(class_name, config)?;
    c.ignore("name");
    let schedule: Arc<dyn LearningRateSchedule> = match class_name {
        "ExponentialDecay" => {
            let s = ExponentialDecay::new(
                c.f32("initial_learning_rate")?,
                c.steps("decay_steps")?,
                c.f32("decay_rate")?,
            )?;
            let staircase = c.bool_or("staircase", s.staircase)?;
            Arc::new(s.with_staircase(staircase))
        }
        "InverseTimeDecay" => {
            let s = InverseTimeDecay::new(
                c.f32("initial_learning_rate")?,
                c.steps("decay_steps")?,
                c.f32("decay_rate")?,
            )?;
            let staircase = c.bool_or("staircase", s.staircase)?;
            Arc::new(s.with_staircase(staircase))
        }
        "PiecewiseConstantDecay" => Arc::new(PiecewiseConstantDecay::new(
            c.steps_list("boundaries")?,
            c.f32_list("values")?,
        )?),
        "PolynomialDecay" => {
            let s = PolynomialDecay::new(c.f32("initial_learning_rate")?, c.steps("decay_steps")?)?;
            let end_learning_rate = c.f32_or("end_learning_rate", s.end_learning_rate)?;
            let power = c.f32_or("power", s.power)?;
            let cycle = c.bool_or("cycle", s.cycle)?;
            Arc::new(
                s.with_end_learning_rate(end_learning_rate)?
                    .with_power(power)?
                    .with_cycle(cycle),
            )
        }
        "CosineDecay" => {
            let s = CosineDecay::new(c.f32("initial_learning_rate")?, c.steps("decay_steps")?)?;
            let alpha = c.f32_or("alpha", s.alpha)?;
            let mut s = s.with_alpha(alpha)?;
            let warmup_steps = c.steps_or("warmup_steps", s.warmup_steps)?;
            if let Some(target) = c.f32_option("warmup_target")? {
                s = s.with_warmup(target, warmup_steps)?;
            }
            Arc::new(s)
        }
        "CosineDecayRestarts" => {
            let s = CosineDecayRestarts::new(
                c.f32("initial_learning_rate")?,
                c.steps("first_decay_steps")?,
            )?;
            let t_mul = c.f32_or("t_mul", s.t_mul)?;
            let m_mul = c.f32_or("m_mul", s.m_mul)?;
            let alpha = c.f32_or("alpha", s.alpha)?;
            Arc::new(s.with_t_mul(t_mul)?.with_m_mul(m_mul)?.with_alpha(alpha)?)
        }
        other => {
            return Err(NnError::argument(
                "learning rate schedule",
                format!(
                    "unknown class {other:?}; krust has ExponentialDecay, PiecewiseConstantDecay, \
                     PolynomialDecay, InverseTimeDecay, CosineDecay and CosineDecayRestarts"
                ),
            ))
        }
    };
    c.finish()?;
    Ok(schedule)
}

fn check_rate(argument: &str, rate: f32) -> Result<()> {
    if !(rate.is_finite() && rate >= 0.0) {
        return Err(NnError::argument(
            argument,
            format!("must be a finite number >= 0, got {rate}"),
        ));
    }
    Ok(())
}

fn check_steps(argument: &str, steps: u64) -> Result<()> {
    if steps == 0 {
        // Keras: "Argument `decay_steps` must be > 0."
        return Err(NnError::argument(argument, "must be > 0, got 0"));
    }
    Ok(())
}

fn check_finite(argument: &str, x: f32) -> Result<()> {
    if !x.is_finite() {
        return Err(NnError::argument(
            argument,
            format!("must be a finite number, got {x}"),
        ));
    }
    Ok(())
}

/// `initial_learning_rate · decay_rate^(step / decay_steps)`, with the exponent floored when
/// `staircase` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct ExponentialDecay {
    initial_learning_rate: f32,
    decay_steps: u64,
    decay_rate: f32,
    staircase: bool,
}

impl ExponentialDecay {
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Result<Self> {
        check_rate("initial_learning_rate", initial_learning_rate)?;
        check_steps("decay_steps", decay_steps)?;
        check_rate("decay_rate", decay_rate)?;
        Ok(ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decay in whole intervals of `decay_steps` (default false).
    pub fn with_staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for ExponentialDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        (self.initial_learning_rate as f64 * (self.decay_rate as f64).powf(p)) as f32
    }

    fn class_name(&self) -> &'static str {
        "ExponentialDecay"
    }

    fn config(&self) -> Value {
        json!({
            "initial_learning_rate": json_f32(self.initial_learning_rate),
            "decay_steps": self.decay_steps,
            "decay_rate": json_f32(self.decay_rate),
            "staircase": self.staircase,
            "name": "ExponentialDecay",
        })
    }
}

/// `initial_learning_rate / (1 + decay_rate · step / decay_steps)`, with the quotient floored
/// when `staircase` is set.
#[derive(Debug, Clone, PartialEq)]
pub struct InverseTimeDecay {
    initial_learning_rate: f32,
    decay_steps: u64,
    decay_rate: f32,
    staircase: bool,
}

impl InverseTimeDecay {
    pub fn new(initial_learning_rate: f32, decay_steps: u64, decay_rate: f32) -> Result<Self> {
        check_rate("initial_learning_rate", initial_learning_rate)?;
        check_steps("decay_steps", decay_steps)?;
        check_rate("decay_rate", decay_rate)?;
        Ok(InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        })
    }

    /// Decay in whole intervals of `decay_steps` (default false).
    pub fn with_staircase(mut self, staircase: bool) -> Self {
        self.staircase = staircase;
        self
    }
}

impl LearningRateSchedule for InverseTimeDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let mut p = step as f64 / self.decay_steps as f64;
        if self.staircase {
            p = p.floor();
        }
        (self.initial_learning_rate as f64 / (1.0 + self.decay_rate as f64 * p)) as f32
    }

    fn class_name(&self) -> &'static str {
        "InverseTimeDecay"
    }

    fn config(&self) -> Value {
        json!({
            "initial_learning_rate": json_f32(self.initial_learning_rate),
            "decay_steps": self.decay_steps,
            "decay_rate": json_f32(self.decay_rate),
            "staircase": self.staircase,
            "name": "InverseTimeDecay",
        })
    }
}

/// A step function: `values[0]` while `step <= boundaries[0]`, `values[i]` while
/// `boundaries[i-1] < step <= boundaries[i]`, and `values[n]` after the last boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecewiseConstantDecay {
    boundaries: Vec<u64>,
    values: Vec<f32>,
}

impl PiecewiseConstantDecay {
    /// `values` has one more entry than `boundaries`, which must be strictly increasing (Keras
    /// does not check the order and returns sums of values when it is wrong).
    pub fn new(boundaries: Vec<u64>, values: Vec<f32>) -> Result<Self> {
        if boundaries.is_empty() || values.len() != boundaries.len() + 1 {
            return Err(NnError::argument(
                "values",
                format!(
                    "needs one more entry than boundaries (at least one), got {} boundaries and \
                     {} values",
                    boundaries.len(),
                    values.len()
                ),
            ));
        }
        if boundaries.windows(2).any(|w| w[0] >= w[1]) {
            return Err(NnError::argument(
                "boundaries",
                format!("must be strictly increasing, got {boundaries:?}"),
            ));
        }
        for &v in &values {
            check_rate("values", v)?;
        }
        Ok(PiecewiseConstantDecay { boundaries, values })
    }
}

impl LearningRateSchedule for PiecewiseConstantDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let interval = self.boundaries.iter().take_while(|&&b| step > b).count();
        self.values[interval]
    }

    fn class_name(&self) -> &'static str {
        "PiecewiseConstantDecay"
    }

    fn config(&self) -> Value {
        let values: Vec<Value> = self.values.iter().map(|&v| json_f32(v)).collect();
        json!({
            "boundaries": self.boundaries,
            "values": values,
            "name": "PiecewiseConstant",
        })
    }
}

/// `(initial - end) · (1 - step / decay_steps)^power + end`, with the step held at
/// `decay_steps` afterwards, or (with `cycle`) `decay_steps` stretched to the next multiple
/// above the step.
#[derive(Debug, Clone, PartialEq)]
pub struct PolynomialDecay {
    initial_learning_rate: f32,
    decay_steps: u64,
    end_learning_rate: f32,
    power: f32,
    cycle: bool,
}

impl PolynomialDecay {
    /// Keras defaults: end_learning_rate 1e-4, power 1 (linear), no cycle.
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Result<Self> {
        check_rate("initial_learning_rate", initial_learning_rate)?;
        check_steps("decay_steps", decay_steps)?;
        Ok(PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate: 1e-4,
            power: 1.0,
            cycle: false,
        })
    }

    pub fn with_end_learning_rate(mut self, end_learning_rate: f32) -> Result<Self> {
        check_rate("end_learning_rate", end_learning_rate)?;
        self.end_learning_rate = end_learning_rate;
        Ok(self)
    }

    pub fn with_power(mut self, power: f32) -> Result<Self> {
        check_finite("power", power)?;
        self.power = power;
        Ok(self)
    }

    pub fn with_cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }
}

impl LearningRateSchedule for PolynomialDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let mut step = step as f64;
        let mut decay_steps = self.decay_steps as f64;
        if self.cycle {
            // Keras: the first multiple of decay_steps at or above the step (1 at step 0).
            let multiplier = if step == 0.0 {
                1.0
            } else {
                (step / decay_steps).ceil()
            };
            decay_steps *= multiplier;
        } else {
            step = step.min(decay_steps);
        }
        let p = step / decay_steps;
        let (initial, end) = (
            self.initial_learning_rate as f64,
            self.end_learning_rate as f64,
        );
        ((initial - end) * (1.0 - p).powf(self.power as f64) + end) as f32
    }

    fn class_name(&self) -> &'static str {
        "PolynomialDecay"
    }

    fn config(&self) -> Value {
        json!({
            "initial_learning_rate": json_f32(self.initial_learning_rate),
            "decay_steps": self.decay_steps,
            "end_learning_rate": json_f32(self.end_learning_rate),
            "power": json_f32(self.power),
            "cycle": self.cycle,
            "name": "PolynomialDecay",
        })
    }
}

/// Cosine decay (SGDR without restarts), optionally after a linear warmup, as Keras 3's
/// `CosineDecay`:
/// - without warmup: `lr(step) = initial · ((1 - alpha) · ½(1 + cos(π · min(step, decay_steps)
///   / decay_steps)) + alpha)`;
/// - with `warmup_target` and `warmup_steps`: a straight line from `initial` to
///   `warmup_target` over the first `warmup_steps`, then the cosine decay from
///   `warmup_target` over the next `decay_steps`.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecay {
    initial_learning_rate: f32,
    decay_steps: u64,
    alpha: f32,
    warmup_target: Option<f32>,
    warmup_steps: u64,
}

impl CosineDecay {
    /// Keras defaults: alpha 0 (decay to zero), no warmup.
    pub fn new(initial_learning_rate: f32, decay_steps: u64) -> Result<Self> {
        check_rate("initial_learning_rate", initial_learning_rate)?;
        check_steps("decay_steps", decay_steps)?;
        Ok(CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha: 0.0,
            warmup_target: None,
            warmup_steps: 0,
        })
    }

    /// The floor of the decay, as a fraction of the rate it decays from.
    pub fn with_alpha(mut self, alpha: f32) -> Result<Self> {
        check_finite("alpha", alpha)?;
        self.alpha = alpha;
        Ok(self)
    }

    /// Warm up linearly from the initial rate to `target` over `steps` steps first.
    pub fn with_warmup(mut self, target: f32, steps: u64) -> Result<Self> {
        check_rate("warmup_target", target)?;
        self.warmup_target = Some(target);
        self.warmup_steps = steps;
        Ok(self)
    }

    fn decay(&self, step: f64, from: f64) -> f64 {
        let completed = step / self.decay_steps as f64;
        let cosine = 0.5 * (1.0 + (PI * completed).cos());
        let alpha = self.alpha as f64;
        from * ((1.0 - alpha) * cosine + alpha)
    }
}

impl LearningRateSchedule for CosineDecay {
    fn learning_rate(&self, step: u64) -> f32 {
        let initial = self.initial_learning_rate as f64;
        let decay_steps = self.decay_steps as f64;
        let Some(target) = self.warmup_target else {
            return self.decay((step as f64).min(decay_steps), initial) as f32;
        };
        let warmup_steps = self.warmup_steps as f64;
        let step = (step as f64).min(decay_steps + warmup_steps);
        let lr = if step < warmup_steps {
            (target as f64 - initial) * (step / warmup_steps) + initial
        } else {
            self.decay(step - warmup_steps, target as f64)
        };
        lr as f32
    }

    fn class_name(&self) -> &'static str {
        "CosineDecay"
    }

    fn config(&self) -> Value {
        json!({
            "initial_learning_rate": json_f32(self.initial_learning_rate),
            "decay_steps": self.decay_steps,
            "alpha": json_f32(self.alpha),
            "name": "CosineDecay",
            "warmup_target": self.warmup_target.map(json_f32),
            "warmup_steps": self.warmup_steps,
        })
    }
}

/// Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016), as Keras's
/// `CosineDecayRestarts`: period `i` lasts `first_decay_steps · t_mul^i` steps and starts
/// from `initial · m_mul^i`.
#[derive(Debug, Clone, PartialEq)]
pub struct CosineDecayRestarts {
    initial_learning_rate: f32,
    first_decay_steps: u64,
    t_mul: f32,
    m_mul: f32,
    alpha: f32,
}

impl CosineDecayRestarts {
    /// Keras defaults: t_mul 2, m_mul 1, alpha 0.
    pub fn new(initial_learning_rate: f32, first_decay_steps: u64) -> Result<Self> {
        check_rate("initial_learning_rate", initial_learning_rate)?;
        check_steps("first_decay_steps", first_decay_steps)?;
        Ok(CosineDecayRestarts {
            initial_learning_rate,
            first_decay_steps,
            t_mul: 2.0,
            m_mul: 1.0,
            alpha: 0.0,
        })
    }

    /// How much longer each period is than the one before.
    pub fn with_t_mul(mut self, t_mul: f32) -> Result<Self> {
        if !(t_mul.is_finite() && t_mul > 0.0) {
            return Err(NnError::argument(
                "t_mul",
                format!("must be a positive number, got {t_mul}"),
            ));
        }
        self.t_mul = t_mul;
        Ok(self)
    }

    /// How much lower each period starts than the one before.
    pub fn with_m_mul(mut self, m_mul: f32) -> Result<Self> {
        check_rate("m_mul", m_mul)?;
        self.m_mul = m_mul;
        Ok(self)
    }

    pub fn with_alpha(mut self, alpha: f32) -> Result<Self> {
        check_finite("alpha", alpha)?;
        self.alpha = alpha;
        Ok(self)
    }
}

impl LearningRateSchedule for CosineDecayRestarts {
    fn learning_rate(&self, step: u64) -> f32 {
        let t_mul = self.t_mul as f64;
        let mut completed = step as f64 / self.first_decay_steps as f64;
        let restart = if t_mul == 1.0 {
            let restart = completed.floor();
            completed -= restart;
            restart
        } else {
            // The period index solves the geometric sum (1 - t_mul^i) / (1 - t_mul) <= completed.
            let restart = ((1.0 - completed * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
            let elapsed = (1.0 - t_mul.powf(restart)) / (1.0 - t_mul);
            completed = (completed - elapsed) / t_mul.powf(restart);
            restart
        };
        let m_factor = (self.m_mul as f64).powf(restart);
        let cosine = 0.5 * m_factor * (1.0 + (PI * completed).cos());
        let alpha = self.alpha as f64;
        (self.initial_learning_rate as f64 * ((1.0 - alpha) * cosine + alpha)) as f32
    }

    fn class_name(&self) -> &'static str {
        "CosineDecayRestarts"
    }

    fn config(&self) -> Value {
        json!({
            "initial_learning_rate": json_f32(self.initial_learning_rate),
            "first_decay_steps": self.first_decay_steps,
            "t_mul": json_f32(self.t_mul),
            "m_mul": json_f32(self.m_mul),
            "alpha": json_f32(self.alpha),
            "name": "SGDRDecay",
        })
    }
}
