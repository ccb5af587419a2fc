//! Where a training run writes its files, and what it keeps there to be resumed: the
//! training state after every epoch and the history CSV.

use crate::callbacks::{Callback, Control};
use crate::fit::{EpochStats, History, Logs};
use crate::{Result, TrainError};
use krust_nn::saving::{save_training_state, write_atomically};
use std::path::{Path, PathBuf};

/// The first `<root>/<stem>-<n>` (n = 1, 2, ...) that does not exist yet, where `stem` is the
/// model's name or its file's stem, so no earlier run is overwritten.
pub fn next_run_dir(root: &Path, model: &str) -> PathBuf {
    let stem = Path::new(model)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "model".into());
    (1..)
        .map(|n| root.join(format!("{stem}-{n}")))
        .find(|dir| !dir.exists())
        .expect("some run number is free")
}

/// Saves the model, the optimizer, the epoch count and the random layers' positions
/// (`krust_nn::saving::save_training_state`, written atomically) when training begins and
/// after every epoch, so a run stopped at any point resumes from its last finished epoch
/// exactly as it would have gone on.
pub struct SaveTrainingState {
    pub path: PathBuf,
    /// Epochs already done when training begins (`FitConfig::initial_epoch`).
    pub initial_epoch: usize,
}

impl SaveTrainingState {
    pub fn new(path: impl Into<PathBuf>, initial_epoch: usize) -> Self {
        Self {
            path: path.into(),
            initial_epoch,
        }
    }
}

impl Callback for SaveTrainingState {
    fn on_train_begin(&mut self, control: &mut Control) -> Result<()> {
        save_training_state(
            control.model,
            &*control.optimizer,
            self.initial_epoch,
            &self.path,
        )?;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, control: &mut Control) -> Result<()> {
        save_training_state(control.model, &*control.optimizer, epoch + 1, &self.path)?;
        Ok(())
    }
}

/// The history `CsvLogger` wrote to `path` (its 0-based `epoch` column, then one column per
/// log), keeping the first `epochs` epochs: a run resumed from its state after `epochs`
/// epochs continues this history. Timings are not in the CSV and read as 0.
pub fn read_history_csv(path: &Path, epochs: usize) -> Result<History> {
    parse_history_csv(path, &read_text(path)?, epochs)
}

/// [`read_history_csv`], and the file cut to those epochs' rows, from one read: a row
/// written after the state was saved (the run stopped between the two) goes, and that
/// epoch is trained again.
pub fn resume_history_csv(path: &Path, epochs: usize) -> Result<History> {
    let text = read_text(path)?;
    let history = parse_history_csv(path, &text, epochs)?;
    let kept: Vec<&str> = text.lines().take(epochs + 1).collect();
    if kept.len() < text.lines().count() {
        write_atomically(path, format!("{}\n", kept.join("\n")).as_bytes())?;
    }
    Ok(history)
}

fn history_error(path: &Path, why: String) -> TrainError {
    TrainError::Argument {
        argument: "history",
        why: format!("{}: {why}", path.display()),
    }
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| history_error(path, format!("cannot read: {e}")))
}

fn parse_history_csv(path: &Path, text: &str, epochs: usize) -> Result<History> {
    let bad = |why: String| history_error(path, why);
    let mut lines = text.lines();
    let header: Vec<&str> = match lines.next() {
        Some(h) => h.split(',').collect(),
        None => return Ok(History::default()),
    };
    if header.first() != Some(&"epoch") {
        return Err(bad("the first column is not `epoch`".into()));
    }
    let mut history = History::default();
    for (row, line) in lines.enumerate().take(epochs) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != header.len() || fields[0] != row.to_string() {
            return Err(bad(format!(
                "row {} is not epoch {row} with {} values",
                row + 2,
                header.len()
            )));
        }
        let mut logs = Logs::default();
        for (name, field) in header.iter().zip(&fields).skip(1) {
            if field.is_empty() {
                continue;
            }
            let value = field
                .parse()
                .map_err(|_| bad(format!("{name} of epoch {row} is {field:?}")))?;
            logs.set(name, value);
        }
        history.epochs.push(EpochStats {
            epoch: row + 1,
            seconds: 0.0,
            data_wait_seconds: 0.0,
            images_per_second: 0.0,
            logs,
        });
    }
    if history.epochs.len() < epochs {
        return Err(bad(format!(
            "has {} epochs, the training state {epochs}",
            history.epochs.len()
        )));
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_csv_reads_back_up_to_the_saved_epoch() {
        let dir = std::env::temp_dir().join(format!("krust-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("history.csv");
        std::fs::write(
            &path,
            "epoch,loss,accuracy,val_loss\n0,0.5,0.8,0.6\n1,0.25,0.9,\n2,0.125,0.95,0.3\n",
        )
        .unwrap();
        let history = read_history_csv(&path, 2).unwrap();
        assert_eq!(history.epochs.len(), 2);
        assert_eq!(history.series("loss"), vec![0.5, 0.25]);
        assert_eq!(history.epochs[1].epoch, 2);
        assert!(history.epochs[1].logs.get("val_loss").is_none());
        let error = read_history_csv(&path, 4).unwrap_err().to_string();
        assert!(
            error.contains("history.csv") && error.contains("has 3 epochs"),
            "{error}"
        );
        std::fs::write(&path, "epoch,loss\n0,zero\n").unwrap();
        let error = read_history_csv(&path, 1).unwrap_err().to_string();
        assert!(error.contains("loss of epoch 0"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn runs_are_numbered_from_one_and_never_reuse_a_directory() {
        let root = std::env::temp_dir().join(format!("krust-run-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert_eq!(next_run_dir(&root, "lenet5"), root.join("lenet5-1"));
        std::fs::create_dir_all(root.join("lenet5-1")).unwrap();
        std::fs::create_dir_all(root.join("lenet5-2")).unwrap();
        assert_eq!(next_run_dir(&root, "lenet5"), root.join("lenet5-3"));
        // A model file is named by its stem.
        assert_eq!(
            next_run_dir(&root, "some/where/best.krust"),
            root.join("best-1")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
