//! The epoch loader: background threads assemble (and augment) the next batches while the
//! training threads work on the current one, and the time training waits for data is measured.

use std::sync::mpsc::{sync_channel, Receiver};
use std::time::{Duration, Instant};

use rand_chacha::ChaCha8Rng;

use crate::augment::{sample_rng, Image, Pipeline, Scratch};
use crate::batches::{fill_batch, BatchPlan};
use crate::{DataError, Dataset};

/// A per-sample transformation run on the loader's threads (training-time augmentation).
///
/// It must be deterministic given the RNG, which the loader derives from (seed, epoch, the
/// sample's position in the epoch), so batches do not depend on the number of threads.
pub trait SampleTransform: Sync {
    /// The shape of a transformed sample given the stored sample shape (channels-last).
    fn output_shape(&self, input: &[usize]) -> Vec<usize>;
    /// Transforms one sample of `shape` in `sample` (already scaled to f32) into `out`, which
    /// has `output_shape(shape)` elements.
    fn apply(
        &self,
        sample: &[f32],
        shape: &[usize],
        out: &mut [f32],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), DataError>;
}

thread_local! {
    /// Each loader thread's image and scratch buffers, so augmenting does not allocate per
    /// sample once sizes are stable.
    static BUFFERS: std::cell::RefCell<(Image, Scratch)> = std::cell::RefCell::new((
        Image { height: 0, width: 0, channels: 0, pixels: Vec::new() },
        Scratch::default(),
    ));
}

/// Image augmentation pipelines transform samples shaped `[height, width, channels]` (or
/// `[height, width]`, one channel).
impl SampleTransform for Pipeline {
    fn output_shape(&self, input: &[usize]) -> Vec<usize> {
        match *input {
            [h, w, c] => {
                let (h, w, c) = Pipeline::output_shape(self, (h, w, c));
                vec![h, w, c]
            }
            [h, w] => {
                let (h, w, _) = Pipeline::output_shape(self, (h, w, 1));
                vec![h, w]
            }
            _ => input.to_vec(),
        }
    }

    fn apply(
        &self,
        sample: &[f32],
        shape: &[usize],
        out: &mut [f32],
        rng: &mut ChaCha8Rng,
    ) -> Result<(), DataError> {
        let (height, width, channels) = match *shape {
            [h, w, c] => (h, w, c),
            [h, w] => (h, w, 1),
            _ => {
                return Err(DataError::BadValue {
                    argument: "augmentation",
                    why: format!("needs image samples [height, width, channels], not {shape:?}"),
                })
            }
        };
        BUFFERS.with(|buffers| {
            let (image, scratch) = &mut *buffers.borrow_mut();
            image.height = height;
            image.width = width;
            image.channels = channels;
            image.pixels.clear();
            image.pixels.extend_from_slice(sample);
            Pipeline::apply(self, image, rng, scratch)?;
            out.copy_from_slice(&image.pixels);
            Ok(())
        })
    }
}

/// How the loader cuts and prepares an epoch.
#[derive(Clone, Copy)]
pub struct LoaderConfig<'a> {
    pub batch_size: usize,
    pub shuffle: bool,
    /// Seeds the shuffle and the augmentation streams.
    pub seed: u64,
    /// Threads preparing batches (at least 1).
    pub workers: usize,
    /// Batches each worker may have ready ahead of training.
    pub prefetch: usize,
    /// Applied to every sample, when set (training only).
    pub transform: Option<&'a dyn SampleTransform>,
}

impl Default for LoaderConfig<'_> {
    fn default() -> Self {
        Self {
            batch_size: 32,
            shuffle: true,
            seed: 0,
            workers: 1,
            prefetch: 4,
            transform: None,
        }
    }
}

/// One prepared batch: inputs shaped `[batch, sample...]` and the batch's targets.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub inputs: Vec<f32>,
    pub shape: Vec<usize>,
    /// Class labels (class targets).
    pub labels: Vec<u32>,
    /// Target rows (value targets), `shape[0] * target_width` values.
    pub values: Vec<f32>,
    /// The dataset indices of the samples, in batch order.
    pub indices: Vec<usize>,
}

/// What the loader measured over one epoch.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoaderStats {
    pub batches: usize,
    /// Time the consumer spent blocked waiting for a batch that was not ready yet.
    pub wait: Duration,
}

