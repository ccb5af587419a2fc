//! `krust predict` and `krust summary` on Keras `.keras`/`.h5` files and krust's own format,
//! against the fixtures of tools/make_keras_models.py.

mod common;

use common::{stderr, temp_dir};
use krust_import::npy;
use std::path::Path;
use std::process::Output;

fn krust(args: &[&str]) -> Output {
    common::run_krust(None, args)
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/keras/models")
        .join(name)
        .display()
        .to_string()
}

/// The shared clean-error check, and the error is exactly one line.
fn assert_clean_error(o: &Output, needle: &str) {
    common::assert_clean_error(o, needle);
    assert_eq!(stderr(o).lines().count(), 1, "not one line: {}", stderr(o));
}

fn max_difference(a: &krust_tensor::Tensor, b: &krust_tensor::Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec()
        .iter()
        .zip(b.to_vec())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn predict_reproduces_keras_for_keras_and_h5_files() {
    let dir = temp_dir("predict");
    for ext in ["keras", "h5"] {
        let out = dir.join(format!("y.{ext}.npy"));
        let model = fixture(&format!("resnet_block.{ext}"));
        let o = krust(&[
            "predict",
            "--model",
            &model,
            "--input",
            &fixture("resnet_block.x0.npy"),
            "--output",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let got = npy::read_f32(&out).unwrap();
        let want = npy::read_f32(Path::new(&fixture("resnet_block.y0.npy"))).unwrap();
        assert!(max_difference(&got, &want) <= 1e-4, "{ext}");
    }
}

#[test]
fn predict_with_two_inputs_writes_one_file_per_output() {
    let dir = temp_dir("multi");
    let out = dir.join("y.npy");
    let o = krust(&[
        "predict",
        "--model",
        &fixture("multi_io.h5"),
        "--input",
        &fixture("multi_io.x0.npy"),
        "--input",
        &fixture("multi_io.x1.npy"),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for i in 0..2 {
        let got = npy::read_f32(&dir.join(format!("y.{i}.npy"))).unwrap();
        let want = npy::read_f32(Path::new(&fixture(&format!("multi_io.y{i}.npy")))).unwrap();
        assert!(max_difference(&got, &want) <= 1e-4, "output {i}");
    }
    // No temporary files are left beside the outputs (writes are atomic renames).
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

#[test]
fn predict_runs_krust_model_files() {
    let dir = temp_dir("krust");
    let path = dir.join("tiny.krust");
    let mut model = krust::nn::Sequential::new();
    model.add(krust::nn::layers::Input::new(&[3])).unwrap();
    model.add(krust::nn::layers::Dense::new(2)).unwrap();
    krust::nn::saving::save_model(&model, &path).unwrap();
    let x = krust::tensor::Tensor::from_vec([4, 3], (0..12).map(|i| i as f32 / 10.0).collect())
        .unwrap();
    let input = dir.join("x.npy");
    npy::write_f32(&input, &x).unwrap();
    let out = dir.join("y.npy");
    let o = krust(&[
        "predict",
        "--model",
        path.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        npy::read_f32(&out).unwrap().to_vec(),
        model.predict(&x).unwrap().to_vec()
    );
    let o = krust(&["summary", path.to_str().unwrap()]);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Total params: 8"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn summary_reads_keras_and_h5_files() {
    for file in [
        "nested.keras",
        "nested.h5",
        "sequential_cnn.keras",
        "sequential_cnn.h5",
    ] {
        let o = krust(&["summary", &fixture(file)]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{file}: {}", stderr(&o));
        assert!(
            out.contains("Total params") && out.contains("Receptive"),
            "{file}: {out}"
        );
    }
    let o = krust(&["summary", &fixture("nested.keras")]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Total params: 323"),
        "Keras's count_params is 323"
    );
}

#[test]
fn bad_inputs_and_files_are_one_line_errors() {
    let dir = temp_dir("errors");
    let out = dir.join("y.npy");
    let out = out.to_str().unwrap();
    // A layer krust lacks.
    let o = krust(&["summary", &fixture("unsupported_lstm.keras")]);
    assert_clean_error(&o, "LSTM");
    // An input of the wrong shape names the problem.
    let o = krust(&[
        "predict",
        "--model",
        &fixture("resnet_block.keras"),
        "--input",
        &fixture("nested.x0.npy"),
        "--output",
        out,
    ]);
    assert_clean_error(&o, "input");
    // Too few inputs.
    let o = krust(&[
        "predict",
        "--model",
        &fixture("multi_io.keras"),
        "--input",
        &fixture("multi_io.x0.npy"),
        "--output",
        out,
    ]);
    assert_clean_error(&o, "2 inputs");
    // A truncated .keras and a truncated .h5.
    for file in ["resnet_block.keras", "resnet_block.h5"] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let broken = dir.join(file);
        std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
        assert_clean_error(&krust(&["summary", broken.to_str().unwrap()]), file);
    }
    // An input that is not .npy.
    let bogus = dir.join("x.npy");
    std::fs::write(&bogus, b"nope").unwrap();
    let o = krust(&[
        "predict",
        "--model",
        &fixture("resnet_block.h5"),
        "--input",
        bogus.to_str().unwrap(),
        "--output",
        out,
    ]);
    assert_clean_error(&o, "x.npy");
    assert!(!Path::new(out).exists());
}
