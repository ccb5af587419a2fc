//! One harness for every layer, in the spirit of Keras's `run_layer_test`: for each entry of
//! the table it checks output-shape inference against a real forward pass, the config
//! round-trip through `layer_from_config`, the save/load round-trip (bit-identical output),
//! and finite-difference gradients for the input and every weight. Adding a layer means
//! adding a line to `single_input_layers` (or `merge_layers`).

use krust_autograd::gradcheck::GradCheck;
use krust_autograd::{no_grad, Var};
use krust_nn::functional::Graph;
use krust_nn::layers::*;
use krust_nn::saving::{load_sequential, save_model};
use krust_nn::{Activation, Sequential};
use krust_tensor::{Padding, Tensor, TensorError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

type Make = fn() -> Box<dyn Layer>;

/// (name, constructor, per-sample input shape, inputs need well-separated values).
fn single_input_layers() -> Vec<(&'static str, Make, Vec<usize>, bool)> {
    vec![
        ("Dense", || Box::new(Dense::new(4)), vec![5], false),
        (
            "Dense with L1L2, activity L2 and MaxNorm",
            || {
                let mut d = Dense::new(3);
                d.penalties
                    .set_regularizer(
                        "kernel",
                        Some(krust_nn::regularizers::Regularizer::L1L2 { l1: 0.01, l2: 0.02 }),
                    )
                    .unwrap();
                d.penalties.activity_regularizer =
                    Some(krust_nn::regularizers::Regularizer::L2 { l2: 0.1 });
                d.penalties
                    .set_constraint(
                        "kernel",
                        Some(krust_nn::regularizers::MaxNorm::new(1.5).into()),
                    )
                    .unwrap();
                Box::new(d)
            },
            vec![4],
            false,
        ),
        (
            "ActivityRegularization",
            || Box::new(ActivityRegularization::new(0.01, 0.02)),
            vec![5],
            false,
        ),
        (
            "Dense tanh 3-D",
            || Box::new(Dense::new(3).with_activation(Activation::Tanh)),
            vec![2, 4],
            false,
        ),
        (
            "Conv2D valid",
            || Box::new(Conv2D::new(3, (3, 3))),
            vec![6, 5, 2],
            false,
        ),
        (
            "Conv2D same stride 2",
            || {
                Box::new(
                    Conv2D::new(2, (3, 3))
                        .with_strides((2, 2))
                        .with_padding(Padding::Same),
                )
            },
            vec![7, 6, 3],
            false,
        ),
        (
            "Conv2D dilation 2",
            || Box::new(Conv2D::new(2, (3, 3)).with_dilation((2, 2))),
            vec![8, 8, 1],
            false,
        ),
        (
            "Conv2D planar 5x5 same",
            || Box::new(Conv2D::new(3, (5, 5)).with_padding(Padding::Same)),
            vec![10, 9, 1],
            false,
        ),
        (
            "MaxPooling2D",
            || Box::new(MaxPooling2D::new((2, 2))),
            vec![6, 5, 2],
            true,
        ),
        (
            "MaxPooling2D same stride 1",
            || {
                Box::new(
                    MaxPooling2D::new((3, 3))
                        .with_strides((1, 1))
                        .with_padding(Padding::Same),
                )
            },
            vec![5, 5, 2],
            true,
        ),
        (
            "MaxPooling2D PyTorch padding 1 stride 2",
            || {
                Box::new(
                    MaxPooling2D::new((3, 3))
                        .with_strides((2, 2))
                        .with_explicit_padding(((1, 1), (1, 1))),
                )
            },
            vec![6, 7, 2],
            true,
        ),
        (
            "MaxPooling2D PyTorch ceil mode, uneven padding",
            || {
                Box::new(
                    MaxPooling2D::new((3, 3))
                        .with_strides((2, 2))
                        .with_explicit_padding(((1, 0), (0, 2)))
                        .with_ceil_mode(true),
                )
            },
            vec![8, 7, 2],
            true,
        ),
        (
            "AveragePooling2D PyTorch padding and ceil mode",
            || {
                Box::new(
                    AveragePooling2D::new((2, 2))
                        .with_strides((2, 2))
                        .with_explicit_padding(((1, 1), (1, 1)))
                        .with_ceil_mode(true),
                )
            },
            vec![5, 6, 2],
            false,
        ),
        (
            "AdaptiveAveragePooling2D 7x5 to 3x2",
            || Box::new(AdaptiveAveragePooling2D::new((3, 2))),
            vec![7, 5, 2],
            false,
        ),
        (
            "AdaptiveAveragePooling2D upsampling 2x3 to 4x4",
            || Box::new(AdaptiveAveragePooling2D::new((4, 4))),
            vec![2, 3, 1],
            false,
        ),
        (
            "AveragePooling2D same",
            || {
                Box::new(
                    AveragePooling2D::new((3, 3))
                        .with_strides((2, 2))
                        .with_padding(Padding::Same),
                )
            },
            vec![7, 6, 2],
            false,
        ),
        ("Flatten", || Box::new(Flatten::new()), vec![3, 2, 2], false),
        (
            "Conv3DTranspose same stride 2",
            || {
                Box::new(
                    Conv3DTranspose::new(2, [3, 2, 3])
                        .with_strides([2, 1, 2])
                        .with_padding(Padding::Same),
                )
            },
            vec![2, 3, 2, 2],
            false,
        ),
        (
            "UpSampling2D bilinear",
            || Box::new(UpSampling2D::bilinear((2, 3))),
            vec![3, 2, 2],
            false,
        ),
        (
            "Normalization fixed",
            || {
                Box::new(Normalization::with_stats(
                    &[0.5, -1.0, 2.0],
                    &[4.0, 0.25, 1.0],
                ))
            },
            vec![2, 3],
            false,
        ),
        (
            "Normalization inverted",
            || {
                let mut n = Normalization::with_stats(&[0.5], &[4.0]);
                n.invert = true;
                Box::new(n)
            },
            vec![3],
            false,
        ),
        (
            "ReLU max 0.55 slope 0.1 threshold 0.25",
            || Box::new(ReLU::new(Some(0.55), 0.1, 0.25)),
            vec![8],
            true,
        ),
        ("LeakyReLU", || Box::new(LeakyReLU::new(0.3)), vec![6], true),
        ("ELU", || Box::new(ELU::new(0.7)), vec![6], true),
        (
            "Softmax axis 1",
            || Box::new(Softmax::new(1)),
            vec![3, 4],
            false,
        ),
        (
            "PReLU shared over rows",
            || Box::new(PReLU::new(&[1])),
            vec![3, 4],
            true,
        ),
        ("Maxout", || Box::new(Maxout::new(2)), vec![3, 6], true),
        (
            "Dense elu alpha 0.5",
            || Box::new(Dense::new(3).with_activation(Activation::Elu { alpha: 0.5 })),
            vec![4],
            false,
        ),
        (
            "Activation softmax axis 1",
            || Box::new(ActivationLayer::new(Activation::Softmax { axis: 1 })),
            vec![3, 4],
            false,
        ),
        (
            "Activation sigmoid",
            || Box::new(ActivationLayer::new(Activation::Sigmoid)),
            vec![6],
            false,
        ),
        (
            "Activation softmax",
            || {
                Box::new(ActivationLayer::new(
                    Activation::from_name("softmax").unwrap(),
                ))
            },
            vec![6],
            false,
        ),
        ("Dropout", || Box::new(Dropout::new(0.25)), vec![6], false),
        (
            "GlobalAveragePooling2D",
            || Box::new(GlobalAveragePooling2D::new()),
            vec![4, 3, 2],
            false,
        ),
        (
            "GlobalMaxPooling2D keepdims",
            || Box::new(GlobalMaxPooling2D::with_keepdims(true)),
            vec![4, 3, 2],
            true,
        ),
        (
            "Reshape with -1",
            || Box::new(Reshape::new(&[-1, 4])),
            vec![3, 2, 2],
            false,
        ),
        (
            "Permute",
            || Box::new(Permute::new(&[2, 1])),
            vec![3, 4],
            false,
        ),
        (
            "RepeatVector",
            || Box::new(RepeatVector::new(3)),
            vec![4],
            false,
        ),
        (
            "ZeroPadding2D asymmetric",
            || Box::new(ZeroPadding2D::new(((1, 2), (0, 3)))),
            vec![3, 2, 2],
            false,
        ),
        (
            "Cropping2D asymmetric",
            || Box::new(Cropping2D::new(((1, 0), (2, 1)))),
            vec![5, 6, 2],
            false,
        ),
        (
            "UpSampling2D nearest",
            || Box::new(UpSampling2D::new((2, 3))),
            vec![2, 3, 2],
            false,
        ),
        (
            "Rescaling",
            || Box::new(Rescaling::new(1.0 / 255.0, -0.5)),
            vec![4],
            false,
        ),
        (
            "BatchNormalization",
            || Box::new(BatchNormalization::new()),
            vec![3, 2, 4],
            false,
        ),
        (
            "BatchNormalization axis 1",
            || Box::new(BatchNormalization::new().with_axis(1)),
            vec![3, 5],
            false,
        ),
        (
            "BatchNormalization with gamma L2, beta NonNeg and Constant initializers",
            || {
                use krust_nn::initializers::Initializer;
                use krust_nn::regularizers::{Constraint, Regularizer};
                let mut bn = BatchNormalization::new();
                bn.gamma_initializer = Initializer::Constant { value: 1.5 };
                bn.moving_variance_initializer = Initializer::Constant { value: 2.0 };
                bn.penalties
                    .set_regularizer("gamma", Some(Regularizer::L2 { l2: 0.1 }))
                    .unwrap();
                bn.penalties
                    .set_constraint("beta", Some(Constraint::NonNeg))
                    .unwrap();
                Box::new(bn)
            },
            vec![3, 4],
            false,
        ),
        (
            "SeparableConv2D with every weight regularized and constrained",
            || {
                use krust_nn::initializers::Initializer;
                use krust_nn::regularizers::{Constraint, MaxNorm, Regularizer};
                let mut s = SeparableConv2D::new(3, (2, 2));
                s.pointwise_initializer = Initializer::HeUniform;
                s.bias_initializer = Initializer::Constant { value: 0.1 };
                for (weight, l1) in [("depthwise", 0.01), ("pointwise", 0.02), ("bias", 0.03)] {
                    s.penalties
                        .set_regularizer(weight, Some(Regularizer::L1 { l1 }))
                        .unwrap();
                }
                s.penalties
                    .set_constraint("depthwise", Some(Constraint::unit_norm(&[0, 1])))
                    .unwrap();
                s.penalties
                    .set_constraint("pointwise", Some(MaxNorm::new(1.0).into()))
                    .unwrap();
                s.penalties
                    .set_constraint("bias", Some(Constraint::min_max_norm(0.0, 1.0, 0.5, &[0])))
                    .unwrap();
                s.penalties.activity_regularizer = Some(Regularizer::L2 { l2: 0.01 });
                Box::new(s)
            },
            vec![4, 4, 2],
            false,
        ),
        (
            "LayerNormalization",
            || Box::new(LayerNormalization::new()),
            vec![3, 5],
            false,
        ),
        (
            "LayerNormalization two axes",
            || Box::new(LayerNormalization::new().with_axis(&[1, 2])),
            vec![3, 4, 2],
            false,
        ),
        (
            "GroupNormalization",
            || Box::new(GroupNormalization::new(2)),
            vec![3, 2, 4],
            false,
        ),
        (
            "InstanceNormalization",
            || Box::new(InstanceNormalization::new()),
            vec![3, 2, 3],
            false,
        ),
        (
            "SpatialDropout1D",
            || Box::new(SpatialDropout1D::new(0.3)),
            vec![4, 3],
            false,
        ),
        (
            "SpatialDropout2D",
            || Box::new(SpatialDropout2D::new(0.3)),
            vec![3, 2, 3],
            false,
        ),
        (
            "SpatialDropout3D",
            || Box::new(SpatialDropout3D::new(0.3)),
            vec![2, 2, 2, 3],
            false,
        ),
        (
            "GaussianDropout",
            || Box::new(GaussianDropout::new(0.3)),
            vec![5],
            false,
        ),
        (
            "GaussianNoise",
            || Box::new(GaussianNoise::new(0.2)),
            vec![5],
            false,
        ),
        (
            "Conv2D groups 2",
            || Box::new(Conv2D::new(4, (3, 3)).with_groups(2)),
            vec![5, 5, 4],
            false,
        ),
        (
            "Conv1D same stride 2",
            || {
                Box::new(
                    Conv1D::new(3, 3)
                        .with_padding(Padding1D::Same)
                        .with_strides(2),
                )
            },
            vec![9, 2],
            false,
        ),
        (
            "Conv1D causal dilation 2",
            || {
                Box::new(
                    Conv1D::new(2, 3)
                        .with_padding(Padding1D::Causal)
                        .with_dilation(2),
                )
            },
            vec![8, 3],
            false,
        ),
        (
            "DepthwiseConv2D multiplier 2",
            || Box::new(DepthwiseConv2D::new((3, 3), 2).with_padding(Padding::Same)),
            vec![5, 4, 3],
            false,
        ),
        (
            "SeparableConv2D",
            || Box::new(SeparableConv2D::new(4, (3, 3))),
            vec![5, 6, 3],
            false,
        ),
        (
            "SeparableConv1D",
            || Box::new(SeparableConv1D::new(3, 3).with_depth_multiplier(2)),
            vec![7, 2],
            false,
        ),
        (
            "MaxPooling1D same stride 1",
            || {
                Box::new(
                    MaxPooling1D::new(3)
                        .with_strides(1)
                        .with_padding(Padding::Same),
                )
            },
            vec![7, 2],
            true,
        ),
        (
            "AveragePooling1D",
            || Box::new(AveragePooling1D::new(2)),
            vec![7, 2],
            false,
        ),
        (
            "GlobalAveragePooling1D",
            || Box::new(GlobalAveragePooling1D::new()),
            vec![5, 3],
            false,
        ),
        (
            "GlobalMaxPooling1D",
            || Box::new(GlobalMaxPooling1D::new()),
            vec![5, 3],
            true,
        ),
        (
            "GlobalAveragePooling3D",
            || Box::new(GlobalAveragePooling3D::new()),
            vec![2, 3, 2, 3],
            false,
        ),
        (
            "GlobalMaxPooling3D",
            || Box::new(GlobalMaxPooling3D::new()),
            vec![2, 3, 2, 3],
            true,
        ),
        (
            "Conv2DTranspose valid stride 2",
            || Box::new(Conv2DTranspose::new(3, (3, 3)).with_strides((2, 2))),
            vec![3, 4, 2],
            false,
        ),
        (
            "Conv2DTranspose same stride 2 output padding",
            || {
                Box::new(
                    Conv2DTranspose::new(2, (3, 3))
                        .with_strides((2, 2))
                        .with_padding(Padding::Same)
                        .with_output_padding((1, 0)),
                )
            },
            vec![3, 3, 2],
            false,
        ),
        (
            "ZeroPadding1D",
            || Box::new(ZeroPadding1D::new((2, 1))),
            vec![4, 3],
            false,
        ),
        (
            "ZeroPadding3D",
            || Box::new(ZeroPadding3D::new([(1, 0), (0, 2), (1, 1)])),
            vec![2, 3, 2, 2],
            false,
        ),
        (
            "Cropping1D",
            || Box::new(Cropping1D::new((1, 2))),
            vec![6, 2],
            false,
        ),
        (
            "Cropping3D",
            || Box::new(Cropping3D::new([(1, 0), (0, 1), (1, 1)])),
            vec![3, 3, 4, 2],
            false,
        ),
        (
            "UpSampling1D",
            || Box::new(UpSampling1D::new(3)),
            vec![4, 2],
            false,
        ),
        (
            "UpSampling3D",
            || Box::new(UpSampling3D::new([2, 1, 2])),
            vec![2, 2, 3, 2],
            false,
        ),
        (
            "Conv3D same stride 2",
            || {
                Box::new(
                    Conv3D::new(2, [3, 3, 2])
                        .with_strides([2, 2, 1])
                        .with_padding(Padding::Same),
                )
            },
            vec![5, 4, 3, 2],
            false,
        ),
        (
            "Conv3D groups 2 same",
            || {
                let mut conv = Conv3D::new(4, [2, 3, 2]).with_padding(Padding::Same);
                conv.groups = 2;
                Box::new(conv)
            },
            vec![3, 4, 3, 4],
            false,
        ),
        (
            "Conv3D depthwise (groups = channels) valid stride 2",
            || {
                let mut conv = Conv3D::new(3, [2, 2, 2]).with_strides([2, 1, 2]);
                conv.groups = 3;
                Box::new(conv)
            },
            vec![4, 3, 5, 3],
            false,
        ),
        (
            "MaxPooling3D same",
            || {
                Box::new(
                    MaxPooling3D::new([2, 3, 2])
                        .with_strides([2, 2, 1])
                        .with_padding(Padding::Same),
                )
            },
            vec![3, 5, 4, 2],
            true,
        ),
        (
            "AveragePooling3D same",
            || {
                Box::new(
                    AveragePooling3D::new([3, 3, 2])
                        .with_strides([2, 2, 2])
                        .with_padding(Padding::Same),
                )
            },
            vec![5, 5, 3, 2],
            false,
        ),
        (
            "Conv1DTranspose same stride 2",
            || {
                Box::new(
                    Conv1DTranspose::new(2, 4)
                        .with_strides((1, 2))
                        .with_padding(Padding::Same),
                )
            },
            vec![5, 3],
            false,
        ),
        // Layers added for keras.applications (appended, so earlier entries keep their seeds).
        (
            "Normalization fixed on axis 1 of 3",
            || {
                let mut n = Normalization::with_stats(&[0.5, -1.0, 2.0], &[4.0, 0.25, 1.0]);
                n.axis = Some(1);
                Box::new(n)
            },
            vec![3, 2, 2],
            false,
        ),
        (
            "LayerScale",
            || Box::new(LayerScale::new(0.5, 3)),
            vec![2, 3],
            false,
        ),
        (
            "UnitNormalization",
            || Box::new(UnitNormalization::new()),
            vec![4],
            false,
        ),
        (
            "UnitNormalization over axes 1 and 2",
            || Box::new(UnitNormalization::with_axis(&[1, 2])),
            vec![2, 3],
            false,
        ),
        (
            "Arithmetic x + 3",
            || Box::new(Arithmetic::new(ArithmeticOp::Add, [None, Some(3.0)]).unwrap()),
            vec![4],
            false,
        ),
        (
            "Arithmetic 0.5 - x",
            || Box::new(Arithmetic::new(ArithmeticOp::Subtract, [Some(0.5), None]).unwrap()),
            vec![4],
            false,
        ),
        (
            "Arithmetic x * (1 / 6)",
            || Box::new(Arithmetic::new(ArithmeticOp::Multiply, [None, Some(1.0 / 6.0)]).unwrap()),
            vec![2, 2],
            false,
        ),
        (
            "Arithmetic x / 4",
            || Box::new(Arithmetic::new(ArithmeticOp::Divide, [None, Some(4.0)]).unwrap()),
            vec![3],
            false,
        ),
        (
            "Activation hard_silu",
            || Box::new(ActivationLayer::new(Activation::HardSilu)),
            vec![6],
            false,
        ),
        (
            "AlphaDropout",
            || Box::new(AlphaDropout::new(0.3)),
            vec![5],
            false,
        ),
        (
            "Dropout with noise_shape",
            || Box::new(Dropout::new(0.25).with_noise_shape(&[None, Some(1), None])),
            vec![3, 4],
            false,
        ),
        ("Identity", || Box::new(Identity::new()), vec![2, 3], false),
        (
            "StochasticDepth",
            || Box::new(StochasticDepth::new(0.2)),
            vec![2, 3],
            false,
        ),
    ]
}

fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Tensor::rand_uniform(shape.to_vec(), -1.0, 1.0, &mut rng)
}

