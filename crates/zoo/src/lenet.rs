//! LeNet-5 as the course gives it: Conv2D 6@5x5 same + relu, MaxPool 2, Conv2D 16@5x5 valid +
//! relu, MaxPool 2, Dense 120 relu, Dense 84 relu, Dense `classes` (logits).

use krust_nn::layers::{Conv2D, Dense, Flatten, Input, MaxPooling2D};
use krust_nn::{Activation, Result, Sequential};
use krust_tensor::Padding;

/// LeNet-5 producing logits (train it with a `from_logits` loss).
pub fn lenet5(input_shape: &[usize], classes: usize) -> Result<Sequential> {
    let mut m = Sequential::new();
    m.add(Input::new(input_shape))?;
    m.add(
        Conv2D::new(6, (5, 5))
            .with_padding(Padding::Same)
            .with_activation(Activation::Relu),
    )?;
    m.add(MaxPooling2D::new((2, 2)))?;
    m.add(Conv2D::new(16, (5, 5)).with_activation(Activation::Relu))?;
    m.add(MaxPooling2D::new((2, 2)))?;
    m.add(Flatten::new())?;
    m.add(Dense::new(120).with_activation(Activation::Relu))?;
    m.add(Dense::new(84).with_activation(Activation::Relu))?;
    m.add(Dense::new(classes))?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenet5_on_28x28_has_the_reference_parameter_count() {
        // PyTorch's nn.Sequential of the same layers: 156 + 2416 + 48120 + 10164 + 850.
        let m = lenet5(&[28, 28, 1], 10).unwrap();
        assert_eq!(m.count_params(), 61_706);
        assert_eq!(m.output_shape(), Some(&[10][..]));
    }
}
