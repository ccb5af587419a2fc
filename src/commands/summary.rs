//! `krust summary MODEL`: prints a saved model's or a zoo architecture's layers, output
//! shapes, parameters, receptive fields and FLOPs; `--plot FILE` also draws its graph.

use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct SummaryArgs {
    /// A model file (krust's own, a Keras 3 `.keras` file or a legacy Keras `.h5` model) or a
    /// zoo architecture name (lenet5, resnet50, mobilenet_v2, ...).
    model: String,
    /// For a zoo architecture: the per-sample input shape H,W,C (default: the architecture's
    /// own, 224,224,3 for the ImageNet networks).
    #[arg(long, value_name = "H,W,C")]
    input_shape: Option<String>,
    /// For a zoo architecture: the number of classes (default: 1000 for the ImageNet networks,
    /// 10 for the Fashion-MNIST ones).
    #[arg(long)]
    classes: Option<usize>,
    /// Also draw the model's graph into this PNG: a box per layer (name, class, output
    /// shape) with arrows along the data flow, branches side by side.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
}

/// Draws `model`'s layer graph into the PNG `path`, titled `title`.
fn plot_graph(
    model: &krust::nn::AnyModel,
    title: &str,
    path: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let nodes: Vec<krust::plot::GraphNode> = model
        .layer_graph()
        .into_iter()
        .map(|node| krust::plot::GraphNode {
            lines: vec![
                node.name,
                node.class_name,
                format!(
                    "(None, {})",
                    node.output_shape
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ],
            inputs: node.inputs,
        })
        .collect();
    krust::plot::model_graph(path, title, &nodes)?;
    println!("Wrote {}", path.display());
    Ok(())
}

fn parse_shape(text: &str) -> Result<Vec<usize>, String> {
    let dims: Vec<usize> = text
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("invalid --input-shape {text:?}: expected H,W,C, e.g. 224,224,3"))?;
    if dims.len() != 3 || dims.contains(&0) {
        return Err(format!(
            "invalid --input-shape {text:?}: expected three positive sizes H,W,C"
        ));
    }
    Ok(dims)
}

pub fn run(args: SummaryArgs) -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(&args.model);
    if path.exists() {
        if args.input_shape.is_some() || args.classes.is_some() {
            return Err("--input-shape and --classes apply to zoo architectures, not files".into());
        }
        let model = krust_import::load_model(path)?;
        println!("Model: {}", path.display());
        print!("{}", model.summary());
        if let Some(plot) = &args.plot {
            plot_graph(&model, &path.display().to_string(), plot)?;
        }
        return Ok(());
    }
    let name = krust::zoo::canonical_name(&args.model).map_err(|e| {
        format!(
            "{}: no such file, and not a zoo architecture ({e})",
            PathBuf::from(&args.model).display()
        )
    })?;
    let architecture = krust::zoo::architecture(name)?;
    let shape = match &args.input_shape {
        Some(text) => parse_shape(text)?,
        None => {
            let (h, w, c) = architecture.default_input;
            vec![h, w, c]
        }
    };
    // krust's own models are Fashion-MNIST classifiers; the others are ImageNet's.
    let default_classes = if architecture.source == "krust" {
        10
    } else {
        1000
    };
    let classes = args.classes.unwrap_or(default_classes);
    if classes == 0 {
        return Err("invalid --classes 0: must be at least 1".into());
    }
    let model = krust::zoo::build_model(name, &shape, classes)?;
    println!(
        "Model: {name} ({}), input {shape:?}, {classes} classes",
        architecture.source
    );
    print!("{}", model.summary());
    if let Some(plot) = &args.plot {
        plot_graph(&model, name, plot)?;
    }
    Ok(())
}
