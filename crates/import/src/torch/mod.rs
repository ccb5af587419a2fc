//! Reads `torch.save` files — the zip archive of PyTorch >= 1.6 and the older sequence of
//! pickles — into tensors, without running any of the pickled code.

pub(crate) mod pickle;

use pickle::{Dtype, Pickle, StorageRef, TensorRef};
use std::collections::HashMap;
use std::io::Read;

/// The first pickle of a legacy file holds this integer.
const LEGACY_MAGIC: i128 = 0x1950a86a20f9469cfc6c;
const LEGACY_PROTOCOL: i128 = 1001;
/// Decompressed zip members may total at most this multiple of the file's size. torch.save
/// stores members uncompressed, so only a re-compressed (or hostile) archive gets near it.
const ZIP_EXPANSION_LIMIT: u64 = 64;

/// A parsed `torch.save` file: its main pickle and where each storage's bytes are.
pub(crate) struct TorchFile<'a> {
    pub pickle: Pickle,
    storages: Storages<'a>,
}

enum Storages<'a> {
    Zip {
        archive: Box<zip::ZipArchive<std::io::Cursor<&'a [u8]>>>,
        folder: String,
        big_endian: bool,
        cache: HashMap<String, Vec<u8>>,
        budget: u64,
    },
    Legacy(HashMap<String, &'a [u8]>),
}

/// Pickles of protocol 2 and later open with PROTO; the legacy reader then checks
/// torch's magic number.
pub(crate) fn is_pickle(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x80)
}

pub(crate) fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// Opens a zip written by torch.save: `<folder>/data.pkl`, `<folder>/data/<key>` and an
/// optional `<folder>/byteorder` ("little" or "big"; files before PyTorch 1.10 lack it).
pub(crate) fn open_zip(bytes: &[u8]) -> Result<TorchFile<'_>, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("corrupt zip archive ({e})"))?;
    let folder = archive
        .file_names()
        .filter_map(|n| n.ok())
        .find_map(|n| {
            let folder = n.strip_suffix("/data.pkl")?;
            (!folder.contains('/')).then(|| folder.to_string())
        })
        .ok_or(
            "a zip without <folder>/data.pkl, so not a torch.save file (a Keras model is \
             loaded with load_model)",
        )?;
    let mut budget = (bytes.len() as u64).saturating_mul(ZIP_EXPANSION_LIMIT);
    let data_pkl = format!("{folder}/data.pkl");
    let pickle_bytes = read_member(&mut archive, &data_pkl, &mut budget)?;
    let pickle = pickle::parse(&pickle_bytes, &data_pkl)?;
    let byteorder = format!("{folder}/byteorder");
    let big_endian = if archive.index_for_name(&byteorder).is_some() {
        match read_member(&mut archive, &byteorder, &mut budget)?.as_slice() {
            b"little" => false,
            b"big" => true,
            other => {
                return Err(format!(
                    "{byteorder} says {:?}, expected \"little\" or \"big\"",
                    String::from_utf8_lossy(other)
                ))
            }
        }
    } else {
        false
    };
    Ok(TorchFile {
        pickle,
        storages: Storages::Zip {
            archive: Box::new(archive),
            folder,
            big_endian,
            cache: HashMap::new(),
            budget,
        },
    })
}

fn read_member(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    budget: &mut u64,
) -> Result<Vec<u8>, String> {
    let member = archive
        .by_name(name)
        .map_err(|e| format!("the archive has no readable {name} ({e})"))?;
    let declared = member.size();
    if declared > *budget {
        return Err(format!(
            "{name} claims {declared} bytes uncompressed, more than this file can hold"
        ));
    }
    let mut out = Vec::new();
    member
        .take(declared)
        .read_to_end(&mut out)
        .map_err(|e| format!("{name} is corrupt ({e})"))?;
    if out.len() as u64 != declared {
        return Err(format!(
            "{name} is truncated: {} of {declared} bytes",
            out.len()
        ));
    }
    *budget -= declared;
    Ok(out)
}

