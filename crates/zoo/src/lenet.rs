//! LeNet-5 as the course gives it: Conv2D 6@5x5 same + relu, MaxPool 2, Conv2D 16@5x5 valid +
//! relu, MaxPool 2, Dense 120 relu, Dense 84 relu, Dense `classes` (logits).

use krust_nn::layers::{Conv2D, Dense, Flatten, Input, MaxPooling2D};
use krust_nn::{Activation, Result, Sequential};
use krust_tensor::Padding;

/// LeNet-5 producing logits (train it with a `from_logits` loss).
pub fn lenet5(input_shape: &[usize], classes: usize) -> Result<Sequential> {
    let mut m = Sequential::new();
    m.add(Input::new(input_shape))?;
    add_lenet5_layers(&mut m, classes)?;
    Ok(m)
}

/// Appends LeNet-5's layers to a model that already has its input (and any preprocessing).
pub(crate) fn add_lenet5_layers(m: &mut Sequential, classes: usize) -> Result<()> {
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
    Ok(())
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

    #[test]
    fn summary_reports_receptive_field_stride_and_flops() {
        let m = lenet5(&[28, 28, 1], 10).unwrap();
        let s = m.summary();
        let row = |name: &str| -> Vec<String> {
            let line = s
                .lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("{name} in {s}"));
            line.split_whitespace().map(str::to_string).collect()
        };
        // conv 5x5 -> field 5, stride 1; pool 2 -> 6, 2; conv 5x5 -> 6 + 4*2 = 14, 2; pool 2 -> 16, 4.
        assert_eq!(
            row("conv2d (Conv2D)")[row("conv2d (Conv2D)").len() - 3..],
            ["5x5", "1x1", "235200"]
        );
        let pool = row("max_pooling2d (MaxPooling2D)");
        assert_eq!(pool[pool.len() - 3..], ["6x6", "2x2", "4704"]);
        let conv = row("conv2d_1 (Conv2D)");
        assert_eq!(conv[conv.len() - 3..], ["14x14", "2x2", "480000"]);
        let pool = row("max_pooling2d_1 (MaxPooling2D)");
        assert_eq!(pool[pool.len() - 3..2 + pool.len() - 3], ["16x16", "4x4"]);
        assert_eq!(
            row("dense (Dense)")
                [row("dense (Dense)").len() - 3..2 + row("dense (Dense)").len() - 3],
            ["all", "all"]
        );
        assert!(s.contains("Total params: 61706"));
    }
}
