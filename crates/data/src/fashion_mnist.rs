//! Fashion-MNIST (and any MNIST-style IDX image/label pair) loaded into byte-backed datasets.

use std::path::{Path, PathBuf};

use crate::idx::read_idx;
use crate::{DataError, Dataset, Samples, Targets, TrainTest};

/// Fashion-MNIST class names, indexed by label.
pub const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Where `apt-get install dataset-fashion-mnist` puts the full dataset.
pub const SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";
const TEST_IMAGES: &str = "t10k-images-idx3-ubyte";
const TEST_LABELS: &str = "t10k-labels-idx1-ubyte";

/// Loads an IDX image file of dims `[count, height, width]` and an IDX label file of dims
/// `[count]` as one single-channel dataset, checking that every label is below `num_classes`.
pub fn load_idx_pair(
    images: &Path,
    labels: &Path,
    num_classes: usize,
) -> Result<Dataset, DataError> {
    let image_array = read_idx(images)?;
    let [count, height, width] = image_array.dims[..] else {
        return Err(DataError::WrongRank {
            path: images.to_path_buf(),
            what: "images [count, height, width]",
            expected_rank: 3,
            dims: image_array.dims,
        });
    };
    let label_array = read_idx(labels)?;
    let [label_count] = label_array.dims[..] else {
        return Err(DataError::WrongRank {
            path: labels.to_path_buf(),
            what: "labels [count]",
            expected_rank: 1,
            dims: label_array.dims,
        });
    };
    if label_count != count {
        return Err(DataError::CountMismatch {
            images_path: images.to_path_buf(),
            labels_path: labels.to_path_buf(),
            images: count,
            labels: label_count,
        });
    }
    if let Some((index, &value)) = label_array
        .data
        .iter()
        .enumerate()
        .find(|&(_, &label)| usize::from(label) >= num_classes)
    {
        return Err(DataError::LabelOutOfRange {
            path: labels.to_path_buf(),
            index,
            value: u32::from(value),
            num_classes,
        });
    }
    Dataset::new(
        &images.display().to_string(),
        Samples::Bytes(image_array.data),
        vec![height, width, 1],
        Targets::Classes {
            labels: label_array.data.into_iter().map(u32::from).collect(),
            num_classes,
        },
        Vec::new(),
    )
}

/// Loads Fashion-MNIST (or MNIST) from the four standard IDX files in `dir`, each gzipped
/// (`.gz`, preferred when both exist) or raw.
pub fn load_fashion_mnist(dir: &Path) -> Result<TrainTest, DataError> {
    if !dir.is_dir() {
        let dir = dir.to_path_buf();
        return Err(if dir.exists() {
            DataError::NotADirectory { dir }
        } else {
            DataError::MissingDirectory { dir }
        });
    }
    let num_classes = CLASS_NAMES.len();
    let train = load_idx_pair(
        &find_idx_file(dir, TRAIN_IMAGES)?,
        &find_idx_file(dir, TRAIN_LABELS)?,
        num_classes,
    )?;
    let test = load_idx_pair(
        &find_idx_file(dir, TEST_IMAGES)?,
        &find_idx_file(dir, TEST_LABELS)?,
        num_classes,
    )?;
    if train.sample_shape() != test.sample_shape() {
        let (train_height, train_width, _) = train.image_dims().unwrap_or_default();
        let (test_height, test_width, _) = test.image_dims().unwrap_or_default();
        return Err(DataError::SplitShapeMismatch {
            dir: dir.to_path_buf(),
            train_height,
            train_width,
            test_height,
            test_width,
        });
    }
    let names: Vec<String> = CLASS_NAMES.iter().map(|name| name.to_string()).collect();
    Ok(TrainTest {
        train: train.with_class_names(names.clone())?,
        test: test.with_class_names(names)?,
    })
}

/// `dir/name.gz` if it exists, else `dir/name`.
fn find_idx_file(dir: &Path, name: &'static str) -> Result<PathBuf, DataError> {
    [dir.join(format!("{name}.gz")), dir.join(name)]
        .into_iter()
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            file: name,
        })
}

