//! Every Keras initializer: the statistics of large draws (mean, variance, limits) against
//! Keras's definitions, orthogonality, identity, the errors for bad arguments and shapes, and
//! the round trip through Keras's serialized form (the JSON strings below are what Keras 3.15.1
//! `keras.initializers.serialize` writes).

use krust_nn::initializers::{fans, FanMode, Initializer, ScalingDistribution};
use serde_json::{json, Value};

struct Moments {
    mean: f64,
    variance: f64,
    min: f32,
    max: f32,
}

fn moments(init: &Initializer, shape: &[usize]) -> Moments {
    let t = init.try_sample(shape).unwrap();
    assert_eq!(t.shape(), shape);
    let v = t.to_vec();
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let variance = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    Moments {
        mean,
        variance,
        min: v.iter().copied().fold(f32::INFINITY, f32::min),
        max: v.iter().copied().fold(f32::NEG_INFINITY, f32::max),
    }
}

/// Variance of a unit normal truncated to [−2, 2]: 0.87962566103423978².
const TRUNCATED_VARIANCE: f64 = 0.773_741_301_630_935_6;

fn assert_close(what: &str, got: f64, want: f64, relative: f64) {
    assert!(
        (got - want).abs() <= relative * want.abs(),
        "{what}: got {got}, want {want} (±{:.0}%)",
        relative * 100.0
    );
}

#[test]
fn random_normal_uniform_and_truncated_normal_have_their_moments() {
    let shape = [400, 500];
    let m = moments(&Initializer::random_normal(0.5, 0.2).unwrap(), &shape);
    assert_close("random_normal mean", m.mean, 0.5, 0.01);
    assert_close("random_normal variance", m.variance, 0.04, 0.02);
    assert!(
        m.min < 0.5 - 2.5 * 0.2 && m.max > 0.5 + 2.5 * 0.2,
        "a normal has tails"
    );

    let m = moments(&Initializer::random_uniform(-0.3, 0.5).unwrap(), &shape);
    assert!(
        (m.mean - 0.1).abs() < 0.003,
        "random_uniform mean {}",
        m.mean
    );
    assert_close(
        "random_uniform variance",
        m.variance,
        0.8f64.powi(2) / 12.0,
        0.02,
    );
    assert!(m.min >= -0.3 && m.max < 0.5);

    // Keras's TruncatedNormal redraws beyond 2 stddev and does not rescale.
    let m = moments(&Initializer::truncated_normal(-1.0, 0.1).unwrap(), &shape);
    assert_close("truncated_normal mean", m.mean, -1.0, 0.001);
    assert_close(
        "truncated_normal variance",
        m.variance,
        0.01 * TRUNCATED_VARIANCE,
        0.02,
    );
    assert!(m.min >= -1.2 - 1e-6 && m.max <= -0.8 + 1e-6);
}

#[test]
fn named_variance_scaling_initializers_have_keras_variance() {
    // (in, out) = (3·3·128, 3·3·256) for this kernel; 294,912 draws keep each check > 5σ.
    let shape = [3, 3, 128, 256];
    let (fan_in, fan_out) = (1152.0f64, 2304.0f64);
    let fan_avg = (fan_in + fan_out) / 2.0;
    let cases = [
        (
            "glorot_normal",
            Initializer::GlorotNormal,
            1.0 / fan_avg,
            false,
        ),
        (
            "glorot_uniform",
            Initializer::GlorotUniform,
            1.0 / fan_avg,
            true,
        ),
        ("he_normal", Initializer::HeNormal, 2.0 / fan_in, false),
        ("he_uniform", Initializer::HeUniform, 2.0 / fan_in, true),
        (
            "lecun_normal",
            Initializer::LecunNormal,
            1.0 / fan_in,
            false,
        ),
        (
            "lecun_uniform",
            Initializer::LecunUniform,
            1.0 / fan_in,
            true,
        ),
    ];
    for (name, init, variance, uniform) in cases {
        assert_eq!(Initializer::from_name(name).unwrap(), init);
        let m = moments(&init, &shape);
        assert!(
            m.mean.abs() < 0.01 * variance.sqrt(),
            "{name} mean {}",
            m.mean
        );
        assert_close(&format!("{name} variance"), m.variance, variance, 0.02);
        let limit = if uniform {
            (3.0 * variance).sqrt() // U(−limit, limit) has variance limit²/3
        } else {
            2.0 * variance.sqrt() / 0.879_625_661_034_239_8 // truncated at 2 stddev
        } as f32;
        assert!(m.min >= -limit && m.max <= limit, "{name} exceeds ±{limit}");
        assert!(
            m.min < -0.97 * limit && m.max > 0.97 * limit,
            "{name} fills ±{limit}"
        );
    }
}

