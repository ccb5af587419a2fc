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

        impl super::PoolClass for $class {
            const NAME: &'static str = stringify!($name);
            const RANK: usize = $rank;
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
use crate::config::{padding_name, ConfigReader};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::{Padding, PoolSpec};
use serde_json::{json, Value};
use std::marker::PhantomData;

/// What a pooling window reduces to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolOp {
    Max,
    /// The mean of the window's real cells (padding excluded, as in Keras).
    Average,
}

/// A Keras pooling class: its name, spatial rank and reduction.
pub trait PoolClass: std::fmt::Debug + Clone + 'static {
    const NAME: &'static str;
    const RANK: usize;
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

/// A pooling layer of Keras class `C` (`MaxPooling2D`, `AveragePooling3D`, ...).
#[derive(Debug, Clone)]
pub struct Pool<C: PoolClass> {
    /// One entry per spatial axis. Default `2` on every axis.
    pub pool_size: Vec<usize>,
    /// Default `None`: the pool size.
    pub strides: Vec<usize>,
    /// Default `"valid"`.
    pub padding: Padding,
    /// krust-only: PyTorch-style (before, after) padding per axis in place of `padding`;
    /// padded cells never take part. Default `None`.
    pub explicit_padding: Option<C::Pads>,
    /// krust-only: PyTorch's `ceil_mode` (see `PoolSpec::ceil_mode`). Default `false`.
    pub ceil_mode: bool,
    class: PhantomData<C>,
}

impl<C: PoolClass> Pool<C> {
    /// The layer with Keras's defaults: strides equal to the pool size, valid padding.
    pub fn new(pool_size: C::Sizes) -> Self {
        Self::with_pool_axes(pool_size.to_axes())
    }

    /// `new` with the pool size as one entry per axis: the one place the defaults of the
    /// optional arguments are written (`from_config` reads each argument over them).
    fn with_pool_axes(pool_size: Vec<usize>) -> Self {
        Pool {
            strides: pool_size.clone(),
            pool_size,
            padding: Padding::Valid,
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

    /// Builds the layer from its Keras-style config (see `config`): each optional argument
    /// is read over the default layer's value.
    pub fn from_config(config: &Value) -> Result<Self> {
        let mut c = ConfigReader::new(C::NAME, config)?;
        let mut layer = match c.axes_opt("pool_size", C::RANK)? {
            Some(pool_size) => Self::with_pool_axes(pool_size),
            None => Self::default(),
        };
        if let Some(strides) = c.axes_opt("strides", C::RANK)? {
            layer.strides = strides;
        }
        layer.padding = c.padding_or("padding", layer.padding)?;
        if let Some(pads) = read_explicit_padding::<C>(&mut c)? {
            layer.explicit_padding = Some(pads);
        }
        layer.ceil_mode = c.bool_or("ceil_mode", layer.ceil_mode)?;
        c.finish()?;
        Ok(layer)
    }
}

/// Keras's default pool size, 2 on every axis.
impl<C: PoolClass> Default for Pool<C> {
    fn default() -> Self {
        Self::with_pool_axes(vec![2; C::RANK])
    }
}

/// Reads the krust-only `explicit_padding`: exactly one [before, after] pair per spatial axis,
/// as the PyTorch importer writes it (values bounded by the border reader).
fn read_explicit_padding<C: PoolClass>(c: &mut ConfigReader) -> Result<Option<C::Pads>> {
    let Some(v) = c.value("explicit_padding") else {
        return Ok(None);
    };
    let bad = || {
        NnError::argument(
            "explicit_padding",
            format!(
                "expected {} [before, after] pairs of non-negative integers, got {v}",
                C::RANK
            ),
        )
    };
    let all_pairs = v.as_array().is_some_and(|rows| {
        rows.len() == C::RANK
            && rows
                .iter()
                .all(|p| p.as_array().is_some_and(|p| p.len() == 2))
    });
    if !all_pairs {
        return Err(bad());
    }
    let pairs = c
        .borders_opt("explicit_padding", C::RANK)?
        .ok_or_else(bad)?;
    C::Pads::from_pairs(&pairs).map(Some).ok_or_else(bad)
}

impl<C: PoolClass> Layer for Pool<C> {
    fn class_name(&self) -> &'static str {
        C::NAME
    }

    fn config(&self) -> Value {
        let mut config = json!({
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": padding_name(self.padding),
            "data_format": "channels_last",
        });
        // The krust-only keys only when set, so Keras-compatible configs stay unchanged.
        if let Some(p) = self.explicit_padding {
            let pairs: Vec<[usize; 2]> = p.to_pairs().into_iter().map(|(a, b)| [a, b]).collect();
            config["explicit_padding"] = json!(pairs);
        }
        if self.ceil_mode {
            config["ceil_mode"] = Value::Bool(true);
        }
        config
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
