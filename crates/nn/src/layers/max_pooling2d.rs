//! `MaxPooling2D`: the maximum of each window, channels-last; strides default to the pool size.

use super::Layer;
use crate::Result;
use krust_autograd::Var;
use krust_tensor::{Padding, Pool2dSpec};

#[derive(Debug, Clone)]
pub struct MaxPooling2D {
    pub pool_size: (usize, usize),
    /// Default: the pool size.
    pub strides: (usize, usize),
    /// Default valid.
    pub padding: Padding,
}

impl MaxPooling2D {
    pub fn new(pool_size: (usize, usize)) -> Self {
        MaxPooling2D {
            pool_size,
            strides: pool_size,
            padding: Padding::Valid,
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

    fn spec(&self) -> Pool2dSpec {
        Pool2dSpec {
            pool_size: self.pool_size,
            strides: self.strides,
            padding: self.padding,
        }
    }
}

impl Layer for MaxPooling2D {
    fn class_name(&self) -> &'static str {
        "MaxPooling2D"
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        super::pooled_shape("MaxPooling2D", input_shape, &self.spec())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(x.max_pool2d(self.spec())?)
    }
}
