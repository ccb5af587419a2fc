//! Reader for numpy `.npy` / `.npz` arrays as datasets, and a `.npy` writer for predictions.
//!
//! Inputs (x) are `[N, ...]` arrays. `uint8` inputs are taken as image bytes
//! ([`Samples::Bytes`]): batches divide them by 255, what Keras users do with `x / 255.`
//! before `fit`. Every other numeric dtype becomes f32 and is used as it is.
//!
//! Targets (y): an integer (or bool) `[N]` or `[N, 1]` array holds class indices, the
//! shape of `keras.datasets` labels; a float `[N]` array holds one value per sample; any
//! `[N, K]` array (K > 1, or float) holds value rows such as one-hot labels.
//!
//! The file kind is found from its first bytes (`\x93NUMPY` or a zip archive), not its name.

use std::fs::File;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use npyz::{DType, NpyFile, NpyHeader, Order, TypeChar};

use crate::{DataError, Dataset, Samples, Targets, TrainTest};

const NPY_MAGIC: &[u8] = b"\x93NUMPY";
/// Zip archives start with a local file header, or the end record when empty.
const ZIP_MAGICS: [&[u8]; 2] = [b"PK\x03\x04", b"PK\x05\x06"];
/// Largest integer label read as a class index: a bigger one is surely a regression target
/// stored as integers, and would otherwise make a class list of that length.
pub const MAX_CLASS_LABEL: i64 = u16::MAX as i64;

/// Loads a dataset from numpy arrays: x from `x_path` (`.npy`, or `.npz` with `x_key`), y
/// from `y_path` when given (`.npy`, or `.npz` with `y_key`), else from the same `.npz`.
///
/// Keys default, in a `.npz`, to `x` (else `x_train`) for x, and for y to x's key with its
/// leading `x` turned into `y` (`x_train` -> `y_train`), else `y` (else `y_train` in a
/// separate y archive). Keys are ignored for `.npy` files.
pub fn load_arrays(
    x_path: &Path,
    y_path: Option<&Path>,
    x_key: Option<&str>,
    y_key: Option<&str>,
) -> Result<Dataset, DataError> {
    let x_file = NumpyFile::open(x_path)?;
    let x = x_file.array(x_key, &["x", "x_train"])?;
    let y = match y_path {
        Some(y_path) => NumpyFile::open(y_path)?.array(y_key, &["y", "y_train"])?,
        None => {
            if !x_file.is_archive() {
                return Err(DataError::BadValue {
                    argument: "targets",
                    why: format!(
                        "{} holds only inputs (x); give the targets' file (y) too",
                        x_path.display()
                    ),
                });
            }
            let paired = x.key.as_deref().and_then(|key| key.strip_prefix('x'));
            let default_y = paired.map(|rest| format!("y{rest}"));
            let defaults: Vec<&str> = default_y.iter().map(String::as_str).chain(["y"]).collect();
            x_file.array(y_key, &defaults)?
        }
    };
    dataset(x, y)
}

/// Loads the `x_train`, `y_train`, `x_test`, `y_test` arrays of one `.npz` archive, the
/// layout of the `keras.datasets` downloads (`mnist.npz`).
pub fn load_npz_split(path: &Path) -> Result<TrainTest, DataError> {
    let file = NumpyFile::open(path)?;
    let train = dataset(
        file.array(Some("x_train"), &[])?,
        file.array(Some("y_train"), &[])?,
    )?;
    let test = dataset(
        file.array(Some("x_test"), &[])?,
        file.array(Some("y_test"), &[])?,
    )?;
    Ok(TrainTest { train, test })
}

/// Reads inputs alone (for prediction): the samples of `path` (`.npy`, or `.npz` with `key`,
/// default `x` else `x_train`/`x_test`) and the shape of one sample, converted as for
/// [`load_arrays`].
pub fn load_array_inputs(
    path: &Path,
    key: Option<&str>,
) -> Result<(Samples, Vec<usize>), DataError> {
    let x = NumpyFile::open(path)?.array(key, &["x", "x_train", "x_test"])?;
    let (samples, sample_shape, _) = inputs(x)?;
    Ok((samples, sample_shape))
}

