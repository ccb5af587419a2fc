//! `krust predict --model FILE --input x.npy [--input x2.npy ...] --output y.npy`: runs a
//! krust, Keras `.keras` or legacy `.h5` model on float32 `.npy` inputs in inference mode.

use clap::Args;
use krust_import::npy;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PredictArgs {
    /// A krust model file, a Keras 3 `.keras` file or a legacy Keras `.h5` model.
    #[arg(long)]
    model: PathBuf,
    /// A float32 `.npy` batch, one per model input, in the model's input order.
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
    let model = krust_import::load_model(&args.model)?;
    let inputs = args
        .inputs
        .iter()
        .map(|p| npy::read_f32(p))
        .collect::<Result<Vec<_>, _>>()?;
    let outputs = model
        .predict(&inputs)
        .map_err(|e| format!("{}: {e}", args.model.display()))?;
    for (i, y) in outputs.iter().enumerate() {
        let path = output_path(&args.output, i, outputs.len());
        npy::write_f32(&path, y)?;
        println!("Wrote {} with shape {:?}", path.display(), y.shape());
    }
    Ok(())
}
