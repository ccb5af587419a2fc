//! `krust evaluate MODEL --data ...`: test metrics of a saved model (krust, .keras or .h5),
//! with the confusion matrix and misclassified images written as PNGs.

use super::data_args::{self, DataArgs};
use super::report::report;
use clap::Args;
use krust::train::TestTimeAugmentation;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvaluateArgs {
    /// A krust model file, a Keras 3 `.keras` file or a legacy Keras `.h5` model.
    model: PathBuf,
    #[command(flatten)]
    data: DataArgs,
    /// Test-time augmentation: none, flip, center-crop:HxW or ten-crop:HxW.
    #[arg(long, default_value = "none")]
    tta: String,
    /// Where to write the plots (default: an `evaluation` folder beside the model).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

pub fn run(args: EvaluateArgs) -> Result<(), Box<dyn std::error::Error>> {
    super::set_threads(args.threads)?;
    let tta = TestTimeAugmentation::parse(&args.tta).map_err(|e| format!("--tta: {e}"))?;
    let (model, inputs) = krust_import::load_model_with_inputs(&args.model)?;
    let stored = inputs.as_ref().map(|spec| (spec, args.model.as_path()));
    let (test, which) = data_args::load_test(&args.data, stored)?;
    println!(
        "Evaluating {} ({} parameters) on {which}: {} samples",
        args.model.display(),
        model.count_params(),
        test.len()
    );
    let out_dir = args.output.clone().unwrap_or_else(|| {
        args.model
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("evaluation")
    });
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("--output {}: cannot create it: {e}", out_dir.display()))?;
    let title = args
        .model
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let result = report(&model, &test, tta, &out_dir, &title)?;
    krust::nn::saving::write_atomically(&out_dir.join("report.txt"), result.text.as_bytes())?;
    Ok(())
}
