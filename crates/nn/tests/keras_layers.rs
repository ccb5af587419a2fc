//! Layers against Keras 3: every case in fixtures/keras/layers (made by
//! tools/make_keras_layer_fixtures.py) is rebuilt from Keras's own serialized config with
//! `layer_from_config` and must reproduce Keras's output within a relative error of 1e-5.

use krust_autograd::{no_grad, Var};
use krust_nn::layers::layer_from_config;
use krust_tensor::Tensor;
mod keras_fixtures;

use keras_fixtures::{case_dirs, read_npy};

#[test]
fn every_keras_layer_fixture_is_reproduced() {
    let dirs = case_dirs("layers");
    assert!(
        dirs.len() >= 80,
        "expected the Keras layer fixtures, found {}",
        dirs.len()
    );
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let spec: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("layer.json")).unwrap())
                .unwrap();
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
                    worst
                        <= 1e-5 * (1.0 + want.to_vec().iter().fold(0.0f32, |m, v| m.max(v.abs()))),
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
}
