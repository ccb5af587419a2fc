//! Every keras.applications model, saved by Keras with random weights, loads from both Keras
//! formats and predicts like Keras: max|diff| <= 1e-4 · max(1, max|y|).
//!
//! The full set is large and made on demand by tools/make_keras_applications.py into
//! target/keras-applications/ (or $KRUST_KERAS_APPLICATIONS); without it that test says how to
//! make it and passes. The small applications committed under fixtures/keras/applications/
//! are always checked. $KRUST_KERAS_APPLICATIONS_ONLY=name,name limits the generated set to some
//! models.

use krust_import::{load_model, npy};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Names of the models in `dir` that have a reference output, sorted; `filtered` applies
/// $KRUST_KERAS_APPLICATIONS_ONLY.
fn model_names(dir: &Path, filtered: bool) -> Vec<String> {
    let only: Option<Vec<String>> = std::env::var("KRUST_KERAS_APPLICATIONS_ONLY")
        .ok()
        .filter(|_| filtered)
        .map(|s| s.split(',').map(str::to_string).collect());
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_suffix(".y0.npy")
                .map(str::to_string)
        })
        .filter(|n| only.as_ref().is_none_or(|o| o.contains(n)))
        .collect();
    names.sort();
    names
}

/// One checked file: its relative error and timings.
struct Row {
    file: String,
    input: Vec<usize>,
    relative_error: f32,
    load_s: f64,
    predict_s: f64,
}

/// Loads `dir/<name>.<ext>`, predicts on its input and compares with Keras's output.
fn check(dir: &Path, name: &str, ext: &str) -> Result<Row, String> {
    let x = npy::read_f32(&dir.join(format!("{name}.x0.npy"))).unwrap();
    let want = npy::read_f32(&dir.join(format!("{name}.y0.npy"))).unwrap();
    let file = format!("{name}.{ext}");
    let start = Instant::now();
    let model = load_model(&dir.join(&file)).map_err(|e| e.to_string())?;
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let input = x.shape().to_vec();
    let outputs = model.predict(&[x]).map_err(|e| format!("{file}: {e}"))?;
    let predict_s = start.elapsed().as_secs_f64();
    if outputs.len() != 1 || outputs[0].shape() != want.shape() {
        return Err(format!(
            "{file}: outputs of shapes {:?}, Keras's {:?}",
            outputs
                .iter()
                .map(|o| o.shape().to_vec())
                .collect::<Vec<_>>(),
            want.shape()
        ));
    }
    let scale = want.to_vec().iter().fold(1f32, |m, v| m.max(v.abs()));
    let worst = outputs[0]
        .to_vec()
        .iter()
        .zip(want.to_vec())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    Ok(Row {
        file,
        input,
        relative_error: worst / scale,
        load_s,
        predict_s,
    })
}

/// Checks every model of `dir` in both formats, prints the table and fails on any mismatch.
fn check_all(dir: &Path, filtered: bool) -> usize {
    let names = model_names(dir, filtered);
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for name in &names {
        for ext in ["keras", "h5"] {
            let row = match check(dir, name, ext) {
                Ok(row) => row,
                Err(why) => {
                    println!("{name}.{ext}: FAILED: {why}");
                    bad.push(why);
                    continue;
                }
            };
            println!(
                "{:<32} input {:<16} max rel. error {:.2e}  load {:>6.2}s  predict {:>6.2}s",
                row.file,
                format!("{:?}", row.input),
                row.relative_error,
                row.load_s,
                row.predict_s
            );
            rows.push(row);
        }
    }
    bad.extend(
        rows.iter()
            .filter(|r| r.relative_error.is_nan() || r.relative_error > 1e-4)
            .map(|r| format!("{} differs from Keras ({:e})", r.file, r.relative_error)),
    );
    assert!(
        bad.is_empty(),
        "{} of {} files fail: {bad:#?}",
        bad.len(),
        2 * names.len()
    );
    rows.len()
}

#[test]
fn committed_small_applications_predict_like_keras() {
    let dir = workspace().join("fixtures/keras/applications");
    let checked = check_all(&dir, false);
    assert!(checked >= 2, "no application fixtures in {}", dir.display());
}

#[test]
fn every_generated_keras_application_predicts_like_keras() {
    let dir = std::env::var_os("KRUST_KERAS_APPLICATIONS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/keras-applications"));
    if !dir.is_dir() {
        println!(
            "{} is absent: make it with `/root/venvs/tf/bin/python \
             tools/make_keras_applications.py` (needs TensorFlow/Keras 3) to check every \
             keras.applications model",
            dir.display()
        );
        return;
    }
    let checked = check_all(&dir, true);
    println!("{checked} application files predict like Keras");
}
