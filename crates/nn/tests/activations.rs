//! Every activation of the Keras catalog against Keras 3 itself: values and derivatives on a
//! grid from -1e4 to 1e4 (fixtures/keras/activations_losses, made by
//! tools/make_keras_activation_loss_fixtures.py in float64), plus the course's worked values
//! and the stability promises of the scope (no inf/NaN for |x| up to 1e4).

mod keras_fixtures;

use keras_fixtures::{assert_close, meta, tensor};
use krust_autograd::{Tensor, Var};
use krust_nn::Activation;
use serde_json::Value;

/// krust's `Activation` for a fixture case's Keras function name and keyword arguments.
fn keras_activation(name: &str, params: &Value) -> Activation {
    let f32_param = |key: &str, default: f32| {
        params
            .get(key)
            .and_then(Value::as_f64)
            .map_or(default, |v| v as f32)
    };
    let no_params = params.as_object().is_none_or(|o| o.is_empty());
    match name {
        "relu" if !no_params => Activation::ReluWith {
            negative_slope: f32_param("negative_slope", 0.0),
            max_value: params
                .get("max_value")
                .and_then(Value::as_f64)
                .map(|v| v as f32),
            threshold: f32_param("threshold", 0.0),
        },
        "leaky_relu" => Activation::LeakyRelu {
            negative_slope: f32_param("negative_slope", 0.2),
        },
        "elu" => Activation::Elu {
            alpha: f32_param("alpha", 1.0),
        },
        "gelu" => Activation::Gelu {
            approximate: params
                .get("approximate")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        "softmax" => Activation::Softmax {
            axis: params["axis"].as_i64().unwrap() as isize,
        },
        "log_softmax" => Activation::LogSoftmax {
            axis: params["axis"].as_i64().unwrap() as isize,
        },
        other => {
            assert!(no_params, "{other}: unexpected parameters {params}");
            Activation::from_name(other).unwrap()
        }
    }
}

#[test]
fn every_activation_matches_keras_values_and_gradients() {
    let cases = meta()["activations"].as_object().unwrap();
    let mut worst = (0.0f32, String::new());
    for (case, spec) in cases {
        let activation = keras_activation(spec["activation"].as_str().unwrap(), &spec["params"]);
        let (x, dy) = match spec["grid"].as_str() {
            Some(grid) => (tensor(grid), tensor(&format!("{grid}_dy"))),
            None => (
                tensor(&format!("act_{case}/x")),
                tensor(&format!("act_{case}/dy")),
            ),
        };
        let input = Var::parameter(x);
        let y = activation.apply(&input).unwrap();
        let e_y = assert_close(
            &format!("{case} value"),
            &y.value(),
            &tensor(&format!("act_{case}/y")),
        );
        y.backward_with(dy).unwrap();
        let e_dx = assert_close(
            &format!("{case} gradient"),
            &input.grad().unwrap(),
            &tensor(&format!("act_{case}/dx")),
        );
        println!("{case}: worst relative error value {e_y:.2e}, gradient {e_dx:.2e}");
        for (e, what) in [(e_y, "value"), (e_dx, "gradient")] {
            if e > worst.0 {
                worst = (e, format!("{case} {what}"));
            }
        }
    }
    println!(
        "{} activation cases; worst: {} at {:.2e}",
        cases.len(),
        worst.1,
        worst.0
    );
    assert!(cases.len() >= 29, "every activation case is listed");
}

#[test]
fn every_keras_activation_name_is_covered_by_a_fixture() {
    let covered: Vec<&str> = meta()["activations"]
        .as_object()
        .unwrap()
        .values()
        .map(|spec| spec["activation"].as_str().unwrap())
        .collect();
    for name in [
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "softplus",
        "softsign",
        "hard_sigmoid",
        "hard_silu",
        "exponential",
        "linear",
        "sigmoid",
        "tanh",
        "softmax",
        "log_softmax",
    ] {
        assert!(covered.contains(&name), "no Keras fixture for {name}");
    }
}

fn row(values: &[f32]) -> Var {
    Var::parameter(Tensor::from_vec([values.len()], values.to_vec()).unwrap())
}

#[test]
fn course_values_sigmoid_of_minus_one_and_softmax_of_47_50_12() {
    let s = Activation::Sigmoid.apply(&row(&[-1.0])).unwrap();
    assert!((s.value().to_vec()[0] - 0.268_941_42).abs() < 1e-7);
    let p = Activation::Softmax { axis: -1 }
        .apply(&row(&[47.0, 50.0, 12.0]))
        .unwrap()
        .value()
        .to_vec();
    // e^-3/(1 + e^-3) = 0.0474259, 1/(1 + e^-3) = 0.9525741, e^-38/(1 + e^-3) = 2.99e-17
    // (the course rounds the last to "≈ 3.1e-17").
    assert!((p[0] - 0.047_425_87).abs() < 1e-7, "{p:?}");
    assert!((p[1] - 0.952_574_13).abs() < 1e-7, "{p:?}");
    assert!((p[2] / 2.990_256_7e-17 - 1.0).abs() < 1e-5, "{p:?}");
}

#[test]
fn hand_computed_values_of_each_activation() {
    let x = [-2.0f32, -0.5, 0.0, 0.5, 2.0];
    let e = std::f32::consts::E;
    let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
    let table: Vec<(Activation, Vec<f32>)> = vec![
        (Activation::Relu, vec![0.0, 0.0, 0.0, 0.5, 2.0]),
        (Activation::Relu6, vec![0.0, 0.0, 0.0, 0.5, 2.0]),
        (
            Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            vec![-0.4, -0.1, 0.0, 0.5, 2.0],
        ),
        (
            Activation::Elu { alpha: 1.0 },
            vec![1.0 / (e * e) - 1.0, (-0.5f32).exp() - 1.0, 0.0, 0.5, 2.0],
        ),
        (
            Activation::Selu,
            vec![
                1.050_701 * 1.673_263_2 * (1.0 / (e * e) - 1.0),
                1.050_701 * 1.673_263_2 * ((-0.5f32).exp() - 1.0),
                0.0,
                1.050_701 * 0.5,
                1.050_701 * 2.0,
            ],
        ),
        // x·Φ(x) with Φ(-2) = 0.0227501, Φ(-0.5) = 0.3085375.
        (
            Activation::Gelu { approximate: false },
            vec![-0.045_500_26, -0.154_268_77, 0.0, 0.345_731_23, 1.954_5],
        ),
        (
            Activation::Silu,
            x.iter().map(|&v| v * sigmoid(v)).collect(),
        ),
        (
            Activation::Softplus,
            x.iter().map(|&v| (1.0 + v.exp()).ln()).collect(),
        ),
        (
            Activation::Softsign,
            vec![-2.0 / 3.0, -1.0 / 3.0, 0.0, 1.0 / 3.0, 2.0 / 3.0],
        ),
        // relu6(x + 3) / 6.
        (
            Activation::HardSigmoid,
            vec![1.0 / 6.0, 2.5 / 6.0, 0.5, 3.5 / 6.0, 5.0 / 6.0],
        ),
        // x · relu6(x + 3) / 6.
        (
            Activation::HardSilu,
            vec![-2.0 / 6.0, -1.25 / 6.0, 0.0, 1.75 / 6.0, 10.0 / 6.0],
        ),
        (
            Activation::Exponential,
            x.iter().map(|&v| v.exp()).collect(),
        ),
        (Activation::Linear, x.to_vec()),
        (Activation::Sigmoid, x.iter().map(|&v| sigmoid(v)).collect()),
        (Activation::Tanh, x.iter().map(|&v| v.tanh()).collect()),
        // Keras's relu(x, negative_slope=0.5, max_value=1, threshold=-1): x in (-1, 0) clips
        // to 0, below -1 the slope continues from 0 at the threshold.
        (
            Activation::ReluWith {
                negative_slope: 0.5,
                max_value: Some(1.0),
                threshold: -1.0,
            },
            vec![-0.5, 0.0, 0.0, 0.5, 1.0],
        ),
    ];
    for (activation, want) in table {
        let got = activation.apply(&row(&x)).unwrap().value().to_vec();
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{activation:?}: got {got:?}, want {want:?}"
            );
        }
    }
}

