//! `krust demo NAME`: runs one of the course demos and prints its tables and plot paths.

use clap::Args;
use krust::demos::{self, DemoError, DEMO_NAMES};
use std::path::PathBuf;

#[derive(Args)]
pub struct DemoArgs {
    /// The demo: normalization, losses, activations or pretrained.
    name: String,
    /// Directory for the demo's plots, created if missing (default: demo-output/NAME).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Hide training's per-epoch lines and progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: DemoArgs) -> Result<(), Box<dyn std::error::Error>> {
    // Checked before the default directory is made from the name, so a typo creates nothing.
    if !DEMO_NAMES.contains(&args.name.as_str()) {
        return Err(DemoError::UnknownDemo { name: args.name }.into());
    }
    let output = args
        .output
        .unwrap_or_else(|| PathBuf::from("demo-output").join(&args.name));
    demos::run(&args.name, &output, args.quiet)?;
    Ok(())
}
