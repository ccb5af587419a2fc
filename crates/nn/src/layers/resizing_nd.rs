//! 1-D and 3-D versions of the border and repeat layers: `ZeroPadding1D/3D`,
//! `Cropping1D/3D` and `UpSampling1D/3D` (nearest: each step/voxel repeated). Borders are
//! (before, after) per spatial axis, asymmetric where Keras allows it.

use super::Layer;
use crate::config::args::{self, ChannelsLast, KerasArgs, SpatialRank};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;
use std::marker::PhantomData;

/// The spatial rank of the 1-D classes: inputs (steps, channels).
#[derive(Debug, Clone, Copy)]
pub struct OneAxis;

/// The spatial rank of the 3-D classes: inputs (depth, height, width, channels).
#[derive(Debug, Clone, Copy)]
pub struct ThreeAxes;

impl SpatialRank for OneAxis {
    const RANK: usize = 1;
}

impl SpatialRank for ThreeAxes {
    const RANK: usize = 3;
}

/// The name of the 1-D or the 3-D class.
fn class<R: SpatialRank>(one: &'static str, three: &'static str) -> &'static str {
    if R::RANK == 1 {
        one
    } else {
        three
    }
}

/// Keras's `data_format`, which the 3-D classes write and the 1-D classes do not.
fn data_format<R: SpatialRank>() -> Option<ChannelsLast> {
    (R::RANK == 3).then_some(ChannelsLast)
}

/// (before, after) pairs as Keras writes them: a bare pair with one axis.
fn write_borders<S: Serializer>(
    b: &[(usize, usize)],
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match b {
        [one] => one.serialize(s),
        _ => b.serialize(s),
    }
}

/// Sizes per axis as Keras writes them: a bare integer with one axis.
fn write_sizes<S: Serializer>(size: &[usize], s: S) -> std::result::Result<S::Ok, S::Error> {
    match size {
        [one] => one.serialize(s),
        _ => size.serialize(s),
    }
}

fn check_rank(layer: &str, input_shape: &[usize], axes: usize) -> Result<()> {
    if input_shape.len() != axes + 1 {
        return Err(NnError::layer(
            layer,
            format!("expects {axes} spatial axes and channels, got {input_shape:?}"),
        ));
    }
    Ok(())
}

/// Zero padding along the spatial axes of `R` (1 or 3): Keras's `ZeroPadding1D/3D(padding=1)`.
/// Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "ZeroPadding::keras_defaults", deny_unknown_fields)]
pub struct ZeroPadding<R: SpatialRank> {
    /// (before, after) per spatial axis. Default `1`: one zero on every side.
    #[serde(
        deserialize_with = "args::borders::<R, _>",
        serialize_with = "write_borders"
    )]
    pub padding: Vec<(usize, usize)>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    data_format: Option<ChannelsLast>,
    #[serde(skip)]
    rank: PhantomData<R>,
}

/// Cropping along the spatial axes of `R` (1 or 3): Keras's `Cropping1D/3D(cropping=1)`.
/// Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Cropping::keras_defaults", deny_unknown_fields)]
pub struct Cropping<R: SpatialRank> {
    /// (before, after) per spatial axis. Default `1`: Keras crops one step or voxel off
    /// every side, in 1-D and 3-D alike.
    #[serde(
        deserialize_with = "args::borders::<R, _>",
        serialize_with = "write_borders"
    )]
    pub cropping: Vec<(usize, usize)>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    data_format: Option<ChannelsLast>,
    #[serde(skip)]
    rank: PhantomData<R>,
}

/// Nearest upsampling along the spatial axes of `R` (1 or 3): Keras's
/// `UpSampling1D/3D(size=2)`. Its fields are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "UpSampling::keras_defaults", deny_unknown_fields)]
pub struct UpSampling<R: SpatialRank> {
    /// Repeats per spatial axis. Default `2` on every axis.
    #[serde(
        deserialize_with = "args::axes::<R, _>",
        serialize_with = "write_sizes"
    )]
    pub size: Vec<usize>,
    #[serde(skip_deserializing, skip_serializing_if = "Option::is_none")]
    data_format: Option<ChannelsLast>,
    #[serde(skip)]
    rank: PhantomData<R>,
}

/// `ZeroPadding1D(padding=1)`: inputs (steps, channels).
pub type ZeroPadding1D = ZeroPadding<OneAxis>;
/// `ZeroPadding3D(padding=1)`: inputs (depth, height, width, channels).
pub type ZeroPadding3D = ZeroPadding<ThreeAxes>;
/// `Cropping1D(cropping=1)`: inputs (steps, channels).
pub type Cropping1D = Cropping<OneAxis>;
/// `Cropping3D(cropping=1)`: inputs (depth, height, width, channels).
pub type Cropping3D = Cropping<ThreeAxes>;
/// `UpSampling1D(size=2)`: inputs (steps, channels).
pub type UpSampling1D = UpSampling<OneAxis>;
/// `UpSampling3D(size=2)`: inputs (depth, height, width, channels).
pub type UpSampling3D = UpSampling<ThreeAxes>;