#[test]
fn variance_scaling_modes_and_distributions() {
    let shape = [300, 700];
    let cases = [
        (
            2.0,
            FanMode::FanOut,
            ScalingDistribution::Uniform,
            2.0 / 700.0,
        ),
        (
            0.5,
            FanMode::FanAvg,
            ScalingDistribution::UntruncatedNormal,
            0.5 / 500.0,
        ),
        (
            3.0,
            FanMode::FanIn,
            ScalingDistribution::TruncatedNormal,
            3.0 / 300.0,
        ),
    ];
    for (scale, mode, distribution, variance) in cases {
        let init = Initializer::variance_scaling(scale, mode, distribution).unwrap();
        let m = moments(&init, &shape);
        assert_close(
            &format!("{mode:?} {distribution:?}"),
            m.variance,
            variance,
            0.02,
        );
        if distribution == ScalingDistribution::UntruncatedNormal {
            assert!(
                m.max > 3.0 * variance.sqrt() as f32,
                "untruncated has tails"
            );
        }
    }
    // Keras divides by max(1, fan): a fan of 0 does not blow up.
    let t = Initializer::HeNormal.try_sample(&[0, 4]).unwrap();
    assert_eq!(t.shape(), &[0, 4]);
}

#[test]
fn fans_follow_keras_for_every_rank() {
    assert_eq!(fans(&[]), (1.0, 1.0));
    assert_eq!(fans(&[10]), (10.0, 10.0));
    assert_eq!(fans(&[10, 20]), (10.0, 20.0));
    assert_eq!(fans(&[5, 3, 4]), (15.0, 20.0)); // Conv1D (k, in, out)
    assert_eq!(fans(&[5, 5, 6, 16]), (150.0, 400.0)); // Conv2D
    assert_eq!(fans(&[2, 3, 3, 4, 8]), (72.0, 144.0)); // Conv3D
}

/// Max |WᵀW − gain²·I| over the columns of a rows×cols matrix.
fn orthogonality_error(w: &[f32], rows: usize, cols: usize, gain: f64) -> f64 {
    let mut worst: f64 = 0.0;
    for a in 0..cols {
        for b in 0..cols {
            let dot: f64 = (0..rows)
                .map(|i| w[i * cols + a] as f64 * w[i * cols + b] as f64)
                .sum();
            let want = if a == b { gain * gain } else { 0.0 };
            worst = worst.max((dot - want).abs());
        }
    }
    worst
}

fn transpose(w: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; w.len()];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = w[i * cols + j];
        }
    }
    t
}

#[test]
fn orthogonal_has_orthonormal_columns_or_rows_times_gain() {
    let init = Initializer::orthogonal(1.5).unwrap();
    // Tall: orthogonal columns.
    let w = init.try_sample(&[64, 16]).unwrap();
    assert!(orthogonality_error(&w.to_vec(), 64, 16, 1.5) < 1e-5);
    // Wide: orthogonal rows.
    let w = init.try_sample(&[16, 64]).unwrap();
    let rows_as_columns = transpose(&w.to_vec(), 16, 64);
    assert!(orthogonality_error(&rows_as_columns, 64, 16, 1.5) < 1e-5);
    // Square: both.
    let w = Initializer::from_name("orthogonal")
        .unwrap()
        .try_sample(&[32, 32])
        .unwrap();
    assert!(orthogonality_error(&w.to_vec(), 32, 32, 1.0) < 1e-5);
    assert!(orthogonality_error(&transpose(&w.to_vec(), 32, 32), 32, 32, 1.0) < 1e-5);
    // A conv kernel is flattened to (3·3·4, 8).
    let w = init.try_sample(&[3, 3, 4, 8]).unwrap();
    assert_eq!(w.shape(), &[3, 3, 4, 8]);
    assert!(orthogonality_error(&w.to_vec(), 36, 8, 1.5) < 1e-5);
    // Two draws differ (fresh generators).
    let (a, b) = (
        init.try_sample(&[8, 8]).unwrap(),
        init.try_sample(&[8, 8]).unwrap(),
    );
    assert_ne!(a.to_vec(), b.to_vec());
}

