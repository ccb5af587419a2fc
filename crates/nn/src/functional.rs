//! The functional API: layers called on symbolic tensors record a graph (several inputs and
//! outputs, shared layers, merges), which `Graph::model` turns into a runnable `Model`.
//!
//! ```
//! use krust_nn::functional::Graph;
//! use krust_nn::layers::{Add, Conv2D, Dense, Flatten};
//! use krust_tensor::Padding;
//!
//! let graph = Graph::new();
//! let inputs = graph.input(&[8, 8, 4]);
//! let y = inputs.apply(Conv2D::new(4, (3, 3)).with_padding(Padding::Same)).unwrap();
//! let residual = graph.merge(Add::new(), &[&y, &inputs]).unwrap();
//! let logits = residual.apply(Flatten::new()).unwrap().apply(Dense::new(10)).unwrap();
//! let model = graph.model(&[&inputs], &[&logits]).unwrap();
//! assert_eq!(model.count_params(), (9 * 4 * 4 + 4) + (8 * 8 * 4 * 10 + 10));
//! ```

use crate::inference::{FoldCache, NodeView};
use crate::layers::Layer;
use crate::{NnError, Result};
use krust_autograd::Var;
use krust_tensor::random::RandomStream;
use krust_tensor::Tensor;
use std::cell::RefCell;
use std::rc::Rc;

/// One layer call (or one input) in the graph.
struct Node {
    /// The layer applied, or None for a model input.
    layer: Option<usize>,
    inputs: Vec<usize>,
    /// Per-sample output shape.
    shape: Vec<usize>,
    /// A mode pinned at the call (Keras's `layer(x, training=False)`), else the model's.
    training: Option<bool>,
}

struct LayerSlot {
    layer: Box<dyn Layer>,
    name: String,
    /// Input shapes of the first call; later calls of a shared layer must match.
    built_for: Option<Vec<Vec<usize>>>,
    output_shape: Vec<usize>,
    /// Keras's `trainable = False`: the layer runs in inference mode and its weights are not
    /// among the model's parameters.
    frozen: bool,
}

#[derive(Default)]
struct GraphState {
    layers: Vec<LayerSlot>,
    nodes: Vec<Node>,
    /// Layers created so far per snake_case class name, for Keras-style unique names.
    name_counts: std::collections::HashMap<String, usize>,
}

/// A graph under construction. Cloning shares the same graph.
#[derive(Clone, Default)]
pub struct Graph(Rc<RefCell<GraphState>>);

/// A symbolic tensor: one node's output, with its per-sample shape.
#[derive(Clone)]
pub struct Symbol {
    graph: Graph,
    node: usize,
}

/// A layer added to a graph once and callable many times (shared weights).
#[derive(Clone)]
pub struct LayerRef {
    graph: Graph,
    index: usize,
}

