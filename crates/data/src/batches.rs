//! Epoch shuffling and batch assembly: seeded permutations, and bytes turned into f32 batches.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{DataError, Dataset};

/// A fresh Fisher–Yates shuffle of `0..n` for each epoch, fixed by `(seed, epoch)`.
///
/// Each epoch draws from its own ChaCha8 stream of the seed (`set_stream(epoch)`), so
/// epochs are independent of one another and of how many epochs ran before: resuming
/// training at epoch `k` reproduces the same order as an uninterrupted run. The seed is
/// first mixed with a constant of its own so that shuffles never replay the streams that
/// weight initialization draws from the same seed.
pub fn epoch_permutation(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    const SHUFFLE_DOMAIN: u64 = 0x5348_5546_464c_4531; // "SHUFFLE1"
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ SHUFFLE_DOMAIN);
    rng.set_stream(epoch as u64);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// Clears `inputs`, `labels` and `values` and refills them (keeping their capacity) with the
/// samples at `indices` (bytes scaled to [0, 1]) and their targets: class labels into
/// `labels`, value rows into `values`.
///
/// Panics if an index is out of range for `ds` (indices come from a permutation or plan of
/// `ds.len()`, never from user input).
pub fn fill_batch(
    ds: &Dataset,
    indices: &[usize],
    inputs: &mut Vec<f32>,
    labels: &mut Vec<u32>,
    values: &mut Vec<f32>,
) {
    let size = ds.sample_size();
    inputs.clear();
    labels.clear();
    values.clear();
    inputs.resize(indices.len() * size, 0.0);
    for (&index, out) in indices.iter().zip(inputs.chunks_exact_mut(size)) {
        ds.write_sample(index, out);
        ds.push_target(index, labels, values);
    }
}

/// The batches of one epoch: an order over `0..n` (shuffled or not) cut into slices of
/// `batch_size` indices, the last one smaller when `batch_size` does not divide `n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchPlan {
    order: Vec<usize>,
    batch_size: usize,
}

impl BatchPlan {
    /// Plans the batches of `epoch`; with `shuffle` the order is
    /// [`epoch_permutation`]`(n, seed, epoch)`, otherwise `0..n`. `batch_size` must be > 0.
    pub fn new(
        n: usize,
        batch_size: usize,
        shuffle: bool,
        seed: u64,
        epoch: usize,
    ) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument {
                name: "batch_size",
                value: batch_size,
                reason: "must be at least 1",
            });
        }
        let order = if shuffle {
            epoch_permutation(n, seed, epoch)
        } else {
            (0..n).collect()
        };
        Ok(Self { order, batch_size })
    }

    /// The whole epoch's order of sample indices.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of batches, counting a smaller last one.
    pub fn num_batches(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// The batches, in order, as slices of sample indices.
    pub fn iter(&self) -> std::slice::Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }
}

