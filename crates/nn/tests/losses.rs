//! Every loss of the Keras catalog three ways: against Keras 3 itself (per-sample values, the
//! reduced loss and its gradient w.r.t. the predictions, from
//! fixtures/keras/activations_losses, made by tools/make_keras_activation_loss_fixtures.py),
//! against finite differences, and against values worked out by hand (the Keras docstring
//! examples and the course's multiclass hinge and cross-entropy examples).

mod keras_fixtures;

use keras_fixtures::{assert_close, labels, meta, tensor};
use krust_autograd::gradcheck::GradCheck;
use krust_autograd::{Tensor, Var};
use krust_nn::losses::*;
use serde_json::Value;

/// krust's loss for a fixture case's Keras class and constructor arguments.
fn keras_loss(class: &str, params: &Value) -> Box<dyn Loss> {
    let flag = |key: &str| params.get(key).and_then(Value::as_bool).unwrap_or(false);
    let number = |key: &str, default: f32| {
        params
            .get(key)
            .and_then(Value::as_f64)
            .map_or(default, |v| v as f32)
    };
    match class {
        "BinaryCrossentropy" => Box::new(BinaryCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: number("label_smoothing", 0.0),
        }),
        "CategoricalCrossentropy" => Box::new(CategoricalCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: number("label_smoothing", 0.0),
        }),
        "SparseCategoricalCrossentropy" => Box::new(SparseCategoricalCrossentropy {
            from_logits: flag("from_logits"),
        }),
        "MeanSquaredError" => Box::new(MeanSquaredError),
        "MeanAbsoluteError" => Box::new(MeanAbsoluteError),
        "MeanAbsolutePercentageError" => Box::new(MeanAbsolutePercentageError),
        "MeanSquaredLogarithmicError" => Box::new(MeanSquaredLogarithmicError),
        "Huber" => Box::new(Huber {
            delta: number("delta", 1.0),
        }),
        "LogCosh" => Box::new(LogCosh),
        "Hinge" => Box::new(Hinge),
        "SquaredHinge" => Box::new(SquaredHinge),
        "CategoricalHinge" => Box::new(CategoricalHinge),
        "KLDivergence" => Box::new(KLDivergence),
        "Poisson" => Box::new(Poisson),
        "CosineSimilarity" => Box::new(CosineSimilarity { axis: -1 }),
        other => panic!("no krust loss for Keras's {other}"),
    }
}

/// A fixture case's loss, predictions and targets.
struct Case {
    name: String,
    loss: Box<dyn Loss>,
    y_pred: Tensor,
    y_true: Option<Tensor>,
    labels: Vec<u32>,
    dtype: String,
}

impl Case {
    fn targets(&self) -> Targets<'_> {
        match &self.y_true {
            Some(y) => Targets::Dense(y),
            None => Targets::Sparse(&self.labels),
        }
    }

    fn array(&self, name: &str) -> Tensor {
        tensor(&format!("loss_{}/{name}", self.name))
    }
}

fn cases() -> Vec<Case> {
    meta()["losses"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, spec)| {
            let dense = spec["targets"] == "dense";
            Case {
                name: name.clone(),
                loss: keras_loss(spec["loss"].as_str().unwrap(), &spec["params"]),
                y_pred: tensor(&format!("loss_{name}/y_pred")),
                y_true: dense.then(|| tensor(&format!("loss_{name}/y_true"))),
                labels: if dense {
                    Vec::new()
                } else {
                    labels(&format!("loss_{name}/labels"))
                },
                dtype: spec["dtype"].as_str().unwrap().to_string(),
            }
        })
        .collect()
}

