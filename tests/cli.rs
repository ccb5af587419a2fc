//! End-to-end tests of the real `krust` binary: a short training run on the shipped subset,
//! and bad input that must give a one-line error and a non-zero exit, never a panic.

mod common;

use common::{assert_clean_error, stderr, subset_dir, temp_dir};
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs the binary; `train` without `--output` writes its run into a fresh temporary
/// directory, so tests never add folders to the repository.
fn krust(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_krust"));
    command.args(args);
    if args.first() == Some(&"train") && !args.contains(&"--output") {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        command
            .arg("--output")
            .arg(std::env::temp_dir().join(format!("krust-cli-run-{}-{n}", std::process::id())));
    }
    command.output().expect("the krust binary runs")
}

/// An epoch line without its timings (everything after " | ").
fn without_timings(line: &str) -> String {
    line.split(" | ").next().unwrap_or(line).to_string()
}

#[test]
fn train_lenet5_on_the_shipped_subset_learns() {
    let o = krust(&[
        "train",
        "--epochs",
        "2",
        "--data-dir",
        &subset_dir(),
        "--threads",
        "2",
        "--quiet",
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "stdout: {out}\nstderr: {}", stderr(&o));
    assert!(
        out.contains("Epoch 1/2 - ") && out.contains("Epoch 2/2 - "),
        "{out}"
    );
    let line = out
        .lines()
        .find(|l| l.starts_with("Test accuracy:"))
        .expect("final accuracy line");
    let acc: f32 = line["Test accuracy: ".len()..]
        .split('%')
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // LeNet-5 with Adam reaches ~80% on 10k real images in two epochs; chance is 10%.
    assert!(acc >= 75.0, "test accuracy {acc}% is too low: {out}");
}

#[test]
fn same_seed_and_threads_repeat_the_run_exactly() {
    let run = |seed: &str| {
        let o = krust(&[
            "train",
            "--epochs",
            "1",
            "--data-dir",
            &subset_dir(),
            "--threads",
            "2",
            "--seed",
            seed,
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        // Every epoch line, without the timings.
        out.lines()
            .filter(|l| l.starts_with("Epoch "))
            .map(without_timings)
            .collect::<Vec<_>>()
    };
    let first = run("7");
    assert!(!first.is_empty());
    assert_eq!(first, run("7"));
    assert_ne!(first, run("8"));
}

#[test]
fn a_diverging_loss_stops_training_with_a_clear_error() {
    let o = krust(&[
        "train",
        "--lr",
        "1e4",
        "--epochs",
        "1",
        "--data-dir",
        &subset_dir(),
        "--quiet",
    ]);
    assert_clean_error(&o, "NaN");
    assert!(stderr(&o).contains("epoch 1"), "{}", stderr(&o));
}

#[test]
fn a_trained_model_is_saved_and_summarized() {
    let path = temp_dir("save").join("lenet.krust");
    let o = krust(&[
        "train",
        "--epochs",
        "1",
        "--data-dir",
        &subset_dir(),
        "--quiet",
        "--save",
        path.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = krust(&["summary", path.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("Conv2D") && out.contains("Total params: 61706"),
        "{out}"
    );
    std::fs::write(&path, b"not a model").unwrap();
    assert_clean_error(&krust(&["summary", path.to_str().unwrap()]), "lenet.krust");
}

#[test]
fn input_standardization_is_fitted_on_the_training_set_and_saved_in_the_model() {
    let dir = temp_dir("normalize");
    let train_and_load = |normalize: &str| {
        let path = dir.join(format!("{normalize}.krust"));
        let o = krust(&[
            "train",
            "--epochs",
            "1",
            "--data-dir",
            &subset_dir(),
            "--quiet",
            "--normalize",
            normalize,
            "--save",
            path.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        krust::nn::saving::load_sequential(&path).unwrap()
    };
    let model = train_and_load("standardize");
    assert_eq!(model.layer_names()[1], "normalization");
    let config = model.layers()[1].config();
    let data = krust::data::fashion_mnist::load_fashion_mnist(std::path::Path::new(&subset_dir()))
        .unwrap();
    let (mean, variance) = data.train.channel_statistics();
    assert_eq!(config["mean"][0].as_f64().unwrap() as f32, mean[0]);
    assert_eq!(config["variance"][0].as_f64().unwrap() as f32, variance[0]);
    // Fashion-MNIST's pixels average about 0.29 with a standard deviation of about 0.35.
    assert!((mean[0] - 0.29).abs() < 0.02 && (variance[0].sqrt() - 0.35).abs() < 0.02);

    let symmetric = train_and_load("symmetric");
    assert_eq!(symmetric.layer_names()[1], "rescaling");
    assert_eq!(symmetric.layers()[1].config()["offset"], -1.0);
    let unit = train_and_load("unit");
    assert_eq!(unit.layer_names()[1], "conv2d");
}

#[test]
fn resuming_from_a_saved_run_matches_training_straight_through() {
    let dir = temp_dir("resume");
    let (one, straight) = (dir.join("one.krust"), dir.join("two.krust"));
    let run = |args: &[&str]| {
        let mut all = vec![
            "train",
            "--data-dir",
            subset_dir_static(),
            "--quiet",
            "--seed",
            "4",
        ];
        all.extend_from_slice(args);
        let o = krust(&all);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let last = |out: &str| {
        out.lines()
            .find(|l| l.starts_with("Epoch 2/2"))
            .map(without_timings)
    };
    let a = run(&["--epochs", "2", "--save", straight.to_str().unwrap()]);
    run(&["--epochs", "1", "--save", one.to_str().unwrap()]);
    let b = run(&["--epochs", "2", "--resume", one.to_str().unwrap()]);
    assert!(b.contains("Resuming"), "{b}");
    assert_eq!(last(&a), last(&b), "straight:\n{a}\nresumed:\n{b}");
    assert!(!std::fs::read(&straight).unwrap().is_empty());
    assert_clean_error(
        &krust(&[
            "train",
            "--data-dir",
            subset_dir_static(),
            "--resume",
            one.to_str().unwrap(),
            "--epochs",
            "1",
        ]),
        "--epochs",
    );
}

fn subset_dir_static() -> &'static str {
    Box::leak(subset_dir().into_boxed_str())
}

#[test]
fn missing_data_directory_is_a_clear_error() {
    let o = krust(&["train", "--data-dir", "/nonexistent/fashion", "--quiet"]);
    assert_clean_error(&o, "/nonexistent/fashion");
}

#[test]
fn truncated_idx_file_is_a_clear_error() {
    let dir = temp_dir("truncated");
    let src = PathBuf::from(subset_dir());
    for f in [
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    // A raw IDX header for 10 images of 28x28 followed by only 100 bytes.
    let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 28, 0, 0, 0, 28];
    bytes.extend(vec![0u8; 100]);
    std::fs::write(dir.join("train-images-idx3-ubyte"), bytes).unwrap();
    let o = krust(&["train", "--data-dir", dir.to_str().unwrap(), "--quiet"]);
    assert_clean_error(&o, "train-images-idx3-ubyte");
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
}

#[test]
fn corrupt_gzip_is_a_clear_error() {
    let dir = temp_dir("corrupt");
    let src = PathBuf::from(subset_dir());
    for f in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut bytes = std::fs::read(src.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), bytes).unwrap();
    let o = krust(&["train", "--data-dir", dir.to_str().unwrap(), "--quiet"]);
    assert_clean_error(&o, "t10k-labels-idx1-ubyte.gz");
}

#[test]
fn invalid_flag_values_are_clear_errors() {
    let o = krust(&["train", "--epochs", "many"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--epochs"), "{}", stderr(&o));
    assert_clean_error(&krust(&["train", "--epochs", "0"]), "--epochs");
    assert_clean_error(&krust(&["train", "--batch-size", "0"]), "--batch-size");
    assert_clean_error(&krust(&["train", "--threads", "0"]), "--threads");
    assert_clean_error(&krust(&["train", "--lr=-1"]), "--lr");
    assert_clean_error(&krust(&["train", "--lr", "NaN"]), "--lr");
    assert_clean_error(
        &krust(&["train", "--model", "nonet", "--data-dir", &subset_dir()]),
        "nonet",
    );
    let o = krust(&["train", "--normalize", "whiten"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("whiten"), "{}", stderr(&o));
    assert_clean_error(&krust(&["train", "--optimizer", "adamax"]), "adamax");
    assert_clean_error(&krust(&["train", "--augment", "flip,spin:3"]), "spin");
    assert_clean_error(&krust(&["train", "--tta", "twelve-crop"]), "--tta");
    assert_clean_error(&krust(&["train", "--dropout", "1.5"]), "--dropout");
    assert_clean_error(
        &krust(&["train", "--ensemble", "2", "--save", "x.krust"]),
        "--save",
    );
    assert_clean_error(
        &krust(&[
            "train",
            "--lr-schedule",
            "zigzag",
            "--data-dir",
            &subset_dir(),
        ]),
        "--lr-schedule",
    );
}
