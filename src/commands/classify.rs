//! `krust classify PHOTO... --model NAME --weights FILE [--top K] [--json]`: the most probable
//! classes of each JPEG/PNG photo under a pretrained zoo model, with its own preprocessing;
//! `krust classify PHOTO... --model FILE` does the same with a krust model file, preparing the
//! photos at the size and colour mode it records and naming its stored classes.

use super::explain::{explain_photos, Preparation};
use super::model_inputs::{class_probabilities, image_batch};
use clap::Args;
use krust::zoo::pretrained::{
    class_label, classify_photos, load_pretrained, preprocessing_for, top_k, Classified,
};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ClassifyArgs {
    /// JPEG or PNG photos.
    #[arg(required = true)]
    photos: Vec<PathBuf>,
    /// A zoo architecture (e.g. efficientnet_lite0, resnet18, mobilenet_v2) with `--weights`,
    /// or a krust model file (such as `runs/lenet5-1/model.krust`) that records its inputs.
    #[arg(long)]
    model: String,
    /// The zoo architecture's weights: a PyTorch `.pth`/`.pt`/`.bin` file or a
    /// `.safetensors` file.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// How many classes to show per photo.
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// One JSON object per photo and line instead of the table.
    #[arg(long)]
    json: bool,
    /// Also write a Grad-CAM heat map of each photo's predicted class (at the last
    /// convolutional feature map) into this folder, as `<photo stem>.gradcam.png`.
    #[arg(long, value_name = "DIR")]
    explain: Option<PathBuf>,
}

pub fn run(args: ClassifyArgs) -> Result<(), Box<dyn std::error::Error>> {
    if args.top == 0 {
        return Err("invalid --top 0: must be at least 1".into());
    }
    let (results, labels, explained) = match &args.weights {
        Some(weights) => classify_with_zoo(&args, weights)?,
        None => classify_with_file(&args)?,
    };
    let label = |index: usize| {
        labels
            .get(index)
            .cloned()
            .unwrap_or_else(|| format!("class {index}"))
    };
    for result in results {
        let file = result.path.display().to_string();
        if args.json {
            let top: Vec<serde_json::Value> = result
                .top
                .iter()
                .map(|&(index, probability)| {
                    serde_json::json!({
                        "index": index,
                        "label": label(index),
                        "probability": probability,
                    })
                })
                .collect();
            println!("{}", serde_json::json!({"file": file, "top": top}));
        } else {
            println!("{file}");
            for (rank, &(index, probability)) in result.top.iter().enumerate() {
                println!(
                    "  {}. {:<32} {:>6.2}%  (class {index})",
                    rank + 1,
                    label(index),
                    probability * 100.0
                );
            }
        }
    }
    {
        for path in explained {
            // Keeps --json output one object a line: the note goes to stderr there.
            if args.json {
                eprintln!("Wrote {}", path.display());
            } else {
                println!("Wrote {}", path.display());
            }
        }
    }
    Ok(())
}

/// The classified photos, the class labels, and the heat maps `--explain` wrote.
type Classification = (Vec<Classified>, Vec<String>, Vec<PathBuf>);

/// The top classes of each photo's row of probabilities.
fn predicted(results: &[Classified]) -> Vec<(PathBuf, usize)> {
    results
        .iter()
        .map(|r| (r.path.clone(), r.top[0].0))
        .collect()
}

/// The photos under pretrained zoo model `--model` with `--weights`, and its class labels.
fn classify_with_zoo(
    args: &ClassifyArgs,
    weights: &Path,
) -> Result<Classification, Box<dyn std::error::Error>> {
    let preprocessing = preprocessing_for(&args.model);
    let (h, w) = preprocessing.crop;
    let pretrained = load_pretrained(&args.model, weights, &[h as usize, w as usize, 3], None)?;
    if !args.json {
        for note in &pretrained.report.notes {
            eprintln!("note: {note}");
        }
    }
    let k = args.top.min(pretrained.classes);
    let results = classify_photos(&pretrained.model, &preprocessing, &args.photos, k)?;
    let labels = (0..pretrained.classes)
        .map(|index| class_label(pretrained.classes, index))
        .collect();
    let explained = match &args.explain {
        Some(dir) => explain_photos(
            &pretrained.model,
            &Preparation::Zoo(&preprocessing),
            &predicted(&results),
            dir,
        )?,
        None => Vec::new(),
    };
    Ok((results, labels, explained))
}

/// Photos per inference batch with a model file.
const PHOTO_BATCH: usize = 8;

/// The photos under the krust model file `--model`, prepared as it records, and its stored
/// class names.
fn classify_with_file(args: &ClassifyArgs) -> Result<Classification, Box<dyn std::error::Error>> {
    let path = Path::new(&args.model);
    if !path.exists() {
        return Err(if krust::zoo::canonical_name(&args.model).is_ok() {
            format!(
                "{} is a zoo architecture: give its weights with --weights FILE",
                args.model
            )
        } else {
            format!(
                "--model {}: no such model file (or give a zoo architecture with --weights)",
                args.model
            )
        }
        .into());
    }
    let (model, inputs) = krust_import::load_model_with_inputs(path)?;
    let names = inputs
        .as_ref()
        .map(|spec| spec.class_names.clone())
        .unwrap_or_default();
    let mut results = Vec::with_capacity(args.photos.len());
    for chunk in args.photos.chunks(PHOTO_BATCH) {
        let batch = image_batch(inputs.as_ref(), path, chunk)?;
        let output = model
            .predict(&[batch])
            .map_err(|e| format!("{}: {e}", args.model))?
            .remove(0);
        if output.shape().len() != 2 || (!names.is_empty() && output.shape()[1] != names.len()) {
            return Err(format!(
                "{}: outputs of shape {:?} are not one score per class of the {} it records",
                args.model,
                output.shape(),
                names.len()
            )
            .into());
        }
        for (photo, row) in chunk.iter().zip(class_probabilities(&model, &output)) {
            results.push(Classified {
                path: photo.clone(),
                top: top_k(&row, args.top),
            });
        }
    }
    let explained = match &args.explain {
        Some(dir) => explain_photos(
            &model,
            &Preparation::File {
                inputs: inputs.as_ref(),
                model_path: path,
            },
            &predicted(&results),
            dir,
        )?,
        None => Vec::new(),
    };
    Ok((results, names, explained))
}