/// Writes `data` as a little-endian float32 `.npy` array of `shape`, atomically: into a
/// temporary file in the same directory, renamed over `path` once complete, so a reader
/// never sees half a file.
pub fn save_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), DataError> {
    let elements = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX);
    if elements != data.len() {
        return Err(DataError::BadValue {
            argument: "array shape",
            why: format!(
                "shape {shape:?} holds {elements} values but {} were given for {}",
                data.len(),
                path.display()
            ),
        });
    }
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad with spaces and end with a newline so the data starts 64-byte aligned, as numpy
    // writes it (10 bytes of magic, version and header length precede the header).
    let unpadded = NPY_MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| DataError::BadValue {
        argument: "array shape",
        why: format!("shape {shape:?} is too long for a .npy header"),
    })?;

    let file_name = path.file_name().map_or_else(
        || "array.npy".into(),
        |name| name.to_string_lossy().into_owned(),
    );
    let temporary = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let written = (|| -> std::io::Result<()> {
        let mut out = std::io::BufWriter::new(File::create(&temporary)?);
        out.write_all(NPY_MAGIC)?;
        out.write_all(&[1, 0])?;
        out.write_all(&header_len.to_le_bytes())?;
        out.write_all(header.as_bytes())?;
        for value in data {
            out.write_all(&value.to_le_bytes())?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()
    })();
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(io_error(&temporary)(source));
    }
    std::fs::rename(&temporary, path).map_err(|source| {
        let _ = std::fs::remove_file(&temporary);
        io_error(path)(source)
    })
}

/// One array's values, in the few element types the dataset needs.
enum Elements {
    /// `uint8`, kept as bytes.
    Bytes(Vec<u8>),
    /// Every other integer type, and bool as 0/1.
    Integers(Vec<i64>),
    /// float32, and float64 narrowed to f32.
    Floats(Vec<f32>),
}

/// An array read from a file, C-ordered, with the name errors call it by.
struct Array {
    /// `path` for a `.npy`, `path[key]` for an array in a `.npz`.
    name: String,
    /// The key inside a `.npz`; `None` for a `.npy`.
    key: Option<String>,
    shape: Vec<usize>,
    elements: Elements,
}

/// The bytes of a `.npy` or `.npz` file, told apart by their magic.
struct NumpyFile {
    path: PathBuf,
    bytes: Vec<u8>,
    archive: bool,
}

impl NumpyFile {
    fn open(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let archive = ZIP_MAGICS.iter().any(|magic| bytes.starts_with(magic));
        if !archive && !bytes.starts_with(NPY_MAGIC) {
            let start = String::from_utf8_lossy(&bytes[..bytes.len().min(8)]).into_owned();
            return Err(DataError::NotNumpy {
                path: path.to_path_buf(),
                start,
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            bytes,
            archive,
        })
    }

    fn is_archive(&self) -> bool {
        self.archive
    }

    /// The whole `.npy`, or from a `.npz` the array `key`, else the first of `defaults`
    /// present in the archive.
    fn array(&self, key: Option<&str>, defaults: &[&str]) -> Result<Array, DataError> {
        if !self.archive {
            return read_npy(&self.path.display().to_string(), None, &self.bytes);
        }
        let corrupt = |error: zip::result::ZipError| DataError::CorruptArchive {
            path: self.path.clone(),
            why: error.to_string(),
        };
        let mut archive = zip::ZipArchive::new(Cursor::new(&self.bytes[..])).map_err(corrupt)?;
        // (key, entry name): numpy names entries `key.npy`, an archive made by hand may not.
        let mut entries: Vec<(String, String)> = Vec::new();
        for name in archive.file_names() {
            let name = name.map_err(corrupt)?;
            let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
            entries.push((key, name.into_owned()));
        }
        entries.sort();
        let find = |wanted: &str| entries.iter().find(|(key, _)| key == wanted);
        let chosen = match key {
            Some(key) => find(key),
            None => defaults.iter().find_map(|wanted| find(wanted)),
        };
        let Some((chosen, entry_name)) = chosen else {
            let available: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
            return Err(DataError::MissingArrayKey {
                path: self.path.clone(),
                key: key.map_or_else(|| defaults.join("' or '"), str::to_string),
                available: available.join(", "),
            });
        };
        let name = format!("{}[{chosen}]", self.path.display());
        let mut entry = archive.by_name(entry_name).map_err(corrupt)?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|error| DataError::CorruptArchive {
                path: self.path.clone(),
                why: format!("cannot inflate {chosen}: {error}"),
            })?;
        read_npy(&name, Some(chosen.clone()), &bytes)
    }
}