/// A shuffled ramp: every value distinct and 0.1 apart, so no max-pool tie moves under a
/// finite-difference step.
fn separated(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v: Vec<f32> = (0..n)
        .map(|i| i as f32 * 0.1 - n as f32 * 0.05 + 0.037)
        .collect();
    for i in (1..n).rev() {
        v.swap(i, rng.gen_range(0..=i));
    }
    Tensor::from_vec(shape.to_vec(), v).unwrap()
}

fn with_batch(batch: usize, shape: &[usize]) -> Vec<usize> {
    std::iter::once(batch)
        .chain(shape.iter().copied())
        .collect()
}

/// Finite-difference check of d/dx and d/dweights of sum(layer(x) ⊙ r) with the project's one
/// checker (`krust_autograd::gradcheck`), in inference mode for layers with randomness (their
/// training mode is checked by their own tests).
fn gradient_check(name: &str, layer: &dyn Layer, x: &Tensor, training: bool) {
    let check = GradCheck {
        max_elements: 25,
        ..GradCheck::default()
    };
    check_gradients(layer, x, training, check).unwrap_or_else(|e| panic!("{name}: {e}"));
}

#[test]
fn every_single_input_layer_passes_the_harness() {
    for (i, (name, make, input_shape, separate)) in single_input_layers().into_iter().enumerate() {
        krust_tensor::random::set_global_seed(100 + i as u64);
        let x = if separate {
            separated(&with_batch(2, &input_shape), i as u64)
        } else {
            random(&with_batch(2, &input_shape), i as u64)
        };

        // Shape inference agrees with a real forward pass.
        let mut layer = make();
        let declared = layer
            .build(&input_shape)
            .unwrap_or_else(|e| panic!("{name}: build: {e}"));
        let y = no_grad(|| layer.forward(&Var::constant(x.clone()), false)).unwrap();
        assert_eq!(y.shape(), with_batch(2, &declared), "{name}: output shape");

        // Config round trip: same config, and (with the same weights) the same output.
        let config = layer.config();
        let mut rebuilt = layer_from_config(layer.class_name(), &config)
            .unwrap_or_else(|e| panic!("{name}: from_config: {e}"));
        assert_eq!(rebuilt.config(), config, "{name}: config round trip");
        rebuilt.build(&input_shape).unwrap();
        for ((_, a), (_, b)) in layer.weights().iter().zip(rebuilt.weights()) {
            b.set_value(a.value()).unwrap();
        }
        let y2 = no_grad(|| rebuilt.forward(&Var::constant(x.clone()), false)).unwrap();
        assert_eq!(
            y.value().to_vec(),
            y2.value().to_vec(),
            "{name}: rebuilt layer output"
        );

        // Save/load round trip inside a model: bit-identical inference.
        let mut model = Sequential::new();
        model.add(Input::new(&input_shape)).unwrap();
        model.add_boxed(make()).unwrap();
        let path =
            std::env::temp_dir().join(format!("krust-harness-{}-{i}.krust", std::process::id()));
        save_model(&model, &path).unwrap();
        let loaded = load_sequential(&path).unwrap();
        let (a, b) = (model.predict(&x).unwrap(), loaded.predict(&x).unwrap());
        assert!(
            a.to_vec()
                .iter()
                .zip(b.to_vec())
                .all(|(p, q)| p.to_bits() == q.to_bits()),
            "{name}: save/load"
        );
        let _ = std::fs::remove_file(&path);

        // Gradients.
        gradient_check(name, layer.as_ref(), &x, false);
    }
}

