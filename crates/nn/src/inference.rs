//! The inference path behind `predict`: one walk over the layers that folds each
//! BatchNormalization into the convolution before it and the activation after that into the
//! convolution's epilogue, runs without a tape, and drops every activation after its last use.
//!
//! A chain `Conv2D/DepthwiseConv2D → BatchNormalization → activation` becomes one
//! `conv2d_fused` call when each link's output feeds only the next link (and is not a model
//! output): with s = γ / √(var + ε) per output channel, the kernel's last axis is scaled by s
//! and the bias becomes (b − mean)·s + β. Relu, Relu6 (also Keras's `ReLU(max_value=6)`) and
//! Silu/swish run as the epilogue; a convolution's own such activation does too. A
//! ZeroPadding2D whose output feeds only a convolution becomes that convolution's extra
//! padding, so the padded copy of the activation is never made. Anything else runs layer by
//! layer, exactly as in `forward(x, false)`.
//!
//! Every convolution's kernel, folded or not, is cached per convolution already packed for
//! the GEMM (`PreparedKernel`), and rebuilt when any weight it came from has changed. The check is exact without a version counter: the cache keeps a handle on every
//! source tensor, so an in-place update (an optimizer step, BatchNormalization's moving
//! statistics) must copy the shared storage first, and a replaced value (`set_value`,
//! `load_weights`) is another allocation; either way the weight's storage is no longer the
//! one the cache holds.

use crate::layers::Layer;
use crate::{Activation, NnError, Result};
use krust_autograd::{no_grad, Var};
use krust_tensor::conv::{conv2d_prepared, PreparedKernel};
use krust_tensor::{Conv2dSpec, Epilogue, Tensor};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What a layer is to the inference planner ([`Layer::inference_role`]).
#[derive(Debug, Clone)]
pub enum InferenceRole {
    /// A 2-D convolution, `activation(conv(x, kernel, groups) + bias)`.
    Conv2d(ConvWeights),
    /// Inference-mode batch normalization over the last (channel) axis.
    BatchNorm(BatchNormStats),
    /// An elementwise activation and nothing else.
    Activation(Activation),
    /// Zeros added around height and width: ((top, bottom), (left, right)).
    ZeroPad2d([(usize, usize); 2]),
    /// The elementwise sum of its inputs (same shapes).
    Add,
}

/// A convolution's current weights and geometry, in the form `conv2d_fused` takes.
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// (kh, kw, in / groups, out); a depthwise kernel (kh, kw, in, m) reads as
    /// (kh, kw, 1, in·m) with groups = in.
    pub kernel: Tensor,
    /// One value per output channel.
    pub bias: Option<Tensor>,
    pub spec: Conv2dSpec,
    pub groups: usize,
    /// The layer's own activation, applied after the bias.
    pub activation: Activation,
}

/// A BatchNormalization's inference statistics: y = (x − mean) / √(variance + ε) · γ + β.
#[derive(Debug, Clone)]
pub struct BatchNormStats {
    pub moving_mean: Tensor,
    pub moving_variance: Tensor,
    /// None when the layer does not scale (γ = 1).
    pub gamma: Option<Tensor>,
    /// None when the layer does not center (β = 0).
    pub beta: Option<Tensor>,
    pub epsilon: f32,
}

/// The fused epilogue that computes `activation`, if there is one.
pub fn epilogue_of(activation: &Activation) -> Option<Epilogue> {
    match *activation {
        Activation::Linear => Some(Epilogue::Identity),
        Activation::Relu => Some(Epilogue::Relu),
        Activation::Relu6 => Some(Epilogue::Relu6),
        Activation::Silu => Some(Epilogue::Silu),
        Activation::ReluWith {
            negative_slope,
            max_value,
            threshold,
        } if negative_slope == 0.0 && threshold == 0.0 => match max_value {
            None => Some(Epilogue::Relu),
            Some(6.0) => Some(Epilogue::Relu6),
            Some(_) => None,
        },
        _ => None,
    }
}

