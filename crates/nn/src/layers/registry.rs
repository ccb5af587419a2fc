//! The layer registry: every Keras class krust can build from a config, in one table that every
//! loader (krust files, Keras `.keras` and `.h5`) goes through. A new layer is one row here.

use super::*;
use crate::{NnError, Result};
use serde_json::Value;

/// Builds a layer of the named class (the first argument, for layers that serve several
/// classes) from its Keras-style config.
pub type FromConfig = fn(&'static str, &Value) -> Result<Box<dyn Layer>>;

/// Every class krust knows, with the function that builds it from its config.
pub const LAYERS: &[(&str, FromConfig)] = &[
    ("InputLayer", |_, c| Ok(Box::new(Input::from_config(c)?))),
    ("Dense", |_, c| Ok(Box::new(Dense::from_config(c)?))),
    ("Conv2D", |_, c| Ok(Box::new(Conv2D::from_config(c)?))),
    ("MaxPooling2D", |_, c| {
        Ok(Box::new(MaxPooling2D::from_config(c)?))
    }),
    ("AveragePooling2D", |_, c| {
        Ok(Box::new(AveragePooling2D::from_config(c)?))
    }),
    ("AdaptiveAveragePooling2D", |_, c| {
        Ok(Box::new(AdaptiveAveragePooling2D::from_config(c)?))
    }),
    ("Flatten", |_, c| Ok(Box::new(Flatten::from_config(c)?))),
    ("Activation", |_, c| {
        Ok(Box::new(ActivationLayer::from_config(c)?))
    }),
    ("Dropout", |_, c| Ok(Box::new(Dropout::from_config(c)?))),
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
    ("Concatenate", |_, c| {
        Ok(Box::new(Concatenate::from_config(c)?))
    }),
    ("GlobalAveragePooling2D", |_, c| {
        Ok(Box::new(GlobalAveragePooling2D::from_config(c)?))
    }),
    ("GlobalMaxPooling2D", |_, c| {
        Ok(Box::new(GlobalMaxPooling2D::from_config(c)?))
    }),
    ("Reshape", |_, c| Ok(Box::new(Reshape::from_config(c)?))),
    ("Permute", |_, c| Ok(Box::new(Permute::from_config(c)?))),
    ("RepeatVector", |_, c| {
        Ok(Box::new(RepeatVector::from_config(c)?))
    }),
    ("ZeroPadding2D", |_, c| {
        Ok(Box::new(ZeroPadding2D::from_config(c)?))
    }),
    ("Cropping2D", |_, c| {
        Ok(Box::new(Cropping2D::from_config(c)?))
    }),
    ("UpSampling2D", |_, c| {
        Ok(Box::new(UpSampling2D::from_config(c)?))
    }),
    ("Rescaling", |_, c| Ok(Box::new(Rescaling::from_config(c)?))),
    ("BatchNormalization", |_, c| {
        Ok(Box::new(BatchNormalization::from_config(c)?))
    }),
    ("LayerNormalization", |_, c| {
        Ok(Box::new(LayerNormalization::from_config(c)?))
    }),
    ("GroupNormalization", |_, c| {
        Ok(Box::new(GroupNormalization::from_config(c)?))
    }),
    ("InstanceNormalization", |_, c| {
        Ok(Box::new(InstanceNormalization::from_config(c)?))
    }),
    ("SpatialDropout1D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("SpatialDropout2D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("SpatialDropout3D", |class, c| {
        Ok(Box::new(SpatialDropout::from_config(class, c)?))
    }),
    ("GaussianDropout", |_, c| {
        Ok(Box::new(GaussianDropout::from_config(c)?))
    }),
    ("GaussianNoise", |_, c| {
        Ok(Box::new(GaussianNoise::from_config(c)?))
    }),
    ("Conv1D", |_, c| Ok(Box::new(Conv1D::from_config(c)?))),
    ("DepthwiseConv2D", |_, c| {
        Ok(Box::new(DepthwiseConv2D::from_config(c)?))
    }),
    ("SeparableConv1D", |_, c| {
        Ok(Box::new(SeparableConv1D::from_config(c)?))
    }),
    ("SeparableConv2D", |_, c| {
        Ok(Box::new(SeparableConv2D::from_config(c)?))
    }),
    ("MaxPooling1D", |_, c| {
        Ok(Box::new(MaxPooling1D::from_config(c)?))
    }),
    ("AveragePooling1D", |_, c| {
        Ok(Box::new(AveragePooling1D::from_config(c)?))
    }),
    ("GlobalAveragePooling1D", |_, c| {
        Ok(Box::new(GlobalAveragePooling1D::from_config(c)?))
    }),
    ("GlobalMaxPooling1D", |_, c| {
        Ok(Box::new(GlobalMaxPooling1D::from_config(c)?))
    }),
    ("GlobalAveragePooling3D", |_, c| {
        Ok(Box::new(GlobalAveragePooling3D::from_config(c)?))
    }),
    ("GlobalMaxPooling3D", |_, c| {
        Ok(Box::new(GlobalMaxPooling3D::from_config(c)?))
    }),
    ("Conv1DTranspose", |_, c| {
        Ok(Box::new(Conv1DTranspose::from_config(c)?))
    }),
    ("Conv2DTranspose", |_, c| {
        Ok(Box::new(Conv2DTranspose::from_config(c)?))
    }),
    ("ZeroPadding1D", |_, c| {
        Ok(Box::new(ZeroPadding1D::from_config(c)?))
    }),
    ("ZeroPadding3D", |_, c| {
        Ok(Box::new(ZeroPadding3D::from_config(c)?))
    }),
    ("Cropping1D", |_, c| {
        Ok(Box::new(Cropping1D::from_config(c)?))
    }),
    ("Cropping3D", |_, c| {
        Ok(Box::new(Cropping3D::from_config(c)?))
    }),
    ("UpSampling1D", |_, c| {
        Ok(Box::new(UpSampling1D::from_config(c)?))
    }),
    ("UpSampling3D", |_, c| {
        Ok(Box::new(UpSampling3D::from_config(c)?))
    }),
    ("Conv3D", |_, c| Ok(Box::new(Conv3D::from_config(c)?))),
    ("MaxPooling3D", |_, c| {
        Ok(Box::new(MaxPooling3D::from_config(c)?))
    }),
    ("AveragePooling3D", |_, c| {
        Ok(Box::new(AveragePooling3D::from_config(c)?))
    }),
    ("Conv3DTranspose", |_, c| {
        Ok(Box::new(Conv3DTranspose::from_config(c)?))
    }),
    ("ActivityRegularization", |_, c| {
        Ok(Box::new(ActivityRegularization::from_config(c)?))
    }),
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
    ("PReLU", |_, c| Ok(Box::new(PReLU::from_config(c)?))),
    ("Maxout", |_, c| Ok(Box::new(Maxout::from_config(c)?))),
    ("Dot", |_, c| Ok(Box::new(Dot::from_config(c)?))),
    ("Embedding", |_, c| Ok(Box::new(Embedding::from_config(c)?))),
    ("Normalization", |_, c| {
        Ok(Box::new(Normalization::from_config(c)?))
    }),
    ("AlphaDropout", |_, c| {
        Ok(Box::new(AlphaDropout::from_config(c)?))
    }),
    ("UnitNormalization", |_, c| {
        Ok(Box::new(UnitNormalization::from_config(c)?))
    }),
    ("LayerScale", |_, c| {
        Ok(Box::new(LayerScale::from_config(c)?))
    }),
    ("Arithmetic", |_, c| {
        Ok(Box::new(Arithmetic::from_config(c)?))
    }),
    ("CustomScaleLayer", |_, c| {
        Ok(Box::new(CustomScaleLayer::from_config(c)?))
    }),
    ("StochasticDepth", |_, c| {
        Ok(Box::new(StochasticDepth::from_config(c)?))
    }),
    ("Identity", |class, c| {
        no_arguments(class, c, Identity::new())
    }),
];

/// The class names of [`LAYERS`], in order.
pub fn layer_classes() -> impl Iterator<Item = &'static str> {
    LAYERS.iter().map(|(name, _)| *name)
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
    match LAYERS.iter().find(|(name, _)| *name == class_name) {
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
