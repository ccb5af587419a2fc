//! `predict`'s inference path (convolution + BatchNormalization + activation folded into one
//! fused convolution, no tape, values freed after their last use) equals the plain
//! layer-by-layer `forward(x, false)`, folds only where it may, and follows weight changes.

use krust_autograd::{no_grad, Var};
use krust_nn::functional::{Graph, Model};
use krust_nn::layers::*;
use krust_nn::optimizers::{Optimizer, Sgd};
use krust_nn::{Activation, Sequential};
use krust_tensor::{Padding, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// Gives every BatchNormalization non-trivial statistics and affine weights, and every bias
/// non-zero values, so that a wrong fold cannot pass by accident.
fn randomise(weights: &[(String, Var)], seed: u64) {
    let mut r = rng(seed);
    for (name, w) in weights {
        let n = w.value_ref().numel();
        let mut draw =
            |lo: f32, hi: f32| -> Vec<f32> { (0..n).map(|_| r.gen_range(lo..hi)).collect() };
        let values = if name.ends_with("moving_mean") || name.ends_with("beta") {
            draw(-0.5, 0.5)
        } else if name.ends_with("moving_variance") {
            draw(0.2, 2.5)
        } else if name.ends_with("gamma") {
            draw(0.5, 1.5)
        } else if name.ends_with("bias") {
            draw(-0.3, 0.3)
        } else {
            continue;
        };
        w.set_value(Tensor::from_vec(w.shape(), values).unwrap())
            .unwrap();
    }
}

/// max |a − b| ≤ 1e-4 · max |b|.
fn assert_close(fused: &Tensor, reference: &Tensor) {
    assert_eq!(fused.shape(), reference.shape());
    let scale = reference
        .to_vec()
        .iter()
        .fold(0.0f32, |m, v| m.max(v.abs()))
        .max(1e-6);
    let worst = fused
        .to_vec()
        .iter()
        .zip(reference.to_vec())
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 1e-4 * scale,
        "fused predict differs from forward by {worst} (output scale {scale})"
    );
}

fn batch(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape.to_vec(), 0.0, 1.0, &mut rng(seed))
}

fn reference_sequential(model: &Sequential, x: &Tensor) -> Tensor {
    no_grad(|| {
        model
            .forward(&Var::constant(x.clone()), false)
            .unwrap()
            .value()
    })
}

fn reference_model(model: &Model, xs: &[Tensor]) -> Vec<Tensor> {
    no_grad(|| {
        let vars: Vec<Var> = xs.iter().cloned().map(Var::constant).collect();
        model
            .forward_multi(&vars, false)
            .unwrap()
            .iter()
            .map(Var::value)
            .collect()
    })
}

fn batch_norm() -> BatchNormalization {
    let mut bn = BatchNormalization::new();
    bn.epsilon = 1e-3;
    bn
}

fn conv_bn_relu_stack() -> Sequential {
    let mut m = Sequential::new();
    m.add(Input::new(&[12, 12, 3])).unwrap();
    m.add(Conv2D::new(8, (3, 3)).with_padding(Padding::Same))
        .unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ActivationLayer::new(Activation::Relu)).unwrap();
    let mut no_bias = Conv2D::new(6, (3, 3)).with_strides((2, 2));
    no_bias.use_bias = false;
    m.add(no_bias).unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ReLU::new(None, 0.0, 0.0)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(4)).unwrap();
    m
}

#[test]
fn a_sequential_conv_batch_norm_relu_stack_predicts_as_its_layers_do() {
    let m = conv_bn_relu_stack();
    randomise(&m.named_weights(), 1);
    assert_eq!(
        m.inference_fusions(),
        vec![
            "conv2d + batch_normalization + activation (Relu)",
            "conv2d_1 + batch_normalization_1 + re_lu (Relu)",
        ]
    );
    let x = batch(&[3, 12, 12, 3], 2);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
}

