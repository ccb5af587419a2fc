//! The torchvision architectures of the zoo against torchvision 0.29 itself: parameter counts
//! (fixtures/zoo/param_counts.json, tools/zoo_param_counts.py), the state-dict layout their
//! layer names and weight shapes must map onto (fixtures/zoo/state_dict_keys.json,
//! tools/zoo_state_dict_keys.py), output shapes at 224x224x3 and at a small input, and one
//! training step through `fit`.
//!
//! krust counts BatchNorm's moving mean and variance as weights (as Keras does), so counts
//! compare with torchvision's parameters plus buffers ("params_and_buffers").
//!
//! Small inputs, per model: AlexNet 63 (its smallest: the 11x11/4 convolution and three 3x3/2
//! poolings leave 1x1), VGG 32 (five 2x2 poolings leave 1x1), ResNet 32 (any size works since
//! every stride-2 layer pads; 32 is CIFAR's and leaves 1x1), GoogLeNet 15 and SqueezeNet 17
//! (their smallest: the ceil-mode poolings reach 1x1), DenseNet 29 (its smallest: three 2x2
//! transitions need 8x8 after the stem).

use krust_data::{Dataset, Samples, Targets};
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::Sgd;
use krust_nn::{AnyModel, Module};
use krust_train::{fit, FitConfig};
use krust_zoo::{build_model, canonical_name, ARCHITECTURES};
use serde_json::Value;
use std::collections::BTreeMap;

fn fixture(file: &str) -> Value {
    let path = format!("{}/../../fixtures/zoo/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// torchvision's parameters + buffers at 1000 or 10 classes.
fn reference_count(model: &str, classes: usize) -> usize {
    let row = &fixture("param_counts.json")[model];
    let row = if classes == 1000 {
        row
    } else {
        &row["classes_10"]
    };
    assert_eq!(row["classes"], classes);
    row["params_and_buffers"].as_u64().unwrap() as usize
}

/// krust's weights as torchvision state-dict entries: name -> PyTorch-layout shape.
fn as_state_dict(model: &AnyModel) -> BTreeMap<String, Vec<usize>> {
    model
        .named_weights()
        .into_iter()
        .map(|(name, var)| {
            let (layer, weight) = name.rsplit_once('/').unwrap();
            let shape = var.shape();
            let (torch_name, torch_shape) = match (weight, shape.as_slice()) {
                // Conv2D (kh, kw, in, out) -> (out, in, kh, kw); Dense (in, out) -> (out, in).
                ("kernel", &[kh, kw, i, o]) => ("weight", vec![o, i, kh, kw]),
                ("kernel", &[i, o]) => ("weight", vec![o, i]),
                ("bias", s) => ("bias", s.to_vec()),
                ("gamma", s) => ("weight", s.to_vec()),
                ("beta", s) => ("bias", s.to_vec()),
                ("moving_mean", s) => ("running_mean", s.to_vec()),
                ("moving_variance", s) => ("running_var", s.to_vec()),
                other => panic!("unexpected weight {other:?} of {name}"),
            };
            (format!("{layer}.{torch_name}"), torch_shape)
        })
        .collect()
}

fn torchvision_state_dict(model: &str) -> BTreeMap<String, Vec<usize>> {
    fixture("state_dict_keys.json")[model]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shape = e[1].as_array().unwrap().iter();
            (
                e[0].as_str().unwrap().to_string(),
                shape.map(|d| d.as_u64().unwrap() as usize).collect(),
            )
        })
        .collect()
}

fn output_shape(model: &AnyModel) -> Vec<usize> {
    match model {
        AnyModel::Functional(m) => m.output_shapes()[0].clone(),
        AnyModel::Sequential(m) => m.output_shape().unwrap().to_vec(),
    }
}

/// Sizes and layout: at 1000 classes and 224x224x3, and at 10 classes and `small`x`small`x3.
fn check_sizes_and_layout(model: &str, small: usize) {
    let big = build_model(model, &[224, 224, 3], 1000).unwrap();
    assert_eq!(
        big.count_params(),
        reference_count(model, 1000),
        "{model} at 1000 classes"
    );
    assert_eq!(output_shape(&big), vec![1000], "{model} at 224x224x3");
    drop(big);
    let m = build_model(model, &[small, small, 3], 10).unwrap();
    assert_eq!(
        m.count_params(),
        reference_count(model, 10),
        "{model} at 10 classes"
    );
    assert_eq!(output_shape(&m), vec![10], "{model} at {small}x{small}x3");
    let (ours, theirs) = (as_state_dict(&m), torchvision_state_dict(model));
    let missing: Vec<_> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    let extra: Vec<_> = ours.keys().filter(|k| !theirs.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{model}: torchvision entries missing {missing:?}, entries torchvision lacks {extra:?}"
    );
    for (key, shape) in &theirs {
        assert_eq!(&ours[key], shape, "{model}: shape of {key}");
    }
}

/// The names and values of the first and last weights.
fn ends(model: &AnyModel) -> Vec<(String, Vec<f32>)> {
    let weights = model.named_weights();
    [weights.first().unwrap(), weights.last().unwrap()]
        .iter()
        .map(|(n, v)| (n.clone(), v.value().to_vec()))
        .collect()
}

