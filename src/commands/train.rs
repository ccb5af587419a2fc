//! `krust train`: builds a zoo model (or loads a model file), trains it on a dataset with the
//! chosen normalization, augmentation, regularization and callbacks, and writes the run's
//! outputs (model, history CSV, plots, summary) into an output directory.

use super::data_args::{self, DataArgs};
use super::report::report;
use super::resume;
use clap::{ArgMatches, Args, ValueEnum};
use krust::data::augment::{resize_short_side_center_crop, Augmentation, Pipeline};
use krust::data::loader::SampleTransform;
use krust::data::{Dataset, Targets};
use krust::nn::architecture::ends_in_softmax;
use krust::nn::layers::{Layer, Normalization, Rescaling};
use krust::nn::losses::{Loss, MeanSquaredError, SparseCategoricalCrossentropy};
use krust::nn::optimizers::Optimizer;
use krust::nn::saving::{InputSpec, TrainingState};
use krust::nn::{model_from_config, AnyModel, Module};
use krust::plot::{filter_grid, training_curves};
use krust::train::map_images;
use krust::train::{
    average_outputs, fit, member_seed, score_ensemble, Callback, CsvLogger, EarlyStopping,
    EnsembleMode, EnsembleScore, EpochStats, FitConfig, History, Metric, ModelCheckpoint,
    ReportPlot, RunReport, RunTimings, SaveTrainingState, TensorBoard, TerminateOnNaN,
    TestTimeAugmentation,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// How inputs are normalized before the network sees them (bytes arrive as byte / 255). The
/// normalization is a layer at the front of the model, so it is saved with it and `predict`
/// applies it.
#[derive(Clone, Copy, ValueEnum)]
pub enum InputNormalization {
    /// Per-channel mean 0 and standard deviation 1, fitted on the training set.
    Standardize,
    /// Inputs as loaded: images in [0, 1].
    Unit,
    /// Images mapped from [0, 1] to [-1, 1].
    Symmetric,
}

impl InputNormalization {
    fn layers(self, train: &Dataset) -> Vec<Box<dyn Layer>> {
        match self {
            InputNormalization::Standardize => {
                let (mean, variance) = train.channel_statistics();
                vec![Box::new(Normalization::with_stats(&mean, &variance))]
            }
            InputNormalization::Unit => Vec::new(),
            InputNormalization::Symmetric => vec![Box::new(Rescaling::new(2.0, -1.0))],
        }
    }
}

/// `--ensemble-mode`'s values, each krust-train's [`EnsembleMode`] of the same name.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnsembleModeArg {
    /// Each member trains on a bootstrap resample (drawn with replacement) of the training set.
    Bootstrap,
    /// Each member trains on the whole training set with its own seed.
    Seeds,
    /// Each member trains on the whole training set with its own seed and the next optimizer
    /// of Adam, SGD (momentum 0.9), RMSprop, AdamW and Nadam, each at its Keras default rate.
    Optimizers,
}

impl From<EnsembleModeArg> for EnsembleMode {
    fn from(mode: EnsembleModeArg) -> Self {
        match mode {
            EnsembleModeArg::Bootstrap => EnsembleMode::Bootstrap,
            EnsembleModeArg::Seeds => EnsembleMode::Seeds,
            EnsembleModeArg::Optimizers => EnsembleMode::Optimizers,
        }
    }
}