#[test]
fn a_convolution_read_by_two_layers_is_not_folded() {
    let g = Graph::new();
    let x = g.input(&[10, 10, 4]);
    let conv = g.named_layer_boxed(
        "conv",
        Box::new(Conv2D::new(4, (3, 3)).with_padding(Padding::Same)),
    );
    let y = conv.call(&[&x]).unwrap();
    let bn = g
        .named_layer_boxed("bn", Box::new(batch_norm()))
        .call(&[&y])
        .unwrap();
    let relu = g
        .named_layer_boxed("relu", Box::new(ActivationLayer::new(Activation::Relu)))
        .call(&[&bn])
        .unwrap();
    // The raw convolution output is also read by the residual addition.
    let sum = g.merge(Add::new(), &[&relu, &y]).unwrap();
    // A second chain whose BatchNormalization output has two readers: the BN folds, the
    // activation does not.
    let conv2 = g
        .named_layer_boxed("conv2", Box::new(Conv2D::new(4, (1, 1))))
        .call(&[&sum])
        .unwrap();
    let bn2 = g
        .named_layer_boxed("bn2", Box::new(batch_norm()))
        .call(&[&conv2])
        .unwrap();
    let relu2 = g
        .named_layer_boxed("relu2", Box::new(ActivationLayer::new(Activation::Relu)))
        .call(&[&bn2])
        .unwrap();
    let out = g.merge(Multiply::new(), &[&relu2, &bn2]).unwrap();
    let model = g.model(&[&x], &[&out, &y]).unwrap();
    randomise(&model.named_weights(), 3);
    assert_eq!(model.inference_fusions(), vec!["conv2 + bn2 (Identity)"]);
    let xs = [batch(&[2, 10, 10, 4], 4)];
    let fused = model.predict_multi(&xs).unwrap();
    let reference = reference_model(&model, &xs);
    assert_eq!(fused.len(), 2);
    for (f, r) in fused.iter().zip(&reference) {
        assert_close(f, r);
    }
}

#[test]
fn a_convolution_that_is_a_model_output_is_not_folded() {
    let g = Graph::new();
    let x = g.input(&[6, 6, 2]);
    let y = x.apply(Conv2D::new(3, (3, 3))).unwrap();
    let z = y.apply(batch_norm()).unwrap();
    let model = g.model(&[&x], &[&z, &y]).unwrap();
    randomise(&model.named_weights(), 5);
    assert!(model.inference_fusions().is_empty());
    let xs = [batch(&[2, 6, 6, 2], 6)];
    for (f, r) in model
        .predict_multi(&xs)
        .unwrap()
        .iter()
        .zip(&reference_model(&model, &xs))
    {
        assert_close(f, r);
    }
}

#[test]
fn depthwise_convolution_batch_norm_and_relu6_fold_into_one_grouped_convolution() {
    for (multiplier, use_bias) in [(1, false), (2, true)] {
        let depthwise = DepthwiseConv2D::from_config(&serde_json::json!({
            "kernel_size": [3, 3], "strides": [2, 2], "padding": "same",
            "depth_multiplier": multiplier, "use_bias": use_bias,
        }))
        .unwrap();
        let mut m = Sequential::new();
        m.add(Input::new(&[9, 9, 5])).unwrap();
        m.add(depthwise).unwrap();
        m.add(batch_norm()).unwrap();
        m.add(ReLU::new(Some(6.0), 0.0, 0.0)).unwrap();
        m.add(Conv2D::new(4, (1, 1))).unwrap();
        m.add(batch_norm()).unwrap();
        m.add(ActivationLayer::new(Activation::Relu6)).unwrap();
        randomise(&m.named_weights(), 7);
        assert_eq!(
            m.inference_fusions(),
            vec![
                "depthwise_conv2d + batch_normalization + re_lu (Relu6)",
                "conv2d + batch_normalization_1 + activation (Relu6)",
            ]
        );
        // Inputs large enough that the cap of 6 is reached.
        let x = batch(&[2, 9, 9, 5], 8).mul_scalar(4.0);
        assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
    }
}

