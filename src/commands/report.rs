//! What `krust train` and `krust evaluate` report about a model on test data: the metrics
//! printed and written to a text report, the confusion-matrix heat map and the grid of
//! misclassified images.

use krust::data::{Dataset, Targets};
use krust::metrics::{
    mean_absolute_error, mean_squared_error, one_vs_rest_macro_auc, top_k_accuracy, ConfusionMatrix,
};
use krust::nn::Module;
use krust::plot::{confusion_matrix_heatmap, image_grid, GridImage};
use krust::train::{predict_probabilities, TestTimeAugmentation};
use std::fmt::Write;
use std::path::Path;

/// The headline numbers of a test evaluation.
pub struct TestReport {
    /// Accuracy for classification; None for regression.
    pub accuracy: Option<f64>,
    /// The text printed (and saved in the run's summary).
    pub text: String,
    /// Predicted probabilities (classification) or values (regression), row per sample.
    pub outputs: Vec<f32>,
}

/// Misclassified test images shown in the grid.
const GRID_IMAGES: usize = 24;

/// Evaluates `model` on `test`, prints the metrics and writes the plots into `out_dir`.
pub fn report(
    model: &dyn Module,
    test: &Dataset,
    tta: TestTimeAugmentation,
    out_dir: &Path,
    title: &str,
) -> Result<TestReport, Box<dyn std::error::Error>> {
    let outputs = predict_probabilities(model, test, 500, tta)?;
    match test.targets() {
        Targets::Classes {
            labels,
            num_classes,
        } => classification(test, labels, *num_classes, outputs, out_dir, title, tta),
        Targets::Values { values, .. } => {
            let mae = mean_absolute_error(&outputs, values)?;
            let mse = mean_squared_error(&outputs, values)?;
            let text = format!("Test MAE: {mae:.6}\nTest MSE: {mse:.6}\n");
            print!("{text}");
            Ok(TestReport {
                accuracy: None,
                text,
                outputs,
            })
        }
    }
}

fn classification(
    test: &Dataset,
    labels: &[u32],
    num_classes: usize,
    probabilities: Vec<f32>,
    out_dir: &Path,
    title: &str,
    tta: TestTimeAugmentation,
) -> Result<TestReport, Box<dyn std::error::Error>> {
    let classes = probabilities.len() / labels.len().max(1);
    if classes != num_classes {
        return Err(format!(
            "the model outputs {classes} values per sample but the test data has {num_classes} classes"
        )
        .into());
    }
    let predicted = krust::metrics::argmax_rows(&probabilities, classes)?;
    let matrix = ConfusionMatrix::new(labels, &predicted, classes)?;
    let names = test.class_names();
    let mut text = String::new();
    let views = match tta {
        TestTimeAugmentation::None => String::new(),
        other => format!(" (test-time augmentation: {other})"),
    };
    writeln!(
        text,
        "Test accuracy: {:.2}%{views}",
        matrix.accuracy() * 100.0
    )?;
    if classes > 5 {
        let top5 = top_k_accuracy(&probabilities, classes, labels, 5)?;
        writeln!(text, "Top-5 accuracy: {:.2}%", top5 * 100.0)?;
    }
    writeln!(
        text,
        "Macro precision {:.4}, recall {:.4}, F1 {:.4}",
        matrix.macro_precision(),
        matrix.macro_recall(),
        matrix.macro_f1()
    )?;
    if let Ok(auc) = one_vs_rest_macro_auc(&probabilities, classes, labels) {
        writeln!(text, "ROC AUC (one-vs-rest, macro): {auc:.4}")?;
    }
    writeln!(text)?;
    text += &matrix.report(names)?;
    print!("{text}");

    let heatmap = out_dir.join("confusion_matrix.png");
    confusion_matrix_heatmap(
        &heatmap,
        matrix.counts(),
        names,
        &format!("{title}: confusion matrix"),
    )?;
    let mut written = vec![heatmap];
    if let Some((h, w, c)) = test.image_dims().filter(|&(_, _, c)| c == 1 || c == 3) {
        let mut pixels = vec![0.0; test.sample_size()];
        let mut grid = Vec::new();
        for (index, (&truth, &guess)) in labels.iter().zip(&predicted).enumerate() {
            if truth == guess {
                continue;
            }
            test.write_sample(index, &mut pixels);
            // Float datasets may hold values outside [0, 1]; stretch them for display.
            let (lo, hi) = pixels
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let shown = if lo >= 0.0 && hi <= 1.0 {
                pixels.clone()
            } else {
                pixels
                    .iter()
                    .map(|v| (v - lo) / (hi - lo).max(1e-12))
                    .collect()
            };
            grid.push(GridImage {
                height: h,
                width: w,
                channels: c,
                pixels: shown,
                caption: format!(
                    "true: {}\npred: {} ({:.0}%)",
                    names[truth as usize],
                    names[guess as usize],
                    100.0 * probabilities[index * classes + guess as usize]
                ),
            });
            if grid.len() == GRID_IMAGES {
                break;
            }
        }
        if !grid.is_empty() {
            let path = out_dir.join("misclassified.png");
            image_grid(
                &path,
                &grid,
                6,
                &format!("{title}: misclassified test images"),
            )?;
            written.push(path);
        }
    }
    for path in &written {
        println!("Wrote {}", path.display());
    }
    Ok(TestReport {
        accuracy: Some(matrix.accuracy()),
        text,
        outputs: probabilities,
    })
}
