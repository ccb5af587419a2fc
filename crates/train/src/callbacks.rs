//! Keras's training callbacks: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
//! LearningRateScheduler, CSVLogger and TerminateOnNaN, with Keras's semantics.

use std::path::PathBuf;

use krust_nn::optimizers::Optimizer;
use krust_nn::saving::{
    load_model, save_model, save_model_with_inputs, write_atomically, InputSpec,
};
use krust_nn::Module;
use krust_tensor::Tensor;

use crate::fit::Logs;
use crate::{Result, TrainError};

/// What a callback may look at and change while training runs.
pub struct Control<'a> {
    pub model: &'a dyn Module,
    pub optimizer: &'a mut dyn Optimizer,
    /// Set to end training after the current epoch (or at once, for a non-finite loss).
    pub stop_training: bool,
    /// Why training was stopped, reported in the history.
    pub stop_reason: Option<String>,
}

/// Hooks into `fit`; every method has a no-op default. Epochs are 0-based as in Keras.
pub trait Callback {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        Ok(())
    }
    fn on_epoch_begin(&mut self, _epoch: usize, _control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// After each batch's forward pass, with the batch's loss (before the update).
    fn on_batch_end(&mut self, _batch: usize, _loss: f32, _control: &mut Control) -> Result<()> {
        Ok(())
    }
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _control: &mut Control) -> Result<()> {
        Ok(())
    }
    fn on_train_end(&mut self, _control: &mut Control) -> Result<()> {
        Ok(())
    }
    /// A resumed run's earlier epoch, replayed after `on_train_begin` (see
    /// `FitConfig::earlier`): the callback brings its bookkeeping (best value, patience,
    /// cooldown) to where an uninterrupted run would have it, without acting on the model,
    /// the optimizer or any file.
    fn replay_epoch(&mut self, _epoch: usize, _logs: &Logs) -> Result<()> {
        Ok(())
    }
}

/// Whether a monitored quantity improves by going down or up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Min,
    Max,
    /// Max for names containing "acc", "auc", "precision", "recall" or "f1"; min otherwise
    /// (Keras's "auto").
    Auto,
}

impl Mode {
    fn resolve(self, monitor: &str) -> Mode {
        match self {
            Mode::Auto => {
                if ["acc", "auc", "precision", "recall", "f1"]
                    .iter()
                    .any(|m| monitor.contains(m))
                {
                    Mode::Max
                } else {
                    Mode::Min
                }
            }
            mode => mode,
        }
    }

    /// Whether `current` beats `best` by more than `min_delta`.
    fn improves(self, current: f64, best: f64, min_delta: f64) -> bool {
        match self {
            Mode::Max => current - min_delta.abs() > best,
            _ => current + min_delta.abs() < best,
        }
    }

    fn worst(self) -> f64 {
        match self {
            Mode::Max => f64::NEG_INFINITY,
            _ => f64::INFINITY,
        }
    }
}

