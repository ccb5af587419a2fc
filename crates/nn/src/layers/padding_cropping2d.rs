//! `ZeroPadding2D` and `Cropping2D`: add or remove rows and columns at each border,
//! asymmetrically where asked: ((top, bottom), (left, right)) as in Keras.

use super::Layer;
use crate::config::args::{self, ChannelsLast, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// ((top, bottom), (left, right)).
pub type Borders = ((usize, usize), (usize, usize));

/// The field reader for Keras's int / (sym_h, sym_w) / ((top, bottom), (left, right)) forms
/// (see `args::borders_from_json`); they are written as ((top, bottom), (left, right)).
fn borders<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Borders, D::Error> {
    let v = Value::deserialize(d)?;
    let items = args::borders_from_json(&v, 2).map_err(D::Error::custom)?;
    let mut hw = [(0, 0); 2];
    hw.copy_from_slice(&items);
    Ok((hw[0], hw[1]))
}

fn hwc(layer: &str, input_shape: &[usize]) -> Result<(usize, usize, usize)> {
    match input_shape {
        &[h, w, c] => Ok((h, w, c)),
        _ => Err(NnError::layer(
            layer,
            format!("expects inputs (height, width, channels), got {input_shape:?}"),
        )),
    }
}

/// Pads height and width with zeros. Keras's `ZeroPadding2D(padding=1)`; its fields are its
/// Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "ZeroPadding2D::keras_defaults", deny_unknown_fields)]
pub struct ZeroPadding2D {
    /// Default `(1, 1)`: one row and column of zeros on every side.
    #[serde(deserialize_with = "borders")]
    pub padding: Borders,
    #[serde(skip_deserializing)]
    data_format: ChannelsLast,
}

/// Keras's default: one zero on every side.
impl Default for ZeroPadding2D {
    fn default() -> Self {
        ZeroPadding2D::keras_defaults()
    }
}

impl ZeroPadding2D {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        ZeroPadding2D {
            padding: ((1, 1), (1, 1)),
            data_format: ChannelsLast,
        }
    }

    pub fn new(padding: Borders) -> Self {
        ZeroPadding2D {
            padding,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("ZeroPadding2D", config)
    }
}

impl KerasArgs for ZeroPadding2D {}

impl Layer for ZeroPadding2D {
    fn class_name(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (h, w, c) = hwc("ZeroPadding2D", input_shape)?;
        let ((t, b), (l, r)) = self.padding;
        Ok(vec![h + t + b, w + l + r, c])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let ((t, b), (l, r)) = self.padding;
        Ok(x.pad(&[(0, 0), (t, b), (l, r), (0, 0)], 0.0)?)
    }

    fn inference_role(&self) -> Option<crate::inference::InferenceRole> {
        let (h, w) = self.padding;
        Some(crate::inference::InferenceRole::ZeroPad2d([h, w]))
    }
}

/// Removes rows and columns at the borders. Keras's `Cropping2D(cropping=((0, 0), (0, 0)))`;
/// its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Cropping2D::keras_defaults", deny_unknown_fields)]
pub struct Cropping2D {
    /// Default `((0, 0), (0, 0))`: nothing cropped.
    #[serde(deserialize_with = "borders")]
    pub cropping: Borders,
    #[serde(skip_deserializing)]
    data_format: ChannelsLast,
}

/// Keras's default: nothing cropped.
impl Default for Cropping2D {
    fn default() -> Self {
        Cropping2D::keras_defaults()
    }
}

impl Cropping2D {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        Cropping2D {
            cropping: ((0, 0), (0, 0)),
            data_format: ChannelsLast,
        }
    }

    pub fn new(cropping: Borders) -> Self {
        Cropping2D {
            cropping,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        args::read("Cropping2D", config)
    }
}

impl KerasArgs for Cropping2D {}

impl Layer for Cropping2D {
    fn class_name(&self) -> &'static str {
        "Cropping2D"
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (h, w, c) = hwc("Cropping2D", input_shape)?;
        let ((t, b), (l, r)) = self.cropping;
        if t + b >= h || l + r >= w {
            return Err(NnError::layer(
                "Cropping2D",
                format!(
                    "cropping {:?} leaves nothing of {input_shape:?}",
                    self.cropping
                ),
            ));
        }
        Ok(vec![h - t - b, w - l - r, c])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let ((t, b), (l, r)) = self.cropping;
        Ok(x.slice(1, t, s[1] - b)?.slice(2, l, s[2] - r)?)
    }
}
