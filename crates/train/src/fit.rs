//! The training loop: batches from the background loader, forward, (weighted) loss, backward,
//! optimizer step, callbacks; then evaluation and prediction without a tape.

use crate::callbacks::{Callback, Control};
use crate::{Result, TrainError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use krust_autograd::{no_grad, Var};
use krust_data::loader::{for_each_batch, Batch, LoaderConfig, SampleTransform};
use krust_data::Dataset;
use krust_nn::losses::{Loss, Targets};
use krust_nn::optimizers::Optimizer;
use krust_nn::Module;
use krust_tensor::Tensor;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A metric computed during training and evaluation, Keras-named in the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Keras's "accuracy": sparse categorical for class labels, categorical (argmax of the
    /// target row) for one-hot rows, binary (output > 0.5 against target > 0.5) for one column.
    Accuracy,
    /// Keras's sparse top-k categorical accuracy ("top_k_accuracy" in the logs, k in the name
    /// when k != 5).
    TopK(usize),
    /// Mean absolute error ("mae").
    MeanAbsoluteError,
    /// Mean squared error ("mse").
    MeanSquaredError,
}

impl Metric {
    /// The name in the logs (Keras's).
    pub fn name(&self) -> String {
        match self {
            Metric::Accuracy => "accuracy".into(),
            Metric::TopK(5) => "top_k_accuracy".into(),
            Metric::TopK(k) => format!("top_{k}_accuracy"),
            Metric::MeanAbsoluteError => "mae".into(),
            Metric::MeanSquaredError => "mse".into(),
        }
    }

    /// Parses a metric name as the command line takes it.
    pub fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "accuracy" | "acc" => Metric::Accuracy,
            "mae" | "mean_absolute_error" => Metric::MeanAbsoluteError,
            "mse" | "mean_squared_error" => Metric::MeanSquaredError,
            "top_k_accuracy" | "top5" | "top-5" => Metric::TopK(5),
            other => {
                let k = other
                    .strip_prefix("top")
                    .map(|rest| rest.trim_start_matches(['-', '_']))
                    .map(|rest| rest.trim_end_matches("_accuracy"))?;
                Metric::TopK(k.parse().ok().filter(|&k| k > 0)?)
            }
        })
    }

    /// This metric summed over the batch (divided by the sample count later). The per-batch
    /// fractions come from krust-metrics and are scaled back to counts (or sums).
    fn batch_sum(&self, output: &Tensor, batch: &Batch) -> Result<f64> {
        let rows = batch.indices.len();
        let out = &output.to_vec()[..];
        let width = out.len() / rows.max(1);
        let count = |fraction: f64| (fraction * rows as f64).round();
        Ok(match self {
            Metric::Accuracy if !batch.labels.is_empty() => count(
                krust_metrics::sparse_categorical_accuracy(out, width, &batch.labels)?,
            ),
            Metric::Accuracy if width == 1 => out
                .iter()
                .zip(&batch.values)
                .filter(|(o, t)| (**o > 0.5) == (**t > 0.5))
                .count() as f64,
            Metric::Accuracy => count(krust_metrics::categorical_accuracy(
                out,
                &batch.values,
                width,
            )?),
            Metric::TopK(k) => {
                let labels = class_labels(batch, width)?;
                count(krust_metrics::top_k_accuracy(out, width, &labels, *k)?)
            }
            Metric::MeanAbsoluteError | Metric::MeanSquaredError => {
                let converted: Vec<f32>;
                let targets = if batch.values.len() == out.len() {
                    &batch.values[..]
                } else if batch.labels.len() == out.len() {
                    converted = batch.labels.iter().map(|&l| l as f32).collect();
                    &converted[..]
                } else {
                    return Err(TrainError::Argument {
                        argument: "metrics",
                        why: format!(
                            "mae/mse need targets shaped like the output ({} values per batch), got {}",
                            out.len(),
                            batch.values.len().max(batch.labels.len())
                        ),
                    });
                };
                let mean = if *self == Metric::MeanSquaredError {
                    krust_metrics::mean_squared_error(out, targets)?
                } else {
                    krust_metrics::mean_absolute_error(out, targets)?
                };
                mean * rows as f64
            }
        })
    }
}