/// Prepares the batches of `epoch` of `data` on `config.workers` background threads and hands
/// them, in order, to `consume`. `consume` returns `Ok(false)` to stop the epoch early; its
/// error stops the epoch and is returned. The workers stay at most `prefetch` batches ahead.
pub fn for_each_batch<E: From<DataError>>(
    data: &Dataset,
    epoch: usize,
    config: &LoaderConfig<'_>,
    mut consume: impl FnMut(Batch) -> Result<bool, E>,
) -> Result<LoaderStats, E> {
    let plan = BatchPlan::new(
        data.len(),
        config.batch_size,
        config.shuffle,
        config.seed,
        epoch,
    )?;
    let workers = config.workers.max(1).min(plan.num_batches().max(1));
    let mut stats = LoaderStats::default();
    std::thread::scope(|scope| {
        let receivers: Vec<Receiver<Result<Batch, DataError>>> = (0..workers)
            .map(|worker| {
                let (sender, receiver) = sync_channel(config.prefetch.max(1));
                let plan = &plan;
                scope.spawn(move || {
                    for (b, indices) in plan.iter().enumerate().skip(worker).step_by(workers) {
                        let batch = prepare(data, indices, b * plan.batch_size(), epoch, config);
                        let failed = batch.is_err();
                        if sender.send(batch).is_err() || failed {
                            return; // the consumer stopped early
                        }
                    }
                });
                receiver
            })
            .collect();
        for b in 0..plan.num_batches() {
            let waited = Instant::now();
            let batch = match receivers[b % workers].recv() {
                Ok(batch) => batch?,
                Err(_) => break, // a worker died; its panic resurfaces when the scope joins
            };
            stats.wait += waited.elapsed();
            stats.batches += 1;
            if !consume(batch)? {
                break;
            }
        }
        // Dropping the receivers makes any worker still sending stop.
        drop(receivers);
        Ok(stats)
    })
}