/// Parses the `.npy` bytes of the array called `name`.
fn read_npy(name: &str, key: Option<String>, bytes: &[u8]) -> Result<Array, DataError> {
    let corrupt = |why: String| DataError::CorruptArray {
        array: name.to_string(),
        why,
    };
    let mut data = bytes;
    let header = NpyHeader::from_reader(&mut data).map_err(|e| corrupt(e.to_string()))?;
    let DType::Plain(type_str) = header.dtype() else {
        return Err(unsupported(name, &header));
    };
    let shape: Vec<usize> = header
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| corrupt(format!("shape {:?} does not fit in memory", header.shape())))?;
    let item_size = type_str.num_bytes().unwrap_or(0);
    let needed = shape
        .iter()
        .try_fold(item_size, |n, &d| n.checked_mul(d))
        .ok_or_else(|| corrupt(format!("shape {shape:?} does not fit in memory")))?;
    // Checked before reading so a header that lies cannot make us allocate for it.
    if data.len() < needed {
        return Err(corrupt(format!(
            "truncated: shape {shape:?} of {} needs {needed} data bytes, found {}",
            type_str,
            data.len()
        )));
    }
    let order = header.order();
    let file = NpyFile::with_header(header, data);
    let read_error = |e: std::io::Error| corrupt(e.to_string());
    let elements = match (type_str.type_char(), item_size) {
        (TypeChar::Uint, 1) => Elements::Bytes(file.into_vec::<u8>().map_err(read_error)?),
        (TypeChar::Float, 4) => Elements::Floats(file.into_vec::<f32>().map_err(read_error)?),
        (TypeChar::Float, 8) => Elements::Floats(
            file.into_vec::<f64>()
                .map_err(read_error)?
                .into_iter()
                .map(|v| v as f32)
                .collect(),
        ),
        (TypeChar::Int, 1) => integers(file.into_vec::<i8>().map_err(read_error)?),
        (TypeChar::Int, 2) => integers(file.into_vec::<i16>().map_err(read_error)?),
        (TypeChar::Int, 4) => integers(file.into_vec::<i32>().map_err(read_error)?),
        (TypeChar::Int, 8) => integers(file.into_vec::<i64>().map_err(read_error)?),
        (TypeChar::Uint, 2) => integers(file.into_vec::<u16>().map_err(read_error)?),
        (TypeChar::Uint, 4) => integers(file.into_vec::<u32>().map_err(read_error)?),
        (TypeChar::Uint, 8) => Elements::Integers(
            file.into_vec::<u64>()
                .map_err(read_error)?
                .into_iter()
                // Saturating: only labels are integers this large, and those are rejected.
                .map(|v| i64::try_from(v).unwrap_or(i64::MAX))
                .collect(),
        ),
        (TypeChar::Bool, 1) => Elements::Integers(
            file.into_vec::<bool>()
                .map_err(read_error)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        _ => return Err(unsupported(name, file.header())),
    };
    let elements = match order {
        Order::C => elements,
        Order::Fortran => match elements {
            Elements::Bytes(v) => Elements::Bytes(fortran_to_c(&v, &shape)),
            Elements::Integers(v) => Elements::Integers(fortran_to_c(&v, &shape)),
            Elements::Floats(v) => Elements::Floats(fortran_to_c(&v, &shape)),
        },
    };
    Ok(Array {
        name: name.to_string(),
        key,
        shape,
        elements,
    })
}

fn integers<T: Into<i64>>(values: Vec<T>) -> Elements {
    Elements::Integers(values.into_iter().map(Into::into).collect())
}

fn unsupported(name: &str, header: &NpyHeader) -> DataError {
    DataError::UnsupportedDtype {
        array: name.to_string(),
        dtype: header.dtype().descr(),
    }
}

