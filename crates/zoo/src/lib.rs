//! krust-zoo: classic architectures, buildable for any input size and class count.

mod error;
mod imagenet;
mod lenet;
mod mlp;
pub mod preprocess;
mod small_cnn;

pub use error::ZooError;
pub use imagenet::imagenet_classes;
pub use lenet::lenet5;
pub use preprocess::Preprocessing;

use krust_nn::layers::{Input, Layer};
use krust_nn::{NnError, Result, Sequential};

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