#[test]
fn batch_normalization_training_mode_gradients_use_batch_statistics() {
    krust_tensor::random::set_global_seed(5);
    let mut bn = BatchNormalization::new();
    bn.build(&[3, 4]).unwrap();
    // Non-trivial gamma and beta so their gradients are exercised too.
    bn.weights()[0]
        .1
        .set_value(random(&[4], 1).add_scalar(1.5))
        .unwrap();
    bn.weights()[1].1.set_value(random(&[4], 2)).unwrap();
    gradient_check(
        "BatchNormalization (training)",
        &bn,
        &random(&[5, 3, 4], 3),
        true,
    );
    // Moving statistics are weights but not trainable.
    assert_eq!(bn.weights().len(), 4);
    assert_eq!(bn.parameters().len(), 2);
}

#[test]
fn regularizers_add_their_penalty_in_training_and_constraints_clip_weights() {
    use krust_nn::regularizers::{MaxNorm, Regularizer};
    krust_tensor::random::set_global_seed(9);
    let mut d = Dense::new(2);
    d.penalties
        .set_regularizer("kernel", Some(Regularizer::L2 { l2: 0.5 }))
        .unwrap();
    d.penalties
        .set_constraint("kernel", Some(MaxNorm::new(0.1).into()))
        .unwrap();
    d.build(&[3]).unwrap();
    let kernel = d.weights()[0].1.clone();
    let x = Var::constant(random(&[4, 3], 1));
    d.forward(&x, true).unwrap();
    let penalties = d.losses();
    let want = 0.5 * kernel.value().to_vec().iter().map(|w| w * w).sum::<f32>();
    assert_eq!(penalties.len(), 1);
    assert!((penalties[0].value().item().unwrap() - want).abs() < 1e-6);
    d.clear_losses();
    d.forward(&x, false).unwrap();
    assert!(d.losses().is_empty(), "inference adds no penalty");
    d.apply_constraints().unwrap();
    let k = kernel.value();
    for col in 0..2 {
        let norm = (0..3)
            .map(|r| k.to_vec()[r * 2 + col].powi(2))
            .sum::<f32>()
            .sqrt();
        assert!(norm <= 0.1 + 1e-6, "column {col} norm {norm}");
    }
    // The penalty round-trips through the config.
    let config = d.config();
    assert_eq!(config["kernel_regularizer"]["class_name"], "L2");
    let back = layer_from_config("Dense", &config).unwrap();
    assert_eq!(back.config(), config);
}