/// The monitored value from the logs, or an error listing what the logs hold.
fn monitored(logs: &Logs, monitor: &str, who: &str) -> Result<f64> {
    logs.get(monitor).ok_or_else(|| TrainError::Argument {
        argument: "monitor",
        why: format!(
            "{who} monitors {monitor:?}, which is not in the logs (available: {}); give validation data for val_ metrics",
            logs.values
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Copies of every weight (trainable or not), to restore later.
fn snapshot(model: &dyn Module) -> Vec<Tensor> {
    model
        .named_weights()
        .iter()
        .map(|(_, w)| w.value())
        .collect()
}

fn restore(model: &dyn Module, weights: &[Tensor]) -> Result<()> {
    for ((_, var), value) in model.named_weights().iter().zip(weights) {
        var.set_value(value.clone())?;
    }
    Ok(())
}

/// Stops training when the monitored quantity has not improved for `patience` epochs
/// (Keras's `EarlyStopping`).
pub struct EarlyStopping {
    pub monitor: String,
    /// Smallest change that counts as an improvement (default 0).
    pub min_delta: f64,
    /// Epochs without improvement before stopping (default 0).
    pub patience: usize,
    pub mode: Mode,
    /// When stopping, put back the weights of the best epoch (default false, as Keras).
    pub restore_best_weights: bool,
    /// Epochs to wait before monitoring starts (default 0).
    pub start_from_epoch: usize,
    /// With `restore_best_weights`: also write the best weights to this file at every
    /// improvement, so that a resumed run whose best epoch came before the interruption
    /// can still restore them (default None).
    pub best_weights_file: Option<PathBuf>,
    best: f64,
    wait: usize,
    best_weights: Option<Vec<Tensor>>,
    best_epoch: usize,
    /// Whether the best epoch so far is one `replay_epoch` saw (its weights are in
    /// `best_weights_file`, not in memory).
    best_replayed: bool,
    /// The 0-based epoch training stopped after, if it did.
    pub stopped_epoch: Option<usize>,
}

impl EarlyStopping {
    pub fn new(monitor: &str, patience: usize) -> Self {
        Self {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience,
            mode: Mode::Auto,
            restore_best_weights: false,
            start_from_epoch: 0,
            best_weights_file: None,
            best: f64::NAN,
            wait: 0,
            best_weights: None,
            best_epoch: 0,
            best_replayed: false,
            stopped_epoch: None,
        }
    }

    /// Keeps the best weights in `path` too (see `best_weights_file`).
    pub fn best_weights_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.best_weights_file = Some(path.into());
        self
    }

    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta;
        self
    }

    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// The 0-based epoch with the best monitored value so far.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        self.best = self.mode.resolve(&self.monitor).worst();
        self.wait = 0;
        self.best_weights = None;
        self.best_replayed = false;
        self.stopped_epoch = None;
        Ok(())
    }

    fn replay_epoch(&mut self, epoch: usize, logs: &Logs) -> Result<()> {
        let current = monitored(logs, &self.monitor, "EarlyStopping")?;
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        self.wait += 1;
        if self
            .mode
            .resolve(&self.monitor)
            .improves(current, self.best, self.min_delta)
        {
            self.best = current;
            self.best_epoch = epoch;
            self.best_replayed = true;
            self.wait = 0;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        let current = monitored(logs, &self.monitor, "EarlyStopping")?;
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        let mode = self.mode.resolve(&self.monitor);
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(match (&self.best_weights_file, self.best_replayed) {
                // The best epoch came before a resume: its weights were kept in the file.
                (Some(path), true) => snapshot(&load_model(path)?),
                // Keras keeps the first epoch's weights even if it never improves on them.
                _ => snapshot(control.model),
            });
        }
        self.wait += 1;
        if mode.improves(current, self.best, self.min_delta) {
            self.best = current;
            self.best_epoch = epoch;
            self.best_replayed = false;
            if self.restore_best_weights {
                self.best_weights = Some(snapshot(control.model));
                if let Some(path) = &self.best_weights_file {
                    save_model(control.model, path)?;
                }
            }
            // Only restart waiting when the baseline is beaten (Keras).
            self.wait = 0;
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            control.stop_training = true;
            let mut reason = format!(
                "Early stopping after epoch {}: {} has not improved for {} epochs (best {:.4} at epoch {})",
                epoch + 1,
                self.monitor,
                self.wait,
                self.best,
                self.best_epoch + 1
            );
            if let (true, Some(weights)) = (self.restore_best_weights, &self.best_weights) {
                restore(control.model, weights)?;
                reason += "; restored its weights";
            }
            control.stop_reason = Some(reason);
        }
        Ok(())
    }
}

/// Saves the model after an epoch, or only when the monitored quantity improved
/// (Keras's `ModelCheckpoint`). The file is written atomically.
pub struct ModelCheckpoint {
    pub path: PathBuf,
    pub monitor: String,
    pub save_best_only: bool,
    pub mode: Mode,
    best: f64,
    /// Epochs (0-based) at which the file was written.
    pub saved_epochs: Vec<usize>,
    /// The input description written with the model, if any.
    pub inputs: Option<InputSpec>,
}

impl ModelCheckpoint {
    pub fn new(path: impl Into<PathBuf>, monitor: &str, save_best_only: bool) -> Self {
        Self {
            path: path.into(),
            monitor: monitor.to_string(),
            save_best_only,
            mode: Mode::Auto,
            best: f64::NAN,
            saved_epochs: Vec::new(),
            inputs: None,
        }
    }

    /// Writes `inputs` (how the model's inputs are prepared, its class names) into the file.
    pub fn with_inputs(mut self, inputs: InputSpec) -> Self {
        self.inputs = Some(inputs);
        self
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        self.best = self.mode.resolve(&self.monitor).worst();
        Ok(())
    }

    fn replay_epoch(&mut self, _epoch: usize, logs: &Logs) -> Result<()> {
        if self.save_best_only {
            let current = monitored(logs, &self.monitor, "ModelCheckpoint")?;
            if self
                .mode
                .resolve(&self.monitor)
                .improves(current, self.best, 0.0)
            {
                self.best = current;
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        if self.save_best_only {
            let current = monitored(logs, &self.monitor, "ModelCheckpoint")?;
            if !self
                .mode
                .resolve(&self.monitor)
                .improves(current, self.best, 0.0)
            {
                return Ok(());
            }
            self.best = current;
        }
        save_model_with_inputs(control.model, self.inputs.as_ref(), &self.path)?;
        self.saved_epochs.push(epoch);
        Ok(())
    }
}

/// Multiplies the learning rate by `factor` when the monitored quantity stops improving
/// (Keras's `ReduceLROnPlateau`).
pub struct ReduceLROnPlateau {
    pub monitor: String,
    /// Default 0.1; must be below 1.
    pub factor: f64,
    /// Default 10.
    pub patience: usize,
    /// Default 1e-4.
    pub min_delta: f64,
    /// Epochs to wait after a reduction before counting again (default 0).
    pub cooldown: usize,
    /// Default 0.
    pub min_lr: f64,
    pub mode: Mode,
    best: f64,
    wait: usize,
    cooldown_counter: usize,
}

impl ReduceLROnPlateau {
    pub fn new(monitor: &str, factor: f64, patience: usize) -> Result<Self> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(TrainError::Argument {
                argument: "ReduceLROnPlateau factor",
                why: format!("{factor} must be in (0, 1)"),
            });
        }
        Ok(Self {
            monitor: monitor.to_string(),
            factor,
            patience,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            mode: Mode::Auto,
            best: f64::NAN,
            wait: 0,
            cooldown_counter: 0,
        })
    }

    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }

    pub fn cooldown(mut self, cooldown: usize) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// One epoch's bookkeeping with the monitored value and the current rate; the reduced
    /// rate when it is time to reduce.
    fn step(&mut self, current: f64, rate: f64) -> Option<f64> {
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        let mode = self.mode.resolve(&self.monitor);
        if mode.improves(current, self.best, self.min_delta) {
            self.best = current;
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience && rate > self.min_lr {
                self.cooldown_counter = self.cooldown;
                self.wait = 0;
                return Some((rate * self.factor).max(self.min_lr));
            }
        }
        None
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        self.best = self.mode.resolve(&self.monitor).worst();
        self.wait = 0;
        self.cooldown_counter = 0;
        Ok(())
    }

    fn replay_epoch(&mut self, _epoch: usize, logs: &Logs) -> Result<()> {
        let current = monitored(logs, &self.monitor, "ReduceLROnPlateau")?;
        // The logged rate is the one the epoch trained with, before this callback's change.
        let rate = logs.get("learning_rate").unwrap_or(f64::INFINITY);
        self.step(current, rate);
        Ok(())
    }

    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, control: &mut Control) -> Result<()> {
        let current = monitored(logs, &self.monitor, "ReduceLROnPlateau")?;
        if let Some(new) = self.step(current, f64::from(control.optimizer.learning_rate())) {
            control.optimizer.set_learning_rate(new as f32);
        }
        Ok(())
    }
}