#[derive(Args)]
pub struct TrainArgs {
    /// Model to train: a zoo name (lenet5, small_cnn, mlp) or a model file (krust, .keras,
    /// .h5), whose weights training continues from.
    #[arg(long, default_value = "lenet5")]
    model: String,
    /// Start a zoo model from pretrained weights (a PyTorch `.pth`/`.pt`/`.bin` or a
    /// `.safetensors` file): the inputs get the architecture's own normalization, and when the
    /// data's class count differs from the weights', the classification head is replaced and
    /// freshly initialized.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// With --weights: train only the classification head; the rest of the network is frozen
    /// and runs in inference mode (Keras's `base_model.trainable = False`).
    #[arg(long)]
    freeze_base: bool,
    #[command(flatten)]
    data: DataArgs,
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    pub(super) epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    /// Optimizer: sgd, adam, adamw, rmsprop, adagrad or nadam.
    #[arg(long, default_value = "adam")]
    optimizer: String,
    /// Learning rate (default: Keras's for the optimizer, 1e-3; 1e-2 for SGD).
    #[arg(long)]
    lr: Option<f32>,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    momentum: f32,
    /// Decoupled weight decay (Keras's optimizer `weight_decay`; AdamW's default is 0.004).
    #[arg(long)]
    weight_decay: Option<f32>,
    /// Set the rate of every Dropout layer of the model.
    #[arg(long)]
    dropout: Option<f32>,
    /// Input normalization, fitted on the training set and stored in the model as its first
    /// layer (zoo models only; a model file keeps its own).
    #[arg(long, value_enum, default_value = "standardize")]
    normalize: InputNormalization,
    /// Regression: standardize the targets for training; the saved model de-normalizes its
    /// predictions with a final inverted Normalization layer.
    #[arg(long)]
    normalize_targets: bool,
    /// Training-time augmentation, comma-separated: flip, vflip, crop:PAD,
    /// resized-crop:MIN-MAX:HxW, rotate:DEG, translate:FRAC, brightness:D, contrast:F,
    /// noise:STD (e.g. "flip,crop:2").
    #[arg(long)]
    augment: Option<String>,
    /// Test-time augmentation for the final test metrics: none, flip, center-crop:HxW or
    /// ten-crop:HxW.
    #[arg(long, default_value = "none")]
    tta: String,
    /// Hold out this fraction of the training set (its last samples, as Keras) for validation.
    #[arg(long)]
    validation_split: Option<f64>,
    /// Stop when val_loss (or loss, without validation) has not improved for this many epochs,
    /// and restore the best epoch's weights.
    #[arg(long)]
    early_stopping: Option<usize>,
    /// Smallest val_loss improvement that counts for early stopping and plateaus.
    #[arg(long, default_value_t = 0.0)]
    min_delta: f64,
    /// Learning-rate schedule per epoch: step:EVERY:FACTOR, exponential:RATE, cosine, or
    /// plateau:PATIENCE:FACTOR (ReduceLROnPlateau on val_loss).
    #[arg(long)]
    lr_schedule: Option<String>,
    /// Class weights for the loss: "balanced" (n / (classes * count), as scikit-learn) or
    /// one weight per class, comma-separated.
    #[arg(long)]
    class_weights: Option<String>,
    /// Stop training cleanly at a NaN loss instead of failing.
    #[arg(long)]
    terminate_on_nan: bool,
    /// Train this many models and report each one's and their averaged test accuracy.
    #[arg(long, default_value_t = 1)]
    ensemble: usize,
    /// How ensemble members differ.
    #[arg(long, value_enum, default_value = "bootstrap")]
    ensemble_mode: EnsembleModeArg,
    /// Seeds weights, shuffling, augmentation and dropout: the same seed and thread count
    /// repeat a run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Worker threads for the math (default: one per core).
    #[arg(long)]
    pub(super) threads: Option<usize>,
    /// Threads preparing (and augmenting) batches ahead of training.
    #[arg(long, default_value_t = 1)]
    pub(super) loader_threads: usize,
    /// Directory for the run's outputs: model.krust, history.csv, plots, summary.txt
    /// (default: runs/<model>-<n>, the first unused n).
    #[arg(long)]
    pub(super) output: Option<PathBuf>,
    /// TensorBoard: also log the batch loss every this many steps (0: per epoch only). The
    /// event files go into the run directory (`tensorboard --logdir runs`).
    #[arg(long, default_value_t = 50)]
    pub(super) tensorboard_freq: usize,
    /// Hide the progress bar.
    #[arg(long)]
    pub(super) quiet: bool,
    /// Also save the trained model with its optimizer state to this file (for --resume).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue a run: a run directory (runs/lenet5-1) continues with its recorded model,
    /// data and hyper-parameters from the state after its last finished epoch, and its history
    /// goes on (--epochs, --threads, --loader-threads and --quiet may be given anew; any other
    /// flag must agree with the run's). A file written by --save restores its model, optimizer
    /// and epoch count. Either way training runs on to --epochs in total, as an uninterrupted
    /// run would.
    #[arg(long)]
    pub(super) resume: Option<PathBuf>,
}

type BoxError = Box<dyn std::error::Error>;

fn check_args(args: &TrainArgs) -> Result<(), BoxError> {
    if args.batch_size == 0 {
        return Err("invalid --batch-size 0: must be at least 1".into());
    }
    if args.epochs == 0 {
        return Err("invalid --epochs 0: must be at least 1".into());
    }
    if args.ensemble == 0 {
        return Err("invalid --ensemble 0: must be at least 1".into());
    }
    if let Some(lr) = args.lr.filter(|lr| !(lr.is_finite() && *lr > 0.0)) {
        return Err(format!("invalid --lr {lr}: must be a positive number").into());
    }
    if !(0.0..1.0).contains(&args.momentum) {
        return Err(format!("invalid --momentum {}: must be in [0, 1)", args.momentum).into());
    }
    if let Some(spec) = &args.lr_schedule {
        // Refused before any data is read, not after the model is built.
        krust_train::schedule_from_spec(spec, 1e-3, args.epochs)?;
    }
    if let Some(rate) = args.dropout.filter(|r| !(0.0..1.0).contains(r)) {
        return Err(format!("invalid --dropout {rate}: must be in [0, 1)").into());
    }
    if let Some(wd) = args.weight_decay.filter(|w| !(w.is_finite() && *w >= 0.0)) {
        return Err(format!("invalid --weight-decay {wd}: must be a number >= 0").into());
    }
    build_optimizer(args)?;
    if args.save.is_some() && args.ensemble > 1 {
        return Err(
            "--save keeps one model's training state; with --ensemble every member's model is written to the output directory"
                .into(),
        );
    }
    if args.freeze_base && args.weights.is_none() {
        return Err("--freeze-base needs --weights (a pretrained base to freeze)".into());
    }
    if args.weights.is_some() && Path::new(&args.model).is_file() {
        return Err(
            "--weights loads into a zoo architecture; --model is a model file with its own weights"
                .into(),
        );
    }
    if let Some(weights) = &args.weights {
        if krust::zoo::pretrained::head_layer(&args.model).is_none() {
            return Err(format!(
                "--weights: {} has no PyTorch weight layout (pretrained weights load into {})",
                args.model,
                krust::zoo::pretrained::PRETRAINED_ARCHITECTURES.join(", ")
            )
            .into());
        }
        if !weights.is_file() {
            return Err(format!("--weights {}: no such file", weights.display()).into());
        }
    }
    if args.resume.is_some() && args.ensemble > 1 {
        return Err("--resume continues one model; it cannot be combined with --ensemble".into());
    }
    Ok(())
}