/// Keras-style snake_case name of a class: "Conv2D" -> "conv2d", "MaxPooling2D" -> "max_pooling2d".
pub(crate) fn snake_case(class: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = class.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower = i > 0 && chars[i - 1].is_ascii_lowercase();
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase())) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Graph {
    pub fn new() -> Self {
        Graph::default()
    }

    /// A model input taking samples of `shape` (batch axis excluded).
    pub fn input(&self, shape: &[usize]) -> Symbol {
        let mut g = self.0.borrow_mut();
        g.nodes.push(Node {
            layer: None,
            inputs: Vec::new(),
            shape: shape.to_vec(),
            training: None,
        });
        Symbol {
            graph: self.clone(),
            node: g.nodes.len() - 1,
        }
    }

    /// Adds a layer without calling it; call the returned handle to share its weights.
    pub fn layer(&self, layer: impl Layer + 'static) -> LayerRef {
        self.layer_boxed(Box::new(layer))
    }

    /// `layer` for an already boxed layer (as built by `layer_from_config`).
    pub fn layer_boxed(&self, layer: Box<dyn Layer>) -> LayerRef {
        let name = {
            let mut g = self.0.borrow_mut();
            let class = snake_case(layer.class_name());
            let count = g.name_counts.entry(class.clone()).or_insert(0);
            let name = if *count == 0 {
                class
            } else {
                format!("{class}_{count}")
            };
            *count += 1;
            name
        };
        self.named_layer_boxed(&name, layer)
    }

    /// Adds a boxed layer under a given name (an imported model keeps Keras's layer names).
    pub fn named_layer_boxed(&self, name: &str, layer: Box<dyn Layer>) -> LayerRef {
        let mut g = self.0.borrow_mut();
        g.layers.push(LayerSlot {
            layer,
            name: name.to_string(),
            built_for: None,
            output_shape: Vec::new(),
            frozen: false,
        });
        LayerRef {
            graph: self.clone(),
            index: g.layers.len() - 1,
        }
    }

    /// Applies a merge (or any) layer to several symbols of this graph.
    pub fn merge(&self, layer: impl Layer + 'static, inputs: &[&Symbol]) -> Result<Symbol> {
        self.layer(layer).call(inputs)
    }

    /// The model from `inputs` to `outputs`. Every output must depend only on the given inputs.
    pub fn model(&self, inputs: &[&Symbol], outputs: &[&Symbol]) -> Result<Model> {
        for s in inputs.iter().chain(outputs) {
            if !Rc::ptr_eq(&s.graph.0, &self.0) {
                return Err(NnError::argument(
                    "model",
                    "a symbol belongs to another graph",
                ));
            }
        }
        let g = self.0.borrow();
        let input_ids: Vec<usize> = inputs.iter().map(|s| s.node).collect();
        if let Some(s) = inputs.iter().find(|s| g.nodes[s.node].layer.is_some()) {
            return Err(NnError::argument(
                "model",
                format!("node {} is a layer output, not an input", s.node),
            ));
        }
        // Mark the nodes the outputs need, checking they reach only the declared inputs.
        let mut needed = vec![false; g.nodes.len()];
        let mut stack: Vec<usize> = outputs.iter().map(|s| s.node).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut needed[n], true) {
                continue;
            }
            let node = &g.nodes[n];
            if node.layer.is_none() && !input_ids.contains(&n) {
                return Err(NnError::argument(
                    "model",
                    format!("an output depends on input {n} with shape {:?}, which is not among the model's inputs", node.shape),
                ));
            }
            stack.extend(&node.inputs);
        }
        Ok(Model {
            graph: self.clone(),
            inputs: input_ids,
            outputs: outputs.iter().map(|s| s.node).collect(),
            needed,
            folded: FoldCache::default(),
        })
    }
}

impl LayerRef {
    /// Calls the layer on `inputs`, building it on its first call.
    pub fn call(&self, inputs: &[&Symbol]) -> Result<Symbol> {
        self.call_in_mode(inputs, None)
    }

    /// `call` with the layer's mode pinned for this call: `Some(false)` runs it in inference
    /// mode even while the model trains (Keras's `layer(x, training=False)`).
    pub fn call_in_mode(&self, inputs: &[&Symbol], training: Option<bool>) -> Result<Symbol> {
        let mut g = self.graph.0.borrow_mut();
        for s in inputs {
            if !Rc::ptr_eq(&s.graph.0, &self.graph.0) {
                return Err(NnError::argument(
                    "inputs",
                    "symbols from different graphs cannot be combined",
                ));
            }
        }
        let shapes: Vec<Vec<usize>> = inputs
            .iter()
            .map(|s| g.nodes[s.node].shape.clone())
            .collect();
        let slot = &mut g.layers[self.index];
        let shape = match &slot.built_for {
            Some(first) if *first == shapes => slot.output_shape.clone(),
            Some(first) => {
                return Err(NnError::layer(
                    &slot.name,
                    format!(
                    "was built for inputs {first:?}; a shared layer cannot be called on {shapes:?}"
                ),
                ))
            }
            None => {
                let out = slot.layer.build_multi(&shapes).and_then(|out| {
                    crate::layers::check_sample_shape(&slot.name, &out)?;
                    Ok(out)
                });
                let out = out.map_err(|e| match e {
                    NnError::Layer { why, .. } => NnError::layer(&slot.name, why),
                    NnError::Argument { argument, why } => {
                        NnError::layer(&slot.name, format!("invalid {argument}: {why}"))
                    }
                    other => other,
                })?;
                slot.built_for = Some(shapes);
                slot.output_shape = out.clone();
                out
            }
        };
        g.nodes.push(Node {
            layer: Some(self.index),
            inputs: inputs.iter().map(|s| s.node).collect(),
            shape,
            training,
        });
        Ok(Symbol {
            graph: self.graph.clone(),
            node: g.nodes.len() - 1,
        })
    }
}

impl Symbol {
    /// Per-sample shape of this symbolic tensor.
    pub fn shape(&self) -> Vec<usize> {
        self.graph.0.borrow().nodes[self.node].shape.clone()
    }

    /// Applies a new single-input layer to this symbol.
    pub fn apply(&self, layer: impl Layer + 'static) -> Result<Symbol> {
        self.graph.layer(layer).call(&[self])
    }
}

/// Receptive field of one position of a feature map, relative to the input: its size and the
/// step between neighbouring positions (the effective stride), per spatial axis. Axes that
/// are no longer spatial (after Flatten or Dense) end the arithmetic: the field becomes the
/// whole input.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    axes: Option<Vec<(usize, usize)>>,
}

