//! krust's model file: one safetensors file whose header metadata holds the architecture
//! (Keras-style JSON) and whose tensors are the weights, named "weights/<layer>/<weight>".
//! Writes go to a temporary file in the same directory that is renamed into place, so a
//! crash never leaves a half-written model where the old one was.

use crate::architecture::{model_from_config, AnyModel};
use crate::optimizers::{deserialize, serialize, Optimizer, OptimizerState};
use crate::{Module, NnError, Result, Sequential};
use krust_tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Written into every file's metadata; bumped when the layout changes.
pub const FORMAT: &str = "krust-model/1";

/// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, then rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| NnError::file(path, "is not a file path"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        NnError::file(path, format!("cannot write: {e}"))
    })
}

fn f32_bytes(t: &Tensor) -> Vec<u8> {
    t.to_vec().iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serializes named tensors plus string metadata into safetensors bytes.
pub fn to_safetensors(
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.shape().to_vec(), f32_bytes(t)))
        .collect();
    let views = raw
        .iter()
        .map(|(n, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (n.clone(), v))
                .map_err(|e| NnError::argument("weights", format!("{n}: {e:?}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, &Some(metadata))
        .map_err(|e| NnError::argument("weights", format!("{e:?}")))
}

/// Reads every tensor of a safetensors buffer as float32, with the header metadata.
pub fn from_safetensors(
    path: &Path,
    bytes: &[u8],
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bad = |why: String| NnError::file(path, why);
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e:?})")))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("corrupt safetensors data ({e:?})")))?;
    let mut tensors = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(bad(format!(
                "tensor {name} is {:?}; krust reads float32",
                view.dtype()
            )));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let t = Tensor::from_vec(view.shape().to_vec(), data)
            .map_err(|e| bad(format!("tensor {name}: {e}")))?;
        tensors.insert(name, t);
    }
    Ok((tensors, meta.metadata().clone().unwrap_or_default()))
}

/// The tensors a model file stores for `model`'s weights: "weights/<layer>/<weight>".
fn weight_tensors(model: &dyn Module) -> Vec<(String, Tensor)> {
    model
        .named_weights()
        .into_iter()
        .map(|(n, v)| (format!("weights/{n}"), v.value()))
        .collect()
}

fn model_metadata(model: &dyn Module) -> HashMap<String, String> {
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), FORMAT.to_string());
    metadata.insert("architecture".to_string(), model.to_config().to_string());
    metadata
}

/// Saves the architecture and weights of `model` (a `Sequential`, a functional `Model` or
/// an `AnyModel`) to `path`, atomically.
pub fn save_model(model: &dyn Module, path: &Path) -> Result<()> {
    write_atomically(
        path,
        &to_safetensors(&weight_tensors(model), model_metadata(model))?,
    )
}

/// A model file's contents: the model with its weights set, the other tensors (optimizer
/// state), and the header metadata.
struct ModelFile {
    model: AnyModel,
    tensors: HashMap<String, Tensor>,
    metadata: HashMap<String, String>,
}

/// Reads a krust model file: the model (architecture, then every weight checked by name and
/// shape; missing, extra or misshapen weights are errors naming them), the remaining
/// tensors, and the metadata.
fn read_model_file(path: &Path) -> Result<ModelFile> {
    let bytes =
        std::fs::read(path).map_err(|e| NnError::file(path, format!("cannot read: {e}")))?;
    let (mut tensors, metadata) = from_safetensors(path, &bytes)?;
    match metadata.get("format") {
        Some(f) if f == FORMAT => {}
        Some(f) => {
            return Err(NnError::file(
                path,
                format!("unsupported krust model format {f:?} (this krust reads {FORMAT})"),
            ))
        }
        None => {
            return Err(NnError::file(
                path,
                "is a safetensors file but not a krust model (no format in its metadata)",
            ))
        }
    }
    let arch = metadata
        .get("architecture")
        .ok_or_else(|| NnError::file(path, "has no architecture in its metadata"))?;
    let arch: serde_json::Value = serde_json::from_str(arch)
        .map_err(|e| NnError::file(path, format!("corrupt architecture JSON: {e}")))?;
    let model = model_from_config(&arch).map_err(|e| NnError::file(path, e))?;
    for (name, var) in model.named_weights() {
        let key = format!("weights/{name}");
        let t = tensors
            .remove(&key)
            .ok_or_else(|| NnError::file(path, format!("weight {name} is missing")))?;
        if t.shape() != var.shape().as_slice() {
            return Err(NnError::file(
                path,
                format!(
                    "weight {name} has shape {:?}, the layer needs {:?}",
                    t.shape(),
                    var.shape()
                ),
            ));
        }
        var.set_value(t)?;
    }
    if let Some(extra) = tensors.keys().find(|k| k.starts_with("weights/")) {
        return Err(NnError::file(
            path,
            format!("tensor {extra} belongs to no layer of the architecture"),
        ));
    }
    Ok(ModelFile {
        model,
        tensors,
        metadata,
    })
}

