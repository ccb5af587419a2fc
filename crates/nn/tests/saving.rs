//! krust's model file: save -> load -> predict is bit-identical, configs round-trip, and
//! damaged or mismatched files give errors naming the file and the problem, never a panic.

use krust_nn::layers::{
    layer_from_config, ActivationLayer, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Input,
    MaxPooling2D,
};
use krust_nn::saving::{load_sequential, save_model};
use krust_nn::{Activation, Sequential};
use krust_tensor::{Padding, Tensor};
use rand::SeedableRng;
use std::path::PathBuf;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("krust-saving-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn model() -> Sequential {
    krust_tensor::random::set_seed(11);
    let mut m = Sequential::new();
    m.add(Input::new(&[12, 12, 2])).unwrap();
    m.add(
        Conv2D::new(4, (3, 3))
            .with_padding(Padding::Same)
            .with_activation(Activation::Relu),
    )
    .unwrap();
    m.add(MaxPooling2D::new((2, 2))).unwrap();
    m.add(
        Conv2D::new(6, (3, 3))
            .with_strides((2, 2))
            .with_dilation((1, 1)),
    )
    .unwrap();
    m.add(AveragePooling2D::new((2, 2)).with_padding(Padding::Same))
        .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dropout::new(0.3)).unwrap();
    m.add(Dense::new(5).with_activation(Activation::Tanh))
        .unwrap();
    m.add(ActivationLayer::new(Activation::Softmax { axis: -1 }))
        .unwrap();
    m
}

fn input() -> Tensor {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    Tensor::rand_uniform([3, 12, 12, 2], -1.0, 1.0, &mut rng)
}

#[test]
fn save_load_predict_is_bit_identical() {
    let m = model();
    let path = temp("model.krust");
    save_model(&m, &path).unwrap();
    let loaded = load_sequential(&path).unwrap();
    let (a, b) = (
        m.predict(&input()).unwrap(),
        loaded.predict(&input()).unwrap(),
    );
    assert_eq!(a.shape(), b.shape());
    assert!(a
        .to_vec()
        .iter()
        .zip(b.to_vec())
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_eq!(loaded.layer_names(), m.layer_names());
    assert_eq!(loaded.summary(), m.summary());
}

#[test]
fn configs_round_trip() {
    let m = model();
    let config = m.to_config();
    let again = Sequential::from_config(&config).unwrap();
    assert_eq!(again.to_config(), config);
    assert_eq!(config["config"]["layers"][1]["config"]["name"], "conv2d");
    assert_eq!(config["config"]["layers"][3]["config"]["name"], "conv2d_1");
}

#[test]
fn unknown_classes_and_arguments_are_named() {
    let e = layer_from_config("Conv7D", &serde_json::json!({}))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Conv7D"), "{e}");
    let e = layer_from_config(
        "Dense",
        &serde_json::json!({"units": 3, "frobnicate": true}),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("frobnicate"), "{e}");
    let e = layer_from_config("Dense", &serde_json::json!({"units": 3, "kernel_regularizer": {"class_name": "OrthogonalRegularizer"}})).err().unwrap().to_string();
    assert!(
        e.contains("kernel_regularizer") && e.contains("OrthogonalRegularizer"),
        "{e}"
    );
    let e = layer_from_config(
        "Conv2D",
        &serde_json::json!({"filters": 3, "kernel_size": 3, "data_format": "channels_first"}),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("data_format"), "{e}");
    let e = layer_from_config(
        "Dense",
        &serde_json::json!({"units": 3, "activation": "swoosh"}),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("swoosh"), "{e}");
}

#[test]
fn damaged_files_are_clear_errors_never_panics() {
    let path = temp("damaged-source.krust");
    save_model(&model(), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let bad = temp("damaged.krust");
    for cut in [0, 4, 8, 9, 50, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..cut]).unwrap();
        let e = load_sequential(&bad)
            .err()
            .expect("truncated file must fail")
            .to_string();
        assert!(e.contains("damaged.krust"), "cut {cut}: {e}");
    }
    let mut flipped = bytes.clone();
    for i in (0..flipped.len()).step_by(97) {
        flipped[i] ^= 0xa5;
        std::fs::write(&bad, &flipped).unwrap();
        let _ = load_sequential(&bad); // any result but a panic
    }
    let e = load_sequential(&temp("missing.krust"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("missing.krust") && e.contains("cannot read"),
        "{e}"
    );
}

#[test]
fn mismatched_weights_are_named() {
    use krust_nn::saving::{from_safetensors, to_safetensors, write_atomically};
    let path = temp("mismatch-source.krust");
    save_model(&model(), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (tensors, meta) = from_safetensors(&path, &bytes).unwrap();
    let mut list: Vec<(String, Tensor)> = tensors.into_iter().collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));

    let without: Vec<_> = list
        .iter()
        .filter(|(n, _)| n != "weights/dense/bias")
        .cloned()
        .collect();
    let bad = temp("mismatch.krust");
    write_atomically(&bad, &to_safetensors(&without, meta.clone()).unwrap()).unwrap();
    let e = load_sequential(&bad).err().unwrap().to_string();
    assert!(e.contains("dense/bias") && e.contains("missing"), "{e}");

    let mut reshaped = list.clone();
    reshaped
        .iter_mut()
        .find(|(n, _)| n == "weights/dense/bias")
        .unwrap()
        .1 = Tensor::zeros([6]);
    write_atomically(&bad, &to_safetensors(&reshaped, meta.clone()).unwrap()).unwrap();
    let e = load_sequential(&bad).err().unwrap().to_string();
    assert!(e.contains("dense/bias") && e.contains("[6]"), "{e}");

    let mut no_format = meta.clone();
    no_format.remove("format");
    write_atomically(&bad, &to_safetensors(&list, no_format).unwrap()).unwrap();
    let e = load_sequential(&bad).err().unwrap().to_string();
    assert!(e.contains("not a krust model"), "{e}");
}

