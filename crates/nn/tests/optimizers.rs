//! Optimizers and learning-rate schedules against Keras 3: every case of
//! `fixtures/keras/optimizers/` (made by `tools/make_keras_optimizer_fixtures.py`, Keras 3.15.1
//! on TensorFlow 2.21) replayed through krust, built both from Keras's own `get_config()` and
//! from krust's constructors; exact resume from exported state; config round trips; and the
//! errors for bad arguments, configs and states.

use krust_autograd::Var;
use krust_nn::optimizers::{
    self, from_config, Adagrad, AdagradConfig, Adam, AdamConfig, AdamW, AdamWConfig, Nadam,
    NadamConfig, Optimizer, OptimizerState, RMSprop, RMSpropConfig, Sgd, SgdConfig,
};
use krust_nn::schedules::{
    self, CosineDecay, CosineDecayRestarts, ExponentialDecay, InverseTimeDecay,
    LearningRateSchedule, PiecewiseConstantDecay, PolynomialDecay,
};
use krust_tensor::Tensor;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Relative error with a floor, so values near zero are compared absolutely at 1e-3 · 1e-5.
const TOLERANCE: f64 = 1e-5;
const FLOOR: f64 = 1e-3;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../../fixtures/keras/optimizers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn flatten(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        x => out.push(x.as_f64().expect("a number") as f32),
    }
}

fn shape_of(v: &Value) -> Vec<usize> {
    match v {
        Value::Array(items) => {
            let mut shape = vec![items.len()];
            if let Some(first) = items.first() {
                shape.extend(shape_of(first));
            }
            shape
        }
        _ => vec![],
    }
}

fn tensor(v: &Value) -> Tensor {
    let mut data = Vec::new();
    flatten(v, &mut data);
    Tensor::from_vec(shape_of(v), data).unwrap()
}

fn relative_error(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(&g, &w)| (g as f64 - w as f64).abs() / (w as f64).abs().max(FLOOR))
        .fold(0.0, f64::max)
}

