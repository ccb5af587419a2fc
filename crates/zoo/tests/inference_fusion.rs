//! The zoo's BatchNormalization networks through `predict`'s fused inference path (each
//! convolution with its BatchNormalization folded in and its activation as the epilogue)
//! give what their layers give one by one, with randomised statistics so every fold matters.

use krust_autograd::{no_grad, Var};
use krust_nn::{AnyModel, Module};
use krust_tensor::Tensor;

/// Non-trivial moving statistics, gamma and beta for every BatchNormalization.
fn randomise_batch_norms(model: &AnyModel) {
    let mut rng = krust_tensor::random::next_rng();
    for (name, w) in model.named_weights() {
        let range = if name.ends_with("moving_mean") || name.ends_with("beta") {
            (-0.3, 0.3)
        } else if name.ends_with("moving_variance") {
            (0.5, 2.0)
        } else if name.ends_with("gamma") {
            (0.6, 1.4)
        } else {
            continue;
        };
        w.set_value(Tensor::rand_uniform(w.shape(), range.0, range.1, &mut rng))
            .unwrap();
    }
}

fn check(name: &str, min_fusions: usize) {
    krust_tensor::random::set_seed(7);
    let model = krust_zoo::build_model(name, &[32, 32, 3], 10).unwrap();
    randomise_batch_norms(&model);
    let fusions = model.inference_fusions();
    assert!(
        fusions.len() >= min_fusions,
        "{name}: only {} fused convolutions: {fusions:?}",
        fusions.len()
    );
    let mut rng = krust_tensor::random::next_rng();
    let x = Tensor::randn([2, 32, 32, 3], 0.0, 1.0, &mut rng);
    let fused = model.predict(std::slice::from_ref(&x)).unwrap().remove(0);
    let reference = no_grad(|| model.forward(&Var::constant(x), false).unwrap().value());
    assert_eq!(fused.shape(), reference.shape());
    let scale = reference
        .to_vec()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = fused
        .to_vec()
        .iter()
        .zip(reference.to_vec())
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(scale > 0.0, "{name}: the logits are all zero");
    assert!(
        worst <= 1e-4 * scale,
        "{name}: fused predict differs by {worst} (logit scale {scale})"
    );
}

#[test]
fn resnet18_fused_predict_equals_its_layers() {
    // 20 convolutions, each followed by its BatchNormalization (17 also by a ReLU).
    check("resnet18", 20);
}

#[test]
fn mobilenet_v2_fused_predict_equals_its_layers() {
    // 52 convolutions, each followed by its BatchNormalization (35 also by a ReLU6).
    check("mobilenet_v2", 52);
}

#[test]
fn efficientnet_lite0_fused_predict_equals_its_layers() {
    // 49 convolutions, each followed by its BatchNormalization (33 also by a ReLU6).
    check("efficientnet_lite0", 49);
}