impl Field {
    pub(crate) fn identity(spatial_axes: usize) -> Field {
        Field {
            axes: Some(vec![(1, 1); spatial_axes]),
        }
    }

    /// The field after a layer with `window` (extent, stride) per axis whose output has
    /// `spatial_axes` spatial axes.
    pub(crate) fn through(&self, window: Option<&[(usize, usize)]>, spatial_axes: usize) -> Field {
        let Some(axes) = &self.axes else {
            return self.clone();
        };
        if axes.len() != spatial_axes {
            return Field { axes: None };
        }
        match window {
            None => self.clone(),
            Some(w) if w.len() == axes.len() => Field {
                axes: Some(
                    axes.iter()
                        .zip(w)
                        .map(|(&(rf, jump), &(k, s))| (rf + (k - 1) * jump, jump * s))
                        .collect(),
                ),
            },
            Some(_) => Field { axes: None },
        }
    }

    /// The larger field of two branches being merged.
    pub(crate) fn union(&self, other: &Field) -> Field {
        match (&self.axes, &other.axes) {
            (Some(a), Some(b)) if a.len() == b.len() => Field {
                axes: Some(
                    a.iter()
                        .zip(b)
                        .map(|(x, y)| (x.0.max(y.0), x.1.max(y.1)))
                        .collect(),
                ),
            },
            _ => Field { axes: None },
        }
    }

    fn label(&self, pick: impl Fn(&(usize, usize)) -> usize) -> String {
        match &self.axes {
            Some(a) if !a.is_empty() => a
                .iter()
                .map(|x| pick(x).to_string())
                .collect::<Vec<_>>()
                .join("x"),
            _ => "all".to_string(),
        }
    }

    pub(crate) fn size_label(&self) -> String {
        self.label(|x| x.0)
    }

    pub(crate) fn stride_label(&self) -> String {
        self.label(|x| x.1)
    }
}

/// A graph of layers from some inputs to some outputs.
/// One layer call (or model input) of a model's graph, as `layer_graph` lists them: what a
/// drawing of the architecture needs, without the layer itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerNode {
    /// The layer's name (`input_0`, ... for a functional model's inputs).
    pub name: String,
    /// Its Keras class name ("Conv2D", "InputLayer", ...).
    pub class_name: String,
    /// Per-sample output shape.
    pub output_shape: Vec<usize>,
    /// Indices (into the same list) of the nodes it reads; always earlier nodes.
    pub inputs: Vec<usize>,
}

pub struct Model {
    graph: Graph,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    /// Nodes the outputs depend on (the rest are skipped).
    needed: Vec<bool>,
    /// Convolution kernels with their BatchNormalization folded in, for `predict_multi`.
    folded: FoldCache,
}

