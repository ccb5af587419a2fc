//! The one convolution layer, `Conv<C>`, that every Keras convolution class configures: its
//! spatial rank (1, 2 or 3) and kind (regular, transposed, depthwise, separable) come from the
//! class `C`, and argument reading, output shapes, weights, forward and `get_config` live here
//! once. Each Keras class keeps a small file of its own in this folder: its name, rank, kind
//! and constructor.
//!
//! 1-D layers run as 2-D ones on a height-1 image (`lift_input`, `lift_kernel`); 2-D layers run through
//! `Var::conv2d_grouped` / `conv2d_transpose`, 3-D ones through `Var::conv3d_grouped` /
//! `conv3d_transpose`.

/// Declares a Keras convolution class: the marker type implementing `ConvClass` and the
/// public layer type `Conv<marker>` under the Keras name.
macro_rules! keras_conv_class {
    ($(#[$doc:meta])* $name:ident, $class:ident, rank $rank:literal, $kind:ident, $sizes:ty) => {
        $(#[$doc])*
        pub type $name = super::Conv<$class>;

        #[doc = concat!("The Keras class of [`", stringify!($name), "`].")]
        #[derive(Debug, Clone)]
        pub struct $class;

        impl crate::config::args::SpatialRank for $class {
            const RANK: usize = $rank;
        }

        impl super::ConvClass for $class {
            const NAME: &'static str = stringify!($name);
            const KIND: super::ConvKind = super::ConvKind::$kind;
            type Sizes = $sizes;
        }
    };
}

mod conv1d;
mod conv1d_transpose;
mod conv2d;
mod conv2d_transpose;
mod conv3d;
mod conv3d_transpose;
mod depthwise_conv2d;
mod separable_conv1d;
mod separable_conv2d;

pub use conv1d::{Conv1D, Conv1DClass, Padding1D};
pub use conv1d_transpose::{Conv1DTranspose, Conv1DTransposeClass};
pub use conv2d::{Conv2D, Conv2DClass};
pub use conv2d_transpose::{Conv2DTranspose, Conv2DTransposeClass};
pub use conv3d::{Conv3D, Conv3DClass};
pub use conv3d_transpose::{Conv3DTranspose, Conv3DTransposeClass};
pub use depthwise_conv2d::{DepthwiseConv2D, DepthwiseConv2DClass};
pub use separable_conv1d::{SeparableConv1D, SeparableConv1DClass};
pub use separable_conv2d::{SeparableConv2D, SeparableConv2DClass};

use super::Layer;
use crate::config::args::{self, KerasArgs, SpatialRank};
use crate::inference::{ConvWeights, InferenceRole};
use crate::initializers::Initializer;
use crate::regularizers::WeightPenalties;
use crate::{Activation, NnError, Result};
use krust_autograd::Var;
use krust_tensor::conv::{output_size, Conv3dSpec};
use krust_tensor::{Conv2dSpec, Padding};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::marker::PhantomData;

/// What a convolution computes from its kernel(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKind {
    /// Kernel (k..., in / groups, filters).
    Regular,
    /// The input gradient of a regular convolution, used to upsample: kernel
    /// (k..., filters, in).
    Transposed,
    /// Each input channel meets its own `depth_multiplier` filters: kernel (k..., in, m).
    Depthwise,
    /// Depthwise, then a 1x1 ("pointwise") regular convolution to `filters` channels.
    Separable,
}

impl ConvKind {
    /// Whether Keras's class takes a `filters` argument (depthwise output channels are
    /// in × depth_multiplier instead).
    fn has_filters(self) -> bool {
        self != ConvKind::Depthwise
    }

    /// Whether the kind reads `depth_multiplier`.
    fn has_depth_multiplier(self) -> bool {
        matches!(self, ConvKind::Depthwise | ConvKind::Separable)
    }

    /// The arguments of `Conv` that the kind's Keras classes do not take: they are refused
    /// when read and left out of the config.
    const fn not_taken(self) -> &'static [&'static str] {
        match self {
            ConvKind::Regular => &[
                "output_padding",
                "depth_multiplier",
                "depthwise_initializer",
                "pointwise_initializer",
            ],
            ConvKind::Transposed => &[
                "groups",
                "depth_multiplier",
                "depthwise_initializer",
                "pointwise_initializer",
            ],
            ConvKind::Depthwise => &[
                "filters",
                "groups",
                "output_padding",
                "kernel_initializer",
                "pointwise_initializer",
            ],
            ConvKind::Separable => &["groups", "output_padding", "kernel_initializer"],
        }
    }

    /// The arguments without a default.
    const fn required(self) -> &'static [&'static str] {
        match self {
            ConvKind::Depthwise => &["kernel_size"],
            _ => &["filters", "kernel_size"],
        }
    }

    /// The Keras argument prefix of the first kernel ("kernel_initializer" or
    /// "depthwise_initializer"; Keras names the depthwise weight itself "kernel" in
    /// DepthwiseConv2D, "depthwise_kernel" in the separable layers).
    fn kernel_prefix(self) -> &'static str {
        if self.has_depth_multiplier() {
            "depthwise"
        } else {
            "kernel"
        }
    }

    /// Weight prefixes the penalties (regularizers, constraints) know, in Keras's order.
    fn penalty_prefixes(self) -> &'static [&'static str] {
        match self {
            ConvKind::Regular | ConvKind::Transposed => &["kernel", "bias"],
            ConvKind::Depthwise => &["depthwise", "bias"],
            ConvKind::Separable => &["depthwise", "pointwise", "bias"],
        }
    }
}

