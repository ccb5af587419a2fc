//! Reading the Keras reference fixtures under fixtures/keras/ (activations and losses from
//! tools/make_keras_activation_loss_fixtures.py; layer and regularizer cases from
//! tools/make_keras_{layer,regularizer}_fixtures.py) and comparing krust's results with them.
//!
//! Tolerance, per element: |krust - Keras| <= 1e-5 · max(|Keras|, 0.01), a relative error of
//! 1e-5 that becomes an absolute 1e-7 for values below 0.01. The floor is for tiny values
//! that are differences of order-1 float32 terms, and for tails where Keras's own float64
//! formula cancels to 0 and krust keeps the true value (TensorFlow's ELU gradient
//! (expm1(x) + 1) is 0 at x = -50, e^-50 = 2e-22 in krust; GELU's 1 + tanh(u)).

// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use krust_tensor::Tensor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub const RELATIVE_TOLERANCE: f32 = 1e-5;
/// Values below this are compared in absolute terms (see the module comment).
pub const FLOOR: f32 = 1e-2;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/keras/activations_losses"
    ))
}

pub fn meta() -> &'static Value {
    static META: OnceLock<Value> = OnceLock::new();
    META.get_or_init(|| {
        let path = fixtures_dir().join("meta.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

fn open_path(path: &Path) -> npyz::NpyFile<std::io::Cursor<Vec<u8>>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(std::io::Cursor::new(bytes))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open(relative: &str) -> npyz::NpyFile<std::io::Cursor<Vec<u8>>> {
    open_path(&fixtures_dir().join(format!("{relative}.npy")))
}

/// A float32 `.npy` file as a tensor (a 0-d array becomes shape []).
pub fn read_npy(path: &Path) -> Tensor {
    let file = open_path(path);
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let data = file
        .into_vec::<f32>()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Tensor::from_vec(shape, data).unwrap()
}

/// `<relative>.npy` of the activation and loss fixtures as a float32 tensor.
pub fn tensor(relative: &str) -> Tensor {
    read_npy(&fixtures_dir().join(format!("{relative}.npy")))
}

/// The case folders of fixtures/keras/<folder>, sorted by name.
pub fn case_dirs(folder: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/keras")
        .join(folder);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `<relative>.npy` as integer labels (stored int64).
pub fn labels(relative: &str) -> Vec<u32> {
    open(relative)
        .into_vec::<i64>()
        .unwrap_or_else(|e| panic!("{relative}.npy: {e}"))
        .into_iter()
        .map(|l| u32::try_from(l).expect("labels are small non-negative integers"))
        .collect()
}

/// Asserts `got` matches the Keras reference `want` (see the module tolerance) and returns the
/// worst error |a - b| / max(|b|, FLOOR).
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor) -> f32 {
    assert_eq!(got.shape(), want.shape(), "{what}: wrong shape");
    assert!(!got.has_non_finite(), "{what}: NaN or infinite values");
    let (mut worst, mut at) = (0.0f32, 0);
    for (i, (a, b)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        let error = (a - b).abs() / b.abs().max(FLOOR);
        if error > worst {
            (worst, at) = (error, i);
        }
    }
    assert!(
        worst <= RELATIVE_TOLERANCE,
        "{what}: relative error {worst:e} at flat index {at} (krust {}, Keras {})",
        got.to_vec()[at],
        want.to_vec()[at]
    );
    worst
}
