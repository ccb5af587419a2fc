//! The one pooling layer, `Pool<C>`, that every Keras max/average pooling class configures:
//! its spatial rank (1, 2 or 3) and reduction come from the class `C`; argument reading,
//! output shapes, forward (one N-d pooling kernel, `Var::max_pool` / `Var::avg_pool`) and
//! `get_config` live here once. Each Keras class keeps a small file of its own in this folder.

/// Declares a Keras pooling class: the marker type implementing `PoolClass` and the public
/// layer type `Pool<marker>` under the Keras name.
macro_rules! keras_pool_class {
    ($(#[$doc:meta])* $name:ident, $class:ident, rank $rank:literal, $op:ident, $sizes:ty, $pads:ty) => {
        $(#[$doc])*
        pub type $name = super::Pool<$class>;

        #[doc = concat!("The Keras class of [`", stringify!($name), "`].")]
        #[derive(Debug, Clone)]
        pub struct $class;

        impl crate::config::args::SpatialRank for $class {
            const RANK: usize = $rank;
        }

        impl super::PoolClass for $class {
            const NAME: &'static str = stringify!($name);
            const OP: super::PoolOp = super::PoolOp::$op;
            type Sizes = $sizes;
            type Pads = $pads;
        }
    };
}

mod average_pooling1d;
mod average_pooling2d;
mod average_pooling3d;
mod max_pooling1d;
mod max_pooling2d;
mod max_pooling3d;

pub use average_pooling1d::{AveragePooling1D, AveragePooling1DClass};
pub use average_pooling2d::{AveragePooling2D, AveragePooling2DClass};
pub use average_pooling3d::{AveragePooling3D, AveragePooling3DClass};
pub use max_pooling1d::{MaxPooling1D, MaxPooling1DClass};
pub use max_pooling2d::{MaxPooling2D, MaxPooling2DClass};
pub use max_pooling3d::{MaxPooling3D, MaxPooling3DClass};

use super::conv::AxisSizes;
use super::Layer;
use crate::config::args::{self, KerasArgs, SpatialRank};
use crate::config::MAX_INT_ARG;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Padding, PoolSpec};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::marker::PhantomData;

/// What a pooling window reduces to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    Max,
    /// The mean of the window's real cells (padding excluded, as in Keras).
    Average,
}

/// A Keras pooling class: its name, spatial rank (`SpatialRank::RANK`) and reduction.
pub trait PoolClass: SpatialRank + std::fmt::Debug + Clone + 'static {
    const NAME: &'static str;
    const OP: PoolOp;
    /// Per-axis sizes as `new` and `with_strides` take them.
    type Sizes: AxisSizes;
    /// krust-only explicit padding, one (before, after) pair per axis.
    type Pads: AxisPads + std::fmt::Debug + Copy + PartialEq;
}

/// Per-axis (before, after) paddings as the layers store them.
pub trait AxisPads: Sized {
    fn to_pairs(self) -> Vec<(usize, usize)>;
    /// None when `pairs` has the wrong length.
    fn from_pairs(pairs: &[(usize, usize)]) -> Option<Self>;
}

impl AxisPads for (usize, usize) {
    fn to_pairs(self) -> Vec<(usize, usize)> {
        vec![self]
    }
    fn from_pairs(pairs: &[(usize, usize)]) -> Option<Self> {
        match pairs {
            &[p] => Some(p),
            _ => None,
        }
    }
}

impl AxisPads for ((usize, usize), (usize, usize)) {
    fn to_pairs(self) -> Vec<(usize, usize)> {
        vec![self.0, self.1]
    }
    fn from_pairs(pairs: &[(usize, usize)]) -> Option<Self> {
        match pairs {
            &[rows, cols] => Some((rows, cols)),
            _ => None,
        }
    }
}

impl AxisPads for [(usize, usize); 3] {
    fn to_pairs(self) -> Vec<(usize, usize)> {
        self.to_vec()
    }
    fn from_pairs(pairs: &[(usize, usize)]) -> Option<Self> {
        pairs.try_into().ok()
    }
}

/// A pooling layer of Keras class `C` (`MaxPooling2D`, `AveragePooling3D`, ...). Its fields
/// are its Keras arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Pool::keras_defaults", deny_unknown_fields)]
pub struct Pool<C: PoolClass> {
    /// One entry per spatial axis. Default `2` on every axis.
    #[serde(deserialize_with = "args::axes::<C, _>")]
    pub pool_size: Vec<usize>,
    /// Default `None`: the pool size.
    #[serde(deserialize_with = "args::axes::<C, _>")]
    pub strides: Vec<usize>,
    /// Default `"valid"`.
    #[serde(with = "args::padding")]
    pub padding: Padding,
    /// Keras's `data_format`: channels-last, the one layout krust supports.
    data_format: args::ChannelsLast,
    /// krust-only: PyTorch-style (before, after) padding per axis in place of `padding`;
    /// padded cells never take part. Default `None` (and then not written, so
    /// Keras-compatible configs stay unchanged).
    #[serde(
        serialize_with = "write_explicit_padding::<C, _>",
        deserialize_with = "read_explicit_padding::<C, _>",
        skip_serializing_if = "Option::is_none"
    )]
    pub explicit_padding: Option<C::Pads>,
    /// krust-only: PyTorch's `ceil_mode` (see `PoolSpec::ceil_mode`). Default `false` (and
    /// then not written).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ceil_mode: bool,
    #[serde(skip)]
    class: PhantomData<C>,
}

