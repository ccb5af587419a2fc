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

/// Reads dataset `name` of `group` as a float32 tensor of the dataset's shape. Float64 and
/// integer datasets (Keras keeps some counters, such as an adapted Normalization's `count`,
/// as int64) are converted to float32.
pub(crate) fn tensor(group: &Group, name: &str) -> Result<Tensor, String> {
    let bad = |why: String| format!("weight dataset {}/{name}: {why}", group.name());
    let dataset = group
        .dataset(name)
        .map_err(|e| bad(format!("cannot be read ({})", reason(e))))?;
    fn read<T: hdf5_reader::H5Type + Copy>(
        dataset: &hdf5_reader::Dataset,
        to_f32: impl Fn(T) -> f32,
    ) -> Result<Vec<f32>, String> {
        let values = dataset.read_array::<T>().map_err(reason)?;
        Ok(values.iter().map(|&v| to_f32(v)).collect())
    }
    let data = match dataset.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => read::<f32>(&dataset, |v| v),
        Datatype::FloatingPoint { size: 8, .. } => read::<f64>(&dataset, |v| v as f32),
        Datatype::FixedPoint { size, signed, .. } => match (size, signed) {
            (1, true) => read::<i8>(&dataset, f32::from),
            (1, false) => read::<u8>(&dataset, f32::from),
            (2, true) => read::<i16>(&dataset, f32::from),
            (2, false) => read::<u16>(&dataset, f32::from),
            (4, true) => read::<i32>(&dataset, |v| v as f32),
            (4, false) => read::<u32>(&dataset, |v| v as f32),
            (8, true) => read::<i64>(&dataset, |v| v as f32),
            (8, false) => read::<u64>(&dataset, |v| v as f32),
            _ => {
                return Err(bad(format!(
                    "is a {size}-byte integer; krust reads 1 to 8 bytes"
                )))
            }
        },
        other => return Err(bad(format!("is {other:?}; krust imports numeric weights"))),
    }
    .map_err(|why| bad(format!("cannot be read ({why})")))?;
    let shape: Vec<usize> = dataset.shape().iter().map(|&d| d as usize).collect();
    Tensor::from_vec(shape, data).map_err(|e| bad(reason(e)))
}

/// The sub-groups of `group` with their names.
pub(crate) fn subgroups(group: &Group) -> Result<Vec<Group>, String> {
    group
        .groups()
        .map_err(|e| format!("corrupt HDF5 group {} ({})", group.name(), reason(e)))
}
