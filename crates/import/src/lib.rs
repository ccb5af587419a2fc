//! krust-import: reads trained models and weights from Keras, PyTorch and krust files.
//!
//! Loads Keras 3 `.keras` files, legacy Keras `.h5` models and krust's own model files —
//! architecture and weights — through pure-Rust zip and HDF5 readers, and reads PyTorch and
//! safetensors weight files into a flat [`StateDict`].
//!
//! ```no_run
//! let model = krust_import::load_model("model.keras".as_ref())?;
//! print!("{}", model.summary());
//! let x = krust_tensor::Tensor::zeros([1, 28, 28, 1]);
//! let outputs = model.predict(&[x])?;
//! # Ok::<(), krust_import::ImportError>(())
//! ```
//!
//! # Weight files: [`load_state_dict`]
//!
//! The format is recognized from the file's first bytes, never from its extension:
//!
//! - **`torch.save` zip** (PyTorch >= 1.6): `<folder>/data.pkl`, `<folder>/data/<key>` and
//!   the optional `<folder>/byteorder` record (big-endian files are byte-swapped).
//! - **Legacy `torch.save`** (`_use_new_zipfile_serialization=False` and PyTorch < 1.6):
//!   pickles of the magic number, protocol version 1001 and sys_info, the main pickle, a
//!   pickle of storage keys, then each storage as a little-endian element count and its
//!   bytes. The tar format of PyTorch < 0.4 is not read.
//! - **safetensors**, every dtype except the 8-bit floats.
//!
//! Pickles (protocols 2 to 5) run on krust's own pickle machine, which calls nothing: the
//! only globals it accepts are `collections.OrderedDict`, `torch._utils._rebuild_tensor`,
//! `_rebuild_tensor_v2`, `_rebuild_tensor_v3`, `_rebuild_parameter`,
//! `_rebuild_parameter_with_state`, the `torch.<Type>Storage` classes and
//! `torch.UntypedStorage`, and torch dtypes such as `torch.float32`. Any other global
//! (`os.system`, `builtins.eval`, a model class, `argparse.Namespace`, numpy scalars) is
//! refused with an error naming it, as are whole pickled modules. Plain Python values
//! (numbers, strings, lists, tuples, dicts, sets, None) are accepted anywhere.
//!
//! Tensors may have any strides and storage offset (channels-last weights, views sharing a
//! storage, transposes); values always come out contiguous, row-major in the logical shape:
//! f16, bf16, f32 and f64 as f32, integer and bool types as i64. A checkpoint dict is
//! searched for its state dict under `state_dict`, `model_state_dict` or `model`, and the
//! other entries are listed in [`StateDict::notes`]; DataParallel's `module.` prefix is
//! stripped. Every size in a file is checked against the bytes present before anything is
//! allocated, so a hostile or truncated file gives an error, and memory stays within a
//! small multiple of the file's size.

mod hdf5;
pub mod npy;
mod safetensors_file;
mod state_dict;
mod torch;
mod weights;

pub use state_dict::{load_state_dict, state_dict_from_bytes, StateDict, StoredTensor, TensorData};

use krust_nn::{model_from_config, AnyModel, Module, NnError};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ImportError {
    /// The file could not be read or does not hold a model krust can rebuild.
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error(transparent)]
    Nn(#[from] NnError),
}

impl ImportError {
    /// Keeps every message on one line: nested errors may carry newlines.
    fn file(path: &Path, why: impl std::fmt::Display) -> Self {
        ImportError::File {
            path: path.to_path_buf(),
            why: why.to_string().replace('\n', " "),
        }
    }
}

pub type Result<T> = std::result::Result<T, ImportError>;

pub use krust_nn::saving::InputSpec;
/// A model loaded from any supported file: a Sequential or functional krust model.
pub use krust_nn::AnyModel as LoadedModel;

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";

/// Loads a model, choosing the reader from the file's content: a zip is a Keras 3 `.keras`
/// file, an HDF5 file a legacy Keras `.h5` model, anything else krust's own format.
pub fn load_model(path: &Path) -> Result<LoadedModel> {
    load_model_with_inputs(path).map(|(model, _)| model)
}

/// [`load_model`], with the description of the model's inputs that a krust model file may
/// hold (`None` for Keras files and krust files written without one).
pub fn load_model_with_inputs(path: &Path) -> Result<(LoadedModel, Option<InputSpec>)> {
    let bytes =
        std::fs::read(path).map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if bytes.starts_with(ZIP_MAGIC) {
        load_keras(&bytes)
            .map(|model| (model, None))
            .map_err(|why| ImportError::file(path, why))
    } else if bytes.starts_with(HDF5_MAGIC) {
        load_legacy_h5(bytes)
            .map(|model| (model, None))
            .map_err(|why| ImportError::file(path, why))
    } else if extension == "keras" {
        Err(ImportError::file(
            path,
            "not a .keras file (no zip signature at the start)",
        ))
    } else if matches!(extension.as_str(), "h5" | "hdf5") {
        Err(ImportError::file(
            path,
            "not an HDF5 file (no HDF5 signature at the start)",
        ))
    } else {
        Ok(krust_nn::saving::load_model_with_inputs(path)?)
    }
}

fn parse_config(text: &str, what: &str) -> std::result::Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| format!("corrupt {what} JSON ({e})"))
}

/// A Keras 3 `.keras` zip: config.json (architecture) and model.weights.h5 (weights).
fn load_keras(bytes: &[u8]) -> std::result::Result<AnyModel, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("corrupt .keras zip ({e})"))?;
    let mut member = |name: &str| -> std::result::Result<Vec<u8>, String> {
        let mut file = zip
            .by_name(name)
            .map_err(|e| format!("the .keras zip has no readable {name} ({e})"))?;
        let mut out = Vec::new();
        file.read_to_end(&mut out)
            .map_err(|e| format!("{name} in the .keras zip is corrupt ({e})"))?;
        Ok(out)
    };
    let config = member("config.json")?;
    let weights = member("model.weights.h5")?;
    let config = parse_config(&String::from_utf8_lossy(&config), "config.json")?;
    let model = model_from_config(&config).map_err(|e| e.to_string())?;
    let h5 = hdf5::H5::from_bytes(weights).map_err(|e| format!("model.weights.h5: {e}"))?;
    let file = weights::keras3_weights(&h5).map_err(|e| format!("model.weights.h5: {e}"))?;
    weights::assign(model.named_weights(), file, str::to_string)?;
    Ok(model)
}

/// A legacy `.h5` model: the architecture as the root's `model_config` attribute, the
/// weights under `model_weights`.
fn load_legacy_h5(bytes: Vec<u8>) -> std::result::Result<AnyModel, String> {
    let h5 = hdf5::H5::from_bytes(bytes)?;
    let root = h5.root()?;
    let config = h5.string(&root, "model_config")?.ok_or(
        "no model_config attribute: a weights-only .h5 file, which has no architecture to rebuild",
    )?;
    let config = parse_config(&config, "model_config")?;
    let model = model_from_config(&config).map_err(|e| e.to_string())?;
    let file = weights::legacy_weights(&h5, &root)?;
    // A nested model's weights are all listed under its top-level name.
    weights::assign(model.named_weights(), file, |layer| {
        layer.split('/').next().unwrap_or(layer).to_string()
    })?;
    Ok(model)
}