#[test]
fn orthogonal_is_haar_distributed_not_biased_by_the_qr_sign_convention() {
    // Without Keras's sign correction by diag(R), Householder QR gives a Q whose diagonal is
    // biased negative; with it, each entry of Q is symmetric around 0.
    let init = Initializer::orthogonal(1.0).unwrap();
    let draws = 400;
    let mean_first: f64 = (0..draws)
        .map(|_| init.try_sample(&[6, 6]).unwrap().to_vec()[0] as f64)
        .sum::<f64>()
        / draws as f64;
    assert!(
        mean_first.abs() < 0.1,
        "mean of Q[0][0] over draws: {mean_first}"
    );
}

#[test]
fn identity_is_gain_times_the_rectangular_identity() {
    let t = Initializer::identity(2.0)
        .unwrap()
        .try_sample(&[2, 3])
        .unwrap();
    assert_eq!(t.to_vec(), vec![2.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    let t = Initializer::from_name("identity")
        .unwrap()
        .try_sample(&[3, 2])
        .unwrap();
    assert_eq!(t.to_vec(), vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn constants() {
    assert_eq!(
        Initializer::Zeros.try_sample(&[2, 2]).unwrap().to_vec(),
        vec![0.0; 4]
    );
    assert_eq!(
        Initializer::Ones.try_sample(&[3]).unwrap().to_vec(),
        vec![1.0; 3]
    );
    let t = Initializer::constant(-0.25)
        .unwrap()
        .try_sample(&[2, 1, 2])
        .unwrap();
    assert_eq!(t.to_vec(), vec![-0.25; 4]);
    // A zero-width uniform is a constant, not a panic.
    let t = Initializer::random_uniform(0.5, 0.5)
        .unwrap()
        .try_sample(&[3])
        .unwrap();
    assert_eq!(t.to_vec(), vec![0.5; 3]);
}

#[test]
fn bad_arguments_and_shapes_are_errors() {
    let bad_arguments = [
        Initializer::random_normal(0.0, -0.1).err(),
        Initializer::truncated_normal(0.0, f32::NAN).err(),
        Initializer::random_uniform(1.0, -1.0).err(),
        Initializer::constant(f32::INFINITY).err(),
        Initializer::variance_scaling(0.0, FanMode::FanIn, ScalingDistribution::Uniform).err(),
        Initializer::variance_scaling(-2.0, FanMode::FanIn, ScalingDistribution::Uniform).err(),
        Initializer::orthogonal(f32::NAN).err(),
        Initializer::from_name("xavier").err(),
    ];
    for (i, err) in bad_arguments.iter().enumerate() {
        assert!(err.is_some(), "case {i} should be an error");
    }
    let err = Initializer::random_normal(0.0, -0.1).unwrap_err();
    assert!(err.to_string().contains("stddev"), "{err}");

    // Variants built directly are checked when sampling.
    let direct = Initializer::RandomNormal {
        mean: 0.0,
        stddev: -1.0,
    };
    assert!(direct.try_sample(&[2]).is_err());

    let identity = Initializer::identity(1.0).unwrap();
    let err = identity.try_sample(&[3, 3, 3]).unwrap_err();
    assert!(err.to_string().contains("2-D"), "{err}");
    assert!(identity.try_sample(&[4]).is_err());
    let err = Initializer::orthogonal(1.0)
        .unwrap()
        .try_sample(&[5])
        .unwrap_err();
    assert!(err.to_string().contains("at least 2"), "{err}");
}

#[test]
#[should_panic(expected = "2-D")]
fn sample_panics_where_try_sample_errors() {
    Initializer::identity(1.0).unwrap().sample(&[2, 2, 2]);
}

/// What Keras 3.15.1 writes for each initializer, and what krust reads it as.
fn keras_serializations() -> Vec<(&'static str, Initializer)> {
    vec![
        (
            r#"{"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}"#,
            Initializer::Zeros,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}"#,
            Initializer::Ones,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.5}, "registered_name": null}"#,
            Initializer::Constant { value: 0.5 },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "RandomNormal", "config": {"seed": null, "mean": 0.1, "stddev": 0.2}, "registered_name": null}"#,
            Initializer::RandomNormal {
                mean: 0.1,
                stddev: 0.2,
            },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "RandomUniform", "config": {"seed": null, "minval": -0.3, "maxval": 0.4}, "registered_name": null}"#,
            Initializer::RandomUniform {
                minval: -0.3,
                maxval: 0.4,
            },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "TruncatedNormal", "config": {"seed": null, "mean": 0.0, "stddev": 0.1}, "registered_name": null}"#,
            Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.1,
            },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "VarianceScaling", "config": {"seed": null, "scale": 2.0, "mode": "fan_out", "distribution": "uniform", "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::VarianceScaling {
                scale: 2.0,
                mode: FanMode::FanOut,
                distribution: ScalingDistribution::Uniform,
            },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "VarianceScaling", "config": {"seed": null, "scale": 0.5, "mode": "fan_avg", "distribution": "untruncated_normal", "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::VarianceScaling {
                scale: 0.5,
                mode: FanMode::FanAvg,
                distribution: ScalingDistribution::UntruncatedNormal,
            },
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "GlorotNormal", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::GlorotNormal,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::GlorotUniform,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::HeNormal,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "HeUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::HeUniform,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "LecunNormal", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::LecunNormal,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "LecunUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}"#,
            Initializer::LecunUniform,
        ),
        (
            r#"{"module": "keras.initializers", "class_name": "Orthogonal", "config": {"seed": null, "gain": 1.5}, "registered_name": null}"#,
            Initializer::Orthogonal { gain: 1.5 },
        ),
        // Keras's Identity writes no config, so its gain does not survive a Keras round trip.
        (
            r#"{"module": "keras.initializers", "class_name": "Identity", "config": {}, "registered_name": null}"#,
            Initializer::Identity { gain: 1.0 },
        ),
    ]
}