#[test]
fn every_loss_matches_keras_per_sample_values_mean_and_gradient() {
    let all = cases();
    let mut worst = (0.0f32, String::new());
    for case in &all {
        let name = &case.name;
        let y_pred = Var::parameter(case.y_pred.clone());
        let per_sample = case.loss.per_sample(&y_pred, &case.targets()).unwrap();
        let e_per = assert_close(
            &format!("{name} per-sample"),
            &per_sample.value(),
            &case.array("per_sample"),
        );
        let loss = case.loss.compute(&y_pred, &case.targets()).unwrap();
        let e_loss = assert_close(&format!("{name} loss"), &loss.value(), &case.array("loss"));
        loss.backward().unwrap();
        let e_grad = assert_close(
            &format!("{name} gradient"),
            &y_pred.grad().unwrap(),
            &case.array("grad"),
        );
        println!(
            "{name} ({}): worst relative error per-sample {e_per:.2e}, loss {e_loss:.2e}, gradient {e_grad:.2e}",
            case.dtype
        );
        for (e, what) in [
            (e_per, "per-sample"),
            (e_loss, "loss"),
            (e_grad, "gradient"),
        ] {
            if e > worst.0 {
                worst = (e, format!("{name} {what}"));
            }
        }
    }
    println!(
        "{} loss cases; worst: {} at {:.2e}",
        all.len(),
        worst.1,
        worst.0
    );
}

#[test]
fn every_keras_loss_class_is_covered_by_a_fixture() {
    let covered: Vec<&str> = meta()["losses"]
        .as_object()
        .unwrap()
        .values()
        .map(|spec| spec["loss"].as_str().unwrap())
        .collect();
    for class in [
        "BinaryCrossentropy",
        "CategoricalCrossentropy",
        "SparseCategoricalCrossentropy",
        "MeanSquaredError",
        "MeanAbsoluteError",
        "MeanAbsolutePercentageError",
        "MeanSquaredLogarithmicError",
        "Huber",
        "LogCosh",
        "Hinge",
        "SquaredHinge",
        "CategoricalHinge",
        "KLDivergence",
        "Poisson",
        "CosineSimilarity",
    ] {
        assert!(covered.contains(&class), "no Keras fixture for {class}");
    }
}

