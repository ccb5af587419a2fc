//! krust's model file: one safetensors file whose header metadata holds the architecture
//! (Keras-style JSON) and whose tensors are the weights, named "weights/<layer>/<weight>".
//! Writes go to a temporary file in the same directory that is renamed into place, so a
//! crash never leaves a half-written model where the old one was.
//!
//! An optional metadata entry, `inputs` (JSON, see [`InputSpec`]), records how the inputs the
//! model was trained on were prepared (shape, image size and colour mode, value scaling) and
//! the class names, so `krust evaluate`, `predict` and `classify` can prepare new inputs the
//! same way. Files without it (older ones) load as before.

use crate::architecture::{model_from_config, AnyModel};
use crate::optimizers::{deserialize, serialize, Optimizer, OptimizerState};
use crate::{Module, NnError, Result, Sequential};
use krust_tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// Written into every file's metadata; bumped when the layout changes.
pub const FORMAT: &str = "krust-model/1";

/// The metadata key of the input description.
pub const INPUTS_KEY: &str = "inputs";
/// The version [`InputSpec`] is written with; a file with a newer one is refused.
pub const INPUTS_VERSION: u32 = 1;
/// The largest image side an input description may name (as `--image-size` accepts).
pub const MAX_INPUT_SIDE: usize = 4096;
/// The most values one sample may have (a 4096x4096 RGB image is about 2^26).
pub const MAX_INPUT_VALUES: usize = 1 << 26;
/// The most class names an input description may list.
pub const MAX_CLASS_NAMES: usize = 1 << 20;

/// How image files are turned into channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    /// One channel (ITU-R BT.601 luma of the RGB pixels).
    Grayscale,
    /// Three channels, alpha dropped, grey replicated.
    Rgb,
}

impl ColorMode {
    /// 1 or 3.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grayscale => 1,
            ColorMode::Rgb => 3,
        }
    }

    /// The mode with `channels` channels, if there is one.
    pub fn from_channels(channels: usize) -> Option<Self> {
        match channels {
            1 => Some(ColorMode::Grayscale),
            3 => Some(ColorMode::Rgb),
            _ => None,
        }
    }
}

/// How an image is brought to the stored size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMethod {
    /// Bilinear (triangle filter), smoothing when shrinking: what krust's image folders use.
    Bilinear,
}

/// How raw values become the model's input values (before any normalization layer inside
/// the model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueScaling {
    /// Bytes 0..=255 (image pixels, uint8 arrays) divided by 255, so the model sees [0, 1].
    #[serde(rename = "divide_by_255")]
    DivideBy255,
    /// Values used as they are (float arrays).
    None,
}

/// The image files' preparation: resized to `height` x `width` in `color_mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInput {
    pub height: usize,
    pub width: usize,
    pub color_mode: ColorMode,
    pub resize: ResizeMethod,
}

/// What a model's inputs look like and how they were prepared in training, stored in the
/// model file under [`INPUTS_KEY`] as JSON, e.g.
/// `{"version":1,"shape":[28,28,1],"image":{"height":28,"width":28,"color_mode":"grayscale",
/// "resize":"bilinear"},"scaling":"divide_by_255","class_names":["cat","dog"]}`.
/// Unknown fields are ignored, so a later version may add some.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// [`INPUTS_VERSION`] when written.
    pub version: u32,
    /// One sample's shape, channels last (e.g. `[height, width, channels]`).
    pub shape: Vec<usize>,
    /// Present when the inputs are images (`shape` is then `[height, width, channels]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInput>,
    pub scaling: ValueScaling,
    /// The class of each output, in output order, for a classifier; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
}

impl InputSpec {
    /// A description of samples shaped `shape`; when `shape` is `[h, w, 1 or 3]` and the
    /// values are bytes, of images of that size.
    pub fn new(shape: &[usize], scaling: ValueScaling, class_names: Vec<String>) -> Self {
        let image = match (shape, scaling) {
            (&[height, width, channels], ValueScaling::DivideBy255) => {
                ColorMode::from_channels(channels).map(|color_mode| ImageInput {
                    height,
                    width,
                    color_mode,
                    resize: ResizeMethod::Bilinear,
                })
            }
            _ => None,
        };
        Self {
            version: INPUTS_VERSION,
            shape: shape.to_vec(),
            image,
            scaling,
            class_names,
        }
    }