/// Assembles one batch: samples scaled to f32, then transformed per sample when configured.
fn prepare(
    data: &Dataset,
    indices: &[usize],
    first_position: usize,
    epoch: usize,
    config: &LoaderConfig<'_>,
) -> Result<Batch, DataError> {
    let mut batch = Batch {
        indices: indices.to_vec(),
        ..Batch::default()
    };
    let sample_shape = data.sample_shape();
    match config.transform {
        None => {
            fill_batch(
                data,
                indices,
                &mut batch.inputs,
                &mut batch.labels,
                &mut batch.values,
            );
            batch.shape = std::iter::once(indices.len())
                .chain(sample_shape.iter().copied())
                .collect();
        }
        Some(transform) => {
            let out_shape = transform.output_shape(sample_shape);
            let out_size: usize = out_shape.iter().product();
            let mut sample = vec![0.0; data.sample_size()];
            batch.inputs.resize(indices.len() * out_size, 0.0);
            for (k, (&index, out)) in indices
                .iter()
                .zip(batch.inputs.chunks_exact_mut(out_size))
                .enumerate()
            {
                data.write_sample(index, &mut sample);
                let mut rng = sample_rng(config.seed, epoch, first_position + k);
                transform.apply(&sample, sample_shape, out, &mut rng)?;
                data.push_target(index, &mut batch.labels, &mut batch.values);
            }
            batch.shape = std::iter::once(indices.len()).chain(out_shape).collect();
        }
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn numbered(n: usize) -> Dataset {
        let bytes: Vec<u8> = (0..n * 2).map(|i| (i % 256) as u8).collect();
        let labels: Vec<u32> = (0..n as u32).map(|i| i % 3).collect();
        Dataset::images("numbered", bytes, (1, 2, 1), labels, vec![]).expect("valid")
    }

    fn collect(data: &Dataset, config: &LoaderConfig<'_>) -> Vec<Batch> {
        let mut batches = Vec::new();
        for_each_batch::<DataError>(data, 3, config, |batch| {
            batches.push(batch);
            Ok(true)
        })
        .expect("epoch");
        batches
    }

    /// Adds a per-sample random offset and appends a constant feature: changes the shape.
    struct AddNoiseAndFeature;

    impl SampleTransform for AddNoiseAndFeature {
        fn output_shape(&self, input: &[usize]) -> Vec<usize> {
            vec![input.iter().product::<usize>() + 1]
        }
        fn apply(
            &self,
            sample: &[f32],
            _: &[usize],
            out: &mut [f32],
            rng: &mut ChaCha8Rng,
        ) -> Result<(), DataError> {
            let offset: f32 = rng.gen();
            for (o, s) in out.iter_mut().zip(sample) {
                *o = s + offset;
            }
            out[sample.len()] = 7.0;
            Ok(())
        }
    }

    #[test]
    fn batches_cover_the_epoch_in_plan_order_with_their_targets() {
        let data = numbered(10);
        let config = LoaderConfig {
            batch_size: 4,
            seed: 5,
            workers: 3,
            ..LoaderConfig::default()
        };
        let batches = collect(&data, &config);
        let plan = BatchPlan::new(10, 4, true, 5, 3).expect("plan");
        let order: Vec<usize> = batches.iter().flat_map(|b| b.indices.clone()).collect();
        assert_eq!(order, plan.order());
        for batch in &batches {
            assert_eq!(batch.shape[1..], [1, 2, 1]);
            for (k, &i) in batch.indices.iter().enumerate() {
                assert_eq!(batch.labels[k], data.labels().expect("classes")[i]);
                assert_eq!(batch.inputs[2 * k], f32::from((2 * i % 256) as u8) / 255.0);
            }
        }
        assert_eq!(batches.last().expect("3 batches").shape[0], 2);
    }

    #[test]
    fn augmented_batches_do_not_depend_on_the_number_of_workers() {
        let data = numbered(37);
        let transform = AddNoiseAndFeature;
        let run = |workers| {
            collect(
                &data,
                &LoaderConfig {
                    batch_size: 5,
                    workers,
                    transform: Some(&transform),
                    ..LoaderConfig::default()
                },
            )
        };
        let one = run(1);
        let four = run(4);
        assert_eq!(one.len(), 8);
        for (a, b) in one.iter().zip(&four) {
            assert_eq!(a.inputs, b.inputs);
            assert_eq!(a.shape, vec![a.indices.len(), 3]);
        }
        assert!(one[0].inputs.chunks(3).all(|s| s[2] == 7.0));
        // Different samples draw different offsets.
        let offsets: Vec<f32> = one[0]
            .inputs
            .chunks(3)
            .zip(&one[0].indices)
            .map(|(s, &i)| s[0] - f32::from((2 * i % 256) as u8) / 255.0)
            .collect();
        assert!(offsets.windows(2).all(|w| (w[0] - w[1]).abs() > 1e-6));
    }

    #[test]
    fn stopping_early_ends_the_epoch_without_hanging() {
        let data = numbered(100);
        let mut seen = 0;
        let stats = for_each_batch::<DataError>(
            &data,
            0,
            &LoaderConfig {
                batch_size: 2,
                workers: 2,
                prefetch: 1,
                ..LoaderConfig::default()
            },
            |_| {
                seen += 1;
                Ok(seen < 3)
            },
        )
        .expect("stopped");
        assert_eq!((seen, stats.batches), (3, 3));
    }

    #[test]
    fn a_consumer_error_is_returned() {
        let data = numbered(10);
        let error = for_each_batch(&data, 0, &LoaderConfig::default(), |_| {
            Err(DataError::BadValue {
                argument: "test",
                why: "stop".into(),
            })
        })
        .expect_err("error");
        assert!(error.to_string().contains("stop"));
    }
}

#[cfg(test)]
mod pipeline_tests {
    use super::*;

    #[test]
    fn a_parsed_pipeline_augments_batches_reproducibly_and_keeps_targets() {
        let bytes: Vec<u8> = (0..8 * 16).map(|i| (i * 3 % 256) as u8).collect();
        let data =
            Dataset::images("grid", bytes, (4, 4, 1), (0..8).collect(), vec![]).expect("valid");
        let pipeline = Pipeline::parse("flip,crop:1").expect("valid spec");
        let config = LoaderConfig {
            batch_size: 3,
            seed: 9,
            workers: 2,
            transform: Some(&pipeline),
            ..LoaderConfig::default()
        };
        let run = || {
            let mut all = Vec::new();
            for_each_batch::<DataError>(&data, 1, &config, |batch| {
                all.push(batch);
                Ok(true)
            })
            .expect("epoch");
            all
        };
        let (first, second) = (run(), run());
        let mut changed = 0;
        for (a, b) in first.iter().zip(&second) {
            assert_eq!(a.inputs, b.inputs);
            assert_eq!(a.shape[1..], [4, 4, 1]);
            for (k, &i) in a.indices.iter().enumerate() {
                assert_eq!(a.labels[k], i as u32);
                let mut plain = vec![0.0; 16];
                data.write_sample(i, &mut plain);
                changed += usize::from(a.inputs[k * 16..(k + 1) * 16] != plain[..]);
            }
        }
        assert!(changed >= 4, "only {changed} of 8 samples were augmented");
    }
}