/// An optimizer by Keras name with the command line's settings.
fn build_optimizer(args: &TrainArgs) -> Result<Box<dyn Optimizer>, BoxError> {
    build_named_optimizer(
        args,
        &args.optimizer.to_ascii_lowercase(),
        args.lr,
        args.momentum,
    )
}

/// Optimizer `name` with `lr` (Keras's default when None), SGD `momentum` and the command
/// line's weight decay.
fn build_named_optimizer(
    args: &TrainArgs,
    name: &str,
    lr: Option<f32>,
    momentum: f32,
) -> Result<Box<dyn Optimizer>, BoxError> {
    let mut config = json!({});
    if let Some(lr) = lr {
        config["learning_rate"] = json!(lr);
    }
    if name == "sgd" {
        config["momentum"] = json!(momentum);
    }
    if let Some(wd) = args.weight_decay {
        config["weight_decay"] = json!(wd);
    }
    krust::nn::optimizers::from_config(name, &config)
        .map_err(|e| format!("--optimizer {name}: {e}").into())
}

/// Builds the model to train: from the zoo with normalization and dropout settings, or as a
/// fresh copy of `file_model` (a model file loaded once; its weights are the starting point).
/// `input_shape` is what the model sees: the samples' shape after augmentation.
fn build_model(
    args: &TrainArgs,
    train: &Dataset,
    input_shape: &[usize],
    outputs: usize,
    file_model: Option<&AnyModel>,
) -> Result<AnyModel, BoxError> {
    let with_dropout = |config: &mut Value| -> Result<(), BoxError> {
        if let Some(rate) = args.dropout {
            if krust_train::set_dropout_rate(config, rate) == 0 {
                return Err(format!("--dropout {rate}: the model has no Dropout layer").into());
            }
        }
        Ok(())
    };
    let model = match file_model {
        Some(source) => {
            let mut config = source.to_config();
            with_dropout(&mut config)?;
            let model = model_from_config(&config)?;
            // Keep the file's weights: copy them over by position.
            for ((_, to), (_, from)) in model.named_weights().iter().zip(source.named_weights()) {
                to.set_value(from.value())?;
            }
            model
        }
        None => {
            let preprocessing = match &args.weights {
                // Pretrained weights expect the inputs they were trained on.
                Some(_) => {
                    let p = krust::zoo::pretrained::preprocessing_for(&args.model);
                    let variance: Vec<f32> = p.std.iter().map(|s| s * s).collect();
                    vec![Box::new(Normalization::with_stats(&p.mean, &variance)) as Box<dyn Layer>]
                }
                None => args.normalize.layers(train),
            };
            let model = krust::zoo::build_model_with_preprocessing(
                &args.model,
                input_shape,
                outputs,
                preprocessing,
            )
            .map_err(|e| format!("--model: {e} (or give a model file path)"))?;
            if args.dropout.is_some() {
                // A fresh model with the new rates (its own initialization).
                let mut config = model.to_config();
                with_dropout(&mut config)?;
                model_from_config(&config)?
            } else {
                model
            }
        }
    };
    if let Some(weights) = &args.weights {
        let report = krust::zoo::pretrained::load_weights_into(&model, &args.model, weights)?;
        println!(
            "Loaded {} tensors from {}",
            report.loaded,
            weights.display()
        );
        for note in &report.notes {
            println!("  note: {note}");
        }
        if args.freeze_base {
            let head = krust::zoo::pretrained::head_layer(&args.model)
                .ok_or("--freeze-base: the architecture has no known head")?;
            match &model {
                AnyModel::Functional(m) => {
                    let frozen = m.freeze_except(&[head])?;
                    println!("Froze {frozen} layers; training only {head}");
                }
                AnyModel::Sequential(_) => {
                    return Err("--freeze-base needs a functional zoo model".into())
                }
            }
        }
    }
    Ok(model)
}

/// `(side, height, width)` of the last random resized crop of the pipeline, if any.
fn evaluation_view(pipeline: Option<&Pipeline>) -> Option<(usize, usize, usize)> {
    pipeline?.steps().iter().rev().find_map(|step| match *step {
        Augmentation::RandomResizedCrop {
            min_side,
            max_side,
            height,
            width,
        } => Some(((min_side + max_side) / 2, height, width)),
        _ => None,
    })
}

