//! Activation functions by Keras name, applied to autograd variables.

use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// The activations a layer can apply to its output (`activation=` in Keras). Unit variants
/// serialize as their Keras name ("relu", "hard_sigmoid"); parameterized ones as
/// `{"elu": {"alpha": 1.0}}`. Parameters default to Keras's when parsed by [`from_name`].
///
/// [`from_name`]: Activation::from_name
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// The identity (Keras's `None` activation).
    #[default]
    Linear,
    /// max(x, 0).
    Relu,
    /// Keras's `relu(x, negative_slope, max_value, threshold)` with non-default arguments:
    /// x above `threshold` (else 0), clipped to [0, max_value], plus
    /// negative_slope · (x - threshold) below the threshold.
    ReluWith {
        negative_slope: f32,
        max_value: Option<f32>,
        threshold: f32,
    },
    /// min(max(x, 0), 6).
    Relu6,
    /// x for x > 0, else negative_slope · x; Keras's default slope is 0.2.
    LeakyRelu {
        negative_slope: f32,
    },
    /// x for x > 0, else alpha · (eˣ - 1); Keras's default alpha is 1.0.
    Elu {
        alpha: f32,
    },
    /// Scaled ELU with the fixed constants α ≈ 1.6733, scale ≈ 1.0507.
    Selu,
    /// x · Φ(x); `approximate` selects the tanh approximation (Keras's default: false, erf).
    Gelu {
        approximate: bool,
    },
    /// x · σ(x), also called swish.
    Silu,
    /// ln(1 + eˣ).
    Softplus,
    /// x / (1 + |x|).
    Softsign,
    /// Keras 3's relu6(x + 3) / 6.
    HardSigmoid,
    /// x · hard_sigmoid(x), Keras's "hard_silu" (alias "hard_swish", MobileNetV3's).
    HardSilu,
    /// eˣ.
    Exponential,
    /// 1 / (1 + e⁻ˣ).
    Sigmoid,
    Tanh,
    /// Softmax along `axis` (Keras's default: -1, the last).
    Softmax {
        axis: isize,
    },
    /// log(softmax) along `axis` (Keras's default: -1).
    LogSoftmax {
        axis: isize,
    },
}

/// Every name [`Activation::from_name`] accepts, for error messages.
const KNOWN: &str = "linear, relu, relu6, leaky_relu, elu, selu, gelu, silu, swish, softplus, \
                     softsign, hard_sigmoid, hard_silu, hard_swish, exponential, sigmoid, tanh, \
                     softmax, log_softmax";