/// One node of the graph being predicted: a model input or one layer call.
pub(crate) struct NodeView<'a> {
    /// None for a model input.
    pub layer: Option<&'a dyn Layer>,
    pub name: &'a str,
    pub inputs: Vec<usize>,
    /// The mode the call runs in at inference: false, unless the call pinned training=True.
    pub training: bool,
}

/// One unit of work of a plan.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A layer call run on its own (no tape).
    Layer(usize),
    /// The convolution at node `conv`, reading the input of the ZeroPadding2D at node `pad`
    /// (when there is one) with its zeros as extra padding, with the BatchNormalization at
    /// node `bn` folded in, the other input of the two-input Add at `residual.0` (node
    /// `residual.1`) added, and `epilogue` applied; produces the value of node `out` (the
    /// last node of the chain).
    Conv {
        pad: Option<usize>,
        conv: usize,
        bn: Option<usize>,
        residual: Option<(usize, usize)>,
        epilogue: Epilogue,
        out: usize,
    },
}

impl Step {
    fn output(&self) -> usize {
        match *self {
            Step::Layer(n) => n,
            Step::Conv { out, .. } => out,
        }
    }

    fn first(&self) -> usize {
        match *self {
            Step::Layer(n) => n,
            Step::Conv { pad, conv, .. } => pad.unwrap_or(conv),
        }
    }

    /// The nodes whose values the step reads: its first node's inputs, then the residual.
    fn args(&self, nodes: &[NodeView]) -> Vec<usize> {
        let mut args = nodes[self.first()].inputs.clone();
        if let Step::Conv {
            residual: Some((_, other)),
            ..
        } = *self
        {
            args.push(other);
        }
        args
    }
}

struct Plan {
    steps: Vec<Step>,
    roles: Vec<Option<InferenceRole>>,
    /// Per node, how many step arguments and model outputs read its value.
    uses: Vec<usize>,
}

/// Walks the needed nodes once (creation order is topological) and groups each foldable
/// convolution chain into one step.
fn plan(nodes: &[NodeView], needed: &[bool], outputs: &[usize]) -> Plan {
    let roles: Vec<Option<InferenceRole>> = nodes
        .iter()
        .zip(needed)
        .map(|(n, &need)| n.layer.filter(|_| need).and_then(|l| l.inference_role()))
        .collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, node) in nodes.iter().enumerate().filter(|(i, _)| needed[*i]) {
        for &j in &node.inputs {
            consumers[j].push(i);
        }
    }
    // The call that alone reads node i's value (once), and the call's other inputs.
    let only_reader = |i: usize| match consumers[i][..] {
        [c] if !outputs.contains(&i) => {
            let others: Vec<usize> = nodes[c]
                .inputs
                .iter()
                .copied()
                .filter(|&j| j != i)
                .collect();
            (others.len() + 1 == nodes[c].inputs.len()).then_some((c, others))
        }
        _ => None,
    };
    let mut absorbed = vec![false; nodes.len()];
    let mut steps = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        if !needed[i] || absorbed[i] || node.layer.is_none() {
            continue;
        }
        let free_reader = |j: usize| only_reader(j).filter(|(c, _)| !absorbed[*c]);
        let step = conv_chain(i, nodes, &roles, free_reader).unwrap_or(Step::Layer(i));
        if let Step::Conv {
            conv,
            bn,
            residual,
            out,
            ..
        } = step
        {
            [conv, out]
                .into_iter()
                .chain(bn)
                .chain(residual.map(|(add, _)| add))
                .for_each(|n| absorbed[n] = true);
        }
        steps.push(step);
    }
    // A step runs where its last node was: every value it reads (including a residual made
    // by a later-created branch) is computed by then, and nothing reads its output earlier.
    steps.sort_by_key(Step::output);
    let mut uses = vec![0; nodes.len()];
    for step in &steps {
        step.args(nodes).iter().for_each(|&j| uses[j] += 1);
    }
    outputs.iter().for_each(|&o| uses[o] += 1);
    Plan { steps, roles, uses }
}