#[test]
fn embedding_looks_up_rows_and_scatters_gradients_back() {
    krust_tensor::random::set_global_seed(3);
    let mut e = Embedding::new(5, 3);
    assert_eq!(e.build(&[4]).unwrap(), vec![4, 3]);
    let table = e.weights()[0].1.clone();
    let ids =
        Var::constant(Tensor::from_vec([2, 4], vec![0., 4., 4., 1., 2., 2., 3., 0.]).unwrap());
    let y = e.forward(&ids, true).unwrap();
    assert_eq!(y.shape(), vec![2, 4, 3]);
    let t = table.value();
    assert_eq!(&y.value().to_vec()[3..6], &t.to_vec()[12..15]);
    y.sum().unwrap().backward().unwrap();
    // Row 4 was used twice, row 2 twice, rows 0 twice, 1 and 3 once.
    let g = table.grad().unwrap();
    assert_eq!(g.to_vec()[12], 2.0);
    assert_eq!(g.to_vec()[3], 1.0);
    let bad = Var::constant(Tensor::from_vec([1, 1], vec![5.0]).unwrap());
    assert!(e
        .forward(&bad, false)
        .err()
        .unwrap()
        .to_string()
        .contains('5'));
    let half = Var::constant(Tensor::from_vec([1, 1], vec![1.5]).unwrap());
    assert!(e.forward(&half, false).is_err());
    let config = e.config();
    assert_eq!(
        layer_from_config("Embedding", &config).unwrap().config(),
        config
    );
}