/// Loads a model saved by `save_model` or `save_training_state`, Sequential or functional.
pub fn load_model(path: &Path) -> Result<AnyModel> {
    read_model_file(path).map(|file| file.model)
}

/// Loads a model file that must hold a `Sequential` model.
pub fn load_sequential(path: &Path) -> Result<Sequential> {
    match load_model(path)? {
        AnyModel::Sequential(model) => Ok(model),
        AnyModel::Functional(_) => Err(NnError::file(
            path,
            "holds a functional model, not a Sequential one (load it with load_model)",
        )),
    }
}

/// A model with its optimizer and progress, as `save_training_state` writes them.
pub struct TrainingState {
    pub model: AnyModel,
    /// The optimizer with its moments and iteration count, if the file has one.
    pub optimizer: Option<Box<dyn Optimizer>>,
    /// Epochs completed when the file was written.
    pub epochs_done: usize,
}

/// Saves the model, the optimizer (config and state) and the epochs completed, so that
/// `load_training_state` and `fit` with `initial_epoch` continue exactly as an uninterrupted
/// run would.
pub fn save_training_state(
    model: &dyn Module,
    optimizer: &dyn Optimizer,
    epochs_done: usize,
    path: &Path,
) -> Result<()> {
    let mut tensors = weight_tensors(model);
    let state = optimizer.state();
    tensors.extend(
        state
            .variables
            .into_iter()
            .map(|(n, t)| (format!("optimizer/{n}"), t)),
    );
    let mut metadata = model_metadata(model);
    metadata.insert("optimizer".to_string(), serialize(optimizer).to_string());
    metadata.insert(
        "optimizer_iterations".to_string(),
        state.iterations.to_string(),
    );
    metadata.insert("epochs_done".to_string(), epochs_done.to_string());
    let mut streams = serde_json::Map::new();
    model.visit_random_streams(&mut |name, stream| {
        // Strings: JSON numbers would lose u64 precision in other readers.
        let [key, position] = stream.state();
        streams.insert(
            name.to_string(),
            serde_json::json!([key.to_string(), position.to_string()]),
        );
    });
    if !streams.is_empty() {
        metadata.insert(
            "random_streams".to_string(),
            serde_json::Value::Object(streams).to_string(),
        );
    }
    write_atomically(path, &to_safetensors(&tensors, metadata)?)
}

/// Puts every random layer of `model` back where `save_training_state` found it: each entry
/// of the `random_streams` metadata names a layer and its stream's [key, position].
fn restore_random_streams(
    model: &dyn Module,
    metadata: &HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    let Some(json) = metadata.get("random_streams") else {
        return Ok(());
    };
    let corrupt = |why: String| NnError::file(path, format!("corrupt random_streams: {why}"));
    let states: HashMap<String, [String; 2]> =
        serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
    let mut result = Ok(());
    let mut restored = 0;
    model.visit_random_streams(&mut |name, stream| {
        let Some([key, position]) = states.get(name) else {
            return;
        };
        match (key.parse(), position.parse()) {
            (Ok(key), Ok(position)) => {
                stream.set_state([key, position]);
                restored += 1;
            }
            _ => result = Err(corrupt(format!("layer {name}: {key:?}, {position:?}"))),
        }
    });
    result?;
    if restored != states.len() {
        return Err(corrupt(format!(
            "{} layers are listed, {restored} of them are random layers of the model",
            states.len()
        )));
    }
    Ok(())
}

/// Loads what `save_training_state` wrote (or a plain model file, without an optimizer).
pub fn load_training_state(path: &Path) -> Result<TrainingState> {
    let ModelFile {
        model,
        tensors,
        metadata,
    } = read_model_file(path)?;
    let epochs_done = match metadata.get("epochs_done") {
        Some(e) => e
            .parse()
            .map_err(|_| NnError::file(path, format!("corrupt epochs_done {e:?}")))?,
        None => 0,
    };
    let optimizer = match metadata.get("optimizer") {
        None => None,
        Some(json) => {
            let config: serde_json::Value = serde_json::from_str(json)
                .map_err(|e| NnError::file(path, format!("corrupt optimizer JSON: {e}")))?;
            let mut opt = deserialize(&config).map_err(|e| NnError::file(path, e))?;
            let iterations = metadata
                .get("optimizer_iterations")
                .and_then(|i| i.parse().ok())
                .ok_or_else(|| {
                    NnError::file(
                        path,
                        "the optimizer's iteration count is missing or corrupt",
                    )
                })?;
            let mut variables: Vec<(String, Tensor)> = tensors
                .into_iter()
                .filter_map(|(n, t)| n.strip_prefix("optimizer/").map(|s| (s.to_string(), t)))
                .collect();
            variables.sort_by(|a, b| a.0.cmp(&b.0));
            opt.load_state(
                &OptimizerState {
                    iterations,
                    variables,
                },
                &model.parameters(),
            )
            .map_err(|e| NnError::file(path, e))?;
            Some(opt)
        }
    };
    restore_random_streams(&model, &metadata, path)?;
    Ok(TrainingState {
        model,
        optimizer,
        epochs_done,
    })
}