/// krust's own construction of every fixture case: the same arguments the Python script
/// passes to Keras.
fn krust_optimizer(case: &str) -> Box<dyn Optimizer> {
    let lr = |x: f32| x.into();
    let built: krust_nn::Result<Box<dyn Optimizer>> = (|| {
        Ok(match case {
            "sgd" => Box::new(Sgd::new(0.1, 0.0, false)?) as Box<dyn Optimizer>,
            "sgd_momentum" => Box::new(Sgd::new(0.1, 0.9, false)?),
            "sgd_nesterov" => Box::new(Sgd::new(0.1, 0.9, true)?),
            "sgd_weight_decay" => Box::new(Sgd::with_config(SgdConfig {
                learning_rate: lr(0.1),
                momentum: 0.5,
                weight_decay: Some(0.1),
                ..Default::default()
            })?),
            "sgd_clipvalue" => Box::new(Sgd::with_config(SgdConfig {
                learning_rate: lr(0.1),
                clipvalue: Some(0.5),
                ..Default::default()
            })?),
            "sgd_cosine_warmup" => Box::new(Sgd::with_config(SgdConfig {
                learning_rate: CosineDecay::new(0.0, 4)?.with_warmup(0.2, 2)?.into(),
                momentum: 0.9,
                ..Default::default()
            })?),
            "adam" => Box::new(Adam::new(0.1)?),
            "adam_defaults" => Box::new(Adam::with_config(AdamConfig::default())?),
            "adam_amsgrad" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.1),
                beta_2: 0.5,
                amsgrad: true,
                ..Default::default()
            })?),
            "adam_custom" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.05),
                beta_1: 0.8,
                beta_2: 0.99,
                epsilon: 1e-3,
                ..Default::default()
            })?),
            "adam_clipnorm" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.1),
                clipnorm: Some(1.0),
                ..Default::default()
            })?),
            "adam_global_clipnorm" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.1),
                global_clipnorm: Some(1.0),
                ..Default::default()
            })?),
            "adam_weight_decay" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.1),
                weight_decay: Some(0.05),
                ..Default::default()
            })?),
            "adam_exponential_decay" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: ExponentialDecay::new(0.1, 2, 0.5)?.into(),
                ..Default::default()
            })?),
            "adam_missing_gradient" => Box::new(Adam::with_config(AdamConfig {
                learning_rate: lr(0.1),
                global_clipnorm: Some(2.0),
                ..Default::default()
            })?),
            "adamw" => Box::new(AdamW::new(0.1)?),
            "adamw_amsgrad" => Box::new(AdamW::with_config(AdamWConfig {
                learning_rate: lr(0.1),
                weight_decay: 0.1,
                beta_2: 0.5,
                amsgrad: true,
                ..Default::default()
            })?),
            "adamw_piecewise" => Box::new(AdamW::with_config(AdamWConfig {
                learning_rate: PiecewiseConstantDecay::new(vec![1, 3], vec![0.1, 0.05, 0.01])?
                    .into(),
                weight_decay: 0.2,
                ..Default::default()
            })?),
            "rmsprop" => Box::new(RMSprop::new(0.01)?),
            "rmsprop_momentum" => Box::new(RMSprop::with_config(RMSpropConfig {
                learning_rate: lr(0.01),
                momentum: 0.9,
                ..Default::default()
            })?),
            "rmsprop_centered" => Box::new(RMSprop::with_config(RMSpropConfig {
                learning_rate: lr(0.01),
                centered: true,
                ..Default::default()
            })?),
            "rmsprop_centered_momentum" => Box::new(RMSprop::with_config(RMSpropConfig {
                learning_rate: lr(0.01),
                rho: 0.8,
                momentum: 0.5,
                epsilon: 1e-3,
                centered: true,
                clipnorm: Some(1.5),
                ..Default::default()
            })?),
            "rmsprop_weight_decay" => Box::new(RMSprop::with_config(RMSpropConfig {
                learning_rate: lr(0.01),
                weight_decay: Some(0.3),
                ..Default::default()
            })?),
            "adagrad" => Box::new(Adagrad::new(0.1)?),
            "adagrad_custom" => Box::new(Adagrad::with_config(AdagradConfig {
                learning_rate: lr(0.1),
                initial_accumulator_value: 0.5,
                epsilon: 1e-3,
                clipvalue: Some(0.3),
                ..Default::default()
            })?),
            "adagrad_weight_decay" => Box::new(Adagrad::with_config(AdagradConfig {
                learning_rate: lr(0.1),
                weight_decay: Some(0.1),
                global_clipnorm: Some(1.0),
                ..Default::default()
            })?),
            "nadam" => Box::new(Nadam::new(0.1)?),
            "nadam_custom" => Box::new(Nadam::with_config(NadamConfig {
                learning_rate: lr(0.05),
                beta_1: 0.8,
                beta_2: 0.99,
                weight_decay: Some(0.05),
                global_clipnorm: Some(2.0),
                ..Default::default()
            })?),
            "nadam_clipnorm_missing_gradient" => Box::new(Nadam::with_config(NadamConfig {
                learning_rate: lr(0.1),
                clipnorm: Some(1.0),
                ..Default::default()
            })?),
            other => panic!("fixture case {other} has no krust construction in this test"),
        })
    })();
    built.unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// One fixture case ready to replay.
struct Case {
    name: String,
    keras_class: String,
    keras_config: Value,
    missing: Vec<(usize, usize)>,
    steps: Vec<Vec<Vec<f32>>>,
    state: BTreeMap<String, Vec<f32>>,
    iterations: u64,
}

struct OptimizerFixture {
    initial: Vec<Tensor>,
    gradients: Vec<Vec<Tensor>>,
    cases: Vec<Case>,
}

fn optimizer_fixture() -> OptimizerFixture {
    let f = fixture("optimizers.json");
    let initial = f["initial"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    let gradients = f["gradients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step.as_array().unwrap().iter().map(tensor).collect())
        .collect();
    let cases = f["cases"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, c)| Case {
            name: name.clone(),
            keras_class: c["keras_class"].as_str().unwrap().to_string(),
            keras_config: c["keras_config"].clone(),
            missing: c["missing"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_u64().unwrap() as usize,
                        p[1].as_u64().unwrap() as usize,
                    )
                })
                .collect(),
            steps: c["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|vars| {
                    vars.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| tensor(v).to_vec())
                        .collect()
                })
                .collect(),
            state: c["state"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), tensor(v).to_vec()))
                .collect(),
            iterations: c["iterations"].as_u64().unwrap(),
        })
        .collect();
    OptimizerFixture {
        initial,
        gradients,
        cases,
    }
}

