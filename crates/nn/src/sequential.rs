//! `Sequential`: a stack of layers applied in order, with shape checking and a summary.

use crate::layers::Layer;
use crate::{NnError, Result};
use krust_autograd::{no_grad, Var};
use krust_tensor::Tensor;

#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
    /// Per-sample shape entering each layer, then the model output (after build).
    shapes: Vec<Vec<usize>>,
}

impl Sequential {
    pub fn new() -> Self {
        Sequential::default()
    }

    /// Appends a layer; if the model is built (from an `Input`), the layer is built at once.
    pub fn add(&mut self, layer: impl Layer + 'static) -> Result<&mut Self> {
        let mut layer: Box<dyn Layer> = Box::new(layer);
        if self.layers.is_empty() {
            if let Some(shape) = layer.declared_input_shape() {
                self.shapes.push(shape);
            }
        }
        if let Some(input) = self.shapes.last().cloned() {
            let out = layer.build(&input)?;
            self.shapes.push(out);
        }
        self.layers.push(layer);
        Ok(self)
    }

    /// Builds every layer for a per-sample input shape (when no `Input` layer declared one).
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        let mut shapes = vec![input_shape.to_vec()];
        for layer in self.layers.iter_mut() {
            let out = layer.build(shapes.last().expect("non-empty"))?;
            shapes.push(out);
        }
        self.shapes = shapes;
        Ok(())
    }

    pub fn is_built(&self) -> bool {
        self.shapes.len() == self.layers.len() + 1
    }

    pub fn input_shape(&self) -> Option<&[usize]> {
        self.shapes.first().map(|s| s.as_slice())
    }

    pub fn output_shape(&self) -> Option<&[usize]> {
        self.is_built()
            .then(|| self.shapes.last().map(|s| s.as_slice()))
            .flatten()
    }

    /// Runs the batch `x` (batch axis first) through every layer.
    pub fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if !self.is_built() {
            return Err(NnError::NotBuilt);
        }
        let shape = x.shape();
        if shape.get(1..) != Some(&self.shapes[0][..]) {
            return Err(NnError::argument(
                "input",
                format!(
                    "the model expects batches of shape (batch, {}) but got {shape:?}",
                    join(&self.shapes[0])
                ),
            ));
        }
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h, training)?;
        }
        Ok(h)
    }

    /// Inference on a batch: no tape, training-only layers off.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        no_grad(|| Ok(self.forward(&Var::constant(x.clone()), false)?.value()))
    }

    pub fn parameters(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }

    pub fn count_params(&self) -> usize {
        self.parameters()
            .iter()
            .map(|p| p.value_ref().numel())
            .sum()
    }

    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// A Keras-style table: layer, output shape, parameter count, and the total.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let rule = "-".repeat(64);
        out.push_str(&format!(
            "{:<28}{:<24}{:>12}\n{rule}\n",
            "Layer (type)", "Output Shape", "Param #"
        ));
        for (i, layer) in self.layers.iter().enumerate() {
            let shape = self
                .shapes
                .get(i + 1)
                .map(|s| format!("(None, {})", join(s)))
                .unwrap_or_else(|| "?".into());
            let params: usize = layer
                .parameters()
                .iter()
                .map(|p| p.value_ref().numel())
                .sum();
            out.push_str(&format!(
                "{:<28}{:<24}{:>12}\n",
                layer.class_name(),
                shape,
                params
            ));
        }
        out.push_str(&format!("{rule}\nTotal params: {}\n", self.count_params()));
        out
    }
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::{Conv2D, Dense, Flatten, Input, MaxPooling2D};
    use crate::Activation;

    #[test]
    fn shapes_flow_through_the_stack_and_params_are_counted() {
        let mut m = Sequential::new();
        m.add(Input::new(&[28, 28, 1])).unwrap();
        m.add(
            Conv2D::new(6, (5, 5))
                .with_padding(krust_tensor::Padding::Same)
                .with_activation(Activation::Relu),
        )
        .unwrap();
        m.add(MaxPooling2D::new((2, 2))).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(10)).unwrap();
        assert_eq!(m.output_shape(), Some(&[10][..]));
        assert_eq!(m.count_params(), 6 * 25 + 6 + 14 * 14 * 6 * 10 + 10);
        let y = m.predict(&Tensor::zeros([3, 28, 28, 1])).unwrap();
        assert_eq!(y.shape(), &[3, 10]);
        assert!(m.predict(&Tensor::zeros([3, 28, 27, 1])).is_err());
        assert!(m.summary().contains("Total params: 11926"));
    }
}
