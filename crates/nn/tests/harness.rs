//! One harness for every layer, in the spirit of Keras's `run_layer_test`: each case below is
//! its own named test (`cargo test --test harness conv2d_same_stride_2`), and checks
//! output-shape inference against a real forward pass, the config round-trip through
//! `layer_from_config`, the save/load round-trip (bit-identical output), and finite-difference
//! gradients for the input and every weight in inference and in training mode, and Keras's
//! reference outputs for the case's class (fixtures/keras/layers). Layers with
//! randomness replay one fixed set of masks for the training-mode check (their stream is
//! rewound before every evaluation), so dropout is really checked, not the identity.
//! `every_registered_class_has_a_harness_case` fails when a class of the layer registry has
//! no case here.

use krust_autograd::gradcheck::GradCheck;
use krust_autograd::{no_grad, Var};
use krust_nn::functional::Graph;
use krust_nn::layers::*;
use krust_nn::saving::{load_sequential, save_model};
use krust_nn::{Activation, Sequential};
use krust_tensor::{Padding, Tensor, TensorError};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
mod keras_fixtures;

use keras_fixtures::check_keras_layer_cases_of;

type Make = fn() -> Box<dyn Layer>;

/// Declares the single-input cases: one `#[test]` per case, and `single_input_cases()`
/// listing them all for the registry coverage test.
macro_rules! single_input_cases {
    ($($test:ident => ($name:expr, $make:expr, $shape:expr, $separate:expr $(,)?)),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_single_input_case($name, $make, $shape, $separate);
            }
        )*

        fn single_input_cases() -> Vec<(&'static str, Make)> {
            vec![$(($name, $make as Make)),*]
        }
    };
}

/// Declares the merge-layer cases like `single_input_cases!`: (description, constructor,
/// number of inputs).
macro_rules! merge_cases {
    ($($test:ident => ($name:expr, $make:expr, $inputs:expr $(,)?)),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run_merge_case($name, $make, $inputs);
            }
        )*

        fn merge_cases() -> Vec<(&'static str, Make)> {
            vec![$(($name, $make as Make)),*]
        }
    };
}

