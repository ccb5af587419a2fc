//! A multilayer perceptron for any input shape: Flatten, Dense 128 ReLU, Dense 64 ReLU, Dense
//! `outputs` (logits for classification, values for regression).

use krust_nn::layers::{Dense, Flatten};
use krust_nn::{Activation, Result, Sequential};

/// Appends the MLP's layers to a model that already has its input.
pub(crate) fn add_mlp_layers(m: &mut Sequential, outputs: usize) -> Result<()> {
    m.add(Flatten::new())?;
    m.add(Dense::new(128).with_activation(Activation::Relu))?;
    m.add(Dense::new(64).with_activation(Activation::Relu))?;
    m.add(Dense::new(outputs))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::build;

    #[test]
    fn mlp_on_vectors_has_the_hand_counted_parameters() {
        let m = build("mlp", &[8], 1).expect("builds");
        assert_eq!(
            m.count_params(),
            (8 * 128 + 128) + (128 * 64 + 64) + (64 + 1)
        );
    }
}
