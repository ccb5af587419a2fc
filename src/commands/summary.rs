//! `krust summary MODEL_FILE`: prints a saved model's layers, output shapes and parameters.

use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct SummaryArgs {
    /// A model saved by krust (`krust train --save FILE`).
    model: PathBuf,
}

pub fn run(args: SummaryArgs) -> Result<(), Box<dyn std::error::Error>> {
    let model = krust::nn::saving::load_sequential(&args.model)?;
    println!("Model: {}", args.model.display());
    print!("{}", model.summary());
    Ok(())
}