#[test]
fn every_loss_gradient_matches_finite_differences() {
    // Float32 central differences with a step of 1e-3: small enough for the curvature of
    // ln p at p = 0.02, large enough that rounding stays well under the tolerance.
    let check = GradCheck {
        eps: 1e-3,
        atol: 1e-3,
        rtol: 1e-2,
        max_elements: 64,
    };
    for mut case in cases() {
        // Saturated cases sit on the clip bounds, where the loss has a kink.
        if case.name.ends_with("_saturated") {
            continue;
        }
        // Three fixtures hold, on purpose, values a finite-difference step cannot straddle;
        // they move out of the way here (the Keras comparison above keeps them).
        match case.name.as_str() {
            // 2e-4 and 1e-3 lie within a step of the max(p, 1e-7) kink.
            "mean_squared_logarithmic_error" => {
                case.y_pred = on_host(&case.y_pred, |p| if p.abs() < 0.01 { 0.05 } else { p })
            }
            // 0.99953 lies within a step of the clip at 1 - 1e-7.
            "sparse_categorical_crossentropy" => {
                case.y_pred = on_host(&case.y_pred, |p| p.min(0.99))
            }
            // y = 0 divides by 1e-7: a loss of 1e8 whose float32 steps swamp the other terms.
            "mean_absolute_percentage_error" => {
                case.y_true = case
                    .y_true
                    .map(|y| on_host(&y, |v| if v == 0.0 { 1.0 } else { v }))
            }
            _ => {}
        }
        check
            .run(std::slice::from_ref(&case.y_pred), |v| {
                Ok(case.loss.compute(&v[0], &case.targets()).unwrap())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    }
    // The course's multiclass hinge is not in Keras: checked here on random scores.
    let scores = Tensor::from_vec(
        [3, 4],
        vec![
            0.3, -1.2, 2.05, 0.75, 1.45, 0.15, -0.35, 2.5, -0.9, 0.55, 1.15, -2.1,
        ],
    )
    .unwrap();
    check
        .run(&[scores], |v| {
            Ok(MulticlassHinge::default()
                .compute(&v[0], &Targets::Sparse(&[0, 3, 1]))
                .unwrap())
        })
        .unwrap();
}

fn t(rows: &[&[f32]]) -> Tensor {
    let cols = rows[0].len();
    let data = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_vec([rows.len(), cols], data).unwrap()
}

/// Per-sample values and the mean of `loss` on (y_true, y_pred), checked to 1e-6 relative.
fn assert_per_sample(loss: &dyn Loss, y_true: Tensor, y_pred: Tensor, want: &[f32]) {
    let p = Var::parameter(y_pred);
    let got = loss
        .per_sample(&p, &Targets::Dense(&y_true))
        .unwrap()
        .value()
        .to_vec();
    let close = |a: f32, b: f32| (a - b).abs() <= 1e-6 * b.abs().max(1.0);
    assert!(
        got.iter().zip(want).all(|(&a, &b)| close(a, b)),
        "{}: got {got:?}, want {want:?}",
        loss.name()
    );
    let mean = loss
        .compute(&p, &Targets::Dense(&y_true))
        .unwrap()
        .value()
        .item()
        .unwrap();
    let want_mean = want.iter().sum::<f32>() / want.len() as f32;
    assert!(close(mean, want_mean), "{}: mean {mean}", loss.name());
}

// The docstring examples of keras.losses (Keras 3.15), re-derived by hand.

#[test]
fn binary_crossentropy_by_hand() {
    // -(ln 0.4 + ln 0.4)/2 = 0.916291 and -(ln 0.6 + ln 0.4)/2 = 0.713558.
    assert_per_sample(
        &BinaryCrossentropy::default(),
        t(&[&[0., 1.], &[0., 0.]]),
        t(&[&[0.6, 0.4], &[0.4, 0.6]]),
        &[0.916_291, 0.713_558],
    );
    // From logits: mean of softplus(x) - x·y = (softplus(-0.51) + softplus(2.94) + ...)/4.
    assert_per_sample(
        &BinaryCrossentropy {
            from_logits: true,
            label_smoothing: 0.0,
        },
        t(&[&[0., 1., 0., 0.]]),
        t(&[&[-18.6, 0.51, 2.94, -12.8]]),
        &[0.865_458],
    );
    // Smoothing 0.2 turns labels (1, 0) into (0.9, 0.1): -(0.9 ln 0.9 + 0.1 ln 0.1) = 0.325083
    // for both samples.
    assert_per_sample(
        &BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.2,
        },
        t(&[&[1.], &[0.]]),
        t(&[&[0.9], &[0.1]]),
        &[0.325_083, 0.325_083],
    );
}

#[test]
fn categorical_and_sparse_crossentropy_by_hand() {
    // -ln 0.95 = 0.051293 and -ln 0.1 = ln 10 = 2.302585.
    let y_pred = t(&[&[0.05, 0.95, 0.0], &[0.1, 0.8, 0.1]]);
    let want = [0.051_293, std::f32::consts::LN_10];
    assert_per_sample(
        &CategoricalCrossentropy::default(),
        t(&[&[0., 1., 0.], &[0., 0., 1.]]),
        y_pred.clone(),
        &want,
    );
    let p = Var::constant(y_pred);
    let sparse = SparseCategoricalCrossentropy::default()
        .per_sample(&p, &Targets::Sparse(&[1, 2]))
        .unwrap()
        .value()
        .to_vec();
    // The sparse path renormalizes after clipping: 0.0 → 1e-7 adds 1e-7 to the first row's sum.
    assert!((sparse[0] - want[0]).abs() < 2e-6 && (sparse[1] - want[1]).abs() < 1e-6);
    // Smoothing 0.1 over 3 classes: labels (1/30, 0.9 + 1/30, 1/30) against (0.05, 0.95, 1e-7).
    assert_per_sample(
        &CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.1,
        },
        t(&[&[0., 1., 0.]]),
        t(&[&[0.05, 0.95, 0.0]]),
        &[0.685_001],
    );
}