/// The batch's class labels: as given, or the argmax of each one-hot target row.
fn class_labels(batch: &Batch, width: usize) -> Result<std::borrow::Cow<'_, [u32]>> {
    Ok(if batch.labels.is_empty() {
        std::borrow::Cow::Owned(krust_metrics::argmax_rows(&batch.values, width)?)
    } else {
        std::borrow::Cow::Borrowed(&batch.labels[..])
    })
}

/// How to train (Keras's `fit` arguments).
#[derive(Clone)]
pub struct FitConfig<'a> {
    /// The epoch to stop at (Keras's `epochs`): training runs epochs initial_epoch..epochs.
    pub epochs: usize,
    /// Epochs already done (Keras's `initial_epoch`), when resuming; 0 otherwise. Each
    /// epoch's shuffle depends only on (seed, epoch), so a resumed run repeats the order of
    /// an uninterrupted one.
    pub initial_epoch: usize,
    pub batch_size: usize,
    /// Seeds the per-epoch shuffles and augmentation.
    pub seed: u64,
    /// Reshuffle the training data every epoch (Keras's default).
    pub shuffle: bool,
    /// Draw a progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// Print one line per epoch with the logs (Keras's verbose=2 line).
    pub verbose: bool,
    /// Metrics to report besides the loss.
    pub metrics: Vec<Metric>,
    /// Evaluated at the end of every epoch ("val_" logs).
    pub validation: Option<&'a Dataset>,
    /// Per-class loss weights (Keras's `class_weight`), one per class.
    pub class_weights: Option<Vec<f32>>,
    /// Training-time augmentation, applied per sample on the loader threads.
    pub augmentation: Option<&'a dyn SampleTransform>,
    /// Loader threads preparing batches ahead of training.
    pub loader_workers: usize,
    /// Set (by a Ctrl-C handler, say) to stop after the current step: the epoch is left
    /// unfinished, no callback sees its end, and the history records where training stopped.
    pub interrupt: Option<&'a AtomicBool>,
    /// A resumed run's history of its first `initial_epoch` epochs: every callback replays
    /// them (`Callback::replay_epoch`) after `on_train_begin`, so early stopping, checkpoints
    /// and plateaus go on as in an uninterrupted run.
    pub earlier: Option<&'a History>,
}

impl Default for FitConfig<'_> {
    fn default() -> Self {
        Self {
            epochs: 1,
            initial_epoch: 0,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            progress: false,
            verbose: false,
            metrics: vec![Metric::Accuracy],
            validation: None,
            class_weights: None,
            augmentation: None,
            loader_workers: 1,
            interrupt: None,
            earlier: None,
        }
    }
}

/// Named values at the end of an epoch, in the order they were added ("loss", metrics,
/// "val_loss", "val_" metrics, "learning_rate").
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Logs {
    pub values: Vec<(String, f64)>,
}

impl Logs {
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn set(&mut self, name: &str, value: f64) {
        match self.values.iter_mut().find(|(n, _)| n == name) {
            Some(entry) => entry.1 = value,
            None => self.values.push((name.to_string(), value)),
        }
    }
}

/// What one epoch of training measured.
#[derive(Debug, Clone)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Wall time of the training loop (data preparation included, validation excluded).
    pub seconds: f64,
    /// Time the training loop waited for the loader.
    pub data_wait_seconds: f64,
    pub images_per_second: f64,
    pub logs: Logs,
}

impl EpochStats {
    /// The training loss.
    pub fn loss(&self) -> f64 {
        self.logs.get("loss").unwrap_or(f64::NAN)
    }

    /// A log value (NaN when absent).
    pub fn get(&self, name: &str) -> f64 {
        self.logs.get(name).unwrap_or(f64::NAN)
    }
}

/// Keras's `History`: the logs of every epoch, and why training stopped early, if it did.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub epochs: Vec<EpochStats>,
    pub stopped_early: Option<String>,
    /// Where `FitConfig::interrupt` stopped training, if it did.
    pub interrupted: Option<Interruption>,
}

/// Where an interrupted `fit` stopped: in 1-based `epoch`, after `step` of its `steps`
/// batches (0 when it stopped between epochs). The epoch has no logs: its finished steps
/// have changed the weights, but it is not in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interruption {
    pub epoch: usize,
    pub step: usize,
    pub steps: usize,
}

impl History {
    /// The values of log `name` per epoch (NaN where an epoch lacks it).
    pub fn series(&self, name: &str) -> Vec<f64> {
        self.epochs.iter().map(|e| e.get(name)).collect()
    }