#[test]
fn reads_what_keras_writes_and_writes_it_back() {
    for (text, want) in keras_serializations() {
        let keras: Value = serde_json::from_str(text).unwrap();
        let init: Initializer = serde_json::from_value(keras.clone()).unwrap();
        assert_eq!(init, want, "{text}");
        // krust writes Keras's form back; key order aside, identical except Identity's gain.
        let written = serde_json::to_value(init).unwrap();
        if !matches!(init, Initializer::Identity { .. }) {
            assert_eq!(written, keras, "{text}");
        }
        let again: Initializer = serde_json::from_value(written).unwrap();
        assert_eq!(again, init);
    }
    let with_gain = Initializer::identity(3.0).unwrap();
    let back: Initializer =
        serde_json::from_value(serde_json::to_value(with_gain).unwrap()).unwrap();
    assert_eq!(back, with_gain, "krust keeps the identity's gain");
}

#[test]
fn reads_bare_names_aliases_and_keras_spellings() {
    let names = [
        ("zeros", Initializer::Zeros),
        ("zero", Initializer::Zeros),
        ("one", Initializer::Ones),
        ("normal", Initializer::random_normal(0.0, 0.05).unwrap()),
        ("uniform", Initializer::random_uniform(-0.05, 0.05).unwrap()),
        (
            "truncated_normal",
            Initializer::truncated_normal(0.0, 0.05).unwrap(),
        ),
        ("constant", Initializer::constant(0.0).unwrap()),
        (
            "OrthogonalInitializer",
            Initializer::orthogonal(1.0).unwrap(),
        ),
        ("IdentityInitializer", Initializer::identity(1.0).unwrap()),
        (
            "variance_scaling",
            Initializer::variance_scaling(
                1.0,
                FanMode::FanIn,
                ScalingDistribution::TruncatedNormal,
            )
            .unwrap(),
        ),
    ];
    for (name, want) in names {
        let init: Initializer = serde_json::from_value(json!(name)).unwrap();
        assert_eq!(init, want, "{name}");
    }
    // Keras reads distribution "normal" as truncated_normal, case-insensitively.
    let vs: Initializer = serde_json::from_value(json!({
        "class_name": "VarianceScaling",
        "config": {"scale": 2.0, "mode": "fan_in", "distribution": "Normal"}
    }))
    .unwrap();
    let want = Initializer::VarianceScaling {
        scale: 2.0,
        mode: FanMode::FanIn,
        distribution: ScalingDistribution::TruncatedNormal,
    };
    assert_eq!(vs, want);
}

#[test]
fn unsupported_configs_are_errors() {
    let cases = [
        (
            json!({"class_name": "GlorotUniform", "config": {"seed": 42}}),
            "seed",
        ),
        (
            json!({"class_name": "RandomNormal", "config": {"stddev": -1.0}}),
            "stddev",
        ),
        (
            json!({"class_name": "RandomNormal", "config": {"sd": 1.0}}),
            "sd",
        ),
        (
            json!({"class_name": "VarianceScaling", "config": {"mode": "fan_sum"}}),
            "fan_sum",
        ),
        (
            json!({"class_name": "HeNormal", "config": {"input_axes": [0]}}),
            "input_axes",
        ),
        (json!({"class_name": "STFT", "config": {}}), "STFT"),
        (json!(3), "initializer"),
    ];
    for (value, needle) in cases {
        let err = serde_json::from_value::<Initializer>(value.clone()).unwrap_err();
        assert!(err.to_string().contains(needle), "{value}: {err}");
    }
}
