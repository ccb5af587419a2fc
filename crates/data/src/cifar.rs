//! Readers for the CIFAR-10 and CIFAR-100 binary versions, converted to 32x32x3 HWC byte images.
//!
//! Each record is the label byte(s) followed by 3072 pixel bytes stored channel-planar: the
//! 1024 red values of the 32x32 image row-major, then the 1024 green, then the 1024 blue.
//! Every other reader in this crate is channels-last, so records are interleaved on load.
//! Files may be gzipped (detected by the magic bytes, as for IDX files).

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::idx::MAX_DATA_BYTES;
use crate::{DataError, Dataset, TrainTest};

/// Side of a CIFAR image in pixels.
pub const IMAGE_SIDE: usize = 32;
/// Pixel bytes per record: 3 planes of 32x32.
const PIXEL_BYTES: usize = 3 * IMAGE_SIDE * IMAGE_SIDE;
const PLANE: usize = IMAGE_SIDE * IMAGE_SIDE;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// CIFAR-10 class names, indexed by label, as listed in `batches.meta.txt`.
pub const CIFAR10_CLASS_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Sub-folder that the CIFAR-10 binary archive extracts to.
pub const CIFAR10_SUBFOLDER: &str = "cifar-10-batches-bin";
/// Sub-folder that the CIFAR-100 binary archive extracts to.
pub const CIFAR100_SUBFOLDER: &str = "cifar-100-binary";

const CIFAR10_TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const CIFAR10_TEST_FILE: &str = "test_batch.bin";
const CIFAR10_NAMES_FILE: &str = "batches.meta.txt";

/// Which of CIFAR-100's two labels a dataset uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cifar100Label {
    /// The 100 classes (`label_mode="fine"` in Keras, its default).
    #[default]
    Fine,
    /// The 20 superclasses (`label_mode="coarse"`).
    Coarse,
}

impl Cifar100Label {
    fn num_classes(self) -> usize {
        match self {
            Cifar100Label::Fine => 100,
            Cifar100Label::Coarse => 20,
        }
    }

    fn names_file(self) -> &'static str {
        match self {
            Cifar100Label::Fine => "fine_label_names.txt",
            Cifar100Label::Coarse => "coarse_label_names.txt",
        }
    }
}

/// The layout of one record format: how many label bytes precede the pixels, which of them
/// is the label used, and how many classes each label byte ranges over.
struct RecordFormat {
    /// Classes of each label byte, in file order (CIFAR-100: coarse then fine).
    label_classes: &'static [usize],
    /// Index of the label byte that becomes the dataset's class.
    used_label: usize,
}

impl RecordFormat {
    const CIFAR10: RecordFormat = RecordFormat {
        label_classes: &[10],
        used_label: 0,
    };

    fn cifar100(label: Cifar100Label) -> RecordFormat {
        RecordFormat {
            label_classes: &[20, 100],
            used_label: match label {
                Cifar100Label::Coarse => 0,
                Cifar100Label::Fine => 1,
            },
        }
    }

    fn record_size(&self) -> usize {
        self.label_classes.len() + PIXEL_BYTES
    }
}

/// HWC image bytes and labels read from one or more record files.
#[derive(Default)]
struct Records {
    pixels: Vec<u8>,
    labels: Vec<u32>,
}

/// Loads one CIFAR-10 batch file (`data_batch_N.bin` or `test_batch.bin`, raw or gzipped),
/// labelled with the standard CIFAR-10 class names.
pub fn load_cifar10_file(path: &Path) -> Result<Dataset, DataError> {
    let mut records = Records::default();
    read_records(path, &RecordFormat::CIFAR10, &mut records)?;
    images(path, records, standard_cifar10_names())
}

/// Loads one CIFAR-100 file (`train.bin` or `test.bin`, raw or gzipped) with the chosen
/// label; class names are "0", "1", ... (the names live in a separate file), all 100 (or
/// 20) of them whichever labels the file happens to hold.
pub fn load_cifar100_file(path: &Path, label: Cifar100Label) -> Result<Dataset, DataError> {
    let mut records = Records::default();
    read_records(path, &RecordFormat::cifar100(label), &mut records)?;
    images(path, records, numbered_names(label.num_classes()))
}

