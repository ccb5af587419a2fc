//! Weight regularizers (L1, L2, L1L2), weight constraints (MaxNorm, NonNeg, UnitNorm,
//! MinMaxNorm), the per-weight rules a layer carries, and the loss collector, all with
//! Keras's formulas: L1 adds l1·Σ|w|, L2 adds l2·Σw² (no ½), and each constraint projects
//! the weight after an optimizer step exactly as keras/src/constraints/constraints.py does.
//!
//! Penalties are values, as Keras's `layer.losses`: in a training pass each layer records its
//! weights' penalties and the activity penalty on its output in its own [`RecordedLosses`];
//! a model clears every layer's record when a pass starts and gathers them with `losses()`
//! (`Module::losses`), which `fit` adds to the loss and a hand-written loop calls the same way.
//! Inference records nothing. A weight's penalty is recorded once however many times its
//! layer runs in the pass (a layer shared in a functional model), as Keras counts it once;
//! activity penalties at every call.

use crate::optimizers::keras_config::{class_and_config, json_f32, keras_object, ConfigReader};
use crate::{NnError, Result};
use krust_autograd::{no_grad, Var};
use krust_tensor::{Tensor, UnaryOp};
use serde_json::{json, Value};
use std::cell::RefCell;

/// The regularization losses one layer recorded in the current pass.
#[derive(Default)]
pub struct RecordedLosses(RefCell<Recorded>);

#[derive(Default)]
struct Recorded {
    losses: Vec<Var>,
    /// Weights whose penalty is already among `losses`.
    penalized: Vec<Var>,
}

impl RecordedLosses {
    /// The scalar losses recorded since the last `clear`, in the order they were added.
    pub fn losses(&self) -> Vec<Var> {
        self.0.borrow().losses.clone()
    }

    /// Forgets every recorded loss (a model calls it on each layer as a pass starts).
    pub fn clear(&self) {
        *self.0.borrow_mut() = Recorded::default();
    }

    /// Records a scalar loss term.
    pub fn add(&self, loss: Var) {
        self.0.borrow_mut().losses.push(loss);
    }

    /// Records `penalty(weight)` unless that weight's penalty is already recorded.
    fn add_weight_loss(
        &self,
        weight: &Var,
        penalty: impl FnOnce(&Var) -> Result<Var>,
    ) -> Result<()> {
        let fresh = !self
            .0
            .borrow()
            .penalized
            .iter()
            .any(|w| w.same_node(weight));
        if fresh {
            let loss = penalty(weight)?;
            let mut r = self.0.borrow_mut();
            r.penalized.push(weight.clone());
            r.losses.push(loss);
        }
        Ok(())
    }
}

/// A copy of a layer starts with nothing recorded.
impl Clone for RecordedLosses {
    fn clone(&self) -> Self {
        RecordedLosses::default()
    }
}

/// Recorded losses are run-time state, not part of a layer's identity.
impl PartialEq for RecordedLosses {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for RecordedLosses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordedLosses({})", self.0.borrow().losses.len())
    }
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

    /// Keras's serialized form, `{"module": "keras.regularizers", "class_name": "L2", ...}`.
    pub fn to_json(&self) -> Value {
        let (class, config) = match *self {
            Regularizer::L1 { l1 } => ("L1", json!({"l1": json_f32(l1)})),
            Regularizer::L2 { l2 } => ("L2", json!({"l2": json_f32(l2)})),
            Regularizer::L1L2 { l1, l2 } => {
                ("L1L2", json!({"l1": json_f32(l1), "l2": json_f32(l2)}))
            }
        };
        keras_object("keras.regularizers", class, config)
    }

    /// Reads Keras's {"class_name": "L2", "config": {"l2": 0.01}} form or a bare "l2", with
    /// Keras's defaults (0.01 for L1 and L2, 0 for both terms of L1L2).
    pub fn from_json(v: &Value) -> std::result::Result<Regularizer, String> {
        Self::read(v).map_err(|e| e.to_string())
    }

    fn read(v: &Value) -> Result<Regularizer> {
        let (class, config) = class_and_config("regularizer", v)?;
        let mut c = ConfigReader::new(class, &config)?;
        let regularizer = match class {
            "L1" | "l1" => Regularizer::L1 {
                l1: c.f32_or("l1", 0.01)?,
            },
            "L2" | "l2" => Regularizer::L2 {
                l2: c.f32_or("l2", 0.01)?,
            },
            "L1L2" | "l1_l2" => Regularizer::L1L2 {
                l1: c.f32_or("l1", 0.0)?,
                l2: c.f32_or("l2", 0.0)?,
            },
            other => {
                return Err(NnError::argument(
                    "regularizer",
                    format!("{other:?} is not supported by krust (known: L1, L2, L1L2)"),
                ))
            }
        };
        c.finish()?;
        Ok(regularizer)
    }
}