#[test]
fn no_activation_overflows_or_loses_its_gradient_at_plus_minus_1e4() {
    let x = [-1e4f32, -100.0, 100.0, 1e4];
    for name in [
        "linear",
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "softplus",
        "softsign",
        "hard_sigmoid",
        "hard_silu",
        "sigmoid",
        "tanh",
        "softmax",
        "log_softmax",
    ] {
        let input = row(&x);
        let y = Activation::from_name(name).unwrap().apply(&input).unwrap();
        assert!(!y.value().has_non_finite(), "{name}: {:?}", y.value());
        y.sum().unwrap().backward().unwrap();
        let g = input.grad().unwrap();
        assert!(!g.has_non_finite(), "{name} gradient: {g:?}");
    }
    let approximate = Activation::Gelu { approximate: true }
        .apply(&row(&x))
        .unwrap();
    assert_eq!(approximate.value().to_vec(), vec![0.0, 0.0, 100.0, 1e4]);
    // The tails keep their digits: σ(-1e4) underflows to exactly 0, but σ'(20) is not 0.
    let s = row(&[20.0]);
    let y = Activation::Sigmoid.apply(&s).unwrap();
    y.sum().unwrap().backward().unwrap();
    let d = s.grad().unwrap().to_vec()[0];
    assert!((d / 2.061_153_6e-9 - 1.0).abs() < 1e-5, "σ'(20) = {d}");
}
