//! `Sequential`: a stack of layers applied in order, with shape checking and a summary.

use crate::inference::{FoldCache, NodeView};
use crate::layers::Layer;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::Tensor;

#[derive(Default)]
pub struct Sequential {
    layers: Vec<Box<dyn Layer>>,
    /// Keras-style unique names ("conv2d", "conv2d_1", ...), one per layer.
    names: Vec<String>,
    /// Per-sample shape entering each layer, then the model output (after build).
    shapes: Vec<Vec<usize>>,
    /// Convolution kernels with their BatchNormalization folded in, for `predict`.
    folded: FoldCache,
}

impl Sequential {
    pub fn new() -> Self {
        Sequential::default()
    }

    /// Appends a layer; if the model is built (from an `Input`), the layer is built at once.
    pub fn add(&mut self, layer: impl Layer + 'static) -> Result<&mut Self> {
        self.add_boxed(Box::new(layer))
    }

    /// Appends an already boxed layer (as built by `layer_from_config`).
    pub fn add_boxed(&mut self, layer: Box<dyn Layer>) -> Result<&mut Self> {
        let mut layer = layer;
        if self.layers.is_empty() {
            if let Some(shape) = layer.declared_input_shape() {
                crate::layers::check_sample_shape(layer.class_name(), &shape)?;
                self.shapes.push(shape);
            }
        }
        if let Some(input) = self.shapes.last().cloned() {
            let out = layer.build(&input)?;
            crate::layers::check_sample_shape(layer.class_name(), &out)?;
            self.shapes.push(out);
        }
        let base = crate::functional::snake_case(layer.class_name());
        let taken = self
            .names
            .iter()
            .filter(|n| {
                **n == base
                    || n.strip_prefix(&format!("{base}_"))
                        .is_some_and(|r| r.parse::<usize>().is_ok())
            })
            .count();
        self.names.push(if taken == 0 {
            base
        } else {
            format!("{base}_{taken}")
        });
        self.layers.push(layer);
        self.folded.clear();
        Ok(self)
    }

    /// Builds every layer for a per-sample input shape (when no `Input` layer declared one).
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        let mut shapes = vec![input_shape.to_vec()];
        for layer in self.layers.iter_mut() {
            let out = layer.build(shapes.last().expect("non-empty"))?;
            crate::layers::check_sample_shape(layer.class_name(), &out)?;
            shapes.push(out);
        }
        self.shapes = shapes;
        self.folded.clear();
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

    /// Checks that the model is built and `shape` is a batch of its inputs.
    fn check_input(&self, shape: &[usize]) -> Result<()> {
        if !self.is_built() {
            return Err(NnError::NotBuilt);
        }
        if shape.get(1..) != Some(&self.shapes[0][..]) {
            return Err(NnError::argument(
                "input",
                format!(
                    "the model expects batches of shape (batch, {}) but got {shape:?}",
                    join(&self.shapes[0])
                ),
            ));
        }
        Ok(())
    }