/// Loads CIFAR-10 from `dir` or its `cifar-10-batches-bin/` sub-folder: the five
/// `data_batch_N.bin` files as the training set (50,000 images upstream) and
/// `test_batch.bin` as the test set, each raw or gzipped (`.gz`). Class names come from
/// `batches.meta.txt` when present, else the standard ten.
pub fn load_cifar10(dir: &Path) -> Result<TrainTest, DataError> {
    let dir = dataset_dir(dir, CIFAR10_SUBFOLDER)?;
    let format = RecordFormat::CIFAR10;
    let mut train = Records::default();
    for name in CIFAR10_TRAIN_FILES {
        read_records(
            &find_file(&dir, name, CIFAR10_SUBFOLDER)?,
            &format,
            &mut train,
        )?;
    }
    let test_path = find_file(&dir, CIFAR10_TEST_FILE, CIFAR10_SUBFOLDER)?;
    let mut test = Records::default();
    read_records(&test_path, &format, &mut test)?;
    let names = match class_names_file(&dir, CIFAR10_NAMES_FILE, 10)? {
        Some(names) => names,
        None => standard_cifar10_names(),
    };
    Ok(TrainTest {
        train: images(&dir, train, names.clone())?,
        test: images(&test_path, test, names)?,
    })
}

/// Loads CIFAR-100 from `dir` or its `cifar-100-binary/` sub-folder: `train.bin` and
/// `test.bin`, raw or gzipped, labelled by the fine (100) or coarse (20) label. Class names
/// come from `fine_label_names.txt` / `coarse_label_names.txt` when present.
pub fn load_cifar100(dir: &Path, label: Cifar100Label) -> Result<TrainTest, DataError> {
    let dir = dataset_dir(dir, CIFAR100_SUBFOLDER)?;
    let format = RecordFormat::cifar100(label);
    let train_path = find_file(&dir, "train.bin", CIFAR100_SUBFOLDER)?;
    let test_path = find_file(&dir, "test.bin", CIFAR100_SUBFOLDER)?;
    let mut train = Records::default();
    read_records(&train_path, &format, &mut train)?;
    let mut test = Records::default();
    read_records(&test_path, &format, &mut test)?;
    // Without a names file the class count still has to be the full 100 (or 20), not the
    // largest label seen, so train and test agree.
    let names = class_names_file(&dir, label.names_file(), label.num_classes())?
        .unwrap_or_else(|| numbered_names(label.num_classes()));
    Ok(TrainTest {
        train: images(&train_path, train, names.clone())?,
        test: images(&test_path, test, names)?,
    })
}

fn standard_cifar10_names() -> Vec<String> {
    CIFAR10_CLASS_NAMES.iter().map(|n| n.to_string()).collect()
}

fn numbered_names(count: usize) -> Vec<String> {
    (0..count).map(|c| c.to_string()).collect()
}

fn images(source: &Path, records: Records, names: Vec<String>) -> Result<Dataset, DataError> {
    Dataset::images(
        &source.display().to_string(),
        records.pixels,
        (IMAGE_SIDE, IMAGE_SIDE, 3),
        records.labels,
        names,
    )
}

/// `dir` itself when it holds the files directly, else `dir/subfolder` when that exists.
fn dataset_dir(dir: &Path, subfolder: &str) -> Result<PathBuf, DataError> {
    if !dir.is_dir() {
        let dir = dir.to_path_buf();
        return Err(if dir.exists() {
            DataError::NotADirectory { dir }
        } else {
            DataError::MissingDirectory { dir }
        });
    }
    let nested = dir.join(subfolder);
    Ok(if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    })
}

/// `dir/name.gz` if it exists, else `dir/name` (the gzip preference of the IDX readers).
fn find_file(dir: &Path, name: &str, subfolder: &'static str) -> Result<PathBuf, DataError> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| DataError::MissingDatasetFile {
            dir: dir.to_path_buf(),
            file: name.to_string(),
            subfolder,
        })
}

/// The non-empty lines of `dir/name` when that file exists; there must be `expected` of them.
fn class_names_file(
    dir: &Path,
    name: &str,
    expected: usize,
) -> Result<Option<Vec<String>>, DataError> {
    let path = dir.join(name);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    if names.len() != expected {
        return Err(DataError::ClassNameCount {
            path,
            found: names.len(),
            expected,
        });
    }
    Ok(Some(names))
}