    /// `(height, width, channels)` of image inputs.
    pub fn image_dims(&self) -> Option<(usize, usize, usize)> {
        self.image
            .as_ref()
            .map(|i| (i.height, i.width, i.color_mode.channels()))
    }

    /// The JSON stored in the file.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an InputSpec always serializes")
    }

    /// Parses and checks the stored JSON: a known version, sides and sizes within bounds,
    /// an image description that agrees with the shape.
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let spec: InputSpec = serde_json::from_str(text).map_err(|e| e.to_string())?;
        spec.check()?;
        Ok(spec)
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.version == 0 || self.version > INPUTS_VERSION {
            return Err(format!(
                "version {} is not one this krust reads (1 to {INPUTS_VERSION})",
                self.version
            ));
        }
        if self.shape.is_empty() || self.shape.contains(&0) {
            return Err(format!("shape {:?} has no values", self.shape));
        }
        let values = self
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .filter(|&n| n <= MAX_INPUT_VALUES);
        if values.is_none() {
            return Err(format!(
                "shape {:?} has more than {MAX_INPUT_VALUES} values",
                self.shape
            ));
        }
        if let Some((height, width, channels)) = self.image_dims() {
            if height > MAX_INPUT_SIDE || width > MAX_INPUT_SIDE {
                return Err(format!(
                    "image size {height}x{width} has a side over {MAX_INPUT_SIDE}"
                ));
            }
            if self.shape != [height, width, channels] {
                return Err(format!(
                    "image {height}x{width} with {channels} channel(s) disagrees with shape {:?}",
                    self.shape
                ));
            }
        }
        if self.class_names.len() > MAX_CLASS_NAMES {
            return Err(format!(
                "{} class names, more than {MAX_CLASS_NAMES}",
                self.class_names.len()
            ));
        }
        Ok(())
    }
}

/// The input description in a file's `metadata`, if it has one; a corrupt one is an error
/// naming `path` and the key.
fn inputs_from_metadata(
    path: &Path,
    metadata: &HashMap<String, String>,
) -> Result<Option<InputSpec>> {
    metadata
        .get(INPUTS_KEY)
        .map(|text| {
            InputSpec::from_json(text).map_err(|why| {
                NnError::file(
                    path,
                    format!("corrupt {INPUTS_KEY:?} metadata entry: {why}"),
                )
            })
        })
        .transpose()
}

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

fn model_metadata(model: &dyn Module, inputs: Option<&InputSpec>) -> HashMap<String, String> {
    let mut metadata = HashMap::new();
    metadata.insert("format".to_string(), FORMAT.to_string());
    metadata.insert("architecture".to_string(), model.to_config().to_string());
    if let Some(inputs) = inputs {
        metadata.insert(INPUTS_KEY.to_string(), inputs.to_json());
    }
    metadata
}

/// Saves the architecture and weights of `model` (a `Sequential`, a functional `Model` or
/// an `AnyModel`) to `path`, atomically.
pub fn save_model(model: &dyn Module, path: &Path) -> Result<()> {
    save_model_with_inputs(model, None, path)
}

/// [`save_model`], with the description of the model's inputs when there is one.
pub fn save_model_with_inputs(
    model: &dyn Module,
    inputs: Option<&InputSpec>,
    path: &Path,
) -> Result<()> {
    write_atomically(
        path,
        &to_safetensors(&weight_tensors(model), model_metadata(model, inputs))?,
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

/// Loads a model with the description of its inputs (`None` for a file written without one).
pub fn load_model_with_inputs(path: &Path) -> Result<(AnyModel, Option<InputSpec>)> {
    let file = read_model_file(path)?;
    let inputs = inputs_from_metadata(path, &file.metadata)?;
    Ok((file.model, inputs))
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
    let mut metadata = model_metadata(model, None);
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
