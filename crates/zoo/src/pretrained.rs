//! Zoo models with weights from a file: PyTorch `torch.save` state dicts or safetensors,
//! mapped by module path, plus each architecture's classification head and photo
//! preprocessing, and top-k classification of photos.

use crate::torch_weights::{classes_in, load_torch_weights, LoadOptions, WeightsReport};
use crate::{build_model, canonical_name, Preprocessing, ZooError};
use krust_import::StateDict;
use krust_nn::{AnyModel, Module};
use krust_tensor::Tensor;
use std::path::{Path, PathBuf};

/// The layer that maps features to classes: its weight's first dimension is the class count,
/// and it is what fine-tuning replaces.
pub fn head_layer(name: &str) -> Option<&'static str> {
    Some(match canonical_name(name).ok()? {
        "alexnet" | "vgg11" | "vgg16" | "vgg19" | "vgg11_bn" | "vgg16_bn" | "vgg19_bn" => {
            "classifier.6"
        }
        "resnet18" | "resnet34" | "resnet50" | "googlenet" => "fc",
        "squeezenet1_1" | "mobilenet_v2" => "classifier.1",
        "densenet121" => "classifier",
        "efficientnet_lite0" => "_fc",
        "mobilenet_v1" => "conv_preds",
        _ => return None,
    })
}

/// Module paths a published state dict of the architecture holds but the inference network
/// does not use: torchvision's GoogLeNet file carries its two auxiliary classifiers.
fn ignored_prefixes(name: &str) -> &'static [&'static str] {
    match name {
        "googlenet" => &["aux1.", "aux2."],
        _ => &[],
    }
}

/// How photos are prepared for the architecture's pretrained weights.
pub fn preprocessing_for(name: &str) -> Preprocessing {
    match canonical_name(name) {
        Ok("efficientnet_lite0") => Preprocessing::EFFICIENTNET_LITE,
        _ => Preprocessing::TORCHVISION,
    }
}

/// A zoo model with loaded weights.
pub struct Pretrained {
    pub model: AnyModel,
    /// The canonical architecture name.
    pub name: &'static str,
    pub classes: usize,
    pub report: WeightsReport,
}

/// The architectures whose PyTorch state dicts load by module path.
pub const PRETRAINED_ARCHITECTURES: &[&str] = &[
    "alexnet",
    "vgg11",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg16_bn",
    "vgg19_bn",
    "resnet18",
    "resnet34",
    "resnet50",
    "googlenet",
    "squeezenet1_1",
    "densenet121",
    "mobilenet_v2",
    "efficientnet_lite0",
];

fn head_of(name: &str, weights: &Path) -> Result<&'static str, ZooError> {
    head_layer(name).ok_or_else(|| {
        ZooError::file(
            weights,
            format!(
                "{name} has no PyTorch weight layout (those that have: {})",
                PRETRAINED_ARCHITECTURES.join(", ")
            ),
        )
    })
}