/// A Keras convolution class: its name, spatial rank (`SpatialRank::RANK`: 1 for steps, 2 for
/// height and width, 3 for depth, height and width) and kind. Each class file declares one
/// (see `keras_conv_class!`).
pub trait ConvClass: SpatialRank + std::fmt::Debug + Clone + 'static {
    /// The Keras class name, e.g. "Conv2D".
    const NAME: &'static str;
    const KIND: ConvKind;
    /// How the builder methods take per-axis sizes: `usize` for most 1-D classes, `(h, w)`
    /// for 2-D, `[d, h, w]` for 3-D.
    type Sizes: AxisSizes;
}

/// Per-axis sizes as the builder methods take them.
pub trait AxisSizes {
    fn to_axes(self) -> Vec<usize>;
}

impl AxisSizes for usize {
    fn to_axes(self) -> Vec<usize> {
        vec![self]
    }
}

impl AxisSizes for (usize, usize) {
    fn to_axes(self) -> Vec<usize> {
        vec![self.0, self.1]
    }
}

impl AxisSizes for [usize; 3] {
    fn to_axes(self) -> Vec<usize> {
        self.to_vec()
    }
}

/// Convolution padding: Keras's valid and same, and causal (1-D regular convolutions only:
/// (kernel_size - 1) · dilation zeros on the left, so output t sees inputs ≤ t).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConvPadding {
    Valid,
    Same,
    Causal,
}

impl From<Padding> for ConvPadding {
    fn from(p: Padding) -> Self {
        match p {
            Padding::Valid => ConvPadding::Valid,
            Padding::Same => ConvPadding::Same,
        }
    }
}

impl ConvPadding {
    /// The kernels' padding: causal is valid after the explicit left padding.
    fn kernel_padding(self) -> Padding {
        match self {
            ConvPadding::Same => Padding::Same,
            ConvPadding::Valid | ConvPadding::Causal => Padding::Valid,
        }
    }
}

