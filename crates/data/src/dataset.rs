//! The one in-memory dataset type every reader produces: samples (bytes or floats) and targets
//! (class labels or value rows), with subsetting, validation splits and channel statistics.

use crate::DataError;

/// The inputs of a dataset, `len() * sample_size()` values, each sample row-major and
/// channels-last.
#[derive(Debug, Clone, PartialEq)]
pub enum Samples {
    /// Image bytes as stored (IDX, CIFAR, decoded JPEG/PNG); a batch scales them to
    /// `byte / 255`, so models always see [0, 1].
    Bytes(Vec<u8>),
    /// Values used as they are (`.npy`/`.npz` float arrays).
    Floats(Vec<f32>),
}

/// What a dataset's samples are labelled with.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class index per sample, each below `num_classes`.
    Classes {
        labels: Vec<u32>,
        num_classes: usize,
    },
    /// `width` values per sample: regression targets, or one-hot / multi-label rows.
    Values { values: Vec<f32>, width: usize },
}

/// Labelled samples held in memory; batches are converted to f32 on the fly.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    samples: Samples,
    sample_shape: Vec<usize>,
    targets: Targets,
    class_names: Vec<String>,
}

impl Dataset {
    /// A dataset of `samples` shaped `sample_shape` each (channels-last, e.g.
    /// `[height, width, channels]`), labelled by `targets`. `class_names` may be empty (the
    /// names become "0", "1", ...); otherwise it needs one name per class.
    ///
    /// `source` names the file or directory the data came from, for the error when the
    /// number of samples and targets disagree or a label is out of range.
    pub fn new(
        source: &str,
        samples: Samples,
        sample_shape: Vec<usize>,
        targets: Targets,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        let sample_size: usize = sample_shape.iter().product();
        let stored = match &samples {
            Samples::Bytes(bytes) => bytes.len(),
            Samples::Floats(values) => values.len(),
        };
        if sample_size == 0 || stored % sample_size != 0 {
            return Err(DataError::Inconsistent {
                source_name: source.to_string(),
                why: format!(
                    "{stored} input values do not divide into samples of shape {sample_shape:?}"
                ),
            });
        }
        let count = stored / sample_size;
        let (target_count, num_classes) = match &targets {
            Targets::Classes {
                labels,
                num_classes,
            } => {
                if let Some((index, &label)) = labels
                    .iter()
                    .enumerate()
                    .find(|&(_, &label)| label as usize >= *num_classes)
                {
                    return Err(DataError::Inconsistent {
                        source_name: source.to_string(),
                        why: format!(
                            "label at index {index} is {label}, not below the {num_classes} classes"
                        ),
                    });
                }
                (labels.len(), *num_classes)
            }
            Targets::Values { values, width } => {
                if *width == 0 || values.len() % width != 0 {
                    return Err(DataError::Inconsistent {
                        source_name: source.to_string(),
                        why: format!(
                            "{} target values do not divide into rows of {width}",
                            values.len()
                        ),
                    });
                }
                (values.len() / width, 0)
            }
        };
        if target_count != count {
            return Err(DataError::Inconsistent {
                source_name: source.to_string(),
                why: format!("{count} samples (x) but {target_count} targets (y)"),
            });
        }
        let class_names = if class_names.is_empty() {
            (0..num_classes).map(|c| c.to_string()).collect()
        } else if class_names.len() != num_classes {
            return Err(DataError::Inconsistent {
                source_name: source.to_string(),
                why: format!(
                    "{} class names for {num_classes} classes",
                    class_names.len()
                ),
            });
        } else {
            class_names
        };
        Ok(Self {
            samples,
            sample_shape,
            targets,
            class_names,
        })
    }

    /// A dataset of byte images `[height, width, channels]` with class labels.
    pub fn images(
        source: &str,
        bytes: Vec<u8>,
        (height, width, channels): (usize, usize, usize),
        labels: Vec<u32>,
        class_names: Vec<String>,
    ) -> Result<Self, DataError> {
        let num_classes = if class_names.is_empty() {
            labels.iter().max().map_or(0, |&m| m as usize + 1)
        } else {
            class_names.len()
        };
        Self::new(
            source,
            Samples::Bytes(bytes),
            vec![height, width, channels],
            Targets::Classes {
                labels,
                num_classes,
            },
            class_names,
        )
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Values { values, width } => values.len() / width,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn samples(&self) -> &Samples {
        &self.samples
    }

    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Shape of one sample, channels-last.
    pub fn sample_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    /// Values per sample.
    pub fn sample_size(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// `(height, width, channels)` when samples are images (rank 3, or rank 2 read as one
    /// channel).
    pub fn image_dims(&self) -> Option<(usize, usize, usize)> {
        match self.sample_shape[..] {
            [h, w, c] => Some((h, w, c)),
            [h, w] => Some((h, w, 1)),
            _ => None,
        }
    }

    /// Whether samples are bytes (so a batch divides them by 255).
    pub fn is_bytes(&self) -> bool {
        matches!(self.samples, Samples::Bytes(_))
    }

    /// The class labels, when the targets are classes.
    pub fn labels(&self) -> Option<&[u32]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Values { .. } => None,
        }
    }

