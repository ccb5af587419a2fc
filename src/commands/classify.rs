//! `krust classify PHOTO... --model NAME --weights FILE [--top K] [--json]`: the most probable
//! classes of each JPEG/PNG photo under a pretrained zoo model, with its own preprocessing.

use clap::Args;
use krust::zoo::pretrained::{class_label, classify_photos, load_pretrained, preprocessing_for};
use std::path::PathBuf;

#[derive(Args)]
pub struct ClassifyArgs {
    /// JPEG or PNG photos.
    #[arg(required = true)]
    photos: Vec<PathBuf>,
    /// A zoo architecture (e.g. efficientnet_lite0, resnet18, mobilenet_v2).
    #[arg(long)]
    model: String,
    /// Its weights: a PyTorch `.pth`/`.pt`/`.bin` file or a `.safetensors` file.
    #[arg(long)]
    weights: PathBuf,
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
    let preprocessing = preprocessing_for(&args.model);
    let (h, w) = preprocessing.crop;
    let pretrained = load_pretrained(
        &args.model,
        &args.weights,
        &[h as usize, w as usize, 3],
        None,
    )?;
    if !args.json {
        for note in &pretrained.report.notes {
            eprintln!("note: {note}");
        }
    }
    let k = args.top.min(pretrained.classes);
    let results = classify_photos(&pretrained.model, &preprocessing, &args.photos, k)?;
    let predicted: Vec<(PathBuf, usize)> = results
        .iter()
        .map(|r| (r.path.clone(), r.top[0].0))
        .collect();
    for result in results {
        let file = result.path.display().to_string();
        if args.json {
            let top: Vec<serde_json::Value> = result
                .top
                .iter()
                .map(|&(index, probability)| {
                    serde_json::json!({
                        "index": index,
                        "label": class_label(pretrained.classes, index),
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
                    class_label(pretrained.classes, index),
                    probability * 100.0
                );
            }
        }
    }
    if let Some(dir) = &args.explain {
        let written =
            super::explain::explain_photos(&pretrained.model, &preprocessing, &predicted, dir)?;
        for path in written {
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