#[test]
fn regression_losses_by_hand() {
    let y_true = t(&[&[0., 1.], &[0., 0.]]);
    let y_pred = t(&[&[1., 1.], &[1., 0.]]);
    assert_per_sample(
        &MeanSquaredError,
        y_true.clone(),
        y_pred.clone(),
        &[0.5, 0.5],
    );
    assert_per_sample(
        &MeanAbsoluteError,
        y_true.clone(),
        y_pred.clone(),
        &[0.5, 0.5],
    );
    // (ln 2 - ln(1 + 1e-7))² / 2 = 0.240226 for both rows.
    assert_per_sample(
        &MeanSquaredLogarithmicError,
        y_true.clone(),
        y_pred.clone(),
        &[0.240_226, 0.240_226],
    );
    // ln cosh(1) / 2 = 0.216890, and 0.
    assert_per_sample(
        &LogCosh,
        y_true.clone(),
        t(&[&[1., 1.], &[0., 0.]]),
        &[0.216_890, 0.0],
    );
    // (1 - 0·ln(1+ε) + 1 - 1·ln(1 + ε)) / 2 = 1, and 0.
    assert_per_sample(&Poisson, y_true, t(&[&[1., 1.], &[0., 0.]]), &[1.0, 0.0]);
    // 100 · mean(|2 - 1|/2, |4 - 5|/4) = 37.5; y = 0 divides by ε: |1e-7| / 1e-7 = 1 → 50.
    assert_per_sample(
        &MeanAbsolutePercentageError,
        t(&[&[2., 4.], &[0., 1.]]),
        t(&[&[1., 5.], &[1e-7, 1.]]),
        &[37.5, 50.0],
    );
    // Errors (0.6, -0.6) and (0.4, 0.6): ½e² each, [0.18, 0.13]; an error of 3 is linear:
    // 1·3 - ½ = 2.5, and with delta 0.5: 0.5·3 - 0.125 = 1.375.
    assert_per_sample(
        &Huber::default(),
        t(&[&[0., 1.], &[0., 0.]]),
        t(&[&[0.6, 0.4], &[0.4, 0.6]]),
        &[0.18, 0.13],
    );
    assert_per_sample(&Huber::default(), t(&[&[0.]]), t(&[&[3.]]), &[2.5]);
    assert_per_sample(&Huber { delta: 0.5 }, t(&[&[0.]]), t(&[&[3.]]), &[1.375]);
}

#[test]
fn margin_distribution_and_direction_losses_by_hand() {
    let y_true = t(&[&[0., 1.], &[0., 0.]]);
    let y_pred = t(&[&[0.6, 0.4], &[0.4, 0.6]]);
    // Labels 0/1 become -1/1: (1.6 + 0.6)/2 = 1.1 and (1.4 + 1.6)/2 = 1.5.
    assert_per_sample(&Hinge, y_true.clone(), y_pred.clone(), &[1.1, 1.5]);
    assert_per_sample(&SquaredHinge, y_true.clone(), y_pred.clone(), &[1.46, 2.26]);
    // pos = Σ y·p, neg = max((1 - y)·p): 0.6 - 0.4 + 1 = 1.2 and 0.6 - 0 + 1 = 1.6.
    assert_per_sample(
        &CategoricalHinge,
        y_true.clone(),
        y_pred.clone(),
        &[1.2, 1.6],
    );
    // 1e-7·ln(1e-7/0.6) + ln(1/0.4) = 0.916289, and two clipped 1e-7 terms = -3.08e-6.
    assert_per_sample(&KLDivergence, y_true, y_pred, &[0.916_289, -3.080_9e-6]);
    // Orthogonal vectors give 0, parallel ones -1.
    assert_per_sample(
        &CosineSimilarity::default(),
        t(&[&[0., 1.], &[1., 1.]]),
        t(&[&[1., 0.], &[1., 1.]]),
        &[0.0, -1.0],
    );
}

