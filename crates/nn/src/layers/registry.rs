//! The layer registry: every Keras class krust can build from a config, which every loader
//! (krust files, Keras `.keras` and `.h5`) goes through. A class with a file of its own is
//! one line of `one_class_files!` in `layers/mod.rs`; the others are rows of [`LAYERS`].

use super::*;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use serde_json::Value;

/// Builds a layer of the named class (the first argument, for layers that serve several
/// classes) from its Keras-style config.
pub type FromConfig = fn(&'static str, &Value) -> Result<Box<dyn Layer>>;

/// The classes that are not the one class of a file of their own (those are registered by
/// `one_class_files!` in `layers/mod.rs`), with the function that builds each from its config.
pub const LAYERS: &[(&str, FromConfig)] = &[
    ("InputLayer", serde_layer::<Input>),
    ("Conv2D", serde_layer::<Conv2D>),
    ("MaxPooling2D", serde_layer::<MaxPooling2D>),
    ("AveragePooling2D", serde_layer::<AveragePooling2D>),
    ("Activation", serde_layer::<ActivationLayer>),
    ("Add", |class, c| no_arguments(class, c, Add::new())),
    ("Subtract", |class, c| {
        no_arguments(class, c, Subtract::new())
    }),
    ("Multiply", |class, c| {
        no_arguments(class, c, Multiply::new())
    }),
    ("Average", |class, c| no_arguments(class, c, Average::new())),
    ("Maximum", |class, c| no_arguments(class, c, Maximum::new())),
    ("Minimum", |class, c| no_arguments(class, c, Minimum::new())),
    ("Concatenate", serde_layer::<Concatenate>),
    (
        "GlobalAveragePooling2D",
        serde_layer::<GlobalAveragePooling2D>,
    ),
    ("GlobalMaxPooling2D", serde_layer::<GlobalMaxPooling2D>),
    ("ZeroPadding2D", serde_layer::<ZeroPadding2D>),
    ("Cropping2D", serde_layer::<Cropping2D>),
    ("LayerNormalization", serde_layer::<LayerNormalization>),
    ("GroupNormalization", serde_layer::<GroupNormalization>),
    (
        "InstanceNormalization",
        serde_layer::<InstanceNormalization>,
    ),
    ("SpatialDropout1D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("SpatialDropout2D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("SpatialDropout3D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("GaussianDropout", serde_layer::<GaussianDropout>),
    ("GaussianNoise", serde_layer::<GaussianNoise>),
    ("Conv1D", serde_layer::<Conv1D>),
    ("DepthwiseConv2D", serde_layer::<DepthwiseConv2D>),
    ("SeparableConv1D", serde_layer::<SeparableConv1D>),
    ("SeparableConv2D", serde_layer::<SeparableConv2D>),
    ("MaxPooling1D", serde_layer::<MaxPooling1D>),
    ("AveragePooling1D", serde_layer::<AveragePooling1D>),
    (
        "GlobalAveragePooling1D",
        serde_layer::<GlobalAveragePooling1D>,
    ),
    ("GlobalMaxPooling1D", serde_layer::<GlobalMaxPooling1D>),
    (
        "GlobalAveragePooling3D",
        serde_layer::<GlobalAveragePooling3D>,
    ),
    ("GlobalMaxPooling3D", serde_layer::<GlobalMaxPooling3D>),
    ("Conv1DTranspose", serde_layer::<Conv1DTranspose>),
    ("Conv2DTranspose", serde_layer::<Conv2DTranspose>),
    ("ZeroPadding1D", serde_layer::<ZeroPadding1D>),
    ("ZeroPadding3D", serde_layer::<ZeroPadding3D>),
    ("Cropping1D", serde_layer::<Cropping1D>),
    ("Cropping3D", serde_layer::<Cropping3D>),
    ("UpSampling1D", serde_layer::<UpSampling1D>),
    ("UpSampling3D", serde_layer::<UpSampling3D>),
    ("Conv3D", serde_layer::<Conv3D>),
    ("MaxPooling3D", serde_layer::<MaxPooling3D>),
    ("AveragePooling3D", serde_layer::<AveragePooling3D>),
    ("Conv3DTranspose", serde_layer::<Conv3DTranspose>),
    (
        "ActivityRegularization",
        serde_layer::<ActivityRegularization>,
    ),
    ("ReLU", |class, c| {
        Ok(Box::new(ActivationFunctionLayer::from_config(class, c)?))
    }),
    ("LeakyReLU", |class, c| {
        Ok(Box::new(ActivationFunctionLayer::from_config(class, c)?))
    }),
    ("ELU", |class, c| {
        Ok(Box::new(ActivationFunctionLayer::from_config(class, c)?))
    }),
    ("Softmax", |class, c| {
        Ok(Box::new(ActivationFunctionLayer::from_config(class, c)?))
    }),
    ("PReLU", serde_layer::<PReLU>),
    ("Maxout", serde_layer::<Maxout>),
    ("AlphaDropout", serde_layer::<AlphaDropout>),
    ("StochasticDepth", serde_layer::<StochasticDepth>),
    ("Identity", |class, c| {
        no_arguments(class, c, Identity::new())
    }),
];

/// Reads a layer whose Keras arguments are its serde fields (`config::args`): the row of
/// every class with a struct of its own.
pub(super) fn serde_layer<L: KerasArgs + Layer + 'static>(
    class: &'static str,
    config: &Value,
) -> Result<Box<dyn Layer>> {
    Ok(Box::new(args::read::<L>(class, config)?))
}

/// Every registered class with the function that builds it: the classes of the one-class
/// files (`one_class_files!` in `layers/mod.rs`), then [`LAYERS`].
fn registered() -> impl Iterator<Item = &'static (&'static str, FromConfig)> {
    super::ONE_CLASS_LAYERS.iter().chain(LAYERS)
}

/// The class names of every registered layer, in order.
pub fn layer_classes() -> impl Iterator<Item = &'static str> {
    registered().map(|(name, _)| *name)
}

fn no_arguments<L: Layer + 'static>(
    class: &str,
    config: &Value,
    layer: L,
) -> Result<Box<dyn Layer>> {
    crate::config::ConfigReader::new(class, config)?.finish()?;
    Ok(Box::new(layer))
}

/// The layer of Keras class `class_name` configured by `config`; an unknown class or argument
/// is an error that names it.
pub fn layer_from_config(class_name: &str, config: &Value) -> Result<Box<dyn Layer>> {
    match registered().find(|(name, _)| *name == class_name) {
        Some((name, from_config)) => from_config(name, config),
        None => Err(NnError::layer(
            class_name,
            format!(
                "krust has no layer of this class (known: {})",
                layer_classes().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}
