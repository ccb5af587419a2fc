//! Grad-CAM against PyTorch: `tools/gradcam_fixture.py` computes the map of the committed
//! SqueezeNet 1.1 fixture (random float16 weights, 10 classes) for the first 72x88 input
//! image, with forward/backward hooks on `features`, whose krust name is
//! `features.12.concat`.

use krust_import::npy::read_f32;
use krust_tensor::Tensor;
use krust_zoo::gradcam::{grad_cam, last_feature_map_layer};
use krust_zoo::pretrained::load_pretrained;
use std::path::{Path, PathBuf};

fn zoo_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/torch/zoo")
        .join(name)
}

fn squeezenet() -> krust_nn::AnyModel {
    load_pretrained(
        "squeezenet1_1",
        &zoo_fixture("squeezenet1_1.pth"),
        &[72, 88, 3],
        None,
    )
    .unwrap()
    .model
}

fn first_image() -> Tensor {
    let batch = read_f32(&zoo_fixture("squeezenet1_1_input_72x88.npy")).unwrap();
    let per_image = 72 * 88 * 3;
    Tensor::from_vec([1, 72, 88, 3], batch.to_vec()[..per_image].to_vec()).unwrap()
}

#[test]
fn grad_cam_matches_pytorch_hooks_within_1e_3() {
    let model = squeezenet();
    let expected = read_f32(&zoo_fixture("squeezenet1_1_gradcam_72x88.npy")).unwrap();
    let class = read_f32(&zoo_fixture("squeezenet1_1_gradcam_class.npy"))
        .unwrap()
        .to_vec()[0] as usize;
    let cam = grad_cam(&model, &first_image(), class, "features.12.concat").unwrap();
    assert_eq!(cam.shape(), &[72, 88]);
    let worst = cam
        .to_vec()
        .iter()
        .zip(expected.to_vec())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!("Grad-CAM max |diff| {worst:.2e}");
    assert!(worst <= 1e-3, "max |diff| {worst}");
    // The weights are left without gradients.
    assert!(krust_nn::Module::parameters(&model)
        .iter()
        .all(|p| p.grad().is_none()));
}

#[test]
fn the_default_layer_is_the_last_feature_map() {
    // SqueezeNet's classifier convolution (4×5×10 here) comes before its global pooling.
    assert_eq!(
        last_feature_map_layer(&squeezenet()).as_deref(),
        Some("classifier.1")
    );
    // An MLP has no feature map (its only rank-3 output is the input's).
    let mlp = krust_zoo::build_model("mlp", &[28, 28, 1], 10).unwrap();
    assert_eq!(last_feature_map_layer(&mlp), None);
}

#[test]
fn a_missing_layer_or_class_is_named() {
    let model = squeezenet();
    let err = grad_cam(&model, &first_image(), 0, "no_such_layer").unwrap_err();
    assert!(err.to_string().contains("no_such_layer"), "{err}");
    let err = grad_cam(&model, &first_image(), 10, "features.12.concat").unwrap_err();
    assert!(err.to_string().contains("class 10"), "{err}");
    let err = grad_cam(
        &model,
        &Tensor::zeros([2, 72, 88, 3]),
        0,
        "features.12.concat",
    )
    .unwrap_err();
    assert!(err.to_string().contains("[1, H, W, C]"), "{err}");
}