impl<'a> IntoIterator for &'a BatchPlan {
    type Item = &'a [usize];
    type IntoIter = std::slice::Chunks<'a, usize>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_images() -> Vec<u8> {
        // 3 images of 2x2 RGB (12 bytes each), bytes chosen to include 0 and 255.
        let mut images: Vec<u8> = (0..36).map(|i| (i * 7) as u8).collect();
        images[0] = 0;
        images[35] = 255;
        images
    }

    fn tiny_dataset() -> Dataset {
        Dataset::new(
            "tiny",
            crate::Samples::Bytes(tiny_images()),
            vec![2, 2, 3],
            crate::Targets::Classes {
                labels: vec![4, 0, 9],
                num_classes: 10,
            },
            vec![],
        )
        .expect("valid")
    }

    fn is_permutation(order: &[usize], n: usize) -> bool {
        let mut seen = vec![false; n];
        order.len() == n
            && order
                .iter()
                .all(|&i| i < n && !std::mem::replace(&mut seen[i], true))
    }

    #[test]
    fn epoch_permutation_is_a_permutation_of_0_to_n() {
        for n in [0, 1, 2, 17, 1000] {
            assert!(is_permutation(&epoch_permutation(n, 7, 3), n), "n = {n}");
        }
    }

    #[test]
    fn epoch_permutation_is_deterministic_for_seed_and_epoch() {
        assert_eq!(epoch_permutation(500, 42, 5), epoch_permutation(500, 42, 5));
        // Independent of which epochs were drawn before.
        let _ = epoch_permutation(500, 42, 4);
        assert_eq!(epoch_permutation(500, 42, 5), epoch_permutation(500, 42, 5));
    }

    #[test]
    fn epoch_permutation_differs_between_epochs_and_seeds() {
        let first = epoch_permutation(500, 42, 0);
        assert_ne!(first, epoch_permutation(500, 42, 1));
        assert_ne!(first, epoch_permutation(500, 43, 0));
        assert_ne!(first, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn fill_batch_scales_bytes_to_unit_range_in_stored_order() {
        let ds = tiny_dataset();
        let (mut pixels, mut labels, mut values) = (Vec::new(), Vec::new(), Vec::new());
        fill_batch(&ds, &[2, 0], &mut pixels, &mut labels, &mut values);
        assert_eq!(labels, vec![9, 4]);
        assert_eq!(pixels.len(), 2 * 12);
        assert!(pixels.iter().all(|&p| (0.0..=1.0).contains(&p)));
        assert_eq!(pixels[11], 1.0); // byte 255, last byte of image 2
        assert_eq!(pixels[12], 0.0); // byte 0, first byte of image 0
        for (k, &p) in pixels[..12].iter().enumerate() {
            assert_eq!(p, f32::from(tiny_images()[24 + k]) / 255.0);
        }
    }

    #[test]
    fn fill_batch_reuses_buffers_and_clears_old_contents() {
        let ds = tiny_dataset();
        let (mut pixels, mut labels, mut values) = (Vec::new(), Vec::new(), Vec::new());
        fill_batch(&ds, &[0, 1, 2], &mut pixels, &mut labels, &mut values);
        let (pixel_buffer, label_buffer) = (pixels.as_ptr(), labels.as_ptr());
        let capacity = pixels.capacity();

        fill_batch(&ds, &[1], &mut pixels, &mut labels, &mut values);
        assert_eq!(labels, vec![0]);
        assert_eq!(pixels.len(), 12);
        assert_eq!(pixels[0], f32::from(tiny_images()[12]) / 255.0);
        assert_eq!(pixels.as_ptr(), pixel_buffer);
        assert_eq!(labels.as_ptr(), label_buffer);
        assert_eq!(pixels.capacity(), capacity);

        fill_batch(&ds, &[2, 1, 0], &mut pixels, &mut labels, &mut values);
        assert_eq!(pixels.as_ptr(), pixel_buffer);
        assert_eq!(labels, vec![9, 0, 4]);
    }

    #[test]
    fn batch_plan_covers_every_index_once_with_a_smaller_last_batch() {
        let plan = BatchPlan::new(10, 4, true, 1, 0).expect("valid plan");
        let batches: Vec<&[usize]> = plan.iter().collect();
        assert_eq!(plan.num_batches(), 3);
        assert_eq!(
            batches.iter().map(|b| b.len()).collect::<Vec<_>>(),
            vec![4, 4, 2]
        );
        let all: Vec<usize> = (&plan).into_iter().flatten().copied().collect();
        assert!(is_permutation(&all, 10));
        assert_eq!(plan.order(), &epoch_permutation(10, 1, 0)[..]);
    }

    #[test]
    fn batch_plan_without_shuffle_keeps_stored_order() {
        let plan = BatchPlan::new(5, 2, false, 1, 3).expect("valid plan");
        let batches: Vec<Vec<usize>> = plan.iter().map(<[usize]>::to_vec).collect();
        assert_eq!(batches, vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(
            BatchPlan::new(0, 2, true, 1, 0)
                .expect("empty plan")
                .num_batches(),
            0
        );
    }

    #[test]
    fn batch_plan_rejects_zero_batch_size() {
        let error = BatchPlan::new(5, 0, true, 1, 0).expect_err("batch_size 0");
        assert!(error.to_string().contains("batch_size"), "{error}");
    }
}
