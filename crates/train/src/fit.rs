//! The training loop over an in-memory image dataset: per-epoch shuffled batches converted from
//! bytes on the fly, forward, loss, backward, optimizer step; then evaluation without a tape.

use crate::{Result, TrainError};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use krust_autograd::{no_grad, Var};
use krust_data::batches::{fill_batch, BatchPlan};
use krust_data::fashion_mnist::ImageDataset;
use krust_nn::losses::{Loss, Targets};
use krust_nn::optimizers::Optimizer;
use krust_nn::regularizers::collecting;
use krust_nn::Module;
use krust_tensor::Tensor;
use std::time::Instant;

/// How to train.
#[derive(Debug, Clone)]
pub struct FitConfig {
    /// The epoch to stop at (Keras's `epochs`): training runs epochs initial_epoch..epochs.
    pub epochs: usize,
    /// Epochs already done (Keras's `initial_epoch`), when resuming; 0 otherwise. Each
    /// epoch's shuffle depends only on (seed, epoch), so a resumed run repeats the order of
    /// an uninterrupted one.
    pub initial_epoch: usize,
    pub batch_size: usize,
    /// Seeds the per-epoch shuffles.
    pub seed: u64,
    /// Draw a progress bar (it is hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

/// What one epoch of training measured.
#[derive(Debug, Clone)]
pub struct EpochStats {
    pub epoch: usize,
    /// Wall time of the training loop (data preparation included, evaluation excluded).
    pub seconds: f64,
    pub loss: f32,
    pub accuracy: f32,
    pub images_per_second: f64,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub epochs: Vec<EpochStats>,
}

/// Mean loss and accuracy over a dataset.
#[derive(Debug, Clone, Copy)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
}

/// Number of rows of `logits` (batch, classes) whose argmax equals the label.
fn count_correct(logits: &Tensor, labels: &[u32]) -> Result<usize> {
    let (_, predicted) = logits.argmax(-1)?;
    Ok(predicted
        .iter()
        .zip(labels)
        .filter(|(p, l)| **p == **l as usize)
        .count())
}

fn batch_tensor(
    ds: &ImageDataset,
    indices: &[usize],
    pixels: &mut Vec<f32>,
    labels: &mut Vec<u32>,
) -> Result<Tensor> {
    fill_batch(ds, indices, pixels, labels);
    let shape = vec![indices.len(), ds.height, ds.width, ds.channels];
    // The batch buffer is handed to the tensor and a fresh one grows next time; the allocator
    // recycles the block, so memory stays flat across steps.
    Ok(Tensor::from_vec(shape, std::mem::take(pixels))?)
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

/// Trains `model` on `train` and returns the per-epoch history. `on_epoch` is called after
/// each epoch (the CLI prints and evaluates there).
pub fn fit(
    model: &dyn Module,
    optimizer: &mut dyn Optimizer,
    loss_fn: &dyn Loss,
    train: &ImageDataset,
    cfg: &FitConfig,
    mut on_epoch: impl FnMut(&EpochStats) -> Result<()>,
) -> Result<History> {
    if cfg.epochs <= cfg.initial_epoch {
        return Err(TrainError::Argument {
            argument: "epochs",
            why: format!(
                "must be more than the {} epochs already done",
                cfg.initial_epoch
            ),
        });
    }
    if cfg.epochs == 0 {
        return Err(TrainError::Argument {
            argument: "epochs",
            why: "must be at least 1".into(),
        });
    }
    if train.is_empty() {
        return Err(TrainError::Argument {
            argument: "training data",
            why: "the dataset is empty".into(),
        });
    }
    let params = model.parameters();
    let mut history = History::default();
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    for epoch in cfg.initial_epoch..cfg.epochs {
        let plan = BatchPlan::new(train.len(), cfg.batch_size, true, cfg.seed, epoch)?;
        let bar = progress_bar(cfg, epoch, plan.num_batches());
        let start = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (b, indices) in plan.iter().enumerate() {
            let x = Var::constant(batch_tensor(train, indices, &mut pixels, &mut labels)?);
            // Regularization penalties the layers add during the training pass join the loss.
            let (out, penalties) = collecting(|| model.forward(&x, true));
            let out = out?;
            let mut loss = loss_fn.compute(&out, &Targets::Sparse(&labels))?;
            for p in &penalties {
                loss = loss.add(p)?;
            }
            let value = loss.value().item()?;
            if !value.is_finite() {
                bar.abandon();
                return Err(TrainError::NonFiniteLoss {
                    epoch: epoch + 1,
                    batch: b + 1,
                    value,
                });
            }
            correct += count_correct(&out.value_ref(), &labels)?;
            loss.backward()?;
            drop((out, loss));
            optimizer.step(&params)?;
            model.apply_constraints()?;
            params.iter().for_each(Var::zero_grad);
            loss_sum += value as f64 * indices.len() as f64;
            seen += indices.len();
            bar.inc(1);
            if b % 16 == 0 {
                bar.set_message(format!(
                    "loss: {:.4} acc: {:.4}",
                    loss_sum / seen as f64,
                    correct as f64 / seen as f64
                ));
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        bar.finish_and_clear();
        let stats = EpochStats {
            epoch: epoch + 1,
            seconds,
            loss: (loss_sum / seen as f64) as f32,
            accuracy: correct as f32 / seen as f32,
            images_per_second: seen as f64 / seconds.max(1e-9),
        };
        on_epoch(&stats)?;
        history.epochs.push(stats);
    }
    Ok(history)
}

/// Mean loss and accuracy of `model` on `data`, in inference mode with no tape.
pub fn evaluate(
    model: &dyn Module,
    loss_fn: &dyn Loss,
    data: &ImageDataset,
    batch_size: usize,
) -> Result<Evaluation> {
    let plan = BatchPlan::new(data.len(), batch_size, false, 0, 0)?;
    let (mut pixels, mut labels) = (Vec::new(), Vec::new());
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    no_grad(|| -> Result<()> {
        for indices in plan.iter() {
            let x = Var::constant(batch_tensor(data, indices, &mut pixels, &mut labels)?);
            let out = model.forward(&x, false)?;
            loss_sum += loss_fn
                .compute(&out, &Targets::Sparse(&labels))?
                .value()
                .item()? as f64
                * indices.len() as f64;
            correct += count_correct(&out.value_ref(), &labels)?;
        }
        Ok(())
    })?;
    let n = data.len().max(1) as f64;
    Ok(Evaluation {
        loss: (loss_sum / n) as f32,
        accuracy: (correct as f64 / n) as f32,
    })
}