/// The first convolution kernel of a model, as `(weights, [kh, kw, in, out])`.
fn first_conv_kernel(model: &dyn Module) -> Option<(Vec<f32>, [usize; 4])> {
    model.named_weights().into_iter().find_map(|(name, var)| {
        let value = var.value();
        match (name.ends_with("kernel"), value.shape()) {
            (true, &[kh, kw, cin, cout]) => Some((value.to_vec(), [kh, kw, cin, cout])),
            _ => None,
        }
    })
}

/// One trained member: its model and history.
struct Trained {
    model: AnyModel,
    optimizer: Box<dyn Optimizer>,
    history: History,
    seconds: f64,
}

/// Everything one training run needs besides the data.
struct RunSetup<'a> {
    args: &'a TrainArgs,
    loss: &'a dyn Loss,
    metrics: Vec<Metric>,
    augmentation: Option<&'a Pipeline>,
    validation: Option<&'a Dataset>,
    out_dir: &'a Path,
    /// The sample shape the model sees (after augmentation).
    input_shape: Vec<usize>,
    /// The model file given as --model, loaded once.
    file_model: Option<&'a AnyModel>,
    outputs: usize,
    /// What the run trains, as printed and in plot titles: the zoo name or model file, or
    /// the file `--resume` continues.
    model_label: &'a str,
    /// Whether this run continues the run directory `out_dir` (--resume RUN_DIR).
    continues_run_dir: bool,
    /// What the saved models record about their inputs (size, colour mode, class names).
    inputs: InputSpec,
}

impl RunSetup<'_> {
    /// Creates the run directory once the run can start (its first model is built), and records
    /// how the run was started so `--resume` can continue it (an `--output` directory used
    /// before is taken over by the new run, as the user asked).
    fn start_run_dir(&self) -> Result<(), BoxError> {
        if self.continues_run_dir {
            return Ok(());
        }
        std::fs::create_dir_all(self.out_dir)
            .map_err(|e| format!("--output {}: cannot create it: {e}", self.out_dir.display()))?;
        resume::write_record(self.out_dir)
    }
}

/// What `--resume` restores, read before any data is loaded: the training state, and for a
/// run directory the history of its finished epochs.
struct Resumed {
    state: TrainingState,
    optimizer: Box<dyn Optimizer>,
    history: History,
}

/// Reads what `--resume` names and checks that `--epochs` goes beyond it.
fn load_resumed(args: &TrainArgs) -> Result<Option<Resumed>, BoxError> {
    let Some(path) = &args.resume else {
        return Ok(None);
    };
    let run_dir = path.is_dir();
    let state_path = if run_dir {
        path.join(resume::STATE)
    } else {
        path.clone()
    };
    if !state_path.is_file() {
        return Err(format!(
            "--resume {}: {} does not exist (a run directory keeps its state there from the start of training)",
            path.display(),
            state_path.display()
        )
        .into());
    }
    let mut state = krust::nn::saving::load_training_state(&state_path)?;
    let optimizer = state.optimizer.take().ok_or_else(|| {
        format!(
            "--resume {}: this is a model without training state (no optimizer in it): to train its weights further, start a new run with --model {}; to continue the run it came from, give --resume with that run's directory",
            path.display(),
            path.display()
        )
    })?;
    if args.epochs <= state.epochs_done {
        return Err(format!(
            "--resume {}: the run already has {} epochs; give --epochs (the total to reach) above {}",
            path.display(),
            state.epochs_done,
            state.epochs_done
        )
        .into());
    }
    let history = if run_dir {
        krust_train::resume_history_csv(&path.join("history.csv"), state.epochs_done)?
    } else {
        History::default()
    };
    Ok(Some(Resumed {
        state,
        optimizer,
        history,
    }))
}