/// Keras's `backend.epsilon()`, which every norm constraint adds to the norm it divides by.
const EPSILON: f32 = 1e-7;

/// The L2 norms of `w`'s slices along `axis`, kept broadcastable against `w`.
fn norms(w: &Tensor, axis: &[isize]) -> Result<Tensor> {
    Ok(w.square().sum_axes(axis, true)?.sqrt())
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
        Constraint::MaxNorm(self.clone()).apply(w)
    }

    pub fn to_json(&self) -> Value {
        Constraint::MaxNorm(self.clone()).to_json()
    }

    pub fn from_json(v: &Value) -> std::result::Result<MaxNorm, String> {
        match Constraint::from_json(v)? {
            Constraint::MaxNorm(m) => Ok(m),
            other => Err(format!(
                "expected a MaxNorm constraint, got {}",
                other.class_name()
            )),
        }
    }
}

/// A projection Keras applies to a weight after every optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Slices along `axis` with an L2 norm above `max_value` are scaled back onto it.
    MaxNorm(MaxNorm),
    /// Negative entries become 0.
    NonNeg,
    /// Every slice along `axis` is scaled to unit L2 norm: w / (ε + n).
    UnitNorm { axis: Vec<isize> },
    /// Every slice's norm n moves towards clip(n, min, max) at `rate`:
    /// w · (rate·clip(n, min, max) + (1 - rate)·n) / (ε + n).
    MinMaxNorm {
        min_value: f32,
        max_value: f32,
        rate: f32,
        axis: Vec<isize>,
    },
}

impl From<MaxNorm> for Constraint {
    fn from(m: MaxNorm) -> Self {
        Constraint::MaxNorm(m)
    }
}

impl Constraint {
    /// Keras's unit-norm constraint over `axis` (Keras's default is [0]).
    pub fn unit_norm(axis: &[isize]) -> Self {
        Constraint::UnitNorm {
            axis: axis.to_vec(),
        }
    }

    /// Keras's min-max-norm constraint over `axis`.
    pub fn min_max_norm(min_value: f32, max_value: f32, rate: f32, axis: &[isize]) -> Self {
        Constraint::MinMaxNorm {
            min_value,
            max_value,
            rate,
            axis: axis.to_vec(),
        }
    }

