//! `krust predict --model FILE --input x.npy [--input x2.npy ...] [--output y.npy]` runs a
//! krust, Keras `.keras` or legacy `.h5` model in inference mode on `.npy` inputs (float32,
//! float64, or uint8 scaled by 1/255 as in training) or on JPEG/PNG photos, prepared at the
//! image size and colour mode the krust model file records. A model that records class names
//! prints each sample's class and probability. `krust predict --model NAME --weights FILE ...`
//! builds zoo model NAME for the input's shape and loads PyTorch or safetensors weights.

use super::model_inputs::{class_names, class_probabilities, image_batch, is_image_file};
use clap::Args;
use krust::zoo::pretrained::load_pretrained;
use krust::zoo::pretrained::top_k;
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
    /// A `.npy` batch (float32, float64, or uint8 scaled by 1/255), one per model input, in
    /// the model's input order (NHWC images for zoo models); or JPEG/PNG photos, one batch
    /// of them, prepared as the krust model file records.
    #[arg(long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// Where to write the float32 output; a model with several outputs writes
    /// `<stem>.0.npy`, `<stem>.1.npy`, ... beside it. May be left out when the model records
    /// class names (the classes are printed).
    #[arg(long)]
    output: Option<PathBuf>,
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
    let photos = args.inputs.iter().filter(|p| is_image_file(p)).count();
    if photos > 0 && (photos < args.inputs.len() || args.weights.is_some()) {
        return Err(if args.weights.is_some() {
            "--input: photos need a krust model file that records its inputs; for a zoo model use `krust classify` or a .npy batch".to_string()
        } else {
            "--input: give either JPEG/PNG photos (one batch) or .npy arrays, not both".to_string()
        }
        .into());
    }
    let (model, spec) = match &args.weights {
        Some(weights) => {
            let inputs = read_arrays(&args.inputs)?;
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
            (pretrained.model, None)
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
            krust_import::load_model_with_inputs(path)?
        }
    };
    let inputs = if photos > 0 {
        vec![image_batch(
            spec.as_ref(),
            Path::new(&args.model),
            &args.inputs,
        )?]
    } else {
        read_arrays(&args.inputs)?
    };
    let outputs = model
        .predict(&inputs)
        .map_err(|e| format!("{}: {e}", args.model))?;
    let named = match &outputs[..] {
        [y] => class_names(spec.as_ref(), y).map(|names| (y, names)),
        _ => None,
    };
    if let Some((y, names)) = named {
        // One line per sample: its source, the most probable class and its probability.
        let sources = sample_sources(&args.inputs, photos > 0, y.shape()[0]);
        for (source, row) in sources.iter().zip(class_probabilities(&model, y)) {
            for (index, probability) in top_k(&row, 1) {
                println!("{source}: {} ({:.2}%)", names[index], probability * 100.0);
            }
        }
    }
    match &args.output {
        Some(output) => {
            for (i, y) in outputs.iter().enumerate() {
                let path = output_path(output, i, outputs.len());
                npy::write_f32(&path, y)?;
                println!("Wrote {} with shape {:?}", path.display(), y.shape());
            }
        }
        None if named.is_none() => {
            return Err(format!(
                "--output is needed: {} records no class names to print",
                args.model
            )
            .into())
        }
        None => {}
    }
    Ok(())
}

/// The `.npy` inputs, in order.
fn read_arrays(paths: &[PathBuf]) -> Result<Vec<krust::tensor::Tensor>, krust_import::ImportError> {
    paths.iter().map(|p| npy::read_input(p)).collect()
}

/// What each of `count` samples is called in the printed classes: the photo's path, or the
/// array file with the sample's index.
fn sample_sources(inputs: &[PathBuf], photos: bool, count: usize) -> Vec<String> {
    if photos {
        return inputs.iter().map(|p| p.display().to_string()).collect();
    }
    let first = inputs
        .first()
        .map_or(String::new(), |p| p.display().to_string());
    (0..count).map(|i| format!("{first}[{i}]")).collect()
}