/// One SGD step on two made-up images at `size`x`size`x3: the loss is finite and the first
/// and last weights move.
fn check_training_step(model: &str, size: usize) {
    krust_tensor::random::set_seed(11);
    let m = build_model(model, &[size, size, 3], 10).unwrap();
    let images: Vec<f32> = (0..2 * size * size * 3)
        .map(|i| ((i * 7919) % 251) as f32 / 251.0)
        .collect();
    let train = Dataset::new(
        "two made-up images",
        Samples::Floats(images),
        vec![size, size, 3],
        Targets::Classes {
            labels: vec![3, 7],
            num_classes: 10,
        },
        Vec::new(),
    )
    .unwrap();
    let before = ends(&m);
    let mut opt = Sgd::new(0.01, 0.0, false).unwrap();
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 2,
        seed: 1,
        ..FitConfig::default()
    };
    let history = fit(&m, &mut opt, &loss, &train, &cfg, &mut []).unwrap();
    let loss = history.series("loss")[0];
    assert!(loss.is_finite(), "{model}: loss {loss}");
    for ((name, old), (_, new)) in before.iter().zip(ends(&m)) {
        assert_ne!(old, &new, "{model}: {name} did not change");
    }
    let logits = m
        .predict(&[krust_tensor::Tensor::zeros([1, size, size, 3])])
        .unwrap();
    assert_eq!(logits[0].shape(), &[1, 10], "{model}: predicted logits");
}

fn check_model(model: &str, small: usize) {
    check_sizes_and_layout(model, small);
    check_training_step(model, small);
}

#[test]
fn alexnet_and_the_vggs_match_torchvision_and_train_one_step() {
    // One test, run model after model: VGG-19's classifier alone holds 120M weights.
    check_model("alexnet", 63);
    for vgg in [
        "vgg11", "vgg16", "vgg19", "vgg11_bn", "vgg16_bn", "vgg19_bn",
    ] {
        check_model(vgg, 32);
    }
}

#[test]
fn resnet18_matches_torchvision_and_trains_one_step() {
    check_model("resnet18", 32);
}

#[test]
fn resnet34_matches_torchvision_and_trains_one_step() {
    check_model("resnet34", 32);
}

#[test]
fn resnet50_matches_torchvision_and_trains_one_step() {
    check_model("resnet50", 32);
}

#[test]
fn googlenet_matches_torchvision_and_trains_one_step() {
    check_model("googlenet", 15);
}

#[test]
fn squeezenet1_1_matches_torchvision_and_trains_one_step() {
    check_model("squeezenet1_1", 17);
}

#[test]
fn densenet121_matches_torchvision_and_trains_one_step() {
    check_model("densenet121", 29);
}

#[test]
fn inputs_below_an_architectures_minimum_are_refused_naming_it() {
    for arch in ARCHITECTURES.iter().filter(|a| a.source == "torchvision") {
        let (h, w) = arch.min_input;
        if h > 1 {
            let err = build_model(arch.name, &[h - 1, w, 3], 10)
                .err()
                .unwrap_or_else(|| panic!("{} built below its minimum", arch.name))
                .to_string();
            assert!(err.contains(&format!("at least {h}x{w}")), "{err}");
        }
    }
    // ResNet's minimum is real: 1x1 runs end to end.
    let m = build_model("resnet18", &[1, 1, 3], 4).unwrap();
    let y = m
        .predict(&[krust_tensor::Tensor::zeros([2, 1, 1, 3])])
        .unwrap();
    assert_eq!(y[0].shape(), &[2, 4]);
    // The smallest GoogLeNet and SqueezeNet inputs run too (ceil-mode windows wider than
    // the map).
    for (name, size) in [("googlenet", 15), ("squeezenet1_1", 17)] {
        let m = build_model(name, &[size, size, 3], 3).unwrap();
        let y = m
            .predict(&[krust_tensor::Tensor::zeros([1, size, size, 3])])
            .unwrap();
        assert_eq!(y[0].shape(), &[1, 3], "{name}");
    }
}

#[test]
fn names_are_found_in_their_common_spellings_and_unknown_ones_list_the_known() {
    for (given, canonical) in [
        ("resnet-18", "resnet18"),
        ("ResNet18", "resnet18"),
        ("vgg16-bn", "vgg16_bn"),
        ("VGG16_BN", "vgg16_bn"),
        ("squeezenet1-1", "squeezenet1_1"),
        ("SqueezeNet1.1", "squeezenet1_1"),
        ("DenseNet-121", "densenet121"),
        ("GoogLeNet", "googlenet"),
        ("LeNet-5", "lenet5"),
        ("lenet", "lenet5"),
        ("small-cnn", "small_cnn"),
    ] {
        assert_eq!(canonical_name(given).unwrap(), canonical, "{given}");
    }
    let err = build_model("resnet19", &[32, 32, 3], 10)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("resnet19") && err.contains("resnet18") && err.contains("densenet121"),
        "{err}"
    );
    // The Sequential models build through the same table.
    let lenet = build_model("lenet5", &[28, 28, 1], 10).unwrap();
    assert_eq!(lenet.count_params(), 61_706);
}

#[test]
fn every_architecture_is_listed_once_with_its_defaults() {
    let mut names: Vec<_> = ARCHITECTURES.iter().map(|a| a.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), ARCHITECTURES.len());
    let torchvision = ARCHITECTURES
        .iter()
        .filter(|a| a.source == "torchvision")
        .count();
    assert_eq!(torchvision, 14);
    for arch in ARCHITECTURES.iter().filter(|a| a.source != "krust") {
        assert_eq!(arch.default_input, (224, 224, 3), "{}", arch.name);
    }
}