impl<C: PoolClass> Pool<C> {
    /// The layer with Keras's defaults: strides equal to the pool size, valid padding.
    pub fn new(pool_size: C::Sizes) -> Self {
        let pool_size = pool_size.to_axes();
        Pool {
            strides: pool_size.clone(),
            pool_size,
            ..Self::keras_defaults()
        }
    }

    /// Keras's defaults for every argument, the one place they are written; `strides`
    /// stays empty until set, meaning the pool size (`new`, `check_args`).
    fn keras_defaults() -> Self {
        Pool {
            pool_size: vec![2; C::RANK],
            strides: Vec::new(),
            padding: Padding::Valid,
            data_format: args::ChannelsLast,
            explicit_padding: None,
            ceil_mode: false,
            class: PhantomData,
        }
    }

    pub fn with_strides(mut self, strides: C::Sizes) -> Self {
        self.strides = strides.to_axes();
        self
    }

    pub fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// PyTorch's explicit padding: (before, after) cells per axis, each side smaller than
    /// the window.
    pub fn with_explicit_padding(mut self, padding: C::Pads) -> Self {
        self.explicit_padding = Some(padding);
        self
    }

    /// PyTorch's `ceil_mode`.
    pub fn with_ceil_mode(mut self, ceil_mode: bool) -> Self {
        self.ceil_mode = ceil_mode;
        self
    }

    fn spec(&self) -> PoolSpec {
        PoolSpec {
            pool_size: self.pool_size.clone(),
            strides: self.strides.clone(),
            padding: self.padding,
            explicit_padding: self.explicit_padding.map(AxisPads::to_pairs),
            ceil_mode: self.ceil_mode,
        }
    }

    /// Builds the layer from its Keras-style config (see `config`).
    pub fn from_config(config: &Value) -> Result<Self> {
        args::read(C::NAME, config)
    }
}

impl<C: PoolClass> KerasArgs for Pool<C> {
    fn check_args(&mut self) -> Result<()> {
        if self.strides.is_empty() {
            self.strides = self.pool_size.clone();
        }
        Ok(())
    }
}

/// Keras's default pool size, 2 on every axis.
impl<C: PoolClass> Default for Pool<C> {
    fn default() -> Self {
        Pool {
            strides: vec![2; C::RANK],
            ..Self::keras_defaults()
        }
    }
}

/// The krust-only `explicit_padding` as the PyTorch importer writes it: one [before, after]
/// pair per spatial axis.
fn write_explicit_padding<C: PoolClass, S: Serializer>(
    pads: &Option<C::Pads>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    let pairs: Option<Vec<[usize; 2]>> =
        pads.map(|p| p.to_pairs().into_iter().map(|(a, b)| [a, b]).collect());
    pairs.serialize(s)
}

/// Reads `explicit_padding`: exactly one [before, after] pair of integers from 0 to
/// `MAX_INT_ARG` per spatial axis.
fn read_explicit_padding<'de, C: PoolClass, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<C::Pads>, D::Error> {
    let v = Value::deserialize(d)?;
    let one = |x: &Value| x.as_u64().filter(|&n| n <= MAX_INT_ARG).map(|n| n as usize);
    let pairs: Option<Vec<(usize, usize)>> = v.as_array().and_then(|rows| {
        rows.iter()
            .map(|p| match p.as_array()?.as_slice() {
                [a, b] => Some((one(a)?, one(b)?)),
                _ => None,
            })
            .collect()
    });
    pairs
        .and_then(|p| C::Pads::from_pairs(&p))
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "expected {} [before, after] pairs of integers from 0 to {MAX_INT_ARG}, got {v}",
                C::RANK
            ))
        })
}

impl<C: PoolClass> Layer for Pool<C> {
    fn class_name(&self) -> &'static str {
        C::NAME
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (spatial, channels) = super::split_channels(C::NAME, C::RANK, input_shape)?;
        let spec = self.spec();
        let mut out = spatial
            .iter()
            .enumerate()
            .map(|(axis, &len)| {
                spec.output_size("pooling", axis, len)
                    .map(|o| o.0)
                    .map_err(|e| NnError::layer(C::NAME, e.to_string()))
            })
            .collect::<Result<Vec<usize>>>()?;
        out.push(channels);
        Ok(out)
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        Ok(match C::OP {
            PoolOp::Max => x.max_pool(self.spec())?,
            PoolOp::Average => x.avg_pool(self.spec())?,
        })
    }

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        Some(
            self.pool_size
                .iter()
                .zip(&self.strides)
                .map(|(&p, &s)| (p, s))
                .collect(),
        )
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        // One comparison or addition per window cell.
        (output_shape.iter().product::<usize>() * self.pool_size.iter().product::<usize>()) as u64
    }
}

/// The 3-D poolings' former shared type: builds either from its class name at run time.
pub struct Pooling3D;

impl Pooling3D {
    pub fn from_config(class: &str, config: &Value) -> Result<Box<dyn Layer>> {
        Ok(match class {
            "MaxPooling3D" => Box::new(MaxPooling3D::from_config(config)?),
            _ => Box::new(AveragePooling3D::from_config(config)?),
        })
    }
}
