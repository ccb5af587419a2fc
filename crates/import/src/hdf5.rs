//! The few HDF5 reads a Keras file needs — groups, string attributes, float32 datasets —
//! over the pure-Rust `hdf5-reader`, with its errors turned into one-line reasons.

use hdf5_reader::group::Group;
use hdf5_reader::{Datatype, Hdf5File};
use krust_tensor::Tensor;
use std::sync::Arc;

pub(crate) struct H5 {
    file: Hdf5File,
    /// The whole file: variable-length strings live in its global heap.
    bytes: Arc<[u8]>,
}

fn reason(e: impl std::fmt::Display) -> String {
    e.to_string().replace('\n', " ")
}

impl H5 {
    pub(crate) fn from_bytes(bytes: Vec<u8>) -> Result<H5, String> {
        let bytes: Arc<[u8]> = bytes.into();
        let file = Hdf5File::from_shared_bytes(bytes.clone())
            .map_err(|e| format!("corrupt HDF5 data ({})", reason(e)))?;
        Ok(H5 { file, bytes })
    }

    pub(crate) fn root(&self) -> Result<Group, String> {
        self.file
            .root_group()
            .map_err(|e| format!("corrupt HDF5 root group ({})", reason(e)))
    }

    /// The string(s) of attribute `name` of `group`; None when it is absent. Keras writes an
    /// empty list as an empty float64 array, which reads as no strings.
    pub(crate) fn strings(&self, group: &Group, name: &str) -> Result<Option<Vec<String>>, String> {
        let Ok(attribute) = group.attribute(name) else {
            return Ok(None);
        };
        let offset_size = self.file.superblock().offset_size;
        match attribute.read_vlen_strings(&self.bytes, offset_size) {
            Ok(strings) => Ok(Some(strings)),
            Err(_) if attribute.num_elements().ok() == Some(0) => Ok(Some(Vec::new())),
            Err(e) => Err(format!(
                "attribute {name:?} of HDF5 group {:?} is not text ({})",
                group.name(),
                reason(e)
            )),
        }
    }

    /// The one string of attribute `name`, or None when absent.
    pub(crate) fn string(&self, group: &Group, name: &str) -> Result<Option<String>, String> {
        Ok(match self.strings(group, name)? {
            None => None,
            Some(mut v) if v.len() == 1 => v.pop(),
            Some(v) => {
                return Err(format!(
                    "attribute {name:?} holds {} strings, expected one",
                    v.len()
                ))
            }
        })
    }
}

/// Reads dataset `name` of `group` as a float32 tensor of the dataset's shape.
pub(crate) fn tensor(group: &Group, name: &str) -> Result<Tensor, String> {
    let bad = |why: String| format!("weight dataset {}/{name}: {why}", group.name());
    let dataset = group
        .dataset(name)
        .map_err(|e| bad(format!("cannot be read ({})", reason(e))))?;
    match dataset.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => {}
        other => return Err(bad(format!("is {other:?}; krust imports float32 weights"))),
    }
    let shape: Vec<usize> = dataset.shape().iter().map(|&d| d as usize).collect();
    let values = dataset
        .read_array::<f32>()
        .map_err(|e| bad(format!("cannot be read ({})", reason(e))))?;
    let data: Vec<f32> = values.iter().copied().collect();
    Tensor::from_vec(shape, data).map_err(|e| bad(reason(e)))
}

/// The sub-groups of `group` with their names.
pub(crate) fn subgroups(group: &Group) -> Result<Vec<Group>, String> {
    group
        .groups()
        .map_err(|e| format!("corrupt HDF5 group {} ({})", group.name(), reason(e)))
}
