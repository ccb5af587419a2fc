//! Weight regularizers (L1, L2, L1L2), the activity-regularization loss collector, and the
//! max-norm constraint, with Keras's formulas: L1 adds l1·Σ|w|, L2 adds l2·Σw² (no ½), and
//! MaxNorm rescales each slice along `axis` whose L2 norm exceeds max_value.
//!
//! Layers add penalties with [`add_loss`] while a training forward pass runs inside
//! [`collecting`]; outside such a scope `add_loss` does nothing, so inference never
//! accumulates anything.

use crate::{NnError, Result};
use krust_autograd::{no_grad, Var};
use serde_json::{json, Value};
use std::cell::RefCell;

thread_local! {
    static LOSSES: RefCell<Option<Vec<Var>>> = const { RefCell::new(None) };
}

/// Runs `f` (a training forward pass) and returns its result with the losses layers added.
pub fn collecting<T>(f: impl FnOnce() -> T) -> (T, Vec<Var>) {
    let outer = LOSSES.with(|l| l.replace(Some(Vec::new())));
    let out = f();
    let losses = LOSSES.with(|l| l.replace(outer)).unwrap_or_default();
    (out, losses)
}

/// Adds a scalar loss term (a regularization penalty) to the enclosing `collecting` scope.
pub fn add_loss(loss: Var) {
    LOSSES.with(|l| {
        if let Some(v) = l.borrow_mut().as_mut() {
            v.push(loss);
        }
    });
}

/// A penalty on a weight or an activation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Regularizer {
    L1 { l1: f32 },
    L2 { l2: f32 },
    L1L2 { l1: f32, l2: f32 },
}

impl Regularizer {
    fn coefficients(&self) -> (f32, f32) {
        match *self {
            Regularizer::L1 { l1 } => (l1, 0.0),
            Regularizer::L2 { l2 } => (0.0, l2),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        }
    }

    /// l1·Σ|x| + l2·Σx², as a scalar on the tape.
    pub fn penalty(&self, x: &Var) -> Result<Var> {
        let (l1, l2) = self.coefficients();
        let mut terms = Vec::new();
        if l1 != 0.0 {
            terms.push(x.abs().sum()?.mul_scalar(l1));
        }
        if l2 != 0.0 {
            terms.push(x.square().sum()?.mul_scalar(l2));
        }
        let mut total = terms.pop().unwrap_or_else(|| {
            x.sum()
                .map(|s| s.mul_scalar(0.0))
                .unwrap_or_else(|_| x.clone())
        });
        for t in terms {
            total = total.add(&t)?;
        }
        Ok(total)
    }

    pub fn to_json(&self) -> Value {
        let (class, config) = match *self {
            Regularizer::L1 { l1 } => ("L1", json!({"l1": l1})),
            Regularizer::L2 { l2 } => ("L2", json!({"l2": l2})),
            Regularizer::L1L2 { l1, l2 } => ("L1L2", json!({"l1": l1, "l2": l2})),
        };
        json!({"module": "keras.regularizers", "class_name": class, "config": config, "registered_name": null})
    }

    /// Reads Keras's {"class_name": "L2", "config": {"l2": 0.01}} form or a bare "l2".
    pub fn from_json(v: &Value) -> std::result::Result<Regularizer, String> {
        let (class, config) = match v {
            Value::String(s) => (s.as_str(), Value::Null),
            Value::Object(m) => (
                m.get("class_name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("no class_name in {v}"))?,
                m.get("config").cloned().unwrap_or(Value::Null),
            ),
            _ => return Err(format!("expected a regularizer, got {v}")),
        };
        let get = |k: &str, default: f32| {
            config
                .get(k)
                .and_then(Value::as_f64)
                .map(|x| x as f32)
                .unwrap_or(default)
        };
        match class {
            "L1" | "l1" => Ok(Regularizer::L1 {
                l1: get("l1", 0.01),
            }),
            "L2" | "l2" => Ok(Regularizer::L2 {
                l2: get("l2", 0.01),
            }),
            "L1L2" | "l1_l2" => Ok(Regularizer::L1L2 {
                l1: get("l1", 0.0),
                l2: get("l2", 0.0),
            }),
            other => Err(format!(
                "regularizer {other:?} is not supported by krust (known: L1, L2, L1L2)"
            )),
        }
    }
}

/// Keras's MaxNorm: after each update, slices along `axis` (default 0: per output unit of
/// a Dense or Conv kernel) whose L2 norm exceeds `max_value` are scaled back onto it.
#[derive(Debug, Clone, PartialEq)]
pub struct MaxNorm {
    pub max_value: f32,
    pub axis: Vec<isize>,
}

impl MaxNorm {
    pub fn new(max_value: f32) -> Self {
        MaxNorm {
            max_value,
            axis: vec![0],
        }
    }

