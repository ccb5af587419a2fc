//! krust-zoo: classic architectures, buildable for any input size and class count.

mod efficientnet_lite;
mod lenet;
mod mlp;
mod mobile_common;
mod mobilenet_v1;
mod mobilenet_v2;
mod small_cnn;

pub use lenet::lenet5;

use krust_nn::layers::{Input, Layer};
use krust_nn::{AnyModel, NnError, Result, Sequential};

/// Names accepted by [`build`].
pub const MODEL_NAMES: &[&str] = &["lenet5", "small_cnn", "mlp"];

/// Builds a zoo model by name for per-sample `input_shape` (h, w, c) and `classes` outputs.
pub fn build(name: &str, input_shape: &[usize], classes: usize) -> Result<Sequential> {
    build_with_preprocessing(name, input_shape, classes, Vec::new())
}

/// Like [`build`], with `preprocessing` layers (such as an input `Normalization`) placed
/// between the input and the architecture's first layer, so that they are saved with the
/// model and applied by `predict`.
pub fn build_with_preprocessing(
    name: &str,
    input_shape: &[usize],
    classes: usize,
    preprocessing: Vec<Box<dyn Layer>>,
) -> Result<Sequential> {
    let add_layers = match name {
        "lenet5" | "lenet-5" | "lenet" => lenet::add_lenet5_layers,
        "small_cnn" | "small-cnn" => small_cnn::add_small_cnn_layers,
        "mlp" => mlp::add_mlp_layers,
        other => {
            return Err(NnError::argument(
                "model",
                format!(
                    "unknown model {other:?} (known: {})",
                    MODEL_NAMES.join(", ")
                ),
            ))
        }
    };
    let mut model = Sequential::new();
    model.add(Input::new(input_shape))?;
    for layer in preprocessing {
        model.add_boxed(layer)?;
    }
    add_layers(&mut model, classes)?;
    Ok(model)
}

/// Functional zoo architectures by name, each built for per-sample `input_shape` (h, w, c)
/// and `classes` logits.
type FunctionalBuilder = fn(&[usize], usize) -> Result<krust_nn::Model>;
const FUNCTIONAL_MODELS: &[(&str, FunctionalBuilder)] = &[
    ("mobilenet_v1", mobilenet_v1::mobilenet_v1),
    ("mobilenet_v2", mobilenet_v2::mobilenet_v2),
    ("efficientnet_lite0", efficientnet_lite::efficientnet_lite0),
];

/// Builds any zoo model by name: the Sequential ones of [`MODEL_NAMES`] and the functional
/// ones (mobilenet_v1, mobilenet_v2, efficientnet_lite0), for per-sample `input_shape`
/// (h, w, c) and `classes` outputs (logits).
pub fn build_model(name: &str, input_shape: &[usize], classes: usize) -> Result<AnyModel> {
    if let Some((_, builder)) = FUNCTIONAL_MODELS.iter().find(|(n, _)| *n == name) {
        return Ok(AnyModel::Functional(builder(input_shape, classes)?));
    }
    match build(name, input_shape, classes) {
        Ok(model) => Ok(AnyModel::Sequential(model)),
        Err(NnError::Argument { argument, .. }) if argument == "model" => {
            let known: Vec<&str> = MODEL_NAMES
                .iter()
                .copied()
                .chain(FUNCTIONAL_MODELS.iter().map(|(n, _)| *n))
                .collect();
            Err(NnError::argument(
                "model",
                format!("unknown model {name:?} (known: {})", known.join(", ")),
            ))
        }
        Err(other) => Err(other),
    }
}
