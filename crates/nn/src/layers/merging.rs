//! Merge layers: combine several inputs of one (broadcastable) shape elementwise (`Add`, `Subtract`,
//! `Multiply`, `Average`, `Maximum`, `Minimum`) or join them along an axis (`Concatenate`).

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

/// How an elementwise merge folds its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fold {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

/// The shape the inputs broadcast to (NumPy rules, as Keras's merge layers allow: a
/// squeeze-and-excitation block multiplies (h, w, c) by (1, 1, c)).
fn check_same_shapes(layer: &str, shapes: &[Vec<usize>], min: usize) -> Result<Vec<usize>> {
    if shapes.len() < min {
        return Err(NnError::layer(
            layer,
            format!("needs at least {min} inputs, got {}", shapes.len()),
        ));
    }
    let mut out = shapes[0].clone();
    for other in &shapes[1..] {
        out = krust_tensor::broadcast_shapes("merge", &out, other).map_err(|_| {
            NnError::layer(
                layer,
                format!(
                    "inputs must have equal (or broadcastable) shapes, got {:?} and {other:?}",
                    shapes[0]
                ),
            )
        })?;
    }
    Ok(out)
}

fn fold(kind: Fold, xs: &[Var]) -> Result<Var> {
    let mut acc = xs[0].clone();
    for x in &xs[1..] {
        acc = match kind {
            Fold::Add | Fold::Average => acc.add(x)?,
            Fold::Subtract => acc.sub(x)?,
            Fold::Multiply => acc.mul(x)?,
            Fold::Maximum => acc.maximum(x)?,
            Fold::Minimum => acc.minimum(x)?,
        };
    }
    Ok(if kind == Fold::Average {
        acc.mul_scalar(1.0 / xs.len() as f32)
    } else {
        acc
    })
}

macro_rules! elementwise_merge {
    ($name:ident, $kind:expr, $min:expr, $max:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Default)]
        pub struct $name;

        impl $name {
            pub fn new() -> Self {
                $name
            }
        }

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                stringify!($name)
            }

            fn config(&self) -> serde_json::Value {
                serde_json::json!({})
            }

            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                self.build_multi(&[input_shape.to_vec()])
            }

            fn build_multi(&mut self, input_shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
                if input_shapes.len() > $max {
                    return Err(NnError::layer(
                        stringify!($name),
                        format!("takes exactly {} inputs, got {}", $max, input_shapes.len()),
                    ));
                }
                check_same_shapes(stringify!($name), input_shapes, $min)
            }

            fn forward(&self, x: &Var, training: bool) -> Result<Var> {
                self.forward_multi(std::slice::from_ref(x), training)
            }

            fn forward_multi(&self, xs: &[Var], _training: bool) -> Result<Var> {
                let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape()).collect();
                check_same_shapes(stringify!($name), &shapes, $min)?;
                fold($kind, xs)
            }

            fn inference_role(&self) -> Option<crate::inference::InferenceRole> {
                matches!($kind, Fold::Add).then_some(crate::inference::InferenceRole::Add)
            }
        }
    };
}

elementwise_merge!(
    Add,
    Fold::Add,
    2,
    usize::MAX,
    "Elementwise sum of its inputs."
);
elementwise_merge!(
    Subtract,
    Fold::Subtract,
    2,
    2,
    "First input minus the second (exactly two)."
);
elementwise_merge!(
    Multiply,
    Fold::Multiply,
    2,
    usize::MAX,
    "Elementwise product of its inputs."
);
elementwise_merge!(
    Average,
    Fold::Average,
    2,
    usize::MAX,
    "Elementwise mean of its inputs."
);
elementwise_merge!(
    Maximum,
    Fold::Maximum,
    2,
    usize::MAX,
    "Elementwise maximum of its inputs."
);
elementwise_merge!(
    Minimum,
    Fold::Minimum,
    2,
    usize::MAX,
    "Elementwise minimum of its inputs."
);

/// Joins its inputs along `axis`. Its field is its Keras argument (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Concatenate::keras_defaults", deny_unknown_fields)]
pub struct Concatenate {
    /// Counted on the full shape with the batch axis. Default `-1`.
    pub axis: isize,
}

impl Default for Concatenate {
    fn default() -> Self {
        Concatenate::keras_defaults()
    }
}

impl KerasArgs for Concatenate {}

impl Concatenate {
    /// Keras's default, the one place it is written.
    fn keras_defaults() -> Self {
        Concatenate { axis: -1 }
    }

    pub fn new(axis: isize) -> Self {
        Concatenate { axis }
    }

    /// Builds the layer from its Keras config.
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("Concatenate", config)
    }

    /// The axis within a per-sample shape of `rank` dimensions (the batch axis excluded).
    fn sample_axis(&self, rank: usize) -> Result<usize> {
        let full = rank as isize + 1;
        let a = if self.axis < 0 {
            self.axis + full
        } else {
            self.axis
        };
        if a < 1 || a >= full {
            return Err(NnError::layer(
                "Concatenate",
                format!("axis {} is out of range for inputs of rank {full} (the batch axis 0 cannot be joined)", self.axis),
            ));
        }
        Ok(a as usize - 1)
    }
}

impl Layer for Concatenate {
    fn class_name(&self) -> &'static str {
        "Concatenate"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.build_multi(&[input_shape.to_vec()])
    }

    fn build_multi(&mut self, input_shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        if input_shapes.len() < 2 {
            return Err(NnError::layer(
                "Concatenate",
                format!("needs at least 2 inputs, got {}", input_shapes.len()),
            ));
        }
        let rank = input_shapes[0].len();
        let a = self.sample_axis(rank)?;
        let mut out = input_shapes[0].clone();
        out[a] = 0;
        for s in input_shapes {
            if s.len() != rank || (0..rank).any(|d| d != a && s[d] != input_shapes[0][d]) {
                return Err(NnError::layer(
                    "Concatenate",
                    format!(
                        "inputs {:?} and {s:?} differ outside axis {}",
                        input_shapes[0], self.axis
                    ),
                ));
            }
            out[a] += s[a];
        }
        Ok(out)
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.forward_multi(std::slice::from_ref(x), training)
    }

    fn forward_multi(&self, xs: &[Var], _training: bool) -> Result<Var> {
        let rank = xs.first().map(|x| x.shape().len()).unwrap_or(0);
        let a = self.sample_axis(rank.saturating_sub(1))? as isize + 1;
        let refs: Vec<&Var> = xs.iter().collect();
        Ok(Var::concat(&refs, a)?)
    }
}