    /// Every log name, in first-seen order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for epoch in &self.epochs {
            for (name, _) in &epoch.logs.values {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        names
    }
}

/// A batch's inputs as a tensor (the buffer moves into the tensor).
fn input_tensor(batch: &mut Batch) -> Result<Tensor> {
    Ok(Tensor::from_vec(
        batch.shape.clone(),
        std::mem::take(&mut batch.inputs),
    )?)
}

/// The loss of one batch: per-sample losses weighted by class when asked, else the loss's own
/// reduction.
fn batch_loss(
    loss_fn: &dyn Loss,
    output: &Var,
    batch: &Batch,
    class_weights: Option<&[f32]>,
) -> Result<Var> {
    let dense;
    let targets = if batch.labels.is_empty() {
        dense = Tensor::from_vec(output.value_ref().shape().to_vec(), batch.values.clone())
            .map_err(|_| TrainError::Argument {
                argument: "targets",
                why: format!(
                    "the model's output has shape {:?} but the targets have {} values per sample",
                    output.value_ref().shape(),
                    batch.values.len() / batch.indices.len().max(1)
                ),
            })?;
        Targets::Dense(&dense)
    } else {
        Targets::Sparse(&batch.labels)
    };
    match class_weights {
        None => Ok(loss_fn.compute(output, &targets)?),
        Some(weights) => {
            let per_sample = loss_fn.per_sample(output, &targets)?;
            let width = batch.values.len() / batch.indices.len().max(1);
            let labels = class_labels(batch, width.max(1))?;
            let w: Vec<f32> = labels
                .iter()
                .map(|&l| weights.get(l as usize).copied().unwrap_or(1.0))
                .collect();
            let w = Var::constant(Tensor::from_vec(
                per_sample.value_ref().shape().to_vec(),
                w,
            )?);
            Ok(per_sample.mul(&w)?.mean()?)
        }
    }
}