/// The constructors and config reading of one of the layers above: `$field` holds one
/// `$item` per spatial axis, `$default` on each unless the config or constructor says
/// otherwise.
macro_rules! per_axis_layer {
    ($layer:ident, $field:ident: $item:ty = $default:expr, $one:literal, $three:literal) => {
        impl<R: SpatialRank> $layer<R> {
            /// Keras's defaults for every argument, the one place they are written.
            fn keras_defaults() -> Self {
                $layer {
                    $field: vec![$default; R::RANK],
                    data_format: data_format::<R>(),
                    rank: PhantomData,
                }
            }

            #[doc = concat!("Keras's `", $one, "()` or `", $three, "()`.")]
            pub fn with_defaults() -> Self {
                Self::keras_defaults()
            }

            fn name() -> &'static str {
                class::<R>($one, $three)
            }

            /// Builds the layer from its Keras config.
            pub fn from_config(config: &Value) -> Result<Self> {
                args::read(Self::name(), config)
            }
        }

        impl $layer<OneAxis> {
            pub fn new($field: $item) -> Self {
                $layer {
                    $field: vec![$field],
                    ..Self::keras_defaults()
                }
            }
        }

        impl $layer<ThreeAxes> {
            pub fn new($field: [$item; 3]) -> Self {
                $layer {
                    $field: $field.to_vec(),
                    ..Self::keras_defaults()
                }
            }
        }

        impl<R: SpatialRank> KerasArgs for $layer<R> {}
    };
}

per_axis_layer!(ZeroPadding, padding: (usize, usize) = (1, 1), "ZeroPadding1D", "ZeroPadding3D");
per_axis_layer!(Cropping, cropping: (usize, usize) = (1, 1), "Cropping1D", "Cropping3D");
per_axis_layer!(UpSampling, size: usize = 2, "UpSampling1D", "UpSampling3D");

impl<R: SpatialRank> Layer for ZeroPadding<R> {
    fn class_name(&self) -> &'static str {
        Self::name()
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(Self::name(), input_shape, self.padding.len())?;
        let mut out = input_shape.to_vec();
        for (d, (b, a)) in self.padding.iter().enumerate() {
            out[d] += b + a;
        }
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let mut pads = vec![(0, 0)];
        pads.extend(self.padding.iter().copied());
        pads.push((0, 0));
        Ok(x.pad(&pads, 0.0)?)
    }
}

impl<R: SpatialRank> Layer for Cropping<R> {
    fn class_name(&self) -> &'static str {
        Self::name()
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(Self::name(), input_shape, self.cropping.len())?;
        let mut out = input_shape.to_vec();
        for (d, (b, a)) in self.cropping.iter().enumerate() {
            if b + a >= out[d] {
                return Err(NnError::layer(
                    Self::name(),
                    format!(
                        "cropping {:?} leaves nothing of {input_shape:?}",
                        self.cropping
                    ),
                ));
            }
            out[d] -= b + a;
        }
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let mut y = x.clone();
        for (d, &(b, a)) in self.cropping.iter().enumerate() {
            y = y.slice(d as isize + 1, b, s[d + 1] - a)?;
        }
        Ok(y)
    }
}

impl<R: SpatialRank> Layer for UpSampling<R> {
    fn class_name(&self) -> &'static str {
        Self::name()
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        check_rank(Self::name(), input_shape, self.size.len())?;
        if self.size.contains(&0) {
            return Err(NnError::layer(Self::name(), "size must be at least 1"));
        }
        Ok(input_shape
            .iter()
            .enumerate()
            .map(|(d, &n)| n * self.size.get(d).copied().unwrap_or(1))
            .collect())
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        // Interleave a broadcast axis after each spatial axis: (b, d1, 1, d2, 1, ..., c) times
        // ones (1, 1, s1, 1, s2, ..., 1) repeats every element s_i times along axis i.
        let s = x.shape();
        let mut expanded = vec![s[0]];
        let mut ones = vec![1];
        let mut out = vec![s[0]];
        for (d, &k) in self.size.iter().enumerate() {
            expanded.extend([s[d + 1], 1]);
            ones.extend([1, k]);
            out.push(s[d + 1] * k);
        }
        let c = s[s.len() - 1];
        expanded.push(c);
        ones.push(1);
        out.push(c);
        Ok(x.reshape(&expanded)?
            .mul(&Var::constant(Tensor::ones(ones)))?
            .reshape(&out)?)
    }
}