/// A convolution layer of Keras class `C` (`Conv2D`, `Conv3DTranspose`, ...). Its fields are
/// its Keras arguments (see `config::args`); those its class does not take
/// (`ConvKind::not_taken`) keep their defaults, are refused when read and are not written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default = "Conv::keras_defaults", deny_unknown_fields)]
pub struct Conv<C: ConvClass> {
    /// Output channels (required; all kinds but depthwise, whose output is in ×
    /// depth_multiplier).
    pub filters: usize,
    /// One entry per spatial axis (required).
    #[serde(deserialize_with = "args::axes::<C, _>")]
    pub kernel_size: Vec<usize>,
    /// Default `1` on every axis.
    #[serde(deserialize_with = "args::axes::<C, _>")]
    pub strides: Vec<usize>,
    /// Default `"valid"`.
    pub padding: ConvPadding,
    /// Keras's `data_format`: channels-last, the one layout krust supports.
    data_format: args::ChannelsLast,
    /// Default `1` on every axis; > 1 is an atrous convolution (Keras forbids strides > 1
    /// with it in regular convolutions).
    #[serde(deserialize_with = "args::axes::<C, _>")]
    pub dilation_rate: Vec<usize>,
    /// Transposed only: Keras's `output_padding` (each entry below the stride). Default
    /// `None`.
    #[serde(deserialize_with = "args::axes_opt::<C, _>")]
    pub output_padding: Option<Vec<usize>>,
    /// Regular only: with g groups, input and output channels split into g independent
    /// convolutions (the kernel is (k..., in / g, filters)). Default `1`.
    #[serde(deserialize_with = "args::positive")]
    pub groups: usize,
    /// Depthwise and separable only: filters per input channel. Default `1`.
    #[serde(deserialize_with = "args::positive")]
    pub depth_multiplier: usize,
    /// Default `None` (linear).
    #[serde(with = "args::activation")]
    pub activation: Activation,
    /// Default `true`.
    pub use_bias: bool,
    /// Regular and transposed: the kernel's initializer. Default `"glorot_uniform"`.
    #[serde(with = "args::initializer")]
    pub kernel_initializer: Initializer,
    /// Depthwise and separable: the depthwise kernel's initializer. Default
    /// `"glorot_uniform"`.
    #[serde(with = "args::initializer")]
    pub depthwise_initializer: Initializer,
    /// Separable: the pointwise kernel's initializer. Default `"glorot_uniform"`.
    #[serde(with = "args::initializer")]
    pub pointwise_initializer: Initializer,
    /// Default `"zeros"`.
    #[serde(with = "args::initializer")]
    pub bias_initializer: Initializer,
    /// Weight and activity regularizers and constraints (Keras's *_regularizer, *_constraint
    /// under the kind's weight prefixes).
    #[serde(skip)]
    pub penalties: WeightPenalties,
    /// The kernel (the depthwise one for depthwise and separable kinds).
    #[serde(skip)]
    kernel: Option<Var>,
    /// Separable only: the 1x1 kernel (1..., in × depth_multiplier, filters).
    #[serde(skip)]
    pointwise_kernel: Option<Var>,
    #[serde(skip)]
    bias: Option<Var>,
    /// Transposed only: output lengths per spatial axis, fixed by `build`.
    #[serde(skip)]
    out_spatial: Vec<usize>,
    #[serde(skip)]
    class: PhantomData<C>,
}

impl<C: ConvClass> Conv<C> {
    /// The layer with `filters` and `kernel_size` (per axis) and Keras's defaults for the rest.
    fn with_kernel(filters: usize, kernel_size: Vec<usize>) -> Self {
        Conv {
            filters,
            kernel_size,
            ..Self::keras_defaults()
        }
    }

    /// Keras's defaults for every argument, the one place they are written (the required
    /// `filters` and `kernel_size` are placeholders).
    fn keras_defaults() -> Self {
        Conv {
            filters: 0,
            kernel_size: vec![1; C::RANK],
            strides: vec![1; C::RANK],
            padding: ConvPadding::Valid,
            data_format: args::ChannelsLast,
            dilation_rate: vec![1; C::RANK],
            output_padding: None,
            groups: 1,
            depth_multiplier: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            depthwise_initializer: Initializer::GlorotUniform,
            pointwise_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            penalties: WeightPenalties::new(C::NAME, C::KIND.penalty_prefixes()),
            kernel: None,
            pointwise_kernel: None,
            bias: None,
            out_spatial: Vec::new(),
            class: PhantomData,
        }
    }

    /// The last `RANK` entries of builder sizes: 1-D classes that took (1, steps) pairs when
    /// they ran as 2-D layers keep accepting them.
    fn axes(sizes: C::Sizes) -> Vec<usize> {
        let v = sizes.to_axes();
        v[v.len().saturating_sub(C::RANK)..].to_vec()
    }