fn progress_bar(cfg: &FitConfig, epoch: usize, batches: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(batches as u64),
        if cfg.progress {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    let style = ProgressStyle::with_template(&format!(
        "Epoch {}/{} {{bar:30.cyan/blue}} {{pos}}/{{len}} ETA {{eta}} {{msg}}",
        epoch + 1,
        cfg.epochs
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

fn check_config(cfg: &FitConfig, train: &Dataset) -> Result<()> {
    let bad = |argument, why: String| Err(TrainError::Argument { argument, why });
    if cfg.epochs == 0 {
        return bad("epochs", "must be at least 1".into());
    }
    if cfg.epochs <= cfg.initial_epoch {
        return bad(
            "epochs",
            format!(
                "must be more than the {} epochs already done",
                cfg.initial_epoch
            ),
        );
    }
    if train.is_empty() {
        return bad("training data", "the dataset is empty".into());
    }
    if let Some(weights) = &cfg.class_weights {
        let classes = train.num_classes().max(train.target_width());
        if weights.len() != classes {
            return bad(
                "class weights",
                format!("{} weights given for {classes} classes", weights.len()),
            );
        }
        if let Some(w) = weights.iter().find(|w| !w.is_finite() || **w < 0.0) {
            return bad(
                "class weights",
                format!("{w} is not a finite, non-negative weight"),
            );
        }
    }
    if let Some(val) = cfg.validation {
        // Validation samples are not augmented, so they must already have the shape training
        // samples have after augmentation.
        let seen = cfg.augmentation.map_or_else(
            || train.sample_shape().to_vec(),
            |a| a.output_shape(train.sample_shape()),
        );
        if val.sample_shape() != seen || val.target_width() != train.target_width() {
            return bad(
                "validation data",
                format!(
                    "samples {:?} with {} target values do not match the training data's {:?} (after augmentation) with {}",
                    val.sample_shape(),
                    val.target_width(),
                    seen,
                    train.target_width()
                ),
            );
        }
    }
    Ok(())
}

fn format_logs(logs: &Logs) -> String {
    logs.values
        .iter()
        .map(|(name, value)| {
            if name == "learning_rate" {
                format!("{name}: {value:.3e}")
            } else {
                format!("{name}: {value:.4}")
            }
        })
        .collect::<Vec<_>>()
        .join(" - ")
}

/// Trains `model` on `train` (Keras's `fit`) and returns the history. Callbacks see every
/// epoch's logs and may stop training or change the learning rate.
pub fn fit(
    model: &dyn Module,
    optimizer: &mut dyn Optimizer,
    loss_fn: &dyn Loss,
    train: &Dataset,
    cfg: &FitConfig,
    callbacks: &mut [&mut dyn Callback],
) -> Result<History> {
    check_config(cfg, train)?;
    let params = model.parameters();
    let mut history = History::default();
    let mut control = Control {
        model,
        optimizer,
        stop_training: false,
        stop_reason: None,
    };
    for callback in callbacks.iter_mut() {
        callback.on_train_begin(&mut control)?;
    }
    for stats in cfg.earlier.iter().flat_map(|h| &h.epochs) {
        for callback in callbacks.iter_mut() {
            callback.replay_epoch(stats.epoch.saturating_sub(1), &stats.logs)?;
        }
    }
    let loader = LoaderConfig {
        batch_size: cfg.batch_size,
        shuffle: cfg.shuffle,
        seed: cfg.seed,
        workers: cfg.loader_workers.max(1),
        prefetch: 4,
        transform: cfg.augmentation,
    };
    let interrupted = || {
        cfg.interrupt
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    };
    for epoch in cfg.initial_epoch..cfg.epochs {
        let batches = train.len().div_ceil(cfg.batch_size.max(1));
        if interrupted() {
            history.interrupted = Some(Interruption {
                epoch: epoch + 1,
                step: 0,
                steps: batches,
            });
            break;
        }
        for callback in callbacks.iter_mut() {
            callback.on_epoch_begin(epoch, &mut control)?;
        }
        let bar = progress_bar(cfg, epoch, batches);
        let start = Instant::now();
        let mut sums = vec![0.0f64; cfg.metrics.len()];
        let (mut loss_sum, mut seen) = (0.0f64, 0usize);
        let mut batch_number = 0;
        let loader_stats = for_each_batch(train, epoch, &loader, |mut batch| -> Result<bool> {
            batch_number += 1;
            let x = Var::constant(input_tensor(&mut batch)?);
            // Regularization penalties the layers add during the training pass join the loss.
            let out = model.forward(&x, true)?;
            let penalties = model.losses();
            let mut loss = batch_loss(loss_fn, &out, &batch, cfg.class_weights.as_deref())?;
            for p in &penalties {
                loss = loss.add(p)?;
            }
            let value = loss.value().item()?;
            for callback in callbacks.iter_mut() {
                callback.on_batch_end(batch_number - 1, value, &mut control)?;
            }
            if !value.is_finite() {
                if control.stop_training {
                    return Ok(false);
                }
                return Err(TrainError::NonFiniteLoss {
                    epoch: epoch + 1,
                    batch: batch_number,
                    value,
                });
            }
            for (sum, metric) in sums.iter_mut().zip(&cfg.metrics) {
                *sum += metric.batch_sum(&out.value_ref(), &batch)?;
            }
            loss.backward()?;
            drop((out, loss));
            control.optimizer.step(&params)?;
            model.apply_constraints()?;
            params.iter().for_each(Var::zero_grad);
            let n = batch.indices.len();
            loss_sum += value as f64 * n as f64;
            seen += n;
            bar.inc(1);
            if interrupted() {
                return Ok(false);
            }
            if batch_number % 16 == 1 {
                let mut message = format!("loss: {:.4}", loss_sum / seen as f64);
                if let (Some(metric), Some(sum)) = (cfg.metrics.first(), sums.first()) {
                    message += &format!(" {}: {:.4}", metric.name(), sum / seen as f64);
                }
                bar.set_message(message);
            }
            Ok(true)
        });
        let loader_stats = match loader_stats {
            Ok(stats) => stats,
            Err(error) => {
                bar.abandon();
                return Err(error);
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        if interrupted() && seen < train.len() {
            history.interrupted = Some(Interruption {
                epoch: epoch + 1,
                step: batch_number,
                steps: batches,
            });
            break;
        }
        if control.stop_training && seen < train.len() {
            // TerminateOnNaN stopped mid-epoch: this epoch has no complete logs.
            history.stopped_early = control.stop_reason.take();
            break;
        }
        let mut logs = Logs::default();
        logs.set("loss", loss_sum / seen.max(1) as f64);
        for (sum, metric) in sums.iter().zip(&cfg.metrics) {
            logs.set(&metric.name(), sum / seen.max(1) as f64);
        }
        if let Some(validation) = cfg.validation {
            let evaluation = evaluate_metrics(
                model,
                loss_fn,
                validation,
                cfg.batch_size.max(256),
                &cfg.metrics,
            )?;
            for (name, value) in &evaluation.values {
                logs.set(&format!("val_{name}"), *value);
            }
        }
        logs.set(
            "learning_rate",
            f64::from(control.optimizer.learning_rate()),
        );
        for callback in callbacks.iter_mut() {
            callback.on_epoch_end(epoch, &logs, &mut control)?;
        }
        let stats = EpochStats {
            epoch: epoch + 1,
            seconds,
            data_wait_seconds: loader_stats.wait.as_secs_f64(),
            images_per_second: seen as f64 / seconds.max(1e-9),
            logs,
        };
        if cfg.verbose {
            println!(
                "Epoch {}/{} - {} | {:.1}s, {:.0} img/s, data wait {:.1}%",
                stats.epoch,
                cfg.epochs,
                format_logs(&stats.logs),
                stats.seconds,
                stats.images_per_second,
                100.0 * stats.data_wait_seconds / stats.seconds.max(1e-9),
            );
        }
        history.epochs.push(stats);
        if control.stop_training {
            history.stopped_early = control.stop_reason.take();
            break;
        }
    }
    for callback in callbacks.iter_mut() {
        callback.on_train_end(&mut control)?;
    }
    if cfg.verbose {
        if let Some(reason) = &history.stopped_early {
            println!("{reason}");
        }
    }
    Ok(history)
}

/// Mean loss and metrics of `model` on `data` (Keras's `evaluate`), in inference mode with no
/// tape; "loss" first, then each metric by name.
pub fn evaluate_metrics(
    model: &dyn Module,
    loss_fn: &dyn Loss,
    data: &Dataset,
    batch_size: usize,
    metrics: &[Metric],
) -> Result<Logs> {
    let loader = LoaderConfig {
        batch_size,
        shuffle: false,
        ..LoaderConfig::default()
    };
    let mut sums = vec![0.0f64; metrics.len()];
    let mut loss_sum = 0.0f64;
    no_grad(|| {
        for_each_batch(data, 0, &loader, |mut batch| -> Result<bool> {
            let out = Var::constant(model.infer(&input_tensor(&mut batch)?)?);
            let n = batch.indices.len() as f64;
            loss_sum += batch_loss(loss_fn, &out, &batch, None)?.value().item()? as f64 * n;
            for (sum, metric) in sums.iter_mut().zip(metrics) {
                *sum += metric.batch_sum(&out.value_ref(), &batch)?;
            }
            Ok(true)
        })
    })?;
    let n = data.len().max(1) as f64;
    let mut logs = Logs::default();
    logs.set("loss", loss_sum / n);
    for (sum, metric) in sums.iter().zip(metrics) {
        logs.set(&metric.name(), sum / n);
    }
    Ok(logs)
}

/// Mean loss and accuracy over a dataset.
#[derive(Debug, Clone, Copy)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
}

/// Mean loss and accuracy of `model` on `data`, in inference mode with no tape.
pub fn evaluate(
    model: &dyn Module,
    loss_fn: &dyn Loss,
    data: &Dataset,
    batch_size: usize,
) -> Result<Evaluation> {
    let logs = evaluate_metrics(model, loss_fn, data, batch_size, &[Metric::Accuracy])?;
    Ok(Evaluation {
        loss: logs.get("loss").unwrap_or(f64::NAN) as f32,
        accuracy: logs.get("accuracy").unwrap_or(f64::NAN) as f32,
    })
}

/// The model's outputs for every sample of `data`, in order (Keras's `predict`), as rows of
/// the output's per-sample size.
pub fn predict(model: &dyn Module, data: &Dataset, batch_size: usize) -> Result<Tensor> {
    let loader = LoaderConfig {
        batch_size,
        shuffle: false,
        ..LoaderConfig::default()
    };
    let mut outputs: Vec<f32> = Vec::new();
    let mut row_shape: Vec<usize> = Vec::new();
    no_grad(|| {
        for_each_batch(data, 0, &loader, |mut batch| -> Result<bool> {
            let out = model.infer(&input_tensor(&mut batch)?)?;
            let value = &out;
            row_shape = value.shape()[1..].to_vec();
            outputs.extend_from_slice(&value.to_vec());
            Ok(true)
        })
    })?;
    let shape: Vec<usize> = std::iter::once(data.len()).chain(row_shape).collect();
    Ok(Tensor::from_vec(shape, outputs)?)
}