#[test]
fn hinge_leaves_labels_alone_unless_every_label_is_0_or_1() {
    // Labels already ±1 are used as given: max(1 - 1·0.5, 0) = 0.5, max(1 + 0.5, 0) = 1.5.
    assert_per_sample(&Hinge, t(&[&[1., -1.]]), t(&[&[0.5, 0.5]]), &[1.0]);
    // A 0.5 among the labels stops the 0/1 → ±1 conversion for the whole tensor: the 0 label
    // stays 0, so its term is max(1 - 0, 0) = 1.
    assert_per_sample(
        &Hinge,
        t(&[&[0., 0.5]]),
        t(&[&[2.0, 2.0]]),
        &[(1.0 + 0.0) / 2.0],
    );
}

#[test]
fn course_scores_multiclass_hinge_is_0_12_0() {
    // Scores [5,-3,2], [5,10,10], [5,-20,-20], true class 0:
    // max(0, -3-5+1) + max(0, 2-5+1) = 0; (10-5+1)·2 = 12; 0.
    let scores = Var::parameter(t(&[&[5., -3., 2.], &[5., 10., 10.], &[5., -20., -20.]]));
    let per = MulticlassHinge::default()
        .per_sample(&scores, &Targets::Sparse(&[0, 0, 0]))
        .unwrap();
    assert_eq!(per.value().to_vec(), vec![0.0, 12.0, 0.0]);
    // Its gradient: each violating class gets +1, the true class -1 per violation.
    let mean = MulticlassHinge::default()
        .compute(&scores, &Targets::Sparse(&[0, 0, 0]))
        .unwrap();
    mean.backward().unwrap();
    let g: Vec<f32> = scores.grad().unwrap().to_vec();
    let third = 1.0 / 3.0;
    assert_eq!(
        g,
        vec![0.0, 0.0, 0.0, -2.0 * third, third, third, 0.0, 0.0, 0.0]
    );
}

#[test]
fn course_scores_cross_entropy_from_logits_is_005_570_and_2e_11() {
    // ln(1 + e^-8 + e^-3) = 0.048907, 5 + ln(2 + e^-5) = 5.696510, ln(1 + 2e^-25) = 2.78e-11;
    // the last survives float32 only because log-softmax adds the max's own term via ln_1p.
    let scores = Var::constant(t(&[&[5., -3., 2.], &[5., 10., 10.], &[5., -20., -20.]]));
    let want = [0.048_906_85, 5.696_510_5, 2.777_588_8e-11];
    let sparse = SparseCategoricalCrossentropy { from_logits: true }
        .per_sample(&scores, &Targets::Sparse(&[0, 0, 0]))
        .unwrap()
        .value()
        .to_vec();
    let one_hot = t(&[&[1., 0., 0.], &[1., 0., 0.], &[1., 0., 0.]]);
    let dense = CategoricalCrossentropy {
        from_logits: true,
        label_smoothing: 0.0,
    }
    .per_sample(&scores, &Targets::Dense(&one_hot))
    .unwrap()
    .value()
    .to_vec();
    for got in [sparse, dense] {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-5 * w, "got {got:?}, want {want:?}");
        }
    }
}