    pub fn with_strides(mut self, strides: C::Sizes) -> Self {
        self.strides = Self::axes(strides);
        self
    }

    pub fn with_dilation(mut self, dilation_rate: C::Sizes) -> Self {
        self.dilation_rate = Self::axes(dilation_rate);
        self
    }

    pub fn with_padding(mut self, padding: impl Into<ConvPadding>) -> Self {
        self.padding = padding.into();
        self
    }

    pub fn with_output_padding(mut self, output_padding: C::Sizes) -> Self {
        self.output_padding = Some(Self::axes(output_padding));
        self
    }

    pub fn with_groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }

    pub fn with_depth_multiplier(mut self, depth_multiplier: usize) -> Self {
        self.depth_multiplier = depth_multiplier;
        self
    }

    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// Builds the layer from its Keras config (see `config`); a malformed or unknown
    /// argument, or one the class does not take, is an error naming it.
    pub fn from_config(config: &Value) -> Result<Self> {
        args::read(C::NAME, config)
    }

    /// Keras allows "causal" padding only in Conv1D.
    fn allows_causal() -> bool {
        C::RANK == 1 && C::KIND == ConvKind::Regular
    }

    /// The (dilated) window and stride per spatial axis.
    fn windows(&self) -> Vec<(usize, usize)> {
        (0..C::RANK)
            .map(|i| {
                let extent = (self.kernel_size[i].max(1) - 1) * self.dilation_rate[i] + 1;
                (extent, self.strides[i])
            })
            .collect()
    }

    /// Causal padding's left zeros on the steps axis (0 for the other paddings).
    fn causal_pad(&self) -> usize {
        match self.padding {
            ConvPadding::Causal => (self.kernel_size[0].max(1) - 1) * self.dilation_rate[0],
            _ => 0,
        }
    }

    fn error(why: impl Into<String>) -> NnError {
        NnError::layer(C::NAME, why)
    }

    /// The argument checks that need the input channels (Keras raises the same ones).
    fn check_arguments(&self, channels: usize) -> Result<()> {
        for (key, sizes) in [
            ("kernel_size", &self.kernel_size),
            ("strides", &self.strides),
            ("dilation_rate", &self.dilation_rate),
        ] {
            if sizes.len() != C::RANK {
                return Err(Self::error(format!(
                    "argument `{key}`: expected {} entries, got {sizes:?}",
                    C::RANK
                )));
            }
        }
        if C::KIND.has_filters() && self.filters == 0 {
            return Err(NnError::argument(
                "filters",
                format!("{} needs at least one filter", C::NAME),
            ));
        }
        if self.padding == ConvPadding::Causal && !Self::allows_causal() {
            return Err(Self::error(
                "argument `padding`: \"causal\" is only supported by Conv1D",
            ));
        }
        match C::KIND {
            ConvKind::Regular => self.check_groups(channels),
            ConvKind::Transposed => self.check_output_padding(),
            ConvKind::Depthwise | ConvKind::Separable if self.depth_multiplier == 0 => Err(
                Self::error("argument `depth_multiplier`: must be at least 1"),
            ),
            ConvKind::Depthwise | ConvKind::Separable => Ok(()),
        }
    }

    fn check_groups(&self, channels: usize) -> Result<()> {
        let (g, f) = (self.groups, self.filters);
        if g == 0 || !channels.is_multiple_of(g) || !f.is_multiple_of(g) {
            return Err(Self::error(format!(
                "argument `groups`: {g} must be positive and divide both the {channels} input \
                 channels and the {f} filters"
            )));
        }
        let strided = self.strides.iter().any(|&s| s > 1);
        if strided && self.dilation_rate.iter().any(|&d| d > 1) {
            return Err(Self::error(
                "strides > 1 cannot be combined with dilation_rate > 1 (as in Keras)",
            ));
        }
        Ok(())
    }

    fn check_output_padding(&self) -> Result<()> {
        let Some(p) = &self.output_padding else {
            return Ok(());
        };
        if p.len() != C::RANK || p.iter().zip(&self.strides).any(|(p, s)| p >= s) {
            return Err(Self::error(format!(
                "argument `output_padding`: {p:?} must have one entry per axis, each smaller \
                 than the strides (as in Keras)"
            )));
        }
        Ok(())
    }

    /// Output lengths of the spatial axes.
    fn output_spatial(&self, spatial: &[usize]) -> Result<Vec<usize>> {
        let padding = self.padding.kernel_padding();
        (0..C::RANK)
            .map(|i| {
                let (k, s, d) = (self.kernel_size[i], self.strides[i], self.dilation_rate[i]);
                if C::KIND == ConvKind::Transposed {
                    let p = self.output_padding.as_ref().map(|p| p[i]);
                    return Ok(transpose_output_length(spatial[i], k, s, d, padding, p));
                }
                let len = spatial[i] + if i == 0 { self.causal_pad() } else { 0 };
                output_size(C::NAME, len, k, s, d, padding)
                    .map(|o| o.0)
                    .map_err(|e| Self::error(e.to_string()))
            })
            .collect()
    }

    /// Kernel shapes (first kernel, pointwise kernel if separable) for `channels` inputs;
    /// Keras's layouts, sampled in the shape Keras stores so the fans match.
    fn kernel_shapes(&self, channels: usize) -> (Vec<usize>, Option<Vec<usize>>) {
        let mut first = self.kernel_size.clone();
        let m = self.depth_multiplier;
        match C::KIND {
            ConvKind::Regular => first.extend([channels / self.groups, self.filters]),
            ConvKind::Transposed => first.extend([self.filters, channels]),
            ConvKind::Depthwise | ConvKind::Separable => first.extend([channels, m]),
        }
        let pointwise = (C::KIND == ConvKind::Separable).then(|| {
            let mut shape = vec![1; C::RANK];
            shape.extend([channels * m, self.filters]);
            shape
        });
        (first, pointwise)
    }

    fn out_channels(&self, channels: usize) -> usize {
        if C::KIND == ConvKind::Depthwise {
            channels * self.depth_multiplier
        } else {
            self.filters
        }
    }

    fn first_initializer(&self) -> &Initializer {
        if C::KIND.has_depth_multiplier() {
            &self.depthwise_initializer
        } else {
            &self.kernel_initializer
        }
    }

    /// The weights under their Keras argument prefixes, for the penalties.
    fn by_prefix(&self) -> Vec<(&'static str, Option<&Var>)> {
        let mut weights = vec![(C::KIND.kernel_prefix(), self.kernel.as_ref())];
        if C::KIND == ConvKind::Separable {
            weights.push(("pointwise", self.pointwise_kernel.as_ref()));
        }
        weights.push(("bias", self.bias.as_ref()));
        weights
    }

    /// The per-axis geometry in the kernels' terms: 1-D reads as 2-D with a unit height axis.
    fn spec(&self) -> Spec {
        let (s, d) = (lift_axes(&self.strides), lift_axes(&self.dilation_rate));
        Spec::new(&s, &d, self.padding.kernel_padding())
    }

    /// Input (n, steps, c) of a 1-D layer as (n, 1, steps, c), causal zeros added.
    fn lift_input(&self, x: &Var) -> Result<Var> {
        if C::RANK != 1 {
            return Ok(x.clone());
        }
        let s = x.shape();
        let x = x.reshape(&[s[0], 1, s[1], s[2]])?;
        match self.causal_pad() {
            0 => Ok(x),
            pad => Ok(x.pad(&[(0, 0), (0, 0), (pad, 0), (0, 0)], 0.0)?),
        }
    }

    /// The depthwise step: a grouped convolution with one group per input channel, its
    /// kernel (k..., in, m) read as (k..., 1, in·m) so output channel c·m + j is filter j of
    /// channel c (the same memory, so the reshape is free).
    fn depthwise(&self, x: &Var, kernel: &Var, bias: Option<&Var>) -> Result<Var> {
        let mut shape = kernel.shape().to_vec();
        let (c, m) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let n = shape.len();
        shape[n - 2] = 1;
        shape[n - 1] = c * m;
        self.spec().grouped(x, &kernel.reshape(&shape)?, bias, c)
    }

    /// The kind's computation on lifted inputs and kernels.
    fn convolve(&self, x: &Var) -> Result<Var> {
        let kernel = lift_kernel::<C>(self.kernel.as_ref().ok_or(NnError::NotBuilt)?)?;
        let bias = self.bias.as_ref();
        match C::KIND {
            ConvKind::Regular => self.spec().grouped(x, &kernel, bias, self.groups),
            ConvKind::Depthwise => self.depthwise(x, &kernel, bias),
            ConvKind::Separable => {
                let pointwise = self.pointwise_kernel.as_ref().ok_or(NnError::NotBuilt)?;
                let pointwise = lift_kernel::<C>(pointwise)?;
                let y = self.depthwise(x, &kernel, None)?;
                let unit = vec![1; self.spec().rank()];
                Spec::new(&unit, &unit, Padding::Valid).grouped(&y, &pointwise, bias, 1)
            }
            ConvKind::Transposed => {
                let y = self
                    .spec()
                    .transposed(x, &kernel, &lift_axes(&self.out_spatial))?;
                Ok(match bias {
                    Some(b) => y.add(b)?,
                    None => y,
                })
            }
        }
    }
}