    /// Number of classes (0 for value targets).
    pub fn num_classes(&self) -> usize {
        match &self.targets {
            Targets::Classes { num_classes, .. } => *num_classes,
            Targets::Values { .. } => 0,
        }
    }

    /// Values per target row: 1 for class labels, `width` for value targets.
    pub fn target_width(&self) -> usize {
        match &self.targets {
            Targets::Classes { .. } => 1,
            Targets::Values { width, .. } => *width,
        }
    }

    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    /// Replaces the class names (one per class).
    pub fn with_class_names(mut self, names: Vec<String>) -> Result<Self, DataError> {
        if names.len() != self.num_classes() {
            return Err(DataError::Inconsistent {
                source_name: "class names".into(),
                why: format!(
                    "{} names given for {} classes",
                    names.len(),
                    self.num_classes()
                ),
            });
        }
        self.class_names = names;
        Ok(self)
    }

    /// The index of the class called `name`; the error lists the known names.
    pub fn class_index(&self, name: &str) -> Result<u32, DataError> {
        self.class_names
            .iter()
            .position(|known| known == name)
            .map(|i| i as u32)
            .ok_or_else(|| DataError::UnknownClass {
                name: name.to_string(),
                known: self.class_names.join(", "),
            })
    }

    /// The stored bytes of sample `index`, when samples are bytes. Panics if out of range.
    pub fn sample_bytes(&self, index: usize) -> Option<&[u8]> {
        let size = self.sample_size();
        match &self.samples {
            Samples::Bytes(bytes) => Some(&bytes[index * size..(index + 1) * size]),
            Samples::Floats(_) => None,
        }
    }

    /// Writes sample `index` as f32 into `out` (`sample_size()` long): bytes / 255, or the
    /// stored floats. Panics if `index` is out of range or `out` has the wrong length
    /// (indices come from plans over `len()`, never from user input).
    pub fn write_sample(&self, index: usize, out: &mut [f32]) {
        let size = self.sample_size();
        let range = index * size..(index + 1) * size;
        match &self.samples {
            Samples::Bytes(bytes) => {
                for (o, &b) in out.iter_mut().zip(&bytes[range]) {
                    *o = f32::from(b) / 255.0;
                }
            }
            Samples::Floats(values) => out.copy_from_slice(&values[range]),
        }
    }

    /// Appends the target of sample `index` to `labels` (classes) or `values` (value rows).
    pub fn push_target(&self, index: usize, labels: &mut Vec<u32>, values: &mut Vec<f32>) {
        match &self.targets {
            Targets::Classes { labels: all, .. } => labels.push(all[index]),
            Targets::Values { values: all, width } => {
                values.extend_from_slice(&all[index * width..(index + 1) * width])
            }
        }
    }