/// Reads the legacy format: pickles of the magic number, the protocol version (1001) and
/// sys_info, then the main pickle, then a pickle listing storage keys, then per key an
/// 8-byte little-endian element count and the storage's raw little-endian bytes.
pub(crate) fn open_legacy(bytes: &[u8]) -> Result<TorchFile<'_>, String> {
    let mut at = 0;
    let mut next = |what: &str| -> Result<Pickle, String> {
        let p = pickle::parse(&bytes[at..], &format!("{what} (file byte {at})"))?;
        at += p.consumed;
        Ok(p)
    };
    let magic = next("magic-number pickle")?;
    if !matches!(magic.root(), pickle::Value::Int(LEGACY_MAGIC)) {
        return Err("a pickle without torch's magic number, so not a torch.save file".into());
    }
    let protocol = next("protocol-version pickle")?;
    if !matches!(protocol.root(), pickle::Value::Int(LEGACY_PROTOCOL)) {
        return Err(format!(
            "legacy protocol version is {}, krust reads {LEGACY_PROTOCOL}",
            protocol.describe_root()
        ));
    }
    let sys_info = next("sys_info pickle")?;
    if !matches!(sys_info.root(), pickle::Value::Dict(_)) {
        return Err("the sys_info pickle is not a dict".into());
    }
    let main = next("main pickle")?;
    let keys = next("storage-key pickle")?;
    let pickle::Value::List(key_ids) = keys.root() else {
        return Err("the storage-key pickle is not a list".into());
    };
    let mut dtypes: HashMap<&str, Option<Dtype>> = HashMap::new();
    for s in main.storages() {
        dtypes.entry(&s.key).or_insert(s.dtype);
    }
    let mut storages = HashMap::new();
    for &id in key_ids {
        let key = match keys.value(id) {
            pickle::Value::Str(s) => s.clone(),
            other => return Err(format!("storage key is a {}", pickle::kind(other))),
        };
        let dtype = dtypes
            .get(key.as_str())
            .ok_or_else(|| format!("storage {key} is listed but no tensor uses it"))?;
        let element_size = dtype.map_or(1, Dtype::size) as u64;
        let count_bytes = bytes.get(at..at + 8).ok_or_else(|| {
            format!("truncated: storage {key}'s element count is missing (byte {at})")
        })?;
        let mut count = [0u8; 8];
        count.copy_from_slice(count_bytes);
        let count = u64::from_le_bytes(count);
        at += 8;
        let left = (bytes.len() - at) as u64;
        let size = count
            .checked_mul(element_size)
            .filter(|&n| n <= left)
            .ok_or_else(|| {
                format!(
                    "storage {key} claims {count} elements of {element_size} bytes but only \
                     {left} bytes are left (truncated or corrupt)"
                )
            })? as usize;
        storages.insert(key, &bytes[at..at + size]);
        at += size;
    }
    Ok(TorchFile {
        pickle: main,
        storages: Storages::Legacy(storages),
    })
}

impl Pickle {
    fn describe_root(&self) -> String {
        match self.root() {
            pickle::Value::Int(i) => i.to_string(),
            other => format!("a {}", pickle::kind(other)),
        }
    }
}

/// Elements of converted output allowed per byte of input file: a uint8 tensor becomes
/// int64 (8 per byte); beyond that only stride-0 or overlapping views could inflate it.
pub(crate) const ELEMENTS_PER_FILE_BYTE: usize = 8;

