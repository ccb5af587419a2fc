//! `UpSampling2D`: "nearest" repeats every row `size.0` times and every column `size.1`
//! times; "bilinear" interpolates as Keras 3 does through TensorFlow's resize (half-pixel
//! centres: output pixel o samples input position (o + 0.5) / size - 0.5, clamped at the
//! edges), applied as one interpolation matrix per axis.

use super::Layer;
use crate::config::args::{self, ChannelsLast, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::{Deserialize, Deserializer, Serialize};

/// How `UpSampling2D` fills the new pixels: Keras's `interpolation`, by its Keras name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Each pixel repeated.
    Nearest,
    /// TensorFlow's bilinear resize (half-pixel centres).
    Bilinear,
}

/// Keras's `UpSampling2D(size=(2, 2), interpolation="nearest")`. Its fields are its Keras
/// arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "UpSampling2D::keras_defaults", deny_unknown_fields)]
pub struct UpSampling2D {
    /// Default `(2, 2)`.
    #[serde(deserialize_with = "size")]
    pub size: (usize, usize),
    /// Default `"nearest"`.
    #[serde(deserialize_with = "args::name")]
    pub interpolation: Interpolation,
    #[serde(skip_deserializing)]
    data_format: ChannelsLast,
}

/// `size` as an int or two ints (see `args::ints`), written as two.
fn size<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<(usize, usize), D::Error> {
    args::ints::<D, 2>(d).map(|[h, w]| (h, w))
}

/// Keras's defaults: size (2, 2), nearest.
impl Default for UpSampling2D {
    fn default() -> Self {
        UpSampling2D::keras_defaults()
    }
}

impl UpSampling2D {
    /// Keras's defaults for every argument, the one place they are written.
    fn keras_defaults() -> Self {
        UpSampling2D {
            size: (2, 2),
            interpolation: Interpolation::Nearest,
            data_format: ChannelsLast,
        }
    }

    pub fn new(size: (usize, usize)) -> Self {
        UpSampling2D {
            size,
            ..Self::keras_defaults()
        }
    }

    pub fn bilinear(size: (usize, usize)) -> Self {
        UpSampling2D {
            size,
            interpolation: Interpolation::Bilinear,
            ..Self::keras_defaults()
        }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("UpSampling2D", config)
    }
}

impl KerasArgs for UpSampling2D {}

impl Layer for UpSampling2D {
    fn class_name(&self) -> &'static str {
        "UpSampling2D"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[h, w, c] = input_shape else {
            return Err(NnError::layer(
                "UpSampling2D",
                format!("expects inputs (height, width, channels), got {input_shape:?}"),
            ));
        };
        if self.size.0 == 0 || self.size.1 == 0 {
            return Err(NnError::layer("UpSampling2D", "size must be at least 1"));
        }
        Ok(vec![h * self.size.0, w * self.size.1, c])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        if self.interpolation == Interpolation::Bilinear {
            return bilinear(x, self.size);
        }
        let s = x.shape();
        let (b, h, w, c) = (s[0], s[1], s[2], s[3]);
        let (sh, sw) = self.size;
        // (b, h, 1, w, 1, c) broadcast against ones (1, 1, sh, 1, sw, 1) repeats each pixel.
        let ones = Var::constant(Tensor::ones([1, 1, sh, 1, sw, 1]));
        Ok(x.reshape(&[b, h, 1, w, 1, c])?
            .mul(&ones)?
            .reshape(&[b, h * sh, w * sw, c])?)
    }
}

/// TensorFlow's bilinear weights (half-pixel centres) for resizing `input` to `output`, as a
/// (input, output) matrix to multiply on the right.
fn interpolation_matrix(input: usize, output: usize) -> Tensor {
    let mut m = vec![0.0f32; input * output];
    let scale = input as f32 / output as f32;
    for o in 0..output {
        let pos = (o as f32 + 0.5) * scale - 0.5;
        let floor = pos.floor();
        let lower = (floor.max(0.0) as usize).min(input - 1);
        let upper = (pos.ceil().max(0.0) as usize).min(input - 1);
        let frac = pos - floor;
        m[lower * output + o] += 1.0 - frac;
        m[upper * output + o] += frac;
    }
    Tensor::from_vec([input, output], m).expect("input x output values")
}

/// Resizes axis 1 (rows) and then axis 2 (columns) by interpolation matrices.
fn bilinear(x: &Var, (sh, sw): (usize, usize)) -> Result<Var> {
    let s = x.shape();
    let (b, h, w, c) = (s[0], s[1], s[2], s[3]);
    let (oh, ow) = (h * sh, w * sw);
    let rows = Var::constant(interpolation_matrix(h, oh));
    let cols = Var::constant(interpolation_matrix(w, ow));
    // (b, h, w, c) -> (b, w, c, h) · rows -> (b, w, c, oh) -> (b, oh, w, c)
    let y = x
        .permute(&[0, 2, 3, 1])?
        .reshape(&[b * w * c, h])?
        .matmul(&rows)?;
    let y = y.reshape(&[b, w, c, oh])?.permute(&[0, 3, 1, 2])?;
    // (b, oh, w, c) -> (b, oh, c, w) · cols -> (b, oh, c, ow) -> (b, oh, ow, c)
    let y = y
        .permute(&[0, 1, 3, 2])?
        .reshape(&[b * oh * c, w])?
        .matmul(&cols)?;
    Ok(y.reshape(&[b, oh, c, ow])?.permute(&[0, 1, 3, 2])?)
}