/// Two inputs, a shared Dense applied to both, a residual Add, a Concatenate and two outputs.
fn functional_model() -> krust_nn::Model {
    use krust_nn::functional::Graph;
    use krust_nn::layers::{Add, Concatenate};
    krust_tensor::random::set_seed(12);
    let g = Graph::new();
    let image = g.input(&[6, 6, 2]);
    let side = g.input(&[3]);
    let conv = image
        .apply(
            Conv2D::new(4, (3, 3))
                .with_padding(Padding::Same)
                .with_activation(Activation::Relu),
        )
        .unwrap();
    let conv2 = conv
        .apply(Conv2D::new(4, (3, 3)).with_padding(Padding::Same))
        .unwrap();
    let residual = g.merge(Add::new(), &[&conv, &conv2]).unwrap();
    let flat = residual
        .apply(Flatten::new())
        .unwrap()
        .apply(Dense::new(3))
        .unwrap();
    let shared = g.layer(Dense::new(3).with_activation(Activation::Tanh));
    let a = shared.call(&[&flat]).unwrap();
    let b = shared.call(&[&side]).unwrap();
    let joined = g.merge(Concatenate::new(-1), &[&a, &b]).unwrap();
    let head = joined.apply(Dense::new(2)).unwrap();
    g.model(&[&image, &side], &[&head, &b]).unwrap()
}

fn functional_inputs() -> Vec<Tensor> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    vec![
        Tensor::rand_uniform([2, 6, 6, 2], -1.0, 1.0, &mut rng),
        Tensor::rand_uniform([2, 3], -1.0, 1.0, &mut rng),
    ]
}

#[test]
fn functional_model_with_shared_layers_saves_and_loads_bit_identically() {
    use krust_nn::saving::load_model;
    use krust_nn::AnyModel;
    let m = functional_model();
    let path = temp("functional.krust");
    save_model(&m, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    assert!(matches!(loaded, AnyModel::Functional(_)));
    let (a, b) = (
        m.predict_multi(&functional_inputs()).unwrap(),
        loaded.predict(&functional_inputs()).unwrap(),
    );
    assert_eq!(a.len(), 2);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.shape(), y.shape());
        assert!(x
            .to_vec()
            .iter()
            .zip(y.to_vec())
            .all(|(p, q)| p.to_bits() == q.to_bits()));
    }
    // The shared Dense is stored once; the parameter count and the table are unchanged.
    assert_eq!(loaded.count_params(), m.count_params());
    assert_eq!(loaded.summary(), m.summary());
    // A functional file is not a Sequential one, and says so.
    let e = load_sequential(&path).err().unwrap().to_string();
    assert!(
        e.contains("functional") && e.contains("functional.krust"),
        "{e}"
    );
}

