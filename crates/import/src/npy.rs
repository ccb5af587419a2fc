//! float32 `.npy` arrays in and out of tensors, for `krust predict`.

use crate::ImportError;
use krust_tensor::Tensor;
use std::path::Path;

/// Reads a float32, C-order `.npy` file.
pub fn read_f32(path: &Path) -> Result<Tensor, ImportError> {
    let bad = |why: String| ImportError::file(path, why);
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a .npy file ({e})")))?;
    let dtype = npy.dtype();
    if dtype != <f32 as npyz::AutoSerialize>::default_dtype() {
        return Err(bad(format!(
            "holds {} values; krust reads float32 (\"<f4\")",
            dtype.descr()
        )));
    }
    if npy.order() != npyz::Order::C {
        return Err(bad("is in Fortran order; krust reads C-order arrays".into()));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let data: Vec<f32> = npy
        .into_vec()
        .map_err(|e| bad(format!("truncated or corrupt data ({e})")))?;
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