    /// A new dataset of the samples at `indices`, in that order (repeats allowed, as in a
    /// bootstrap resample). Panics if an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let size = self.sample_size();
        let samples = match &self.samples {
            Samples::Bytes(all) => Samples::Bytes(gather_rows(all, size, indices)),
            Samples::Floats(all) => Samples::Floats(gather_rows(all, size, indices)),
        };
        let targets = match &self.targets {
            Targets::Classes {
                labels,
                num_classes,
            } => Targets::Classes {
                labels: gather_rows(labels, 1, indices),
                num_classes: *num_classes,
            },
            Targets::Values { values, width } => Targets::Values {
                values: gather_rows(values, *width, indices),
                width: *width,
            },
        };
        Dataset {
            samples,
            sample_shape: self.sample_shape.clone(),
            targets,
            class_names: self.class_names.clone(),
        }
    }

    /// The first `n` samples (all of them when `n >= len()`).
    pub fn head(&self, n: usize) -> Dataset {
        let indices: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&indices)
    }

    /// Splits off the last `fraction` of the samples as validation data, before any shuffle,
    /// as Keras's `validation_split` does. `fraction` must be in (0, 1) and leave at least one
    /// sample on each side.
    pub fn split_validation(&self, fraction: f64) -> Result<(Dataset, Dataset), DataError> {
        let n = self.len();
        let validation = (n as f64 * fraction).round() as usize;
        if !(fraction > 0.0 && fraction < 1.0) || validation == 0 || validation >= n {
            return Err(DataError::BadValue {
                argument: "validation split",
                why: format!(
                    "{fraction} of {n} samples does not leave samples on both sides (use a fraction in (0, 1))"
                ),
            });
        }
        let train: Vec<usize> = (0..n - validation).collect();
        let val: Vec<usize> = (n - validation..n).collect();
        Ok((self.subset(&train), self.subset(&val)))
    }

    /// Number of samples of each class (empty for value targets).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes()];
        for &label in self.labels().unwrap_or(&[]) {
            counts[label as usize] += 1;
        }
        counts
    }

    /// Per-channel mean and variance of the inputs as a batch sees them (bytes scaled to
    /// [0, 1]), over every sample: what input standardization is fitted with. The channel is
    /// the last axis of the sample shape. Summed in f64 (bytes via a histogram), so the result
    /// does not depend on the order of samples.
    pub fn channel_statistics(&self) -> (Vec<f32>, Vec<f32>) {
        let channels = self.sample_shape.last().copied().unwrap_or(1).max(1);
        match &self.samples {
            Samples::Bytes(bytes) => {
                let mut histogram = vec![[0u64; 256]; channels];
                for (i, &byte) in bytes.iter().enumerate() {
                    histogram[i % channels][usize::from(byte)] += 1;
                }
                histogram
                    .iter()
                    .map(|counts| {
                        let n = counts.iter().sum::<u64>().max(1) as f64;
                        let value = |b: usize| b as f64 / 255.0;
                        let mean = (0..256).map(|b| counts[b] as f64 * value(b)).sum::<f64>() / n;
                        let variance = (0..256)
                            .map(|b| counts[b] as f64 * (value(b) - mean).powi(2))
                            .sum::<f64>()
                            / n;
                        (mean as f32, variance as f32)
                    })
                    .unzip()
            }
            Samples::Floats(values) => column_statistics(values, channels),
        }
    }

    /// Per-column mean and variance of value targets (empty for class labels): what target
    /// normalization for regression is fitted with.
    pub fn target_statistics(&self) -> (Vec<f32>, Vec<f32>) {
        match &self.targets {
            Targets::Classes { .. } => (Vec::new(), Vec::new()),
            Targets::Values { values, width } => column_statistics(values, *width),
        }
    }

    /// The same samples with value targets mapped column-wise by `(v - mean) / std`.
    pub fn with_normalized_targets(&self, mean: &[f32], std: &[f32]) -> Dataset {
        let mut out = self.clone();
        if let Targets::Values { values, width } = &mut out.targets {
            for (i, v) in values.iter_mut().enumerate() {
                let c = i % *width;
                *v = (*v - mean[c]) / std[c];
            }
        }
        out
    }
}

/// Rows `indices` (each `width` values) of `all`, in that order.
fn gather_rows<T: Copy>(all: &[T], width: usize, indices: &[usize]) -> Vec<T> {
    indices
        .iter()
        .flat_map(|&i| &all[i * width..(i + 1) * width])
        .copied()
        .collect()
}

/// Mean and (population) variance of each of `columns` interleaved columns, in f64.
fn column_statistics(values: &[f32], columns: usize) -> (Vec<f32>, Vec<f32>) {
    let mut sum = vec![0f64; columns];
    let mut count = vec![0usize; columns];
    for (i, &v) in values.iter().enumerate() {
        sum[i % columns] += f64::from(v);
        count[i % columns] += 1;
    }
    let mean: Vec<f64> = sum
        .iter()
        .zip(&count)
        .map(|(s, &n)| s / n.max(1) as f64)
        .collect();
    let mut squares = vec![0f64; columns];
    for (i, &v) in values.iter().enumerate() {
        squares[i % columns] += (f64::from(v) - mean[i % columns]).powi(2);
    }
    let variance = squares
        .iter()
        .zip(&count)
        .map(|(s, &n)| (s / n.max(1) as f64) as f32)
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), variance)
}

