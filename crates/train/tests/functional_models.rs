//! The functional API end to end: a small ResNet (two residual blocks, one with a projection
//! shortcut) and an Inception module, built with `Graph`, whose parameter counts must equal
//! Keras's for the same definition (fixtures/keras/functional_param_counts.json, made by
//! tools/keras_functional_param_counts.py), and which must train through `fit` on real images.

use krust_data::fashion_mnist::{load_fashion_mnist, shipped_subset_dir};
use krust_nn::functional::{Graph, Model};
use krust_nn::layers::{ActivationLayer, Add, Concatenate, Conv2D, Dense, Flatten, MaxPooling2D};
use krust_nn::losses::SparseCategoricalCrossentropy;
use krust_nn::optimizers::Adam;
use krust_nn::Activation::Relu;
use krust_tensor::Padding::Same;
use krust_train::{evaluate, fit, FitConfig};

fn small_resnet() -> Model {
    let g = Graph::new();
    let inputs = g.input(&[28, 28, 1]);
    let x = inputs
        .apply(
            Conv2D::new(16, (3, 3))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let y = x
        .apply(
            Conv2D::new(16, (3, 3))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let y = y.apply(Conv2D::new(16, (3, 3)).with_padding(Same)).unwrap();
    let x = g
        .merge(Add::new(), &[&x, &y])
        .unwrap()
        .apply(ActivationLayer::new(Relu))
        .unwrap();
    let y = x
        .apply(
            Conv2D::new(32, (3, 3))
                .with_strides((2, 2))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let y = y.apply(Conv2D::new(32, (3, 3)).with_padding(Same)).unwrap();
    let shortcut = x
        .apply(Conv2D::new(32, (1, 1)).with_strides((2, 2)))
        .unwrap();
    let x = g
        .merge(Add::new(), &[&y, &shortcut])
        .unwrap()
        .apply(ActivationLayer::new(Relu))
        .unwrap();
    let x = x
        .apply(MaxPooling2D::new((2, 2)))
        .unwrap()
        .apply(Flatten::new())
        .unwrap();
    let outputs = x.apply(Dense::new(10)).unwrap();
    g.model(&[&inputs], &[&outputs]).unwrap()
}

fn inception_module() -> Model {
    let g = Graph::new();
    let inputs = g.input(&[28, 28, 1]);
    let x = inputs
        .apply(
            Conv2D::new(16, (3, 3))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let b1 = x
        .apply(Conv2D::new(8, (1, 1)).with_activation(Relu))
        .unwrap();
    let b2 = x
        .apply(Conv2D::new(8, (1, 1)).with_activation(Relu))
        .unwrap();
    let b2 = b2
        .apply(
            Conv2D::new(12, (3, 3))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let b3 = x
        .apply(Conv2D::new(4, (1, 1)).with_activation(Relu))
        .unwrap();
    let b3 = b3
        .apply(
            Conv2D::new(6, (5, 5))
                .with_padding(Same)
                .with_activation(Relu),
        )
        .unwrap();
    let b4 = x
        .apply(
            MaxPooling2D::new((3, 3))
                .with_strides((1, 1))
                .with_padding(Same),
        )
        .unwrap();
    let b4 = b4
        .apply(Conv2D::new(6, (1, 1)).with_activation(Relu))
        .unwrap();
    let x = g
        .merge(Concatenate::new(-1), &[&b1, &b2, &b3, &b4])
        .unwrap();
    assert_eq!(x.shape(), vec![28, 28, 32]);
    let x = x
        .apply(MaxPooling2D::new((2, 2)))
        .unwrap()
        .apply(Flatten::new())
        .unwrap();
    let outputs = x.apply(Dense::new(10)).unwrap();
    g.model(&[&inputs], &[&outputs]).unwrap()
}

fn keras_count(name: &str) -> usize {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/keras/functional_param_counts.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json[name]["total"].as_u64().unwrap() as usize
}

fn trains(model: &Model, images: usize) -> f32 {
    let data = load_fashion_mnist(&shipped_subset_dir()).unwrap();
    // The shipped subset is already shuffled and stratified.
    let train = data.train.head(images);
    let mut opt = Adam::new(2e-3).unwrap();
    let loss = SparseCategoricalCrossentropy { from_logits: true };
    let cfg = FitConfig {
        initial_epoch: 0,
        epochs: 1,
        batch_size: 32,
        seed: 1,
        ..FitConfig::default()
    };
    fit(model, &mut opt, &loss, &train, &cfg, &mut []).unwrap();
    evaluate(model, &loss, &data.test, 500).unwrap().accuracy
}

#[test]
fn small_resnet_matches_keras_parameter_count_and_trains() {
    krust_tensor::random::set_seed(5);
    let model = small_resnet();
    assert_eq!(model.count_params(), keras_count("small_resnet"));
    let summary = model.summary();
    assert!(
        summary.contains("add (Add)") && summary.contains("add_1 (Add)"),
        "{summary}"
    );
    assert!(summary.contains("conv2d_5 (Conv2D)"), "{summary}");
    let acc = trains(&model, 3000);
    assert!(
        acc > 0.6,
        "test accuracy {acc} after one epoch on 3000 images"
    );
}

#[test]
fn inception_module_matches_keras_parameter_count_and_trains() {
    krust_tensor::random::set_seed(6);
    let model = inception_module();
    assert_eq!(model.count_params(), keras_count("inception_module"));
    let acc = trains(&model, 3000);
    assert!(
        acc > 0.6,
        "test accuracy {acc} after one epoch on 3000 images"
    );
}

#[test]
fn shared_layers_count_once_and_multi_io_models_run() {
    krust_tensor::random::set_seed(7);
    let g = Graph::new();
    let a = g.input(&[5]);
    let b = g.input(&[5]);
    let shared = g.layer(Dense::new(3));
    let ya = shared.call(&[&a]).unwrap();
    let yb = shared.call(&[&b]).unwrap();
    let sum = g.merge(Add::new(), &[&ya, &yb]).unwrap();
    let model = g.model(&[&a, &b], &[&sum, &ya]).unwrap();
    assert_eq!(model.count_params(), 5 * 3 + 3);
    let x = krust_tensor::Tensor::ones([2, 5]);
    let outs = model.predict_multi(&[x.clone(), x]).unwrap();
    assert_eq!(outs[0].to_vec(), outs[1].mul_scalar(2.0).to_vec());
    // A shared layer built for 5 features cannot take 4.
    let c = g.input(&[4]);
    assert!(shared.call(&[&c]).is_err());
    // Outputs must depend only on declared inputs.
    assert!(g.model(&[&a], &[&sum]).is_err());
}
