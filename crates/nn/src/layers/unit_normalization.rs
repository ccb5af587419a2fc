//! `UnitNormalization`: scales each sample to unit L2 norm over `axis`,
//! y = x / √max(Σx², 1e-12), as Keras does.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct UnitNormalization {
    /// Axes counted with the batch axis, as in Keras; the batch axis itself cannot be
    /// normalized over. Default `-1`.
    pub axis: Vec<isize>,
    /// The axes of the batched input, resolved by `build`.
    resolved: Vec<isize>,
}

impl UnitNormalization {
    pub fn new() -> Self {
        UnitNormalization::with_axis(&[-1])
    }

    pub fn with_axis(axis: &[isize]) -> Self {
        UnitNormalization {
            axis: axis.to_vec(),
            resolved: Vec::new(),
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("UnitNormalization", config)?;
        let mut layer = UnitNormalization::new();
        if let Some(v) = c.value("axis") {
            layer.axis = axis_list(v).ok_or_else(|| {
                NnError::argument("axis", format!("expected an integer or integers, got {v}"))
            })?;
        }
        c.finish()?;
        Ok(layer)
    }
}

impl Default for UnitNormalization {
    fn default() -> Self {
        UnitNormalization::new()
    }
}

/// An integer or a list of integers.
pub(crate) fn axis_list(v: &Value) -> Option<Vec<isize>> {
    if let Some(n) = v.as_i64() {
        return Some(vec![n as isize]);
    }
    v.as_array()?
        .iter()
        .map(|a| a.as_i64().map(|n| n as isize))
        .collect()
}

impl Layer for UnitNormalization {
    fn class_name(&self) -> &'static str {
        "UnitNormalization"
    }

    fn config(&self) -> Value {
        json!({"axis": self.axis})
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let rank = input_shape.len() as isize + 1;
        self.resolved = self
            .axis
            .iter()
            .map(|&a| {
                let r = if a < 0 { a + rank } else { a };
                if r <= 0 || r >= rank {
                    Err(NnError::layer(
                        "UnitNormalization",
                        format!("axis {a} is not a feature axis of inputs {input_shape:?}"),
                    ))
                } else {
                    Ok(r)
                }
            })
            .collect::<Result<_>>()?;
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        if self.resolved.is_empty() {
            return Err(NnError::layer("UnitNormalization", "used before build"));
        }
        let norm = x
            .square()
            .sum_axes(&self.resolved, true)?
            .clip(1e-12, f32::MAX)
            .sqrt();
        Ok(x.div(&norm)?)
    }
}
