//! krust-train: the training loop — `fit`, `evaluate` and `predict` over krust-nn models.
//!
//! `fit` runs with a Keras-style progress bar and callbacks and returns the per-epoch
//! history.

pub mod callbacks;
mod class_weights;
mod dropout_override;
pub mod ensemble;
mod error;
mod fit;
mod lr_schedule;
mod report_html;
mod run_dir;
pub mod tensorboard;
mod tta;

pub use callbacks::{
    Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, Mode, ModelCheckpoint,
    ReduceLROnPlateau, TerminateOnNaN,
};
pub use class_weights::{balanced_class_weights, class_weights};
pub use dropout_override::set_dropout_rate;
pub use ensemble::{
    average_outputs, bootstrap_indices, bootstrap_sample, member_optimizer, member_seed,
    score_ensemble, EnsembleMode, EnsembleScore, ENSEMBLE_OPTIMIZERS,
};
pub use error::TrainError;
pub use fit::{
    evaluate, evaluate_metrics, fit, predict, EpochStats, Evaluation, FitConfig, History,
    Interruption, Logs, Metric,
};

pub use lr_schedule::{schedule_from_spec, SCHEDULE_SPECS};
pub use report_html::{report_html, write_report_html, ReportPlot, RunReport, RunTimings};
pub use run_dir::{next_run_dir, read_history_csv, resume_history_csv, SaveTrainingState};
pub use tensorboard::{EventWriter, TensorBoard};
pub use tta::{map_images, predict_probabilities, TestTimeAugmentation};

pub type Result<T> = std::result::Result<T, TrainError>;