    pub fn class_name(&self) -> &'static str {
        match self {
            Constraint::MaxNorm(_) => "MaxNorm",
            Constraint::NonNeg => "NonNeg",
            Constraint::UnitNorm { .. } => "UnitNorm",
            Constraint::MinMaxNorm { .. } => "MinMaxNorm",
        }
    }

    /// The projected weight value.
    pub fn project(&self, w: &Tensor) -> Result<Tensor> {
        // Every norm constraint rescales slices by a factor computed from their norm.
        // `target` maps the norms to the norms wanted; w is scaled by target / (ε + norm).
        let rescale = |axis: &[isize], target: &dyn Fn(&Tensor) -> Result<Tensor>| {
            let n = norms(w, axis)?;
            let scale = target(&n)?.div(&n.add_scalar(EPSILON))?;
            Ok::<_, NnError>(w.mul(&scale)?)
        };
        match self {
            Constraint::MaxNorm(MaxNorm { max_value, axis }) => {
                rescale(axis, &|n| Ok(n.clamp(0.0, *max_value)))
            }
            Constraint::NonNeg => Ok(w.relu()),
            Constraint::UnitNorm { axis } => rescale(axis, &|n| Ok(Tensor::ones(n.shape()))),
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axis,
            } => rescale(axis, &|n| {
                // Not `clamp`: it panics when min > max, where Keras's clip still answers.
                let clipped = n
                    .unary(UnaryOp::MaximumScalar(*min_value))
                    .unary(UnaryOp::MinimumScalar(*max_value));
                Ok(clipped.mul_scalar(*rate).add(&n.mul_scalar(1.0 - rate))?)
            }),
        }
    }

    /// Projects `w` in place, outside the tape.
    pub fn apply(&self, w: &Var) -> Result<()> {
        no_grad(|| {
            w.set_value(self.project(&w.value())?)
                .map_err(NnError::from)
        })
    }

    /// Keras's serialized form, `{"module": "keras.constraints", "class_name": ..., ...}`.
    pub fn to_json(&self) -> Value {
        let axis_json = |axis: &[isize]| match axis {
            [one] => json!(one),
            many => json!(many),
        };
        let config = match self {
            Constraint::MaxNorm(MaxNorm { max_value, axis }) => {
                json!({"max_value": json_f32(*max_value), "axis": axis_json(axis)})
            }
            Constraint::NonNeg => json!({}),
            Constraint::UnitNorm { axis } => json!({"axis": axis_json(axis)}),
            Constraint::MinMaxNorm {
                min_value,
                max_value,
                rate,
                axis,
            } => json!({
                "min_value": json_f32(*min_value),
                "max_value": json_f32(*max_value),
                "rate": json_f32(*rate),
                "axis": axis_json(axis),
            }),
        };
        keras_object("keras.constraints", self.class_name(), config)
    }

    /// Reads Keras's serialized form or a bare name ("non_neg", "max_norm", ...), with
    /// Keras's defaults: MaxNorm(2, axis 0), UnitNorm(axis 0), MinMaxNorm(0, 1, rate 1,
    /// axis 0).
    pub fn from_json(v: &Value) -> std::result::Result<Constraint, String> {
        Self::read(v).map_err(|e| e.to_string())
    }

    fn read(v: &Value) -> Result<Constraint> {
        let (class, config) = class_and_config("constraint", v)?;
        let mut c = ConfigReader::new(class, &config)?;
        let constraint = match class {
            "MaxNorm" | "max_norm" => Constraint::MaxNorm(MaxNorm {
                max_value: c.f32_or("max_value", 2.0)?,
                axis: read_axis(&mut c)?,
            }),
            "NonNeg" | "non_neg" => Constraint::NonNeg,
            "UnitNorm" | "unit_norm" => Constraint::UnitNorm {
                axis: read_axis(&mut c)?,
            },
            "MinMaxNorm" | "min_max_norm" => Constraint::MinMaxNorm {
                min_value: c.f32_or("min_value", 0.0)?,
                max_value: c.f32_or("max_value", 1.0)?,
                rate: c.f32_or("rate", 1.0)?,
                axis: read_axis(&mut c)?,
            },
            other => {
                return Err(NnError::argument(
                    "constraint",
                    format!(
                        "{other:?} is not supported by krust (known: MaxNorm, NonNeg, UnitNorm, MinMaxNorm)"
                    ),
                ))
            }
        };
        c.finish()?;
        Ok(constraint)
    }
}

/// A constraint's `axis`: one integer or a list (Keras's default 0).
fn read_axis(c: &mut ConfigReader) -> Result<Vec<isize>> {
    match c.value("axis") {
        None => Ok(vec![0]),
        Some(a) => match a.as_i64() {
            Some(one) => Ok(vec![one as isize]),
            None => a
                .as_array()
                .and_then(|x| x.iter().map(|i| i.as_i64().map(|n| n as isize)).collect())
                .ok_or_else(|| c.error("axis", format!("must be an integer or a list, got {a}"))),
        },
    }
}

/// The regularizer and constraint of one weight, named by its Keras argument prefix.
#[derive(Debug, Clone, PartialEq)]
struct WeightRule {
    /// "kernel", "bias", "depthwise", "pointwise", "embeddings", "gamma", "beta", "alpha".
    weight: &'static str,
    regularizer: Option<Regularizer>,
    constraint: Option<Constraint>,
}

/// Per-weight regularizers and constraints (Keras's `<weight>_regularizer` and
/// `<weight>_constraint`) plus the layer's `activity_regularizer`, read from and written
/// to its Keras config. Each layer lists its weights' prefixes once; the same code then
/// reads, writes, penalizes and constrains every weight.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightPenalties {
    layer: &'static str,
    rules: Vec<WeightRule>,
    /// Penalty on the layer's output, divided by the batch size as Keras does.
    pub activity_regularizer: Option<Regularizer>,
    /// What the current training pass added.
    recorded: RecordedLosses,
}