/// Reorders a column-major (`fortran_order: True`) array into row-major order.
fn fortran_to_c<T: Copy>(values: &[T], shape: &[usize]) -> Vec<T> {
    if shape.len() < 2 || values.is_empty() {
        return values.to_vec();
    }
    // Walk the row-major index like an odometer (last axis fastest), tracking the offset of
    // the same element in column-major storage, where axis k has stride prod(shape[..k]).
    let strides: Vec<usize> = shape
        .iter()
        .scan(1, |stride, &d| {
            let this = *stride;
            *stride *= d;
            Some(this)
        })
        .collect();
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0;
    let mut out = Vec::with_capacity(values.len());
    for _ in 0..values.len() {
        out.push(values[offset]);
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            offset += strides[axis];
            if index[axis] < shape[axis] {
                break;
            }
            offset -= shape[axis] * strides[axis];
            index[axis] = 0;
        }
    }
    out
}

/// The samples and per-sample shape of an x array, and its sample count.
fn inputs(x: Array) -> Result<(Samples, Vec<usize>, usize), DataError> {
    let Some((&count, rest)) = x.shape.split_first() else {
        return Err(DataError::BadArray {
            array: x.name,
            why: "x is a single number; expected samples along the first axis, [N, ...]".into(),
        });
    };
    if count == 0 {
        return Err(DataError::BadArray {
            array: x.name,
            why: format!("x of shape {:?} holds no samples", x.shape),
        });
    }
    let sample_shape = match rest {
        [] => vec![1],
        // A stack of 2-D images, as MNIST ships: one channel, so convolutions see HWC.
        [height, width] => vec![*height, *width, 1],
        _ => rest.to_vec(),
    };
    let samples = match x.elements {
        Elements::Bytes(bytes) => Samples::Bytes(bytes),
        Elements::Integers(values) => {
            Samples::Floats(values.into_iter().map(|v| v as f32).collect())
        }
        Elements::Floats(values) => Samples::Floats(values),
    };
    Ok((samples, sample_shape, count))
}

/// The targets held by a y array (see the module notes for which shapes mean what).
fn targets(y: Array) -> Result<Targets, DataError> {
    let name = y.name;
    let (rows, width) = match y.shape[..] {
        [rows] => (rows, None),
        [rows, width] => (rows, Some(width)),
        _ => {
            return Err(DataError::BadArray {
                array: name,
                why: format!(
                    "y of shape {:?}; expected [N] labels or values, or [N, K] rows",
                    y.shape
                ),
            })
        }
    };
    let labels: Vec<i64> = match (y.elements, width) {
        (Elements::Bytes(bytes), None | Some(1)) => bytes.into_iter().map(i64::from).collect(),
        (Elements::Integers(values), None | Some(1)) => values,
        (elements, width) => {
            let width = width.unwrap_or(1);
            if width == 0 && rows > 0 {
                return Err(DataError::BadArray {
                    array: name,
                    why: format!("y of shape {:?} has no values per sample", y.shape),
                });
            }
            let values = match elements {
                Elements::Bytes(bytes) => bytes.into_iter().map(f32::from).collect(),
                Elements::Integers(values) => values.into_iter().map(|v| v as f32).collect(),
                Elements::Floats(values) => values,
            };
            return Ok(Targets::Values { values, width });
        }
    };
    if let Some((index, label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &label)| !(0..=MAX_CLASS_LABEL).contains(&label))
    {
        return Err(DataError::BadArray {
            array: name,
            why: format!(
                "label at index {index} is {label}; integer y holds class indices from 0 \
                 to {MAX_CLASS_LABEL} (store regression targets as floats)"
            ),
        });
    }
    let num_classes = labels.iter().max().map_or(0, |&m| m as usize + 1);
    Ok(Targets::Classes {
        // In range 0..=MAX_CLASS_LABEL, checked above.
        labels: labels.into_iter().map(|l| l as u32).collect(),
        num_classes,
    })
}

