//! `BatchNormalization`, as Keras: in training, each feature of `axis` is normalized with the
//! batch's mean and (biased) variance and the moving statistics are updated as
//! moving = moving · momentum + batch · (1 - momentum); in inference the moving statistics
//! are used. Defaults: axis -1, momentum 0.99, epsilon 1e-3, center and scale on.

use super::Layer;
use crate::config::{initializer_to_json, ConfigReader};
use crate::initializers::Initializer;
use crate::{NnError, Result};
use krust_autograd::{no_grad, Var};
use krust_tensor::Tensor;

#[derive(Debug, Clone)]
pub struct BatchNormalization {
    /// The feature axis, counted on the full shape (batch axis 0); default -1.
    pub axis: isize,
    pub momentum: f32,
    pub epsilon: f32,
    /// Learn an offset beta (default true).
    pub center: bool,
    /// Learn a scale gamma (default true).
    pub scale: bool,
    gamma: Option<Var>,
    beta: Option<Var>,
    moving_mean: Option<Var>,
    moving_variance: Option<Var>,
    /// Per-sample input rank, fixed at build.
    rank: usize,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            gamma: None,
            beta: None,
            moving_mean: None,
            moving_variance: None,
            rank: 0,
        }
    }
}

impl BatchNormalization {
    pub fn new() -> Self {
        BatchNormalization::default()
    }

    pub fn with_axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("BatchNormalization", config)?;
        let mut layer = BatchNormalization::new();
        layer.axis = match c.value("axis") {
            None => -1,
            Some(v) => v.as_i64().map(|a| a as isize).ok_or_else(|| {
                NnError::layer(
                    "BatchNormalization",
                    format!("argument `axis`: expected one integer, got {v}"),
                )
            })?,
        };
        layer.momentum = c.f32_or("momentum", 0.99)?;
        layer.epsilon = c.f32_or("epsilon", 1e-3)?;
        layer.center = c.bool_or("center", true)?;
        layer.scale = c.bool_or("scale", true)?;
        for (key, want) in [
            ("beta_initializer", Initializer::Zeros),
            ("gamma_initializer", Initializer::Ones),
            ("moving_mean_initializer", Initializer::Zeros),
            ("moving_variance_initializer", Initializer::Ones),
        ] {
            if c.initializer_or(key, want)? != want {
                return Err(NnError::layer(
                    "BatchNormalization",
                    format!("argument `{key}`: only the Keras default is supported"),
                ));
            }
        }
        for key in [
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
        ] {
            c.absent(key)?;
        }
        c.only("synchronized", serde_json::json!(false))?;
        c.only("renorm", serde_json::json!(false))?;
        c.absent("renorm_clipping")?;
        // Only meaningful with renorm, which is refused above.
        c.value("renorm_momentum");
        c.finish()?;
        Ok(layer)
    }

    /// The feature axis within the full shape (batch included).
    fn full_axis(&self, rank: usize) -> Result<usize> {
        let full = rank as isize + 1;
        let a = if self.axis < 0 {
            self.axis + full
        } else {
            self.axis
        };
        if a < 1 || a >= full {
            return Err(NnError::layer(
                "BatchNormalization",
                format!(
                    "axis {} is out of range for inputs of rank {full}",
                    self.axis
                ),
            ));
        }
        Ok(a as usize)
    }

    /// Shape that broadcasts per-feature vectors against the full input.
    fn feature_shape(&self, full_rank: usize, axis: usize, features: usize) -> Vec<usize> {
        let mut s = vec![1; full_rank];
        s[axis] = features;
        s
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializer_to_json(&Initializer::Zeros),
            "gamma_initializer": initializer_to_json(&Initializer::Ones),
            "moving_mean_initializer": initializer_to_json(&Initializer::Zeros),
            "moving_variance_initializer": initializer_to_json(&Initializer::Ones),
            "beta_regularizer": null,
            "gamma_regularizer": null,
            "beta_constraint": null,
            "gamma_constraint": null,
            "synchronized": false,
            "renorm": false,
            "renorm_clipping": null,
            "renorm_momentum": 0.99,
        })
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let axis = self.full_axis(input_shape.len())?;
        let n = input_shape[axis - 1];
        self.rank = input_shape.len();
        self.gamma = self.scale.then(|| Var::parameter(Tensor::ones([n])));
        self.beta = self.center.then(|| Var::parameter(Tensor::zeros([n])));
        self.moving_mean = Some(Var::constant(Tensor::zeros([n])));
        self.moving_variance = Some(Var::constant(Tensor::ones([n])));
        Ok(input_shape.to_vec())
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        let (Some(mm), Some(mv)) = (&self.moving_mean, &self.moving_variance) else {
            return Err(NnError::NotBuilt);
        };
        let full_rank = x.shape().len();
        let axis = self.full_axis(full_rank - 1)?;
        let features = x.shape()[axis];
        let fshape = self.feature_shape(full_rank, axis, features);
        let reduce: Vec<isize> = (0..full_rank)
            .filter(|&a| a != axis)
            .map(|a| a as isize)
            .collect();
        let (mean, var) = if training {
            let mean = x.mean_axes(&reduce, true)?;
            let centered = x.sub(&mean)?;
            let var = centered.square().mean_axes(&reduce, true)?;
            // Moving statistics follow the batch, outside the tape.
            no_grad(|| -> Result<()> {
                let m = self.momentum;
                let blend = |moving: &Var, batch: &Var| -> Result<()> {
                    let b = batch.value().reshape([features])?;
                    moving.update_value(|t| {
                        t.as_mut_slice()
                            .iter_mut()
                            .zip(b.as_slice())
                            .for_each(|(v, &x)| *v = *v * m + x * (1.0 - m))
                    });
                    Ok(())
                };
                blend(mm, &mean)?;
                blend(mv, &var)
            })?;
            (mean, var)
        } else {
            (
                Var::constant(mm.value().reshape(fshape.clone())?),
                Var::constant(mv.value().reshape(fshape.clone())?),
            )
        };
        let inv_std = var.add_scalar(self.epsilon).sqrt();
        let mut y = x.sub(&mean)?.div(&inv_std)?;
        if let Some(g) = &self.gamma {
            y = y.mul(&g.reshape(&fshape)?)?;
        }
        if let Some(b) = &self.beta {
            y = y.add(&b.reshape(&fshape)?)?;
        }
        Ok(y)
    }

    fn parameters(&self) -> Vec<Var> {
        self.gamma.iter().chain(self.beta.iter()).cloned().collect()
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        let mut w = Vec::new();
        w.extend(self.gamma.iter().map(|v| ("gamma", v.clone())));
        w.extend(self.beta.iter().map(|v| ("beta", v.clone())));
        w.extend(self.moving_mean.iter().map(|v| ("moving_mean", v.clone())));
        w.extend(
            self.moving_variance
                .iter()
                .map(|v| ("moving_variance", v.clone())),
        );
        w
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        4 * output_shape.iter().product::<usize>() as u64
    }
}
