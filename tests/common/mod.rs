//! What the end-to-end tests of the `krust` binary share: running it, reading its output, and
//! the check that bad input ends in a clean one-line error.
#![allow(dead_code)] // each test file uses its own part of this

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary with `args` in `dir` (the test's working directory when None).
pub fn run_krust(dir: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_krust"));
    command.args(args);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    command.output().expect("the krust binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty directory under the system temp dir, unique to this test process.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("krust-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The Fashion-MNIST subset shipped in the repository.
pub fn subset_dir() -> String {
    krust::data::fashion_mnist::shipped_subset_dir()
        .display()
        .to_string()
}

/// Asserts a clean failure: non-zero exit, no panic, a first line starting with "error" and
/// an error that mentions `needle`.
pub fn assert_clean_error(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "expected failure, got success; stdout: {}\nstderr: {err}",
        stdout(o)
    );
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "panic: {err}"
    );
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error"),
        "first line is not an error message: {err}"
    );
    assert!(
        err.contains(needle),
        "error does not mention {needle:?}: {err}"
    );
}
