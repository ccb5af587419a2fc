//! Reads a Keras file's weights and copies them into a rebuilt krust model, checking count
//! and shape per layer so a mismatch names the layer instead of giving silent differences.

use crate::hdf5::{self, H5};
use hdf5_reader::group::Group;
use krust_autograd::Var;
use krust_tensor::Tensor;

/// Weights per key, in Keras's order; the key is the layer's path ("dense" or "outer/conv2d").
pub(crate) type FileWeights = Vec<(String, Vec<Tensor>)>;

/// Keras 3's model.weights.h5: `layers/<key>/vars/0, 1, ...`, where each `vars` group's
/// `name` attribute is the layer's name; a nested model adds `layers/<key>/layers/...`.
pub(crate) fn keras3_weights(h5: &H5) -> Result<FileWeights, String> {
    let mut out = Vec::new();
    if let Some(layers) = child(&h5.root()?, "layers")? {
        for g in hdf5::subgroups(&layers)? {
            collect_keras3(h5, &g, "", &mut out)?;
        }
    }
    Ok(out)
}

fn child(group: &Group, name: &str) -> Result<Option<Group>, String> {
    Ok(hdf5::subgroups(group)?
        .into_iter()
        .find(|g| g.name() == name))
}

fn collect_keras3(
    h5: &H5,
    group: &Group,
    prefix: &str,
    out: &mut FileWeights,
) -> Result<(), String> {
    let vars = child(group, "vars")?
        .ok_or_else(|| format!("weights group {} has no vars", group.name()))?;
    let name = h5
        .string(&vars, "name")?
        .unwrap_or_else(|| group.name().to_string());
    let path = format!("{prefix}{name}");
    let (_, datasets) = vars
        .member_names()
        .map_err(|e| format!("corrupt weights group {path} ({e})"))?;
    let mut indexed: Vec<(usize, String)> = datasets
        .into_iter()
        .map(|d| {
            d.parse::<usize>()
                .map(|i| (i, d.clone()))
                .map_err(|_| format!("layer {path}: unexpected weight {d:?}"))
        })
        .collect::<Result<_, _>>()?;
    indexed.sort();
    let tensors = indexed
        .iter()
        .map(|(_, d)| hdf5::tensor(&vars, d))
        .collect::<Result<Vec<_>, _>>()?;
    if !tensors.is_empty() {
        out.push((path.clone(), tensors));
    }
    if let Some(layers) = child(group, "layers")? {
        for g in hdf5::subgroups(&layers)? {
            collect_keras3(h5, &g, &format!("{path}/"), out)?;
        }
    }
    Ok(())
}

/// Legacy .h5: `model_weights` lists `layer_names`; each layer group lists `weight_names`,
/// paths below it, in order (a nested model's group lists all its layers' weights).
pub(crate) fn legacy_weights(h5: &H5, root: &Group) -> Result<FileWeights, String> {
    let weights = child(root, "model_weights")?
        .ok_or("no model_weights group (the file holds no weights)")?;
    let layer_names = h5
        .strings(&weights, "layer_names")?
        .ok_or("model_weights has no layer_names attribute")?;
    let mut out = Vec::new();
    for layer in layer_names {
        let group = child(&weights, &layer)?
            .ok_or_else(|| format!("layer {layer} is listed but has no weights group"))?;
        let names = h5.strings(&group, "weight_names")?.unwrap_or_default();
        let tensors = names
            .iter()
            .map(|w| {
                let (dir, leaf) = w.rsplit_once('/').unwrap_or(("", w));
                let mut g = group.clone();
                for part in dir.split('/').filter(|p| !p.is_empty()) {
                    g = child(&g, part)?
                        .ok_or_else(|| format!("layer {layer}: weight {w} is missing"))?;
                }
                hdf5::tensor(&g, leaf)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !tensors.is_empty() {
            out.push((layer, tensors));
        }
    }
    Ok(out)
}

/// Copies `file` into `model_weights` ("layer/weight" names, Keras order), grouping model
/// layers by `key` (a layer's file key: its full path, or its top-level name for .h5).
pub(crate) fn assign(
    model_weights: Vec<(String, Var)>,
    mut file: FileWeights,
    key: impl Fn(&str) -> String,
) -> Result<(), String> {
    let mut groups: Vec<(String, Vec<(String, Var)>)> = Vec::new();
    for (name, var) in model_weights {
        let (layer, _) = name.rsplit_once('/').unwrap_or(("", &name));
        let k = key(layer);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, vars)) => vars.push((name, var)),
            None => groups.push((k, vec![(name, var)])),
        }
    }
    for (layer, vars) in groups {
        let tensors = match file.iter().position(|(k, _)| *k == layer) {
            Some(i) => file.remove(i).1,
            None => Vec::new(),
        };
        if tensors.len() != vars.len() {
            let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
            return Err(format!(
                "layer {layer}: the file has {} weights, krust's layer needs {} ({})",
                tensors.len(),
                vars.len(),
                names.join(", ")
            ));
        }
        for ((name, var), t) in vars.iter().zip(tensors) {
            if t.shape() != var.shape().as_slice() {
                return Err(format!(
                    "weight {name}: the file's has shape {:?}, krust's layer needs {:?}",
                    t.shape(),
                    var.shape()
                ));
            }
            var.set_value(t)
                .map_err(|e| format!("weight {name}: {e}"))?;
        }
    }
    match file.first() {
        Some((layer, _)) => Err(format!(
            "the file has weights for layer {layer}, which is not in the model"
        )),
        None => Ok(()),
    }
}
