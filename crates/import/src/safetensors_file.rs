//! Reads a safetensors file into a [`StateDict`], converting every dtype krust keeps.

use crate::state_dict::{StateDict, StoredTensor, TensorData};
use crate::torch::f16_to_f32;
use safetensors::tensor::{Dtype, SafeTensors};

/// A safetensors file opens with a little-endian u64 header length and a JSON object.
pub(crate) fn looks_like(bytes: &[u8]) -> bool {
    let Some(len) = bytes.get(..8) else {
        return false;
    };
    let mut n = [0u8; 8];
    n.copy_from_slice(len);
    let n = u64::from_le_bytes(n);
    n >= 2 && n <= bytes.len() as u64 - 8 && bytes.get(8) == Some(&b'{')
}

pub(crate) fn read(bytes: &[u8]) -> Result<StateDict, String> {
    // The crate checks the header length against the buffer, and every tensor's byte range
    // against its shape (with overflow checks), before anything is allocated for data.
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| format!("corrupt safetensors file ({e:?})"))?;
    let file =
        SafeTensors::deserialize(bytes).map_err(|e| format!("corrupt safetensors file ({e:?})"))?;
    let mut names: Vec<(usize, String)> = metadata
        .tensors()
        .into_iter()
        .map(|(name, info)| (info.data_offsets.0, name))
        .collect();
    // The file's data order, which is also the order the writer was given.
    names.sort();
    let mut out = StateDict::default();
    for (_, name) in names {
        let view = file
            .tensor(&name)
            .map_err(|e| format!("tensor '{name}': {e:?}"))?;
        let data =
            convert(view.dtype(), view.data()).map_err(|why| format!("tensor '{name}': {why}"))?;
        let tensor = StoredTensor {
            shape: view.shape().to_vec(),
            data,
        };
        out.insert(name, tensor);
    }
    Ok(out)
}

fn convert(dtype: Dtype, bytes: &[u8]) -> Result<TensorData, String> {
    fn each<const N: usize, T>(bytes: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        bytes
            .chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect()
    }
    Ok(match dtype {
        Dtype::F32 => TensorData::F32(each(bytes, f32::from_le_bytes)),
        Dtype::F64 => TensorData::F32(each(bytes, |b| f64::from_le_bytes(b) as f32)),
        Dtype::F16 => TensorData::F32(each(bytes, |b| f16_to_f32(u16::from_le_bytes(b)))),
        Dtype::BF16 => TensorData::F32(each(bytes, |b| {
            f32::from_bits((u16::from_le_bytes(b) as u32) << 16)
        })),
        Dtype::I64 => TensorData::I64(each(bytes, i64::from_le_bytes)),
        Dtype::I32 => TensorData::I64(each(bytes, |b| i32::from_le_bytes(b) as i64)),
        Dtype::I16 => TensorData::I64(each(bytes, |b| i16::from_le_bytes(b) as i64)),
        Dtype::I8 => TensorData::I64(each(bytes, |b: [u8; 1]| b[0] as i8 as i64)),
        Dtype::U8 => TensorData::I64(each(bytes, |b: [u8; 1]| b[0] as i64)),
        Dtype::BOOL => TensorData::I64(each(bytes, |b: [u8; 1]| (b[0] != 0) as i64)),
        Dtype::U16 => TensorData::I64(each(bytes, |b| u16::from_le_bytes(b) as i64)),
        Dtype::U32 => TensorData::I64(each(bytes, |b| u32::from_le_bytes(b) as i64)),
        Dtype::U64 => TensorData::I64(
            each(bytes, |b| i64::try_from(u64::from_le_bytes(b)))
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(|_| "a U64 value does not fit in int64".to_string())?,
        ),
        other => return Err(format!("dtype {other:?} is not supported")),
    })
}
