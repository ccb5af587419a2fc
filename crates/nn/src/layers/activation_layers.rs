//! Activations as Keras layers with their own arguments: `ReLU` (max_value, negative_slope,
//! threshold), `LeakyReLU` (Keras 3 layer default slope 0.3), `ELU`, `Softmax` (axis),
//! `PReLU` (a learned slope per element, shareable along axes), and `Maxout` (the maximum of
//! k linear pieces: channels split into `num_units` groups, max within each).

use super::Layer;
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use serde_json::{json, Value};

/// A parameterized activation wrapped as a layer; `class` is the Keras class it reads as.
#[derive(Debug, Clone)]
pub struct ActivationFunctionLayer {
    /// The activation and its arguments; each class's `with_defaults` gives Keras's defaults.
    pub activation: Activation,
    class: &'static str,
}

pub struct ReLU;
pub struct LeakyReLU;
pub struct ELU;
pub struct Softmax;

impl ReLU {
    /// Keras's `ReLU()`: no `max_value`, `negative_slope` 0, `threshold` 0.
    pub fn with_defaults() -> ActivationFunctionLayer {
        ReLU::new(None, 0.0, 0.0)
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        max_value: Option<f32>,
        negative_slope: f32,
        threshold: f32,
    ) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::ReluWith {
                negative_slope,
                max_value,
                threshold,
            },
            class: "ReLU",
        }
    }
}

impl LeakyReLU {
    /// Keras 3's `LeakyReLU()`: `negative_slope` 0.3.
    pub fn with_defaults() -> ActivationFunctionLayer {
        LeakyReLU::new(0.3)
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(negative_slope: f32) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::LeakyRelu { negative_slope },
            class: "LeakyReLU",
        }
    }
}

impl ELU {
    /// Keras's `ELU()`: `alpha` 1.
    pub fn with_defaults() -> ActivationFunctionLayer {
        ELU::new(1.0)
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(alpha: f32) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::Elu { alpha },
            class: "ELU",
        }
    }
}

impl Softmax {
    /// Keras's `Softmax()`: `axis` -1.
    pub fn with_defaults() -> ActivationFunctionLayer {
        Softmax::new(-1)
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(axis: isize) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::Softmax { axis },
            class: "Softmax",
        }
    }
}

