//! `krust train`: builds a zoo model (or loads a model file), trains it on a dataset with the
//! chosen normalization, augmentation, regularization and callbacks, and writes the run's
//! outputs (model, history CSV, plots, summary) into an output directory.

use super::data_args::{self, DataArgs};
use super::report::report;
use clap::{Args, ValueEnum};
use krust::data::augment::{resize_short_side_center_crop, Augmentation, Pipeline};
use krust::data::loader::SampleTransform;
use krust::data::{Dataset, Targets};
use krust::nn::architecture::ends_in_softmax;
use krust::nn::layers::{Layer, Normalization, Rescaling};
use krust::nn::losses::{Loss, MeanSquaredError, SparseCategoricalCrossentropy};
use krust::nn::optimizers::Optimizer;
use krust::nn::saving::InputSpec;
use krust::nn::{model_from_config, AnyModel, Module};
use krust::plot::{filter_grid, training_curves};
use krust::train::map_images;
use krust::train::{
    average_outputs, fit, member_seed, score_ensemble, Callback, CsvLogger, EarlyStopping,
    EnsembleMode, EnsembleScore, FitConfig, History, Metric, ModelCheckpoint, TerminateOnNaN,
    TestTimeAugmentation,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
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
    epochs: usize,
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
    threads: Option<usize>,
    /// Threads preparing (and augmenting) batches ahead of training.
    #[arg(long, default_value_t = 1)]
    loader_threads: usize,
    /// Directory for the run's outputs: model.krust, history.csv, plots, summary.txt
    /// (default: runs/<model>-<n>, the first unused n).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// Also save the trained model with its optimizer state to this file (for --resume).
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue training from a file written by --save: its model, optimizer and epoch count
    /// are restored, and training runs on to --epochs in total, as an uninterrupted run would.
    #[arg(long)]
    resume: Option<PathBuf>,
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
    /// What the saved models record about their inputs (size, colour mode, class names).
    inputs: InputSpec,
}