/// The fused step starting at node `i` (a convolution, or a ZeroPadding2D feeding one), if
/// folding gains anything.
fn conv_chain(
    i: usize,
    nodes: &[NodeView],
    roles: &[Option<InferenceRole>],
    only_reader: impl Fn(usize) -> Option<(usize, Vec<usize>)>,
) -> Option<Step> {
    // The call that alone reads node i's value, taking nothing else.
    let sole_consumer = |i: usize| match only_reader(i) {
        Some((c, others)) if others.is_empty() => Some(c),
        _ => None,
    };
    if nodes[i].inputs.len() != 1 {
        return None;
    }
    let (pad, i) = match &roles[i] {
        Some(InferenceRole::ZeroPad2d(_)) => {
            let c = sole_consumer(i)?;
            (Some(i), c)
        }
        _ => (None, i),
    };
    let Some(InferenceRole::Conv2d(conv)) = &roles[i] else {
        return None;
    };
    // A convolution whose own activation has no epilogue runs as the layer does.
    let mut epilogue = epilogue_of(&conv.activation)?;
    let (mut bn, mut residual, mut out) = (None, None, i);
    if conv.activation == Activation::Linear {
        let channels = conv.kernel.shape().last().copied();
        if let Some(b) = sole_consumer(out).filter(|&b| {
            !nodes[b].training
                && matches!(&roles[b], Some(InferenceRole::BatchNorm(s))
                    if Some(s.moving_mean.numel()) == channels)
        }) {
            bn = Some(b);
            out = b;
        }
        // A two-input Add of this value and another one: the residual connection.
        if let Some((add, others)) = only_reader(out).filter(|(a, others)| {
            matches!(roles[*a], Some(InferenceRole::Add)) && others.len() == 1
        }) {
            residual = Some((add, others[0]));
            out = add;
        }
        if let Some((a, e)) = sole_consumer(out).and_then(|a| match &roles[a] {
            Some(InferenceRole::Activation(act)) => epilogue_of(act).map(|e| (a, e)),
            _ => None,
        }) {
            epilogue = e;
            out = a;
        }
    }
    let gains = pad.is_some() || bn.is_some() || out != i || epilogue != Epilogue::Identity;
    gains.then_some(Step::Conv {
        pad,
        conv: i,
        bn,
        residual,
        epilogue,
        out,
    })
}

/// A folded kernel and bias, with the tensors they were computed from.
struct Folded {
    bn_node: Option<usize>,
    epsilon: f32,
    sources: Vec<Option<Tensor>>,
    kernel: Rc<PreparedKernel>,
    bias: Option<Tensor>,
}

/// Whether two optional tensors are the same storage viewed with the same shape.
fn same_storage(a: &Option<Tensor>, b: &Option<Tensor>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.same_storage(b),
        _ => false,
    }
}

/// Folded convolution weights, per convolution node, kept between predictions.
#[derive(Default)]
pub(crate) struct FoldCache(RefCell<HashMap<usize, Folded>>);

impl FoldCache {
    /// Forgets every folded kernel (the model's layers changed).
    pub(crate) fn clear(&self) {
        self.0.borrow_mut().clear();
    }

    /// The kernel (packed for the GEMM) and bias of convolution node `conv`, with the
    /// BatchNormalization at `bn` folded in when there is one; from the cache while every
    /// source weight is unchanged.
    fn prepared(
        &self,
        conv: usize,
        bn: Option<(usize, &BatchNormStats)>,
        c: &ConvWeights,
        layer: &str,
    ) -> Result<(Rc<PreparedKernel>, Option<Tensor>)> {
        let mut sources = vec![Some(c.kernel.clone()), c.bias.clone()];
        if let Some((_, s)) = bn {
            sources.extend([
                Some(s.moving_mean.clone()),
                Some(s.moving_variance.clone()),
                s.gamma.clone(),
                s.beta.clone(),
            ]);
        }
        let (bn_node, epsilon) = (bn.map(|(b, _)| b), bn.map_or(0.0, |(_, s)| s.epsilon));
        let mut cache = self.0.borrow_mut();
        if let Some(f) = cache.get(&conv) {
            if f.bn_node == bn_node
                && f.epsilon == epsilon
                && f.sources.len() == sources.len()
                && f.sources
                    .iter()
                    .zip(&sources)
                    .all(|(a, b)| same_storage(a, b))
            {
                return Ok((f.kernel.clone(), f.bias.clone()));
            }
        }
        let (kernel, bias) = match bn {
            Some((_, s)) => {
                let (k, b) = fold(c, s).map_err(|why| NnError::layer(layer, why))?;
                (k, Some(b))
            }
            None => (c.kernel.clone(), c.bias.clone()),
        };
        let kernel = Rc::new(PreparedKernel::new(&kernel, c.groups));
        cache.insert(
            conv,
            Folded {
                bn_node,
                epsilon,
                sources,
                kernel: kernel.clone(),
                bias: bias.clone(),
            },
        );
        Ok((kernel, bias))
    }
}

