//! The `Layer` trait and the catalog of layers: one file per Keras class, except the families
//! that share one implementation (`conv/`, `pooling/`, `merging`, `global_pooling`,
//! `activation_layers`, `noise`, `normalization`, `padding_cropping2d`, `resizing_nd`, each
//! naming its classes in its first line). A one-class file is one line of `one_class_files!`
//! below (module, re-export and registry row); `registry` maps the other classes.

mod activation;
mod activation_layers;
mod conv;
mod global_pooling;
mod identity;
mod input;
mod merging;
mod noise;
mod normalization;
mod padding_cropping2d;
mod pooling;
mod registry;
mod resizing_nd;

pub use activation::{ActivationLayer, ActivityRegularization};
pub use activation_layers::{
    ActivationFunctionLayer, LeakyReLU, Maxout, PReLU, ReLU, Softmax, ELU,
};
pub use conv::{
    transpose_output_length, AxisSizes, Conv, Conv1D, Conv1DClass, Conv1DTranspose,
    Conv1DTransposeClass, Conv2D, Conv2DClass, Conv2DTranspose, Conv2DTransposeClass, Conv3D,
    Conv3DClass, Conv3DTranspose, Conv3DTransposeClass, ConvClass, ConvKind, ConvPadding,
    DepthwiseConv2D, DepthwiseConv2DClass, Padding1D, SeparableConv1D, SeparableConv1DClass,
    SeparableConv2D, SeparableConv2DClass,
};
pub use global_pooling::{
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D,
};
pub use identity::Identity;
pub use input::Input;
pub use merging::{Add, Average, Concatenate, Maximum, Minimum, Multiply, Subtract};
pub use noise::{
    AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout, SpatialDropout1D,
    SpatialDropout2D, SpatialDropout3D, StochasticDepth,
};
pub use normalization::{
    GroupNorm, GroupNormClass, GroupNormalization, GroupNormalizationClass, InstanceNormalization,
    InstanceNormalizationClass, LayerNormalization,
};
pub use padding_cropping2d::{Borders, Cropping2D, ZeroPadding2D};
pub use pooling::{
    AveragePooling1D, AveragePooling1DClass, AveragePooling2D, AveragePooling2DClass,
    AveragePooling3D, AveragePooling3DClass, AxisPads, MaxPooling1D, MaxPooling1DClass,
    MaxPooling2D, MaxPooling2DClass, MaxPooling3D, MaxPooling3DClass, Pool, PoolClass, PoolOp,
    Pooling3D,
};
pub use registry::{layer_classes, layer_from_config, FromConfig, LAYERS};
pub use resizing_nd::{
    Cropping, Cropping1D, Cropping3D, OneAxis, ThreeAxes, UpSampling, UpSampling1D, UpSampling3D,
    ZeroPadding, ZeroPadding1D, ZeroPadding3D,
};

use crate::Result;
use krust_autograd::Var;

/// Declares the files that hold one Keras class each, the class named as its Rust type: one
/// line per layer gives the file's `mod`, the re-export (of the class and any types after
/// `+`) and the layer's row in the registry (read through its serde fields,
/// `registry::serde_layer`). `registry::LAYERS` lists the other classes.
macro_rules! one_class_files {
    ($($file:ident => $class:ident $(+ $extra:ident)*,)*) => {
        $(
            mod $file;
            pub use $file::{$class $(, $extra)*};
        )*

        /// The classes of the one-class files, by name.
        const ONE_CLASS_LAYERS: &[(&str, FromConfig)] =
            &[$((stringify!($class), registry::serde_layer::<$class>)),*];
    };
}

one_class_files! {
    dense => Dense,
    flatten => Flatten,
    dropout => Dropout,
    reshape => Reshape,
    permute => Permute,
    repeat_vector => RepeatVector,
    rescaling => Rescaling,
    batch_normalization => BatchNormalization,
    embedding => Embedding,
    unit_normalization => UnitNormalization,
    layer_scale => LayerScale,
    arithmetic => Arithmetic + ArithmeticOp,
    custom_scale => CustomScaleLayer,
    dot => Dot,
    adaptive_average_pooling2d => AdaptiveAveragePooling2D,
    normalization_preprocessing => Normalization,
    up_sampling2d => UpSampling2D + Interpolation,
}

/// A layer: built once from its input shape, then applied to batches.
///
/// Shapes passed to `build` exclude the batch axis, as in Keras.
pub trait Layer {
    /// Keras class name, e.g. "Conv2D".
    fn class_name(&self) -> &'static str;

    /// Creates the weights for `input_shape` and returns the output shape.
    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>>;

    /// Applies the layer; `training` turns on dropout and other training-only behaviour.
    fn forward(&self, x: &Var, training: bool) -> Result<Var>;

    /// Trainable weights, in a fixed order (kernel before bias).
    fn parameters(&self) -> Vec<Var> {
        self.weights().into_iter().map(|(_, v)| v).collect()
    }

    /// Every weight with its Keras name ("kernel", "bias", ...), in Keras's order.
    fn weights(&self) -> Vec<(&'static str, Var)> {
        Vec::new()
    }

    /// Keras-style arguments of the layer (as `get_config()`, without the name).
    fn config(&self) -> serde_json::Value;

    /// Per spatial axis, the window extent (dilation included) and stride, for receptive-field
    /// arithmetic; None for layers that keep spatial positions apart (kernel 1, stride 1).
    fn spatial_window(&self) -> Option<Vec<(usize, usize)>> {
        None
    }

    /// Applies weight constraints (such as MaxNorm) after an optimizer step.
    fn apply_constraints(&self) -> Result<()> {
        Ok(())
    }

    /// The layer's weight regularizers, constraints and activity regularizer, with the
    /// penalties it recorded in the current pass; None for layers that have none.
    fn penalties(&self) -> Option<&crate::regularizers::WeightPenalties> {
        None
    }