#[test]
fn functional_config_is_keras_shaped_and_round_trips() {
    use krust_nn::{model_from_config, Module};
    let m = functional_model();
    let config = m.to_config();
    assert_eq!(config["class_name"], "Functional");
    let layers = config["config"]["layers"].as_array().unwrap();
    assert_eq!(layers[0]["class_name"], "InputLayer");
    assert_eq!(layers[1]["name"], "input_layer_1");
    // The shared Dense has one inbound node per call; the Add takes a list of two tensors.
    let shared = layers.iter().find(|l| l["name"] == "dense_1").unwrap();
    assert_eq!(shared["inbound_nodes"].as_array().unwrap().len(), 2);
    let add = layers.iter().find(|l| l["class_name"] == "Add").unwrap();
    let args = &add["inbound_nodes"][0]["args"][0];
    assert_eq!(args.as_array().unwrap().len(), 2);
    assert_eq!(args[0]["config"]["keras_history"][0], "conv2d");
    assert_eq!(
        config["config"]["output_layers"],
        serde_json::json!([["dense_2", 0, 0], ["dense_1", 1, 0]])
    );
    let rebuilt = model_from_config(&config).unwrap();
    assert_eq!(rebuilt.to_config(), config);
}

#[test]
fn a_call_pinned_to_inference_stays_so_in_training_and_through_a_file() {
    use krust_autograd::Var;
    use krust_nn::functional::Graph;
    use krust_nn::saving::load_model;
    use krust_nn::{model_from_config, Module};
    let g = Graph::new();
    let x = g.input(&[50]);
    let pinned = g
        .layer(Dropout::new(0.9))
        .call_in_mode(&[&x], Some(false))
        .unwrap();
    let model = g.model(&[&x], &[&pinned]).unwrap();
    let ones = Tensor::from_vec([4, 50], vec![1.0; 200]).unwrap();
    let train_out = model
        .forward(&Var::constant(ones.clone()), true)
        .unwrap()
        .value();
    assert_eq!(
        train_out.to_vec(),
        ones.to_vec(),
        "dropout ran in training mode"
    );
    let config = model.to_config();
    let dropout = &config["config"]["layers"][1];
    assert_eq!(dropout["inbound_nodes"][0]["kwargs"]["training"], false);
    assert_eq!(model_from_config(&config).unwrap().to_config(), config);
    let path = temp("pinned.krust");
    save_model(&model, &path).unwrap();
    let loaded = load_model(&path).unwrap();
    let again = loaded
        .forward(&Var::constant(ones.clone()), true)
        .unwrap()
        .value();
    assert_eq!(again.to_vec(), ones.to_vec());
}

#[test]
fn a_training_state_puts_dropout_streams_back_where_they_were() {
    use krust_autograd::Var;
    use krust_nn::layers::GaussianNoise;
    use krust_nn::optimizers::Sgd;
    use krust_nn::saving::{load_training_state, save_training_state};
    use krust_nn::Module;
    krust_tensor::random::set_seed(3);
    let mut model = Sequential::new();
    model.add(Input::new(&[16])).unwrap();
    model.add(Dropout::new(0.5)).unwrap();
    model.add(GaussianNoise::new(0.1)).unwrap();
    let x = Var::constant(Tensor::ones([4, 16]));
    // Draw a few masks, so the streams are somewhere past their start.
    for _ in 0..3 {
        model.forward(&x, true).unwrap();
    }
    let path = temp("streams.krust");
    save_training_state(&model, &Sgd::new(0.1, 0.0, false).unwrap(), 2, &path).unwrap();
    let next = model.forward(&x, true).unwrap().value();
    // A model built elsewhere (another key) continues the saved streams once loaded.
    krust_tensor::random::set_seed(99);
    let state = load_training_state(&path).unwrap();
    let resumed = state.model.forward(&x, true).unwrap().value();
    assert_eq!(next.to_vec(), resumed.to_vec());
    // Without the entry, the loaded model would draw other masks.
    let fresh = krust_nn::saving::load_model(&path).unwrap();
    assert_ne!(
        fresh.forward(&x, true).unwrap().value().to_vec(),
        next.to_vec()
    );
    std::fs::remove_file(&path).unwrap();
}