impl WeightPenalties {
    /// No penalties or constraints on the weights `weights` (Keras prefixes) of `layer`.
    pub fn new(layer: &'static str, weights: &[&'static str]) -> Self {
        WeightPenalties {
            layer,
            rules: weights
                .iter()
                .map(|&weight| WeightRule {
                    weight,
                    regularizer: None,
                    constraint: None,
                })
                .collect(),
            activity_regularizer: None,
            recorded: RecordedLosses::default(),
        }
    }

    /// Reads `<w>_regularizer` and `<w>_constraint` for each of the layer's weights, and
    /// `activity_regularizer`; absent or null means none, as in Keras.
    pub fn read(&mut self, c: &mut crate::config::ConfigReader) -> Result<()> {
        let layer = self.layer;
        // The inner error names the class or its field; add the layer and the argument.
        let wrap = |key: &str, e: NnError| NnError::layer(layer, format!("argument `{key}`: {e}"));
        for rule in &mut self.rules {
            let key = format!("{}_regularizer", rule.weight);
            rule.regularizer = c
                .value(&key)
                .map(|v| Regularizer::read(v).map_err(|e| wrap(&key, e)))
                .transpose()?;
            let key = format!("{}_constraint", rule.weight);
            rule.constraint = c
                .value(&key)
                .map(|v| Constraint::read(v).map_err(|e| wrap(&key, e)))
                .transpose()?;
        }
        self.activity_regularizer = c
            .value("activity_regularizer")
            .map(|v| Regularizer::read(v).map_err(|e| wrap("activity_regularizer", e)))
            .transpose()?;
        Ok(())
    }

    /// Writes every `<w>_regularizer`, `<w>_constraint` and `activity_regularizer` into
    /// `config`, null where unset as Keras does.
    pub fn write(&self, config: &mut Value) {
        for rule in &self.rules {
            config[format!("{}_regularizer", rule.weight)] =
                rule.regularizer.map_or(Value::Null, |r| r.to_json());
            config[format!("{}_constraint", rule.weight)] = rule
                .constraint
                .as_ref()
                .map_or(Value::Null, Constraint::to_json);
        }
        config["activity_regularizer"] = self
            .activity_regularizer
            .map_or(Value::Null, |r| r.to_json());
    }

    fn rule_mut(&mut self, weight: &str, what: &str) -> Result<&mut WeightRule> {
        let layer = self.layer;
        let known: Vec<&str> = self.rules.iter().map(|r| r.weight).collect();
        let known = known.join(", ");
        self.rules
            .iter_mut()
            .find(|r| r.weight == weight)
            .ok_or_else(|| {
                NnError::layer(
                    layer,
                    format!("argument `{weight}_{what}`: the layer has no weight {weight:?} (its weights: {known})"),
                )
            })
    }

    /// Sets (or with None clears) the regularizer of weight `weight` ("kernel", "bias", ...).
    pub fn set_regularizer(
        &mut self,
        weight: &str,
        regularizer: Option<Regularizer>,
    ) -> Result<()> {
        self.rule_mut(weight, "regularizer")?.regularizer = regularizer;
        Ok(())
    }

    /// Sets (or with None clears) the constraint of weight `weight`.
    pub fn set_constraint(&mut self, weight: &str, constraint: Option<Constraint>) -> Result<()> {
        self.rule_mut(weight, "constraint")?.constraint = constraint;
        Ok(())
    }

    pub fn regularizer(&self, weight: &str) -> Option<Regularizer> {
        self.rules
            .iter()
            .find(|r| r.weight == weight)
            .and_then(|r| r.regularizer)
    }

    pub fn constraint(&self, weight: &str) -> Option<&Constraint> {
        self.rules
            .iter()
            .find(|r| r.weight == weight)
            .and_then(|r| r.constraint.as_ref())
    }

    /// The rules paired with the layer's weight variables; a weight the layer does not have
    /// (a bias with use_bias off) is skipped, as Keras creates no variable for it.
    fn pairs<'a>(
        &'a self,
        weights: &'a [(&str, Option<&'a Var>)],
    ) -> impl Iterator<Item = (&'a WeightRule, &'a Var)> {
        debug_assert!(
            weights
                .iter()
                .all(|(w, _)| self.rules.iter().any(|r| r.weight == *w)),
            "{}: weights {:?} do not match the rules",
            self.layer,
            weights.iter().map(|(w, _)| *w).collect::<Vec<_>>()
        );
        self.rules.iter().filter_map(move |rule| {
            weights
                .iter()
                .find(|(w, _)| *w == rule.weight)
                .and_then(|(_, v)| v.map(|v| (rule, v)))
        })
    }

    /// The penalties recorded in the current pass (Keras's `layer.losses`).
    pub fn losses(&self) -> Vec<Var> {
        self.recorded.losses()
    }

    /// Forgets the recorded penalties.
    pub fn clear_losses(&self) {
        self.recorded.clear();
    }

    /// In a training pass, records each weight's penalty and the activity penalty on `output`.
    pub fn add_losses(
        &self,
        weights: &[(&str, Option<&Var>)],
        output: &Var,
        training: bool,
    ) -> Result<()> {
        if !training {
            return Ok(());
        }
        for (rule, w) in self.pairs(weights) {
            if let Some(r) = rule.regularizer {
                self.recorded.add_weight_loss(w, |w| r.penalty(w))?;
            }
        }
        if let Some(r) = self.activity_regularizer {
            // Keras divides the activity penalty by the batch size.
            let batch = output.shape().first().copied().unwrap_or(1).max(1);
            self.recorded
                .add(r.penalty(output)?.mul_scalar(1.0 / batch as f32));
        }
        Ok(())
    }

    /// Projects each weight that has a constraint (after an optimizer step).
    pub fn constrain(&self, weights: &[(&str, Option<&Var>)]) -> Result<()> {
        for (rule, w) in self.pairs(weights) {
            if let Some(c) = &rule.constraint {
                c.apply(w).map_err(|e| {
                    NnError::layer(
                        self.layer,
                        format!("argument `{}_constraint`: {e}", rule.weight),
                    )
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigReader as LayerConfigReader;

    fn item(v: Var) -> f32 {
        v.value().item().unwrap()
    }

    fn close(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
    }

    #[test]
    fn keras_penalty_formulas() {
        let w = Var::parameter(Tensor::from_vec([3], vec![1.0, -2.0, 3.0]).unwrap());
        assert_eq!(item(Regularizer::L1 { l1: 0.1 }.penalty(&w).unwrap()), 0.6);
        assert!((item(Regularizer::L2 { l2: 0.1 }.penalty(&w).unwrap()) - 1.4).abs() < 1e-6);
        assert!(
            (item(Regularizer::L1L2 { l1: 0.1, l2: 0.1 }.penalty(&w).unwrap()) - 2.0).abs() < 1e-6
        );
        assert_eq!(
            Regularizer::from_json(&Regularizer::L2 { l2: 0.5 }.to_json()),
            Ok(Regularizer::L2 { l2: 0.5 })
        );
        // Keras's short float form, not 0.009999999776482582.
        assert_eq!(
            Regularizer::L1 { l1: 0.01 }.to_json()["config"]["l1"],
            json!(0.01)
        );
        assert!(
            Regularizer::from_json(&json!({"class_name": "OrthogonalRegularizer"}))
                .unwrap_err()
                .contains("OrthogonalRegularizer")
        );
        assert!(
            Regularizer::from_json(&json!({"class_name": "L2", "config": {"l2": "big"}}))
                .unwrap_err()
                .contains("l2")
        );
    }

    #[test]
    fn recorded_losses_accumulate_until_cleared_and_copies_start_empty() {
        let r = RecordedLosses::default();
        r.add(Var::constant(Tensor::scalar(1.0)));
        r.add(Var::constant(Tensor::scalar(2.0)));
        let got: Vec<f32> = r.losses().into_iter().map(item).collect();
        assert_eq!(got, vec![1.0, 2.0]);
        assert!(r.clone().losses().is_empty());
        r.clear();
        assert!(r.losses().is_empty());
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

    #[test]
    fn non_neg_zeroes_negative_entries() {
        let w = Tensor::from_vec([4], vec![-1.5, 0.0, 2.0, -0.1]).unwrap();
        let v = Constraint::NonNeg.project(&w).unwrap().to_vec();
        assert_eq!(v, vec![0.0, 0.0, 2.0, 0.0]);
    }

    #[test]
    fn unit_norm_scales_every_slice_to_norm_one() {
        // Rows (axis 1 reduced): norms 5 and 0.5 both become 1 (up to ε = 1e-7).
        let w = Tensor::from_vec([2, 2], vec![3.0, 4.0, 0.3, 0.4]).unwrap();
        let v = Constraint::unit_norm(&[1]).project(&w).unwrap().to_vec();
        let want = [3.0 / (5.0 + 1e-7), 4.0 / (5.0 + 1e-7), 0.6, 0.8];
        assert!(close(&v, &want), "{v:?}");
    }

    #[test]
    fn min_max_norm_moves_norms_into_the_range_at_rate() {
        // Columns: norms 5 (above max 2), 0.5 (below min 1) and 1.5 (inside).
        let w = Tensor::from_vec([2, 3], vec![3.0, 0.3, 0.9, 4.0, 0.4, 1.2]).unwrap();
        let full = Constraint::min_max_norm(1.0, 2.0, 1.0, &[0]);
        let v = full.project(&w).unwrap().to_vec();
        assert!(close(&v, &[1.2, 0.6, 0.9, 1.6, 0.8, 1.2]), "{v:?}");
        // rate 0.5: halfway between the old and the clipped norm.
        let half = Constraint::min_max_norm(1.0, 2.0, 0.5, &[0]);
        let v = half.project(&w).unwrap().to_vec();
        let (a, b) = ((0.5 * 2.0 + 0.5 * 5.0) / 5.0, (0.5 * 1.0 + 0.5 * 0.5) / 0.5);
        assert!(
            close(&v, &[3.0 * a, 0.3 * b, 0.9, 4.0 * a, 0.4 * b, 1.2]),
            "{v:?}"
        );
    }

    #[test]
    fn constraints_round_trip_through_keras_json() {
        for c in [
            Constraint::MaxNorm(MaxNorm::new(1.5)),
            Constraint::NonNeg,
            Constraint::unit_norm(&[0, 1]),
            Constraint::min_max_norm(0.5, 3.0, 0.25, &[-1]),
        ] {
            assert_eq!(Constraint::from_json(&c.to_json()), Ok(c.clone()));
        }
        // Bare Keras names take Keras's defaults.
        assert_eq!(
            Constraint::from_json(&json!("max_norm")),
            Ok(Constraint::MaxNorm(MaxNorm::new(2.0)))
        );
        assert_eq!(
            Constraint::from_json(&json!("min_max_norm")),
            Ok(Constraint::min_max_norm(0.0, 1.0, 1.0, &[0]))
        );
        let err = Constraint::from_json(&json!({"class_name": "RadialConstraint"})).unwrap_err();
        assert!(err.contains("RadialConstraint"), "{err}");
        let err = Constraint::from_json(
            &json!({"class_name": "MaxNorm", "config": {"max_value": 2, "axes": 0}}),
        )
        .unwrap_err();
        assert!(err.contains("axes"), "{err}");
    }

    #[test]
    fn weight_penalties_read_write_and_name_the_argument() {
        let config = json!({
            "depthwise_regularizer": {"class_name": "L1", "config": {"l1": 0.5}},
            "pointwise_constraint": "non_neg",
            "activity_regularizer": "l2",
        });
        let mut c = LayerConfigReader::new("SeparableConv2D", &config).unwrap();
        let mut p = WeightPenalties::new("SeparableConv2D", &["depthwise", "pointwise", "bias"]);
        p.read(&mut c).unwrap();
        c.finish().unwrap();
        assert_eq!(
            p.regularizer("depthwise"),
            Some(Regularizer::L1 { l1: 0.5 })
        );
        assert_eq!(p.constraint("pointwise"), Some(&Constraint::NonNeg));
        assert_eq!(p.activity_regularizer, Some(Regularizer::L2 { l2: 0.01 }));
        let mut out = json!({});
        p.write(&mut out);
        assert_eq!(out["bias_regularizer"], Value::Null);
        assert_eq!(out["depthwise_constraint"], Value::Null);
        assert_eq!(out["pointwise_constraint"]["class_name"], "NonNeg");

        let bad = json!({"gamma_constraint": {"class_name": "Frobnicate"}});
        let mut c = LayerConfigReader::new("LayerNormalization", &bad).unwrap();
        let err = WeightPenalties::new("LayerNormalization", &["gamma", "beta"])
            .read(&mut c)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("LayerNormalization")
                && err.contains("gamma_constraint")
                && err.contains("Frobnicate"),
            "{err}"
        );

        let mut p = WeightPenalties::new("PReLU", &["alpha"]);
        let err = p
            .set_regularizer("kernel", Some(Regularizer::L1 { l1: 1.0 }))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("PReLU") && err.contains("kernel_regularizer"),
            "{err}"
        );
    }

    #[test]
    fn penalties_skip_missing_weights_and_divide_activity_by_the_batch() {
        let mut p = WeightPenalties::new("Dense", &["kernel", "bias"]);
        p.set_regularizer("kernel", Some(Regularizer::L1 { l1: 1.0 }))
            .unwrap();
        p.set_regularizer("bias", Some(Regularizer::L1 { l1: 1.0 }))
            .unwrap();
        p.activity_regularizer = Some(Regularizer::L1 { l1: 1.0 });
        let k = Var::parameter(Tensor::from_vec([2], vec![1.0, -2.0]).unwrap());
        let out = Var::constant(Tensor::from_vec([4, 1], vec![1.0, 1.0, -1.0, 1.0]).unwrap());
        p.add_losses(&[("kernel", Some(&k)), ("bias", None)], &out, true)
            .unwrap();
        let got: Vec<f32> = p.losses().into_iter().map(item).collect();
        assert_eq!(got, vec![3.0, 1.0]);
        p.clear_losses();
        p.add_losses(&[("kernel", Some(&k))], &out, false).unwrap();
        assert!(p.losses().is_empty());
    }

    #[test]
    fn a_weight_used_twice_in_a_pass_is_penalized_once_and_each_activity_every_time() {
        // A layer shared in a functional model runs twice; Keras counts its weights once.
        let mut p = WeightPenalties::new("Dense", &["kernel", "bias"]);
        p.set_regularizer("kernel", Some(Regularizer::L1 { l1: 1.0 }))
            .unwrap();
        p.activity_regularizer = Some(Regularizer::L1 { l1: 1.0 });
        let k = Var::parameter(Tensor::from_vec([2], vec![1.0, -2.0]).unwrap());
        let out = Var::constant(Tensor::from_vec([1, 1], vec![0.5]).unwrap());
        for _ in 0..2 {
            p.add_losses(&[("kernel", Some(&k))], &out, true).unwrap();
        }
        let got: Vec<f32> = p.losses().into_iter().map(item).collect();
        assert_eq!(got, vec![3.0, 0.5, 0.5]);
        // A new pass starts from a cleared record.
        p.clear_losses();
        p.add_losses(&[("kernel", Some(&k))], &out, true).unwrap();
        assert_eq!(p.losses().len(), 2);
    }
}

/// One check every layer with weights runs from its own tests, in the spirit of Keras's
/// `run_layer_test`: the layer is configured through Keras's arguments only, and every
/// expected number is computed here by hand, not with the code under test.
#[cfg(test)]
pub(crate) mod layer_checks {
    use crate::layers::{layer_from_config, Layer};
    use krust_autograd::Var;
    use krust_tensor::Tensor;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use serde_json::{json, Value};

    /// Uniform values in [-1, 1), reproducible from `seed`.
    pub fn random(shape: &[usize], seed: u64) -> Tensor {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = shape.iter().product();
        Tensor::from_vec(shape, (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect()).unwrap()
    }

    /// Per weight i: initializer Constant(0.5 + 0.25·i), regularizer
    /// L1L2(0.01·(i+1), 0.02·(i+1)), constraint NonNeg (even i) or MaxNorm(0.5, axis 0)
    /// (odd i); and activity_regularizer L2(0.05).
    fn rules(i: usize) -> (f32, f64, f64, bool) {
        let k = (i + 1) as f64;
        (
            0.5 + 0.25 * i as f32,
            0.01 * k,
            0.02 * k,
            i.is_multiple_of(2),
        )
    }

    const ACTIVITY_L2: f64 = 0.05;
    const MAX_NORM: f64 = 0.5;

    /// MaxNorm over axis 0 by hand: every slice w[:, j] with norm n is scaled by
    /// min(n, max) / (1e-7 + n).
    fn max_norm_axis0(w: &Tensor) -> Vec<f64> {
        let v: Vec<f64> = w.to_vec().iter().map(|&x| x as f64).collect();
        let rest = v.len() / w.shape()[0];
        let mut norms = vec![0.0; rest];
        for (i, x) in v.iter().enumerate() {
            norms[i % rest] += x * x;
        }
        let norms: Vec<f64> = norms.into_iter().map(f64::sqrt).collect();
        v.iter()
            .enumerate()
            .map(|(i, x)| x * norms[i % rest].min(MAX_NORM) / (1e-7 + norms[i % rest]))
            .collect()
    }

    fn weight(layer: &dyn Layer, name: &str) -> Var {
        layer
            .weights()
            .into_iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no weight {name}"))
            .1
    }

    /// Configures `class` from `base` plus the rules above on each `(prefix, weight name)`,
    /// and checks: the initializers fill the weights and survive a config round trip; a
    /// training pass adds exactly Σ (l1·Σ|w| + l2·Σw²) + 0.05·Σy² / batch; an inference
    /// pass adds nothing; `apply_constraints` projects each weight as its constraint says.
    pub fn check_weight_rules(class: &str, base: Value, weights: &[(&str, &str)], x: &Tensor) {
        let mut config = base;
        for (i, (prefix, _)) in weights.iter().enumerate() {
            let (init, l1, l2, non_neg) = rules(i);
            config[format!("{prefix}_initializer")] =
                json!({"class_name": "Constant", "config": {"value": init}});
            config[format!("{prefix}_regularizer")] =
                json!({"class_name": "L1L2", "config": {"l1": l1, "l2": l2}});
            config[format!("{prefix}_constraint")] = if non_neg {
                json!({"class_name": "NonNeg", "config": {}})
            } else {
                json!({"class_name": "MaxNorm", "config": {"max_value": MAX_NORM, "axis": 0}})
            };
        }
        config["activity_regularizer"] = json!({"class_name": "L2", "config": {"l2": ACTIVITY_L2}});

        let input_shape = &x.shape()[1..];
        let mut layer = layer_from_config(class, &config).unwrap_or_else(|e| panic!("{e}"));
        layer.build(input_shape).unwrap();
        let round_trip = layer.config();
        let mut again = layer_from_config(class, &round_trip).unwrap();
        assert_eq!(again.config(), round_trip, "{class}: config round trip");
        again.build(input_shape).unwrap();
        for (i, (prefix, name)) in weights.iter().enumerate() {
            let want = rules(i).0;
            for l in [&layer, &again] {
                let w = weight(l.as_ref(), name).value();
                assert!(
                    w.to_vec().iter().all(|&v| v == want),
                    "{class}: {prefix}_initializer Constant({want}) gave {:?}",
                    w.to_vec()
                );
            }
        }

        // Non-trivial weights, so that the penalties and constraints have work to do.
        for (i, (_, name)) in weights.iter().enumerate() {
            let w = weight(layer.as_ref(), name);
            w.set_value(random(&w.shape(), 10 + i as u64).mul_scalar(2.0))
                .unwrap();
        }
        let input = Var::constant(x.clone());
        layer.clear_losses();
        let y = layer.forward(&input, true).unwrap().value();
        let losses = layer.losses();
        let mut want: f64 = y.to_vec().iter().map(|&v| (v as f64).powi(2)).sum::<f64>()
            * ACTIVITY_L2
            / x.shape()[0] as f64;
        for (i, (_, name)) in weights.iter().enumerate() {
            let (_, l1, l2, _) = rules(i);
            let w = weight(layer.as_ref(), name).value();
            want += w
                .to_vec()
                .iter()
                .map(|&v| l1 * (v as f64).abs() + l2 * (v as f64).powi(2))
                .sum::<f64>();
        }
        assert_eq!(
            losses.len(),
            weights.len() + 1,
            "{class}: one loss per rule"
        );
        let got: f64 = losses
            .iter()
            .map(|l| l.value().item().unwrap() as f64)
            .sum();
        assert!(
            (got - want).abs() <= 1e-5 * want.abs().max(1.0),
            "{class}: penalty {got}, by hand {want}"
        );
        layer.clear_losses();
        layer.forward(&input, false).unwrap();
        assert!(
            layer.losses().is_empty(),
            "{class}: inference adds no penalty"
        );

        let before: Vec<Tensor> = weights
            .iter()
            .map(|(_, name)| weight(layer.as_ref(), name).value())
            .collect();
        layer.apply_constraints().unwrap();
        for (i, (prefix, name)) in weights.iter().enumerate() {
            let w = &before[i];
            let want: Vec<f64> = if rules(i).3 {
                w.to_vec().iter().map(|&v| (v as f64).max(0.0)).collect()
            } else {
                max_norm_axis0(w)
            };
            let got = weight(layer.as_ref(), name).value();
            let worst = got
                .to_vec()
                .iter()
                .zip(&want)
                .map(|(&g, w)| (g as f64 - w).abs())
                .fold(0.0, f64::max);
            assert!(
                worst < 1e-6,
                "{class}: {prefix}_constraint, worst error {worst}"
            );
        }
    }
}