    /// The regularization losses this layer recorded in the current training pass (Keras's
    /// `layer.losses`): scalars on the tape, to add to the training loss.
    fn losses(&self) -> Vec<Var> {
        self.penalties()
            .map_or_else(Vec::new, crate::regularizers::WeightPenalties::losses)
    }

    /// Forgets the recorded losses; a model calls it on every layer as each pass starts.
    fn clear_losses(&self) {
        if let Some(p) = self.penalties() {
            p.clear_losses();
        }
    }

    /// Floating-point operations of one sample's forward pass (a multiply-add counts 2),
    /// from the per-sample output shape; 0 where negligible.
    fn flops(&self, _output_shape: &[usize]) -> u64 {
        0
    }

    /// The shape an `Input` layer declares; None for every other layer.
    fn declared_input_shape(&self) -> Option<Vec<usize>> {
        None
    }

    /// Builds from several inputs (merge layers); single-input layers accept exactly one.
    fn build_multi(&mut self, input_shapes: &[Vec<usize>]) -> Result<Vec<usize>> {
        match input_shapes {
            [one] => self.build(one),
            _ => Err(crate::NnError::layer(
                self.class_name(),
                format!("takes one input, got {}", input_shapes.len()),
            )),
        }
    }

    /// What the inference path may fold this layer into: a convolution, a channels-last
    /// batch normalization, or an elementwise activation, with its current weights. None (the
    /// default) runs the layer as it is.
    fn inference_role(&self) -> Option<crate::inference::InferenceRole> {
        None
    }

    /// The stream a layer draws its training-time randomness from (dropout masks, noise);
    /// None for deterministic layers.
    fn random_stream(&self) -> Option<&krust_tensor::random::RandomStream> {
        None
    }

    /// Applies the layer to several inputs (merge layers); single-input layers take one.
    fn forward_multi(&self, xs: &[Var], training: bool) -> Result<Var> {
        match xs {
            [one] => self.forward(one, training),
            _ => Err(crate::NnError::layer(
                self.class_name(),
                format!("takes one input, got {}", xs.len()),
            )),
        }
    }
}

/// Finite-difference check of `layer`'s gradients at `x`: the input's and every trainable
/// weight's, of a random projection of `forward(x, training)`, with `check`'s step and
/// tolerances ([`krust_autograd::gradcheck::GradCheck::run_with_weights`]). The layer tests
/// and the layer harness run it on every layer, in both modes: a layer with randomness
/// (dropout, noise) has its stream rewound before every evaluation, so each one draws the same
/// masks and the training-mode gradients are really checked.
pub fn check_gradients(
    layer: &dyn Layer,
    x: &krust_tensor::Tensor,
    training: bool,
    check: krust_autograd::gradcheck::GradCheck,
) -> Result<()> {
    let weights: Vec<(String, Var)> = layer
        .weights()
        .into_iter()
        .filter(|(_, w)| w.requires_grad())
        .map(|(n, w)| (n.to_string(), w))
        .collect();
    check.run_with_weights(std::slice::from_ref(x), &weights, |v| {
        if let Some(stream) = layer.random_stream() {
            stream.rewind();
        }
        layer
            .forward(&v[0], training)
            .map_err(|e| krust_tensor::TensorError::invalid("forward", e.to_string()))
    })?;
    Ok(())
}

/// The most values one sample may have at any layer's output (8 GiB of float32).
pub const MAX_SAMPLE_ELEMENTS: usize = 1 << 31;

/// Checks a per-sample shape a layer declared or built (`layer` names it in the error): its
/// element count must not overflow or pass [`MAX_SAMPLE_ELEMENTS`], so a hostile size in a
/// model file is refused at load instead of overflowing later arithmetic or the allocator.
pub(crate) fn check_sample_shape(layer: &str, shape: &[usize]) -> Result<()> {
    match krust_tensor::checked_numel(shape) {
        Some(n) if n <= MAX_SAMPLE_ELEMENTS => Ok(()),
        _ => Err(crate::NnError::layer(
            layer,
            format!(
                "per-sample shape {shape:?} has more than {MAX_SAMPLE_ELEMENTS} values (8 GiB)"
            ),
        )),
    }
}

/// A kernel and an optional bias under their Keras argument prefixes, for the penalties.
pub(crate) fn kernel_and_bias<'a>(
    kernel: &'a Option<Var>,
    bias: &'a Option<Var>,
) -> [(&'static str, Option<&'a Var>); 2] {
    [("kernel", kernel.as_ref()), ("bias", bias.as_ref())]
}

/// Splits a per-sample input shape of a layer over `rank` spatial axes into the spatial
/// lengths and the channels; any other rank is an error naming what the layer expects.
fn split_channels<'a>(
    layer: &str,
    rank: usize,
    input_shape: &'a [usize],
) -> Result<(&'a [usize], usize)> {
    match input_shape.split_last() {
        Some((&c, spatial)) if spatial.len() == rank => Ok((spatial, c)),
        _ => {
            let expected = match rank {
                1 => "(steps, channels)",
                2 => "(height, width, channels)",
                _ => "(depth, height, width, channels)",
            };
            Err(crate::NnError::layer(
                layer,
                format!("expects inputs {expected}, got {input_shape:?}"),
            ))
        }
    }
}

/// Parses a Keras padding name.
pub fn parse_padding(name: &str) -> Result<krust_tensor::Padding> {
    match name {
        "valid" => Ok(krust_tensor::Padding::Valid),
        "same" => Ok(krust_tensor::Padding::Same),
        other => Err(crate::NnError::argument(
            "padding",
            format!("{other:?} is not \"valid\" or \"same\""),
        )),
    }
}