/// A dataset's training and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainTest {
    pub train: Dataset,
    pub test: Dataset,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_images() -> Dataset {
        // 4 images of 1x2 RGB.
        let bytes: Vec<u8> = (0..24).map(|i| (i * 10) as u8).collect();
        Dataset::images("tiny", bytes, (1, 2, 3), vec![0, 1, 2, 1], vec![]).expect("valid")
    }

    #[test]
    fn mismatched_x_and_y_lengths_are_an_error_naming_the_source() {
        let error = Dataset::new(
            "x.npy and y.npy",
            Samples::Floats(vec![0.0; 6]),
            vec![2],
            Targets::Values {
                values: vec![1.0; 2],
                width: 1,
            },
            vec![],
        )
        .expect_err("3 samples, 2 targets");
        let text = error.to_string();
        assert!(text.contains("x.npy and y.npy"), "{text}");
        assert!(text.contains("3 samples (x) but 2 targets (y)"), "{text}");
    }

    #[test]
    fn labels_must_be_below_the_class_count() {
        let error = Dataset::new(
            "labels.bin",
            Samples::Bytes(vec![0; 2]),
            vec![1],
            Targets::Classes {
                labels: vec![0, 5],
                num_classes: 3,
            },
            vec![],
        )
        .expect_err("label 5 of 3 classes");
        assert!(error.to_string().contains("index 1 is 5"), "{error}");
    }

    #[test]
    fn unknown_class_name_lists_the_known_names() {
        let ds = tiny_images()
            .with_class_names(vec!["cat".into(), "dog".into(), "frog".into()])
            .expect("3 names");
        assert_eq!(ds.class_index("dog").expect("known"), 1);
        let error = ds.class_index("horse").expect_err("unknown").to_string();
        assert!(
            error.contains("horse") && error.contains("cat, dog, frog"),
            "{error}"
        );
    }

    #[test]
    fn subset_repeats_and_reorders_samples_with_their_targets() {
        let ds = tiny_images();
        let sub = ds.subset(&[3, 0, 3]);
        assert_eq!(sub.len(), 3);
        assert_eq!(sub.labels().expect("classes"), &[1, 0, 1]);
        assert_eq!(sub.sample_bytes(0), ds.sample_bytes(3));
        assert_eq!(sub.sample_bytes(1), ds.sample_bytes(0));
    }

    #[test]
    fn validation_split_takes_the_last_fraction_like_keras() {
        let ds = tiny_images();
        let (train, val) = ds.split_validation(0.25).expect("1 of 4");
        assert_eq!(train.len(), 3);
        assert_eq!(val.len(), 1);
        assert_eq!(val.sample_bytes(0), ds.sample_bytes(3));
        assert!(ds.split_validation(0.0).is_err());
        assert!(ds.split_validation(1.0).is_err());
        assert!(ds.split_validation(0.01).is_err(), "rounds to 0 samples");
    }

    #[test]
    fn write_sample_scales_bytes_and_copies_floats() {
        let ds = tiny_images();
        let mut out = vec![0.0; 6];
        ds.write_sample(1, &mut out);
        assert_eq!(out[0], 60.0 / 255.0);
        let floats = Dataset::new(
            "f",
            Samples::Floats(vec![1.5, -2.0, 3.0, 4.0]),
            vec![2],
            Targets::Classes {
                labels: vec![0, 1],
                num_classes: 2,
            },
            vec![],
        )
        .expect("valid");
        let mut out = vec![0.0; 2];
        floats.write_sample(1, &mut out);
        assert_eq!(out, vec![3.0, 4.0]);
    }

    #[test]
    fn channel_statistics_agree_for_bytes_and_the_same_floats() {
        let ds = tiny_images();
        let Samples::Bytes(bytes) = ds.samples() else {
            unreachable!("images are bytes")
        };
        let floats = Dataset::new(
            "f",
            Samples::Floats(bytes.iter().map(|&b| f32::from(b) / 255.0).collect()),
            vec![1, 2, 3],
            ds.targets().clone(),
            vec![],
        )
        .expect("valid");
        let (m1, v1) = ds.channel_statistics();
        let (m2, v2) = floats.channel_statistics();
        for c in 0..3 {
            assert!((m1[c] - m2[c]).abs() < 1e-6 && (v1[c] - v2[c]).abs() < 1e-6);
        }
        // Channel 0 holds bytes 0, 30, 60, ..., 210: mean 105 / 255.
        assert!((m1[0] - 105.0 / 255.0).abs() < 1e-6);
    }

    #[test]
    fn target_normalization_uses_per_column_statistics() {
        let ds = Dataset::new(
            "regression",
            Samples::Floats(vec![0.0; 3]),
            vec![1],
            Targets::Values {
                values: vec![1.0, 10.0, 3.0, 20.0, 5.0, 30.0],
                width: 2,
            },
            vec![],
        )
        .expect("valid");
        let (mean, variance) = ds.target_statistics();
        assert_eq!(mean, vec![3.0, 20.0]);
        let std: Vec<f32> = variance.iter().map(|v| v.sqrt()).collect();
        let normalized = ds.with_normalized_targets(&mean, &std);
        let Targets::Values { values, .. } = normalized.targets() else {
            unreachable!()
        };
        assert!((values[0] + 1.2247449).abs() < 1e-5);
        assert!((values[5] - 1.2247449).abs() < 1e-5);
    }
}
