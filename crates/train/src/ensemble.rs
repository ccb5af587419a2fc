//! Ensembles of independently trained models: how members differ (their training data, seed
//! and optimizer), averaging their test outputs, and scoring the average.
//!
//! A member `k` (counting from 0) of an ensemble started from seed `base` trains with
//! [`member_seed`]`(base, k)`; under [`EnsembleMode::Bootstrap`] on
//! [`bootstrap_sample`]`(train, seed)`, under [`EnsembleMode::Optimizers`] with
//! [`member_optimizer`]`(k)`. The ensemble's prediction is [`average_outputs`] of the
//! members' outputs, and [`score_ensemble`] compares it with the test targets.

use std::fmt;
use std::str::FromStr;

use krust_data::{Dataset, Targets};
use krust_metrics::ConfusionMatrix;
use rand::{Rng, SeedableRng};

use crate::{Result, TrainError};

/// How the members of an ensemble differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnsembleMode {
    /// Each member trains on a bootstrap resample (drawn with replacement) of the training set.
    Bootstrap,
    /// Each member trains on the whole training set with its own seed.
    Seeds,
    /// Each member trains on the whole training set with its own seed and the next optimizer
    /// of [`ENSEMBLE_OPTIMIZERS`], each at its Keras default rate.
    Optimizers,
}

impl EnsembleMode {
    /// Every mode, in the order its names are listed.
    pub const ALL: [EnsembleMode; 3] = [
        EnsembleMode::Bootstrap,
        EnsembleMode::Seeds,
        EnsembleMode::Optimizers,
    ];

    /// The mode's name, as `--ensemble-mode` spells it and [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            EnsembleMode::Bootstrap => "bootstrap",
            EnsembleMode::Seeds => "seeds",
            EnsembleMode::Optimizers => "optimizers",
        }
    }

    /// The training set of the member seeded with `seed` (see [`member_seed`]) in an ensemble
    /// of `members`: its [`bootstrap_sample`] under [`EnsembleMode::Bootstrap`] when there are
    /// several members, otherwise the whole of `train`.
    pub fn training_set(self, train: &Dataset, seed: u64, members: usize) -> Dataset {
        if members > 1 && self == EnsembleMode::Bootstrap {
            bootstrap_sample(train, seed)
        } else {
            train.clone()
        }
    }

    /// The optimizer member `k` uses: [`member_optimizer`]`(k)` under
    /// [`EnsembleMode::Optimizers`], None (the run's own optimizer) under the other modes.
    pub fn optimizer(self, k: usize) -> Option<&'static str> {
        (self == EnsembleMode::Optimizers).then(|| member_optimizer(k))
    }
}

impl fmt::Display for EnsembleMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EnsembleMode {
    type Err = TrainError;

    /// Reads a mode by its name (`bootstrap`, `seeds` or `optimizers`; case-insensitive).
    fn from_str(text: &str) -> Result<Self> {
        let wanted = text.trim();
        EnsembleMode::ALL
            .into_iter()
            .find(|mode| mode.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| TrainError::Argument {
                argument: "ensemble mode",
                why: format!(
                    "{text:?} is not one of {}",
                    EnsembleMode::ALL.map(EnsembleMode::name).join(", ")
                ),
            })
    }
}

/// The Keras optimizer names [`EnsembleMode::Optimizers`] cycles through: Adam, SGD (which
/// members use with momentum 0.9), RMSprop, AdamW and Nadam.
pub const ENSEMBLE_OPTIMIZERS: [&str; 5] = ["adam", "sgd", "rmsprop", "adamw", "nadam"];

/// The optimizer member `k` (from 0) uses under [`EnsembleMode::Optimizers`]: the members
/// cycle through [`ENSEMBLE_OPTIMIZERS`].
pub fn member_optimizer(k: usize) -> &'static str {
    ENSEMBLE_OPTIMIZERS[k % ENSEMBLE_OPTIMIZERS.len()]
}

/// The seed of member `k` (from 0) of an ensemble seeded with `base`: `base + k`, so a
/// one-model run and an ensemble's first member share their seed.
pub fn member_seed(base: u64, k: usize) -> u64 {
    base.wrapping_add(k as u64)
}

/// Mixed into a member's seed for its resample, so the draw does not share its random
/// stream with the weights and shuffling the same seed drives.
const BOOTSTRAP_STREAM: u64 = 0x424f_4f54; // "BOOT"

/// The `n` indices of a bootstrap resample of `n` samples: each drawn uniformly from `0..n`
/// with replacement, the same for the same `seed`.
pub fn bootstrap_indices(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ BOOTSTRAP_STREAM);
    (0..n).map(|_| rng.gen_range(0..n)).collect()
}

/// A bootstrap resample of `train`: as many samples as it has, drawn with replacement
/// ([`bootstrap_indices`]), so about 63% of the samples appear, some of them several times.
pub fn bootstrap_sample(train: &Dataset, seed: u64) -> Dataset {
    train.subset(&bootstrap_indices(train.len(), seed))
}

/// The element-wise mean of the members' outputs (each one member's predictions for the same
/// test samples, e.g. class probabilities row by row): the ensemble's prediction.
///
/// Errors when there are no members or their outputs differ in length.
pub fn average_outputs(members: &[Vec<f32>]) -> Result<Vec<f32>> {
    let first = members.first().ok_or(TrainError::EmptyEnsemble)?;
    if let Some((k, other)) = members
        .iter()
        .enumerate()
        .find(|(_, m)| m.len() != first.len())
    {
        return Err(TrainError::EnsembleOutputs {
            member: k + 1,
            got: other.len(),
            expected: first.len(),
        });
    }
    let n = members.len() as f32;
    let mut mean = vec![0.0; first.len()];
    for member in members {
        for (sum, value) in mean.iter_mut().zip(member) {
            *sum += value / n;
        }
    }
    Ok(mean)
}

/// How an ensemble's averaged outputs score on the test set.
#[derive(Debug, Clone, PartialEq)]
pub enum EnsembleScore {
    /// Classes: the arg-max of each averaged row against the labels.
    Classification(ConfusionMatrix),
    /// Regression: the mean absolute error of the averaged values.
    Regression { mean_absolute_error: f64 },
}

/// Scores the averaged `outputs` of an ensemble (one row per sample of `test`) against its
/// targets: a confusion matrix for class labels, the mean absolute error for values.
pub fn score_ensemble(outputs: &[f32], test: &Dataset) -> Result<EnsembleScore> {
    match test.targets() {
        Targets::Classes { labels, .. } => {
            let classes = outputs.len() / labels.len().max(1);
            let predicted = krust_metrics::argmax_rows(outputs, classes)?;
            Ok(EnsembleScore::Classification(ConfusionMatrix::new(
                labels, &predicted, classes,
            )?))
        }
        Targets::Values { values, .. } => Ok(EnsembleScore::Regression {
            mean_absolute_error: krust_metrics::mean_absolute_error(outputs, values)?,
        }),
    }
}