#[test]
fn a_grouped_convolution_folds_its_batch_norm_per_output_channel() {
    let mut m = Sequential::new();
    m.add(Input::new(&[7, 7, 6])).unwrap();
    m.add(Conv2D::new(9, (3, 3)).with_groups(3)).unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ActivationLayer::new(Activation::Silu)).unwrap();
    randomise(&m.named_weights(), 9);
    assert_eq!(
        m.inference_fusions(),
        vec!["conv2d + batch_normalization + activation (Silu)"]
    );
    let x = batch(&[2, 7, 7, 6], 10);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
}

#[test]
fn a_convolutions_own_activation_runs_as_its_epilogue() {
    for (activation, epilogue) in [
        (Activation::Relu, "Relu"),
        (Activation::Silu, "Silu"),
        (Activation::Relu6, "Relu6"),
    ] {
        let mut m = Sequential::new();
        m.add(Input::new(&[8, 8, 3])).unwrap();
        m.add(Conv2D::new(5, (3, 3)).with_activation(activation))
            .unwrap();
        // A following BatchNormalization reads the activation's output: it cannot fold.
        m.add(batch_norm()).unwrap();
        randomise(&m.named_weights(), 11);
        assert_eq!(m.inference_fusions(), vec![format!("conv2d ({epilogue})")]);
        let x = batch(&[2, 8, 8, 3], 12).mul_scalar(5.0);
        assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
    }
    // Activations without an epilogue run as the layer does.
    let mut m = Sequential::new();
    m.add(Input::new(&[8, 8, 3])).unwrap();
    m.add(Conv2D::new(5, (3, 3)).with_activation(Activation::Tanh))
        .unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ReLU::new(None, 0.1, 0.0)).unwrap();
    assert!(m.inference_fusions().is_empty());
    let x = batch(&[2, 8, 8, 3], 13);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
}

#[test]
fn a_batch_norm_on_another_axis_or_called_in_training_mode_is_not_folded() {
    let mut m = Sequential::new();
    m.add(Input::new(&[6, 6, 3])).unwrap();
    m.add(Conv2D::new(6, (3, 3))).unwrap();
    m.add(batch_norm().with_axis(1)).unwrap();
    m.add(ActivationLayer::new(Activation::Relu)).unwrap();
    randomise(&m.named_weights(), 14);
    assert!(m.inference_fusions().is_empty());
    let x = batch(&[2, 6, 6, 3], 15);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));

    // Keras's `bn(x, training=True)` keeps batch statistics even in predict.
    let g = Graph::new();
    let x = g.input(&[6, 6, 3]);
    let y = x.apply(Conv2D::new(4, (3, 3))).unwrap();
    let y = g
        .layer(batch_norm())
        .call_in_mode(&[&y], Some(true))
        .unwrap();
    let model = g.model(&[&x], &[&y]).unwrap();
    assert!(model.inference_fusions().is_empty());
}

/// One SGD step on mean(y²) in training mode: the weights change in place.
fn sgd_step(m: &Sequential, x: &Tensor, lr: f32) {
    let params = m.parameters();
    let loss = m
        .forward(&Var::constant(x.clone()), true)
        .unwrap()
        .square()
        .mean()
        .unwrap();
    loss.backward().unwrap();
    Sgd::new(lr, 0.0, false).unwrap().step(&params).unwrap();
}

#[test]
fn predict_after_a_training_step_uses_the_new_weights() {
    let m = conv_bn_relu_stack();
    randomise(&m.named_weights(), 16);
    let x = batch(&[4, 12, 12, 3], 17);
    let before = m.predict(&x).unwrap();
    assert_close(&before, &reference_sequential(&m, &x));
    // One SGD step in training mode: the kernels, biases, gamma and beta change in place,
    // and BatchNormalization moves its statistics.
    sgd_step(&m, &x, 0.05);
    let after = m.predict(&x).unwrap();
    assert_close(&after, &reference_sequential(&m, &x));
    let moved = after
        .to_vec()
        .iter()
        .zip(before.to_vec())
        .any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(moved, "the prediction did not follow the training step");

    // Replacing a weight (as load_weights does) is seen too.
    let (_, mean) = m
        .named_weights()
        .into_iter()
        .find(|(n, _)| n == "batch_normalization/moving_mean")
        .unwrap();
    mean.set_value(Tensor::full([8], 3.0)).unwrap();
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
}