impl Model {
    /// Per-sample shape of each output, as inferred when the graph was built.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        let g = self.graph.0.borrow();
        self.outputs
            .iter()
            .map(|&n| g.nodes[n].shape.clone())
            .collect()
    }

    /// Checks that `shapes` are batches of the model's inputs, one per input.
    fn check_inputs(&self, g: &GraphState, shapes: &[Vec<usize>]) -> Result<()> {
        if shapes.len() != self.inputs.len() {
            return Err(NnError::argument(
                "inputs",
                format!(
                    "the model takes {} inputs, got {}",
                    self.inputs.len(),
                    shapes.len()
                ),
            ));
        }
        for (i, (&n, shape)) in self.inputs.iter().zip(shapes).enumerate() {
            if shape.get(1..) != Some(&g.nodes[n].shape[..]) {
                return Err(NnError::argument(
                    "input",
                    format!(
                        "input {i} expects batches of per-sample shape {:?}, got {shape:?}",
                        g.nodes[n].shape
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Runs every needed node in creation order (which is topological: a node is created
    /// only after its inputs).
    pub fn forward_multi(&self, inputs: &[Var], training: bool) -> Result<Vec<Var>> {
        self.forward_tapped(inputs, training, None)
    }

    /// `forward_multi`, except that the output of the layer named `tap.0` (its first call)
    /// is passed to `tap.1` and whatever that returns flows on in its place: a way to read an
    /// intermediate activation on the same tape, or to cut the tape there with a fresh leaf
    /// whose gradient `backward` then keeps (Grad-CAM). Errors if no needed layer has that
    /// name.
    #[allow(clippy::type_complexity)]
    pub fn forward_tapped(
        &self,
        inputs: &[Var],
        training: bool,
        mut tap: Option<(&str, &mut dyn FnMut(Var) -> Var)>,
    ) -> Result<Vec<Var>> {
        let g = self.graph.0.borrow();
        let shapes: Vec<Vec<usize>> = inputs.iter().map(Var::shape).collect();
        self.check_inputs(&g, &shapes)?;
        g.layers.iter().for_each(|s| s.layer.clear_losses());
        let mut values: Vec<Option<Var>> = vec![None; g.nodes.len()];
        for (&n, x) in self.inputs.iter().zip(inputs) {
            values[n] = Some(x.clone());
        }
        let mut tapped = false;
        for (n, node) in g.nodes.iter().enumerate() {
            let Some(l) = node.layer.filter(|_| self.needed[n]) else {
                continue;
            };
            let args: Vec<Var> = node
                .inputs
                .iter()
                .map(|&i| values[i].clone().expect("inputs come first"))
                .collect();
            let slot = &g.layers[l];
            let mode = if slot.frozen {
                false
            } else {
                node.training.unwrap_or(training)
            };
            let mut value = slot.layer.forward_multi(&args, mode).map_err(|e| match e {
                NnError::Layer { why, .. } => NnError::layer(&slot.name, why),
                other => other,
            })?;
            if let Some((name, f)) = tap.as_mut() {
                if !tapped && slot.name == *name {
                    value = f(value);
                    tapped = true;
                }
            }
            values[n] = Some(value);
        }
        if let Some((name, _)) = tap {
            if !tapped {
                return Err(NnError::argument(
                    "layer",
                    format!("the model has no layer named {name:?}"),
                ));
            }
        }
        Ok(self
            .outputs
            .iter()
            .map(|&o| values[o].clone().expect("outputs computed"))
            .collect())
    }

    /// Inference on one input batch per model input: no tape, training-only layers off, each
    /// convolution fused with the BatchNormalization and activation that alone read its
    /// output (see `krust_nn::inference`), and every intermediate value freed after its last
    /// reader; equal to `forward_multi(inputs, false)` up to floating-point rounding.
    pub fn predict_multi(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        let g = self.graph.0.borrow();
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|t| t.shape().to_vec()).collect();
        self.check_inputs(&g, &shapes)?;
        let nodes = self.inference_nodes(&g);
        let inputs = self.inputs.iter().copied().zip(inputs.iter().cloned());
        crate::inference::run(
            &nodes,
            &self.needed,
            inputs.collect(),
            &self.outputs,
            &self.folded,
        )
    }

    /// The convolution chains `predict_multi` runs as one fused convolution, as
    /// "conv + batch_norm + activation (Relu)" (layer names, then the epilogue).
    pub fn inference_fusions(&self) -> Vec<String> {
        let g = self.graph.0.borrow();
        crate::inference::describe(&self.inference_nodes(&g), &self.needed, &self.outputs)
    }

    /// The model's nodes as the inference path sees them (the nodes it needs, in creation
    /// order; a frozen layer runs in inference mode, a call pinned to training keeps it).
    fn inference_nodes<'g>(&self, g: &'g GraphState) -> Vec<NodeView<'g>> {
        g.nodes[..self.needed.len()]
            .iter()
            .map(|node| match node.layer {
                None => NodeView {
                    layer: None,
                    name: "input",
                    inputs: Vec::new(),
                    training: false,
                },
                Some(l) => {
                    let slot = &g.layers[l];
                    NodeView {
                        layer: Some(slot.layer.as_ref()),
                        name: &slot.name,
                        inputs: node.inputs.clone(),
                        training: !slot.frozen && node.training.unwrap_or(false),
                    }
                }
            })
            .collect()
    }

    /// Which layers the outputs use.
    fn used_layers(&self) -> Vec<bool> {
        let g = self.graph.0.borrow();
        let mut used = vec![false; g.layers.len()];
        for (n, node) in g.nodes.iter().enumerate() {
            if let (true, Some(l)) = (self.needed[n], node.layer) {
                used[l] = true;
            }
        }
        used
    }

    /// Freezes every layer except those named in `trainable` (Keras's `trainable = False` on
    /// a base model before fine-tuning its head): frozen layers run in inference mode (so
    /// BatchNormalization keeps its moving statistics) and leave `parameters()`. Returns how
    /// many layers were frozen; a name in `trainable` that no layer has is an error.
    pub fn freeze_except(&self, trainable: &[&str]) -> Result<usize> {
        let mut g = self.graph.0.borrow_mut();
        for name in trainable {
            if !g.layers.iter().any(|s| s.name == *name) {
                return Err(NnError::argument(
                    "trainable",
                    format!("the model has no layer named {name:?}"),
                ));
            }
        }
        let mut frozen = 0;
        for slot in &mut g.layers {
            slot.frozen = !trainable.contains(&slot.name.as_str());
            frozen += usize::from(slot.frozen);
        }
        Ok(frozen)
    }

    /// Trainable weights of every layer the outputs use, each shared layer once.
    /// The regularization losses the layers recorded in the last training pass (Keras's
    /// `model.losses`), each shared layer's weight penalties once: add them to the loss
    /// before `backward`. Empty after an inference pass.
    pub fn losses(&self) -> Vec<Var> {
        let g = self.graph.0.borrow();
        g.layers.iter().flat_map(|s| s.layer.losses()).collect()
    }

    pub fn parameters(&self) -> Vec<Var> {
        let used = self.used_layers();
        let g = self.graph.0.borrow();
        g.layers
            .iter()
            .zip(used)
            .filter(|(s, u)| *u && !s.frozen)
            .flat_map(|(s, _)| s.layer.parameters())
            .collect()
    }

    /// Every weight, trainable or not, as ("layer_name/weight_name", variable).
    pub fn named_weights(&self) -> Vec<(String, Var)> {
        let used = self.used_layers();
        let g = self.graph.0.borrow();
        g.layers
            .iter()
            .zip(used)
            .filter(|(_, u)| *u)
            .flat_map(|(s, _)| {
                s.layer
                    .weights()
                    .into_iter()
                    .map(move |(w, v)| (format!("{}/{w}", s.name), v))
            })
            .collect()
    }

    /// The architecture in Keras 3's functional layout: {"class_name": "Functional",
    /// "config": {"layers": [...], "input_layers": [...], "output_layers": [...]}}, where each
    /// layer lists its calls as inbound nodes whose arguments reference
    /// [layer name, node index, tensor index]. Inputs become InputLayer entries named
    /// "input_layer", "input_layer_1", ...; a shared layer has one node per call.
    pub fn to_config(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        let g = self.graph.0.borrow();
        let shape_json = |shape: &[usize]| {
            std::iter::once(Value::Null)
                .chain(shape.iter().map(|&d| json!(d)))
                .collect::<Vec<_>>()
        };
        // Each needed node's (layer name, node index) in the config.
        let mut reference: Vec<Option<(String, usize)>> = vec![None; g.nodes.len()];
        let mut entries: Vec<Value> = Vec::new();
        for (k, &n) in self.inputs.iter().enumerate() {
            let name = if k == 0 {
                "input_layer".to_string()
            } else {
                format!("input_layer_{k}")
            };
            let mut config = crate::layers::Input::new(&g.nodes[n].shape).config();
            config["name"] = json!(name);
            config["dtype"] = json!("float32");
            entries.push(json!({"class_name": "InputLayer", "name": name, "config": config, "inbound_nodes": []}));
            reference[n] = Some((name, 0));
        }
        let tensor = |n: usize, reference: &[Option<(String, usize)>]| {
            let (name, node) = reference[n]
                .clone()
                .expect("a node's inputs come before it");
            json!({"class_name": "__keras_tensor__", "config": {
                "shape": shape_json(&g.nodes[n].shape), "dtype": "float32",
                "keras_history": [name, node, 0]}})
        };
        let used = self.used_layers();
        // Layers in creation order; their calls in node order (topological).
        let mut calls: Vec<Vec<Value>> = vec![Vec::new(); g.layers.len()];
        for (n, node) in g.nodes.iter().enumerate() {
            let Some(l) = node.layer.filter(|_| self.needed[n]) else {
                continue;
            };
            let args: Vec<Value> = node.inputs.iter().map(|&i| tensor(i, &reference)).collect();
            let args = match args.len() {
                1 => args,
                _ => vec![Value::Array(args)],
            };
            let kwargs = match node.training {
                Some(mode) => json!({"training": mode}),
                None => json!({}),
            };
            calls[l].push(json!({"args": args, "kwargs": kwargs}));
            reference[n] = Some((g.layers[l].name.clone(), calls[l].len() - 1));
        }
        for ((slot, nodes), _) in g.layers.iter().zip(calls).zip(used).filter(|(_, u)| *u) {
            let mut config = slot.layer.config();
            if let Some(map) = config.as_object_mut() {
                map.insert("name".into(), json!(slot.name));
            }
            entries.push(
                json!({"class_name": slot.layer.class_name(), "name": slot.name,
                "config": config, "inbound_nodes": nodes}),
            );
        }
        let history = |n: usize| {
            let (name, node) = reference[n].clone().expect("outputs are computed");
            json!([name, node, 0])
        };
        json!({"class_name": "Functional", "config": {
            "name": "functional",
            "layers": entries,
            "input_layers": self.inputs.iter().map(|&n| history(n)).collect::<Vec<_>>(),
            "output_layers": self.outputs.iter().map(|&n| history(n)).collect::<Vec<_>>(),
        }})
    }

    /// All weights, trainable or not (Keras's count_params).
    pub fn count_params(&self) -> usize {
        self.named_weights()
            .iter()
            .map(|(_, w)| w.value_ref().numel())
            .sum()
    }

    pub fn count_trainable_params(&self) -> usize {
        self.parameters()
            .iter()
            .map(|p| p.value_ref().numel())
            .sum()
    }

    /// The layer calls the outputs depend on, in a topological order (inputs first), with
    /// the edges between them: the graph `krust summary --plot` draws.
    pub fn layer_graph(&self) -> Vec<LayerNode> {
        let g = self.graph.0.borrow();
        // Index in the returned list of each kept node.
        let mut position = vec![usize::MAX; g.nodes.len()];
        let mut out = Vec::new();
        for (n, node) in g.nodes.iter().enumerate() {
            if !self.needed[n] {
                continue;
            }
            let (name, class_name) = match node.layer {
                Some(l) => (
                    g.layers[l].name.clone(),
                    g.layers[l].layer.class_name().to_string(),
                ),
                None => (
                    format!(
                        "input_{}",
                        self.inputs.iter().position(|&i| i == n).unwrap_or(n)
                    ),
                    "InputLayer".to_string(),
                ),
            };
            position[n] = out.len();
            out.push(LayerNode {
                name,
                class_name,
                output_shape: node.shape.clone(),
                inputs: node.inputs.iter().map(|&i| position[i]).collect(),
            });
        }
        out
    }

    /// A Keras-style table: one row per layer call, with output shape, parameters (counted
    /// at a shared layer's first call), receptive field and effective stride relative to the
    /// inputs, FLOPs per sample, and the layers it is connected to.
    pub fn summary(&self) -> String {
        let g = self.graph.0.borrow();
        use crate::summary_table::{table, Align, LAYER_COLUMNS};
        let mut rows = Vec::new();
        let mut counted = vec![false; g.layers.len()];
        let mut fields: Vec<Field> = g
            .nodes
            .iter()
            .map(|n| Field::identity(n.shape.len().saturating_sub(1)))
            .collect();
        let label = |n: usize| match g.nodes[n].layer {
            Some(l) => g.layers[l].name.clone(),
            None => format!(
                "input_{}",
                self.inputs.iter().position(|&i| i == n).unwrap_or(n)
            ),
        };
        let mut total_flops = 0u64;
        for (n, node) in g.nodes.iter().enumerate() {
            if !self.needed[n] {
                continue;
            }
            let shape = format!(
                "(None, {})",
                node.shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let (title, params, flops) = match node.layer {
                Some(l) => {
                    let slot = &g.layers[l];
                    let incoming = node
                        .inputs
                        .iter()
                        .map(|&i| fields[i].clone())
                        .reduce(|a, b| a.union(&b));
                    let spatial = node.shape.len().saturating_sub(1);
                    fields[n] = incoming
                        .unwrap_or_else(|| Field::identity(spatial))
                        .through(slot.layer.spatial_window().as_deref(), spatial);
                    let p = if std::mem::replace(&mut counted[l], true) {
                        0
                    } else {
                        slot.layer
                            .weights()
                            .iter()
                            .map(|(_, w)| w.value_ref().numel())
                            .sum()
                    };
                    (
                        format!("{} ({})", slot.name, slot.layer.class_name()),
                        p,
                        slot.layer.flops(&node.shape),
                    )
                }
                None => (format!("{} (InputLayer)", label(n)), 0, 0),
            };
            total_flops += flops;
            let from = node
                .inputs
                .iter()
                .map(|&i| label(i))
                .collect::<Vec<_>>()
                .join(", ");
            rows.push(vec![
                title,
                shape,
                params.to_string(),
                fields[n].size_label(),
                fields[n].stride_label(),
                flops.to_string(),
                from,
            ]);
        }
        let mut header = LAYER_COLUMNS.to_vec();
        header.push(("Connected to", Align::Left));
        let mut out = table(&header, &rows);
        let (total, trainable) = (self.count_params(), self.count_trainable_params());
        out.push_str(&format!(
            "Total params: {total}\nTrainable params: {trainable}\nNon-trainable params: {}\nFLOPs per sample: {total_flops}\n",
            total - trainable
        ));
        out
    }
}

/// Anything `fit` can train and `saving` can save: one input batch in, one output batch out,
/// with parameters, named weights and a Keras-style architecture.
pub trait Module {
    fn forward(&self, x: &Var, training: bool) -> Result<Var>;
    fn parameters(&self) -> Vec<Var>;
    /// The regularization losses of the last training `forward` (Keras's `model.losses`).
    fn losses(&self) -> Vec<Var>;
    /// Applies every layer's weight constraints (after an optimizer step).
    fn apply_constraints(&self) -> Result<()>;
    /// Every weight, trainable or not, as ("layer_name/weight_name", variable).
    fn named_weights(&self) -> Vec<(String, Var)>;
    /// The architecture as Keras-style JSON, which `architecture::model_from_config` reads.
    fn to_config(&self) -> serde_json::Value;
    /// Inference on one batch: no tape, training-only layers off. Models override it with
    /// their fused inference path (`Sequential::predict`, `Model::predict_multi`).
    fn infer(&self, x: &Tensor) -> Result<Tensor> {
        krust_autograd::no_grad(|| Ok(self.forward(&Var::constant(x.clone()), false)?.value()))
    }
    /// Calls `visit` with the name and random stream of every layer that has one (dropout,
    /// noise), in layer order: a training state saves and restores their positions so a
    /// resumed run draws what an uninterrupted one would. Visits nothing by default.
    fn visit_random_streams(&self, _visit: &mut dyn FnMut(&str, &RandomStream)) {}
}

impl Module for Model {
    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        if self.inputs.len() != 1 || self.outputs.len() != 1 {
            return Err(NnError::argument(
                "model",
                format!("single-batch training needs one input and one output, this model has {} and {}", self.inputs.len(), self.outputs.len()),
            ));
        }
        Ok(self
            .forward_multi(std::slice::from_ref(x), training)?
            .remove(0))
    }

    fn parameters(&self) -> Vec<Var> {
        Model::parameters(self)
    }

    fn losses(&self) -> Vec<Var> {
        Model::losses(self)
    }

    fn apply_constraints(&self) -> Result<()> {
        let g = self.graph.0.borrow();
        g.layers
            .iter()
            .try_for_each(|s| s.layer.apply_constraints())
    }

    fn named_weights(&self) -> Vec<(String, Var)> {
        Model::named_weights(self)
    }

    fn visit_random_streams(&self, visit: &mut dyn FnMut(&str, &RandomStream)) {
        let g = self.graph.0.borrow();
        for s in &g.layers {
            if let Some(stream) = s.layer.random_stream() {
                visit(&s.name, stream);
            }
        }
    }

    fn to_config(&self) -> serde_json::Value {
        Model::to_config(self)
    }

    fn infer(&self, x: &Tensor) -> Result<Tensor> {
        if self.outputs.len() != 1 {
            return Err(NnError::argument(
                "model",
                format!(
                    "single-batch inference needs one output, this model has {}",
                    self.outputs.len()
                ),
            ));
        }
        Ok(self.predict_multi(std::slice::from_ref(x))?.remove(0))
    }
}

impl Module for crate::Sequential {
    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        crate::Sequential::forward(self, x, training)
    }

    fn parameters(&self) -> Vec<Var> {
        crate::Sequential::parameters(self)
    }

    fn losses(&self) -> Vec<Var> {
        crate::Sequential::losses(self)
    }

    fn apply_constraints(&self) -> Result<()> {
        self.layers().iter().try_for_each(|l| l.apply_constraints())
    }

    fn named_weights(&self) -> Vec<(String, Var)> {
        crate::Sequential::named_weights(self)
    }

    fn visit_random_streams(&self, visit: &mut dyn FnMut(&str, &RandomStream)) {
        for (layer, name) in self.layers().iter().zip(self.layer_names()) {
            if let Some(stream) = layer.random_stream() {
                visit(name, stream);
            }
        }
    }

    fn to_config(&self) -> serde_json::Value {
        crate::Sequential::to_config(self)
    }

    fn infer(&self, x: &Tensor) -> Result<Tensor> {
        crate::Sequential::predict(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_graph_lists_a_residual_block_with_its_edges() {
        use crate::layers::{Add, Dense};
        let g = Graph::new();
        let x = g.input(&[4]);
        let h = g.named_layer_boxed("h", Box::new(Dense::new(4)));
        let y = h.call(&[&x]).unwrap();
        let sum = g.merge(Add::new(), &[&y, &x]).unwrap();
        // A branch the output does not use is left out.
        let _unused = x.apply(Dense::new(3)).unwrap();
        let nodes = g.model(&[&x], &[&sum]).unwrap().layer_graph();
        let summary: Vec<(&str, &str, Vec<usize>)> = nodes
            .iter()
            .map(|n| (n.name.as_str(), n.class_name.as_str(), n.inputs.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("input_0", "InputLayer", vec![]),
                ("h", "Dense", vec![0]),
                ("add", "Add", vec![1, 0]),
            ]
        );
        assert_eq!(nodes[2].output_shape, [4]);
    }

    #[test]
    fn summary_columns_stay_apart_with_a_long_layer_name() {
        use crate::layers::Dense;
        let g = Graph::new();
        let x = g.input(&[3]);
        let long = "a_dense_layer_with_a_name_of_more_than_forty_characters";
        let hidden = g.named_layer_boxed(long, Box::new(Dense::new(4)));
        let y = hidden.call(&[&x]).unwrap();
        let y = g.layer(Dense::new(2)).call(&[&y]).unwrap();
        let summary = g.model(&[&x], &[&y]).unwrap().summary();
        let row = summary
            .lines()
            .find(|l| l.starts_with(long))
            .unwrap_or_else(|| panic!("{long} in {summary}"));
        let fields: Vec<&str> = row.split("  ").filter(|f| !f.is_empty()).collect();
        let fields: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
        assert_eq!(
            fields,
            [
                &format!("{long} (Dense)")[..],
                "(None, 4)",
                "16",
                "all",
                "all",
                "24",
                "input_0"
            ],
            "{summary}"
        );
        // Every row's shape column starts where the header's does.
        let column = summary.find("Output Shape").unwrap();
        for line in summary.lines().filter(|l| l.contains("(None, ")) {
            assert_eq!(line.find("(None, "), Some(column), "{summary}");
        }
    }

    #[test]
    fn frozen_layers_leave_the_parameters_and_run_in_inference_mode() {
        use crate::layers::{BatchNormalization, Dense};
        let g = Graph::new();
        let x = g.input(&[3]);
        let base = g.named_layer_boxed("base", Box::new(Dense::new(4)));
        let bn = g.named_layer_boxed("bn", Box::new(BatchNormalization::new()));
        let head = g.named_layer_boxed("head", Box::new(Dense::new(2)));
        let y = base.call(&[&x]).unwrap();
        let y = bn.call(&[&y]).unwrap();
        let y = head.call(&[&y]).unwrap();
        let model = g.model(&[&x], &[&y]).unwrap();
        assert_eq!(model.parameters().len(), 2 + 2 + 2);
        assert!(model.freeze_except(&["nope"]).is_err());
        assert_eq!(model.freeze_except(&["head"]).unwrap(), 2);
        assert_eq!(model.parameters().len(), 2);
        assert_eq!(model.count_trainable_params(), 4 * 2 + 2);
        // In training mode a frozen BatchNormalization must not move its statistics.
        let before: Vec<Tensor> = model
            .named_weights()
            .iter()
            .map(|(_, v)| v.value())
            .collect();
        let batch = Tensor::from_vec([2, 3], vec![1.0, 2.0, 3.0, -4.0, 5.0, 6.0]).unwrap();
        model.forward_multi(&[Var::constant(batch)], true).unwrap();
        let after: Vec<Tensor> = model
            .named_weights()
            .iter()
            .map(|(_, v)| v.value())
            .collect();
        for (b, a) in before.iter().zip(&after) {
            assert_eq!(b.to_vec(), a.to_vec());
        }
    }

    #[test]
    fn keras_style_names() {
        assert_eq!(snake_case("Conv2D"), "conv2d");
        assert_eq!(snake_case("MaxPooling2D"), "max_pooling2d");
        assert_eq!(
            snake_case("GlobalAveragePooling2D"),
            "global_average_pooling2d"
        );
        assert_eq!(snake_case("Dense"), "dense");
    }

    #[test]
    fn a_shared_layer_adds_its_weight_penalty_once_per_pass() {
        use crate::layers::{Add, Dense};
        use crate::regularizers::Regularizer;
        let mut dense = Dense::new(2);
        dense
            .penalties
            .set_regularizer("kernel", Some(Regularizer::L2 { l2: 0.5 }))
            .unwrap();
        let g = Graph::new();
        let (a, b) = (g.input(&[3]), g.input(&[3]));
        let shared = g.layer(dense);
        let (ya, yb) = (shared.call(&[&a]).unwrap(), shared.call(&[&b]).unwrap());
        let sum = g.merge(Add::new(), &[&ya, &yb]).unwrap();
        let model = g.model(&[&a, &b], &[&sum]).unwrap();
        let x = Var::constant(Tensor::ones([2, 3]));
        model.forward_multi(&[x.clone(), x.clone()], true).unwrap();
        assert_eq!(model.losses().len(), 1, "Keras counts a shared kernel once");
        // A new pass starts from nothing; an inference pass records nothing.
        model.forward_multi(&[x.clone(), x.clone()], true).unwrap();
        assert_eq!(model.losses().len(), 1);
        model.forward_multi(&[x.clone(), x], false).unwrap();
        assert!(model.losses().is_empty());
    }
}