impl OptimizerFixture {
    fn fresh_parameters(&self) -> Vec<Var> {
        self.initial.iter().cloned().map(Var::parameter).collect()
    }

    /// Makes each parameter's gradient exactly the fixture's, by backward of sum(w ⊙ g), and
    /// leaves the missing ones without a gradient.
    fn set_gradients(&self, params: &[Var], case: &Case, step: usize) {
        for (i, p) in params.iter().enumerate() {
            p.zero_grad();
            if case.missing.contains(&(step, i)) {
                continue;
            }
            let g = Var::constant(self.gradients[step][i].clone());
            p.mul(&g).unwrap().sum().unwrap().backward().unwrap();
        }
    }

    /// Runs steps `range` of `case`, returning the worst relative error against Keras.
    fn replay(
        &self,
        optimizer: &mut dyn Optimizer,
        params: &[Var],
        case: &Case,
        range: std::ops::Range<usize>,
    ) -> f64 {
        let mut worst: f64 = 0.0;
        for step in range {
            self.set_gradients(params, case, step);
            optimizer.step(params).unwrap();
            for (i, p) in params.iter().enumerate() {
                let err = relative_error(&p.value().to_vec(), &case.steps[step][i]);
                assert!(
                    err <= TOLERANCE,
                    "{}: step {step} parameter {i}: relative error {err:.2e}\n krust {:?}\n keras {:?}",
                    case.name,
                    p.value().to_vec(),
                    case.steps[step][i]
                );
                worst = worst.max(err);
            }
        }
        worst
    }
}

#[test]
fn every_optimizer_matches_keras_step_by_step() {
    let fx = optimizer_fixture();
    let mut worst_per_class: BTreeMap<String, f64> = BTreeMap::new();
    for case in &fx.cases {
        // Built from Keras's own get_config(), then from krust's constructors.
        let mut from_keras = from_config(&case.keras_class, &case.keras_config)
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let mut from_krust = krust_optimizer(&case.name);
        assert_eq!(from_keras.config(), from_krust.config(), "{}", case.name);
        assert_eq!(from_keras.class_name(), case.keras_class);
        for optimizer in [&mut from_keras, &mut from_krust] {
            let params = fx.fresh_parameters();
            let err = fx.replay(optimizer.as_mut(), &params, case, 0..case.steps.len());
            let worst = worst_per_class.entry(case.keras_class.clone()).or_default();
            *worst = worst.max(err);
        }
    }
    for (class, err) in &worst_per_class {
        eprintln!("{class}: worst relative error against Keras {err:.2e}");
    }
    assert_eq!(
        worst_per_class.len(),
        6,
        "SGD, Adam, AdamW, RMSprop, Adagrad, Nadam"
    );
}

#[test]
fn optimizer_state_matches_keras_optimizer_variables() {
    let fx = optimizer_fixture();
    for case in &fx.cases {
        let mut optimizer = krust_optimizer(&case.name);
        let params = fx.fresh_parameters();
        fx.replay(optimizer.as_mut(), &params, case, 0..case.steps.len());
        let state = optimizer.state();
        assert_eq!(state.iterations, case.iterations, "{}", case.name);
        let names: Vec<&String> = state.variables.iter().map(|(n, _)| n).collect();
        let want: Vec<&String> = case.state.keys().collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, want, "{}: state names", case.name);
        for (name, t) in &state.variables {
            let err = relative_error(&t.to_vec(), &case.state[name]);
            assert!(
                err <= 1e-4,
                "{}: {name}: relative error {err:.2e}",
                case.name
            );
        }
    }
}