/// The convolution `c` followed by batch normalization `s`, as one convolution.
fn fold(c: &ConvWeights, s: &BatchNormStats) -> std::result::Result<(Tensor, Tensor), String> {
    let cout = c.kernel.shape().last().copied().unwrap_or(0);
    let per_channel = |t: Option<&Tensor>, what: &str| -> std::result::Result<(), String> {
        match t {
            Some(t) if t.numel() != cout => Err(format!(
                "cannot fold a {what} of {} values into a convolution with {cout} output channels",
                t.numel()
            )),
            _ => Ok(()),
        }
    };
    per_channel(c.bias.as_ref(), "bias")?;
    per_channel(Some(&s.moving_mean), "moving mean")?;
    per_channel(Some(&s.moving_variance), "moving variance")?;
    per_channel(s.gamma.as_ref(), "gamma")?;
    per_channel(s.beta.as_ref(), "beta")?;
    // Folding runs once per model, on the host: the statistics come over by named transfer.
    let (mean, var) = (s.moving_mean.to_vec(), s.moving_variance.to_vec());
    let gamma = s.gamma.as_ref().map(Tensor::to_vec);
    let beta = s.beta.as_ref().map(Tensor::to_vec);
    let bias = c.bias.as_ref().map(Tensor::to_vec);
    let (gamma, beta, bias) = (gamma.as_deref(), beta.as_deref(), bias.as_deref());
    let scale: Vec<f32> = (0..cout)
        .map(|k| gamma.map_or(1.0, |g| g[k]) / (var[k] + s.epsilon).sqrt())
        .collect();
    let kernel: Vec<f32> = c
        .kernel
        .to_vec()
        .chunks_exact(cout.max(1))
        .flat_map(|row| row.iter().zip(&scale).map(|(w, s)| w * s))
        .collect();
    let shift: Vec<f32> = (0..cout)
        .map(|k| (bias.map_or(0.0, |b| b[k]) - mean[k]) * scale[k] + beta.map_or(0.0, |b| b[k]))
        .collect();
    let kernel = Tensor::from_vec(c.kernel.shape().to_vec(), kernel).map_err(|e| e.to_string())?;
    let shift = Tensor::from_vec([cout], shift).map_err(|e| e.to_string())?;
    Ok((kernel, shift))
}

/// Human-readable fused steps of a graph, for tests and summaries: "conv + bn + relu (Relu)".
pub(crate) fn describe(nodes: &[NodeView], needed: &[bool], outputs: &[usize]) -> Vec<String> {
    let plan = plan(nodes, needed, outputs);
    plan.steps
        .iter()
        .filter_map(|step| match *step {
            Step::Layer(_) => None,
            Step::Conv {
                pad,
                conv,
                bn,
                residual,
                epilogue,
                out,
            } => {
                let add = residual.map(|(a, _)| a);
                let parts: Vec<&str> = [pad, Some(conv), bn, add]
                    .into_iter()
                    .chain(
                        [Some(out)]
                            .into_iter()
                            .filter(|&o| ![Some(conv), bn, add].contains(&o)),
                    )
                    .flatten()
                    .map(|n| nodes[n].name)
                    .collect();
                Some(format!("{} ({epilogue:?})", parts.join(" + ")))
            }
        })
        .collect()
}

