//! The course's sigmoid and softmax tables computed with krust's activations, and one PNG per
//! activation (sigmoid, tanh, relu, ...) showing it and its derivative on [-5, 5], the
//! derivative taken by krust's autograd.
//!
//! ```text
//! cargo run --release --example demo_activations
//! ```
//!
//! Writes the PNGs to `demo-output/activations/`; `krust demo activations --output DIR` does
//! the same from the command line.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output = Path::new("demo-output").join("activations");
    std::fs::create_dir_all(&output)?;
    let demo = krust::demos::activations(&output)?;
    print!("{demo}");
    Ok(())
}
