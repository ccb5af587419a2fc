//! Loads a PyTorch state dict into a zoo model whose weight layers carry the PyTorch module
//! paths as names, converting layouts: OIHW kernels to channels-last HWIO, depthwise
//! (C·m, 1, kh, kw) to Keras's (kh, kw, C, m), Linear (out, in) to Dense (in, out), and
//! BatchNorm's weight/bias/running statistics to gamma/beta/moving mean/variance.

use crate::ZooError;
use krust_import::{StateDict, StoredTensor, TensorData};
use krust_nn::Module;
use krust_tensor::Tensor;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What loading did, for the user: how many tensors were copied and what was left aside.
#[derive(Debug, Clone, Default)]
pub struct WeightsReport {
    pub loaded: usize,
    pub notes: Vec<String>,
}

/// Which parts of a state dict to leave aside.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions<'a> {
    /// Model layers that keep their fresh initialization (a replaced classification head);
    /// the file's tensors for them are skipped with a note.
    pub keep_initialized: &'a [&'a str],
    /// Module-path prefixes of the file that the architecture does not use (GoogLeNet's
    /// auxiliary heads); skipped with a note.
    pub ignore_prefixes: &'a [&'a str],
}

/// How one krust weight is stored in PyTorch.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// Same shape, same order (biases, normalization vectors).
    Same,
    /// Dense kernel (in, out) from Linear's (out, in).
    Linear,
    /// Convolution kernel (kh, kw, in, out) from (out, in, kh, kw).
    Conv,
    /// Depthwise kernel (kh, kw, channels, multiplier) from (channels·multiplier, 1, kh, kw).
    Depthwise,
}

impl Layout {
    /// The PyTorch shape of a krust weight of shape `s`.
    fn torch_shape(self, s: &[usize]) -> Option<Vec<usize>> {
        Some(match (self, s) {
            (Layout::Same, _) => s.to_vec(),
            (Layout::Linear, [i, o]) => vec![*o, *i],
            (Layout::Conv, [kh, kw, i, o]) => vec![*o, *i, *kh, *kw],
            (Layout::Depthwise, [kh, kw, c, m]) => vec![c * m, 1, *kh, *kw],
            _ => return None,
        })
    }

    /// Reorders PyTorch data (of shape `torch_shape(krust)`) into krust's layout `krust`.
    fn convert(self, krust: &[usize], data: Vec<f32>) -> krust_tensor::Result<Tensor> {
        match (self, krust) {
            (Layout::Linear, [i, o]) => Tensor::from_vec([*o, *i], data)?.permute(&[1, 0]),
            (Layout::Conv, [kh, kw, i, o]) => {
                Tensor::from_vec([*o, *i, *kh, *kw], data)?.permute(&[2, 3, 1, 0])
            }
            // Channel c's j-th filter is output c·m + j in both frameworks.
            (Layout::Depthwise, [kh, kw, c, m]) => {
                Tensor::from_vec([*c, *m, *kh, *kw], data)?.permute(&[2, 3, 0, 1])
            }
            _ => Tensor::from_vec(krust.to_vec(), data),
        }
    }
}

/// The PyTorch name and layout of krust weight `weight` of a layer of class `class`.
fn torch_name(class: &str, weight: &str) -> Option<(&'static str, Layout)> {
    let kernel_layout = match class {
        "Dense" => Layout::Linear,
        "DepthwiseConv2D" => Layout::Depthwise,
        _ => Layout::Conv,
    };
    Some(match weight {
        "kernel" => ("weight", kernel_layout),
        "bias" => ("bias", Layout::Same),
        "gamma" => ("weight", Layout::Same),
        "beta" => ("bias", Layout::Same),
        "moving_mean" => ("running_mean", Layout::Same),
        "moving_variance" => ("running_var", Layout::Same),
        _ => return None,
    })
}

/// Layer name → Keras class name, from the model's architecture.
fn layer_classes(model: &dyn Module) -> HashMap<String, String> {
    let config = model.to_config();
    let mut classes = HashMap::new();
    if let Some(layers) = config["config"]["layers"].as_array() {
        for entry in layers {
            let name = entry["config"]["name"]
                .as_str()
                .or_else(|| entry["name"].as_str());
            if let (Some(name), Some(class)) = (name, entry["class_name"].as_str()) {
                classes.insert(name.to_string(), class.to_string());
            }
        }
    }
    classes
}

fn float_data(t: &StoredTensor) -> Option<Vec<f32>> {
    match &t.data {
        TensorData::F32(v) => Some(v.clone()),
        TensorData::I64(_) => None,
    }
}

