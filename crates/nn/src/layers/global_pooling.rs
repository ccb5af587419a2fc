//! The global poolings, `GlobalAveragePooling1D/2D/3D` and `GlobalMaxPooling1D/2D/3D`: the
//! mean or maximum over all spatial positions of each channel; `keepdims` keeps a length-1
//! axis per spatial axis instead of (channels,). One macro, one reduction call each.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::Result;
use krust_autograd::Var;
use serde::{Deserialize, Serialize};

macro_rules! global_pooling {
    ($name:ident, $reduce:ident, $spatial:literal, $doc:literal) => {
        #[doc = $doc]
        /// Its fields are its Keras arguments (see `config::args`).
        #[derive(Debug, Clone, Serialize, Deserialize)]
        // `Default` is `keras_defaults` (a macro cannot name it in the attribute).
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            /// Default `false`.
            pub keepdims: bool,
            /// Written as `"channels_last"`, the only layout krust supports.
            pub data_format: args::ChannelsLast,
        }

        impl Default for $name {
            fn default() -> Self {
                $name::keras_defaults()
            }
        }

        impl $name {
            /// Keras's defaults, the one place they are written.
            fn keras_defaults() -> Self {
                $name {
                    keepdims: false,
                    data_format: args::ChannelsLast,
                }
            }

            pub fn new() -> Self {
                $name::keras_defaults()
            }

            pub fn with_keepdims(keepdims: bool) -> Self {
                $name {
                    keepdims,
                    ..$name::keras_defaults()
                }
            }

            pub fn from_config(config: &serde_json::Value) -> Result<Self> {
                args::read(stringify!($name), config)
            }
        }

        impl KerasArgs for $name {}

        impl Layer for $name {
            fn class_name(&self) -> &'static str {
                stringify!($name)
            }

            fn config(&self) -> serde_json::Value {
                args::write(self)
            }

            fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
                let (_, c) = super::split_channels(stringify!($name), $spatial, input_shape)?;
                Ok(if self.keepdims {
                    [vec![1; $spatial], vec![c]].concat()
                } else {
                    vec![c]
                })
            }

            fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
                let axes: Vec<isize> = (1..=$spatial).collect();
                Ok(x.$reduce(&axes, self.keepdims)?)
            }

            fn flops(&self, output_shape: &[usize]) -> u64 {
                output_shape.iter().product::<usize>() as u64
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
    GlobalAveragePooling2D,
    mean_axes,
    2,
    "Mean over height and width per channel."
);
global_pooling!(
    GlobalMaxPooling2D,
    max_axes,
    2,
    "Maximum over height and width per channel."
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