#[test]
fn reductions_sum_over_batch_size_sum_and_none() {
    // A (2, 3, 2) output: 6 per-sample values, and the default divides their sum by 6.
    let y_pred = Tensor::from_vec([2, 3, 2], (0..12).map(|i| i as f32 * 0.5).collect()).unwrap();
    let y_true = Tensor::zeros([2, 3, 2]);
    let p = Var::constant(y_pred);
    let targets = Targets::Dense(&y_true);
    let none = MeanSquaredError
        .with_reduction(Reduction::None)
        .compute(&p, &targets)
        .unwrap();
    assert_eq!(none.shape(), vec![2, 3]);
    let values = none.value().to_vec();
    // Row k holds 0.5·(2k) and 0.5·(2k + 1): mean of squares (k² + (k + 0.5)²) / 2.
    for (k, v) in values.iter().enumerate() {
        let (a, b) = (k as f32, k as f32 + 0.5);
        assert!((v - (a * a + b * b) / 2.0).abs() < 1e-5);
    }
    let total: f32 = values.iter().sum();
    let sum = MeanSquaredError
        .with_reduction(Reduction::Sum)
        .compute(&p, &targets)
        .unwrap()
        .value()
        .item()
        .unwrap();
    let mean = MeanSquaredError
        .compute(&p, &targets)
        .unwrap()
        .value()
        .item()
        .unwrap();
    assert!((sum - total).abs() < 1e-4 && (mean - total / 6.0).abs() < 1e-5);
    assert_eq!(
        MeanSquaredError
            .with_reduction(Reduction::SumOverBatchSize)
            .compute(&p, &targets)
            .unwrap()
            .value()
            .item()
            .unwrap(),
        mean
    );
}

#[test]
fn fused_sparse_cross_entropy_agrees_with_its_per_sample_path() {
    let logits = t(&[
        &[1.0, -2.0, 0.5, 3.0],
        &[0.0, 0.0, 0.0, 0.0],
        &[-1.0, 4.0, 2.0, 0.5],
    ]);
    let labels = [3, 1, 0];
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let fused_in = Var::parameter(logits.clone());
    let fused = loss.compute(&fused_in, &Targets::Sparse(&labels)).unwrap();
    fused.backward().unwrap();
    let plain_in = Var::parameter(logits);
    let plain = loss
        .per_sample(&plain_in, &Targets::Sparse(&labels))
        .unwrap()
        .mean()
        .unwrap();
    plain.backward().unwrap();
    let (a, b) = (fused.value().item().unwrap(), plain.value().item().unwrap());
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    let diff = fused_in
        .grad()
        .unwrap()
        .max_abs_diff(&plain_in.grad().unwrap())
        .unwrap();
    assert!(diff < 1e-6, "{diff}");
    // Sum reduction goes through the per-sample path: three times the mean.
    let sum = loss
        .with_reduction(Reduction::Sum)
        .compute(&Var::constant(fused_in.value()), &Targets::Sparse(&labels))
        .unwrap();
    assert!((sum.value().item().unwrap() - 3.0 * a).abs() < 1e-5);
}

#[test]
fn probabilities_of_exactly_0_and_1_give_finite_losses_and_gradients() {
    // Clipping at 1e-7: -ln(1e-7) = 16.118095 for the missed class.
    let p = Var::parameter(t(&[&[0.0, 1.0]]));
    let l = SparseCategoricalCrossentropy::default()
        .compute(&p, &Targets::Sparse(&[0]))
        .unwrap();
    assert!((l.value().item().unwrap() - 16.118_095).abs() < 1e-3);
    let y = t(&[&[1.0, 0.0]]);
    let losses: Vec<Box<dyn Loss>> = vec![
        Box::new(BinaryCrossentropy::default()),
        Box::new(CategoricalCrossentropy::default()),
        Box::new(KLDivergence),
        Box::new(Poisson),
        Box::new(MeanSquaredLogarithmicError),
        Box::new(CosineSimilarity::default()),
    ];
    for loss in losses {
        let p = Var::parameter(t(&[&[0.0, 1.0]]));
        let l = loss.compute(&p, &Targets::Dense(&y)).unwrap();
        assert!(l.value().item().unwrap().is_finite(), "{}", loss.name());
        l.backward().unwrap();
        assert!(!p.grad().unwrap().has_non_finite(), "{}", loss.name());
    }
    // A zero prediction vector has cosine similarity 0 and a finite gradient (Keras's is NaN).
    let zero = Var::parameter(t(&[&[0.0, 0.0]]));
    let l = CosineSimilarity::default()
        .compute(&zero, &Targets::Dense(&y))
        .unwrap();
    assert_eq!(l.value().item().unwrap(), 0.0);
    l.backward().unwrap();
    assert!(!zero.grad().unwrap().has_non_finite());
}

