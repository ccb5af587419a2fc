//! Activations as Keras layers with their own arguments: `ReLU` (max_value, negative_slope,
//! threshold), `LeakyReLU` (Keras 3 layer default slope 0.3), `ELU`, `Softmax` (axis),
//! `PReLU` (a learned slope per element, shareable along axes), and `Maxout` (the maximum of
//! k linear pieces: channels split into `num_units` groups, max within each).

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A parameterized activation wrapped as a layer; `class` is the Keras class it reads as.
/// Each class's Keras arguments are the fields of [`ReLU`], [`LeakyReLU`], [`ELU`] and
/// [`Softmax`], whose `new` and `with_defaults` build this layer.
#[derive(Debug, Clone)]
pub struct ActivationFunctionLayer {
    /// The activation and its arguments; each class's `with_defaults` gives Keras's defaults.
    pub activation: Activation,
    class: &'static str,
}

/// Keras's `ReLU` arguments (see `config::args`); `ReLU::new` builds the layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default = "ReLU::keras_defaults", deny_unknown_fields)]
pub struct ReLU {
    /// Default `None` (no upper limit).
    pub max_value: Option<f32>,
    /// Default `0.0`.
    pub negative_slope: f32,
    /// Default `0.0`.
    pub threshold: f32,
}

/// Keras 3's `LeakyReLU` arguments; `LeakyReLU::new` builds the layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default = "LeakyReLU::keras_defaults", deny_unknown_fields)]
pub struct LeakyReLU {
    /// Default `0.3` (Keras 3's layer, not `tf.nn`'s 0.2).
    pub negative_slope: f32,
}

/// Keras's `ELU` arguments; `ELU::new` builds the layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default = "ELU::keras_defaults", deny_unknown_fields)]
pub struct ELU {
    /// Default `1.0`.
    pub alpha: f32,
}

/// Keras's `Softmax` arguments; `Softmax::new` builds the layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default = "Softmax::keras_defaults", deny_unknown_fields)]
pub struct Softmax {
    /// Counted with the batch axis. Default `-1`.
    pub axis: isize,
}

impl ReLU {
    /// Keras's defaults, the one place they are written.
    fn keras_defaults() -> Self {
        ReLU {
            max_value: None,
            negative_slope: 0.0,
            threshold: 0.0,
        }
    }

    /// Keras's `ReLU()`: no `max_value`, `negative_slope` 0, `threshold` 0.
    pub fn with_defaults() -> ActivationFunctionLayer {
        ReLU::keras_defaults().layer()
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        max_value: Option<f32>,
        negative_slope: f32,
        threshold: f32,
    ) -> ActivationFunctionLayer {
        ReLU {
            max_value,
            negative_slope,
            threshold,
        }
        .layer()
    }

    /// The layer these arguments configure.
    pub fn layer(self) -> ActivationFunctionLayer {
        let ReLU {
            max_value,
            negative_slope,
            threshold,
        } = self;
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
    fn keras_defaults() -> Self {
        LeakyReLU {
            negative_slope: 0.3,
        }
    }

    /// Keras 3's `LeakyReLU()`: `negative_slope` 0.3.
    pub fn with_defaults() -> ActivationFunctionLayer {
        LeakyReLU::keras_defaults().layer()
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(negative_slope: f32) -> ActivationFunctionLayer {
        LeakyReLU { negative_slope }.layer()
    }

    /// The layer these arguments configure.
    pub fn layer(self) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::LeakyRelu {
                negative_slope: self.negative_slope,
            },
            class: "LeakyReLU",
        }
    }
}

impl ELU {
    fn keras_defaults() -> Self {
        ELU { alpha: 1.0 }
    }

    /// Keras's `ELU()`: `alpha` 1.
    pub fn with_defaults() -> ActivationFunctionLayer {
        ELU::keras_defaults().layer()
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(alpha: f32) -> ActivationFunctionLayer {
        ELU { alpha }.layer()
    }

    /// The layer these arguments configure.
    pub fn layer(self) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::Elu { alpha: self.alpha },
            class: "ELU",
        }
    }
}

