//! Builds a layer from its class name and Keras-style config: the one table every loader
//! (krust files, Keras `.keras` and `.h5`) goes through.

use super::*;
use crate::{NnError, Result};
use serde_json::Value;

/// Class names `layer_from_config` knows.
pub const LAYER_CLASSES: &[&str] = &[
    "InputLayer",
    "Dense",
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "AdaptiveAveragePooling2D",
    "Flatten",
    "Activation",
    "Dropout",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
    "Maximum",
    "Minimum",
    "Concatenate",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Reshape",
    "Permute",
    "RepeatVector",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
    "Rescaling",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "InstanceNormalization",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "GaussianNoise",
    "Conv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "GlobalAveragePooling3D",
    "GlobalMaxPooling3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "ZeroPadding1D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling3D",
    "Conv3D",
    "MaxPooling3D",
    "AveragePooling3D",
    "Conv3DTranspose",
    "ActivityRegularization",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "PReLU",
    "Maxout",
    "Dot",
    "Embedding",
    "Normalization",
    "AlphaDropout",
    "UnitNormalization",
    "LayerScale",
    "Arithmetic",
    "CustomScaleLayer",
    "StochasticDepth",
    "Identity",
];

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
    Ok(match class_name {
        "InputLayer" => Box::new(Input::from_config(config)?),
        "Dense" => Box::new(Dense::from_config(config)?),
        "Conv2D" => Box::new(Conv2D::from_config(config)?),
        "MaxPooling2D" => Box::new(MaxPooling2D::from_config(config)?),
        "AveragePooling2D" => Box::new(AveragePooling2D::from_config(config)?),
        "Flatten" => Box::new(Flatten::from_config(config)?),
        "Activation" => Box::new(ActivationLayer::from_config(config)?),
        "Dropout" => Box::new(Dropout::from_config(config)?),
        "GlobalAveragePooling2D" => Box::new(GlobalAveragePooling2D::from_config(config)?),
        "AdaptiveAveragePooling2D" => Box::new(AdaptiveAveragePooling2D::from_config(config)?),
        "GlobalMaxPooling2D" => Box::new(GlobalMaxPooling2D::from_config(config)?),
        "Reshape" => Box::new(Reshape::from_config(config)?),
        "Permute" => Box::new(Permute::from_config(config)?),
        "RepeatVector" => Box::new(RepeatVector::from_config(config)?),
        "ZeroPadding2D" => Box::new(ZeroPadding2D::from_config(config)?),
        "Cropping2D" => Box::new(Cropping2D::from_config(config)?),
        "UpSampling2D" => Box::new(UpSampling2D::from_config(config)?),
        "Rescaling" => Box::new(Rescaling::from_config(config)?),
        "BatchNormalization" => Box::new(BatchNormalization::from_config(config)?),
        "LayerNormalization" => Box::new(LayerNormalization::from_config(config)?),
        "GroupNormalization" => Box::new(GroupNormalization::from_config(config)?),
        "InstanceNormalization" => Box::new(InstanceNormalization::from_config(config)?),
        "SpatialDropout1D" | "SpatialDropout2D" | "SpatialDropout3D" => {
            Box::new(SpatialDropout::from_config(class_name, config)?)
        }
        "GaussianDropout" => Box::new(GaussianDropout::from_config(config)?),
        "GaussianNoise" => Box::new(GaussianNoise::from_config(config)?),
        "Conv1D" => Box::new(Conv1D::from_config(config)?),
        "DepthwiseConv2D" => Box::new(DepthwiseConv2D::from_config(config)?),
        "SeparableConv1D" => Box::new(SeparableConv1D::from_config(config)?),
        "SeparableConv2D" => Box::new(SeparableConv2D::from_config(config)?),
        "MaxPooling1D" => Box::new(MaxPooling1D::from_config(config)?),
        "AveragePooling1D" => Box::new(AveragePooling1D::from_config(config)?),
        "GlobalAveragePooling1D" => Box::new(GlobalAveragePooling1D::from_config(config)?),
        "GlobalMaxPooling1D" => Box::new(GlobalMaxPooling1D::from_config(config)?),
        "GlobalAveragePooling3D" => Box::new(GlobalAveragePooling3D::from_config(config)?),
        "GlobalMaxPooling3D" => Box::new(GlobalMaxPooling3D::from_config(config)?),
        "Conv1DTranspose" => Box::new(Conv1DTranspose::from_config(config)?),
        "Conv2DTranspose" => Box::new(Conv2DTranspose::from_config(config)?),
        "ZeroPadding1D" => Box::new(ZeroPadding::from_config("ZeroPadding1D", config)?),
        "ZeroPadding3D" => Box::new(ZeroPadding::from_config("ZeroPadding3D", config)?),
        "Cropping1D" => Box::new(Cropping::from_config("Cropping1D", config)?),
        "Cropping3D" => Box::new(Cropping::from_config("Cropping3D", config)?),
        "UpSampling1D" => Box::new(UpSampling::from_config("UpSampling1D", config)?),
        "UpSampling3D" => Box::new(UpSampling::from_config("UpSampling3D", config)?),
        "Conv3D" => Box::new(Conv3D::from_config(config)?),
        "MaxPooling3D" => Box::new(MaxPooling3D::from_config(config)?),
        "AveragePooling3D" => Box::new(AveragePooling3D::from_config(config)?),
        "ActivityRegularization" => Box::new(ActivityRegularization::from_config(config)?),
        "ReLU" | "LeakyReLU" | "ELU" | "Softmax" => {
            Box::new(ActivationFunctionLayer::from_config(class_name, config)?)
        }
        "PReLU" => Box::new(PReLU::from_config(config)?),
        "Maxout" => Box::new(Maxout::from_config(config)?),
        "Dot" => Box::new(Dot::from_config(config)?),
        "Embedding" => Box::new(Embedding::from_config(config)?),
        "Normalization" => Box::new(Normalization::from_config(config)?),
        "AlphaDropout" => Box::new(AlphaDropout::from_config(config)?),
        "UnitNormalization" => Box::new(UnitNormalization::from_config(config)?),
        "LayerScale" => Box::new(LayerScale::from_config(config)?),
        "Arithmetic" => Box::new(Arithmetic::from_config(config)?),
        "CustomScaleLayer" => Box::new(CustomScaleLayer::from_config(config)?),
        "StochasticDepth" => Box::new(StochasticDepth::from_config(config)?),
        "Identity" => no_arguments(class_name, config, Identity::new())?,
        "Conv3DTranspose" => Box::new(Conv3DTranspose::from_config(config)?),
        "Add" => no_arguments(class_name, config, Add::new())?,
        "Subtract" => no_arguments(class_name, config, Subtract::new())?,
        "Multiply" => no_arguments(class_name, config, Multiply::new())?,
        "Average" => no_arguments(class_name, config, Average::new())?,
        "Maximum" => no_arguments(class_name, config, Maximum::new())?,
        "Minimum" => no_arguments(class_name, config, Minimum::new())?,
        "Concatenate" => {
            let mut c = crate::config::ConfigReader::new(class_name, config)?;
            let axis = c.isize_or("axis", -1)?;
            c.finish()?;
            Box::new(Concatenate::new(axis))
        }
        other => {
            return Err(NnError::layer(
                other,
                format!(
                    "krust has no layer of this class (known: {})",
                    LAYER_CLASSES.join(", ")
                ),
            ))
        }
    })
}