/// A 1-D layer's per-axis sizes as 2-D ones with a unit height axis.
fn lift_axes(v: &[usize]) -> Vec<usize> {
    if v.len() == 1 {
        vec![1, v[0]]
    } else {
        v.to_vec()
    }
}

/// A 1-D layer's kernel (k, ...) as (1, k, ...).
fn lift_kernel<C: ConvClass>(kernel: &Var) -> Result<Var> {
    if C::RANK != 1 {
        return Ok(kernel.clone());
    }
    let mut shape = vec![1];
    shape.extend(kernel.shape());
    Ok(kernel.reshape(&shape)?)
}

/// The kernels' geometry: 2-D (1-D lifted) or 3-D.
#[derive(Debug, Clone, Copy)]
enum Spec {
    Planar(Conv2dSpec),
    Volumetric(Conv3dSpec),
}

impl Spec {
    fn new(strides: &[usize], dilation: &[usize], padding: Padding) -> Spec {
        match (strides, dilation) {
            (&[sd, sh, sw], &[dd, dh, dw]) => Spec::Volumetric(Conv3dSpec {
                strides: [sd, sh, sw],
                padding,
                dilation: [dd, dh, dw],
            }),
            _ => Spec::Planar(Conv2dSpec {
                strides: (strides[0], strides[1]),
                padding,
                dilation: (dilation[0], dilation[1]),
            }),
        }
    }

