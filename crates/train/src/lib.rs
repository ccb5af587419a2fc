//! krust-train: `fit` with a Keras-style progress bar and callbacks, `evaluate`, `predict`,
//! and the per-epoch history.

pub mod callbacks;
mod error;
mod fit;
mod tta;

pub use callbacks::{
    Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, Mode, ModelCheckpoint,
    ReduceLROnPlateau, TerminateOnNaN,
};
pub use error::TrainError;
pub use fit::{
    evaluate, evaluate_metrics, fit, predict, EpochStats, Evaluation, FitConfig, History, Logs,
    Metric,
};

pub use tta::{map_images, predict_probabilities, TestTimeAugmentation};

pub type Result<T> = std::result::Result<T, TrainError>;
