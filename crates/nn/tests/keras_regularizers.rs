//! Weight regularizers, constraints and initializers against Keras 3: every case in
//! fixtures/keras/regularizers (made by tools/make_keras_regularizer_fixtures.py) is rebuilt
//! from Keras's own serialized config with `layer_from_config`; its deterministic
//! initializers, its training-mode output, the sum of its penalties and its weights after the
//! constraints must match Keras within a relative error of 1e-5.

use krust_autograd::{no_grad, Var};
use krust_nn::layers::layer_from_config;
use krust_tensor::Tensor;
mod keras_fixtures;

use keras_fixtures::{case_dirs, read_npy};

/// Largest absolute difference, and the scale it is judged against (1 or the largest
/// magnitude Keras produced).
fn error_and_scale(got: &Tensor, want: &Tensor) -> (f32, f32) {
    assert_eq!(got.shape(), want.shape());
    let scale = want.to_vec().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    (got.max_abs_diff(want).unwrap(), scale)
}

#[test]
fn every_keras_regularizer_fixture_is_reproduced() {
    let dirs = case_dirs("regularizers");
    assert!(
        dirs.len() >= 11,
        "expected the Keras regularizer fixtures, found {}",
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
        let x = read_npy(&dir.join("x0.npy"));
        layer
            .build(&x.shape()[1..])
            .unwrap_or_else(|e| panic!("{name}: {e}"));

        let weights = layer.weights();
        assert!(
            !dir.join(format!("w{}.npy", weights.len())).exists(),
            "{name}: Keras has more weights than krust"
        );
        for (i, (wname, w)) in weights.iter().enumerate() {
            let init = dir.join(format!("w{i}_init.npy"));
            if init.exists() {
                let (worst, _) = error_and_scale(&w.value(), &read_npy(&init));
                assert!(
                    worst == 0.0,
                    "{name}: {wname} initializer, worst error {worst}"
                );
            }
            w.set_value(read_npy(&dir.join(format!("w{i}.npy"))))
                .unwrap_or_else(|e| panic!("{name}: weight {wname}: {e}"));
        }

        layer.clear_losses();
        let y = layer.forward(&Var::constant(x.clone()), true);
        let penalties = layer.losses();
        let y = y.unwrap_or_else(|e| panic!("{name}: {e}")).value();
        let (worst, scale) = error_and_scale(&y, &read_npy(&dir.join("y.npy")));
        assert!(
            worst <= 1e-5 * scale,
            "{name}: output, worst error {worst} (scale {scale})"
        );
        let penalty: f32 = no_grad(|| {
            penalties
                .iter()
                .map(|p| p.value().item().unwrap())
                .sum::<f32>()
        });
        let want = read_npy(&dir.join("penalty.npy")).to_vec()[0];
        assert!(
            (penalty - want).abs() <= 1e-5 * want.abs(),
            "{name}: penalty {penalty}, Keras {want}"
        );

        layer
            .apply_constraints()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        for (i, (wname, w)) in weights.iter().enumerate() {
            let want = read_npy(&dir.join(format!("w{i}_constrained.npy")));
            let (worst, scale) = error_and_scale(&w.value(), &want);
            assert!(
                worst <= 1e-5 * scale,
                "{name}: {wname} after its constraint, worst error {worst}"
            );
        }
    }
}

/// The README's hand-written loop: `model.forward(x, true)` then `model.losses()` gives the
/// kernel penalty as a value on the tape, so its gradient reaches the kernel; an inference
/// pass gives none.
#[test]
fn a_hand_written_training_loop_gets_the_penalties_from_model_losses() {
    use krust_nn::layers::{Dense, Input};
    use krust_nn::regularizers::Regularizer;
    let mut dense = Dense::new(2);
    dense
        .penalties
        .set_regularizer("kernel", Some(Regularizer::L2 { l2: 0.25 }))
        .unwrap();
    let mut model = krust_nn::Sequential::new();
    model.add(Input::new(&[3])).unwrap();
    model.add(dense).unwrap();
    let kernel = model.parameters()[0].clone();
    let x = Var::constant(Tensor::from_vec([1, 3], vec![0.0; 3]).unwrap());

    let y = model.forward(&x, true).unwrap();
    let penalties = model.losses();
    assert_eq!(penalties.len(), 1);
    let w = kernel.value().to_vec();
    let want = 0.25 * w.iter().map(|v| v * v).sum::<f32>();
    assert!((penalties[0].value().item().unwrap() - want).abs() < 1e-6);
    // With a zero input the data loss has no kernel gradient: all of it is the penalty's.
    y.sum()
        .unwrap()
        .add(&penalties[0])
        .unwrap()
        .backward()
        .unwrap();
    let grad = kernel.grad().unwrap().to_vec();
    for (g, v) in grad.iter().zip(&w) {
        assert!((g - 0.5 * v).abs() < 1e-6, "d/dw of 0.25·w² is 0.5·w");
    }

    model.forward(&x, false).unwrap();
    assert!(model.losses().is_empty(), "inference records no penalty");
}