impl Activation {
    pub fn apply(&self, x: &Var) -> Result<Var> {
        Ok(match *self {
            Activation::Linear => x.clone(),
            Activation::Relu => x.relu(),
            Activation::ReluWith {
                negative_slope,
                max_value,
                threshold,
            } => x.relu_with(negative_slope, max_value, threshold),
            Activation::Relu6 => x.relu6(),
            Activation::LeakyRelu { negative_slope } => x.leaky_relu(negative_slope),
            Activation::Elu { alpha } => x.elu(alpha),
            Activation::Selu => x.selu(),
            Activation::Gelu { approximate } => x.gelu(approximate),
            Activation::Silu => x.silu(),
            Activation::Softplus => x.softplus(),
            Activation::Softsign => x.softsign(),
            Activation::HardSigmoid => x.hard_sigmoid(),
            Activation::HardSilu => x.mul(&x.hard_sigmoid())?,
            Activation::Exponential => x.exponential(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Tanh => x.tanh(),
            Activation::Softmax { axis } => x.softmax(axis)?,
            Activation::LogSoftmax { axis } => x.log_softmax(axis)?,
        })
    }

    /// Parses a Keras activation name, with Keras's default arguments ("leaky_relu" has slope
    /// 0.2, "elu" alpha 1.0, "gelu" the exact erf form, "softmax" the last axis). "swish" is
    /// Keras's alias of "silu" and "hard_swish" of "hard_silu".
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "relu6" => Activation::Relu6,
            "leaky_relu" => Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            "elu" => Activation::Elu { alpha: 1.0 },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu { approximate: false },
            "silu" | "swish" => Activation::Silu,
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "hard_sigmoid" => Activation::HardSigmoid,
            "hard_silu" | "hard_swish" => Activation::HardSilu,
            "exponential" => Activation::Exponential,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax { axis: -1 },
            "log_softmax" => Activation::LogSoftmax { axis: -1 },
            other => {
                return Err(NnError::argument(
                    "activation",
                    format!("unknown activation {other:?} (known: {KNOWN})"),
                ))
            }
        })
    }

    /// The layer-config form: the bare Keras name when the parameters are Keras's defaults
    /// (what Keras itself writes, e.g. "softmax"), else the serde object
    /// (`{"elu": {"alpha": 0.5}}`), so no parameter is lost; [`Activation::from_config`] reads
    /// both.
    pub fn to_config(&self) -> serde_json::Value {
        match Activation::from_name(self.name()) {
            Ok(plain) if plain == *self => serde_json::Value::String(self.name().to_string()),
            _ => serde_json::to_value(self).unwrap_or(serde_json::Value::Null),
        }
    }

    /// Reads a Keras activation name or the object written by [`Activation::to_config`].
    pub fn from_config(config: &serde_json::Value) -> Result<Activation> {
        match config {
            serde_json::Value::String(name) => Activation::from_name(name),
            serde_json::Value::Null => Ok(Activation::Linear),
            other => serde_json::from_value(other.clone())
                .map_err(|e| NnError::argument("activation", format!("cannot read {other}: {e}"))),
        }
    }

    /// The Keras name (parameters aside: `ReluWith` is "relu").
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu | Activation::ReluWith { .. } => "relu",
            Activation::Relu6 => "relu6",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::HardSilu => "hard_silu",
            Activation::Exponential => "exponential",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax { .. } => "softmax",
            Activation::LogSoftmax { .. } => "log_softmax",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keras_name_parses_and_names_itself_back() {
        for name in KNOWN.split(", ") {
            let act = Activation::from_name(name).unwrap();
            let back = match name {
                "swish" => "silu",
                "hard_swish" => "hard_silu",
                _ => name,
            };
            assert_eq!(act.name(), back);
        }
        assert!(Activation::from_name("relu7").is_err());
    }

    #[test]
    fn serializes_unit_variants_as_keras_names_and_round_trips_parameters() {
        assert_eq!(
            serde_json::to_string(&Activation::HardSigmoid).unwrap(),
            "\"hard_sigmoid\""
        );
        let relu: Activation = serde_json::from_str("\"relu\"").unwrap();
        assert_eq!(relu, Activation::Relu);
        for act in [
            Activation::Elu { alpha: 0.5 },
            Activation::Softmax { axis: 1 },
            Activation::ReluWith {
                negative_slope: 0.1,
                max_value: Some(6.0),
                threshold: -1.0,
            },
            Activation::Gelu { approximate: true },
        ] {
            let json = serde_json::to_string(&act).unwrap();
            assert_eq!(serde_json::from_str::<Activation>(&json).unwrap(), act);
            assert_eq!(Activation::from_config(&act.to_config()).unwrap(), act);
        }
    }

    #[test]
    fn config_form_is_the_bare_keras_name_for_default_parameters() {
        for name in KNOWN.split(", ") {
            let act = Activation::from_name(name).unwrap();
            assert_eq!(act.to_config(), serde_json::json!(act.name()));
            assert_eq!(Activation::from_config(&act.to_config()).unwrap(), act);
        }
        let elu = Activation::Elu { alpha: 0.5 };
        assert_eq!(elu.to_config(), serde_json::json!({"elu": {"alpha": 0.5}}));
        assert_eq!(
            Activation::from_config(&serde_json::Value::Null).unwrap(),
            Activation::Linear
        );
    }
}
