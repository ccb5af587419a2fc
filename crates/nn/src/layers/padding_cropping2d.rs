//! `ZeroPadding2D` and `Cropping2D`: add or remove rows and columns at each border,
//! asymmetrically where asked: ((top, bottom), (left, right)) as in Keras.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use serde_json::Value;

/// ((top, bottom), (left, right)).
pub type Borders = ((usize, usize), (usize, usize));

/// Reads Keras's int / (sym_h, sym_w) / ((top, bottom), (left, right)) forms; `default`
/// (the layer's own value) when absent.
fn borders(c: &mut ConfigReader, key: &str, default: Borders) -> Result<Borders> {
    let [h, w] = c.borders_or(key, [default.0, default.1])?;
    Ok((h, w))
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

/// Pads height and width with zeros.
#[derive(Debug, Clone)]
pub struct ZeroPadding2D {
    /// Default `(1, 1)`: one row and column of zeros on every side.
    pub padding: Borders,
}

/// Keras's default: one zero on every side.
impl Default for ZeroPadding2D {
    fn default() -> Self {
        ZeroPadding2D::new(((1, 1), (1, 1)))
    }
}

impl ZeroPadding2D {
    pub fn new(padding: Borders) -> Self {
        ZeroPadding2D { padding }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("ZeroPadding2D", config)?;
        let mut layer = ZeroPadding2D::default();
        layer.padding = borders(&mut c, "padding", layer.padding)?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for ZeroPadding2D {
    fn class_name(&self) -> &'static str {
        "ZeroPadding2D"
    }

    fn config(&self) -> Value {
        let ((t, b), (l, r)) = self.padding;
        serde_json::json!({"padding": [[t, b], [l, r]], "data_format": "channels_last"})
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

/// Removes rows and columns at the borders.
#[derive(Debug, Clone)]
pub struct Cropping2D {
    /// Default `((0, 0), (0, 0))`: nothing cropped.
    pub cropping: Borders,
}

/// Keras's default: nothing cropped.
impl Default for Cropping2D {
    fn default() -> Self {
        Cropping2D::new(((0, 0), (0, 0)))
    }
}

impl Cropping2D {
    pub fn new(cropping: Borders) -> Self {
        Cropping2D { cropping }
    }

    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new("Cropping2D", config)?;
        let mut layer = Cropping2D::default();
        layer.cropping = borders(&mut c, "cropping", layer.cropping)?;
        c.finish()?;
        Ok(layer)
    }
}

impl Layer for Cropping2D {
    fn class_name(&self) -> &'static str {
        "Cropping2D"
    }

    fn config(&self) -> Value {
        let ((t, b), (l, r)) = self.cropping;
        serde_json::json!({"cropping": [[t, b], [l, r]], "data_format": "channels_last"})
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