fn stored_classes(
    state_dict: &StateDict,
    head: &str,
    name: &str,
    weights: &Path,
) -> Result<usize, ZooError> {
    classes_in(state_dict, head).ok_or_else(|| {
        ZooError::file(
            weights,
            format!(
                "no tensor {head}.weight: these are not {name} weights (the file's first \
                 tensors: {})",
                state_dict
                    .iter()
                    .take(4)
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// Loads `weights` into `model`, a zoo model of architecture `name` (possibly with
/// preprocessing layers in front, which keep their own values). When the model's class count
/// differs from the file's, the head keeps its fresh initialization and the report says so.
pub fn load_weights_into(
    model: &AnyModel,
    name: &str,
    weights: &Path,
) -> Result<WeightsReport, ZooError> {
    let name = canonical_name(name)?;
    let head = head_of(name, weights)?;
    let state_dict = krust_import::load_state_dict(weights)?;
    load_state_dict_into(model, name, head, &state_dict, weights)
}

fn load_state_dict_into(
    model: &AnyModel,
    name: &str,
    head: &str,
    state_dict: &StateDict,
    weights: &Path,
) -> Result<WeightsReport, ZooError> {
    let stored = stored_classes(state_dict, head, name, weights)?;
    let head_bias = format!("{head}/bias");
    let classes = model
        .named_weights()
        .iter()
        .find(|(n, _)| *n == head_bias)
        .and_then(|(_, v)| v.shape().first().copied())
        .unwrap_or(stored);
    let keep: Vec<&str> = if classes == stored {
        vec![]
    } else {
        vec![head]
    };
    let mut report = load_torch_weights(
        model,
        state_dict,
        weights,
        &LoadOptions {
            keep_initialized: &keep,
            ignore_prefixes: ignored_prefixes(name),
        },
    )?;
    if classes != stored {
        report.notes.push(format!(
            "the weights classify {stored} classes, the model {classes}: {head} was replaced"
        ));
    }
    Ok(report)
}

/// Builds zoo model `name` for per-sample `input_shape` (h, w, c) and loads `weights`.
///
/// The class count is the weights' own (their head's output size) unless `classes` says
/// otherwise; then the head keeps a fresh initialization (fine-tuning on a new label set) and
/// the report says so.
pub fn load_pretrained(
    name: &str,
    weights: &Path,
    input_shape: &[usize],
    classes: Option<usize>,
) -> Result<Pretrained, ZooError> {
    let name = canonical_name(name)?;
    let head = head_of(name, weights)?;
    let state_dict = krust_import::load_state_dict(weights)?;
    let classes = match classes {
        Some(c) => c,
        None => stored_classes(&state_dict, head, name, weights)?,
    };
    let model = build_model(name, input_shape, classes)?;
    let report = load_state_dict_into(&model, name, head, &state_dict, weights)?;
    Ok(Pretrained {
        model,
        name,
        classes,
        report,
    })
}

/// Softmax of one row of logits, computed stably in f64.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f64> = logits.iter().map(|&v| f64::from(v - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.iter().map(|e| (e / sum) as f32).collect()
}

/// The `k` most probable classes of one probability row, most probable first (ties: lower
/// index first).
pub fn top_k(probabilities: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .partial_cmp(&probabilities[a])
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| (i, probabilities[i]))
        .collect()
}

/// Class probabilities of each row of a (n, classes) logits batch.
pub fn probabilities(logits: &Tensor) -> Vec<Vec<f32>> {
    let classes = logits.shape().last().copied().unwrap_or(0).max(1);
    logits.to_vec().chunks(classes).map(softmax).collect()
}

/// The label of class `index` of a classifier with `classes` outputs: the ImageNet name for a
/// 1000-class model, "class N" otherwise.
pub fn class_label(classes: usize, index: usize) -> String {
    match crate::imagenet_classes().get(index) {
        Some(name) if classes == 1000 => (*name).to_string(),
        _ => format!("class {index}"),
    }
}

/// One photo's most probable classes.
#[derive(Debug, Clone)]
pub struct Classified {
    pub path: PathBuf,
    /// (class index, probability), most probable first.
    pub top: Vec<(usize, f32)>,
}

/// Photos per inference batch: enough to use both cores, little memory at 224×224.
const PHOTO_BATCH: usize = 8;

/// Preprocesses each photo, runs `model` and returns its `k` most probable classes.
pub fn classify_photos(
    model: &AnyModel,
    preprocessing: &Preprocessing,
    photos: &[PathBuf],
    k: usize,
) -> Result<Vec<Classified>, ZooError> {
    let mut results = Vec::with_capacity(photos.len());
    for chunk in photos.chunks(PHOTO_BATCH) {
        let inputs = chunk
            .iter()
            .map(|p| preprocessing.load(p))
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&Tensor> = inputs.iter().collect();
        let batch = Tensor::concat(&refs, 0).map_err(krust_nn::NnError::from)?;
        let logits = model.predict(&[batch])?.remove(0);
        for (path, row) in chunk.iter().zip(probabilities(&logits)) {
            results.push(Classified {
                path: path.clone(),
                top: top_k(&row, k),
            });
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1001.0, 999.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[0] && p[0] > p[2]);
    }

    #[test]
    fn top_k_orders_by_probability_then_index() {
        assert_eq!(
            top_k(&[0.1, 0.4, 0.4, 0.1], 3),
            vec![(1, 0.4), (2, 0.4), (0, 0.1)]
        );
        assert_eq!(top_k(&[0.5, 0.5], 5).len(), 2);
    }
}
