//! The course's loss examples, computed with krust's own loss structs: binary cross-entropy
//! for a few probabilities, the three-sample categorical cross-entropy (0.436), and the
//! multiclass hinge (0, 12, 0) and softmax cross-entropy (0.05, 5.70, 2e-11) of three score
//! vectors.
//!
//! ```text
//! cargo run --release --example demo_losses
//! ```
//!
//! The same tables come from `krust demo losses`.

fn main() -> Result<(), krust::demos::DemoError> {
    let demo = krust::demos::losses()?;
    print!("{demo}");
    // The numbers are in the struct too, e.g. for your own checks:
    println!(
        "\nmulticlass hinge per sample: {:?}",
        demo.scores
            .iter()
            .map(|s| s.multiclass_hinge)
            .collect::<Vec<_>>()
    );
    Ok(())
}