#[test]
fn resuming_from_exported_state_continues_exactly() {
    let fx = optimizer_fixture();
    for case in &fx.cases {
        // Uninterrupted run, for a bit-for-bit comparison.
        let mut straight = krust_optimizer(&case.name);
        let straight_params = fx.fresh_parameters();
        fx.replay(straight.as_mut(), &straight_params, case, 0..5);

        let mut first = krust_optimizer(&case.name);
        let params = fx.fresh_parameters();
        fx.replay(first.as_mut(), &params, case, 0..2);
        let (config, state) = (first.config(), first.state());
        drop(first);

        let mut resumed = from_config(&case.keras_class, &config).unwrap();
        resumed.load_state(&state, &params).unwrap();
        assert_eq!(resumed.iterations(), 2);
        fx.replay(resumed.as_mut(), &params, case, 2..5);
        for (a, b) in params.iter().zip(&straight_params) {
            assert_eq!(a.value().to_vec(), b.value().to_vec(), "{}", case.name);
        }
    }
}

#[test]
fn optimizer_state_round_trips_through_safetensors() {
    use safetensors::tensor::{Dtype, SafeTensors, TensorView};
    let fx = optimizer_fixture();
    let case = fx.cases.iter().find(|c| c.name == "nadam_custom").unwrap();
    let mut optimizer = krust_optimizer(&case.name);
    let params = fx.fresh_parameters();
    fx.replay(optimizer.as_mut(), &params, case, 0..3);
    let state = optimizer.state();

    let bytes: Vec<Vec<u8>> = state
        .variables
        .iter()
        .map(|(_, t)| t.to_vec().iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views: Vec<(String, TensorView)> = state
        .variables
        .iter()
        .zip(&bytes)
        .map(|((name, t), b)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, t.shape().to_vec(), b).unwrap(),
            )
        })
        .collect();
    let metadata = Some(
        [("iterations".to_string(), state.iterations.to_string())]
            .into_iter()
            .collect(),
    );
    let file = safetensors::serialize(views, &metadata).unwrap();

    let (_, header) = SafeTensors::read_metadata(&file).unwrap();
    let iterations: u64 = header.metadata().as_ref().unwrap()["iterations"]
        .parse()
        .unwrap();
    let read = SafeTensors::deserialize(&file).unwrap();
    let variables = read
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, Tensor::from_vec(view.shape().to_vec(), data).unwrap())
        })
        .collect();
    let mut resumed = krust_optimizer(&case.name);
    resumed
        .load_state(
            &OptimizerState {
                iterations,
                variables,
            },
            &params,
        )
        .unwrap();
    fx.replay(resumed.as_mut(), &params, case, 3..5);
}

#[test]
fn fixture_covers_every_optimizer_option() {
    let fx = optimizer_fixture();
    let configs: Vec<&Value> = fx.cases.iter().map(|c| &c.keras_config).collect();
    let has = |key: &str, pred: &dyn Fn(&Value) -> bool| configs.iter().any(|c| pred(&c[key]));
    for key in ["clipnorm", "clipvalue", "global_clipnorm", "weight_decay"] {
        assert!(has(key, &|v| v.is_number()), "no case sets {key}");
    }
    for key in ["nesterov", "amsgrad", "centered"] {
        assert!(has(key, &|v| v == &json!(true)), "no case sets {key}");
    }
    assert!(has("learning_rate", &|v| v.is_object()), "no schedule case");
    assert!(fx.cases.iter().any(|c| !c.missing.is_empty()));
}

// ---------------------------------------------------------------------------------------
// Schedules