/// A tensor's values, row-major in its logical shape, converted to f32 or i64.
pub(crate) enum Values {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl TorchFile<'_> {
    /// Reads `tensor`'s elements through its strides. `budget` is the number of output
    /// elements still allowed; it shrinks by the tensor's element count.
    pub(crate) fn materialize(
        &mut self,
        tensor: &TensorRef,
        budget: &mut usize,
    ) -> Result<Values, String> {
        let numel = tensor
            .shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| format!("shape {:?} overflows", tensor.shape))?;
        if numel > *budget {
            return Err(format!(
                "shape {:?} has {numel} elements, more than this file can hold",
                tensor.shape
            ));
        }
        let esize = tensor.dtype.size();
        let (storage, big_endian) = self.storage_bytes(&tensor.storage)?;
        let view_start = usize::try_from(tensor.storage.view_offset)
            .ok()
            .and_then(|o| o.checked_mul(tensor.storage.dtype.map_or(1, Dtype::size)))
            .filter(|&o| o <= storage.len())
            .ok_or_else(|| {
                format!(
                    "storage view offset {} lies outside storage {}",
                    tensor.storage.view_offset, tensor.storage.key
                )
            })?;
        let storage = &storage[view_start..];
        let available = storage.len() / esize;
        if numel > 0 {
            let last = tensor
                .shape
                .iter()
                .zip(&tensor.stride)
                .try_fold(tensor.offset, |acc, (&size, &stride)| {
                    (size - 1).checked_mul(stride)?.checked_add(acc)
                });
            match last {
                Some(last) if last < available => {}
                _ => {
                    return Err(format!(
                        "a {} view (offset {}, shape {:?}, stride {:?}) reaches past storage \
                         {}, which holds {available} elements ({} bytes)",
                        tensor.dtype.name(),
                        tensor.offset,
                        tensor.shape,
                        tensor.stride,
                        tensor.storage.key,
                        storage.len()
                    ))
                }
            }
        }
        *budget -= numel;
        let positions = positions(tensor, numel);
        let read = |p: usize| element(storage, p * esize, esize, big_endian);
        Ok(match tensor.dtype {
            Dtype::F32 => Values::F32(positions.map(|p| f32::from_bits(read(p) as u32)).collect()),
            Dtype::F64 => Values::F32(positions.map(|p| f64::from_bits(read(p)) as f32).collect()),
            Dtype::F16 => Values::F32(positions.map(|p| f16_to_f32(read(p) as u16)).collect()),
            Dtype::BF16 => Values::F32(
                positions
                    .map(|p| f32::from_bits((read(p) as u32) << 16))
                    .collect(),
            ),
            Dtype::I64 => Values::I64(positions.map(|p| read(p) as i64).collect()),
            Dtype::I32 => Values::I64(positions.map(|p| read(p) as u32 as i32 as i64).collect()),
            Dtype::I16 => Values::I64(positions.map(|p| read(p) as u16 as i16 as i64).collect()),
            Dtype::I8 => Values::I64(positions.map(|p| read(p) as u8 as i8 as i64).collect()),
            Dtype::U8 | Dtype::U16 | Dtype::U32 => {
                Values::I64(positions.map(|p| read(p) as i64).collect())
            }
            Dtype::Bool => Values::I64(positions.map(|p| (read(p) != 0) as i64).collect()),
            Dtype::U64 => Values::I64(
                positions
                    .map(|p| i64::try_from(read(p)))
                    .collect::<Result<_, _>>()
                    .map_err(|_| "a uint64 value does not fit in int64".to_string())?,
            ),
        })
    }

    fn storage_bytes(&mut self, storage: &StorageRef) -> Result<(&[u8], bool), String> {
        match &mut self.storages {
            Storages::Legacy(map) => map
                .get(storage.key.as_str())
                .map(|b| (*b, false))
                .ok_or_else(|| format!("storage {} is missing from the file", storage.key)),
            Storages::Zip {
                archive,
                folder,
                big_endian,
                cache,
                budget,
            } => {
                if !cache.contains_key(&storage.key) {
                    let name = format!("{folder}/data/{}", storage.key);
                    let bytes = read_member(archive, &name, budget)?;
                    cache.insert(storage.key.clone(), bytes);
                }
                let bytes = cache
                    .get(&storage.key)
                    .ok_or_else(|| format!("storage {} is missing", storage.key))?;
                Ok((bytes.as_slice(), *big_endian))
            }
        }
    }
}

/// Storage element positions of a strided tensor, in row-major order of its shape.
fn positions(tensor: &TensorRef, numel: usize) -> impl Iterator<Item = usize> + '_ {
    let mut index = vec![0usize; tensor.shape.len()];
    let mut position = tensor.offset;
    (0..numel).map(move |_| {
        let current = position;
        // An odometer over the dimensions; wrapping arithmetic is exact here because every
        // position it lands on was bounds-checked through the last element.
        for d in (0..index.len()).rev() {
            index[d] += 1;
            position = position.wrapping_add(tensor.stride[d]);
            if index[d] < tensor.shape[d] {
                break;
            }
            position = position.wrapping_sub(tensor.stride[d].wrapping_mul(tensor.shape[d]));
            index[d] = 0;
        }
        current
    })
}

/// One element's bytes as an integer; torch stores native byte order, recorded per file.
fn element(storage: &[u8], at: usize, size: usize, big_endian: bool) -> u64 {
    let bytes = &storage[at..at + size];
    let mut buf = [0u8; 8];
    if big_endian {
        for (i, &b) in bytes.iter().rev().enumerate() {
            buf[i] = b;
        }
    } else {
        buf[..size].copy_from_slice(bytes);
    }
    u64::from_le_bytes(buf)
}

/// IEEE half to single precision; exact, since every half value is a float.
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exponent = (h >> 10) & 0x1f;
    let mantissa = (h & 0x3ff) as u32;
    match exponent {
        0 => sign * mantissa as f32 * (1.0 / 16_777_216.0),
        0x1f => f32::from_bits(((h as u32 & 0x8000) << 16) | 0x7f80_0000 | (mantissa << 13)),
        _ => f32::from_bits(
            ((h as u32 & 0x8000) << 16) | ((exponent as u32 + 112) << 23) | (mantissa << 13),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::f16_to_f32;

    #[test]
    fn half_precision_special_values_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }
}
