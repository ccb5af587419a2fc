//! A small VGG-style CNN with batch normalization and dropout: the network of the course's
//! "train well" recipe (Fashion-MNIST, about 93% with augmentation and early stopping).
//!
//! Conv 32 → BN → ReLU → MaxPool, Conv 64 → BN → ReLU, Conv 64 → BN → ReLU → MaxPool →
//! Dropout 0.25, Flatten, Dense 256 → BN → ReLU → Dropout 0.5, Dense `classes` (logits).
//! All convolutions are 3×3 `same`; a convolution followed by batch normalization has no bias
//! (the normalization's beta replaces it).

use krust_nn::layers::{
    ActivationLayer, BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D,
};
use krust_nn::{Activation, Result, Sequential};
use krust_tensor::Padding;

/// Appends the small CNN's layers to a model that already has its input.
pub(crate) fn add_small_cnn_layers(m: &mut Sequential, classes: usize) -> Result<()> {
    let conv_bn_relu = |m: &mut Sequential, filters: usize| -> Result<()> {
        let mut conv = Conv2D::new(filters, (3, 3)).with_padding(Padding::Same);
        conv.use_bias = false;
        m.add(conv)?;
        m.add(BatchNormalization::new())?;
        m.add(ActivationLayer::new(Activation::Relu))?;
        Ok(())
    };
    conv_bn_relu(m, 32)?;
    m.add(MaxPooling2D::new((2, 2)))?;
    conv_bn_relu(m, 64)?;
    conv_bn_relu(m, 64)?;
    m.add(MaxPooling2D::new((2, 2)))?;
    m.add(Dropout::new(0.25))?;
    m.add(Flatten::new())?;
    let mut dense = Dense::new(256);
    dense.use_bias = false;
    m.add(dense)?;
    m.add(BatchNormalization::new())?;
    m.add(ActivationLayer::new(Activation::Relu))?;
    m.add(Dropout::new(0.5))?;
    m.add(Dense::new(classes))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::build;

    #[test]
    fn small_cnn_on_28x28_has_the_hand_counted_parameters() {
        // conv 3*3*1*32 + bn 4*32, conv 3*3*32*64 + bn 4*64, conv 3*3*64*64 + bn 4*64,
        // dense 3136*256 + bn 4*256, dense 256*10 + 10.
        let expected = 288 + 128 + 18_432 + 256 + 36_864 + 256 + 802_816 + 1024 + 2570;
        let m = build("small_cnn", &[28, 28, 1], 10).expect("builds");
        assert_eq!(m.count_params(), expected);
        assert_eq!(m.output_shape(), Some(&[10][..]));
    }
}
