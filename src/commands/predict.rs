//! `krust predict --model FILE --input x.npy [--input x2.npy ...] --output y.npy` runs a
//! krust, Keras `.keras` or legacy `.h5` model on float32 `.npy` inputs in inference mode;
//! `krust predict --model NAME --weights FILE ...` builds zoo model NAME for the input's shape
//! and loads PyTorch or safetensors weights into it.

use clap::Args;
use krust::zoo::pretrained::load_pretrained;
use krust_import::npy;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PredictArgs {
    /// A krust model file, a Keras 3 `.keras` file or a legacy Keras `.h5` model; with
    /// `--weights`, a zoo architecture name (resnet18, mobilenet_v2, efficientnet_lite0, ...).
    #[arg(long)]
    model: String,
    /// Weights for the zoo architecture `--model` names: a PyTorch `.pth`/`.pt`/`.bin` file
    /// (zip or legacy format) or a `.safetensors` file, recognized by content.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// With `--weights`: the class count, when it differs from the weights' head (the head
    /// then keeps a fresh initialization).
    #[arg(long)]
    classes: Option<usize>,
    /// A float32 `.npy` batch, one per model input, in the model's input order (NHWC images
    /// for zoo models).
    #[arg(long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the float32 output; a model with several outputs writes
    /// `<stem>.0.npy`, `<stem>.1.npy`, ... beside it.
    #[arg(long)]
    output: PathBuf,
}

/// The file for output `index` of `count`.
fn output_path(output: &Path, index: usize, count: usize) -> PathBuf {
    if count == 1 {
        return output.to_path_buf();
    }
    let stem = output
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!("{stem}.{index}.npy"))
}

pub fn run(args: PredictArgs) -> Result<(), Box<dyn std::error::Error>> {
    let inputs = args
        .inputs
        .iter()
        .map(|p| npy::read_f32(p))
        .collect::<Result<Vec<_>, _>>()?;
    let model = match &args.weights {
        Some(weights) => {
            let [x] = &inputs[..] else {
                return Err(format!("a zoo model takes one --input, got {}", inputs.len()).into());
            };
            let shape = x.shape();
            if shape.len() != 4 {
                return Err(format!(
                    "{}: a zoo model takes a (batch, height, width, channels) float32 batch, \
                     got shape {shape:?}",
                    args.inputs[0].display()
                )
                .into());
            }
            let pretrained = load_pretrained(&args.model, weights, &shape[1..], args.classes)?;
            for note in &pretrained.report.notes {
                eprintln!("note: {note}");
            }
            pretrained.model
        }
        None => {
            if args.classes.is_some() {
                return Err("--classes needs --weights (a zoo model to size)".into());
            }
            let path = Path::new(&args.model);
            if !path.exists() && krust::zoo::canonical_name(&args.model).is_ok() {
                return Err(format!(
                    "{} is a zoo architecture: give its weights with --weights FILE",
                    args.model
                )
                .into());
            }
            krust_import::load_model(path)?
        }
    };
    let outputs = model
        .predict(&inputs)
        .map_err(|e| format!("{}: {e}", args.model))?;
    for (i, y) in outputs.iter().enumerate() {
        let path = output_path(&args.output, i, outputs.len());
        npy::write_f32(&path, y)?;
        println!("Wrote {} with shape {:?}", path.display(), y.shape());
    }
    Ok(())
}
