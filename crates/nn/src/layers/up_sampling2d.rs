//! `UpSampling2D` (nearest): repeats every row `size.0` times and every column `size.1`
//! times. Bilinear interpolation is not implemented yet and is refused by name.

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;

#[derive(Debug, Clone)]
pub struct UpSampling2D {
    pub size: (usize, usize),
}

impl UpSampling2D {
    pub fn new(size: (usize, usize)) -> Self {
        UpSampling2D { size }
    }

    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("UpSampling2D", config)?;
        let size = c.pair_or("size", Some((2, 2)))?;
        c.only("interpolation", serde_json::json!("nearest"))?;
        c.finish()?;
        Ok(UpSampling2D::new(size))
    }
}

impl Layer for UpSampling2D {
    fn class_name(&self) -> &'static str {
        "UpSampling2D"
    }

    fn config(&self) -> serde_json::Value {
        serde_json::json!({"size": [self.size.0, self.size.1], "data_format": "channels_last", "interpolation": "nearest"})
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