#[test]
fn predict_leaves_no_tape_and_no_gradients() {
    let m = conv_bn_relu_stack();
    let x = batch(&[2, 12, 12, 3], 18);
    let y = m.predict(&x).unwrap();
    // A constant built from the prediction has nothing to differentiate.
    assert!(!Var::constant(y).requires_grad());
    assert!(m.parameters().iter().all(|p| p.grad().is_none()));
    // The predict path checks its input as forward does.
    assert!(m.predict(&batch(&[2, 12, 11, 3], 19)).is_err());
}

#[test]
fn a_convolution_without_batch_norm_keeps_its_packed_kernel_in_step_with_its_weights() {
    // Every convolution's kernel is cached packed for the GEMM, folded or not.
    let mut m = Sequential::new();
    m.add(Input::new(&[10, 10, 40])).unwrap();
    m.add(
        Conv2D::new(36, (3, 3))
            .with_padding(Padding::Same)
            .with_activation(Activation::Relu),
    )
    .unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3)).unwrap();
    randomise(&m.named_weights(), 21);
    let x = batch(&[2, 10, 10, 40], 22);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
    sgd_step(&m, &x, 0.1);
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
    let (_, kernel) = m
        .named_weights()
        .into_iter()
        .find(|(n, _)| n.ends_with("kernel") && n.starts_with("conv2d"))
        .unwrap();
    kernel
        .set_value(Tensor::full([3, 3, 40, 36], 0.01))
        .unwrap();
    assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
}

#[test]
fn a_zero_padding_read_only_by_a_convolution_becomes_its_padding() {
    let mut m = Sequential::new();
    m.add(Input::new(&[13, 11, 3])).unwrap();
    // Asymmetric zeros before a strided "valid" convolution on 3 channels.
    m.add(ZeroPadding2D::new(((1, 2), (0, 3)))).unwrap();
    m.add(Conv2D::new(32, (3, 3)).with_strides((2, 2))).unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ActivationLayer::new(Activation::Relu)).unwrap();
    // MobileNet's stride-2 depthwise block.
    m.add(ZeroPadding2D::new(((1, 1), (1, 1)))).unwrap();
    let depthwise = DepthwiseConv2D::from_config(&serde_json::json!({
        "kernel_size": [3, 3], "strides": [2, 2], "padding": "valid", "use_bias": false,
    }))
    .unwrap();
    m.add(depthwise).unwrap();
    m.add(batch_norm()).unwrap();
    m.add(ReLU::new(Some(6.0), 0.0, 0.0)).unwrap();
    // Zeros before a "same" convolution with many channels, and before a 1x1 one.
    m.add(ZeroPadding2D::new(((2, 0), (1, 1)))).unwrap();
    m.add(Conv2D::new(40, (3, 3)).with_padding(Padding::Same))
        .unwrap();
    m.add(ZeroPadding2D::new(((1, 0), (0, 1)))).unwrap();
    m.add(Conv2D::new(5, (1, 1))).unwrap();
    randomise(&m.named_weights(), 21);
    assert_eq!(
        m.inference_fusions(),
        vec![
            "zero_padding2d + conv2d + batch_normalization + activation (Relu)",
            "zero_padding2d_1 + depthwise_conv2d + batch_normalization_1 + re_lu (Relu6)",
            "zero_padding2d_2 + conv2d_1 (Identity)",
            "zero_padding2d_3 + conv2d_2 (Identity)",
        ]
    );
    for n in [1, 3] {
        let x = batch(&[n, 13, 11, 3], 22).mul_scalar(3.0);
        assert_close(&m.predict(&x).unwrap(), &reference_sequential(&m, &x));
    }
}

