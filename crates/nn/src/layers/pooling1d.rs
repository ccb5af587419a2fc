//! 1-D pooling over (steps, channels): `MaxPooling1D`, `AveragePooling1D` (the one-axis case
//! of the N-d pooling kernel, so "same" padding and the exclude-padding average are the 2-D
//! ones), and the global poolings over steps (1-D) or depth, height and width (3-D).

use super::Layer;
use crate::config::{padding_name, ConfigReader};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::output_size;
use krust_tensor::{Padding, PoolSpec};

macro_rules! pooling1d {
    ($name:ident, $op:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name {
            pub pool_size: usize,
            /// Default: the pool size.
            pub strides: usize,
            pub padding: Padding,
        }

        impl $name {
            pub fn new(pool_size: usize) -> Self {
                $name { pool_size, strides: pool_size, padding: Padding::Valid }
            }

            pub fn with_strides(mut self, strides: usize) -> Self {
                self.strides = strides;
                self
            }

            pub fn with_padding(mut self, padding: Padding) -> Self {
                self.padding = padding;
                self
            }

            pub fn from_config(config: &serde_json::Value) -> Result<Self> {
                let mut c = ConfigReader::new(stringify!($name), config)?;
                let [pool] = c.ints_or("pool_size", [2])?;
                let [strides] = c.ints_or("strides", [pool])?;
                let padding = c.padding_or("padding", Padding::Valid)?;
                c.finish()?;
                Ok($name { pool_size: pool, strides, padding })
            }

            fn spec(&self) -> PoolSpec {
                PoolSpec::new(&[self.pool_size]).with_strides(&[self.strides]).with_padding(self.padding)
            }
        }

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                stringify!($name)
            }

            fn config(&self) -> serde_json::Value {
                serde_json::json!({
                    "pool_size": [self.pool_size],
                    "strides": [self.strides],
                    "padding": padding_name(self.padding),
                    "data_format": "channels_last",
                })
            }

            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                let &[steps, c] = input_shape else {
                    return Err(NnError::layer(stringify!($name), format!("expects inputs (steps, channels), got {input_shape:?}")));
                };
                let out = output_size("pooling", steps, self.pool_size, self.strides, 1, self.padding)
                    .map_err(|e| NnError::layer(stringify!($name), e.to_string()))?
                    .0;
                Ok(vec![out, c])
            }

            fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
                Ok(x.$op(self.spec())?)
            }

            fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
                Some(vec![(self.pool_size, self.strides)])
            }
        }
    };
}

pooling1d!(MaxPooling1D, max_pool, "Maximum over windows of steps.");
pooling1d!(
    AveragePooling1D,
    avg_pool,
    "Mean over windows of steps (padding excluded)."
);

macro_rules! global_pooling {
    ($name:ident, $reduce:ident, $spatial:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            pub keepdims: bool,
        }

        impl $name {
            pub fn new() -> Self {
                $name { keepdims: false }
            }

            pub fn from_config(config: &serde_json::Value) -> Result<Self> {
                let mut c = ConfigReader::new(stringify!($name), config)?;
                let keepdims = c.bool_or("keepdims", false)?;
                c.finish()?;
                Ok($name { keepdims })
            }
        }

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                stringify!($name)
            }

            fn config(&self) -> serde_json::Value {
                serde_json::json!({"data_format": "channels_last", "keepdims": self.keepdims})
            }

            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                if input_shape.len() != $spatial + 1 {
                    return Err(NnError::layer(stringify!($name), format!("expects {} spatial axes and channels, got {input_shape:?}", $spatial)));
                }
                let c = input_shape[$spatial];
                Ok(if self.keepdims { [vec![1; $spatial], vec![c]].concat() } else { vec![c] })
            }

            fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
                let axes: Vec<isize> = (1..=$spatial).collect();
                Ok(x.$reduce(&axes, self.keepdims)?)
            }
        }
    };
}

global_pooling!(
    GlobalAveragePooling1D,
    mean_axes,
    1,
    "Mean over steps per channel."
);
global_pooling!(
    GlobalMaxPooling1D,
    max_axes,
    1,
    "Maximum over steps per channel."
);
global_pooling!(
    GlobalAveragePooling3D,
    mean_axes,
    3,
    "Mean over depth, height and width per channel."
);
global_pooling!(
    GlobalMaxPooling3D,
    max_axes,
    3,
    "Maximum over depth, height and width per channel."
);