fn dataset(x: Array, y: Array) -> Result<Dataset, DataError> {
    let x_name = x.name.clone();
    let y_name = y.name.clone();
    let y_count = y.shape.first().copied().unwrap_or(0);
    let (samples, sample_shape, x_count) = inputs(x)?;
    if y_count != x_count && !y.shape.is_empty() {
        return Err(DataError::ArrayLengthMismatch {
            x_array: x_name,
            y_array: y_name,
            x_count,
            y_count,
        });
    }
    let targets = targets(y)?;
    Dataset::new(
        &format!("{x_name} and {y_name}"),
        samples,
        sample_shape,
        targets,
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{f32_bytes, npy_bytes, npz_bytes, TempDir};

    fn floats(dataset: &Dataset) -> &[f32] {
        match dataset.samples() {
            Samples::Floats(values) => values,
            Samples::Bytes(_) => panic!("expected float samples"),
        }
    }

    #[test]
    fn float_x_and_integer_y_give_float_samples_and_classes() {
        let dir = TempDir::new("npy-classes");
        let x = dir.write(
            "x.npy",
            &npy_bytes("<f4", false, &[3, 2], &f32_bytes(&[1., 2., 3., 4., 5., 6.])),
        );
        let labels: Vec<u8> = [0i64, 2, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let y = dir.write("y.npy", &npy_bytes("<i8", false, &[3], &labels));
        let data = load_arrays(&x, Some(&y), None, None).expect("loads");
        assert_eq!(data.sample_shape(), &[2]);
        assert_eq!(floats(&data), &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(data.labels(), Some(&[0, 2, 1][..]));
        assert_eq!(data.num_classes(), 3);
    }

    #[test]
    fn uint8_x_is_image_bytes_and_a_stack_of_2d_arrays_gets_one_channel() {
        let dir = TempDir::new("npy-bytes");
        let x = dir.write("x.npy", &npy_bytes("|u1", false, &[2, 2, 3], &[7; 12]));
        let y = dir.write("y.npy", &npy_bytes("|u1", false, &[2, 1], &[4, 1]));
        let data = load_arrays(&x, Some(&y), None, None).expect("loads");
        assert!(data.is_bytes(), "u8 inputs are scaled by 1/255 in batches");
        assert_eq!(data.image_dims(), Some((2, 3, 1)));
        assert_eq!(
            data.labels(),
            Some(&[4, 1][..]),
            "[N, 1] integer y is labels"
        );
        let mut sample = vec![0.0; 6];
        data.write_sample(0, &mut sample);
        assert_eq!(sample[0], 7.0 / 255.0);
    }

    #[test]
    fn float64_and_big_endian_values_are_read_as_f32() {
        let dir = TempDir::new("npy-f64");
        let x_values: Vec<u8> = [0.5f64, -1.25]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let x = dir.write("x.npy", &npy_bytes("<f8", false, &[2], &x_values));
        let y_values: Vec<u8> = [3.5f32, 4.0].iter().flat_map(|v| v.to_be_bytes()).collect();
        let y = dir.write("y.npy", &npy_bytes(">f4", false, &[2], &y_values));
        let data = load_arrays(&x, Some(&y), None, None).expect("loads");
        assert_eq!(data.sample_shape(), &[1]);
        assert_eq!(floats(&data), &[0.5, -1.25]);
        assert_eq!(
            data.targets(),
            &Targets::Values {
                values: vec![3.5, 4.0],
                width: 1
            }
        );
    }

    #[test]
    fn two_dimensional_y_is_value_rows() {
        let dir = TempDir::new("npy-rows");
        let x = dir.write(
            "x.npy",
            &npy_bytes("<f4", false, &[2, 1], &f32_bytes(&[1., 2.])),
        );
        let one_hot: Vec<u8> = [0i32, 1, 0, 1, 0, 0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let y = dir.write("y.npy", &npy_bytes("<i4", false, &[2, 3], &one_hot));
        let data = load_arrays(&x, Some(&y), None, None).expect("loads");
        assert_eq!(data.target_width(), 3);
        assert_eq!(
            data.targets(),
            &Targets::Values {
                values: vec![0., 1., 0., 1., 0., 0.],
                width: 3
            }
        );
    }

    #[test]
    fn fortran_order_arrays_are_reordered_to_rows() {
        let dir = TempDir::new("npy-fortran");
        // The 2x3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column.
        let x = dir.write(
            "x.npy",
            &npy_bytes("<f4", true, &[2, 3], &f32_bytes(&[1., 4., 2., 5., 3., 6.])),
        );
        let y = dir.write("y.npy", &npy_bytes("|b1", false, &[2], &[1, 0]));
        let data = load_arrays(&x, Some(&y), None, None).expect("loads");
        assert_eq!(floats(&data), &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(data.labels(), Some(&[1, 0][..]), "bool labels are 0/1");
        // A rank-3 case: the element at (i, j, k) of shape (2, 3, 4) is 100i + 10j + k.
        let shape = [2, 3, 4];
        let mut column_major = Vec::new();
        for k in 0..4 {
            for j in 0..3 {
                for i in 0..2 {
                    column_major.push(100 * i + 10 * j + k);
                }
            }
        }
        let rows = fortran_to_c(&column_major, &shape);
        assert_eq!(rows[..5], [0, 1, 2, 3, 10]);
        assert_eq!(rows[23], 123);
    }

    #[test]
    fn mismatched_x_and_y_lengths_name_both_files_and_counts() {
        let dir = TempDir::new("npy-mismatch");
        let x = dir.write("inputs.npy", &npy_bytes("|u1", false, &[3, 2], &[0; 6]));
        let y = dir.write("targets.npy", &npy_bytes("|u1", false, &[2], &[0, 1]));
        let error = load_arrays(&x, Some(&y), None, None).expect_err("3 vs 2");
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::ArrayLengthMismatch {
                    x_count: 3,
                    y_count: 2,
                    ..
                }
            ),
            "{message}"
        );
        assert!(
            message.contains("inputs.npy")
                && message.contains("targets.npy")
                && message.contains("3 samples")
                && message.contains("has 2"),
            "{message}"
        );
    }

    #[test]
    fn npz_defaults_to_x_and_y_then_x_train_and_y_train() {
        let dir = TempDir::new("npz-defaults");
        let plain = dir.write(
            "plain.npz",
            &npz_bytes(
                &[
                    ("x", npy_bytes("<f4", false, &[1, 2], &f32_bytes(&[1., 2.]))),
                    ("y", npy_bytes("|u1", false, &[1], &[3])),
                ],
                false,
            ),
        );
        let data = load_arrays(&plain, None, None, None).expect("x and y");
        assert_eq!(floats(&data), &[1., 2.]);
        assert_eq!(data.labels(), Some(&[3][..]));

        let keras = dir.write("mnist.npz", &keras_npz());
        let data = load_arrays(&keras, None, None, None).expect("x_train and y_train");
        assert_eq!(data.len(), 2);
        assert_eq!(data.labels(), Some(&[5, 0][..]));
        let data = load_arrays(&keras, None, Some("x_test"), None).expect("paired y_test");
        assert_eq!(data.labels(), Some(&[7][..]));
    }

    /// Arrays shaped like keras.datasets' mnist.npz, deflated as `savez_compressed` does.
    fn keras_npz() -> Vec<u8> {
        npz_bytes(
            &[
                (
                    "x_train",
                    npy_bytes("|u1", false, &[2, 2, 2], &[1, 2, 3, 4, 5, 6, 7, 8]),
                ),
                ("y_train", npy_bytes("|u1", false, &[2], &[5, 0])),
                ("x_test", npy_bytes("|u1", false, &[1, 2, 2], &[9, 9, 9, 9])),
                ("y_test", npy_bytes("|u1", false, &[1], &[7])),
            ],
            true,
        )
    }

    #[test]
    fn npz_split_reads_the_keras_dataset_layout() {
        let dir = TempDir::new("npz-split");
        let path = dir.write("mnist.npz", &keras_npz());
        let data = load_npz_split(&path).expect("four arrays");
        assert_eq!(data.train.image_dims(), Some((2, 2, 1)));
        assert_eq!(data.train.sample_bytes(1), Some(&[5, 6, 7, 8][..]));
        assert_eq!(data.test.labels(), Some(&[7][..]));
    }

    #[test]
    fn missing_npz_key_lists_the_available_arrays() {
        let dir = TempDir::new("npz-missing-key");
        let path = dir.write(
            "data.npz",
            &npz_bytes(
                &[
                    ("images", npy_bytes("|u1", false, &[1, 1], &[0])),
                    ("labels", npy_bytes("|u1", false, &[1], &[0])),
                ],
                false,
            ),
        );
        let message = load_arrays(&path, None, None, None)
            .expect_err("no x")
            .to_string();
        assert!(
            message.contains("data.npz")
                && message.contains("'x' or 'x_train'")
                && message.contains("the archive holds: images, labels"),
            "{message}"
        );
        let message = load_arrays(&path, None, Some("images"), Some("targets"))
            .expect_err("no targets")
            .to_string();
        assert!(message.contains("'targets'"), "{message}");
        let data = load_arrays(&path, None, Some("images"), Some("labels")).expect("keys");
        assert_eq!(data.len(), 1);
        let error = load_npz_split(&path).expect_err("not the keras layout");
        assert!(
            matches!(error, DataError::MissingArrayKey { .. }),
            "{error}"
        );
    }

    #[test]
    fn unsupported_dtype_and_corrupt_files_are_errors_naming_the_file() {
        let dir = TempDir::new("npy-errors");
        let y = dir.write("y.npy", &npy_bytes("|u1", false, &[1], &[0]));
        let cases: [(&str, Vec<u8>, &str); 5] = [
            (
                "complex.npy",
                npy_bytes("<c8", false, &[1], &[0; 8]),
                "unsupported dtype '<c8'",
            ),
            (
                "text.npy",
                npy_bytes("<U3", false, &[1], &[0; 12]),
                "unsupported dtype",
            ),
            (
                "header.npy",
                b"\x93NUMPY\x01\x00\x05\x00{'de".to_vec(),
                "corrupt .npy",
            ),
            (
                "short.npy",
                npy_bytes("<f4", false, &[1, 4], &[0; 10]),
                "needs 16 data bytes, found 10",
            ),
            (
                "other.npy",
                b"P6\n2 2\n255\n".to_vec(),
                "not a .npy or .npz file",
            ),
        ];
        for (name, bytes, expected) in cases {
            let x = dir.write(name, &bytes);
            let message = load_arrays(&x, Some(&y), None, None)
                .expect_err(name)
                .to_string();
            assert!(
                message.contains(name) && message.contains(expected),
                "{name}: {message}"
            );
        }
        let npz = npz_bytes(&[("x", npy_bytes("|u1", false, &[1], &[0]))], false);
        let cut = dir.write("cut.npz", &npz[..npz.len() - 10]);
        let message = load_arrays(&cut, None, None, None)
            .expect_err("cut")
            .to_string();
        assert!(
            message.contains("cut.npz") && message.contains("corrupt .npz"),
            "{message}"
        );
    }

    #[test]
    fn bad_targets_are_errors() {
        let dir = TempDir::new("npy-bad-targets");
        let x = dir.write("x.npy", &npy_bytes("|u1", false, &[2], &[0, 0]));
        let negative: Vec<u8> = [1i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let y = dir.write("neg.npy", &npy_bytes("<i4", false, &[2], &negative));
        let message = load_arrays(&x, Some(&y), None, None)
            .expect_err("negative label")
            .to_string();
        assert!(
            message.contains("neg.npy") && message.contains("index 1 is -1"),
            "{message}"
        );
        let y = dir.write("cube.npy", &npy_bytes("|u1", false, &[2, 1, 1], &[0, 0]));
        let message = load_arrays(&x, Some(&y), None, None)
            .expect_err("rank 3")
            .to_string();
        assert!(message.contains("[N, K]"), "{message}");
        let message = load_arrays(&x, None, None, None)
            .expect_err("no y")
            .to_string();
        assert!(message.contains("x.npy holds only inputs"), "{message}");
    }

    #[test]
    fn saved_npy_reads_back_and_replaces_the_file_atomically() {
        let dir = TempDir::new("npy-save");
        let path = dir.path().join("predictions.npy");
        std::fs::write(&path, b"old contents").expect("write");
        let values = [0.25f32, -1.0, 3.5, 0.0, 1e-3, 7.0];
        save_npy(&path, &[3, 2], &values).expect("saves");
        let bytes = std::fs::read(&path).expect("read");
        assert_eq!(
            (bytes.len() - values.len() * 4) % 64,
            0,
            "data 64-byte aligned"
        );
        let (samples, shape) = load_array_inputs(&path, None).expect("reads back");
        assert_eq!(shape, vec![2]);
        assert_eq!(samples, Samples::Floats(values.to_vec()));
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("predictions.npy")]);

        save_npy(&path, &[4], &values[..4]).expect("rank 1");
        let (_, shape) = load_array_inputs(&path, None).expect("reads back");
        assert_eq!(shape, vec![1]);
        let error = save_npy(&path, &[4, 2], &values).expect_err("8 != 6");
        assert!(
            error.to_string().contains("holds 8 values but 6"),
            "{error}"
        );
        let error = save_npy(&dir.path().join("no/such/dir.npy"), &[1], &[1.0]);
        assert!(matches!(error, Err(DataError::Io { .. })));
    }
}