#[test]
fn a_zero_padding_read_by_two_layers_stays_a_copy() {
    let g = Graph::new();
    let x = g.input(&[8, 8, 4]);
    let padded = x.apply(ZeroPadding2D::new(((1, 1), (2, 0)))).unwrap();
    let conv = padded.apply(Conv2D::new(4, (3, 3))).unwrap();
    let pool = MaxPooling2D::from_config(&serde_json::json!({"pool_size": 3, "strides": 1}));
    let pooled = padded.apply(pool.unwrap()).unwrap();
    let out = g.merge(Add::new(), &[&conv, &pooled]).unwrap();
    let model = g.model(&[&x], &[&out]).unwrap();
    randomise(&model.named_weights(), 23);
    // The convolution still takes the sum as its residual; the padding stays a layer.
    assert_eq!(model.inference_fusions(), vec!["conv2d + add (Identity)"]);
    let xs = [batch(&[2, 8, 8, 4], 24)];
    assert_close(
        &model.predict_multi(&xs).unwrap()[0],
        &reference_model(&model, &xs)[0],
    );
}

/// A ResNet basic block's tail, `relu(bn(conv(h)) + shortcut)`, with the shortcut made by a
/// branch created before or after the main path, and an identity shortcut.
fn residual_block(shortcut_first: bool) -> Model {
    let g = Graph::new();
    let x = g.input(&[8, 8, 16]);
    let shortcut_branch = |g: &Graph| {
        let s = g
            .named_layer_boxed("short_conv", Box::new(Conv2D::new(16, (1, 1))))
            .call(&[&x])
            .unwrap();
        g.named_layer_boxed("short_bn", Box::new(batch_norm()))
            .call(&[&s])
            .unwrap()
    };
    let early = shortcut_first.then(|| shortcut_branch(&g));
    let h = g
        .named_layer_boxed(
            "conv",
            Box::new(Conv2D::new(16, (3, 3)).with_padding(Padding::Same)),
        )
        .call(&[&x])
        .unwrap();
    let h = g
        .named_layer_boxed("bn", Box::new(batch_norm()))
        .call(&[&h])
        .unwrap();
    let s = early.unwrap_or_else(|| shortcut_branch(&g));
    let sum = g
        .named_layer_boxed("add", Box::new(Add::new()))
        .call(&[&h, &s])
        .unwrap();
    let y = g
        .named_layer_boxed("relu", Box::new(ActivationLayer::new(Activation::Relu)))
        .call(&[&sum])
        .unwrap();
    // An identity shortcut around one more convolution.
    let z = g
        .named_layer_boxed(
            "conv2",
            Box::new(Conv2D::new(16, (3, 3)).with_padding(Padding::Same)),
        )
        .call(&[&y])
        .unwrap();
    let out = g
        .named_layer_boxed("add2", Box::new(Add::new()))
        .call(&[&y, &z])
        .unwrap();
    g.model(&[&x], &[&out]).unwrap()
}

#[test]
fn a_residual_add_and_its_activation_join_the_convolution_before_them() {
    for (shortcut_first, fusions) in [
        (
            false,
            vec![
                "short_conv + short_bn (Identity)",
                "conv + bn + add + relu (Relu)",
                "conv2 + add2 (Identity)",
            ],
        ),
        (
            true,
            vec![
                "short_conv + short_bn + add + relu (Relu)",
                "conv + bn (Identity)",
                "conv2 + add2 (Identity)",
            ],
        ),
    ] {
        let model = residual_block(shortcut_first);
        randomise(&model.named_weights(), 31);
        let mut got = model.inference_fusions();
        got.sort();
        let mut want = fusions;
        want.sort();
        assert_eq!(got, want);
        for n in [1, 3] {
            let xs = [batch(&[n, 8, 8, 16], 32)];
            assert_close(
                &model.predict_multi(&xs).unwrap()[0],
                &reference_model(&model, &xs)[0],
            );
        }
    }
}
