//! End-to-end tests of the training toolkit through the real binary: augmentation, validation,
//! callbacks and the run's outputs, `evaluate`, ensembles, regression on arrays, and the
//! dataset errors (truncated CIFAR, corrupt or unknown images in folders, mismatched arrays).

mod common;

use common::{assert_clean_error, stderr, stdout, subset_dir as subset, temp_dir};
use krust::data::arrays::save_npy;
use std::path::Path;
use std::process::Output;

fn krust(args: &[&str]) -> Output {
    common::run_krust(None, args)
}

/// The value after "Test accuracy: " in `out`, in percent.
fn test_accuracy(out: &str) -> f32 {
    let line = out
        .lines()
        .find(|l| l.starts_with("Test accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy line in {out}"));
    line["Test accuracy: ".len()..]
        .split('%')
        .next()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("bad accuracy line {line}"))
}

#[test]
fn a_run_with_augmentation_validation_and_early_stopping_writes_its_outputs() {
    let out_dir = temp_dir("run");
    let o = krust(&[
        "train",
        "--data",
        &subset(),
        "--epochs",
        "3",
        "--augment",
        "flip,crop:2",
        "--validation-split",
        "0.1",
        "--early-stopping",
        "2",
        "--lr-schedule",
        "step:2:0.5",
        "--quiet",
        "--output",
        out_dir.to_str().expect("utf-8 path"),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(out.contains("augmentation hflip,crop:2"), "{out}");
    assert!(out.contains("val_accuracy"), "{out}");
    assert!(test_accuracy(&out) > 60.0, "{out}");
    for file in [
        "model.krust",
        "best.krust",
        "history.csv",
        "loss.png",
        "accuracy.png",
        "learning_rate.png",
        "confusion_matrix.png",
        "misclassified.png",
        "filters.png",
        "summary.txt",
    ] {
        let path = out_dir.join(file);
        assert!(
            std::fs::metadata(&path)
                .map(|m| m.len() > 0)
                .unwrap_or(false),
            "{} missing",
            path.display()
        );
    }
    let csv = std::fs::read_to_string(out_dir.join("history.csv")).expect("csv");
    let mut lines = csv.lines();
    let header = lines.next().expect("header");
    assert!(
        header.starts_with("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate"),
        "{header}"
    );
    let rates: Vec<f64> = lines
        .map(|l| {
            l.rsplit(',')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("rate")
        })
        .collect();
    // step:2:0.5 halves the rate after two epochs.
    assert_eq!(rates.len(), 3);
    assert!(
        (rates[0] - 1e-3).abs() < 1e-9 && (rates[2] - 5e-4).abs() < 1e-9,
        "{rates:?}"
    );
    // The loader kept ahead: the summary reports the data wait as a share of the loop.
    let summary = std::fs::read_to_string(out_dir.join("summary.txt")).expect("summary");
    assert!(summary.contains("data wait"), "{summary}");

    // evaluate reproduces the test accuracy from the saved model and writes its plots.
    let eval_dir = out_dir.join("eval");
    let model = out_dir.join("model.krust");
    let e = krust(&[
        "evaluate",
        model.to_str().expect("utf-8"),
        "--data",
        &subset(),
        "--output",
        eval_dir.to_str().expect("utf-8"),
    ]);
    let eval_out = stdout(&e);
    assert!(e.status.success(), "{eval_out}\n{}", stderr(&e));
    assert_eq!(test_accuracy(&eval_out), test_accuracy(&out));
    assert!(
        eval_out.contains("Macro precision") && eval_out.contains("ROC AUC"),
        "{eval_out}"
    );
    assert!(eval_dir.join("confusion_matrix.png").is_file());
    assert!(eval_dir.join("report.txt").is_file());

    // Flip test-time augmentation gives a (slightly) different but sane accuracy.
    let t = krust(&[
        "evaluate",
        model.to_str().expect("utf-8"),
        "--data",
        &subset(),
        "--tta",
        "flip",
        "--output",
        eval_dir.to_str().expect("utf-8"),
    ]);
    assert!(t.status.success(), "{}", stderr(&t));
    assert!(stdout(&t).contains("test-time augmentation: flip"));
    assert!(test_accuracy(&stdout(&t)) > 60.0);
}

#[test]
fn an_ensemble_reports_each_member_and_the_average() {
    let out_dir = temp_dir("ensemble");
    let o = krust(&[
        "train",
        "--data",
        &subset(),
        "--epochs",
        "1",
        "--ensemble",
        "2",
        "--quiet",
        "--output",
        out_dir.to_str().expect("utf-8"),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert_eq!(out.matches("Test accuracy: ").count(), 2, "{out}");
    assert!(
        out.contains("Ensemble of 2 (averaged probabilities) test accuracy: "),
        "{out}"
    );
    assert!(out_dir.join("model-1.krust").is_file() && out_dir.join("model-2.krust").is_file());

    // Members that differ by optimizer: Adam, then SGD with momentum.
    let o = krust(&[
        "train",
        "--data",
        &subset(),
        "--epochs",
        "1",
        "--ensemble",
        "2",
        "--ensemble-mode",
        "optimizers",
        "--quiet",
        "--output",
        out_dir.join("optimizers").to_str().expect("utf-8"),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("optimizer Adam") && out.contains("optimizer SGD"),
        "{out}"
    );
    assert!(out.contains("Ensemble of 2"), "{out}");
}

fn write_png(path: &Path, shade: u8) {
    let image = image::RgbImage::from_pixel(10, 8, image::Rgb([shade, 255 - shade, shade / 2]));
    image.save(path).expect("png written");
}

/// `root/train/{cat,dog}` and `root/test/{cat,dog}` with a few solid-colour PNGs each.
fn image_folders(root: &Path) {
    for split in ["train", "test"] {
        for (class, shade) in [("cat", 20u8), ("dog", 220u8)] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).expect("class dir");
            for k in 0..6u8 {
                write_png(&dir.join(format!("{k}.png")), shade + k);
            }
        }
    }
}

#[test]
fn image_folders_train_and_a_corrupt_jpeg_is_reported_by_path_or_skipped() {
    let root = temp_dir("folders");
    image_folders(&root);
    let corrupt = root.join("train").join("cat").join("broken.jpg");
    std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 this is not really a jpeg").expect("write");
    let args = |extra: &[&str]| {
        let mut all = vec![
            "train",
            "--data",
            root.to_str().expect("utf-8"),
            "--image-size",
            "8x8",
            "--model",
            "mlp",
            "--epochs",
            "2",
            "--quiet",
            "--output",
        ];
        let out = root.join("run");
        let out = out.to_str().expect("utf-8").to_string();
        let mut owned: Vec<String> = all.drain(..).map(str::to_string).collect();
        owned.push(out);
        owned.extend(extra.iter().map(|s| s.to_string()));
        owned
    };
    let refs =
        |v: &[String]| -> Output { krust(&v.iter().map(String::as_str).collect::<Vec<_>>()) };
    let failed = refs(&args(&[]));
    assert_clean_error(&failed, "broken.jpg");
    assert!(
        stderr(&failed).contains("--skip-corrupt"),
        "{}",
        stderr(&failed)
    );

    let skipped = refs(&args(&["--skip-corrupt"]));
    assert!(skipped.status.success(), "{}", stderr(&skipped));
    assert!(
        stderr(&skipped).contains("skipped corrupt image"),
        "{}",
        stderr(&skipped)
    );
    assert!(stderr(&skipped).contains("broken.jpg"));
    // Two clearly different colours: the MLP separates them.
    assert!(
        test_accuracy(&stdout(&skipped)) >= 90.0,
        "{}",
        stdout(&skipped)
    );

    // A test folder with a class the training set does not have.
    std::fs::create_dir_all(root.join("test").join("horse")).expect("dir");
    write_png(&root.join("test").join("horse").join("0.png"), 128);
    assert_clean_error(&refs(&args(&["--skip-corrupt"])), "horse");
}

#[test]
fn a_truncated_cifar_file_is_a_clear_error() {
    let dir = temp_dir("cifar");
    // Two whole 3073-byte records and part of a third.
    std::fs::write(dir.join("data_batch_1.bin"), vec![1u8; 3073 * 2 + 100]).expect("write");
    let o = krust(&[
        "train",
        "--data",
        dir.to_str().expect("utf-8"),
        "--dataset",
        "cifar10",
    ]);
    assert_clean_error(&o, "data_batch_1.bin");
    assert!(
        stderr(&o).contains("truncated") || stderr(&o).contains("partial"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn regression_on_arrays_denormalizes_predictions_and_mismatched_arrays_error() {
    let dir = temp_dir("arrays");
    // y = 100 + 50 * (x0 - x1): targets far from unit scale.
    let n = 400;
    let x: Vec<f32> = (0..n * 2)
        .map(|i| ((i * 37 % 101) as f32) / 101.0)
        .collect();
    let y: Vec<f32> = x.chunks(2).map(|r| 100.0 + 50.0 * (r[0] - r[1])).collect();
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_string();
    save_npy(Path::new(&path("x.npy")), &[n, 2], &x).expect("x");
    save_npy(Path::new(&path("y.npy")), &[n], &y).expect("y");
    save_npy(Path::new(&path("y_short.npy")), &[n - 1], &y[..n - 1]).expect("y short");

    let out_dir = path("run");
    let o = krust(&[
        "train",
        "--x",
        &path("x.npy"),
        "--y",
        &path("y.npy"),
        "--test-x",
        &path("x.npy"),
        "--test-y",
        &path("y.npy"),
        "--model",
        "mlp",
        "--normalize-targets",
        "--epochs",
        "30",
        "--batch-size",
        "32",
        "--lr",
        "0.003",
        "--quiet",
        "--output",
        &out_dir,
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    let mae: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Test MAE: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no MAE in {out}"));
    // The targets spread over ±50 around 100; de-normalized predictions land within a few units.
    assert!(mae < 5.0, "MAE {mae}: {out}");

    // predict with the saved model gives values in the targets' units.
    let pred = path("pred.npy");
    let p = krust(&[
        "predict",
        "--model",
        &format!("{out_dir}/model.krust"),
        "--input",
        &path("x.npy"),
        "--output",
        &pred,
    ]);
    assert!(p.status.success(), "{}", stderr(&p));
    assert!(Path::new(&pred).is_file());

    let bad = krust(&[
        "train",
        "--x",
        &path("x.npy"),
        "--y",
        &path("y_short.npy"),
        "--test-x",
        &path("x.npy"),
        "--test-y",
        &path("y.npy"),
        "--model",
        "mlp",
    ]);
    assert_clean_error(&bad, "y_short.npy");
}

#[test]
fn a_random_resized_crop_trains_a_smaller_model_and_ten_crops_evaluate_it() {
    let out_dir = temp_dir("resized-crop");
    let o = krust(&[
        "train",
        "--data",
        &subset(),
        "--epochs",
        "1",
        "--augment",
        "flip,resized-crop:26-30:24x24",
        "--tta",
        "ten-crop:24x24",
        "--quiet",
        "--output",
        out_dir.to_str().expect("utf-8"),
    ]);
    let out = stdout(&o);
    assert!(o.status.success(), "{out}\n{}", stderr(&o));
    assert!(
        out.contains("short side resized to 28, centre crop 24x24"),
        "{out}"
    );
    assert!(
        out.contains("test-time augmentation: ten-crop:24x24"),
        "{out}"
    );
    assert!(test_accuracy(&out) > 55.0, "{out}");
    // The saved model takes 24x24 inputs: evaluating the 28x28 test images needs a crop.
    let model = out_dir.join("model.krust");
    let e = krust(&[
        "evaluate",
        model.to_str().expect("utf-8"),
        "--data",
        &subset(),
        "--tta",
        "center-crop:24x24",
        "--output",
        out_dir.join("eval").to_str().expect("utf-8"),
    ]);
    assert!(e.status.success(), "{}", stderr(&e));
    assert!(test_accuracy(&stdout(&e)) > 55.0);
}

#[test]
fn a_dataset_named_without_data_is_looked_for_where_documented_not_replaced_by_fashion_mnist() {
    let dir = temp_dir("no-cifar");
    let o = common::run_krust(
        Some(&dir),
        &["train", "--dataset", "cifar10", "--epochs", "1"],
    );
    assert_clean_error(&o, "--dataset cifar10 without --data");
    assert!(
        stderr(&o).contains("cifar-10-batches-bin"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("Fashion-MNIST"), "{}", stdout(&o));
    assert!(
        !dir.join("runs").exists(),
        "no run directory for a run that cannot start"
    );
    let o = common::run_krust(
        Some(&dir),
        &["train", "--dataset", "folder", "--epochs", "1"],
    );
    assert_clean_error(&o, "--dataset folder needs --data");
}

#[test]
fn an_absurd_image_size_is_refused_before_anything_is_allocated() {
    for size in ["100000x100000", "0x64", "64x4097"] {
        let o = krust(&["train", "--data", &subset(), "--image-size", size]);
        assert_clean_error(&o, "sides from 1 to 4096");
    }
}