#[test]
fn every_schedule_matches_keras() {
    let f = fixture("schedules.json");
    let krust: Vec<(&str, Box<dyn LearningRateSchedule>)> = vec![
        (
            "exponential",
            Box::new(ExponentialDecay::new(0.1, 5, 0.5).unwrap()),
        ),
        (
            "exponential_staircase",
            Box::new(
                ExponentialDecay::new(0.1, 5, 0.5)
                    .unwrap()
                    .with_staircase(true),
            ),
        ),
        (
            "piecewise_constant",
            Box::new(
                PiecewiseConstantDecay::new(vec![3, 7, 12], vec![1.0, 0.5, 0.1, 0.01]).unwrap(),
            ),
        ),
        (
            "polynomial",
            Box::new(
                PolynomialDecay::new(0.1, 10)
                    .and_then(|s| s.with_end_learning_rate(0.001))
                    .and_then(|s| s.with_power(2.0))
                    .unwrap(),
            ),
        ),
        (
            "polynomial_cycle",
            Box::new(
                PolynomialDecay::new(0.1, 7)
                    .and_then(|s| s.with_end_learning_rate(0.01))
                    .and_then(|s| s.with_power(0.5))
                    .unwrap()
                    .with_cycle(true),
            ),
        ),
        (
            "inverse_time",
            Box::new(InverseTimeDecay::new(0.1, 4, 0.5).unwrap()),
        ),
        (
            "inverse_time_staircase",
            Box::new(
                InverseTimeDecay::new(0.1, 4, 0.5)
                    .unwrap()
                    .with_staircase(true),
            ),
        ),
        ("cosine", Box::new(CosineDecay::new(0.1, 20).unwrap())),
        (
            "cosine_alpha",
            Box::new(
                CosineDecay::new(0.1, 20)
                    .and_then(|s| s.with_alpha(0.1))
                    .unwrap(),
            ),
        ),
        (
            "cosine_warmup",
            Box::new(
                CosineDecay::new(0.0, 20)
                    .and_then(|s| s.with_warmup(0.1, 8))
                    .unwrap(),
            ),
        ),
        (
            "cosine_warmup_alpha",
            Box::new(
                CosineDecay::new(0.01, 15)
                    .and_then(|s| s.with_alpha(0.2))
                    .and_then(|s| s.with_warmup(0.1, 5))
                    .unwrap(),
            ),
        ),
        (
            "cosine_restarts",
            Box::new(CosineDecayRestarts::new(0.1, 4).unwrap()),
        ),
        (
            "cosine_restarts_constant_period",
            Box::new(
                CosineDecayRestarts::new(0.1, 5)
                    .and_then(|s| s.with_t_mul(1.0))
                    .and_then(|s| s.with_m_mul(0.5))
                    .and_then(|s| s.with_alpha(0.1))
                    .unwrap(),
            ),
        ),
        (
            "cosine_restarts_t_mul_1_5",
            Box::new(
                CosineDecayRestarts::new(0.1, 3)
                    .and_then(|s| s.with_t_mul(1.5))
                    .and_then(|s| s.with_m_mul(0.8))
                    .unwrap(),
            ),
        ),
    ];
    let cases = f["cases"].as_object().unwrap();
    assert_eq!(cases.len(), krust.len());
    let mut worst: f64 = 0.0;
    for (name, schedule) in &krust {
        let case = &cases[*name];
        let want: Vec<f32> = case["learning_rates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let from_keras = schedules::deserialize(&case["keras_config"]).unwrap();
        assert_eq!(schedule.class_name(), case["keras_class"].as_str().unwrap());
        assert_eq!(from_keras.config(), schedule.config(), "{name}");
        for (step, &w) in want.iter().enumerate() {
            for got in [
                schedule.learning_rate(step as u64),
                from_keras.learning_rate(step as u64),
            ] {
                let err = relative_error(&[got], &[w]);
                assert!(
                    err <= TOLERANCE,
                    "{name} at step {step}: krust {got}, keras {w}"
                );
                worst = worst.max(err);
            }
        }
    }
    eprintln!("schedules: worst relative error against Keras {worst:.2e}");
}

#[test]
fn optimizer_evaluates_its_schedule_at_the_iteration_count() {
    let schedule = PiecewiseConstantDecay::new(vec![0, 1], vec![0.3, 0.2, 0.1]).unwrap();
    let mut sgd = Sgd::with_config(SgdConfig {
        learning_rate: schedule.into(),
        ..Default::default()
    })
    .unwrap();
    let w = Var::parameter(Tensor::from_vec([1], vec![0.0]).unwrap());
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(sgd.learning_rate());
        w.zero_grad();
        w.sum().unwrap().backward().unwrap(); // gradient 1: w moves by −lr
        sgd.step(std::slice::from_ref(&w)).unwrap();
    }
    assert_eq!(seen, vec![0.3, 0.2, 0.1]);
    assert!((w.value().to_vec()[0] + 0.6).abs() < 1e-6);
    // Setting a constant rate replaces the schedule.
    sgd.set_learning_rate(0.05);
    assert_eq!(sgd.learning_rate(), 0.05);
    assert_eq!(sgd.config()["learning_rate"], json!(0.05));
}

