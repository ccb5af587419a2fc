//! `GlobalAveragePooling2D` and `GlobalMaxPooling2D`: the mean or maximum over all spatial
//! positions of each channel; `keepdims` keeps (1, 1, channels) instead of (channels,).

use super::Layer;
use crate::config::ConfigReader;
use crate::{NnError, Result};
use krust_autograd::Var;

macro_rules! global_pooling2d {
    ($name:ident, $reduce:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            /// Default false.
            pub keepdims: bool,
        }

        impl $name {
            pub fn new() -> Self {
                $name { keepdims: false }
            }

            pub fn with_keepdims(keepdims: bool) -> Self {
                $name { keepdims }
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
                let &[_, _, c] = input_shape else {
                    return Err(NnError::layer(
                        stringify!($name),
                        format!("expects inputs (height, width, channels), got {input_shape:?}"),
                    ));
                };
                Ok(if self.keepdims { vec![1, 1, c] } else { vec![c] })
            }

            fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
                Ok(x.$reduce(&[1, 2], self.keepdims)?)
            }

            fn flops(&self, output_shape: &[usize]) -> u64 {
                output_shape.iter().product::<usize>() as u64
            }
        }
    };
}

global_pooling2d!(
    GlobalAveragePooling2D,
    mean_axes,
    "Mean over height and width per channel."
);
global_pooling2d!(
    GlobalMaxPooling2D,
    max_axes,
    "Maximum over height and width per channel."
);
