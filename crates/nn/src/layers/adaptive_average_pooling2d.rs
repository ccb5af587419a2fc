//! `AdaptiveAveragePooling2D` (krust-only, PyTorch's `AdaptiveAvgPool2d`): averages each of
//! `output_size` bins whose bounds follow the input size, so any input gives the same grid.

use super::Layer;
use crate::config::args::{self, KerasArgs};
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde::{Deserialize, Deserializer, Serialize};

/// PyTorch's adaptive average pooling, channels-last: output cell `i` of an axis of length
/// `n` pooled to `o` averages input cells `floor(i * n / o) .. ceil((i + 1) * n / o)`.
/// Its fields are its config's arguments (see `config::args`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    default = "AdaptiveAveragePooling2D::keras_defaults",
    deny_unknown_fields
)]
pub struct AdaptiveAveragePooling2D {
    /// (height, width) of the output, each at least 1; one integer or a pair (required).
    #[serde(deserialize_with = "output_size")]
    pub output_size: (usize, usize),
    /// Written as `"channels_last"`, the only layout krust supports.
    pub data_format: args::ChannelsLast,
}

/// `output_size`'s reader: sizes of at least 1 as a pair.
fn output_size<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<(usize, usize), D::Error> {
    let [h, w] = args::sizes(d)?;
    Ok((h, w))
}

/// The (o, n) matrix whose row `i` averages the cells of bin `i`, transposed to (n, o) so
/// that `x · matrix` pools the last axis.
fn bin_matrix(input: usize, output: usize) -> Result<Tensor> {
    let mut m = vec![0.0; input * output];
    for i in 0..output {
        let start = i * input / output;
        let end = ((i + 1) * input).div_ceil(output);
        let weight = 1.0 / (end - start) as f32;
        for row in start..end {
            m[row * output + i] = weight;
        }
    }
    Ok(Tensor::from_vec([input, output], m)?)
}

impl AdaptiveAveragePooling2D {
    /// The arguments' defaults, the one place they are written (`output_size` is required).
    fn keras_defaults() -> Self {
        AdaptiveAveragePooling2D {
            output_size: (0, 0),
            data_format: args::ChannelsLast,
        }
    }

    pub fn new(output_size: (usize, usize)) -> Self {
        AdaptiveAveragePooling2D {
            output_size,
            ..Self::keras_defaults()
        }
    }

    /// Builds the layer from its config `{"output_size": [oh, ow]}` (or one integer).
    pub fn from_config(config: &serde_json::Value) -> Result<Self> {
        args::read("AdaptiveAveragePooling2D", config)
    }
}

impl KerasArgs for AdaptiveAveragePooling2D {
    const REQUIRED: &'static [&'static str] = &["output_size"];
}

impl Layer for AdaptiveAveragePooling2D {
    fn class_name(&self) -> &'static str {
        "AdaptiveAveragePooling2D"
    }

    fn config(&self) -> serde_json::Value {
        args::write(self)
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<Vec<usize>> {
        let &[h, w, c] = input_shape else {
            return Err(NnError::layer(
                "AdaptiveAveragePooling2D",
                format!("expects inputs (height, width, channels), got {input_shape:?}"),
            ));
        };
        let (oh, ow) = self.output_size;
        if h == 0 || w == 0 || oh == 0 || ow == 0 {
            return Err(NnError::layer(
                "AdaptiveAveragePooling2D",
                format!("cannot pool {h}x{w} to {oh}x{ow}: sizes must be at least 1"),
            ));
        }
        Ok(vec![oh, ow, c])
    }

    fn forward(&self, x: &Var, _training: bool) -> Result<Var> {
        let s = x.shape();
        let &[_, h, w, _] = s.as_slice() else {
            return Err(NnError::layer(
                "AdaptiveAveragePooling2D",
                format!("expects a batch (n, h, w, c), got {s:?}"),
            ));
        };
        let (oh, ow) = self.output_size;
        // Bins are rectangles, so the pooling separates into one averaging matrix per axis;
        // matrix products keep it differentiable through existing ops.
        let rows = Var::constant(bin_matrix(h, oh)?);
        let cols = Var::constant(bin_matrix(w, ow)?);
        let y = x.permute(&[0, 2, 3, 1])?.matmul(&rows)?; // (n, w, c, oh)
        let y = y.permute(&[0, 3, 2, 1])?.matmul(&cols)?; // (n, oh, c, ow)
        Ok(y.permute(&[0, 1, 3, 2])?)
    }

    fn flops(&self, output_shape: &[usize]) -> u64 {
        output_shape.iter().product::<usize>() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_pytorch_floor_and_ceil_bounds() {
        // 5 cells to 3 bins: [0, 2), [1, 4), [3, 5).
        let m = bin_matrix(5, 3).unwrap();
        let col = |i: usize| (0..5).map(|r| m.to_vec()[r * 3 + i]).collect::<Vec<_>>();
        assert_eq!(col(0), vec![0.5, 0.5, 0.0, 0.0, 0.0]);
        let third = 1.0 / 3.0;
        assert_eq!(col(1), vec![0.0, third, third, third, 0.0]);
        assert_eq!(col(2), vec![0.0, 0.0, 0.0, 0.5, 0.5]);
        // Upsampling 1 cell to 7 bins copies it.
        assert_eq!(bin_matrix(1, 7).unwrap().to_vec(), &[1.0; 7]);
    }
}