    /// Applies the constraint to `w` in place: w · clip(n, 0, max) / (ε + n), ε = 1e-7.
    pub fn apply(&self, w: &Var) -> Result<()> {
        no_grad(|| -> Result<()> {
            let t = w.value();
            let norms = t.square().sum_axes(&self.axis, true)?.sqrt();
            let max = self.max_value;
            let scale = norms.map(|n| n.clamp(0.0, max) / (1e-7 + n));
            w.set_value(t.mul(&scale)?)?;
            Ok(())
        })
    }

    pub fn to_json(&self) -> Value {
        let axis = if self.axis.len() == 1 {
            json!(self.axis[0])
        } else {
            json!(self.axis)
        };
        json!({"module": "keras.constraints", "class_name": "MaxNorm", "config": {"max_value": self.max_value, "axis": axis}, "registered_name": null})
    }

    pub fn from_json(v: &Value) -> std::result::Result<MaxNorm, String> {
        let class = v.get("class_name").and_then(Value::as_str).unwrap_or("");
        if class != "MaxNorm" {
            return Err(format!(
                "constraint {class:?} is not supported by krust (known: MaxNorm)"
            ));
        }
        let c = &v["config"];
        let max_value = c.get("max_value").and_then(Value::as_f64).unwrap_or(2.0) as f32;
        let axis = match c.get("axis") {
            None | Some(Value::Null) => vec![0],
            Some(a) if a.is_i64() => vec![a.as_i64().unwrap_or(0) as isize],
            Some(a) => a
                .as_array()
                .and_then(|x| x.iter().map(|i| i.as_i64().map(|n| n as isize)).collect())
                .ok_or_else(|| format!("bad MaxNorm axis {a}"))?,
        };
        Ok(MaxNorm { max_value, axis })
    }
}

/// Weight regularizers and constraints a layer may carry, read from and written to its
/// Keras config.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightPenalties {
    pub kernel_regularizer: Option<Regularizer>,
    pub bias_regularizer: Option<Regularizer>,
    pub activity_regularizer: Option<Regularizer>,
    pub kernel_constraint: Option<MaxNorm>,
    pub bias_constraint: Option<MaxNorm>,
}

impl WeightPenalties {
    pub fn read(c: &mut crate::config::ConfigReader, layer: &str) -> Result<Self> {
        let reg = |v: Option<&Value>, key: &str| -> Result<Option<Regularizer>> {
            v.map(|v| {
                Regularizer::from_json(v)
                    .map_err(|why| NnError::layer(layer, format!("argument `{key}`: {why}")))
            })
            .transpose()
        };
        let con = |v: Option<&Value>, key: &str| -> Result<Option<MaxNorm>> {
            v.map(|v| {
                MaxNorm::from_json(v)
                    .map_err(|why| NnError::layer(layer, format!("argument `{key}`: {why}")))
            })
            .transpose()
        };
        Ok(WeightPenalties {
            kernel_regularizer: reg(c.value("kernel_regularizer"), "kernel_regularizer")?,
            bias_regularizer: reg(c.value("bias_regularizer"), "bias_regularizer")?,
            activity_regularizer: reg(c.value("activity_regularizer"), "activity_regularizer")?,
            kernel_constraint: con(c.value("kernel_constraint"), "kernel_constraint")?,
            bias_constraint: con(c.value("bias_constraint"), "bias_constraint")?,
        })
    }