    fn rank(&self) -> usize {
        match self {
            Spec::Planar(_) => 2,
            Spec::Volumetric(_) => 3,
        }
    }

    /// A grouped convolution (one group is a plain one): one tape node.
    fn grouped(&self, x: &Var, kernel: &Var, bias: Option<&Var>, groups: usize) -> Result<Var> {
        Ok(match *self {
            Spec::Planar(s) => x.conv2d_grouped(kernel, bias, s, groups)?,
            Spec::Volumetric(s) => x.conv3d_grouped(kernel, bias, s, groups)?,
        })
    }

    /// The transposed convolution producing `out` spatial lengths: one tape node.
    fn transposed(&self, x: &Var, kernel: &Var, out: &[usize]) -> Result<Var> {
        Ok(match *self {
            Spec::Planar(s) => x.conv2d_transpose(kernel, (out[0], out[1]), s)?,
            Spec::Volumetric(s) => x.conv3d_transpose(kernel, [out[0], out[1], out[2]], s)?,
        })
    }
}

/// Keras's deconvolution output length for one axis: valid: in·stride + max(k - stride, 0);
/// same: in·stride; with output_padding p: (in - 1)·stride + k - 2·pad + p, pad = 0 (valid)
/// or k // 2 (same), k the dilated size.
pub fn transpose_output_length(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
    output_padding: Option<usize>,
) -> usize {
    let k = (kernel.max(1) - 1) * dilation + 1;
    match (output_padding, padding) {
        (None, Padding::Valid) => input * stride + k.saturating_sub(stride),
        (None, Padding::Same) => input * stride,
        (Some(p), pad_mode) => {
            let pad = if pad_mode == Padding::Same { k / 2 } else { 0 };
            ((input.max(1) - 1) * stride + k + p).saturating_sub(2 * pad)
        }
    }
}