/// Appends the records of `path` to `out`, pixels converted from planar RGB to HWC.
fn read_records(path: &Path, format: &RecordFormat, out: &mut Records) -> Result<(), DataError> {
    let bytes = read_maybe_gzipped(path)?;
    let record_size = format.record_size();
    let records = bytes.len() / record_size;
    if bytes.len() % record_size != 0 {
        return Err(DataError::TruncatedRecords {
            path: path.to_path_buf(),
            records,
            record_size,
            found: bytes.len(),
        });
    }
    if records == 0 {
        return Err(DataError::NoRecords {
            path: path.to_path_buf(),
        });
    }
    let label_bytes = format.label_classes.len();
    out.pixels.reserve(records * PIXEL_BYTES);
    out.labels.reserve(records);
    for (index, record) in bytes.chunks_exact(record_size).enumerate() {
        for (&value, &num_classes) in record.iter().zip(format.label_classes) {
            if usize::from(value) >= num_classes {
                return Err(DataError::LabelOutOfRange {
                    path: path.to_path_buf(),
                    index,
                    value: u32::from(value),
                    num_classes,
                });
            }
        }
        out.labels.push(u32::from(record[format.used_label]));
        let planes = &record[label_bytes..];
        for pixel in 0..PLANE {
            out.pixels.extend_from_slice(&[
                planes[pixel],
                planes[PLANE + pixel],
                planes[2 * PLANE + pixel],
            ]);
        }
    }
    Ok(())
}