/// Sets the learning rate at the start of every epoch from `schedule(epoch, current_lr)`
/// (Keras's `LearningRateScheduler`, epochs 0-based).
pub struct LearningRateScheduler<F: FnMut(usize, f64) -> f64> {
    pub schedule: F,
}

impl<F: FnMut(usize, f64) -> f64> LearningRateScheduler<F> {
    pub fn new(schedule: F) -> Self {
        Self { schedule }
    }
}

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, control: &mut Control) -> Result<()> {
        let lr = (self.schedule)(epoch, f64::from(control.optimizer.learning_rate()));
        if !lr.is_finite() || lr < 0.0 {
            return Err(TrainError::Argument {
                argument: "learning-rate schedule",
                why: format!("gave {lr} for epoch {epoch}"),
            });
        }
        control.optimizer.set_learning_rate(lr as f32);
        Ok(())
    }
}

/// Writes every epoch's logs as a CSV row (Keras's `CSVLogger`: an `epoch` column, 0-based,
/// then the log names in order). The whole file is rewritten atomically each epoch, so a
/// crash never leaves half a row.
pub struct CsvLogger {
    pub path: PathBuf,
    /// Keep the rows already in the file (default false: start afresh).
    pub append: bool,
    header: Vec<String>,
    text: String,
}

impl CsvLogger {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            append: false,
            header: Vec::new(),
            text: String::new(),
        }
    }

    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _control: &mut Control) -> Result<()> {
        self.text.clear();
        self.header.clear();
        if self.append {
            if let Ok(existing) = std::fs::read_to_string(&self.path) {
                if let Some(first) = existing.lines().next() {
                    self.header = first.split(',').skip(1).map(str::to_string).collect();
                }
                self.text = existing;
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push('\n');
                }
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _control: &mut Control) -> Result<()> {
        if self.header.is_empty() {
            self.header = logs.values.iter().map(|(n, _)| n.clone()).collect();
            self.text = format!("epoch,{}\n", self.header.join(","));
        }
        let mut row = epoch.to_string();
        for name in &self.header {
            row.push(',');
            if let Some(value) = logs.get(name) {
                row += &format!("{value}");
            }
        }
        self.text += &row;
        self.text.push('\n');
        write_atomically(&self.path, self.text.as_bytes())?;
        Ok(())
    }
}

/// Stops training at once when a batch's loss is NaN or infinite (Keras's `TerminateOnNaN`);
/// without it, `fit` returns an error for a non-finite loss.
#[derive(Debug, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_batch_end(&mut self, batch: usize, loss: f32, control: &mut Control) -> Result<()> {
        if !loss.is_finite() {
            control.stop_training = true;
            control.stop_reason = Some(format!(
                "Batch {}: invalid loss {loss}, terminating training",
                batch + 1
            ));
        }
        Ok(())
    }
}
