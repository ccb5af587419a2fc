//! `Dot`: dot products between two inputs along `axes` (counted with the batch axis, as in
//! Keras), optionally L2-normalizing both first (cosine similarity). Supports the Keras cases
//! of vectors (batch, n)·(batch, n) -> (batch, 1) and batched matrices (batch, n, k)·(batch, m, k)
//! with axes (2, 2) -> (batch, n, m) and their transposed variants.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Keras's `Dot(axes)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Dot::keras_defaults", deny_unknown_fields)]
pub struct Dot {
    /// Per input, the contracted axis counted with the batch axis; negative counts from the
    /// end (-1 is the last), as Keras allows. One integer (both the same) or two (required).
    #[serde(deserialize_with = "axes")]
    pub axes: (isize, isize),
    /// L2-normalize both inputs along the axes first (cosine proximity). Default `false`.
    pub normalize: bool,
    /// `axes` made positive for the built input ranks.
    #[serde(skip)]
    resolved: (usize, usize),
}

/// `axes`' reader: one integer, or a list of two.
fn axes<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<(isize, isize), D::Error> {
    let v = Value::deserialize(d)?;
    match crate::config::args::axis_list(&v).as_deref() {
        Some([a]) if v.is_number() => Ok((*a, *a)),
        Some([a, b]) => Ok((*a, *b)),
        _ => Err(D::Error::custom(format!(
            "expected an integer or two integers, got {v}"
        ))),
    }
}

impl Dot {
    /// Keras's defaults, the one place they are written (`axes` is required).
    fn keras_defaults() -> Self {
        Dot {
            axes: (0, 0),
            normalize: false,
            resolved: (0, 0),
        }
    }

    pub fn new(axes: (isize, isize), normalize: bool) -> Self {
        Dot {
            normalize,
            ..Dot::with_axes(axes)
        }
    }

    /// Keras's `Dot(axes)`: normalize false.
    pub fn with_axes(axes: (isize, isize)) -> Self {
        let mut layer = Dot {
            axes,
            ..Self::keras_defaults()
        };
        layer.resolve_given_axes();
        layer
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Dot", config)
    }

    /// Before build, `resolved` holds the non-negative axes as given.
    fn resolve_given_axes(&mut self) {
        let positive = |a: isize| a.max(0) as usize;
        self.resolved = (positive(self.axes.0), positive(self.axes.1));
    }

    fn l2_normalize(x: &Var, axis: usize) -> Result<Var> {
        // Keras: x / sqrt(max(sum(x²), 1e-12)).
        let norm = x
            .square()
            .sum_axes(&[axis as isize], true)?
            .clip(1e-12, f32::MAX)
            .sqrt();
        Ok(x.div(&norm)?)
    }
}

impl KerasArgs for Dot {
    const REQUIRED: &'static [&'static str] = &["axes"];

    fn check_args(&mut self) -> Result<()> {
        self.resolve_given_axes();
        Ok(())
    }
}

impl Layer for Dot {
    fn class_name(&self) -> &'static str {
        "Dot"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        self.build_multi(&[input_shape.to_vec()])
    }

    fn build_multi(&mut self, shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        let [a, b] = shapes else {
            return Err(NnError::layer(
                "Dot",
                format!("takes exactly 2 inputs, got {}", shapes.len()),
            ));
        };
        let resolve = |a: isize, rank: usize| {
            let r = if a < 0 { a + rank as isize + 1 } else { a };
            r.max(0) as usize
        };
        let (ia, ib) = (resolve(self.axes.0, a.len()), resolve(self.axes.1, b.len()));
        self.resolved = (ia, ib);
        if ia == 0
            || ib == 0
            || ia > a.len()
            || ib > b.len()
            || a[ia - 1] != b[ib - 1]
            || a.len() != b.len()
            || a.len() > 2
        {
            return Err(NnError::layer(
                "Dot",
                format!("axes {:?} do not pair inputs {a:?} and {b:?} (krust supports vectors and batched matrices)", self.axes),
            ));
        }
        Ok(match a.len() {
            1 => vec![1],
            _ => vec![a[2 - ia], b[2 - ib]],
        })
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.forward_multi(std::slice::from_ref(x), training)
    }

    fn forward_multi(&self, xs: &[Var], _training: bool) -> Result<Var> {
        let [a, b] = xs else {
            return Err(NnError::layer(
                "Dot",
                format!("takes exactly 2 inputs, got {}", xs.len()),
            ));
        };
        let (ia, ib) = self.resolved;
        let (a, b) = if self.normalize {
            (Self::l2_normalize(a, ia)?, Self::l2_normalize(b, ib)?)
        } else {
            (a.clone(), b.clone())
        };
        if a.shape().len() == 2 {
            return Ok(a.mul(&b)?.sum_axes(&[1], true)?);
        }
        // Batched matrices: bring the contracted axis last, then broadcast (b, n, 1, k) ·
        // (b, 1, m, k) and sum over k.
        let last = |v: &Var, axis: usize| {
            if axis == 2 {
                Ok(v.clone())
            } else {
                v.permute(&[0, 2, 1])
            }
        };
        let (a, b) = (last(&a, ia)?, last(&b, ib)?);
        let (sa, sb) = (a.shape(), b.shape());
        let a4 = a.reshape(&[sa[0], sa[1], 1, sa[2]])?;
        let b4 = b.reshape(&[sb[0], 1, sb[1], sb[2]])?;
        Ok(a4.mul(&b4)?.sum_axes(&[3], false)?)
    }
}
