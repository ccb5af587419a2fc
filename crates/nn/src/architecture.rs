//! Turns a Keras-style model config (Sequential or Functional, nested models included) into
//! a krust model: the reader for krust's own model files and for Keras's. Nested models are
//! inlined into one krust graph: each inner layer becomes a graph layer named "outer/inner",
//! so a model called twice shares its weights.

use crate::functional::{Graph, LayerRef, Module, Symbol};
use crate::layers::layer_from_config;
use crate::{Model, NnError, Result, Sequential};
use krust_autograd::Var;
use krust_tensor::Tensor;
use serde_json::Value;
use std::collections::HashMap;

/// A Sequential or functional model, as a model file holds either.
pub enum AnyModel {
    Sequential(Sequential),
    Functional(Model),
}

impl AnyModel {
    /// Inference (training-only layers off, no tape) on one batch per model input.
    pub fn predict(&self, inputs: &[Tensor]) -> Result<Vec<Tensor>> {
        match self {
            AnyModel::Sequential(m) => match inputs {
                [x] => Ok(vec![m.predict(x)?]),
                _ => Err(NnError::argument(
                    "inputs",
                    format!("the model takes 1 input, got {}", inputs.len()),
                )),
            },
            AnyModel::Functional(m) => m.predict_multi(inputs),
        }
    }

    /// The convolution chains `predict` fuses (see `Sequential::inference_fusions`).
    pub fn inference_fusions(&self) -> Vec<String> {
        match self {
            AnyModel::Sequential(m) => m.inference_fusions(),
            AnyModel::Functional(m) => m.inference_fusions(),
        }
    }

    /// The first output of a forward pass on `x` in which the output of the layer named
    /// `layer` goes through `tap` (see `Model::forward_tapped`).
    pub fn forward_tapped(
        &self,
        x: &Var,
        training: bool,
        layer: &str,
        tap: &mut dyn FnMut(Var) -> Var,
    ) -> Result<Var> {
        match self {
            AnyModel::Sequential(m) => m.forward_tapped(x, training, layer, tap),
            AnyModel::Functional(m) => Ok(m
                .forward_tapped(std::slice::from_ref(x), training, Some((layer, tap)))?
                .remove(0)),
        }
    }

    /// The layers and the edges between them, inputs first (see `Model::layer_graph`).
    pub fn layer_graph(&self) -> Vec<crate::functional::LayerNode> {
        match self {
            AnyModel::Sequential(m) => m.layer_graph(),
            AnyModel::Functional(m) => m.layer_graph(),
        }
    }

    /// The Keras-style table with receptive fields and FLOPs.
    pub fn summary(&self) -> String {
        match self {
            AnyModel::Sequential(m) => m.summary(),
            AnyModel::Functional(m) => m.summary(),
        }
    }

    /// All weights, trainable or not (Keras's count_params).
    pub fn count_params(&self) -> usize {
        match self {
            AnyModel::Sequential(m) => m.count_params(),
            AnyModel::Functional(m) => m.count_params(),
        }
    }

    fn module(&self) -> &dyn Module {
        match self {
            AnyModel::Sequential(m) => m,
            AnyModel::Functional(m) => m,
        }
    }
}

impl Module for AnyModel {
    fn forward(&self, x: &Var, training: bool) -> Result<Var> {
        self.module().forward(x, training)
    }

    fn parameters(&self) -> Vec<Var> {
        self.module().parameters()
    }

    fn losses(&self) -> Vec<Var> {
        self.module().losses()
    }

    fn apply_constraints(&self) -> Result<()> {
        self.module().apply_constraints()
    }

    fn named_weights(&self) -> Vec<(String, Var)> {
        self.module().named_weights()
    }

    fn to_config(&self) -> Value {
        self.module().to_config()
    }

    fn infer(&self, x: &Tensor) -> Result<Tensor> {
        self.module().infer(x)
    }

    fn visit_random_streams(
        &self,
        visit: &mut dyn FnMut(&str, &krust_tensor::random::RandomStream),
    ) {
        self.module().visit_random_streams(visit)
    }
}

