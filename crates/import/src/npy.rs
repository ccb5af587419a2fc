//! `.npy` arrays in and out of tensors, for `krust predict`: float32 out, float32, float64 or
//! uint8 (scaled to [0, 1]) in.

use crate::ImportError;
use krust_tensor::Tensor;
use std::path::Path;

/// Reads a float32, C-order `.npy` file.
pub fn read_f32(path: &Path) -> Result<Tensor, ImportError> {
    read(path, false)
}

/// Reads a C-order `.npy` file of model inputs, keeping its shape: float32 as it is, float64
/// narrowed to float32, and uint8 as bytes scaled by 1/255 (as krust trains on byte images
/// and uint8 arrays).
pub fn read_input(path: &Path) -> Result<Tensor, ImportError> {
    read(path, true)
}

/// The array at `path` as float32: float32 always, float64 and uint8 when `convert`.
fn read(path: &Path, convert: bool) -> Result<Tensor, ImportError> {
    let bad = |why: String| ImportError::file(path, why);
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy file ({e})")))?;
    let dtype = npy.dtype();
    let is = |d: npyz::DType| dtype == d;
    let kind = if is(<f32 as npyz::AutoSerialize>::default_dtype()) {
        "f4"
    } else if convert && is(<f64 as npyz::AutoSerialize>::default_dtype()) {
        "f8"
    } else if convert && is(<u8 as npyz::AutoSerialize>::default_dtype()) {
        "u1"
    } else {
        let accepted = if convert {
            "float32, float64 or uint8"
        } else {
            "float32 (\"<f4\")"
        };
        return Err(bad(format!(
            "holds {} values; krust reads {accepted}",
            dtype.descr()
        )));
    };
    if npy.order() != npyz::Order::C {
        return Err(bad("is in Fortran order; krust reads C-order arrays".into()));
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| bad(format!("shape {:?} does not fit in memory", npy.shape())))?;
    let item_size = match kind {
        "u1" => 1,
        "f4" => 4,
        _ => 8,
    };
    // Checked before reading, so a header that lies cannot make krust allocate for it.
    let needed = shape
        .iter()
        .try_fold(item_size, |n: usize, &d| n.checked_mul(d));
    if needed.is_none_or(|n| n > bytes.len()) {
        return Err(bad(format!(
            "truncated: shape {shape:?} needs more data than the file's {} bytes",
            bytes.len()
        )));
    }
    let corrupt = |e: std::io::Error| bad(format!("truncated or corrupt data ({e})"));
    let data: Vec<f32> = match kind {
        "f4" => npy.into_vec::<f32>().map_err(corrupt)?,
        "f8" => npy
            .into_vec::<f64>()
            .map_err(corrupt)?
            .into_iter()
            .map(|v| v as f32)
            .collect(),
        _ => npy
            .into_vec::<u8>()
            .map_err(corrupt)?
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect(),
    };
    Tensor::from_vec(shape, data).map_err(|e| bad(e.to_string()))
}

/// Writes `tensor` as a float32 `.npy` file, atomically.
pub fn write_f32(path: &Path, tensor: &Tensor) -> Result<(), ImportError> {
    use npyz::WriterBuilder;
    let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
    let mut bytes = Vec::new();
    let result = (|| -> std::io::Result<()> {
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&shape)
            .writer(&mut bytes)
            .begin_nd()?;
        writer.extend(tensor.to_vec())?;
        writer.finish()
    })();
    result.map_err(|e| ImportError::file(path, format!("cannot encode .npy: {e}")))?;
    krust_nn::saving::write_atomically(path, &bytes)
        .map_err(|e| ImportError::file(path, e.to_string()))
}
