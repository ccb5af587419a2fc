//! krust-zoo: classic architectures, buildable for any input size and class count.

mod lenet;

pub use lenet::lenet5;

use krust_nn::{NnError, Result, Sequential};

/// Names accepted by [`build`].
pub const MODEL_NAMES: &[&str] = &["lenet5"];

/// Builds a zoo model by name for per-sample `input_shape` (h, w, c) and `classes` outputs.
pub fn build(name: &str, input_shape: &[usize], classes: usize) -> Result<Sequential> {
    match name {
        "lenet5" | "lenet-5" | "lenet" => lenet5(input_shape, classes),
        other => Err(NnError::argument(
            "model",
            format!(
                "unknown model {other:?} (known: {})",
                MODEL_NAMES.join(", ")
            ),
        )),
    }
}
