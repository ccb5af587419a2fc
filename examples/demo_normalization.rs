//! Why inputs are normalized: the same MLP (Flatten, Dense 64 relu, Dense 10), from the same
//! initial weights and on the same batches, trained with SGD (lr 0.01) on Fashion-MNIST pixel
//! values 0..255 and on the same pixels standardized by a `Normalization` layer fitted on the
//! training images. The raw run's first steps blow up and it never recovers; the standardized
//! one learns.
//!
//! ```text
//! cargo run --release --example demo_normalization
//! ```
//!
//! Uses the Fashion-MNIST subset shipped with krust (5000 training and 2000 test images, 10
//! epochs: a few seconds) and writes the side-by-side loss and accuracy curves to
//! `demo-output/normalization/`. `krust demo normalization` runs the same.

use krust::demos::{normalization, NormalizationSettings};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let output = Path::new("demo-output").join("normalization");
    std::fs::create_dir_all(&output)?;
    let settings = NormalizationSettings {
        verbose: true,
        ..NormalizationSettings::default()
    };
    let demo = normalization(&settings, &output)?;
    print!("{demo}");
    Ok(())
}
