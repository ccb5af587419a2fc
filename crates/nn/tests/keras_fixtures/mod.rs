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

use krust_autograd::{no_grad, Var};
use krust_nn::layers::layer_from_config;
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

/// Layer case `dir` of fixtures/keras/layers (made by tools/make_keras_layer_fixtures.py):
/// the layer rebuilt from Keras's own serialized config with `layer_from_config` must
/// reproduce Keras's output (and, for a training case, its weights after the step) within a
/// relative error of 1e-5.
pub fn check_keras_layer_case(dir: &Path) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("layer.json")).unwrap()).unwrap();
    let class = spec["class_name"].as_str().unwrap();
    let mut layer =
        layer_from_config(class, &spec["config"]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let xs: Vec<Tensor> = (0..)
        .map(|i| dir.join(format!("x{i}.npy")))
        .take_while(|p| p.exists())
        .map(|p| read_npy(&p))
        .collect();
    let shapes: Vec<Vec<usize>> = xs.iter().map(|x| x.shape()[1..].to_vec()).collect();
    let out_shape = layer
        .build_multi(&shapes)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let weights = layer.weights();
    for (i, (wname, w)) in weights.iter().enumerate() {
        let keras = read_npy(&dir.join(format!("w{i}.npy")));
        w.set_value(keras)
            .unwrap_or_else(|e| panic!("{name}: weight {wname}: {e}"));
    }
    assert!(
        !dir.join(format!("w{}.npy", weights.len())).exists(),
        "{name}: Keras has more weights than krust"
    );
    let training = spec["training"].as_bool().unwrap_or(false);
    let vars: Vec<Var> = xs.iter().map(|x| Var::constant(x.clone())).collect();
    let y = no_grad(|| layer.forward_multi(&vars, training))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .value();
    if training {
        for (i, (wname, w)) in weights.iter().enumerate() {
            let want = read_npy(&dir.join(format!("w{i}_after.npy")));
            let worst = w.value().max_abs_diff(&want).unwrap();
            assert!(
                worst <= 1e-5 * (1.0 + want.to_vec().iter().fold(0.0f32, |m, v| m.max(v.abs()))),
                "{name}: {wname} after the training step, worst error {worst}"
            );
        }
    }
    let want = read_npy(&dir.join("y.npy"));
    assert_eq!(y.shape(), want.shape(), "{name}: shape");
    assert_eq!(&y.shape()[1..], &out_shape[..], "{name}: inferred shape");
    let scale = want.to_vec().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let worst = y.max_abs_diff(&want).unwrap();
    assert!(
        worst <= 1e-5 * scale,
        "{name}: worst error {worst} (scale {scale})"
    );
}

/// The Keras class of layer case `dir`.
pub fn keras_layer_case_class(dir: &Path) -> String {
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("layer.json")).unwrap()).unwrap();
    spec["class_name"].as_str().unwrap().to_string()
}

/// Checks every Keras layer case of class `class` (none when Keras has no such layer).
pub fn check_keras_layer_cases_of(class: &str) {
    for dir in case_dirs("layers") {
        if keras_layer_case_class(&dir) == class {
            check_keras_layer_case(&dir);
        }
    }
}
