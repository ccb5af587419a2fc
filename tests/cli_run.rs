//! A training run as a user lives it, through the real binary: Ctrl-C saves a run that
//! `--resume RUN_DIR` finishes with the weights of an uninterrupted run; bad flags fail before
//! any data is read and leave no run directory; misleading data gets a warning.

mod common;

use common::{assert_clean_error, run_krust, stderr, stdout, subset_dir, temp_dir};
use krust::nn::layers::{Dense, Dropout, Flatten, Input};
use krust::nn::{Activation, Module, Sequential};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// A small MLP with dropout, saved as a model file: it trains an epoch of the subset in a
/// fraction of a second, and its dropout masks must be resumed exactly too.
fn dropout_mlp(path: &Path) {
    krust::tensor::random::set_seed(11);
    let mut model = Sequential::new();
    model.add(Input::new(&[28, 28, 1])).unwrap();
    model.add(Flatten::new()).unwrap();
    model
        .add(Dense::new(32).with_activation(Activation::Relu))
        .unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model.add(Dense::new(10)).unwrap();
    krust::nn::saving::save_model(&model, path).unwrap();
}

/// Every weight of a model file, by name.
fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let model = krust::nn::saving::load_model(path).unwrap();
    model
        .named_weights()
        .into_iter()
        .map(|(name, var)| (name, var.value().to_vec()))
        .collect()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn ctrl_c_saves_the_run_and_resume_finishes_it_with_the_weights_of_an_uninterrupted_run() {
    let dir = temp_dir("ctrl-c");
    let model = dir.join("mlp.krust");
    dropout_mlp(&model);
    let (data, model) = (subset_dir(), model.display().to_string());
    // Early stopping and a plateau schedule keep counts across epochs: the resumed run must
    // carry them on too.
    let common = [
        "train",
        "--data",
        &data,
        "--model",
        &model,
        "--quiet",
        "--seed",
        "5",
        "--threads",
        "1",
        "--early-stopping",
        "2",
        "--lr-schedule",
        "plateau:1:0.5",
    ];

    // A long run, interrupted once its first epoch is done.
    let mut child = Command::new(env!("CARGO_BIN_EXE_krust"))
        .args(common)
        .args(["--epochs", "1000", "--output", "run"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        out += &line;
        out.push('\n');
        if line.starts_with("Epoch 1/1000") {
            break;
        }
    }
    // What Ctrl-C in a terminal sends.
    // SAFETY: kill(2) on the child this test started and has not waited for yet.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(sent, 0);
    for line in lines {
        out += &line.unwrap();
        out.push('\n');
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{out}");
    assert!(out.contains("Interrupted by Ctrl-C in epoch"), "{out}");
    assert!(out.contains("krust train --resume run"), "{out}");
    let run = dir.join("run");
    for file in [
        "state.krust",
        "run.json",
        "history.csv",
        "summary.txt",
        "loss.png",
        "model.krust",
        "report.html",
    ] {
        assert!(
            run.join(file).is_file(),
            "{file} missing after Ctrl-C:\n{out}"
        );
    }
    let summary = std::fs::read_to_string(run.join("summary.txt")).unwrap();
    assert!(summary.contains("Interrupted by Ctrl-C"), "{summary}");
    let done: usize = out
        .split("The state after epoch ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no epoch count in:\n{out}"));
    assert!(done >= 1, "{out}");
    let total = (done + 2).to_string();

    // The run goes on from its state, with its own settings, and its history continues.
    let resumed = run_krust(
        Some(&dir),
        &["train", "--resume", "run", "--epochs", &total],
    );
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stdout(&resumed).contains("Resuming") && stdout(&resumed).contains(&model),
        "{}",
        stdout(&resumed)
    );
    let history = std::fs::read_to_string(run.join("history.csv")).unwrap();
    let epochs: Vec<&str> = history
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let expected: Vec<String> = (0..done + 2).map(|e| e.to_string()).collect();
    assert_eq!(epochs, expected, "{history}");
    // TensorBoard gets a second event file beside the first, whose steps go on.
    let event_files = std::fs::read_dir(run.join("train")).unwrap().count();
    assert_eq!(
        event_files, 2,
        "one TensorBoard event file per training session"
    );
    let report = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert!(
        report.contains("data:image/png;base64,"),
        "report.html embeds no plot"
    );

    // The same run, never interrupted.
    let straight = run_krust(
        Some(&dir),
        &[&common[..], &["--epochs", &total, "--output", "straight"]].concat(),
    );
    assert!(straight.status.success(), "{}", stderr(&straight));
    let (a, b) = (
        weights(&run.join("model.krust")),
        weights(&dir.join("straight/model.krust")),
    );
    assert_eq!(a.len(), 4); // two Dense layers
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{name} differs between the resumed and the uninterrupted run"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resume_keeps_the_runs_settings_and_refuses_others_before_reading_data() {
    let dir = temp_dir("resume-flags");
    let data = subset_dir();
    let first = run_krust(
        Some(&dir),
        &[
            "train", "--data", &data, "--model", "mlp", "--epochs", "1", "--quiet", "--output",
            "run",
        ],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let refused = |args: &[&str], needle: &str| {
        let o = run_krust(Some(&dir), args);
        assert_clean_error(&o, needle);
        assert!(
            !stdout(&o).contains("Data:"),
            "read data first: {}",
            stdout(&o)
        );
    };
    // --resume used to ignore these silently.
    refused(
        &["train", "--resume", "run", "--epochs", "2", "--lr", "0.1"],
        "--lr 0.1 contradicts",
    );
    refused(
        &[
            "train", "--resume", "run", "--epochs", "2", "--model", "lenet5",
        ],
        "--model lenet5 contradicts the run's --model mlp",
    );
    // A finished run.
    refused(&["train", "--resume", "run"], "already has 1 epochs");
    // A model file is not a training state: say what to do instead.
    refused(
        &["train", "--resume", "run/model.krust", "--epochs", "2"],
        "--model run/model.krust",
    );
    refused(
        &[
            "train",
            "--resume",
            "run/state.krust",
            "--epochs",
            "2",
            "--lr",
            "0.1",
        ],
        "restores the model and its optimizer",
    );
    // A flag repeated with the run's value is fine, in another spelling too (its default of
    // 0.0 here).
    let again = run_krust(
        Some(&dir),
        &[
            "train",
            "--resume",
            "run",
            "--epochs",
            "2",
            "--model",
            "mlp",
            "--min-delta",
            "0",
        ],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("Model: mlp"), "{}", stdout(&again));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_flags_fail_before_the_data_loads_and_leave_no_run_directory() {
    let dir = temp_dir("fail-fast");
    let data = subset_dir();
    for (args, needle) in [
        (vec!["--model", "nosuch"], "unknown model \"nosuch\""),
        (
            vec!["--model", "missing/model.krust"],
            "--model missing/model.krust: no such file",
        ),
        (
            vec!["--tta", "ten-crop:40x40"],
            "--tta ten-crop:40x40: the test images are 28x28",
        ),
    ] {
        let o = run_krust(
            Some(&dir),
            &[
                &["train", "--data", &data, "--quiet", "--epochs", "1"][..],
                &args,
            ]
            .concat(),
        );
        assert_clean_error(&o, needle);
        assert!(
            !stdout(&o).contains("Epoch"),
            "trained first: {}",
            stdout(&o)
        );
        assert!(!dir.join("runs").exists(), "{args:?} left a run directory");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `root/train/<class>` and `root/test/<class>` with a few small PNGs each.
fn image_folders(root: &Path, classes: &[&str]) {
    for split in ["train", "test"] {
        for (k, class) in classes.iter().enumerate() {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for n in 0..5u8 {
                let shade = 40 * k as u8 + n;
                image::GrayImage::from_pixel(8, 8, image::Luma([shade]))
                    .save(dir.join(format!("{n}.png")))
                    .unwrap();
            }
        }
    }
}

#[test]
fn misleading_data_trains_with_a_warning() {
    let dir = temp_dir("warnings");
    let train = |data: &Path, extra: &[&str]| {
        let data = data.display().to_string();
        let o = run_krust(
            Some(&dir),
            &[
                &[
                    "train",
                    "--data",
                    &data,
                    "--model",
                    "mlp",
                    "--epochs",
                    "1",
                    "--quiet",
                    "--image-size",
                    "8x8",
                    "--grayscale",
                    "--output",
                ][..],
                &[dir.join("out").to_str().unwrap()],
                extra,
            ]
            .concat(),
        );
        let _ = std::fs::remove_dir_all(dir.join("out"));
        assert!(o.status.success(), "{}", stderr(&o));
        stderr(&o)
    };
    let one_class = dir.join("one");
    image_folders(&one_class, &["shirt"]);
    let err = train(&one_class, &[]);
    assert!(
        err.contains("warning: the training data has a single class (shirt)"),
        "{err}"
    );

    let two = dir.join("two");
    image_folders(&two, &["bag", "coat"]);
    let err = train(&two, &["--batch-size", "100000"]);
    assert!(
        err.contains("warning: --batch-size 100000 is larger than the 10 training samples"),
        "{err}"
    );
    // Folders load class by class, so Keras's last-samples split holds only the last class.
    let err = train(&two, &["--validation-split", "0.4"]);
    assert!(err.contains("has no sample of class bag"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_path_given_again_from_elsewhere_agrees_with_the_recorded_one() {
    let dir = temp_dir("resume-paths");
    std::os::unix::fs::symlink(subset_dir(), dir.join("data")).unwrap();
    let first = run_krust(
        Some(&dir),
        &[
            "train", "--data", "data", "--model", "mlp", "--epochs", "1", "--quiet", "--output",
            "run",
        ],
    );
    assert!(first.status.success(), "{}", stderr(&first));
    // From a subfolder, ../data is the recorded data (recorded relative to `dir`)...
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let again = run_krust(
        Some(&elsewhere),
        &[
            "train", "--resume", "../run", "--epochs", "2", "--data", "../data",
        ],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    // ...and `data` from there names nothing the run used.
    std::fs::create_dir_all(elsewhere.join("data")).unwrap();
    let other = run_krust(
        Some(&elsewhere),
        &[
            "train", "--resume", "../run", "--epochs", "3", "--data", "data",
        ],
    );
    assert_clean_error(&other, "--data data contradicts the run's --data data");
    std::fs::remove_dir_all(&dir).unwrap();
}
