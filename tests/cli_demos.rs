//! `krust demo NAME` run through the real binary (the demos' own numbers are checked in
//! `crates/course/tests/demos.rs`).

use krust::demos;
use std::path::Path;
use std::process::Output;

mod common;

use common::{stderr, stdout, temp_dir};

fn krust_in(dir: &Path, args: &[&str]) -> Output {
    common::run_krust(Some(dir), args)
}

/// A file that exists, is non-empty and starts with the PNG signature.
fn assert_png(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        bytes.len() > 1000,
        "{} is only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
}

#[test]
fn cli_demo_losses_prints_the_course_values() {
    let dir = temp_dir("cli-losses");
    let o = krust_in(&dir, &["demo", "losses"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    for needle in [
        "mean over the batch: 0.436",
        "[5, 10, 10]",
        "12",
        "5.70",
        "0.05",
        "2.78e-11",
        "2.3026",
    ] {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    }
    // The default output directory is created even though this demo draws nothing.
    assert!(dir.join("demo-output").join("losses").is_dir());
}

#[test]
fn cli_demo_activations_prints_tables_and_writes_pngs_to_output() {
    let dir = temp_dir("cli-activations");
    let output = dir.join("plots");
    let o = krust_in(
        &dir,
        &[
            "demo",
            "activations",
            "--output",
            &output.display().to_string(),
        ],
    );
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    for needle in ["0.26894143", "[47, 50, 12]", "0.047, 0.953, 2.99e-17"] {
        assert!(out.contains(needle), "no {needle:?} in:\n{out}");
    }
    for name in ["sigmoid", "tanh", "relu", "gelu", "silu", "hard_sigmoid"] {
        assert_png(&output.join(format!("{name}.png")));
    }
}

#[test]
fn cli_demo_normalization_quiet_prints_final_numbers_and_plots() {
    let dir = temp_dir("cli-normalization");
    let o = krust_in(&dir, &["demo", "normalization", "--quiet"]);
    assert!(o.status.success(), "stderr: {}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("raw (0-255)") && out.contains("standardized"),
        "{out}"
    );
    assert!(
        !out.contains("Epoch"),
        "--quiet still printed epochs:\n{out}"
    );
    let plots = dir.join("demo-output").join("normalization");
    assert_png(&plots.join("raw_vs_standardized_loss.png"));
    assert_png(&plots.join("raw_vs_standardized_accuracy.png"));
}

#[test]
fn cli_unknown_demo_is_a_one_line_error_listing_the_demos() {
    let dir = temp_dir("cli-nope");
    let o = krust_in(&dir, &["demo", "nope"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: unknown demo \"nope\""), "{err}");
    for name in demos::DEMO_NAMES {
        assert!(err.contains(name), "{err}");
    }
    // Nothing was created for the bad name.
    assert_eq!(std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0), 0);
}