#[test]
fn logits_of_plus_minus_1e4_give_finite_losses_and_gradients() {
    let logits = t(&[&[1e4, -1e4, 0.0]]);
    let y = t(&[&[0.0, 1.0, 0.0]]);
    let losses: Vec<Box<dyn Loss>> = vec![
        Box::new(BinaryCrossentropy {
            from_logits: true,
            label_smoothing: 0.1,
        }),
        Box::new(CategoricalCrossentropy {
            from_logits: true,
            label_smoothing: 0.1,
        }),
        Box::new(LogCosh),
        Box::new(Huber::default()),
    ];
    for loss in losses {
        let p = Var::parameter(logits.clone());
        let l = loss.compute(&p, &Targets::Dense(&y)).unwrap();
        assert!(l.value().item().unwrap().is_finite(), "{}", loss.name());
        l.backward().unwrap();
        assert!(!p.grad().unwrap().has_non_finite(), "{}", loss.name());
    }
    let p = Var::parameter(logits);
    let l = SparseCategoricalCrossentropy { from_logits: true }
        .compute(&p, &Targets::Sparse(&[1]))
        .unwrap();
    assert_eq!(l.value().item().unwrap(), 2e4);
    l.backward().unwrap();
    assert!(!p.grad().unwrap().has_non_finite());
}

#[test]
fn binary_crossentropy_from_logits_has_gradient_sigmoid_minus_label_at_zero() {
    // A zero-initialized output layer starts at logits exactly 0: d/dx = σ(0) - y = 0.5 - y.
    let p = Var::parameter(t(&[&[0.0, 0.0]]));
    BinaryCrossentropy {
        from_logits: true,
        label_smoothing: 0.0,
    }
    .compute(&p, &Targets::Dense(&t(&[&[1.0, 0.0]])))
    .unwrap()
    .backward()
    .unwrap();
    assert_eq!(p.grad().unwrap().to_vec(), vec![-0.25, 0.25]);
}

#[test]
fn course_three_sample_categorical_cross_entropy_is_0_436() {
    // Three samples whose true classes get probabilities 0.9, 0.6 and 0.5:
    // (-ln 0.9 - ln 0.6 - ln 0.5) / 3 = (0.1054 + 0.5108 + 0.6931) / 3 = 0.4364.
    let y_pred = Var::constant(t(&[&[0.9, 0.05, 0.05], &[0.1, 0.6, 0.3], &[0.2, 0.3, 0.5]]));
    let y_true = t(&[&[1., 0., 0.], &[0., 1., 0.], &[0., 0., 1.]]);
    let loss = CategoricalCrossentropy {
        from_logits: false,
        label_smoothing: 0.0,
    }
    .compute(&y_pred, &Targets::Dense(&y_true))
    .unwrap()
    .value()
    .item()
    .unwrap();
    assert!((loss - 0.436).abs() < 5e-4, "{loss}");
    let sparse = SparseCategoricalCrossentropy { from_logits: false }
        .compute(&y_pred, &Targets::Sparse(&[0, 1, 2]))
        .unwrap()
        .value()
        .item()
        .unwrap();
    assert!((sparse - loss).abs() < 1e-6);
}

/// `f` applied to a copy of `t`'s values on the host (test inputs only).
fn on_host(t: &Tensor, f: impl Fn(f32) -> f32) -> Tensor {
    Tensor::from_vec(t.shape().to_vec(), t.to_vec().into_iter().map(f).collect()).unwrap()
}