/// Whether the model's last layer ends in a softmax, so its outputs are probabilities rather
/// than logits (a `Softmax` layer, or a layer with `activation: "softmax"`).
pub fn ends_in_softmax(model: &AnyModel) -> bool {
    let config = model.to_config();
    let layers = config["config"]["layers"].as_array();
    layers.and_then(|l| l.last()).is_some_and(|last| {
        last["class_name"] == "Softmax" || last["config"]["activation"] == "softmax"
    })
}

/// Rebuilds the model described by a Keras-style config ({"class_name": "Sequential" or
/// "Functional", "config": ...}), with fresh weights.
pub fn model_from_config(model: &Value) -> Result<AnyModel> {
    from_keras_config(model).map_err(|why| NnError::argument("architecture", why))
}

type Built<T> = std::result::Result<T, String>;

fn is_model(class: &str) -> bool {
    matches!(class, "Sequential" | "Functional" | "Model")
}

fn class_of(entry: &Value) -> Built<&str> {
    entry["class_name"]
        .as_str()
        .ok_or_else(|| format!("a layer entry has no class_name: {}", short(entry)))
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(120).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn layers_of(config: &Value) -> Built<&Vec<Value>> {
    config["layers"]
        .as_array()
        .ok_or_else(|| "the model config has no list of layers".to_string())
}

fn name_of(entry: &Value) -> Built<String> {
    entry["config"]["name"]
        .as_str()
        .or_else(|| entry["name"].as_str())
        .map(str::to_string)
        .ok_or_else(|| format!("a {} layer has no name", entry["class_name"]))
}

/// The per-sample input shape an InputLayer entry declares.
fn declared_shape(entry: &Value) -> Built<Vec<usize>> {
    let layer = layer_from_config("InputLayer", &entry["config"]).map_err(|e| e.to_string())?;
    layer
        .declared_input_shape()
        .ok_or_else(|| "an InputLayer declares no shape".to_string())
}

/// Rebuilds the model described by `model` ({"class_name", "config"}).
fn from_keras_config(model: &Value) -> Built<AnyModel> {
    let class = class_of(model)?;
    let config = &model["config"];
    match class {
        "Sequential" => {
            let nested = layers_of(config)?
                .iter()
                .any(|l| l["class_name"].as_str().is_some_and(is_model));
            if !nested {
                return Sequential::from_config(model)
                    .map(AnyModel::Sequential)
                    .map_err(|e| e.to_string());
            }
            // A Sequential holding models becomes a graph: input, then each unit in turn.
            let graph = Graph::new();
            let layers = layers_of(config)?;
            let shape = match layers.first() {
                Some(first) if first["class_name"] == "InputLayer" => declared_shape(first)?,
                _ => config["build_input_shape"]
                    .as_array()
                    .and_then(|d| {
                        d.get(1..)?
                            .iter()
                            .map(|v| v.as_u64().map(|n| n as usize))
                            .collect()
                    })
                    .ok_or("the Sequential model declares no input shape")?,
            };
            let input = graph.input(&shape);
            let unit = Unit::new(&graph, model, "")?;
            let outputs = unit.call(std::slice::from_ref(&input), None)?;
            let refs: Vec<&Symbol> = outputs.iter().collect();
            graph
                .model(&[&input], &refs)
                .map(AnyModel::Functional)
                .map_err(|e| e.to_string())
        }
        "Functional" | "Model" => {
            let graph = Graph::new();
            let plan = FunctionalPlan::new(&graph, config, "")?;
            let inputs: Vec<Symbol> = plan
                .input_names
                .iter()
                .map(|name| {
                    let entry = plan
                        .entries
                        .iter()
                        .find(|e| &e.name == name)
                        .ok_or(format!("input layer {name} is not among the layers"))?;
                    Ok(graph.input(&declared_shape(entry.config)?))
                })
                .collect::<Built<_>>()?;
            let outputs = plan.call(&inputs, None)?;
            let ins: Vec<&Symbol> = inputs.iter().collect();
            let outs: Vec<&Symbol> = outputs.iter().collect();
            graph
                .model(&ins, &outs)
                .map(AnyModel::Functional)
                .map_err(|e| e.to_string())
        }
        other => Err(format!(
            "the top-level object is a {other:?}, not a Sequential or Functional model"
        )),
    }
}

/// One callable piece of a graph: a layer, or a nested model inlined layer by layer.
enum Unit<'a> {
    Layer(LayerRef),
    Sequential(Vec<Unit<'a>>),
    Functional(Box<FunctionalPlan<'a>>),
}

impl<'a> Unit<'a> {
    /// Creates the layers of `entry` in `graph`, named `prefix` + Keras's name.
    fn new(graph: &Graph, entry: &'a Value, prefix: &str) -> Built<Unit<'a>> {
        let class = class_of(entry)?;
        let name = format!("{prefix}{}", name_of(entry)?);
        match class {
            "Sequential" => {
                let units = layers_of(&entry["config"])?
                    .iter()
                    .filter(|l| l["class_name"] != "InputLayer")
                    .map(|l| Unit::new(graph, l, &format!("{name}/")))
                    .collect::<Built<_>>()?;
                Ok(Unit::Sequential(units))
            }
            "Functional" | "Model" => Ok(Unit::Functional(Box::new(FunctionalPlan::new(
                graph,
                &entry["config"],
                &format!("{name}/"),
            )?))),
            _ => {
                let layer = layer_from_config(class, &entry["config"])
                    .map_err(|e| format!("layer {name}: {e}"))?;
                Ok(Unit::Layer(graph.named_layer_boxed(&name, layer)))
            }
        }
    }

    /// Calls the unit; `training` pins the mode of every layer inside it (a call of a nested
    /// model with training=False).
    fn call(&self, inputs: &[Symbol], training: Option<bool>) -> Built<Vec<Symbol>> {
        match self {
            Unit::Layer(layer) => {
                let refs: Vec<&Symbol> = inputs.iter().collect();
                Ok(vec![layer
                    .call_in_mode(&refs, training)
                    .map_err(|e| e.to_string())?])
            }
            Unit::Sequential(units) => units
                .iter()
                .try_fold(inputs.to_vec(), |h, unit| unit.call(&h, training)),
            Unit::Functional(plan) => plan.call(inputs, training),
        }
    }
}

/// One layer of a functional config: its unit and the calls (inbound nodes) recorded for it.
struct Entry<'a> {
    name: String,
    config: &'a Value,
    unit: Option<Unit<'a>>,
    /// Per call, the (layer, node, tensor) references it takes, and the `training` mode the
    /// call pins, if any.
    calls: Vec<Call>,
}

/// One recorded call of a layer: its input references and a pinned `training` mode.
struct Call {
    inputs: Vec<(String, usize, usize)>,
    training: Option<bool>,
    /// Per positional argument, a constant (Some) or a tensor (None); recorded for Keras 3
    /// op nodes (`x + 3.0`), whose arguments may be numbers.
    operands: Vec<Option<f32>>,
}

/// A functional model's layers and wiring, ready to be called on symbols.
struct FunctionalPlan<'a> {
    entries: Vec<Entry<'a>>,
    input_names: Vec<String>,
    outputs: Vec<(String, usize, usize)>,
}

/// Reads a [name, node, tensor] reference.
fn history(v: &Value) -> Option<(String, usize, usize)> {
    let a = v.as_array()?;
    Some((
        a.first()?.as_str()?.to_string(),
        a.get(1)?.as_u64()? as usize,
        a.get(2)?.as_u64()? as usize,
    ))
}

/// input_layers/output_layers: one [name, node, tensor] or a list of them.
fn history_list(v: &Value, what: &str) -> Built<Vec<(String, usize, usize)>> {
    if let Some(one) = history(v) {
        return Ok(vec![one]);
    }
    v.as_array()
        .and_then(|items| items.iter().map(history).collect())
        .ok_or_else(|| {
            format!(
                "the model's {what} are not [name, node, tensor] references: {}",
                short(v)
            )
        })
}

/// The tensors one inbound node passes to its layer, in order, and its `training` argument.
fn node_inputs(layer: &str, node: &Value, allow_constants: bool) -> Built<Call> {
    // Keras 2: [[name, node, tensor, kwargs], ...].
    if let Some(list) = node.as_array() {
        let mut training = None;
        let inputs = list
            .iter()
            .map(|item| {
                if let Some(kwargs) = item.get(3).and_then(Value::as_object) {
                    training = training.or(call_training(layer, kwargs)?);
                }
                history(item).ok_or_else(|| {
                    format!("layer {layer}: unreadable inbound node {}", short(item))
                })
            })
            .collect::<Built<_>>()?;
        return Ok(Call {
            inputs,
            training,
            operands: Vec::new(),
        });
    }
    // Keras 3: {"args": [tensor or [tensors]], "kwargs": {...}}.
    let training = match node["kwargs"].as_object() {
        Some(kwargs) => call_training(layer, kwargs)?,
        None => None,
    };
    let args = node["args"]
        .as_array()
        .ok_or_else(|| format!("layer {layer}: an inbound node has no args"))?;
    let mut tensors = Vec::new();
    let mut operands = Vec::new();
    for arg in args {
        if let (true, Some(c)) = (allow_constants, arg.as_f64()) {
            operands.push(Some(c as f32));
            continue;
        }
        operands.push(None);
        let items: Vec<&Value> = match arg.as_array() {
            Some(list) => list.iter().collect(),
            None => vec![arg],
        };
        for item in items {
            if item["class_name"] != "__keras_tensor__" {
                return Err(format!(
                    "layer {layer}: krust cannot pass the call argument {} (only tensors)",
                    short(item)
                ));
            }
            tensors.push(history(&item["config"]["keras_history"]).ok_or_else(|| {
                format!("layer {layer}: unreadable keras_history {}", short(item))
            })?);
        }
    }
    Ok(Call {
        inputs: tensors,
        training,
        operands,
    })
}

/// Keyword arguments of a layer call: `training` may pin the layer's mode (Keras records
/// training=False on some dropout calls); any other set argument (a mask, say) is refused.
fn call_training(layer: &str, kwargs: &serde_json::Map<String, Value>) -> Built<Option<bool>> {
    let mut training = None;
    for (key, value) in kwargs.iter().filter(|(_, v)| !v.is_null()) {
        match (key.as_str(), value.as_bool()) {
            ("training", Some(mode)) => training = Some(mode),
            _ => {
                return Err(format!(
                    "layer {layer}: krust does not support the call argument {key}={value}"
                ))
            }
        }
    }
    Ok(training)
}

/// Whether a functional entry is a Keras 3 op node rather than a layer: `.keras` files name
/// its module (keras.src.ops...). Legacy `.h5` files omit modules; there an arithmetic op is
/// told from a merge layer of the same class by its call, two positional operands
/// (`add(x, 3.0)`) where a merge layer takes one list (`Add()([a, b])`).
fn is_op_node(entry: &Value) -> bool {
    if let Some(module) = entry["module"].as_str() {
        return module.starts_with("keras.src.ops");
    }
    let arithmetic = entry["class_name"]
        .as_str()
        .and_then(crate::layers::ArithmeticOp::parse)
        .is_some();
    let nodes = entry["inbound_nodes"].as_array();
    arithmetic
        && nodes.is_some_and(|nodes| {
            !nodes.is_empty()
                && nodes.iter().all(|n| {
                    n["args"]
                        .as_array()
                        .is_some_and(|a| a.len() == 2 && a.iter().all(|x| !x.is_array()))
                })
        })
}

/// A Keras 3 op node (module keras.src.ops...) as an `Arithmetic` layer: its constants come
/// from the call's arguments, which must be the same in every call.
fn op_unit<'a>(graph: &Graph, entry: &Value, calls: &[Call], name: &str) -> Built<Unit<'a>> {
    let class = class_of(entry)?;
    let module = entry["module"].as_str().unwrap_or("keras.src.ops");
    let op = crate::layers::ArithmeticOp::parse(class).ok_or_else(|| {
        format!("layer {name}: krust cannot apply the Keras op {module}.{class} (it applies Add, Subtract, Multiply and Divide)")
    })?;
    let operands = match calls {
        [first, rest @ ..] if rest.iter().all(|c| c.operands == first.operands) => {
            first.operands.clone()
        }
        [] => return Err(format!("layer {name}: the op {class} is never called")),
        _ => {
            return Err(format!(
                "layer {name}: the op {class} is called with different constants"
            ))
        }
    };
    let operands: [Option<f32>; 2] = operands.try_into().map_err(|o: Vec<Option<f32>>| {
        format!(
            "layer {name}: the op {class} takes two operands, the call passes {}",
            o.len()
        )
    })?;
    let layer =
        crate::layers::Arithmetic::new(op, operands).map_err(|e| format!("layer {name}: {e}"))?;
    Ok(Unit::Layer(graph.named_layer_boxed(name, Box::new(layer))))
}

impl<'a> FunctionalPlan<'a> {
    fn new(graph: &Graph, config: &'a Value, prefix: &str) -> Built<FunctionalPlan<'a>> {
        let mut entries = Vec::new();
        for entry in layers_of(config)? {
            let name = entry["name"]
                .as_str()
                .map(str::to_string)
                .map_or_else(|| name_of(entry), Ok)?;
            let is_op = is_op_node(entry);
            let calls = entry["inbound_nodes"]
                .as_array()
                .map(|nodes| {
                    nodes
                        .iter()
                        .map(|n| node_inputs(&name, n, is_op))
                        .collect::<Built<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default();
            let unit = if entry["class_name"] == "InputLayer" {
                None
            } else if is_op {
                Some(op_unit(graph, entry, &calls, &format!("{prefix}{name}"))?)
            } else {
                Some(Unit::new(graph, entry, prefix)?)
            };
            entries.push(Entry {
                name,
                config: entry,
                unit,
                calls,
            });
        }
        let input_names = history_list(&config["input_layers"], "inputs")?
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        let outputs = history_list(&config["output_layers"], "outputs")?;
        Ok(FunctionalPlan {
            entries,
            input_names,
            outputs,
        })
    }

    /// Calls every recorded node once its inputs exist (Keras lists layers, not calls, in
    /// order, so a shared layer's later call may wait for layers listed after it).
    fn call(&self, inputs: &[Symbol], training: Option<bool>) -> Built<Vec<Symbol>> {
        if inputs.len() != self.input_names.len() {
            return Err(format!(
                "a nested model takes {} inputs, got {}",
                self.input_names.len(),
                inputs.len()
            ));
        }
        let mut done: HashMap<(String, usize), Vec<Symbol>> = HashMap::new();
        for (name, symbol) in self.input_names.iter().zip(inputs) {
            done.insert((name.clone(), 0), vec![symbol.clone()]);
        }
        let lookup = |done: &HashMap<(String, usize), Vec<Symbol>>,
                      (layer, node, tensor): &(String, usize, usize)| {
            done.get(&(layer.clone(), *node)).map(|outs| {
                outs.get(*tensor)
                    .cloned()
                    .ok_or(format!("layer {layer} has no output {tensor}"))
            })
        };
        let mut pending: Vec<(usize, usize)> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.unit.is_some())
            .flat_map(|(i, e)| (0..e.calls.len()).map(move |k| (i, k)))
            .collect();
        while !pending.is_empty() {
            let before = pending.len();
            let mut still = Vec::new();
            for (i, k) in pending {
                let entry = &self.entries[i];
                let call = &entry.calls[k];
                let args: Option<Built<Vec<Symbol>>> =
                    call.inputs.iter().map(|r| lookup(&done, r)).collect();
                match args {
                    None => still.push((i, k)),
                    Some(args) => {
                        let unit = entry.unit.as_ref().expect("pending entries have units");
                        let outs = unit.call(&args?, call.training.or(training))?;
                        done.insert((entry.name.clone(), k), outs);
                    }
                }
            }
            if still.len() == before {
                let (i, k) = still[0];
                let missing = self.entries[i].calls[k]
                    .inputs
                    .iter()
                    .find(|r| lookup(&done, r).is_none())
                    .map(|r| r.0.clone())
                    .unwrap_or_default();
                return Err(format!(
                    "layer {} is called on the output of {missing:?}, which no layer produces",
                    self.entries[i].name
                ));
            }
            pending = still;
        }
        self.outputs
            .iter()
            .map(|r| {
                lookup(&done, r).unwrap_or_else(|| {
                    Err(format!(
                        "the model's output layer {} is never computed",
                        r.0
                    ))
                })
            })
            .collect()
    }
}