#[test]
fn schedules_reject_bad_arguments() {
    assert!(ExponentialDecay::new(0.1, 0, 0.5).is_err(), "decay_steps 0");
    assert!(InverseTimeDecay::new(0.1, 0, 0.5).is_err());
    assert!(CosineDecay::new(0.1, 0).is_err());
    assert!(CosineDecayRestarts::new(0.1, 0).is_err());
    assert!(PolynomialDecay::new(0.1, 0).is_err());
    assert!(ExponentialDecay::new(f32::NAN, 10, 0.5).is_err());
    assert!(ExponentialDecay::new(-0.1, 10, 0.5).is_err());
    assert!(
        PiecewiseConstantDecay::new(vec![1, 2], vec![0.1, 0.2]).is_err(),
        "lengths"
    );
    assert!(
        PiecewiseConstantDecay::new(vec![], vec![0.1]).is_err(),
        "no boundary"
    );
    assert!(
        PiecewiseConstantDecay::new(vec![5, 2], vec![0.1, 0.2, 0.3]).is_err(),
        "order"
    );
    assert!(CosineDecayRestarts::new(0.1, 5)
        .unwrap()
        .with_t_mul(0.0)
        .is_err());
    let unknown = schedules::from_config("StepDecay", &json!({})).unwrap_err();
    assert!(unknown.to_string().contains("StepDecay"), "{unknown}");
    let extra = schedules::from_config(
        "ExponentialDecay",
        &json!({"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5, "foo": 1}),
    )
    .unwrap_err();
    assert!(extra.to_string().contains("foo"), "{extra}");
    let fractional = schedules::from_config(
        "CosineDecay",
        &json!({"initial_learning_rate": 0.1, "decay_steps": 10.5}),
    )
    .unwrap_err();
    assert!(
        fractional.to_string().contains("decay_steps"),
        "{fractional}"
    );
    // A float step count that is a whole number is fine, as Keras writes it sometimes.
    schedules::from_config(
        "CosineDecay",
        &json!({"initial_learning_rate": 0.1, "decay_steps": 10.0}),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------
// Configs

fn every_optimizer() -> Vec<Box<dyn Optimizer>> {
    vec![
        Box::new(Sgd::new(0.01, 0.9, true).unwrap()),
        Box::new(Adam::new(1e-3).unwrap()),
        Box::new(AdamW::new(1e-3).unwrap()),
        Box::new(RMSprop::new(1e-3).unwrap()),
        Box::new(Adagrad::new(1e-3).unwrap()),
        Box::new(Nadam::new(1e-3).unwrap()),
    ]
}

#[test]
fn defaults_are_keras_defaults() {
    let defaults: Vec<(&str, Value)> = vec![
        (
            "SGD",
            json!({"learning_rate": 0.01, "momentum": 0.0, "nesterov": false}),
        ),
        (
            "Adam",
            json!({"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                   "amsgrad": false, "weight_decay": null}),
        ),
        (
            "AdamW",
            json!({"learning_rate": 0.001, "weight_decay": 0.004, "amsgrad": false}),
        ),
        (
            "RMSprop",
            json!({"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                   "centered": false}),
        ),
        (
            "Adagrad",
            json!({"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7}),
        ),
        (
            "Nadam",
            json!({"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
        ),
    ];
    for (class, want) in defaults {
        let config = from_config(class, &json!({})).unwrap().config();
        for (key, value) in want.as_object().unwrap() {
            assert_eq!(&config[key], value, "{class} default {key}");
        }
        for key in ["clipnorm", "clipvalue", "global_clipnorm"] {
            assert!(config[key].is_null(), "{class} {key}");
        }
    }
}

#[test]
fn configs_round_trip_through_keras_serialization() {
    let mut optimizers = every_optimizer();
    optimizers.push(Box::new(
        Adam::with_config(AdamConfig {
            learning_rate: CosineDecay::new(0.0, 100)
                .and_then(|s| s.with_warmup(1e-3, 10))
                .unwrap()
                .into(),
            amsgrad: true,
            clipvalue: Some(0.5),
            ..Default::default()
        })
        .unwrap(),
    ));
    for optimizer in &optimizers {
        let serialized = optimizers::serialize(optimizer.as_ref());
        assert_eq!(serialized["module"], json!("keras.optimizers"));
        let text = serde_json::to_string(&serialized).unwrap();
        let back = optimizers::deserialize(&serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back.class_name(), optimizer.class_name());
        assert_eq!(back.config(), optimizer.config());
    }
    // keras.optimizers.get("adam") style: a bare, case-insensitive name.
    assert_eq!(
        optimizers::deserialize(&json!("rmsprop"))
            .unwrap()
            .class_name(),
        "RMSprop"
    );
}

#[test]
fn unsupported_keras_options_are_errors_not_silently_ignored() {
    let cases = [
        ("Adam", json!({"foo": 1}), "foo"),
        ("Adam", json!({"use_ema": true}), "use_ema"),
        (
            "SGD",
            json!({"gradient_accumulation_steps": 4}),
            "gradient_accumulation_steps",
        ),
        (
            "RMSprop",
            json!({"loss_scale_factor": 128.0}),
            "loss_scale_factor",
        ),
        ("Nadam", json!({"beta_1": "high"}), "beta_1"),
        ("Lion", json!({}), "Lion"),
    ];
    for (class, config, needle) in cases {
        let err = from_config(class, &config).err().expect("an error");
        assert!(err.to_string().contains(needle), "{class} {config}: {err}");
    }
    // Keras's own defaults for those options are accepted.
    from_config(
        "Adam",
        &json!({"use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null,
                "name": "adam_7", "loss_scale_factor": null}),
    )
    .unwrap();
}

#[test]
fn invalid_arguments_are_rejected() {
    let clip_both = AdamConfig {
        clipnorm: Some(1.0),
        clipvalue: Some(1.0),
        ..Default::default()
    };
    let err = Adam::with_config(clip_both).unwrap_err();
    assert!(err.to_string().contains("only one of"), "{err}");
    assert!(Sgd::with_config(SgdConfig {
        global_clipnorm: Some(-1.0),
        ..Default::default()
    })
    .is_err());
    assert!(Sgd::new(0.1, 1.5, false).is_err());
    assert!(Sgd::new(0.1, -0.1, false).is_err());
    assert!(Sgd::new(0.1, 1.0, false).is_ok(), "Keras allows momentum 1");
    assert!(Adam::with_config(AdamConfig {
        beta_1: 1.0,
        ..Default::default()
    })
    .is_err());
    assert!(Nadam::with_config(NadamConfig {
        epsilon: -1.0,
        ..Default::default()
    })
    .is_err());
    assert!(AdamW::with_config(AdamWConfig {
        weight_decay: -0.1,
        ..Default::default()
    })
    .is_err());
    assert!(RMSprop::with_config(RMSpropConfig {
        rho: 1.0,
        ..Default::default()
    })
    .is_err());
    assert!(Adagrad::with_config(AdagradConfig {
        initial_accumulator_value: -1.0,
        ..Default::default()
    })
    .is_err());
    assert!(Adam::new(f32::INFINITY).is_err());
}

// ---------------------------------------------------------------------------------------
// Steps and state

fn parameter(values: &[f32]) -> Var {
    Var::parameter(Tensor::from_vec([values.len()], values.to_vec()).unwrap())
}

fn give_gradient(p: &Var, g: &[f32]) {
    let g = Var::constant(Tensor::from_vec([g.len()], g.to_vec()).unwrap());
    p.mul(&g).unwrap().sum().unwrap().backward().unwrap();
}

#[test]
fn parameters_without_gradient_are_untouched_and_no_gradient_at_all_is_an_error() {
    for mut optimizer in every_optimizer() {
        let (a, b) = (parameter(&[1.0, 2.0]), parameter(&[3.0]));
        give_gradient(&a, &[0.5, -0.5]);
        optimizer.step(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(b.value().to_vec(), vec![3.0], "{}", optimizer.class_name());
        assert_ne!(a.value().to_vec(), vec![1.0, 2.0]);
        assert!(optimizer
            .state()
            .variables
            .iter()
            .all(|(name, _)| !name.ends_with("/1")));

        a.zero_grad();
        let err = optimizer.step(&[a.clone(), b.clone()]).unwrap_err();
        assert!(err.to_string().contains("backward"), "{err}");
        assert_eq!(optimizer.iterations(), 1);
        optimizer.step(&[]).unwrap();
        assert_eq!(
            optimizer.iterations(),
            1,
            "an empty parameter list is a no-op"
        );
    }
}

#[test]
fn stepping_a_different_parameter_list_is_an_error() {
    for mut optimizer in every_optimizer() {
        let a = parameter(&[1.0, 2.0]);
        give_gradient(&a, &[0.5, -0.5]);
        optimizer.step(std::slice::from_ref(&a)).unwrap();
        let other = parameter(&[1.0, 2.0, 3.0]);
        give_gradient(&other, &[1.0, 1.0, 1.0]);
        let result = optimizer.step(std::slice::from_ref(&other));
        if optimizer
            .state()
            .variables
            .iter()
            .any(|(n, _)| n.ends_with("/0"))
        {
            let err = result.unwrap_err();
            assert!(err.to_string().contains("shape"), "{err}");
            assert_eq!(
                other.value().to_vec(),
                vec![1.0, 2.0, 3.0],
                "untouched on error"
            );
        }
    }
}

#[test]
fn load_state_checks_names_and_shapes_and_changes_nothing_on_error() {
    let a = parameter(&[1.0, 2.0]);
    let mut adam = Adam::new(0.1).unwrap();
    give_gradient(&a, &[0.5, -0.5]);
    adam.step(std::slice::from_ref(&a)).unwrap();
    let good = adam.state();
    assert_eq!(good.iterations, 1);
    assert_eq!(
        good.variables
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        vec!["adam/momentum/0", "adam/velocity/0"]
    );

    let with = |edit: &dyn Fn(&mut OptimizerState)| {
        let mut state = good.clone();
        edit(&mut state);
        state
    };
    let bad_states = [
        (
            with(&|s| s.variables[0].1 = Tensor::zeros(vec![3])),
            "shape",
        ),
        (
            with(&|s| s.variables[0].0 = "adam/momentum/5".into()),
            "parameter 5",
        ),
        (
            with(&|s| s.variables[0].0 = "adam/moment/0".into()),
            "slots",
        ),
        (
            with(&|s| s.variables[0].0 = "sgd/momentum/0".into()),
            "another optimizer",
        ),
        (with(&|s| drop(s.variables.pop())), "no adam/velocity/0"),
        (
            with(&|s| {
                s.variables
                    .push(("adam/velocity_hat/0".into(), Tensor::zeros(vec![2])))
            }),
            "slots",
        ),
    ];
    let mut fresh = Adam::new(0.1).unwrap();
    for (state, needle) in &bad_states {
        let err = fresh
            .load_state(state, std::slice::from_ref(&a))
            .unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "expected {needle:?} in: {err}"
        );
        assert_eq!(fresh.iterations(), 0);
        assert!(
            fresh.state().variables.is_empty(),
            "nothing changes on error"
        );
    }
    fresh.load_state(&good, std::slice::from_ref(&a)).unwrap();
    assert_eq!(fresh.iterations(), 1);

    // Nadam's running product is part of its state.
    let mut nadam = Nadam::new(0.1).unwrap();
    nadam.step(std::slice::from_ref(&a)).unwrap();
    let mut state = nadam.state();
    state.variables.retain(|(n, _)| n != "nadam/u_product");
    let err = Nadam::new(0.1)
        .unwrap()
        .load_state(&state, std::slice::from_ref(&a))
        .unwrap_err();
    assert!(err.to_string().contains("u_product"), "{err}");
}