#[test]
fn normalization_adapts_to_data() {
    let mut n = Normalization::new();
    n.build(&[2]).unwrap();
    n.adapt(&Tensor::from_vec([4, 2], vec![1., 10., 3., 10., 5., 20., 7., 20.]).unwrap())
        .unwrap();
    let y = n
        .forward(
            &Var::constant(Tensor::from_vec([1, 2], vec![4., 15.]).unwrap()),
            false,
        )
        .unwrap();
    assert!(
        y.value().to_vec().iter().all(|v| v.abs() < 1e-6),
        "the mean maps to 0"
    );
    let w = n.weights();
    assert_eq!(
        w.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["mean", "variance", "count"]
    );
    assert_eq!(w[1].1.value().to_vec(), vec![5.0, 25.0]);
    assert_eq!(w[2].1.value().item().unwrap(), 4.0);
    // One feature axis anywhere (EfficientNet writes [3]); several axes are refused.
    assert!(Normalization::from_config(&serde_json::json!({"axis": [3]})).is_ok());
    assert!(Normalization::from_config(&serde_json::json!({"axis": [1, 2]})).is_err());
}

#[test]
fn every_merge_layer_passes_the_harness() {
    let merges: Vec<(&str, Make, usize)> = vec![
        ("Add", || Box::new(Add::new()), 3),
        ("Subtract", || Box::new(Subtract::new()), 2),
        ("Multiply", || Box::new(Multiply::new()), 2),
        ("Average", || Box::new(Average::new()), 3),
        ("Maximum", || Box::new(Maximum::new()), 2),
        ("Minimum", || Box::new(Minimum::new()), 2),
        ("Concatenate", || Box::new(Concatenate::new(-1)), 2),
        ("Dot", || Box::new(Dot::new((1, 1), false)), 2),
        ("Dot", || Box::new(Dot::new((-1, -1), true)), 2),
        (
            "CustomScaleLayer",
            || Box::new(CustomScaleLayer::new(0.17)),
            2,
        ),
        (
            "Arithmetic",
            || Box::new(Arithmetic::new(ArithmeticOp::Add, [None, None]).unwrap()),
            2,
        ),
        (
            "Arithmetic",
            || Box::new(Arithmetic::new(ArithmeticOp::Multiply, [None, None]).unwrap()),
            2,
        ),
    ];
    let shape = vec![3, 4];
    for (name, make, n) in merges {
        let mut layer = make();
        let shapes = vec![shape.clone(); n];
        let out = layer.build_multi(&shapes).unwrap();
        let config = layer.config();
        assert_eq!(
            layer_from_config(layer.class_name(), &config)
                .unwrap()
                .config(),
            config,
            "{name}"
        );
        let xs: Vec<Tensor> = (0..n)
            .map(|k| separated(&with_batch(2, &shape), 10 + k as u64).add_scalar(k as f32 * 0.05))
            .collect();
        let vars: Vec<Var> = xs.iter().map(|x| Var::parameter(x.clone())).collect();
        let y = layer.forward_multi(&vars, false).unwrap();
        assert_eq!(y.shape(), with_batch(2, &out), "{name}: output shape");
        // Gradient of sum(y ⊙ r) for each input, at every element.
        let check = GradCheck {
            max_elements: usize::MAX,
            ..GradCheck::default()
        };
        check
            .run(&xs, |v| {
                layer
                    .forward_multi(v, false)
                    .map_err(|e| TensorError::invalid("forward", e.to_string()))
            })
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        // Mismatched shapes are refused by name.
        let mut layer = make();
        if name != "Concatenate" && name != "Dot" {
            let e = layer
                .build_multi(&[vec![3, 4], vec![3, 5]])
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains(name), "{e}");
        }
    }
    // Merges also work in a graph.
    let g = Graph::new();
    let (a, b) = (g.input(&[4]), g.input(&[4]));
    let s = g.merge(Concatenate::new(1), &[&a, &b]).unwrap();
    assert_eq!(s.shape(), vec![8]);
}
