//! End-to-end tests of `krust bench` on tiny settings: each workload runs alone, reports its
//! figures and the run's peak memory, and bad arguments end in a clear error.

mod common;

use common::{assert_clean_error, run_krust, stderr, stdout, subset_dir, temp_dir};

fn bench(args: &[&str]) -> std::process::Output {
    let mut all = vec!["bench", "--threads", "2"];
    all.extend_from_slice(args);
    run_krust(None, &all)
}

/// The output line that starts with `prefix`, or a failure showing the whole output.
fn line_starting<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{out}"))
}

#[test]
fn every_training_workload_runs_two_steps_on_fashion_mnist_and_reports_peak_memory() {
    let subset = subset_dir();
    let o = bench(&[
        "--workload",
        "seed_cnn,small_cnn",
        "--workload",
        "vgg_block",
        "--workload",
        "lenet5",
        "--steps",
        "2",
        "--data-dir",
        &subset,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for label in [
        "seed CNN training",
        "small_cnn training",
        "LeNet-5 training",
    ] {
        let line = line_starting(&out, label);
        assert!(line.contains("2 steps on Fashion-MNIST"), "{line}");
        assert!(line.contains("img/s"), "{line}");
    }
    let vgg = line_starting(&out, "VGG block training, batch 64, SGD");
    assert!(vgg.contains("2 steps on random images"), "{vgg}");
    let peak = line_starting(&out, "peak memory (VmHWM)");
    assert!(
        peak.contains("[seed_cnn, small_cnn, vgg_block, lenet5]"),
        "{peak}"
    );
    if cfg!(target_os = "linux") {
        assert!(peak.ends_with(" MB"), "{peak}");
    } else {
        assert!(peak.ends_with("n/a"), "{peak}");
    }
    // Only the workloads asked for run.
    assert!(!out.lines().any(|l| l.starts_with("GEMM ")), "{out}");
}

#[test]
fn epoch_times_one_pass_over_the_training_set() {
    // The shipped subset has 10,000 training images: 157 batches of 64.
    let o = bench(&[
        "--workload",
        "lenet5",
        "--epoch",
        "--data-dir",
        &subset_dir(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let line = line_starting(&out, "LeNet-5 training");
    assert!(
        line.contains("157 steps on Fashion-MNIST (10000 images)"),
        "{line}"
    );
}

#[test]
fn gemm_and_conv_report_median_and_best_gflops() {
    let o = bench(&["--workload", "gemm,conv", "--reps", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let header = line_starting(&out, "krust bench: 2 threads, CPU");
    assert!(header.contains("median of 1 runs"), "{header}");
    // The GEMM kernel chosen at run time is named.
    assert!(
        header.contains("GEMM on AVX-512F") || header.contains("GEMM on AVX2/FMA or scalar"),
        "{header}"
    );
    for prefix in [
        "GEMM 2048x2048x2048",
        "conv 3x3 64->64 on",
        "conv 3x3 64->64 backward",
    ] {
        let line = line_starting(&out, prefix);
        assert!(
            line.contains("GFLOP/s (best") && line.contains("% of peak"),
            "{line}"
        );
    }
}

#[test]
fn bad_bench_arguments_are_clear_errors() {
    let o = bench(&["--workload", "resnet"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("resnet") && err.contains("vgg_block") && err.contains("seed_cnn"),
        "{err}"
    );
    assert_clean_error(&bench(&["--steps", "0"]), "--steps");
    assert_clean_error(&bench(&["--reps", "0"]), "--reps");
    assert_clean_error(&bench(&["--peak=-5"]), "--peak");
    assert_clean_error(&bench(&["--threads", "0"]), "--threads");
    let o = bench(&["--steps", "3", "--epoch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--epoch"), "{}", stderr(&o));

    let missing = temp_dir("bench-missing").join("nothing-here");
    let missing = missing.display().to_string();
    assert_clean_error(
        &bench(&["--workload", "seed_cnn", "--data-dir", &missing]),
        &missing,
    );
    let empty = temp_dir("bench-empty").display().to_string();
    assert_clean_error(
        &bench(&["--workload", "small_cnn", "--data-dir", &empty]),
        "train-images-idx3-ubyte",
    );
}

#[test]
fn krust_gemm_portable_forces_the_gemm_crate_path_with_the_same_products() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_krust"))
        .args([
            "bench",
            "--threads",
            "2",
            "--workload",
            "gemm",
            "--reps",
            "1",
        ])
        .env("KRUST_GEMM", "portable")
        .output()
        .expect("the krust binary runs");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let header = line_starting(&out, "krust bench: 2 threads, CPU");
    assert!(header.contains("GEMM on AVX2/FMA or scalar"), "{header}");
    line_starting(&out, "GEMM 2048x2048x2048");
}