    /// Runs the batch `x` (batch axis first) through every layer.
    pub fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.check_input(&x.shape())?;
        self.layers.iter().for_each(|l| l.clear_losses());
        let mut h = x.clone();
        for layer in &self.layers {
            h = layer.forward(&h, training)?;
        }
        Ok(h)
    }

    /// `forward`, except that the output of the layer named `name` is passed to `tap` and
    /// what that returns flows on in its place (see `Model::forward_tapped`). Errors if no
    /// layer has that name.
    pub fn forward_tapped(
        &self,
        x: &Var,
        training: bool,
        name: &str,
        tap: &mut dyn FnMut(Var) -> Var,
    ) -> Result<Var> {
        let Some(at) = self.names.iter().position(|n| n == name) else {
            return Err(NnError::argument(
                "layer",
                format!("the model has no layer named {name:?}"),
            ));
        };
        self.check_input(&x.shape())?;
        self.layers.iter().for_each(|l| l.clear_losses());
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h, training)?;
            if i == at {
                h = tap(h);
            }
        }
        Ok(h)
    }

    /// Inference on a batch: no tape, training-only layers off, and each convolution fused
    /// with the BatchNormalization and activation right after it (see `krust_nn::inference`);
    /// equal to `forward(x, false)` up to floating-point rounding.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.check_input(x.shape())?;
        let nodes = self.inference_nodes();
        let last = nodes.len() - 1;
        let needed = vec![true; nodes.len()];
        let mut out =
            crate::inference::run(&nodes, &needed, vec![(0, x.clone())], &[last], &self.folded)?;
        Ok(out.remove(0))
    }

    /// The convolution chains `predict` runs as one fused convolution, as
    /// "conv + batch_norm + activation (Relu)" (layer names, then the epilogue).
    pub fn inference_fusions(&self) -> Vec<String> {
        let nodes = self.inference_nodes();
        let last = nodes.len() - 1;
        crate::inference::describe(&nodes, &vec![true; nodes.len()], &[last])
    }

    /// The input, then one node per layer reading the one before.
    fn inference_nodes(&self) -> Vec<NodeView<'_>> {
        let input = NodeView {
            layer: None,
            name: "input",
            inputs: Vec::new(),
            training: false,
        };
        std::iter::once(input)
            .chain(
                self.layers
                    .iter()
                    .zip(&self.names)
                    .enumerate()
                    .map(|(i, (layer, name))| NodeView {
                        layer: Some(layer.as_ref()),
                        name,
                        inputs: vec![i],
                        training: false,
                    }),
            )
            .collect()
    }

    pub fn parameters(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|l| l.parameters()).collect()
    }

    /// The regularization losses the layers recorded in the last training `forward` (Keras's
    /// `model.losses`): add them to the loss before `backward`. Empty after an inference pass.
    pub fn losses(&self) -> Vec<Var> {
        self.layers.iter().flat_map(|l| l.losses()).collect()
    }

    /// All weights, trainable or not (Keras's count_params).
    pub fn count_params(&self) -> usize {
        self.layers
            .iter()
            .flat_map(|l| l.weights())
            .map(|(_, w)| w.value_ref().numel())
            .sum()
    }

    pub fn count_trainable_params(&self) -> usize {
        self.parameters()
            .iter()
            .map(|p| p.value_ref().numel())
            .sum()
    }

    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    /// The layers' unique names, in order.
    pub fn layer_names(&self) -> &[String] {
        &self.names
    }

    /// Every weight as ("layer_name/weight_name", variable), in layer order.
    pub fn named_weights(&self) -> Vec<(String, Var)> {
        self.layers
            .iter()
            .zip(&self.names)
            .flat_map(|(l, n)| {
                l.weights()
                    .into_iter()
                    .map(move |(w, v)| (format!("{n}/{w}"), v))
            })
            .collect()
    }

    /// The architecture in Keras's Sequential layout: {"class_name": "Sequential",
    /// "config": {"layers": [{"class_name", "config" (with "name")}, ...]}}.
    pub fn to_config(&self) -> serde_json::Value {
        let layers: Vec<serde_json::Value> = self
            .layers
            .iter()
            .zip(&self.names)
            .map(|(l, name)| {
                let mut config = l.config();
                if let Some(map) = config.as_object_mut() {
                    map.insert("name".into(), serde_json::json!(name));
                }
                serde_json::json!({"class_name": l.class_name(), "config": config})
            })
            .collect();
        let mut config = serde_json::json!({"name": "sequential", "layers": layers});
        if let (Some(shape), false) = (
            self.input_shape(),
            self.layers
                .first()
                .is_some_and(|l| l.declared_input_shape().is_some()),
        ) {
            config["build_input_shape"] =
                serde_json::json!(std::iter::once(serde_json::Value::Null)
                    .chain(shape.iter().map(|&d| serde_json::json!(d)))
                    .collect::<Vec<_>>());
        }
        serde_json::json!({"class_name": "Sequential", "config": config})
    }

    /// Rebuilds a model from `to_config`'s output (fresh weights; load them separately).
    pub fn from_config(value: &serde_json::Value) -> Result<Sequential> {
        let class = value
            .get("class_name")
            .and_then(|c| c.as_str())
            .unwrap_or("");
        if class != "Sequential" {
            return Err(NnError::argument(
                "architecture",
                format!("expected a Sequential model, got class {class:?}"),
            ));
        }
        let config = &value["config"];
        let layers = config["layers"]
            .as_array()
            .ok_or_else(|| NnError::argument("architecture", "config.layers must be a list"))?;
        let mut model = Sequential::new();
        for entry in layers {
            let class = entry["class_name"].as_str().ok_or_else(|| {
                NnError::argument("architecture", format!("layer without class_name: {entry}"))
            })?;
            let layer = crate::layers::layer_from_config(class, &entry["config"])?;
            model.add_boxed(layer)?;
            if let Some(name) = entry["config"]["name"].as_str() {
                *model.names.last_mut().expect("just added") = name.to_string();
            }
        }
        if !model.is_built() {
            let shape = config["build_input_shape"]
                .as_array()
                .and_then(|dims| {
                    dims.get(1..)?
                        .iter()
                        .map(|d| d.as_u64().map(|n| n as usize))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    NnError::argument(
                        "architecture",
                        "no InputLayer and no build_input_shape: the input shape is unknown",
                    )
                })?;
            model.build(&shape)?;
        }
        Ok(model)
    }

    /// The layers as a chain (each reads the one before), for drawing; empty until built.
    pub fn layer_graph(&self) -> Vec<crate::functional::LayerNode> {
        if self.shapes.len() <= self.layers.len() {
            return Vec::new();
        }
        self.layers
            .iter()
            .zip(&self.names)
            .enumerate()
            .map(|(i, (layer, name))| crate::functional::LayerNode {
                name: name.clone(),
                class_name: layer.class_name().to_string(),
                output_shape: self.shapes[i + 1].clone(),
                inputs: if i == 0 { Vec::new() } else { vec![i - 1] },
            })
            .collect()
    }

    /// A Keras-style table — layer, output shape, parameters — plus what Keras lacks: each
    /// layer's receptive field and effective stride relative to the input, and its FLOPs per
    /// sample (a multiply-add counts 2).
    pub fn summary(&self) -> String {
        use crate::summary_table::{table, LAYER_COLUMNS};
        let mut rows = Vec::with_capacity(self.layers.len());
        let rank = self.shapes.first().map_or(0, |s| s.len().saturating_sub(1));
        let mut field = crate::functional::Field::identity(rank);
        let mut total_flops = 0u64;
        for (i, (layer, name)) in self.layers.iter().zip(&self.names).enumerate() {
            let shape = self.shapes.get(i + 1).cloned().unwrap_or_default();
            field = field.through(
                layer.spatial_window().as_deref(),
                shape.len().saturating_sub(1),
            );
            let params: usize = layer
                .weights()
                .iter()
                .map(|(_, w)| w.value_ref().numel())
                .sum();
            let flops = layer.flops(&shape);
            total_flops += flops;
            rows.push(vec![
                format!("{name} ({})", layer.class_name()),
                format!("(None, {})", join(&shape)),
                params.to_string(),
                field.size_label(),
                field.stride_label(),
                flops.to_string(),
            ]);
        }
        let mut out = table(&LAYER_COLUMNS, &rows);
        let (total, trainable) = (self.count_params(), self.count_trainable_params());
        out.push_str(&format!(
            "Total params: {total}\nTrainable params: {trainable}\nNon-trainable params: {}\nFLOPs per sample: {total_flops}\n",
            total - trainable
        ));
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
        let graph = m.layer_graph();
        let chain: Vec<(&str, Vec<usize>)> = graph
            .iter()
            .map(|n| (n.class_name.as_str(), n.inputs.clone()))
            .collect();
        assert_eq!(
            chain,
            [
                ("InputLayer", vec![]),
                ("Conv2D", vec![0]),
                ("MaxPooling2D", vec![1]),
                ("Flatten", vec![2]),
                ("Dense", vec![3]),
            ]
        );
        assert_eq!(graph[4].output_shape, [10]);
    }

    #[test]
    fn a_tapped_layer_output_is_seen_and_replaced() {
        let mut m = Sequential::new();
        m.add(Input::new(&[3])).unwrap();
        m.add(Dense::new(2)).unwrap();
        m.add(Flatten::new()).unwrap();
        let x = Var::constant(Tensor::from_vec([1, 3], vec![1.0, 2.0, 3.0]).unwrap());
        let plain = m.forward(&x, false).unwrap().value().to_vec();
        let mut seen = Vec::new();
        let mut double = |v: Var| {
            seen = v.value().to_vec();
            Var::constant(
                Tensor::from_vec(v.shape(), seen.iter().map(|a| 2.0 * a).collect()).unwrap(),
            )
        };
        let tapped = m.forward_tapped(&x, false, "dense", &mut double).unwrap();
        assert_eq!(seen, plain);
        let doubled: Vec<f32> = plain.iter().map(|a| 2.0 * a).collect();
        assert_eq!(tapped.value().to_vec(), doubled);
        let err = m.forward_tapped(&x, false, "nope", &mut |v| v).unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
    }
}
