//! `krust summary MODEL_FILE`: prints a saved model's layers, output shapes and parameters.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SummaryArgs {
    /// A model file: krust's own (`krust train --save FILE`), a Keras 3 `.keras` file or a
    /// legacy Keras `.h5` model.
    model: PathBuf,
}

pub fn run(args: SummaryArgs) -> Result<(), Box<dyn std::error::Error>> {
    let model = krust_import::load_model(&args.model)?;
    println!("Model: {}", args.model.display());
    print!("{}", model.summary());
    Ok(())
}