impl ActivationFunctionLayer {
    /// Builds the layer from its Keras config: each argument is read over the class's
    /// `with_defaults` value.
    pub fn from_config(class: &str, config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new(class, config)?;
        let mut layer = match class {
            "ReLU" => ReLU::with_defaults(),
            "LeakyReLU" => LeakyReLU::with_defaults(),
            "ELU" => ELU::with_defaults(),
            _ => Softmax::with_defaults(),
        };
        match &mut layer.activation {
            Activation::ReluWith {
                negative_slope,
                max_value,
                threshold,
            } => {
                *max_value = c.f32_opt("max_value")?.or(*max_value);
                *negative_slope = c.f32_or("negative_slope", *negative_slope)?;
                *threshold = c.f32_or("threshold", *threshold)?;
            }
            Activation::LeakyRelu { negative_slope } => {
                *negative_slope = c.f32_or("negative_slope", *negative_slope)?
            }
            Activation::Elu { alpha } => *alpha = c.f32_or("alpha", *alpha)?,
            Activation::Softmax { axis } => *axis = c.isize_or("axis", *axis)?,
            _ => {}
        }
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for ActivationFunctionLayer {
    fn class_name(&self) -> &'static str {
        self.class
    }

    fn config(&self) -> Value {
        match self.activation {
            Activation::ReluWith {
                negative_slope,
                max_value,
                threshold,
            } => {
                json!({"max_value": max_value, "negative_slope": negative_slope, "threshold": threshold})
            }
            Activation::LeakyRelu { negative_slope } => json!({"negative_slope": negative_slope}),
            Activation::Elu { alpha } => json!({"alpha": alpha}),
            Activation::Softmax { axis } => json!({"axis": axis}),
            _ => json!({}),
        }
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        if let Activation::ReluWith {
            max_value,
            threshold,
            ..
        } = self.activation
        {
            // Keras's ReLU layer refuses these too.
            if threshold < 0.0 || max_value.is_some_and(|m| m < 0.0) {
                return Err(NnError::layer(
                    "ReLU",
                    "threshold and max_value must not be negative",
                ));
            }
        }
        if let Activation::Softmax { axis } = self.activation {
            // `input_shape` is per sample; Keras counts the batch axis too.
            let rank = input_shape.len() as isize + 1;
            if axis < -rank || axis >= rank {
                return Err(NnError::layer(
                    "Softmax",
                    format!("axis {axis} is outside inputs of rank {rank} (batch axis included)"),
                ));
            }
        }
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        self.activation.apply(x)
    }

    fn inference_role(&self) -> Option<crate::inference::InferenceRole> {
        Some(crate::inference::InferenceRole::Activation(self.activation))
    }
}

/// Parametric ReLU: x for x > 0, else alpha · x with a learned alpha (initialized to 0 by
/// default) per element, shared along `shared_axes` (counted with the batch axis, as in Keras).
#[derive(Debug, Clone)]
pub struct PReLU {
    /// Default `None` (no sharing).
    pub shared_axes: Vec<usize>,
    /// Default `"zeros"`.
    pub alpha_initializer: Initializer,
    /// Alpha's regularizer and constraint, and the activity regularizer.
    pub penalties: WeightPenalties,
    alpha: Option<Var>,
}

impl Default for PReLU {
    fn default() -> Self {
        PReLU::new(&[])
    }
}

impl PReLU {
    pub fn new(shared_axes: &[usize]) -> Self {
        PReLU {
            shared_axes: shared_axes.to_vec(),
            alpha_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("PReLU", &["alpha"]),
            alpha: None,
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("PReLU", config)?;
        let mut layer = PReLU::default();
        if let Some(v) = c.value("shared_axes") {
            layer.shared_axes = match v.as_u64() {
                Some(a) => vec![a as usize],
                None => v
                    .as_array()
                    .and_then(|a| a.iter().map(|x| x.as_u64().map(|n| n as usize)).collect())
                    .ok_or_else(|| {
                        NnError::layer(
                            "PReLU",
                            format!("argument `shared_axes`: expected integers, got {v}"),
                        )
                    })?,
            };
        }
        layer.alpha_initializer = c.initializer_or("alpha_initializer", layer.alpha_initializer)?;
        layer.penalties.read(&mut c)?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for PReLU {
    fn class_name(&self) -> &'static str {
        "PReLU"
    }

    fn config(&self) -> Value {
        let mut config = json!({
            "alpha_initializer": initializer_to_json(&self.alpha_initializer),
            "shared_axes": if self.shared_axes.is_empty() { Value::Null } else { json!(self.shared_axes) },
        });
        self.penalties.write(&mut config);
        config
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let mut shape = input_shape.to_vec();
        for &a in &self.shared_axes {
            if a == 0 || a > shape.len() {
                return Err(NnError::layer(
                    "PReLU",
                    format!("shared axis {a} is out of range for inputs {input_shape:?}"),
                ));
            }
            shape[a - 1] = 1;
        }
        self.alpha = Some(Var::parameter(self.alpha_initializer.try_sample(&shape)?));
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let alpha = self.alpha.as_ref().ok_or(NnError::NotBuilt)?;
        let out = x.prelu(alpha)?;
        self.penalties
            .add_losses(&[("alpha", Some(alpha))], &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties.constrain(&[("alpha", self.alpha.as_ref())])
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        self.alpha.iter().map(|a| ("alpha", a.clone())).collect()
    }
}

/// Maxout: the last axis's c channels form `num_units` groups of c / num_units pieces; the
/// output keeps each group's maximum.
#[derive(Debug, Clone)]
pub struct Maxout {
    pub num_units: usize,
}

impl Maxout {
    pub fn new(num_units: usize) -> Self {
        Maxout { num_units }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Maxout", config)?;
        let n = c.usize("num_units")?;
        c.only("axis", json!(-1))?;
        c.finish()?;
        Ok(Maxout::new(n))
    }
}

impl Layer for Maxout {
    fn class_name(&self) -> &'static str {
        "Maxout"
    }

    fn config(&self) -> Value {
        json!({"num_units": self.num_units, "axis": -1})
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let Some(&c) = input_shape.last() else {
            return Err(NnError::layer("Maxout", "needs inputs with a channel axis"));
        };
        if self.num_units == 0 || c % self.num_units != 0 {
            return Err(NnError::layer(
                "Maxout",
                format!("{c} channels cannot form {} units", self.num_units),
            ));
        }
        let mut out = input_shape.to_vec();
        *out.last_mut().expect("non-empty") = self.num_units;
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let c = s[s.len() - 1];
        let mut grouped = s[..s.len() - 1].to_vec();
        grouped.extend([self.num_units, c / self.num_units]);
        Ok(x.reshape(&grouped)?.max_axes(&[-1], false)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn prelu_honours_initializer_regularizer_and_constraint() {
        check_weight_rules(
            "PReLU",
            json!({"shared_axes": [1]}),
            &[("alpha", "alpha")],
            &random(&[2, 3, 4], 1),
        );
    }
}