impl<C: ConvClass> KerasArgs for Conv<C> {
    const REQUIRED: &'static [&'static str] = C::KIND.required();
    const NOT_TAKEN: &'static [&'static str] = C::KIND.not_taken();

    fn weight_penalties(&self) -> Option<&WeightPenalties> {
        Some(&self.penalties)
    }

    fn weight_penalties_mut(&mut self) -> Option<&mut WeightPenalties> {
        Some(&mut self.penalties)
    }

    fn check_args(&mut self) -> Result<()> {
        if self.padding == ConvPadding::Causal && !Self::allows_causal() {
            return Err(Self::error(
                "argument `padding`: \"causal\" is only supported by Conv1D",
            ));
        }
        Ok(())
    }
}

impl<C: ConvClass> Layer for Conv<C> {
    fn class_name(&self) -> &'static str {
        C::NAME
    }

    fn config(&self) -> Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let (spatial, channels) = super::split_channels(C::NAME, C::RANK, input_shape)?;
        self.check_arguments(channels)?;
        let mut out = self.output_spatial(spatial)?;
        let (first, pointwise) = self.kernel_shapes(channels);
        self.kernel = Some(Var::parameter(self.first_initializer().try_sample(&first)?));
        self.pointwise_kernel = match pointwise {
            Some(shape) => Some(Var::parameter(
                self.pointwise_initializer.try_sample(&shape)?,
            )),
            None => None,
        };
        let out_channels = self.out_channels(channels);
        self.bias = if self.use_bias {
            Some(Var::parameter(
                self.bias_initializer.try_sample(&[out_channels])?,
            ))
        } else {
            None
        };
        self.out_spatial = out.clone();
        out.push(out_channels);
        Ok(out)
    }

    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if x.shape().len() != C::RANK + 2 {
            return Err(NnError::layer(
                C::NAME,
                format!(
                    "expects inputs (batch, {} spatial axes, channels), got {:?}",
                    C::RANK,
                    x.shape()
                ),
            ));
        }
        let y = self.convolve(&self.lift_input(x)?)?;
        let y = if C::RANK == 1 {
            let s = y.shape();
            y.reshape(&[s[0], s[2], s[3]])?
        } else {
            y
        };
        let out = self.activation.apply(&y)?;
        self.penalties
            .add_losses(&self.by_prefix(), &out, training)?;
        Ok(out)
    }

    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        Some(&self.penalties)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.penalties.constrain(&self.by_prefix())
    }

    fn weights(&self) -> Vec<(&'static str, Var)> {
        // Keras names the single kernel "kernel", the separable ones by their role.
        let separable = C::KIND == ConvKind::Separable;
        let first = if separable {
            "depthwise_kernel"
        } else {
            "kernel"
        };
        let mut w: Vec<(&'static str, Var)> = Vec::new();
        w.extend(self.kernel.iter().map(|k| (first, k.clone())));
        w.extend(
            self.pointwise_kernel
                .iter()
                .map(|k| ("pointwise_kernel", k.clone())),
        );
        w.extend(self.bias.iter().map(|b| ("bias", b.clone())));
        w
    }

    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        // Transposed and separable layers have never reported one (receptive-field
        // arithmetic treats them as pass-through), and reports must not change.
        matches!(C::KIND, ConvKind::Regular | ConvKind::Depthwise).then(|| self.windows())
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        let positions: usize = output_shape.iter().product();
        let taps: usize = self.kernel_size.iter().product();
        let kernel_dim = |k: &Option<Var>, from_end: usize| {
            k.as_ref()
                .map_or(0, |k| k.shape()[k.shape().len() - from_end])
        };
        match C::KIND {
            // in / groups multiply-adds per output value and tap.
            ConvKind::Regular => 2 * (positions * taps * kernel_dim(&self.kernel, 2)) as u64,
            ConvKind::Depthwise => 2 * (positions * taps) as u64,
            ConvKind::Separable => {
                let cm = kernel_dim(&self.pointwise_kernel, 2);
                let spatial: usize = output_shape
                    .split_last()
                    .map_or(0, |(_, s)| s.iter().product());
                2 * (spatial * cm * (taps + self.filters)) as u64
            }
            ConvKind::Transposed => {
                // Every input position meets the whole kernel: in_positions · k
                // multiply-adds, the input positions approximated as output / strides.
                let k = self.kernel.as_ref().map_or(0, |k| k.value_ref().numel());
                let outputs: usize = self.out_spatial.iter().product();
                let strides: usize = self.strides.iter().product();
                let f = self.filters.max(1);
                2 * (outputs / strides.max(1) * k / f * f) as u64
            }
        }
    }

    fn inference_role(&self) -> Option<InferenceRole> {
        // The inference planner folds 2-D regular and depthwise convolutions only.
        let Spec::Planar(spec) = self.spec() else {
            return None;
        };
        let kernel = self.kernel.as_ref()?.value();
        let shape = kernel.shape().to_vec();
        let (kernel, groups) = match (C::RANK, C::KIND, shape.as_slice()) {
            (2, ConvKind::Regular, _) => (kernel, self.groups),
            // The grouped reading of the kernel that `depthwise` uses (the same memory).
            (2, ConvKind::Depthwise, &[kh, kw, c, m]) => {
                (kernel.reshape([kh, kw, 1, c * m]).ok()?, c)
            }
            _ => return None,
        };
        Some(InferenceRole::Conv2d(ConvWeights {
            kernel,
            bias: self.bias.as_ref().map(Var::value),
            spec,
            groups,
            activation: self.activation,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::regularizers::layer_checks::{check_weight_rules, random};
    use serde_json::json;

    #[test]
    fn conv3d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv3D",
            json!({"filters": 3, "kernel_size": [2, 2, 1], "padding": "same"}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 3, 3, 2, 2], 1),
        );
    }

    #[test]
    fn conv3d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv3DTranspose",
            json!({"filters": 2, "kernel_size": 2, "strides": [2, 1, 1]}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 2, 2, 3, 3], 2),
        );
    }

    #[test]
    fn conv2d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv2DTranspose",
            json!({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 3, 4, 2], 1),
        );
    }

    #[test]
    fn conv1d_transpose_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "Conv1DTranspose",
            json!({"filters": 2, "kernel_size": 3, "strides": 2}),
            &[("kernel", "kernel"), ("bias", "bias")],
            &random(&[2, 5, 3], 2),
        );
    }

    #[test]
    fn depthwise_conv2d_honours_initializers_regularizers_and_constraints() {
        // Keras names the weight "kernel" but configures it as "depthwise_*".
        check_weight_rules(
            "DepthwiseConv2D",
            json!({"kernel_size": 2, "depth_multiplier": 2}),
            &[("depthwise", "kernel"), ("bias", "bias")],
            &random(&[2, 4, 3, 3], 1),
        );
    }

    #[test]
    fn separable_conv2d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "SeparableConv2D",
            json!({"filters": 4, "kernel_size": 3, "padding": "same"}),
            &[
                ("depthwise", "depthwise_kernel"),
                ("pointwise", "pointwise_kernel"),
                ("bias", "bias"),
            ],
            &random(&[2, 4, 4, 3], 2),
        );
    }

    #[test]
    fn separable_conv1d_honours_initializers_regularizers_and_constraints() {
        check_weight_rules(
            "SeparableConv1D",
            json!({"filters": 3, "kernel_size": 2, "depth_multiplier": 2}),
            &[
                ("depthwise", "depthwise_kernel"),
                ("pointwise", "pointwise_kernel"),
                ("bias", "bias"),
            ],
            &random(&[2, 5, 2], 3),
        );
    }
}