/// Runs the graph in inference mode on `inputs` (node index, batch) and returns the values
/// of `outputs`. The caller has checked the inputs' shapes.
pub(crate) fn run(
    nodes: &[NodeView],
    needed: &[bool],
    inputs: Vec<(usize, Tensor)>,
    outputs: &[usize],
    cache: &FoldCache,
) -> Result<Vec<Tensor>> {
    no_grad(|| {
        let Plan {
            steps,
            roles,
            mut uses,
        } = plan(nodes, needed, outputs);
        let mut values: Vec<Option<Tensor>> = vec![None; nodes.len()];
        for (n, x) in inputs {
            values[n] = Some(x);
        }
        for step in &steps {
            // The last reader takes the value, so it is freed as soon as that step is done.
            let args: Vec<Tensor> = step
                .args(nodes)
                .iter()
                .map(|&j| {
                    uses[j] -= 1;
                    let value = if uses[j] == 0 {
                        values[j].take()
                    } else {
                        values[j].clone()
                    };
                    value.expect("a step runs after the steps that compute its inputs")
                })
                .collect();
            let y = match *step {
                Step::Layer(n) => run_layer(&nodes[n], args)?,
                Step::Conv {
                    pad,
                    conv,
                    bn,
                    residual,
                    epilogue,
                    ..
                } => {
                    let Some(InferenceRole::Conv2d(c)) = &roles[conv] else {
                        unreachable!("a fused step starts at a convolution")
                    };
                    let name = nodes[conv].name;
                    let stats = match bn.map(|b| (b, &roles[b])) {
                        Some((b, Some(InferenceRole::BatchNorm(s)))) => Some((b, s)),
                        _ => None,
                    };
                    let zeros = match pad.map(|p| &roles[p]) {
                        Some(Some(InferenceRole::ZeroPad2d(z))) => *z,
                        _ => [(0, 0); 2],
                    };
                    let (kernel, bias) = cache.prepared(conv, stats, c, name)?;
                    let shortcut = residual.and(args.get(1));
                    conv2d_prepared(
                        &args[0],
                        &kernel,
                        bias.as_ref(),
                        &c.spec,
                        zeros,
                        shortcut,
                        epilogue,
                    )
                    .map_err(|e| NnError::layer(name, e.to_string()))?
                }
            };
            values[step.output()] = Some(y);
        }
        Ok(outputs
            .iter()
            .map(|&o| values[o].clone().expect("every output is computed"))
            .collect())
    })
}

/// One layer call as `forward(x, training)` runs it, outside any tape.
fn run_layer(node: &NodeView, args: Vec<Tensor>) -> Result<Tensor> {
    let layer = node.layer.expect("steps are layer calls");
    let vars: Vec<Var> = args.into_iter().map(Var::constant).collect();
    let y = layer
        .forward_multi(&vars, node.training)
        .map_err(|e| match e {
            NnError::Layer { why, .. } => NnError::layer(node.name, why),
            other => other,
        })?;
    drop(vars);
    Ok(y.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relu_with_default_arguments_and_a_cap_of_six_are_epilogues() {
        let relu = |max_value, negative_slope, threshold| Activation::ReluWith {
            negative_slope,
            max_value,
            threshold,
        };
        assert_eq!(epilogue_of(&relu(None, 0.0, 0.0)), Some(Epilogue::Relu));
        assert_eq!(
            epilogue_of(&relu(Some(6.0), 0.0, 0.0)),
            Some(Epilogue::Relu6)
        );
        assert_eq!(epilogue_of(&relu(Some(4.0), 0.0, 0.0)), None);
        assert_eq!(epilogue_of(&relu(None, 0.1, 0.0)), None);
        assert_eq!(epilogue_of(&relu(Some(6.0), 0.0, 0.5)), None);
        assert_eq!(epilogue_of(&Activation::Silu), Some(Epilogue::Silu));
        assert_eq!(epilogue_of(&Activation::Tanh), None);
    }
}
