//! Flat, ordered name -> tensor maps read from PyTorch and safetensors weight files,
//! with the file's format recognized from its first bytes.

use crate::torch::pickle::{self, Pickle, TensorRef, Value};
use crate::torch::{self as torch_file, Values};
use crate::{ImportError, Result};
use std::collections::HashMap;
use std::path::Path;

/// Named tensors in the file's order, plus what the reader did to find them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    entries: Vec<(String, StoredTensor)>,
    index: HashMap<String, usize>,
    notes: Vec<String>,
}

/// One tensor: its shape and its values, contiguous and row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
}

/// Floating-point tensors (f16, bf16, f32, f64) arrive as f32; integer and bool tensors
/// (int8/16/32/64, uint8, bool) as i64.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl StateDict {
    pub fn get(&self, name: &str) -> Option<&StoredTensor> {
        self.index.get(name).map(|&i| &self.entries[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &StoredTensor)> {
        self.entries.iter().map(|(n, t)| (n.as_str(), t))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What was skipped or renamed: the checkpoint key the state dict came from, ignored
    /// entries, a stripped `module.` prefix.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Adds or (like a Python dict) replaces a tensor, keeping the first position.
    pub(crate) fn insert(&mut self, name: String, tensor: StoredTensor) {
        match self.index.get(&name) {
            Some(&i) => self.entries[i].1 = tensor,
            None => {
                self.index.insert(name.clone(), self.entries.len());
                self.entries.push((name, tensor));
            }
        }
    }

    /// DataParallel saves every name as `module.<name>`; the model itself knows `<name>`.
    fn strip_data_parallel_prefix(&mut self) {
        const PREFIX: &str = "module.";
        if self.is_empty() || !self.entries.iter().all(|(n, _)| n.starts_with(PREFIX)) {
            return;
        }
        for (name, _) in &mut self.entries {
            name.drain(..PREFIX.len());
        }
        self.index = (self.entries.iter().enumerate())
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        self.notes.push(format!(
            "stripped 'module.' prefix (DataParallel) from {} names",
            self.len()
        ));
    }
}

impl StoredTensor {
    pub fn numel(&self) -> usize {
        match &self.data {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Reads every tensor of a weights file, recognizing the format by content:
/// a `torch.save` zip, a legacy `torch.save` pickle stream, or a safetensors file.
/// Nothing in the file is executed; see the crate documentation for what is accepted.
pub fn load_state_dict(path: &Path) -> Result<StateDict> {
    let bytes =
        std::fs::read(path).map_err(|e| ImportError::file(path, format!("cannot read: {e}")))?;
    state_dict_from_bytes(&bytes, path)
}

/// [`load_state_dict`] for a file already in memory; `path` only names it in errors.
pub fn state_dict_from_bytes(bytes: &[u8], path: &Path) -> Result<StateDict> {
    read_state_dict(bytes).map_err(|why| ImportError::file(path, why))
}

fn read_state_dict(bytes: &[u8]) -> std::result::Result<StateDict, String> {
    if bytes.starts_with(ZIP_MAGIC) {
        from_torch(torch_file::open_zip(bytes)?, bytes.len())
    } else if crate::safetensors_file::looks_like(bytes) {
        crate::safetensors_file::read(bytes)
    } else if torch_file::is_pickle(bytes) {
        from_torch(torch_file::open_legacy(bytes)?, bytes.len())
    } else if torch_file::is_tar(bytes) {
        Err("a tar archive: the torch.save format of PyTorch before 0.4 is not supported".into())
    } else {
        Err(
            "not a weights file krust reads (torch.save zip or legacy pickle, or \
             safetensors)"
                .into(),
        )
    }
}

/// Keys under which training scripts commonly store the model's state dict, in the
/// order they are tried.
const STATE_DICT_KEYS: &[&str] = &["state_dict", "model_state_dict", "model"];
/// Checkpoints nest the state dict a level or two down; deeper means something else.
const MAX_CHECKPOINT_DEPTH: usize = 4;

fn from_torch(
    mut file: torch_file::TorchFile<'_>,
    file_len: usize,
) -> std::result::Result<StateDict, String> {
    let mut out = StateDict::default();
    let tensors = select_tensors(&file.pickle, &mut out.notes)?;
    let mut budget = file_len
        .saturating_mul(torch_file::ELEMENTS_PER_FILE_BYTE)
        .saturating_add(4096);
    for (name, tensor) in tensors {
        let values = file
            .materialize(&tensor, &mut budget)
            .map_err(|why| format!("tensor '{name}': {why}"))?;
        let data = match values {
            Values::F32(v) => TensorData::F32(v),
            Values::I64(v) => TensorData::I64(v),
        };
        out.insert(
            name,
            StoredTensor {
                shape: tensor.shape,
                data,
            },
        );
    }
    out.strip_data_parallel_prefix();
    Ok(out)
}

/// Finds the state dict in a pickle: the root dict when it holds tensors, else the dict
/// under one of [`STATE_DICT_KEYS`], recursively.
fn select_tensors(
    pickle: &Pickle,
    notes: &mut Vec<String>,
) -> std::result::Result<Vec<(String, TensorRef)>, String> {
    let Value::Dict(root) = pickle.root() else {
        return Err(format!(
            "the pickle holds a {}, not a dict of tensors (a whole pickled model is not \
             supported; save model.state_dict())",
            pickle::kind(pickle.root())
        ));
    };
    let mut items: &[(pickle::Id, pickle::Id)] = root;
    let mut path = String::new();
    for _ in 0..MAX_CHECKPOINT_DEPTH {
        let holds_tensors = items
            .iter()
            .any(|&(_, v)| matches!(pickle.value(v), Value::Tensor(_)));
        if holds_tensors || items.is_empty() {
            return collect(pickle, items, &path, notes);
        }
        let nested = STATE_DICT_KEYS.iter().find_map(|&wanted| {
            items
                .iter()
                .find_map(|&(k, v)| match (pickle.value(k), pickle.value(v)) {
                    (Value::Str(key), Value::Dict(inner)) if key == wanted => Some((key, inner)),
                    _ => None,
                })
        });
        let Some((key, inner)) = nested else {
            let keys: Vec<String> = items.iter().map(|&(k, _)| pickle.describe(k)).collect();
            return Err(format!(
                "no state dict found{}: keys are {} (expected tensors, or a dict under one of \
                 {})",
                at(&path),
                keys.join(", "),
                STATE_DICT_KEYS.join(", ")
            ));
        };
        let ignored: Vec<String> = items
            .iter()
            .filter(|&&(k, _)| !matches!(pickle.value(k), Value::Str(s) if s == key))
            .map(|&(k, _)| pickle.describe(k))
            .collect();
        notes.push(format!(
            "checkpoint: state_dict taken from key '{}{key}'{}",
            prefix(&path),
            if ignored.is_empty() {
                String::new()
            } else {
                format!("; ignored keys: {}", ignored.join(", "))
            }
        ));
        path = format!("{}{key}", prefix(&path));
        items = inner;
    }
    Err(format!(
        "no state dict within {MAX_CHECKPOINT_DEPTH} levels of nested checkpoint dicts"
    ))
}

fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" under '{path}'")
    }
}

fn prefix(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!("{path}.")
    }
}

fn collect(
    pickle: &Pickle,
    items: &[(pickle::Id, pickle::Id)],
    path: &str,
    notes: &mut Vec<String>,
) -> std::result::Result<Vec<(String, TensorRef)>, String> {
    let mut tensors = Vec::new();
    let mut ignored = Vec::new();
    for &(k, v) in items {
        match (pickle.value(k), pickle.value(v)) {
            (Value::Str(name), Value::Tensor(t)) => tensors.push((name.clone(), (**t).clone())),
            (other, Value::Tensor(_)) => {
                return Err(format!(
                    "a tensor{} is keyed by a {}, not a name",
                    at(path),
                    pickle::kind(other)
                ))
            }
            _ => ignored.push(pickle.describe(k)),
        }
    }
    if !ignored.is_empty() {
        notes.push(format!(
            "ignored non-tensor entries{}: {}",
            at(path),
            ignored.join(", ")
        ));
    }
    Ok(tensors)
}