/// The whole file, decompressed when it starts with the gzip magic; at most
/// [`MAX_DATA_BYTES`] are kept so a bad archive cannot exhaust memory.
fn read_maybe_gzipped(path: &Path) -> Result<Vec<u8>, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut raw = Vec::new();
    File::open(path)
        .map_err(io_error)?
        .take(MAX_DATA_BYTES as u64 + 1)
        .read_to_end(&mut raw)
        .map_err(io_error)?;
    let bytes = if raw.starts_with(&GZIP_MAGIC) {
        let mut inflated = Vec::new();
        MultiGzDecoder::new(BufReader::new(&raw[..]))
            .take(MAX_DATA_BYTES as u64 + 1)
            .read_to_end(&mut inflated)
            .map_err(|source| DataError::CorruptGzip {
                path: path.to_path_buf(),
                source,
            })?;
        inflated
    } else {
        raw
    };
    if bytes.len() > MAX_DATA_BYTES {
        return Err(DataError::BadValue {
            argument: "CIFAR file",
            why: format!("{} holds more than {MAX_DATA_BYTES} bytes", path.display()),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{gzip_bytes, TempDir};

    /// One record: the label bytes, then the planes with red = `base`, green = `base + 1`,
    /// blue = `base + 2` everywhere except pixel (row 1, column 2), which holds 10, 20, 30.
    fn record(labels: &[u8], base: u8) -> Vec<u8> {
        let mut bytes = labels.to_vec();
        for channel in 0..3u8 {
            let mut plane = vec![base.wrapping_add(channel); PLANE];
            plane[IMAGE_SIDE + 2] = 10 * (channel + 1);
            bytes.extend_from_slice(&plane);
        }
        bytes
    }

    fn records(labels: &[&[u8]]) -> Vec<u8> {
        labels
            .iter()
            .enumerate()
            .flat_map(|(i, l)| record(l, 100 + i as u8))
            .collect()
    }

    fn pixel(dataset: &Dataset, index: usize, row: usize, column: usize) -> [u8; 3] {
        let image = dataset.sample_bytes(index).expect("bytes");
        let at = (row * IMAGE_SIDE + column) * 3;
        [image[at], image[at + 1], image[at + 2]]
    }

    fn write_cifar10(dir: &Path, suffix: &str) {
        std::fs::create_dir_all(dir).expect("create dir");
        for (batch, name) in CIFAR10_TRAIN_FILES.iter().enumerate() {
            let label = batch as u8;
            let bytes = records(&[&[label], &[9 - label]]);
            let bytes = if suffix == ".gz" {
                gzip_bytes(&bytes)
            } else {
                bytes
            };
            std::fs::write(dir.join(format!("{name}{suffix}")), bytes).expect("write");
        }
        std::fs::write(dir.join(CIFAR10_TEST_FILE), records(&[&[3]])).expect("write");
    }

    #[test]
    fn planar_records_become_hwc_pixels_with_their_labels() {
        let dir = TempDir::new("cifar10-file");
        let path = dir.write("data_batch_1.bin", &records(&[&[7], &[2]]));
        let data = load_cifar10_file(&path).expect("two records load");
        assert_eq!(data.len(), 2);
        assert_eq!(data.image_dims(), Some((32, 32, 3)));
        assert_eq!(data.labels(), Some(&[7, 2][..]));
        assert_eq!(pixel(&data, 0, 1, 2), [10, 20, 30]);
        assert_eq!(pixel(&data, 0, 0, 0), [100, 101, 102]);
        assert_eq!(pixel(&data, 1, 31, 31), [101, 102, 103]);
        assert_eq!(data.class_names()[7], "horse");
    }

    #[test]
    fn cifar10_directory_reads_five_training_batches_in_order_and_the_test_batch() {
        let root = TempDir::new("cifar10-dir");
        write_cifar10(root.path(), "");
        let data = load_cifar10(root.path()).expect("directory loads");
        assert_eq!(data.train.len(), 10);
        assert_eq!(
            data.train.labels(),
            Some(&[0, 9, 1, 8, 2, 7, 3, 6, 4, 5][..])
        );
        assert_eq!(data.test.labels(), Some(&[3][..]));
        assert_eq!(data.train.class_names()[0], "airplane");
        assert_eq!(pixel(&data.train, 9, 1, 2), [10, 20, 30]);
    }

    #[test]
    fn cifar10_reads_the_standard_subfolder_gzipped_files_and_batches_meta_names() {
        let root = TempDir::new("cifar10-subfolder");
        let nested = root.path().join(CIFAR10_SUBFOLDER);
        write_cifar10(&nested, ".gz");
        let names: String = (0..10).map(|c| format!("class{c}\n")).collect();
        std::fs::write(nested.join(CIFAR10_NAMES_FILE), format!("{names}\n\n")).expect("write");
        let data = load_cifar10(root.path()).expect("nested gzipped files load");
        assert_eq!(data.train.len(), 10);
        assert_eq!(data.train.class_names()[4], "class4");
        assert_eq!(data.test.class_names()[9], "class9");
    }

    #[test]
    fn batches_meta_with_the_wrong_number_of_names_is_an_error() {
        let root = TempDir::new("cifar10-bad-meta");
        write_cifar10(root.path(), "");
        root.write(CIFAR10_NAMES_FILE, b"cat\ndog\n");
        let error = load_cifar10(root.path()).expect_err("2 names for 10 classes");
        let message = error.to_string();
        assert!(matches!(error, DataError::ClassNameCount { found: 2, .. }));
        assert!(message.contains(CIFAR10_NAMES_FILE), "{message}");
    }

    #[test]
    fn truncated_file_error_says_records_record_size_and_bytes_found() {
        let dir = TempDir::new("cifar-truncated");
        let mut bytes = records(&[&[1], &[2], &[3]]);
        bytes.truncate(bytes.len() - 100);
        let path = dir.write("data_batch_1.bin", &bytes);
        let error = load_cifar10_file(&path).expect_err("partial record");
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::TruncatedRecords {
                    records: 2,
                    record_size: 3073,
                    found: 9119,
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("truncated"), "{message}");
        assert!(message.contains("data_batch_1.bin"), "{message}");
        assert!(
            message.contains("9119 bytes")
                && message.contains("3073-byte records")
                && message.contains("2 whole records = 6146 bytes")
                && message.contains("2973 bytes of a partial record"),
            "{message}"
        );
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = TempDir::new("cifar-empty");
        let path = dir.write("test_batch.bin", b"");
        let error = load_cifar10_file(&path).expect_err("no records");
        assert!(error.to_string().contains("holds no records"), "{error}");
    }

    #[test]
    fn label_of_ten_in_cifar10_names_the_file_and_record_index() {
        let dir = TempDir::new("cifar10-label");
        let path = dir.write("data_batch_3.bin", &records(&[&[1], &[9], &[10]]));
        let error = load_cifar10_file(&path).expect_err("label 10");
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::LabelOutOfRange {
                    index: 2,
                    value: 10,
                    num_classes: 10,
                    ..
                }
            ),
            "{message}"
        );
        assert!(message.contains("data_batch_3.bin"), "{message}");
    }

    #[test]
    fn missing_batch_is_named_with_the_places_looked() {
        let root = TempDir::new("cifar10-missing");
        write_cifar10(root.path(), "");
        std::fs::remove_file(root.path().join("data_batch_4.bin")).expect("remove");
        let error = load_cifar10(root.path()).expect_err("batch 4 is missing");
        let message = error.to_string();
        assert!(message.contains("data_batch_4.bin"), "{message}");
        assert!(message.contains(CIFAR10_SUBFOLDER), "{message}");
        let error = load_cifar10(&root.path().join("nowhere")).expect_err("no directory");
        assert!(matches!(error, DataError::MissingDirectory { .. }));
    }

    #[test]
    fn cifar100_uses_the_fine_label_by_default_and_the_coarse_one_on_request() {
        let root = TempDir::new("cifar100");
        let nested = root.path().join(CIFAR100_SUBFOLDER);
        std::fs::create_dir_all(&nested).expect("create");
        std::fs::write(nested.join("train.bin"), records(&[&[19, 99], &[0, 42]])).expect("w");
        std::fs::write(nested.join("test.bin"), records(&[&[5, 7]])).expect("w");
        let coarse_names: String = (0..20).map(|c| format!("super{c}\n")).collect();
        std::fs::write(nested.join("coarse_label_names.txt"), coarse_names).expect("w");

        let fine = load_cifar100(root.path(), Cifar100Label::default()).expect("fine");
        assert_eq!(fine.train.labels(), Some(&[99, 42][..]));
        assert_eq!(fine.test.labels(), Some(&[7][..]));
        assert_eq!(fine.train.num_classes(), 100);
        assert_eq!(fine.test.num_classes(), 100);
        assert_eq!(fine.train.class_names()[42], "42");
        assert_eq!(pixel(&fine.train, 1, 1, 2), [10, 20, 30]);

        let coarse = load_cifar100(root.path(), Cifar100Label::Coarse).expect("coarse");
        assert_eq!(coarse.train.labels(), Some(&[19, 0][..]));
        assert_eq!(coarse.train.num_classes(), 20);
        assert_eq!(coarse.test.class_names()[5], "super5");
    }

    #[test]
    fn cifar100_labels_out_of_range_and_truncation_are_errors() {
        let dir = TempDir::new("cifar100-errors");
        let path = dir.write("train.bin", &records(&[&[3, 4], &[20, 4]]));
        let error = load_cifar100_file(&path, Cifar100Label::Fine).expect_err("coarse 20");
        assert!(
            matches!(
                error,
                DataError::LabelOutOfRange {
                    index: 1,
                    value: 20,
                    num_classes: 20,
                    ..
                }
            ),
            "{error}"
        );
        let path = dir.write("test.bin", &records(&[&[3, 100]]));
        let error = load_cifar100_file(&path, Cifar100Label::Fine).expect_err("fine 100");
        assert!(error.to_string().contains("test.bin"), "{error}");
        let path = dir.write("one.bin", &records(&[&[3, 4]]));
        let one = load_cifar100_file(&path, Cifar100Label::Coarse).expect("one record");
        assert_eq!(
            one.num_classes(),
            20,
            "all classes, not just the labels seen"
        );
        // A CIFAR-10 file (3073-byte records) read as CIFAR-100 (3074) does not divide.
        let path = dir.write("cifar10.bin", &records(&[&[1], &[2]]));
        let error = load_cifar100_file(&path, Cifar100Label::Fine).expect_err("wrong size");
        assert!(
            matches!(
                error,
                DataError::TruncatedRecords {
                    record_size: 3074,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn corrupt_gzip_is_an_error_naming_the_file() {
        let dir = TempDir::new("cifar-bad-gzip");
        let gzipped = gzip_bytes(&records(&[&[1]]));
        let path = dir.write("test_batch.bin.gz", &gzipped[..gzipped.len() / 2]);
        let error = load_cifar10_file(&path).expect_err("cut gzip");
        assert!(matches!(error, DataError::CorruptGzip { .. }), "{error}");
        assert!(error.to_string().contains("test_batch.bin.gz"), "{error}");
    }
}