fn train_member(
    setup: &RunSetup,
    train: &Dataset,
    seed: u64,
    member: Option<usize>,
) -> Result<Trained, BoxError> {
    let args = setup.args;
    krust::tensor::random::set_seed(seed);
    let (model, mut optimizer, epochs_done) = match &args.resume {
        Some(path) => {
            let state = krust::nn::saving::load_training_state(path)?;
            let optimizer = state.optimizer.ok_or_else(|| {
                format!(
                    "{}: has no optimizer state to resume from (save it with --save)",
                    path.display()
                )
            })?;
            if args.epochs <= state.epochs_done {
                return Err(format!(
                    "invalid --epochs {}: {} already has {} epochs; --epochs is the total to reach",
                    args.epochs,
                    path.display(),
                    state.epochs_done
                )
                .into());
            }
            println!(
                "Resuming {} after epoch {}",
                path.display(),
                state.epochs_done
            );
            (state.model, optimizer, state.epochs_done)
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
            )
        }
    };
    let suffix = member.map_or(String::new(), |k| format!("-{}", k + 1));
    let mut callbacks: Vec<Box<dyn Callback>> = vec![Box::new(CsvLogger::new(
        setup.out_dir.join(format!("history{suffix}.csv")),
    ))];
    let monitor = if setup.validation.is_some() {
        "val_loss"
    } else {
        "loss"
    };
    if let Some(patience) = args.early_stopping {
        callbacks.push(Box::new(
            EarlyStopping::new(monitor, patience)
                .min_delta(args.min_delta)
                .restore_best_weights(true),
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
        args.model,
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
        ..FitConfig::default()
    };
    let mut refs: Vec<&mut dyn Callback> = callbacks
        .iter_mut()
        .map(|c| &mut **c as &mut dyn Callback)
        .collect();
    let start = Instant::now();
    let history = fit(
        &model,
        optimizer.as_mut(),
        setup.loss,
        train,
        &cfg,
        &mut refs,
    )?;
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

pub fn run(args: TrainArgs) -> Result<(), BoxError> {
    check_args(&args)?;
    let threads = super::set_threads(args.threads)?;
    let tta = TestTimeAugmentation::parse(&args.tta).map_err(|e| format!("--tta: {e}"))?;
    let augmentation = args
        .augment
        .as_deref()
        .map(Pipeline::parse)
        .transpose()
        .map_err(|e| format!("--augment: {e}"))?;
    let (data, which) = data_args::load(&args.data, args.seed)?;
    println!(
        "Data: {which}: {} training and {} test samples of shape {:?}",
        data.train.len(),
        data.test.len(),
        data.train.sample_shape()
    );
    let out_dir = args
        .output
        .clone()
        .unwrap_or_else(|| krust_train::next_run_dir(Path::new("runs"), &args.model));
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("--output {}: cannot create it: {e}", out_dir.display()))?;

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
    let file_model = Path::new(&args.model)
        .is_file()
        .then(|| krust_import::load_model(Path::new(&args.model)))
        .transpose()?;
    let loss: &dyn Loss = if regression {
        &regression_loss
    } else {
        classification_loss = SparseCategoricalCrossentropy {
            from_logits: !file_model.as_ref().is_some_and(ends_in_softmax),
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
        inputs: data_args::input_spec(&data),
    };

    let mut members = Vec::new();
    let mode = EnsembleMode::from(args.ensemble_mode);
    for k in 0..args.ensemble {
        let seed = member_seed(args.seed, k);
        let member_train = mode.training_set(&train, seed, args.ensemble);
        let member = (args.ensemble > 1).then_some(k);
        let mut trained = train_member(&setup, &member_train, seed, member)?;
        if let Some((mean, variance)) = &target_stats {
            trained.model = with_target_denormalization(trained.model, mean, variance)?;
        }
        members.push(trained);
    }

    // Outputs: models, curves, filters, test report, summary.
    let mut summary = format!(
        "krust train run\ncommand: {}\ndata: {which}\n",
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    let mut member_outputs: Vec<Vec<f32>> = Vec::new();
    for (k, member) in members.iter().enumerate() {
        let suffix = if members.len() > 1 {
            format!("-{}", k + 1)
        } else {
            String::new()
        };
        let model_path = out_dir.join(format!("model{suffix}.krust"));
        krust::nn::saving::save_model_with_inputs(&member.model, Some(&setup.inputs), &model_path)?;
        if let Some(path) = &args.save {
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
        let epochs = member.history.epochs.len();
        let wait: f64 = member
            .history
            .epochs
            .iter()
            .map(|e| e.data_wait_seconds)
            .sum();
        let loop_seconds: f64 = member.history.epochs.iter().map(|e| e.seconds).sum();
        let who = if members.len() > 1 {
            format!("Member {}: trained", k + 1)
        } else {
            "Trained".to_string()
        };
        let line = format!(
            "{who} {epochs} epochs in {:.1}s ({:.1}s training loop, data wait {:.2}% of it){}",
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
        let report_title = if members.len() > 1 {
            format!("member {}", k + 1)
        } else {
            args.model.clone()
        };
        let member_dir = if members.len() > 1 {
            let dir = out_dir.join(format!("member{suffix}"));
            std::fs::create_dir_all(&dir)?;
            dir
        } else {
            out_dir.clone()
        };
        let test_report = report(&member.model, &test, tta, &member_dir, &report_title)?;
        if members.len() > 1 {
            if let Some(accuracy) = test_report.accuracy {
                summary += &format!("member {} test accuracy: {:.2}%\n", k + 1, accuracy * 100.0);
            }
        } else {
            summary += &test_report.text;
        }
        member_outputs.push(test_report.outputs);
        println!("Wrote {} and {} plots", model_path.display(), written.len());
    }
    if members.len() > 1 {
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
    println!("Run outputs in {}", out_dir.display());
    Ok(())
}
