//! Finite-difference gradient checks for every layer: gradients with respect to the input and
//! to every weight, of sum(layer(x) ⊙ r) for a fixed random r, against central differences.

use krust_autograd::gradcheck::GradCheck;
use krust_autograd::Var;
use krust_nn::layers::{
    ActivationLayer, AlphaDropout, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, Layer,
    MaxPooling2D, StochasticDepth,
};
use krust_nn::Activation;
use krust_tensor::{Padding, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Tensor::rand_uniform(shape.to_vec(), -1.0, 1.0, &mut rng)
}

/// Distinct, well-separated values so max pooling never sits on a tie under perturbation.
fn separated(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 0.1 - n as f32 * 0.05).collect();
    for i in (1..n).rev() {
        v.swap(i, rng.gen_range(0..=i));
    }
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

/// Checks d/dx and d/dweights of `layer` (already built) at input `x`, in training mode,
/// with the project's one finite-difference checker.
fn check_layer(name: &str, layer: &dyn Layer, x: Tensor) {
    let check = GradCheck {
        max_elements: 40,
        ..GradCheck::default()
    };
    krust_nn::layers::check_gradients(layer, &x, true, check)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn built<L: Layer>(mut layer: L, input: &[usize]) -> L {
    krust_tensor::random::set_seed(3);
    layer.build(input).unwrap();
    layer
}

#[test]
fn dense_gradients_match_finite_differences() {
    let d = built(Dense::new(4).with_activation(Activation::Tanh), &[5]);
    check_layer("Dense", &d, random(&[3, 5], 1));
    let d3 = built(Dense::new(3), &[2, 4]);
    check_layer("Dense on 3-D input", &d3, random(&[2, 2, 4], 2));
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    let same = built(
        Conv2D::new(3, (3, 3))
            .with_padding(Padding::Same)
            .with_activation(Activation::Sigmoid),
        &[6, 7, 2],
    );
    check_layer("Conv2D same", &same, random(&[2, 6, 7, 2], 3));
    let strided = built(
        Conv2D::new(4, (3, 3))
            .with_strides((2, 2))
            .with_padding(Padding::Same),
        &[7, 8, 3],
    );
    check_layer("Conv2D stride 2 same", &strided, random(&[2, 7, 8, 3], 4));
    let first_layer = built(
        Conv2D::new(6, (5, 5)).with_padding(Padding::Same),
        &[12, 12, 1],
    );
    check_layer(
        "Conv2D 5x5 on one channel",
        &first_layer,
        random(&[2, 12, 12, 1], 5),
    );
    let dilated = built(Conv2D::new(2, (3, 3)).with_dilation((2, 2)), &[9, 9, 2]);
    check_layer("Conv2D dilation 2", &dilated, random(&[1, 9, 9, 2], 6));
}

#[test]
fn pooling_gradients_match_finite_differences() {
    let max = built(MaxPooling2D::new((2, 2)), &[6, 5, 3]);
    check_layer("MaxPooling2D", &max, separated(&[2, 6, 5, 3], 7));
    let max_same = built(
        MaxPooling2D::new((3, 3))
            .with_strides((2, 2))
            .with_padding(Padding::Same),
        &[7, 7, 2],
    );
    check_layer("MaxPooling2D same", &max_same, separated(&[1, 7, 7, 2], 8));
    let avg = built(
        AveragePooling2D::new((3, 3))
            .with_strides((2, 2))
            .with_padding(Padding::Same),
        &[7, 6, 2],
    );
    check_layer("AveragePooling2D same", &avg, random(&[2, 7, 6, 2], 9));
}

#[test]
fn shape_and_activation_layer_gradients_match_finite_differences() {
    check_layer(
        "Flatten",
        &built(Flatten::new(), &[3, 2, 2]),
        random(&[2, 3, 2, 2], 10),
    );
    for act in [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax { axis: -1 },
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
    ] {
        check_layer(
            act.name(),
            &built(ActivationLayer::new(act), &[5]),
            separated(&[3, 5], 11),
        );
    }
}

#[test]
fn alpha_dropout_gradient_is_its_scaled_mask_and_it_keeps_selu_statistics() {
    krust_tensor::random::set_seed(7);
    let rate = 0.3f32;
    let alpha_p = -1.673_263_2f32 * 1.050_701;
    let a = ((1.0 - rate) * (1.0 + rate * alpha_p * alpha_p)).powf(-0.5);
    let b = -a * alpha_p * rate;
    let d = built(AlphaDropout::new(rate), &[20_000]);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let x = Var::parameter(Tensor::randn([1, 20_000], 0.0, 1.0, &mut rng));
    let y = d.forward(&x, true).unwrap();
    y.sum().unwrap().backward().unwrap();
    let (xs, ys, gs) = (x.value(), y.value(), x.grad().unwrap());
    let mut kept = 0;
    for ((&xi, &yi), &gi) in xs.to_vec().iter().zip(&ys.to_vec()).zip(&gs.to_vec()) {
        if gi == 0.0 {
            assert!(
                (yi - (a * alpha_p + b)).abs() < 1e-5,
                "a dropped unit saturates"
            );
        } else {
            assert!((gi - a).abs() < 1e-6, "a kept unit's gradient is a");
            assert!((yi - (a * xi + b)).abs() < 1e-5);
            kept += 1;
        }
    }
    assert!((kept as f32 / 20_000.0 - (1.0 - rate)).abs() < 0.02);
    // Zero mean and unit variance in, about the same out.
    let n = 20_000.0;
    let mean = ys.to_vec().iter().sum::<f32>() / n;
    let var = ys.to_vec().iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n;
    assert!(
        mean.abs() < 0.05 && (var - 1.0).abs() < 0.1,
        "mean {mean}, var {var}"
    );
    let identity = d.forward(&x, false).unwrap();
    assert_eq!(identity.value().to_vec(), xs.to_vec());
}

#[test]
fn dropout_with_noise_shape_shares_one_decision_per_sample() {
    let d = built(
        Dropout::new(0.5).with_noise_shape(&[None, Some(1), Some(1)]),
        &[3, 4],
    );
    let x = Var::parameter(Tensor::ones([16, 3, 4]));
    let y = d.forward(&x, true).unwrap().value();
    for sample in y.to_vec().chunks(12) {
        assert!(sample.iter().all(|&v| v == sample[0]), "{sample:?}");
    }
}

#[test]
fn stochastic_depth_drops_whole_samples_and_its_gradient_is_the_mask() {
    let d = built(StochasticDepth::new(0.25), &[3, 4]);
    let x = Var::parameter(Tensor::ones([400, 3, 4]));
    let y = d.forward(&x, true).unwrap();
    y.sum().unwrap().backward().unwrap();
    let y = y.value();
    assert_eq!(x.grad().unwrap().to_vec(), y.to_vec());
    let mut kept = 0;
    for sample in y.to_vec().chunks(12) {
        assert!(sample.iter().all(|&v| v == sample[0]), "{sample:?}");
        assert!(sample[0] == 0.0 || (sample[0] - 1.0 / 0.75).abs() < 1e-6);
        kept += usize::from(sample[0] != 0.0);
    }
    assert!(
        (kept as f32 / 400.0 - 0.75).abs() < 0.08,
        "kept {kept} of 400"
    );
    assert_eq!(
        d.forward(&x, false).unwrap().value().to_vec(),
        vec![1.0; 4800]
    );
}

#[test]
fn dropout_gradient_is_its_mask() {
    let d = built(Dropout::new(0.5), &[200]);
    let x = Var::parameter(Tensor::ones([2, 200]));
    let y = d.forward(&x, true).unwrap();
    y.sum().unwrap().backward().unwrap();
    // With x = 1, y is exactly the mask (0 or 2), and so is the gradient.
    assert_eq!(x.grad().unwrap().to_vec(), y.value().to_vec());
    let identity = d.forward(&x, false).unwrap();
    assert_eq!(identity.value().to_vec(), vec![1.0; 400]);
}