    pub fn write(&self, config: &mut Value) {
        config["kernel_regularizer"] = self
            .kernel_regularizer
            .map(|r| r.to_json())
            .unwrap_or(Value::Null);
        config["bias_regularizer"] = self
            .bias_regularizer
            .map(|r| r.to_json())
            .unwrap_or(Value::Null);
        config["activity_regularizer"] = self
            .activity_regularizer
            .map(|r| r.to_json())
            .unwrap_or(Value::Null);
        config["kernel_constraint"] = self
            .kernel_constraint
            .as_ref()
            .map(|c| c.to_json())
            .unwrap_or(Value::Null);
        config["bias_constraint"] = self
            .bias_constraint
            .as_ref()
            .map(|c| c.to_json())
            .unwrap_or(Value::Null);
    }

    /// Adds the weight and activity penalties of a training forward pass.
    pub fn add_losses(
        &self,
        kernel: Option<&Var>,
        bias: Option<&Var>,
        output: &Var,
        training: bool,
    ) -> Result<()> {
        if !training {
            return Ok(());
        }
        if let (Some(r), Some(k)) = (self.kernel_regularizer, kernel) {
            add_loss(r.penalty(k)?);
        }
        if let (Some(r), Some(b)) = (self.bias_regularizer, bias) {
            add_loss(r.penalty(b)?);
        }
        if let Some(r) = self.activity_regularizer {
            // Keras divides the activity penalty by the batch size.
            let batch = output.shape().first().copied().unwrap_or(1).max(1);
            add_loss(r.penalty(output)?.mul_scalar(1.0 / batch as f32));
        }
        Ok(())
    }

    pub fn constrain(&self, kernel: Option<&Var>, bias: Option<&Var>) -> Result<()> {
        if let (Some(c), Some(k)) = (&self.kernel_constraint, kernel) {
            c.apply(k)?;
        }
        if let (Some(c), Some(b)) = (&self.bias_constraint, bias) {
            c.apply(b)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use krust_tensor::Tensor;

    #[test]
    fn keras_penalty_formulas() {
        let w = Var::parameter(Tensor::from_vec([3], vec![1.0, -2.0, 3.0]).unwrap());
        assert_eq!(
            Regularizer::L1 { l1: 0.1 }
                .penalty(&w)
                .unwrap()
                .value()
                .item()
                .unwrap(),
            0.6
        );
        assert!(
            (Regularizer::L2 { l2: 0.1 }
                .penalty(&w)
                .unwrap()
                .value()
                .item()
                .unwrap()
                - 1.4)
                .abs()
                < 1e-6
        );
        assert!(
            (Regularizer::L1L2 { l1: 0.1, l2: 0.1 }
                .penalty(&w)
                .unwrap()
                .value()
                .item()
                .unwrap()
                - 2.0)
                .abs()
                < 1e-6
        );
        assert_eq!(
            Regularizer::from_json(&Regularizer::L2 { l2: 0.5 }.to_json()),
            Ok(Regularizer::L2 { l2: 0.5 })
        );
        assert!(
            Regularizer::from_json(&json!({"class_name": "OrthogonalRegularizer"}))
                .unwrap_err()
                .contains("OrthogonalRegularizer")
        );
    }

    #[test]
    fn losses_are_collected_only_inside_a_scope() {
        add_loss(Var::constant(Tensor::scalar(1.0)));
        let ((), losses) = collecting(|| add_loss(Var::constant(Tensor::scalar(2.0))));
        assert_eq!(losses.len(), 1);
        let ((), none) = collecting(|| ());
        assert!(none.is_empty());
    }

    #[test]
    fn max_norm_rescales_only_long_columns() {
        // Columns (axis 0 reduced): norms 5 and 0.5; max 2 scales the first to norm 2.
        let w = Var::parameter(Tensor::from_vec([2, 2], vec![3.0, 0.3, 4.0, 0.4]).unwrap());
        MaxNorm::new(2.0).apply(&w).unwrap();
        let v = w.value().to_vec();
        assert!((v[0] - 1.2).abs() < 1e-5 && (v[2] - 1.6).abs() < 1e-5);
        assert!((v[1] - 0.3).abs() < 1e-5 && (v[3] - 0.4).abs() < 1e-5);
    }
}