// test name => (description, constructor, per-sample input shape, inputs need well-separated
// values).
single_input_cases! {
        dense => ("Dense", || Box::new(Dense::new(4)), vec![5], false),
        dense_with_l1l2_activity_l2_and_max_norm => (
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
        activity_regularization => (
            "ActivityRegularization",
            || Box::new(ActivityRegularization::new(0.01, 0.02)),
            vec![5],
            false,
        ),
        dense_tanh_3d => (
            "Dense tanh 3-D",
            || Box::new(Dense::new(3).with_activation(Activation::Tanh)),
            vec![2, 4],
            false,
        ),
        conv2d_valid => (
            "Conv2D valid",
            || Box::new(Conv2D::new(3, (3, 3))),
            vec![6, 5, 2],
            false,
        ),
        conv2d_same_stride_2 => (
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
        conv2d_dilation_2 => (
            "Conv2D dilation 2",
            || Box::new(Conv2D::new(2, (3, 3)).with_dilation((2, 2))),
            vec![8, 8, 1],
            false,
        ),
        conv2d_planar_5x5_same => (
            "Conv2D planar 5x5 same",
            || Box::new(Conv2D::new(3, (5, 5)).with_padding(Padding::Same)),
            vec![10, 9, 1],
            false,
        ),
        max_pooling2d => (
            "MaxPooling2D",
            || Box::new(MaxPooling2D::new((2, 2))),
            vec![6, 5, 2],
            true,
        ),
        max_pooling2d_same_stride_1 => (
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
        max_pooling2d_pytorch_padding_1_stride_2 => (
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
        max_pooling2d_pytorch_ceil_mode_uneven_padding => (
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
        average_pooling2d_pytorch_padding_and_ceil_mode => (
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
        adaptive_average_pooling2d_7x5_to_3x2 => (
            "AdaptiveAveragePooling2D 7x5 to 3x2",
            || Box::new(AdaptiveAveragePooling2D::new((3, 2))),
            vec![7, 5, 2],
            false,
        ),
        adaptive_average_pooling2d_upsampling_2x3_to_4x4 => (
            "AdaptiveAveragePooling2D upsampling 2x3 to 4x4",
            || Box::new(AdaptiveAveragePooling2D::new((4, 4))),
            vec![2, 3, 1],
            false,
        ),
        average_pooling2d_same => (
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
        flatten => ("Flatten", || Box::new(Flatten::new()), vec![3, 2, 2], false),
        conv3_dtranspose_same_stride_2 => (
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
        up_sampling2d_bilinear => (
            "UpSampling2D bilinear",
            || Box::new(UpSampling2D::bilinear((2, 3))),
            vec![3, 2, 2],
            false,
        ),
        normalization_fixed => (
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
        normalization_inverted => (
            "Normalization inverted",
            || {
                let mut n = Normalization::with_stats(&[0.5], &[4.0]);
                n.invert = true;
                Box::new(n)
            },
            vec![3],
            false,
        ),
        relu_max_0_55_slope_0_1_threshold_0_25 => (
            "ReLU max 0.55 slope 0.1 threshold 0.25",
            || Box::new(ReLU::new(Some(0.55), 0.1, 0.25)),
            vec![8],
            true,
        ),
        leaky_relu => ("LeakyReLU", || Box::new(LeakyReLU::new(0.3)), vec![6], true),
        elu => ("ELU", || Box::new(ELU::new(0.7)), vec![6], true),
        softmax_axis_1 => (
            "Softmax axis 1",
            || Box::new(Softmax::new(1)),
            vec![3, 4],
            false,
        ),
        prelu_shared_over_rows => (
            "PReLU shared over rows",
            || Box::new(PReLU::new(&[1])),
            vec![3, 4],
            true,
        ),
        maxout => ("Maxout", || Box::new(Maxout::new(2)), vec![3, 6], true),
        dense_elu_alpha_0_5 => (
            "Dense elu alpha 0.5",
            || Box::new(Dense::new(3).with_activation(Activation::Elu { alpha: 0.5 })),
            vec![4],
            false,
        ),
        activation_softmax_axis_1 => (
            "Activation softmax axis 1",
            || Box::new(ActivationLayer::new(Activation::Softmax { axis: 1 })),
            vec![3, 4],
            false,
        ),
        activation_sigmoid => (
            "Activation sigmoid",
            || Box::new(ActivationLayer::new(Activation::Sigmoid)),
            vec![6],
            false,
        ),
        activation_softmax => (
            "Activation softmax",
            || {
                Box::new(ActivationLayer::new(
                    Activation::from_name("softmax").unwrap(),
                ))
            },
            vec![6],
            false,
        ),
        dropout => ("Dropout", || Box::new(Dropout::new(0.25)), vec![6], false),
        global_average_pooling2d => (
            "GlobalAveragePooling2D",
            || Box::new(GlobalAveragePooling2D::new()),
            vec![4, 3, 2],
            false,
        ),
        global_max_pooling2d_keepdims => (
            "GlobalMaxPooling2D keepdims",
            || Box::new(GlobalMaxPooling2D::with_keepdims(true)),
            vec![4, 3, 2],
            true,
        ),
        reshape_with_minus_1 => (
            "Reshape with -1",
            || Box::new(Reshape::new(&[-1, 4])),
            vec![3, 2, 2],
            false,
        ),
        permute => (
            "Permute",
            || Box::new(Permute::new(&[2, 1])),
            vec![3, 4],
            false,
        ),
        repeat_vector => (
            "RepeatVector",
            || Box::new(RepeatVector::new(3)),
            vec![4],
            false,
        ),
        zero_padding2d_asymmetric => (
            "ZeroPadding2D asymmetric",
            || Box::new(ZeroPadding2D::new(((1, 2), (0, 3)))),
            vec![3, 2, 2],
            false,
        ),
        cropping2d_asymmetric => (
            "Cropping2D asymmetric",
            || Box::new(Cropping2D::new(((1, 0), (2, 1)))),
            vec![5, 6, 2],
            false,
        ),
        up_sampling2d_nearest => (
            "UpSampling2D nearest",
            || Box::new(UpSampling2D::new((2, 3))),
            vec![2, 3, 2],
            false,
        ),
        rescaling => (
            "Rescaling",
            || Box::new(Rescaling::new(1.0 / 255.0, -0.5)),
            vec![4],
            false,
        ),
        batch_normalization => (
            "BatchNormalization",
            || Box::new(BatchNormalization::new()),
            vec![3, 2, 4],
            false,
        ),
        batch_normalization_axis_1 => (
            "BatchNormalization axis 1",
            || Box::new(BatchNormalization::new().with_axis(1)),
            vec![3, 5],
            false,
        ),
        batch_normalization_with_gamma_l2_beta_non_neg_and_constant_initializers => (
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
        separable_conv2d_with_every_weight_regularized_and_constrained => (
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
        layer_normalization => (
            "LayerNormalization",
            || Box::new(LayerNormalization::new()),
            vec![3, 5],
            false,
        ),
        layer_normalization_two_axes => (
            "LayerNormalization two axes",
            || Box::new(LayerNormalization::new().with_axis(&[1, 2])),
            vec![3, 4, 2],
            false,
        ),
        group_normalization => (
            "GroupNormalization",
            || Box::new(GroupNormalization::new(2)),
            vec![3, 2, 4],
            false,
        ),
        instance_normalization => (
            "InstanceNormalization",
            || Box::new(InstanceNormalization::new()),
            vec![3, 2, 3],
            false,
        ),
        spatial_dropout1d => (
            "SpatialDropout1D",
            || Box::new(SpatialDropout1D::new(0.3)),
            vec![4, 3],
            false,
        ),
        spatial_dropout2d => (
            "SpatialDropout2D",
            || Box::new(SpatialDropout2D::new(0.3)),
            vec![3, 2, 3],
            false,
        ),
        spatial_dropout3d => (
            "SpatialDropout3D",
            || Box::new(SpatialDropout3D::new(0.3)),
            vec![2, 2, 2, 3],
            false,
        ),
        gaussian_dropout => (
            "GaussianDropout",
            || Box::new(GaussianDropout::new(0.3)),
            vec![5],
            false,
        ),
        gaussian_noise => (
            "GaussianNoise",
            || Box::new(GaussianNoise::new(0.2)),
            vec![5],
            false,
        ),
        conv2d_groups_2 => (
            "Conv2D groups 2",
            || Box::new(Conv2D::new(4, (3, 3)).with_groups(2)),
            vec![5, 5, 4],
            false,
        ),
        conv1d_same_stride_2 => (
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
        conv1d_causal_dilation_2 => (
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
        depthwise_conv2d_multiplier_2 => (
            "DepthwiseConv2D multiplier 2",
            || Box::new(DepthwiseConv2D::new((3, 3), 2).with_padding(Padding::Same)),
            vec![5, 4, 3],
            false,
        ),
        separable_conv2d => (
            "SeparableConv2D",
            || Box::new(SeparableConv2D::new(4, (3, 3))),
            vec![5, 6, 3],
            false,
        ),
        separable_conv1d => (
            "SeparableConv1D",
            || Box::new(SeparableConv1D::new(3, 3).with_depth_multiplier(2)),
            vec![7, 2],
            false,
        ),
        max_pooling1d_same_stride_1 => (
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
        average_pooling1d => (
            "AveragePooling1D",
            || Box::new(AveragePooling1D::new(2)),
            vec![7, 2],
            false,
        ),
        global_average_pooling1d => (
            "GlobalAveragePooling1D",
            || Box::new(GlobalAveragePooling1D::new()),
            vec![5, 3],
            false,
        ),
        global_max_pooling1d => (
            "GlobalMaxPooling1D",
            || Box::new(GlobalMaxPooling1D::new()),
            vec![5, 3],
            true,
        ),
        global_average_pooling3d => (
            "GlobalAveragePooling3D",
            || Box::new(GlobalAveragePooling3D::new()),
            vec![2, 3, 2, 3],
            false,
        ),
        global_max_pooling3d => (
            "GlobalMaxPooling3D",
            || Box::new(GlobalMaxPooling3D::new()),
            vec![2, 3, 2, 3],
            true,
        ),
        conv2_dtranspose_valid_stride_2 => (
            "Conv2DTranspose valid stride 2",
            || Box::new(Conv2DTranspose::new(3, (3, 3)).with_strides((2, 2))),
            vec![3, 4, 2],
            false,
        ),
        conv2_dtranspose_same_stride_2_output_padding => (
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
        zero_padding1d => (
            "ZeroPadding1D",
            || Box::new(ZeroPadding1D::new((2, 1))),
            vec![4, 3],
            false,
        ),
        zero_padding3d => (
            "ZeroPadding3D",
            || Box::new(ZeroPadding3D::new([(1, 0), (0, 2), (1, 1)])),
            vec![2, 3, 2, 2],
            false,
        ),
        cropping1d => (
            "Cropping1D",
            || Box::new(Cropping1D::new((1, 2))),
            vec![6, 2],
            false,
        ),
        cropping3d => (
            "Cropping3D",
            || Box::new(Cropping3D::new([(1, 0), (0, 1), (1, 1)])),
            vec![3, 3, 4, 2],
            false,
        ),
        up_sampling1d => (
            "UpSampling1D",
            || Box::new(UpSampling1D::new(3)),
            vec![4, 2],
            false,
        ),
        up_sampling3d => (
            "UpSampling3D",
            || Box::new(UpSampling3D::new([2, 1, 2])),
            vec![2, 2, 3, 2],
            false,
        ),
        conv3d_same_stride_2 => (
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
        conv3d_groups_2_same => (
            "Conv3D groups 2 same",
            || {
                let mut conv = Conv3D::new(4, [2, 3, 2]).with_padding(Padding::Same);
                conv.groups = 2;
                Box::new(conv)
            },
            vec![3, 4, 3, 4],
            false,
        ),
        conv3d_depthwise_groups_equals_channels_valid_stride_2 => (
            "Conv3D depthwise (groups = channels) valid stride 2",
            || {
                let mut conv = Conv3D::new(3, [2, 2, 2]).with_strides([2, 1, 2]);
                conv.groups = 3;
                Box::new(conv)
            },
            vec![4, 3, 5, 3],
            false,
        ),
        max_pooling3d_same => (
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
        average_pooling3d_same => (
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
        conv1_dtranspose_same_stride_2 => (
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
        normalization_fixed_on_axis_1_of_3 => (
            "Normalization fixed on axis 1 of 3",
            || {
                let mut n = Normalization::with_stats(&[0.5, -1.0, 2.0], &[4.0, 0.25, 1.0]);
                n.axis = Some(1);
                Box::new(n)
            },
            vec![3, 2, 2],
            false,
        ),
        layer_scale => (
            "LayerScale",
            || Box::new(LayerScale::new(0.5, 3)),
            vec![2, 3],
            false,
        ),
        unit_normalization => (
            "UnitNormalization",
            || Box::new(UnitNormalization::new()),
            vec![4],
            false,
        ),
        unit_normalization_over_axes_1_and_2 => (
            "UnitNormalization over axes 1 and 2",
            || Box::new(UnitNormalization::with_axis(&[1, 2])),
            vec![2, 3],
            false,
        ),
        arithmetic_x_plus_3 => (
            "Arithmetic x + 3",
            || Box::new(Arithmetic::new(ArithmeticOp::Add, [None, Some(3.0)]).unwrap()),
            vec![4],
            false,
        ),
        arithmetic_0_5_minus_x => (
            "Arithmetic 0.5 - x",
            || Box::new(Arithmetic::new(ArithmeticOp::Subtract, [Some(0.5), None]).unwrap()),
            vec![4],
            false,
        ),
        arithmetic_x_times_1_over_6 => (
            "Arithmetic x * (1 / 6)",
            || Box::new(Arithmetic::new(ArithmeticOp::Multiply, [None, Some(1.0 / 6.0)]).unwrap()),
            vec![2, 2],
            false,
        ),
        arithmetic_x_over_4 => (
            "Arithmetic x / 4",
            || Box::new(Arithmetic::new(ArithmeticOp::Divide, [None, Some(4.0)]).unwrap()),
            vec![3],
            false,
        ),
        activation_hard_silu => (
            "Activation hard_silu",
            || Box::new(ActivationLayer::new(Activation::HardSilu)),
            vec![6],
            false,
        ),
        alpha_dropout => (
            "AlphaDropout",
            || Box::new(AlphaDropout::new(0.3)),
            vec![5],
            false,
        ),
        dropout_seeded => (
            "Dropout seed 7",
            || Box::new(Dropout::new(0.4).with_seed(7)),
            vec![6],
            false,
        ),
        dropout_with_noise_shape => (
            "Dropout with noise_shape",
            || Box::new(Dropout::new(0.25).with_noise_shape(&[None, Some(1), None])),
            vec![3, 4],
            false,
        ),
        identity => ("Identity", || Box::new(Identity::new()), vec![2, 3], false),
        stochastic_depth => (
            "StochasticDepth",
            || Box::new(StochasticDepth::new(0.2)),
            vec![2, 3],
            false,
        ),
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

/// A seed of the case's own, from its description (FNV-1a), so each named test draws the same
/// inputs and weights whichever tests run beside it.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn run_single_input_case(name: &str, make: Make, input_shape: Vec<usize>, separate: bool) {
    let seed = seed_of(name);
    krust_tensor::random::set_seed(seed);
    {
        let x = if separate {
            separated(&with_batch(2, &input_shape), seed)
        } else {
            random(&with_batch(2, &input_shape), seed)
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
            std::env::temp_dir().join(format!("krust-harness-{}-{seed}.krust", std::process::id()));
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

        // Gradients in both modes. A layer with randomness must really differ in training
        // (else its training-mode check would check the identity).
        gradient_check(name, layer.as_ref(), &x, false);
        if layer.random_stream().is_some() {
            let trained = no_grad(|| layer.forward(&Var::constant(x.clone()), true)).unwrap();
            assert_ne!(
                trained.value().to_vec(),
                y.value().to_vec(),
                "{name}: training mode draws no randomness"
            );
        }
        gradient_check(&format!("{name} (training)"), layer.as_ref(), &x, true);
        check_keras_layer_cases_of(layer.class_name());
    }
}

#[test]
fn batch_normalization_training_mode_gradients_use_batch_statistics() {
    krust_tensor::random::set_seed(5);
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
    krust_tensor::random::set_seed(9);
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
    krust_tensor::random::set_seed(3);
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

merge_cases! {
    add => ("Add", || Box::new(Add::new()), 3),
    subtract => ("Subtract", || Box::new(Subtract::new()), 2),
    multiply => ("Multiply", || Box::new(Multiply::new()), 2),
    average => ("Average", || Box::new(Average::new()), 3),
    maximum => ("Maximum", || Box::new(Maximum::new()), 2),
    minimum => ("Minimum", || Box::new(Minimum::new()), 2),
    concatenate => ("Concatenate", || Box::new(Concatenate::new(-1)), 2),
    dot_axes_1_1 => ("Dot", || Box::new(Dot::new((1, 1), false)), 2),
    dot_normalized_last_axes => ("Dot", || Box::new(Dot::new((-1, -1), true)), 2),
    custom_scale_layer => ("CustomScaleLayer", || Box::new(CustomScaleLayer::new(0.17)), 2),
    arithmetic_add => (
        "Arithmetic",
        || Box::new(Arithmetic::new(ArithmeticOp::Add, [None, None]).unwrap()),
        2,
    ),
    arithmetic_multiply => (
        "Arithmetic",
        || Box::new(Arithmetic::new(ArithmeticOp::Multiply, [None, None]).unwrap()),
        2,
    ),
}

fn run_merge_case(name: &str, make: Make, n: usize) {
    let shape = vec![3, 4];
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
    // Gradient of sum(y ⊙ r) for each input, at every element, in both modes.
    let check = GradCheck {
        max_elements: usize::MAX,
        ..GradCheck::default()
    };
    for training in [false, true] {
        check
            .run(&xs, |v| {
                layer
                    .forward_multi(v, training)
                    .map_err(|e| TensorError::invalid("forward", e.to_string()))
            })
            .unwrap_or_else(|e| panic!("{name} (training {training}): {e}"));
    }
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
    check_keras_layer_cases_of(layer.class_name());
}

/// Keras's `seed` argument: a seeded layer's masks depend on its seed alone, not on the thread's
/// generator or on when the layer was made, and the seed survives the config round trip.
#[test]
fn seeded_layers_draw_the_same_masks_wherever_they_are_built() {
    let masks = |layer: &dyn Layer, x: &Tensor| -> Vec<f32> {
        no_grad(|| layer.forward(&Var::constant(x.clone()), true))
            .unwrap()
            .value()
            .to_vec()
    };
    let seeded: Vec<(&str, Make)> = vec![
        ("Dropout", || Box::new(Dropout::new(0.5).with_seed(11))),
        ("SpatialDropout1D", || {
            Box::new(SpatialDropout1D::new(0.5).with_seed(11))
        }),
        ("GaussianDropout", || {
            Box::new(GaussianDropout::new(0.5).with_seed(11))
        }),
        ("GaussianNoise", || {
            Box::new(GaussianNoise::new(0.5).with_seed(11))
        }),
        ("AlphaDropout", || {
            Box::new(AlphaDropout::new(0.5).with_seed(11))
        }),
    ];
    for (name, make) in seeded {
        krust_tensor::random::set_seed(1);
        let mut a = make();
        krust_tensor::random::set_seed(2);
        let _other = Dropout::new(0.5); // draws from the thread's generator in between
        let mut b = make();
        let shape = if name == "SpatialDropout1D" {
            vec![16, 4]
        } else {
            vec![64]
        };
        let x = Tensor::ones(with_batch(4, &shape));
        a.build(&shape).unwrap();
        b.build(&shape).unwrap();
        assert_eq!(masks(a.as_ref(), &x), masks(b.as_ref(), &x), "{name}");
        let config = a.config();
        assert_eq!(config["seed"], 11, "{name}");
        let rebuilt = layer_from_config(name, &config).unwrap();
        assert_eq!(rebuilt.config(), config, "{name}");
        let bad = serde_json::json!({"seed": -3});
        let e = layer_from_config(name, &bad).err().unwrap().to_string();
        assert!(e.contains("`seed`"), "{name}: {e}");
    }
    // Unseeded layers take the thread's generator: two in a row differ.
    let (a, b) = (Dropout::new(0.5), Dropout::new(0.5));
    let x = Tensor::ones([4, 64]);
    assert_ne!(masks(&a, &x), masks(&b, &x));
}

#[test]
fn merges_work_in_a_graph() {
    let g = Graph::new();
    let (a, b) = (g.input(&[4]), g.input(&[4]));
    let s = g.merge(Concatenate::new(1), &[&a, &b]).unwrap();
    assert_eq!(s.shape(), vec![8]);
}

/// Embedding reads integer indices, which have no gradient: its case checks the same round
/// trips and the table's gradient in both modes, with the indices held fixed.
#[test]
fn embedding() {
    krust_tensor::random::set_seed(seed_of("Embedding"));
    let make = || Embedding::new(5, 3);
    let mut layer = make();
    assert_eq!(layer.build(&[4]).unwrap(), vec![4, 3]);
    let ids = Tensor::from_vec([2, 4], vec![0., 4., 4., 1., 2., 2., 3., 0.]).unwrap();
    let y = predict_batch(&layer, &ids);
    assert_eq!(y.shape(), &[2, 4, 3]);
    let config = layer.config();
    let mut rebuilt = layer_from_config("Embedding", &config).unwrap();
    assert_eq!(rebuilt.config(), config);
    rebuilt.build(&[4]).unwrap();
    rebuilt.weights()[0]
        .1
        .set_value(layer.weights()[0].1.value())
        .unwrap();
    assert_eq!(predict_batch(rebuilt.as_ref(), &ids).to_vec(), y.to_vec());
    let mut model = Sequential::new();
    model.add(Input::new(&[4])).unwrap();
    model.add(make()).unwrap();
    let path = std::env::temp_dir().join(format!(
        "krust-harness-{}-embedding.krust",
        std::process::id()
    ));
    save_model(&model, &path).unwrap();
    let loaded = load_sequential(&path).unwrap();
    assert_eq!(
        model.predict(&ids).unwrap().to_vec(),
        loaded.predict(&ids).unwrap().to_vec()
    );
    let _ = std::fs::remove_file(&path);
    let weights: Vec<(String, Var)> = layer
        .weights()
        .into_iter()
        .map(|(n, w)| (n.to_string(), w))
        .collect();
    for training in [false, true] {
        GradCheck::default()
            .run_with_weights(&[], &weights, |_| {
                layer
                    .forward(&Var::constant(ids.clone()), training)
                    .map_err(|e| TensorError::invalid("forward", e.to_string()))
            })
            .unwrap_or_else(|e| panic!("Embedding (training {training}): {e}"));
    }
    check_keras_layer_cases_of("Embedding");
}

/// A layer's inference output for a batch, off the tape.
fn predict_batch(layer: &dyn Layer, x: &Tensor) -> Tensor {
    no_grad(|| layer.forward(&Var::constant(x.clone()), false))
        .unwrap()
        .value()
}

#[test]
fn every_registered_class_has_a_harness_case() {
    let embedding = || Box::new(Embedding::new(5, 3)) as Box<dyn Layer>;
    let covered: std::collections::BTreeSet<&str> = single_input_cases()
        .into_iter()
        .chain(merge_cases())
        .chain([("Embedding", embedding as Make)])
        .map(|(_, make)| make().class_name())
        .chain(["InputLayer"]) // every case's save/load round trip starts with an Input
        .collect();
    let missing: Vec<&str> = layer_classes().filter(|c| !covered.contains(c)).collect();
    assert!(
        missing.is_empty(),
        "registry classes without a harness case: {missing:?}"
    );
}
