//! `AveragePooling2D`: the mean of the real (unpadded) cells of each window, channels-last; strides default to the pool size.

use super::Layer;
use crate::config::{padding_name, ConfigReader};
use crate::Result;
use krust_autograd::Var;
use krust_tensor::{Padding, Pool2dSpec};

#[derive(Debug, Clone)]
pub struct AveragePooling2D {
    pub pool_size: (usize, usize),
    /// Default: the pool size.
    pub strides: (usize, usize),
    /// Default valid.
    pub padding: Padding,
    /// krust-only: PyTorch-style ((top, bottom), (left, right)) padding in place of
    /// `padding`; padded cells never take part. Default none.
    pub explicit_padding: Option<((usize, usize), (usize, usize))>,
    /// krust-only: PyTorch's `ceil_mode` (see `Pool2dSpec::ceil_mode`). Default false.
    pub ceil_mode: bool,
}

impl AveragePooling2D {
    pub fn new(pool_size: (usize, usize)) -> Self {
        AveragePooling2D {
            pool_size,
            strides: pool_size,
            padding: Padding::Valid,
            explicit_padding: None,
            ceil_mode: false,
        }
    }

    pub fn with_strides(mut self, strides: (usize, usize)) -> Self {
        self.strides = strides;
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// PyTorch's explicit padding: `((top, bottom), (left, right))` cells, each side smaller
    /// than the window.
    pub fn with_explicit_padding(mut self, padding: ((usize, usize), (usize, usize))) -> Self {
        self.explicit_padding = Some(padding);
        self
    }

    /// PyTorch's `ceil_mode`.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    fn spec(&self) -> Pool2dSpec {
        Pool2dSpec {
            pool_size: self.pool_size,
            strides: self.strides,
            padding: self.padding,
            explicit_padding: self.explicit_padding,
            ceil_mode: self.ceil_mode,
        }
    }
}

impl Layer for AveragePooling2D {
    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        Some(vec![
            (self.pool_size.0, self.strides.0),
            (self.pool_size.1, self.strides.1),
        ])
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        (output_shape.iter().product::<usize>() * self.pool_size.0 * self.pool_size.1) as u64
    }

    fn config(&self) -> serde_json::Value {
        let mut config = serde_json::json!({
            "pool_size": [self.pool_size.0, self.pool_size.1],
            "strides": [self.strides.0, self.strides.1],
            "padding": padding_name(self.padding),
            "data_format": "channels_last",
        });
        super::write_torch_pool_options(&mut config, self.explicit_padding, self.ceil_mode);
        config
    }

    fn class_name(&self) -> &'static str {
        "AveragePooling2D"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        super::pooled_shape("AveragePooling2D", input_shape, &self.spec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.avg_pool2d(self.spec())?)
    }
}

impl AveragePooling2D {
    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        let mut c = ConfigReader::new("AveragePooling2D", config)?;
        let [ph, pw] = c.ints_or("pool_size", [2, 2])?;
        let [sh, sw] = c.ints_or("strides", [ph, pw])?;
        let (pool, strides) = ((ph, pw), (sh, sw));
        let padding = c.padding_or("padding", Padding::Valid)?;
        let (explicit_padding, ceil_mode) = super::read_torch_pool_options(&mut c)?;
        c.finish()?;
        let mut layer = AveragePooling2D::new(pool)
            .with_strides(strides)
            .with_padding(padding)
            .with_ceil_mode(ceil_mode);
        layer.explicit_padding = explicit_padding;
        Ok(layer)
    }
}