impl Softmax {
    fn keras_defaults() -> Self {
        Softmax { axis: -1 }
    }

    /// Keras's `Softmax()`: `axis` -1.
    pub fn with_defaults() -> ActivationFunctionLayer {
        Softmax::keras_defaults().layer()
    }

    #[allow(clippy::new_ret_no_self)]
    pub fn new(axis: isize) -> ActivationFunctionLayer {
        Softmax { axis }.layer()
    }

    /// The layer these arguments configure.
    pub fn layer(self) -> ActivationFunctionLayer {
        ActivationFunctionLayer {
            activation: Activation::Softmax { axis: self.axis },
            class: "Softmax",
        }
    }
}

impl KerasArgs for ReLU {}
impl KerasArgs for LeakyReLU {}
impl KerasArgs for ELU {}
impl KerasArgs for Softmax {}

impl ActivationFunctionLayer {
    /// Builds the layer of Keras class `class` from its config, read as that class's
    /// arguments.
    pub fn from_config(class: &str, config: &Value) -> Result<Self> {
        Ok(match class {
            "ReLU" => args::read::<ReLU>(class, config)?.layer(),
            "LeakyReLU" => args::read::<LeakyReLU>(class, config)?.layer(),
            "ELU" => args::read::<ELU>(class, config)?.layer(),
            _ => args::read::<Softmax>(class, config)?.layer(),
        })
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
            } => args::write(&ReLU {
                max_value,
                negative_slope,
                threshold,
            }),
            Activation::LeakyRelu { negative_slope } => args::write(&LeakyReLU { negative_slope }),
            Activation::Elu { alpha } => args::write(&ELU { alpha }),
            Activation::Softmax { axis } => args::write(&Softmax { axis }),
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
/// Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "PReLU::keras_defaults", deny_unknown_fields)]
pub struct PReLU {
    /// Default `None` (no sharing), the empty list.
    #[serde(with = "args::nonnegative_axes")]
    pub shared_axes: Vec<usize>,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub alpha_initializer: Initializer,
    /// Alpha's regularizer and constraint, and the activity regularizer.
    #[serde(skip)]
    pub penalties: WeightPenalties,
    #[serde(skip)]
    alpha: Option<Var>,
}

impl Default for PReLU {
    fn default() -> Self {
        PReLU::keras_defaults()
    }
}

impl PReLU {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        PReLU {
            shared_axes: Vec::new(),
            alpha_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new("PReLU", &["alpha"]),
            alpha: None,
        }
    }

    pub fn new(shared_axes: &[usize]) -> Self {
        PReLU {
            shared_axes: shared_axes.to_vec(),
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("PReLU", config)
    }
}

impl KerasArgs for PReLU {
    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }
}

impl Layer for PReLU {
    fn class_name(&self) -> &'static str {
        "PReLU"
    }

    fn config(&self) -> Value {
        args::write(self)
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
/// output keeps each group's maximum. Its fields are its Keras arguments.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Maxout::keras_defaults", deny_unknown_fields)]
pub struct Maxout {
    /// Required.
    pub num_units: usize,
    /// The axis split into units: the last, `-1`, the only one krust supports.
    pub axis: args::LastAxis,
}

impl Maxout {
    /// Keras's defaults, the one place they are written (`num_units` is required).
    fn keras_defaults() -> Self {
        Maxout {
            num_units: 0,
            axis: args::LastAxis,
        }
    }

    pub fn new(num_units: usize) -> Self {
        Maxout {
            num_units,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Maxout", config)
    }
}

impl KerasArgs for Maxout {
    const REQUIRED: &'static [&'static str] = &["num_units"];
}

impl Layer for Maxout {
    fn class_name(&self) -> &'static str {
        "Maxout"
    }

    fn config(&self) -> Value {
        args::write(self)
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