/// The small Fashion-MNIST subset shipped in the repository (`<workspace>/data/fashion-mnist-subset`),
/// located from this crate's source directory at build time.
pub fn shipped_subset_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/fashion-mnist-subset")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_files::{gzip_bytes, idx_bytes, TempDir};

    fn class_counts(dataset: &Dataset) -> Vec<usize> {
        dataset.class_counts()
    }

    fn bytes(dataset: &Dataset) -> &[u8] {
        match dataset.samples() {
            Samples::Bytes(bytes) => bytes,
            Samples::Floats(_) => panic!("IDX images are bytes"),
        }
    }

    /// Writes a 4-image 2x3 dataset under the standard names, with `suffix` (".gz" or "").
    fn write_tiny_split(dir: &TempDir, prefix: &str, suffix: &str, labels: &[u8]) {
        let images: Vec<u8> = (0..labels.len() * 6).map(|i| i as u8).collect();
        let count = labels.len() as u32;
        let mut image_file = idx_bytes(&[count, 2, 3], &images);
        let mut label_file = idx_bytes(&[count], labels);
        if suffix == ".gz" {
            image_file = gzip_bytes(&image_file);
            label_file = gzip_bytes(&label_file);
        }
        dir.write(&format!("{prefix}-images-idx3-ubyte{suffix}"), &image_file);
        dir.write(&format!("{prefix}-labels-idx1-ubyte{suffix}"), &label_file);
    }

    #[test]
    fn shipped_subset_has_1000_train_and_200_test_images_per_class() {
        let data = load_fashion_mnist(&shipped_subset_dir()).expect("shipped subset loads");
        assert_eq!(data.train.len(), 10_000);
        assert_eq!(data.test.len(), 2_000);
        for split in [&data.train, &data.test] {
            assert_eq!(split.image_dims(), Some((28, 28, 1)));
            assert_eq!(split.num_classes(), 10);
            assert_eq!(split.sample_size(), 784);
            assert_eq!(bytes(split).len(), split.len() * 784);
            assert_eq!(split.class_names()[9], "Ankle boot");
        }
        assert_eq!(class_counts(&data.train), vec![1000; 10]);
        assert_eq!(class_counts(&data.test), vec![200; 10]);
        // Real photos, not blank padding: Fashion-MNIST averages roughly 73/255 per pixel.
        let mean = bytes(&data.train)
            .iter()
            .map(|&b| f64::from(b))
            .sum::<f64>()
            / bytes(&data.train).len() as f64;
        assert!((60.0..90.0).contains(&mean), "mean pixel {mean}");
        // Shuffled, not grouped by class.
        let labels = data.train.labels().expect("classes");
        assert!(labels[..20].iter().any(|&label| label != labels[0]));
    }

    #[test]
    fn shipped_subset_dir_is_absolute_and_ends_in_data_fashion_mnist_subset() {
        let dir = shipped_subset_dir();
        assert!(dir.is_absolute());
        assert!(dir.ends_with("data/fashion-mnist-subset"));
        assert!(dir.join("LICENSE").is_file());
    }

    #[test]
    fn system_dataset_loads_when_installed() {
        let dir = Path::new(SYSTEM_DIR);
        if !dir.is_dir() {
            eprintln!("skipping: {SYSTEM_DIR} is not installed");
            return;
        }
        let data = load_fashion_mnist(dir).expect("system Fashion-MNIST loads");
        assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
        assert_eq!(class_counts(&data.train), vec![6000; 10]);
        assert_eq!(class_counts(&data.test), vec![1000; 10]);
    }

    #[test]
    fn channel_statistics_are_per_channel_mean_and_variance_of_byte_over_255() {
        // Two 1x2 RGB images; channel 0 holds 0, 255, 0, 255 -> mean 0.5, variance 0.25.
        let ds = Dataset::images(
            "two images",
            vec![0, 10, 51, 255, 10, 51, 0, 10, 51, 255, 10, 102],
            (1, 2, 3),
            vec![0, 1],
            vec![],
        )
        .expect("valid");
        let (mean, variance) = ds.channel_statistics();
        assert_eq!(mean.len(), 3);
        assert!((mean[0] - 0.5).abs() < 1e-7 && (variance[0] - 0.25).abs() < 1e-7);
        assert!((mean[1] - 10.0 / 255.0).abs() < 1e-7 && variance[1].abs() < 1e-9);
        let c2 = [0.2f64, 0.2, 0.2, 0.4];
        let m2 = c2.iter().sum::<f64>() / 4.0;
        let v2 = c2.iter().map(|v| (v - m2).powi(2)).sum::<f64>() / 4.0;
        assert!((f64::from(mean[2]) - m2).abs() < 1e-7);
        assert!((f64::from(variance[2]) - v2).abs() < 1e-7);
    }

    #[test]
    fn raw_files_without_gz_load() {
        let dir = TempDir::new("fm-raw");
        write_tiny_split(&dir, "train", "", &[0, 1, 2, 9]);
        write_tiny_split(&dir, "t10k", "", &[3, 4]);
        let data = load_fashion_mnist(dir.path()).expect("raw files load");
        assert_eq!(data.train.labels(), Some(&[0, 1, 2, 9][..]));
        assert_eq!(data.test.labels(), Some(&[3, 4][..]));
        assert_eq!(data.train.image_dims(), Some((2, 3, 1)));
        assert_eq!(data.train.sample_bytes(1), Some(&[6, 7, 8, 9, 10, 11][..]));
    }

    #[test]
    fn gz_file_is_preferred_when_both_exist() {
        let dir = TempDir::new("fm-prefer-gz");
        write_tiny_split(&dir, "train", ".gz", &[5, 5, 5]);
        write_tiny_split(&dir, "train", "", &[1, 1]);
        write_tiny_split(&dir, "t10k", "", &[2]);
        let data = load_fashion_mnist(dir.path()).expect("mixed files load");
        assert_eq!(data.train.labels(), Some(&[5, 5, 5][..]));
        assert_eq!(data.test.labels(), Some(&[2][..]));
    }

    #[test]
    fn label_out_of_range_errors_naming_file_index_and_value() {
        let dir = TempDir::new("fm-label-range");
        write_tiny_split(&dir, "train", "", &[0, 1, 10, 3]);
        write_tiny_split(&dir, "t10k", "", &[0]);
        let error = load_fashion_mnist(dir.path()).expect_err("label 10 is out of range");
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
        assert!(message.contains("train-labels-idx1-ubyte"), "{message}");
        assert!(
            message.contains("index 2") && message.contains("is 10"),
            "{message}"
        );
    }

    #[test]
    fn image_and_label_count_mismatch_errors() {
        let dir = TempDir::new("fm-count");
        let images = dir.write("images", &idx_bytes(&[3, 2, 2], &[0; 12]));
        let labels = dir.write("labels", &idx_bytes(&[2], &[0, 1]));
        let error = load_idx_pair(&images, &labels, 10).expect_err("3 images vs 2 labels");
        assert!(
            matches!(
                error,
                DataError::CountMismatch {
                    images: 3,
                    labels: 2,
                    ..
                }
            ),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("3 images") && message.contains("2 labels"),
            "{message}"
        );
    }

    #[test]
    fn images_not_rank_3_or_labels_not_rank_1_error() {
        let dir = TempDir::new("fm-rank");
        let flat_images = dir.write("flat-images", &idx_bytes(&[2, 4], &[0; 8]));
        let images = dir.write("images", &idx_bytes(&[2, 2, 2], &[0; 8]));
        let labels = dir.write("labels", &idx_bytes(&[2], &[0, 1]));
        let square_labels = dir.write("square-labels", &idx_bytes(&[2, 1], &[0, 1]));

        let error = load_idx_pair(&flat_images, &labels, 10).expect_err("rank-2 images");
        assert!(
            matches!(
                error,
                DataError::WrongRank {
                    expected_rank: 3,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("flat-images"), "{error}");
        let error = load_idx_pair(&images, &square_labels, 10).expect_err("rank-2 labels");
        assert!(
            matches!(
                error,
                DataError::WrongRank {
                    expected_rank: 1,
                    ..
                }
            ),
            "{error}"
        );
        assert!(error.to_string().contains("square-labels"), "{error}");
    }

    #[test]
    fn missing_directory_error_names_it() {
        let dir = TempDir::new("fm-missing-dir");
        let missing = dir.path().join("no-such-dataset");
        let error = load_fashion_mnist(&missing).expect_err("missing directory");
        assert!(
            matches!(error, DataError::MissingDirectory { .. }),
            "{error}"
        );
        let message = error.to_string();
        assert!(
            message.contains("no-such-dataset") && message.contains("does not exist"),
            "{message}"
        );

        let file = dir.write("a-file", b"");
        let error = load_fashion_mnist(&file).expect_err("a file is not a directory");
        assert!(matches!(error, DataError::NotADirectory { .. }), "{error}");
    }

    #[test]
    fn missing_file_error_names_directory_and_file() {
        let dir = TempDir::new("fm-missing-file");
        write_tiny_split(&dir, "train", ".gz", &[0, 1]);
        let error = load_fashion_mnist(dir.path()).expect_err("test split is missing");
        let message = error.to_string();
        assert!(
            matches!(
                error,
                DataError::MissingFile {
                    file: TEST_IMAGES,
                    ..
                }
            ),
            "{message}"
        );
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );
        assert!(message.contains("t10k-images-idx3-ubyte.gz"), "{message}");
    }

    #[test]
    fn train_and_test_of_different_image_sizes_error() {
        let dir = TempDir::new("fm-split-shape");
        write_tiny_split(&dir, "train", "", &[0]);
        dir.write("t10k-images-idx3-ubyte", &idx_bytes(&[1, 3, 3], &[0; 9]));
        dir.write("t10k-labels-idx1-ubyte", &idx_bytes(&[1], &[0]));
        let error = load_fashion_mnist(dir.path()).expect_err("2x3 vs 3x3");
        assert!(
            matches!(error, DataError::SplitShapeMismatch { .. }),
            "{error}"
        );
    }
}
