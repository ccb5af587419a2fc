//! `krust train`: builds a zoo model, trains it on Fashion-MNIST and reports test accuracy.

use clap::{Args, ValueEnum};
use krust::data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir, SYSTEM_DIR};
use krust::data::Dataset;
use krust::nn::layers::{Layer, Normalization, Rescaling};
use krust::nn::losses::SparseCategoricalCrossentropy;
use krust::nn::optimizers::{Adam, Optimizer, Sgd};
use krust::nn::AnyModel;
use krust::train::{evaluate, fit, FitConfig, Metric};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum OptimizerName {
    Adam,
    Sgd,
}

/// How pixels (byte / 255, so in [0, 1]) are normalized before the network sees them. The
/// normalization is a layer at the front of the model, so it is saved with it and `predict`
/// applies it.
#[derive(Clone, Copy, ValueEnum)]
pub enum InputNormalization {
    /// Per-channel mean 0 and standard deviation 1, fitted on the training set.
    Standardize,
    /// Pixels stay in [0, 1].
    Unit,
    /// Pixels mapped to [-1, 1].
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

#[derive(Args)]
pub struct TrainArgs {
    /// Model to train (a zoo name).
    #[arg(long, default_value = "lenet5")]
    model: String,
    /// Passes over the training set.
    #[arg(long, default_value_t = 3)]
    epochs: usize,
    /// Images per step.
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, value_enum, default_value = "adam")]
    optimizer: OptimizerName,
    /// Learning rate (default 1e-3 for Adam, 1e-2 for SGD, as Keras).
    #[arg(long)]
    lr: Option<f32>,
    /// SGD momentum.
    #[arg(long, default_value_t = 0.0)]
    momentum: f32,
    /// Input normalization, fitted on the training set and stored in the model as its first
    /// layer (ignored with --resume: the saved model keeps its own).
    #[arg(long, value_enum, default_value = "standardize")]
    normalize: InputNormalization,
    /// Seeds weights, shuffling and dropout: the same seed and thread count repeat a run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory with Fashion-MNIST IDX files (default: the system copy if installed, else
    /// the subset shipped with krust).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Hide the progress bar.
    #[arg(long)]
    quiet: bool,
    /// Save the trained model (architecture and weights) with its optimizer state to this file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Continue training from a file written by --save: its model, optimizer and epoch count
    /// are restored, and training runs on to --epochs in total, as an uninterrupted run would.
    #[arg(long)]
    resume: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> Result<(), Box<dyn std::error::Error>> {
    let threads = super::set_threads(args.threads)?;
    if args.batch_size == 0 {
        return Err("invalid --batch-size 0: must be at least 1".into());
    }
    if args.epochs == 0 {
        return Err("invalid --epochs 0: must be at least 1".into());
    }
    if let Some(lr) = args.lr.filter(|lr| !(lr.is_finite() && *lr > 0.0)) {
        return Err(format!("invalid --lr {lr}: must be a positive number").into());
    }
    if !(0.0..1.0).contains(&args.momentum) {
        return Err(format!("invalid --momentum {}: must be in [0, 1)", args.momentum).into());
    }
    let (dir, which) = match &args.data_dir {
        Some(d) => (d.clone(), format!("Fashion-MNIST from {}", d.display())),
        None if PathBuf::from(SYSTEM_DIR).is_dir() => (
            PathBuf::from(SYSTEM_DIR),
            format!("the full Fashion-MNIST installed at {SYSTEM_DIR}"),
        ),
        None => {
            let d = shipped_subset_dir();
            let d = d.canonicalize().unwrap_or(d);
            let msg = format!(
                "the Fashion-MNIST subset shipped with krust ({}); `apt-get install dataset-fashion-mnist` for the full set",
                d.display()
            );
            (d, msg)
        }
    };
    let data = load_fashion_mnist(&dir)?;
    println!(
        "Data: {which}: {} training and {} test images",
        data.train.len(),
        data.test.len()
    );

    krust::tensor::random::set_global_seed(args.seed);
    let input = data.train.sample_shape().to_vec();
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
            let model = krust::zoo::build_with_preprocessing(
                &args.model,
                &input,
                data.train.num_classes(),
                args.normalize.layers(&data.train),
            )?;
            let optimizer: Box<dyn Optimizer> = match args.optimizer {
                OptimizerName::Adam => Box::new(Adam::new(args.lr.unwrap_or(1e-3))?),
                OptimizerName::Sgd => {
                    Box::new(Sgd::new(args.lr.unwrap_or(1e-2), args.momentum, false)?)
                }
            };
            (AnyModel::Sequential(model), optimizer, 0)
        }
    };
    println!(
        "Model: {} ({} parameters), optimizer {}, lr {}, batch {}, {} epochs, {} threads, seed {}",
        args.model,
        model.count_params(),
        optimizer.class_name(),
        optimizer.learning_rate(),
        args.batch_size,
        args.epochs,
        threads,
        args.seed
    );
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let cfg = FitConfig {
        initial_epoch: epochs_done,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        progress: !args.quiet,
        verbose: true,
        metrics: vec![Metric::Accuracy],
        validation: Some(&data.test),
        ..FitConfig::default()
    };
    let test = &data.test;
    let history = fit(
        &model,
        optimizer.as_mut(),
        &loss,
        &data.train,
        &cfg,
        &mut [],
    )?;
    let eval = evaluate(&model, &loss, test, 1000)?;
    if let Some(path) = &args.save {
        krust::nn::saving::save_training_state(&model, optimizer.as_ref(), args.epochs, path)?;
        println!("Saved the model to {}", path.display());
    }
    let total: f64 = history.epochs.iter().map(|e| e.seconds).sum();
    println!(
        "Test accuracy: {:.2}% (loss {:.4}) after {} epochs, {:.1}s of training",
        eval.accuracy * 100.0,
        eval.loss,
        args.epochs,
        total
    );
    Ok(())
}