/// Copies `state_dict` (read from `path`) into `model`. Every model weight must be present
/// with the right shape and every tensor of the file must be used (BatchNorm's
/// `num_batches_tracked` counters and the options' exceptions aside); otherwise nothing is
/// loaded and the error lists every missing, unexpected and mis-shaped tensor by name.
pub fn load_torch_weights(
    model: &dyn Module,
    state_dict: &StateDict,
    path: &Path,
    options: &LoadOptions,
) -> Result<WeightsReport, ZooError> {
    let classes = layer_classes(model);
    let mut report = WeightsReport::default();
    let mut used: HashSet<String> = HashSet::new();
    let mut missing = Vec::new();
    let mut misshaped = Vec::new();
    let mut wrong_type = Vec::new();
    let mut pending: Vec<(krust_autograd::Var, Tensor)> = Vec::new();
    let mut kept: HashSet<&str> = HashSet::new();

    for (full, var) in model.named_weights() {
        let Some((layer, weight)) = full.rsplit_once('/') else {
            continue;
        };
        let class = classes.get(layer).map(String::as_str).unwrap_or("");
        if matches!(class, "Normalization" | "Rescaling") {
            // krust's own input preprocessing in front of the network: not in the file.
            continue;
        }
        let Some((suffix, layout)) = torch_name(class, weight) else {
            missing.push(format!(
                "{full} (a {class} weight with no PyTorch counterpart)"
            ));
            continue;
        };
        let key = format!("{layer}.{suffix}");
        if let Some(k) = options.keep_initialized.iter().find(|k| **k == layer) {
            kept.insert(k);
            used.insert(key);
            continue;
        }
        let shape = var.shape();
        let Some(stored) = state_dict.get(&key) else {
            missing.push(format!("{key} (krust {full} {shape:?})"));
            continue;
        };
        used.insert(key.clone());
        let expected = layout.torch_shape(&shape).unwrap_or_default();
        if stored.shape != expected {
            misshaped.push(format!(
                "{key}: the file has {:?}, the model needs {expected:?}",
                stored.shape
            ));
            continue;
        }
        let Some(data) = float_data(stored) else {
            wrong_type.push(format!("{key} holds integers, a float tensor is needed"));
            continue;
        };
        let tensor = layout
            .convert(&shape, data)
            .map_err(|e| ZooError::file(path, format!("{key}: {e}")))?;
        pending.push((var, tensor));
    }

    let mut unexpected = Vec::new();
    let mut ignored = 0usize;
    for (name, _) in state_dict.iter() {
        if used.contains(name) || name.ends_with(".num_batches_tracked") {
            continue;
        }
        let layer = name.rsplit_once('.').map_or(name, |(l, _)| l);
        if kept.contains(layer) {
            continue;
        }
        if options.ignore_prefixes.iter().any(|p| name.starts_with(p)) {
            ignored += 1;
            continue;
        }
        unexpected.push(name.to_string());
    }

    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("missing: {}", missing.join(", ")));
    }
    if !unexpected.is_empty() {
        problems.push(format!("unexpected: {}", unexpected.join(", ")));
    }
    if !misshaped.is_empty() {
        problems.push(format!("mis-shaped: {}", misshaped.join("; ")));
    }
    if !wrong_type.is_empty() {
        problems.push(format!("wrong type: {}", wrong_type.join("; ")));
    }
    if !problems.is_empty() {
        return Err(ZooError::file(
            path,
            format!(
                "the weights do not fit the model ({})",
                problems.join(" | ")
            ),
        ));
    }
    for (var, tensor) in pending {
        var.set_value(tensor)
            .map_err(|e| ZooError::file(path, e.to_string()))?;
        report.loaded += 1;
    }
    if ignored > 0 {
        report.notes.push(format!(
            "ignored {ignored} tensors under {} (not part of this architecture)",
            options.ignore_prefixes.join(", ")
        ));
    }
    if !kept.is_empty() {
        let mut kept: Vec<&str> = kept.into_iter().collect();
        kept.sort();
        report.notes.push(format!(
            "kept the fresh initialization of {} (the file's tensors for it were skipped)",
            kept.join(", ")
        ));
    }
    report.notes.extend(state_dict.notes().iter().cloned());
    Ok(report)
}

/// The class count of a state dict: the first dimension of `head`'s weight.
pub fn classes_in(state_dict: &StateDict, head: &str) -> Option<usize> {
    state_dict
        .get(&format!("{head}.weight"))
        .and_then(|t| t.shape.first().copied())
}