fn train_member(
    setup: &RunSetup,
    train: &Dataset,
    seed: u64,
    member: Option<usize>,
    resumed: Option<Resumed>,
) -> Result<Trained, BoxError> {
    let args = setup.args;
    krust::tensor::random::set_seed(seed);
    let (model, mut optimizer, epochs_done, earlier) = match resumed {
        Some(resumed) => {
            println!(
                "Resuming {} after epoch {}",
                args.resume.as_deref().unwrap_or(Path::new("")).display(),
                resumed.state.epochs_done
            );
            (
                resumed.state.model,
                resumed.optimizer,
                resumed.state.epochs_done,
                resumed.history,
            )
        }
        None => {
            let mode = EnsembleMode::from(args.ensemble_mode);
            // Ensemble members that differ by optimizer use its default rate (SGD with
            // momentum 0.9); everyone else uses the command line's optimizer.
            let optimizer = match member.and_then(|k| mode.optimizer(k)) {
                Some(name) => build_named_optimizer(args, name, None, 0.9)?,
                None => build_optimizer(args)?,
            };
            (
                build_model(
                    args,
                    train,
                    &setup.input_shape,
                    setup.outputs,
                    setup.file_model,
                )?,
                optimizer,
                0,
                History::default(),
            )
        }
    };
    if member.unwrap_or(0) == 0 {
        setup.start_run_dir()?;
    }
    let suffix = member.map_or(String::new(), |k| format!("-{}", k + 1));
    let mut callbacks: Vec<Box<dyn Callback>> = vec![Box::new(
        CsvLogger::new(setup.out_dir.join(format!("history{suffix}.csv")))
            .append(setup.continues_run_dir),
    )];
    if member.is_none() {
        // After the CSV row: a saved state always has its epoch in the history.
        callbacks.push(Box::new(SaveTrainingState::new(
            setup.out_dir.join(resume::STATE),
            epochs_done,
        )));
    }
    // Live curves: `tensorboard --logdir runs` shows every run, a resumed one continuing.
    let tensorboard_dir = match member {
        Some(_) => setup.out_dir.join(format!("member{suffix}")),
        None => setup.out_dir.to_path_buf(),
    };
    callbacks.push(Box::new(
        TensorBoard::new(tensorboard_dir)
            .update_freq(args.tensorboard_freq)
            .steps_per_epoch(train.len().div_ceil(args.batch_size)),
    ));
    let monitor = if setup.validation.is_some() {
        "val_loss"
    } else {
        "loss"
    };
    if let Some(patience) = args.early_stopping {
        callbacks.push(Box::new(
            EarlyStopping::new(monitor, patience)
                .min_delta(args.min_delta)
                .restore_best_weights(true)
                .best_weights_file(
                    setup
                        .out_dir
                        .join(format!("early_stopping_best{suffix}.krust")),
                ),
        ));
    }
    if setup.validation.is_some() {
        callbacks.push(Box::new(
            ModelCheckpoint::new(
                setup.out_dir.join(format!("best{suffix}.krust")),
                "val_loss",
                true,
            )
            .with_inputs(setup.inputs.clone()),
        ));
    }
    if let Some(spec) = &args.lr_schedule {
        callbacks.push(krust_train::schedule_from_spec(
            spec,
            f64::from(optimizer.learning_rate()),
            args.epochs,
        )?);
    }
    if args.terminate_on_nan {
        callbacks.push(Box::new(TerminateOnNaN));
    }
    let class_weights = args
        .class_weights
        .as_deref()
        .map(|spec| krust_train::class_weights(spec, train))
        .transpose()?;
    println!(
        "Model{}: {} ({} parameters), optimizer {}, lr {}, batch {}, {} epochs, seed {}",
        member.map_or(String::new(), |k| format!(" {}", k + 1)),
        setup.model_label,
        model.count_params(),
        optimizer.class_name(),
        optimizer.learning_rate(),
        args.batch_size,
        args.epochs,
        seed
    );
    let cfg = FitConfig {
        initial_epoch: epochs_done,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed,
        progress: !args.quiet,
        verbose: true,
        metrics: setup.metrics.clone(),
        validation: setup.validation,
        class_weights,
        augmentation: setup
            .augmentation
            .map(|p| p as &dyn krust::data::loader::SampleTransform),
        loader_workers: args.loader_threads,
        interrupt: Some(&resume::INTERRUPTED),
        earlier: Some(&earlier),
        ..FitConfig::default()
    };
    let mut refs: Vec<&mut dyn Callback> = callbacks
        .iter_mut()
        .map(|c| &mut **c as &mut dyn Callback)
        .collect();
    let start = Instant::now();
    let mut history = fit(
        &model,
        optimizer.as_mut(),
        setup.loss,
        train,
        &cfg,
        &mut refs,
    )?;
    // The curves and the report go on from the epochs trained before.
    history.epochs.splice(0..0, earlier.epochs);
    Ok(Trained {
        model,
        optimizer,
        history,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Appends an inverted Normalization so a model trained on standardized targets predicts in
/// the original units.
fn with_target_denormalization(
    model: AnyModel,
    mean: &[f32],
    variance: &[f32],
) -> Result<AnyModel, BoxError> {
    match model {
        AnyModel::Sequential(mut sequential) => {
            let mut layer = Normalization::with_stats(mean, variance);
            layer.invert = true;
            sequential.add(layer)?;
            Ok(AnyModel::Sequential(sequential))
        }
        AnyModel::Functional(_) => {
            Err("--normalize-targets needs a Sequential model (zoo models are)".into())
        }
    }
}

/// The model file `--model` names, loaded now; a zoo name is checked now. Both happen before
/// any data is read. `--resume` brings its own model, so nothing is loaded then.
fn model_before_data(args: &TrainArgs) -> Result<Option<AnyModel>, BoxError> {
    if args.resume.is_some() {
        return Ok(None);
    }
    let path = Path::new(&args.model);
    if path.is_file() {
        return Ok(Some(krust_import::load_model(path)?));
    }
    let looks_like_a_file = args.model.contains('/')
        || path
            .extension()
            .is_some_and(|e| ["krust", "keras", "h5", "hdf5"].contains(&&*e.to_string_lossy()));
    if looks_like_a_file {
        return Err(format!("--model {}: no such file", args.model).into());
    }
    krust::zoo::canonical_name(&args.model)
        .map_err(|e| format!("--model: {e} (or give a model file path)"))?;
    Ok(None)
}

/// Refuses test-time crops larger than the test images, before training rather than after.
fn check_tta_fits(tta: TestTimeAugmentation, test: &Dataset) -> Result<(), BoxError> {
    let (TestTimeAugmentation::TenCrop { height, width }
    | TestTimeAugmentation::CenterCrop { height, width }) = tta
    else {
        return Ok(());
    };
    match test.image_dims() {
        Some((h, w, _)) if height <= h && width <= w => Ok(()),
        Some((h, w, _)) => Err(format!(
            "--tta {tta}: the test images are {h}x{w}; the {height}x{width} crops must fit in them"
        )
        .into()),
        None => Err(
            format!("--tta {tta}: crops need image data; the test samples are not images").into(),
        ),
    }
}

/// Warns about data that trains but misleads: a batch larger than the training set, a single
/// class, a validation split missing classes.
fn warn_about_data(args: &TrainArgs, train: &Dataset, validation: Option<&Dataset>) {
    if args.batch_size > train.len() {
        eprintln!(
            "warning: --batch-size {} is larger than the {} training samples: every epoch is a single step of {}",
            args.batch_size,
            train.len(),
            train.len()
        );
    }
    if train.labels().is_none() {
        return;
    }
    let names = train.class_names();
    let name = |k: usize| names.get(k).cloned().unwrap_or_else(|| k.to_string());
    let present: Vec<usize> = (0..train.num_classes())
        .filter(|&k| train.class_counts()[k] > 0)
        .collect();
    if let [only] = present[..] {
        eprintln!(
            "warning: the training data has a single class ({}): accuracy is 100% whatever the model learns",
            name(only)
        );
    }
    if let (Some(validation), Some(_)) = (validation, args.validation_split) {
        let counts = validation.class_counts();
        let missing: Vec<String> = present
            .iter()
            .filter(|&&k| counts.get(k).is_none_or(|&c| c == 0))
            .map(|&k| name(k))
            .collect();
        if !missing.is_empty() {
            eprintln!(
                "warning: the validation split (the last {} training samples, as Keras takes them) has no sample of class {}: its metrics say nothing about {}; if the data is sorted by class, shuffle it first",
                validation.len(),
                missing.join(", "),
                if missing.len() == 1 { "it" } else { "them" }
            );
        }
    }
}

/// The PNG files directly in `dir` and its subfolders, each sorted by name.
fn pngs_and_folders(dir: &Path) -> std::io::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    let (folders, files): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|path| path.is_dir());
    let pngs = files
        .into_iter()
        .filter(|path| path.extension().is_some_and(|e| e == "png"))
        .collect();
    Ok((pngs, folders))
}

/// `report.html`: the run on one page, with every PNG the run wrote (the run directory's,
/// then each ensemble member's).
fn write_run_report(
    out_dir: &Path,
    title: String,
    data: &str,
    trained: &Trained,
    summary: &str,
    seconds: f64,
) -> Result<(), BoxError> {
    // The run directory's plots, then each ensemble member folder's.
    let (mut pngs, folders) = pngs_and_folders(out_dir)?;
    for folder in folders {
        pngs.extend(pngs_and_folders(&folder)?.0);
    }
    let plots = pngs
        .into_iter()
        .map(|path| {
            let caption = path
                .strip_prefix(out_dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            ReportPlot::new(path, caption)
        })
        .collect();
    let report = RunReport {
        title,
        command_line: std::env::args().collect::<Vec<_>>().join(" "),
        data_description: data.to_string(),
        timings: RunTimings::from_history(&trained.history, seconds),
        history: &trained.history,
        test_report: summary.to_string(),
        plots,
    };
    krust::train::write_report_html(&out_dir.join("report.html"), &report)?;
    Ok(())
}

pub fn run(args: TrainArgs, given: &ArgMatches) -> Result<ExitCode, BoxError> {
    // Everything the command line names is checked before any data is read.
    let run_start = Instant::now();
    let args = resume::resolve(args, given)?;
    check_args(&args)?;
    let threads = super::set_threads(args.threads)?;
    let tta = TestTimeAugmentation::parse(&args.tta).map_err(|e| format!("--tta: {e}"))?;
    let augmentation = args
        .augment
        .as_deref()
        .map(Pipeline::parse)
        .transpose()
        .map_err(|e| format!("--augment: {e}"))?;
    let file_model = model_before_data(&args)?;
    let resumed = load_resumed(&args)?;
    let continues_run_dir = args.resume.as_deref().is_some_and(Path::is_dir);
    let model_label = match &args.resume {
        Some(file) if !continues_run_dir => file.display().to_string(),
        _ => args.model.clone(),
    };
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| krust_train::next_run_dir(Path::new("runs"), &args.model));

    let (data, which) = data_args::load(&args.data, args.seed)?;
    println!(
        "Data: {which}: {} training and {} test samples of shape {:?}",
        data.train.len(),
        data.test.len(),
        data.train.sample_shape()
    );
    let (mut train, mut validation) = if let Some(fraction) = args.validation_split {
        let (t, v) = data.train.split_validation(fraction)?;
        println!(
            "Validation: the last {} training samples ({:.0}%)",
            v.len(),
            fraction * 100.0
        );
        (t, Some(v))
    } else {
        // As the course does with Keras's validation_data=(x_test, y_test): the test set is
        // evaluated after every epoch. Early stopping and checkpoints then select on test data,
        // so the message points to --validation-split for a clean protocol.
        println!(
            "Validation: the test set after each epoch (--validation-split F holds out training data instead)"
        );
        (data.train.clone(), Some(data.test.clone()))
    };
    warn_about_data(&args, &train, validation.as_ref());
    // A random resized crop changes the image size the model sees; validation and test
    // images then get its deterministic counterpart (short side to the middle of the range,
    // centre crop), and test-time crops start from the resized image.
    let mut test = data.test.clone();
    if let Some((side, height, width)) = evaluation_view(augmentation.as_ref()) {
        let view = |d: &Dataset, h: usize, w: usize| {
            map_images(d, |image| {
                Ok(resize_short_side_center_crop(image, side, h, w)?)
            })
        };
        validation = validation.map(|v| view(&v, height, width)).transpose()?;
        test = match tta {
            TestTimeAugmentation::TenCrop { .. } | TestTimeAugmentation::CenterCrop { .. } => {
                view(&test, side, side)?
            }
            _ => view(&test, height, width)?,
        };
        println!(
            "Evaluation images: short side resized to {side}, centre crop {height}x{width} (the random resized crop's counterpart)"
        );
    }
    check_tta_fits(tta, &test)?;
    // Regression targets may be standardized for training.
    let regression = matches!(train.targets(), Targets::Values { .. });
    let target_stats = if regression && args.normalize_targets {
        let (mean, variance) = train.target_statistics();
        let std: Vec<f32> = variance.iter().map(|v| v.sqrt().max(1e-12)).collect();
        train = train.with_normalized_targets(&mean, &std);
        validation = validation.map(|v| v.with_normalized_targets(&mean, &std));
        Some((mean, variance))
    } else {
        None
    };
    let outputs = if regression {
        train.target_width()
    } else {
        train.num_classes()
    };

    let classification_loss;
    let regression_loss = MeanSquaredError;
    let loss: &dyn Loss = if regression {
        &regression_loss
    } else {
        // The model that trains: the resumed one, or the file given as --model.
        let source = resumed
            .as_ref()
            .map(|r| &r.state.model)
            .or(file_model.as_ref());
        classification_loss = SparseCategoricalCrossentropy {
            from_logits: !source.is_some_and(ends_in_softmax),
        };
        &classification_loss
    };
    let metrics = if regression {
        vec![Metric::MeanAbsoluteError]
    } else {
        vec![Metric::Accuracy]
    };
    println!(
        "Training with {} threads{}{}",
        threads,
        augmentation
            .as_ref()
            .map_or(String::new(), |p| format!(", augmentation {p}")),
        if args.ensemble > 1 {
            format!(", an ensemble of {}", args.ensemble)
        } else {
            String::new()
        }
    );
    let setup = RunSetup {
        args: &args,
        loss,
        metrics,
        augmentation: augmentation.as_ref(),
        validation: validation.as_ref(),
        out_dir: &out_dir,
        input_shape: augmentation.as_ref().map_or_else(
            || train.sample_shape().to_vec(),
            |p| SampleTransform::output_shape(p, train.sample_shape()),
        ),
        file_model: file_model.as_ref(),
        outputs,
        model_label: &model_label,
        continues_run_dir,
        inputs: data_args::input_spec(&data),
    };

    resume::catch_ctrl_c();
    let mut members = Vec::new();
    let mut resumed = resumed;
    let mode = EnsembleMode::from(args.ensemble_mode);
    for k in 0..args.ensemble {
        let seed = member_seed(args.seed, k);
        let member_train = mode.training_set(&train, seed, args.ensemble);
        let member = (args.ensemble > 1).then_some(k);
        let mut trained = train_member(&setup, &member_train, seed, member, resumed.take())?;
        if let Some((mean, variance)) = &target_stats {
            trained.model = with_target_denormalization(trained.model, mean, variance)?;
        }
        let interrupted = trained.history.interrupted.is_some();
        members.push(trained);
        if interrupted {
            break;
        }
    }
    let interruption = members.last().and_then(|m| m.history.interrupted);

    // Outputs: models, curves, filters, test report, summary.
    let mut summary = format!(
        "krust train run\ncommand: {}\ndata: {which}\n",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let mut member_outputs: Vec<Vec<f32>> = Vec::new();
    let several = args.ensemble > 1;
    for (k, member) in members.iter().enumerate() {
        let suffix = if several {
            format!("-{}", k + 1)
        } else {
            String::new()
        };
        let model_path = out_dir.join(format!("model{suffix}.krust"));
        krust::nn::saving::save_model_with_inputs(&member.model, Some(&setup.inputs), &model_path)?;
        if let Some(path) = &args.save {
            if member.history.interrupted.is_some() {
                println!(
                    "--save {}: not written, the run was interrupted mid-epoch; {} holds the state after the last finished epoch",
                    path.display(),
                    out_dir.join(resume::STATE).display()
                );
            } else {
                krust::nn::saving::save_training_state(
                    &member.model,
                    member.optimizer.as_ref(),
                    member
                        .history
                        .epochs
                        .last()
                        .map_or(args.epochs, |e| e.epoch),
                    path,
                )?;
                println!("Saved the model and optimizer state to {}", path.display());
            }
        }
        let names = member.history.names();
        let curves: Vec<(String, Vec<f64>, Option<Vec<f64>>)> = names
            .iter()
            .filter(|name| !name.starts_with("val_"))
            .map(|name| {
                let val = format!("val_{name}");
                let has_val = names.contains(&val);
                let values = member.history.series(name);
                let validation = has_val.then(|| member.history.series(&val));
                (format!("{name}{suffix}"), values, validation)
            })
            .collect();
        let written = training_curves(&out_dir, &curves)?;
        if let Some((weights, [kh, kw, cin, cout])) = first_conv_kernel(&member.model) {
            filter_grid(
                out_dir.join(format!("filters{suffix}.png")),
                &weights,
                kh,
                kw,
                cin,
                cout,
                "first-layer filters",
            )?;
        }
        let timed: Vec<&EpochStats> = member
            .history
            .epochs
            .iter()
            .filter(|e| e.seconds > 0.0)
            .collect();
        let wait: f64 = timed.iter().map(|e| e.data_wait_seconds).sum();
        let loop_seconds: f64 = timed.iter().map(|e| e.seconds).sum();
        let who = if several {
            format!("Member {}: trained", k + 1)
        } else {
            "Trained".to_string()
        };
        let line = format!(
            "{who} {} epochs in {:.1}s ({:.1}s training loop, data wait {:.2}% of it){}",
            timed.len(),
            member.seconds,
            loop_seconds,
            100.0 * wait / loop_seconds.max(1e-9),
            member
                .history
                .stopped_early
                .as_ref()
                .map_or(String::new(), |r| format!("; {r}"))
        );
        println!("{line}");
        summary += &line;
        summary.push('\n');
        if let Some(stop) = member.history.interrupted {
            let line = format!(
                "Interrupted by Ctrl-C in epoch {} after step {} of {}; no test report",
                stop.epoch, stop.step, stop.steps
            );
            println!("{line}");
            summary += &line;
            summary.push('\n');
            continue;
        }
        let report_title = if several {
            format!("member {}", k + 1)
        } else {
            model_label.clone()
        };
        let member_dir = if several {
            let dir = out_dir.join(format!("member{suffix}"));
            std::fs::create_dir_all(&dir)?;
            dir
        } else {
            out_dir.clone()
        };
        let test_report = report(&member.model, &test, tta, &member_dir, &report_title)?;
        if several {
            if let Some(accuracy) = test_report.accuracy {
                summary += &format!("member {} test accuracy: {:.2}%\n", k + 1, accuracy * 100.0);
            }
        } else {
            summary += &test_report.text;
        }
        member_outputs.push(test_report.outputs);
        println!("Wrote {} and {} plots", model_path.display(), written.len());
    }
    if several && interruption.is_none() {
        let averaged = average_outputs(&member_outputs)?;
        let score = score_ensemble(&averaged, &test)?;
        let line = match &score {
            EnsembleScore::Classification(matrix) => format!(
                "Ensemble of {} (averaged probabilities) test accuracy: {:.2}%",
                members.len(),
                matrix.accuracy() * 100.0
            ),
            EnsembleScore::Regression {
                mean_absolute_error,
            } => format!(
                "Ensemble of {} test MAE: {mean_absolute_error:.6}",
                members.len()
            ),
        };
        println!("{line}");
        summary += &line;
        summary.push('\n');
        if let EnsembleScore::Classification(matrix) = &score {
            krust::plot::confusion_matrix_heatmap(
                out_dir.join("confusion_matrix.png"),
                matrix.counts(),
                test.class_names(),
                "ensemble: confusion matrix",
            )?;
        }
    }
    krust::nn::saving::write_atomically(&out_dir.join("summary.txt"), summary.as_bytes())?;
    if let Some(first) = members.first() {
        let title = if several {
            format!(
                "{model_label}: an ensemble of {} (member 1's epochs)",
                members.len()
            )
        } else {
            model_label.clone()
        };
        write_run_report(
            &out_dir,
            title,
            &which,
            first,
            &summary,
            run_start.elapsed().as_secs_f64(),
        )?;
    }
    println!("Run outputs in {}", out_dir.display());
    if interruption.is_none() {
        return Ok(ExitCode::SUCCESS);
    }
    if several {
        println!("An interrupted ensemble cannot be resumed: the finished members' models are saved above");
    } else {
        let done = members.last().map_or(0, |m| m.history.epochs.len());
        println!(
            "The state after epoch {done} is in {}. Resume with:\n  {}",
            out_dir.join(resume::STATE).display(),
            resume::resume_command(&out_dir)
        );
    }
    // 130: the shell's code for a command ended by Ctrl-C.
    Ok(ExitCode::from(130))
}
