//! Each layer's default arguments are written once, in its constructor (or `Default`):
//! `from_config` reads every optional argument over the constructed layer's value. These
//! tests pin that down from the outside: a config holding only the required arguments reads
//! as the constructor's layer, for every class the registry knows that has optional
//! arguments; and a malformed optional argument (`groups`, `epsilon`, `momentum`, `rate`,
//! ...) is an error naming it, never a silent fall back to the default.

mod malformed;

use krust_nn::layers::{
    layer_from_config, ActivationLayer, ActivityRegularization, AlphaDropout, AveragePooling1D,
    AveragePooling2D, AveragePooling3D, BatchNormalization, Concatenate, Conv1D, Conv1DTranspose,
    Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose, Cropping1D, Cropping2D, Cropping3D, Dense,
    DepthwiseConv2D, Dot, Dropout, Embedding, GaussianDropout, GaussianNoise,
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, GlobalMaxPooling3D, GroupNormalization, InstanceNormalization, Layer,
    LayerNormalization, LayerScale, LeakyReLU, MaxPooling1D, MaxPooling2D, MaxPooling3D,
    Normalization, PReLU, ReLU, Rescaling, SeparableConv1D, SeparableConv2D, Softmax,
    SpatialDropout1D, SpatialDropout2D, SpatialDropout3D, UnitNormalization, UpSampling1D,
    UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D, ELU,
};
use malformed::{message, with};
use serde_json::{json, Value};

/// (class, a config with only the required arguments, the constructor's layer).
fn required_only() -> Vec<(&'static str, Value, Box<dyn Layer>)> {
    vec![
        ("Dense", json!({"units": 3}), Box::new(Dense::new(3))),
        (
            "Conv1D",
            json!({"filters": 4, "kernel_size": 3}),
            Box::new(Conv1D::new(4, 3)),
        ),
        (
            "Conv2D",
            json!({"filters": 4, "kernel_size": [3, 2]}),
            Box::new(Conv2D::new(4, (3, 2))),
        ),
        (
            "Conv3D",
            json!({"filters": 4, "kernel_size": 2}),
            Box::new(Conv3D::new(4, [2, 2, 2])),
        ),
        (
            "Conv1DTranspose",
            json!({"filters": 4, "kernel_size": 3}),
            Box::new(Conv1DTranspose::new(4, 3)),
        ),
        (
            "Conv2DTranspose",
            json!({"filters": 4, "kernel_size": 3}),
            Box::new(Conv2DTranspose::new(4, (3, 3))),
        ),
        (
            "Conv3DTranspose",
            json!({"filters": 4, "kernel_size": 2}),
            Box::new(Conv3DTranspose::new(4, [2, 2, 2])),
        ),
        (
            "DepthwiseConv2D",
            json!({"kernel_size": 3}),
            Box::new(DepthwiseConv2D::new((3, 3), 1)),
        ),
        (
            "SeparableConv1D",
            json!({"filters": 4, "kernel_size": 3}),
            Box::new(SeparableConv1D::new(4, 3)),
        ),
        (
            "SeparableConv2D",
            json!({"filters": 4, "kernel_size": 3}),
            Box::new(SeparableConv2D::new(4, (3, 3))),
        ),
        ("MaxPooling1D", json!({}), Box::new(MaxPooling1D::new(2))),
        (
            "MaxPooling2D",
            json!({}),
            Box::new(MaxPooling2D::new((2, 2))),
        ),
        (
            "MaxPooling3D",
            json!({}),
            Box::new(MaxPooling3D::new([2; 3])),
        ),
        (
            "AveragePooling1D",
            json!({}),
            Box::new(AveragePooling1D::new(2)),
        ),
        (
            "AveragePooling2D",
            json!({}),
            Box::new(AveragePooling2D::new((2, 2))),
        ),
        (
            "AveragePooling3D",
            json!({}),
            Box::new(AveragePooling3D::new([2; 3])),
        ),
        (
            "GlobalAveragePooling1D",
            json!({}),
            Box::new(GlobalAveragePooling1D::new()),
        ),
        (
            "GlobalAveragePooling2D",
            json!({}),
            Box::new(GlobalAveragePooling2D::new()),
        ),
        (
            "GlobalAveragePooling3D",
            json!({}),
            Box::new(GlobalAveragePooling3D::new()),
        ),
        (
            "GlobalMaxPooling1D",
            json!({}),
            Box::new(GlobalMaxPooling1D::new()),
        ),
        (
            "GlobalMaxPooling2D",
            json!({}),
            Box::new(GlobalMaxPooling2D::new()),
        ),
        (
            "GlobalMaxPooling3D",
            json!({}),
            Box::new(GlobalMaxPooling3D::new()),
        ),
        (
            "BatchNormalization",
            json!({}),
            Box::new(BatchNormalization::new()),
        ),
        (
            "LayerNormalization",
            json!({}),
            Box::new(LayerNormalization::new()),
        ),
        (
            "GroupNormalization",
            json!({}),
            Box::new(GroupNormalization::new(32)),
        ),
        (
            "InstanceNormalization",
            json!({}),
            Box::new(InstanceNormalization::new()),
        ),
        (
            "UnitNormalization",
            json!({}),
            Box::new(UnitNormalization::new()),
        ),
        ("Normalization", json!({}), Box::new(Normalization::new())),
        ("Dropout", json!({}), Box::new(Dropout::default())),
        ("AlphaDropout", json!({}), Box::new(AlphaDropout::default())),
        (
            "GaussianDropout",
            json!({}),
            Box::new(GaussianDropout::default()),
        ),
        (
            "GaussianNoise",
            json!({}),
            Box::new(GaussianNoise::default()),
        ),
        (
            "SpatialDropout1D",
            json!({}),
            Box::new(SpatialDropout1D::new(0.5)),
        ),
        (
            "SpatialDropout2D",
            json!({}),
            Box::new(SpatialDropout2D::new(0.5)),
        ),
        (
            "SpatialDropout3D",
            json!({}),
            Box::new(SpatialDropout3D::new(0.5)),
        ),
        (
            "Activation",
            json!({}),
            Box::new(ActivationLayer::default()),
        ),
        (
            "ActivityRegularization",
            json!({}),
            Box::new(ActivityRegularization::default()),
        ),
        ("ReLU", json!({}), Box::new(ReLU::with_defaults())),
        ("LeakyReLU", json!({}), Box::new(LeakyReLU::with_defaults())),
        ("ELU", json!({}), Box::new(ELU::with_defaults())),
        ("Softmax", json!({}), Box::new(Softmax::with_defaults())),
        ("PReLU", json!({}), Box::new(PReLU::default())),
        ("Concatenate", json!({}), Box::new(Concatenate::default())),
        ("Dot", json!({"axes": 1}), Box::new(Dot::with_axes((1, 1)))),
        (
            "Embedding",
            json!({"input_dim": 10, "output_dim": 4}),
            Box::new(Embedding::new(10, 4)),
        ),
        ("Rescaling", json!({}), Box::new(Rescaling::default())),
        (
            "LayerScale",
            json!({"projection_dim": 8}),
            Box::new(LayerScale::with_projection_dim(8)),
        ),
        (
            "UpSampling1D",
            json!({}),
            Box::new(UpSampling1D::with_defaults()),
        ),
        ("UpSampling2D", json!({}), Box::new(UpSampling2D::default())),
        (
            "UpSampling3D",
            json!({}),
            Box::new(UpSampling3D::with_defaults()),
        ),
        (
            "ZeroPadding1D",
            json!({}),
            Box::new(ZeroPadding1D::with_defaults()),
        ),
        (
            "ZeroPadding2D",
            json!({}),
            Box::new(ZeroPadding2D::default()),
        ),
        (
            "ZeroPadding3D",
            json!({}),
            Box::new(ZeroPadding3D::with_defaults()),
        ),
        (
            "Cropping1D",
            json!({}),
            Box::new(Cropping1D::with_defaults()),
        ),
        ("Cropping2D", json!({}), Box::new(Cropping2D::default())),
        (
            "Cropping3D",
            json!({}),
            Box::new(Cropping3D::with_defaults()),
        ),
    ]
}

#[test]
fn a_config_with_only_required_arguments_reads_as_the_constructor() {
    for (class, config, constructed) in required_only() {
        let read =
            layer_from_config(class, &config).unwrap_or_else(|e| panic!("{class} {config}: {e}"));
        assert_eq!(read.class_name(), constructed.class_name(), "{class}");
        assert_eq!(read.config(), constructed.config(), "{class} from {config}");
    }
}

#[test]
fn the_constructors_hold_keras_defaults() {
    // Spot checks of the values themselves (Keras 3's signatures), so a changed constructor
    // default is seen here and not only through the fixtures.
    let dense = Dense::new(3).config();
    assert_eq!(dense["activation"], json!("linear"));
    assert_eq!(dense["use_bias"], json!(true));
    assert_eq!(dense["kernel_initializer"]["class_name"], "GlorotUniform");
    assert_eq!(dense["bias_initializer"]["class_name"], "Zeros");
    let bn = BatchNormalization::new().config();
    assert_eq!(bn["axis"], json!(-1));
    assert_eq!(bn["momentum"].as_f64().map(|m| m as f32), Some(0.99));
    assert_eq!(bn["epsilon"].as_f64().map(|e| e as f32), Some(1e-3));
    assert_eq!(bn["center"], json!(true));
    assert_eq!(bn["scale"], json!(true));
    let conv = Conv2D::new(4, (3, 3)).config();
    assert_eq!(conv["strides"], json!([1, 1]));
    assert_eq!(conv["dilation_rate"], json!([1, 1]));
    assert_eq!(conv["padding"], json!("valid"));
    assert_eq!(conv["groups"], json!(1));
    let group = layer_from_config("GroupNormalization", &json!({})).unwrap();
    assert_eq!(group.config()["groups"], json!(32));
    let leaky = LeakyReLU::with_defaults().config();
    assert_eq!(
        leaky["negative_slope"].as_f64().map(|s| s as f32),
        Some(0.3)
    );
    assert_eq!(MaxPooling2D::default().config()["pool_size"], json!([2, 2]));
    assert_eq!(UpSampling2D::default().config()["size"], json!([2, 2]));
}

const NOT_POSITIVE_INTS: [&str; 6] = ["-1", "0", "1.5", "\"2\"", "[2]", "true"];
const NOT_NUMBERS: [&str; 4] = ["\"0.1\"", "true", "[0.1]", "{}"];

fn assert_rejected(class: &str, base: &Value, key: &str, values: &[&str]) {
    for value in values {
        let what = format!("{class} {key} {value}");
        let e = message(&what, layer_from_config(class, &with(base, key, value)));
        assert!(
            e.contains(class) && e.contains(&format!("`{key}`")),
            "{what}: {e}"
        );
    }
}

#[test]
fn malformed_groups_and_depth_multipliers_name_the_argument_in_every_class() {
    // GroupNormalization used to read a malformed `groups` as its default, 32.
    assert_rejected(
        "GroupNormalization",
        &json!({}),
        "groups",
        &NOT_POSITIVE_INTS,
    );
    for (class, base) in [
        ("Conv1D", json!({"filters": 4, "kernel_size": 3})),
        ("Conv2D", json!({"filters": 4, "kernel_size": 3})),
        ("Conv3D", json!({"filters": 4, "kernel_size": 2})),
    ] {
        assert_rejected(class, &base, "groups", &NOT_POSITIVE_INTS);
    }
    for (class, base) in [
        ("DepthwiseConv2D", json!({"kernel_size": 3})),
        ("SeparableConv1D", json!({"filters": 4, "kernel_size": 3})),
        ("SeparableConv2D", json!({"filters": 4, "kernel_size": 3})),
    ] {
        assert_rejected(class, &base, "depth_multiplier", &NOT_POSITIVE_INTS);
    }
}

#[test]
fn malformed_numbers_name_the_argument() {
    let none = json!({});
    for (class, base, key) in [
        ("BatchNormalization", &none, "epsilon"),
        ("BatchNormalization", &none, "momentum"),
        ("LayerNormalization", &none, "epsilon"),
        ("GroupNormalization", &none, "epsilon"),
        ("InstanceNormalization", &none, "epsilon"),
        ("Dropout", &none, "rate"),
        ("AlphaDropout", &none, "rate"),
        ("GaussianDropout", &none, "rate"),
        ("GaussianNoise", &none, "stddev"),
        ("SpatialDropout2D", &none, "rate"),
        ("ReLU", &none, "max_value"),
        ("ReLU", &none, "negative_slope"),
        ("ReLU", &none, "threshold"),
        ("LeakyReLU", &none, "negative_slope"),
        ("ELU", &none, "alpha"),
        ("Rescaling", &none, "scale"),
        ("Rescaling", &none, "offset"),
        ("ActivityRegularization", &none, "l1"),
        ("LayerScale", &json!({"projection_dim": 4}), "init_values"),
    ] {
        assert_rejected(class, base, key, &NOT_NUMBERS);
    }
    // Normalization's statistics are a number or a list of numbers; a malformed one used to
    // read as absent (and both absent as "adapt").
    let bad_stats = ["\"0.1\"", "true", "[\"a\"]", "{}"];
    assert_rejected(
        "Normalization",
        &json!({"variance": [1.0]}),
        "mean",
        &bad_stats,
    );
    assert_rejected(
        "Normalization",
        &json!({"mean": [0.0]}),
        "variance",
        &bad_stats,
    );
}

#[test]
fn malformed_flags_and_names_name_the_argument() {
    let none = json!({});
    let dense = json!({"units": 2});
    for (class, base, key, values) in [
        ("Dense", &dense, "use_bias", &["1", "\"true\""][..]),
        ("Dense", &dense, "activation", &["\"no_such\"", "3"][..]),
        ("BatchNormalization", &none, "center", &["1"][..]),
        ("LayerNormalization", &none, "scale", &["\"yes\""][..]),
        ("GlobalAveragePooling2D", &none, "keepdims", &["0"][..]),
        ("MaxPooling2D", &none, "padding", &["\"causal\"", "1"][..]),
        (
            "Conv2D",
            &json!({"filters": 2, "kernel_size": 1}),
            "padding",
            &["\"causal\""][..],
        ),
        (
            "UpSampling2D",
            &none,
            "interpolation",
            &["\"area\"", "1"][..],
        ),
        ("Dot", &json!({"axes": 1}), "normalize", &["\"no\""][..]),
        ("Concatenate", &none, "axis", &["1.5", "\"-1\""][..]),
        ("Softmax", &none, "axis", &["\"-1\""][..]),
    ] {
        assert_rejected(class, base, key, values);
    }
}

/// The classes whose arguments are serde fields (`config::args`): each with a config holding
/// its required arguments, and their names.
fn serde_layers() -> Vec<(&'static str, Value, &'static [&'static str])> {
    let none = || json!({});
    let mut layers = vec![
        ("Dense", json!({"units": 2}), &["units"][..]),
        ("Activation", none(), &[]),
        ("ActivityRegularization", none(), &[]),
        ("ReLU", none(), &[]),
        ("LeakyReLU", none(), &[]),
        ("ELU", none(), &[]),
        ("Softmax", none(), &[]),
        ("PReLU", none(), &[]),
        ("Maxout", json!({"num_units": 2}), &["num_units"]),
        (
            "AdaptiveAveragePooling2D",
            json!({"output_size": 2}),
            &["output_size"],
        ),
        (
            "Arithmetic",
            json!({"op": "add", "operands": [null, 1]}),
            &["op", "operands"],
        ),
        ("CustomScaleLayer", json!({"scale": 0.5}), &["scale"]),
        ("BatchNormalization", none(), &[]),
        ("Dot", json!({"axes": 1}), &["axes"]),
        (
            "Embedding",
            json!({"input_dim": 10, "output_dim": 4}),
            &["input_dim", "output_dim"],
        ),
        ("Flatten", none(), &[]),
        (
            "InputLayer",
            json!({"batch_shape": [null, 3]}),
            &["batch_shape"],
        ),
        (
            "LayerScale",
            json!({"projection_dim": 4}),
            &["projection_dim"],
        ),
        ("Concatenate", none(), &[]),
        ("RepeatVector", json!({"n": 2}), &["n"]),
        ("Permute", json!({"dims": [2, 1]}), &["dims"]),
        ("Reshape", json!({"target_shape": [-1]}), &["target_shape"]),
        (
            "StochasticDepth",
            json!({"drop_path_rate": 0.1}),
            &["drop_path_rate"],
        ),
        ("Rescaling", none(), &[]),
        ("UnitNormalization", none(), &[]),
        ("LayerNormalization", none(), &[]),
        ("GroupNormalization", none(), &[]),
        ("InstanceNormalization", none(), &[]),
        ("Normalization", none(), &[]),
        ("ZeroPadding1D", none(), &[]),
        ("ZeroPadding2D", none(), &[]),
        ("ZeroPadding3D", none(), &[]),
        ("Cropping1D", none(), &[]),
        ("Cropping2D", none(), &[]),
        ("Cropping3D", none(), &[]),
        ("UpSampling1D", none(), &[]),
        ("UpSampling2D", none(), &[]),
        ("UpSampling3D", none(), &[]),
        ("SpatialDropout1D", none(), &[]),
        ("SpatialDropout2D", none(), &[]),
        ("SpatialDropout3D", none(), &[]),
        ("GaussianDropout", none(), &[]),
        ("GaussianNoise", none(), &[]),
        ("AlphaDropout", none(), &[]),
        ("Dropout", none(), &[]),
        (
            "Conv1D",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "Conv2D",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "Conv3D",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "Conv1DTranspose",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "Conv2DTranspose",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "Conv3DTranspose",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "SeparableConv1D",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "SeparableConv2D",
            json!({"filters": 2, "kernel_size": 3}),
            &["filters", "kernel_size"],
        ),
        (
            "DepthwiseConv2D",
            json!({"kernel_size": 3}),
            &["kernel_size"],
        ),
    ];
    for class in [
        "MaxPooling1D",
        "MaxPooling2D",
        "MaxPooling3D",
        "AveragePooling1D",
        "AveragePooling2D",
        "AveragePooling3D",
        "GlobalAveragePooling1D",
        "GlobalAveragePooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling1D",
        "GlobalMaxPooling2D",
        "GlobalMaxPooling3D",
    ] {
        layers.push((class, none(), &[]));
    }
    layers
}

#[test]
fn unknown_arguments_are_rejected_naming_them_even_when_null() {
    for (class, base, _) in serde_layers() {
        // A null, which means the default, has none for an argument the layer does not have.
        for key in ["no_such_argument", "no_such_regularizer"] {
            for value in ["1", "null"] {
                let config = with(&base, key, value);
                let e = message(class, layer_from_config(class, &config));
                assert!(
                    e.contains(class) && e.contains(&format!("`{key}`")),
                    "{class} {key} {value}: {e}"
                );
            }
        }
    }
}

#[test]
fn missing_required_arguments_are_rejected_naming_them() {
    for (class, base, required) in serde_layers() {
        layer_from_config(class, &base).unwrap_or_else(|e| panic!("{class} {base}: {e}"));
        for key in required {
            let mut config = base.clone();
            config.as_object_mut().unwrap().remove(*key);
            // A null is the default, and a required argument has none.
            for config in [config.clone(), with(&config, key, "null")] {
                let e = message(class, layer_from_config(class, &config));
                assert!(
                    e.contains(class) && e.contains(&format!("`{key}`")),
                    "{class} without {key}: {e}"
                );
            }
        }
    }
}

#[test]
fn arguments_krust_supports_at_one_value_accept_it_and_name_any_other() {
    let none = json!({});
    let embedding = json!({"input_dim": 10, "output_dim": 4});
    let input = json!({"batch_shape": [null, 3]});
    let l2 = r#"{"class_name": "L2", "config": {"l2": 0.1}}"#;
    for (class, base, key, supported, others) in [
        (
            "Maxout",
            &json!({"num_units": 2}),
            "axis",
            "-1",
            &["1", "-1.0"][..],
        ),
        (
            "Embedding",
            &embedding,
            "mask_zero",
            "false",
            &["true", "0"][..],
        ),
        ("Embedding", &embedding, "input_length", "null", &["5"][..]),
        (
            "BatchNormalization",
            &none,
            "synchronized",
            "false",
            &["true"][..],
        ),
        (
            "BatchNormalization",
            &none,
            "renorm",
            "false",
            &["true", "0"][..],
        ),
        (
            "BatchNormalization",
            &none,
            "renorm_clipping",
            "null",
            &["{}"][..],
        ),
        ("InputLayer", &input, "sparse", "false", &["true"][..]),
        ("InputLayer", &input, "ragged", "false", &["true"][..]),
        (
            "ActivityRegularization",
            &none,
            "activity_regularizer",
            "null",
            &[l2][..],
        ),
        (
            "Flatten",
            &none,
            "data_format",
            "\"channels_last\"",
            &["\"channels_first\""][..],
        ),
    ] {
        let plain = layer_from_config(class, base).unwrap().config();
        let given = layer_from_config(class, &with(base, key, supported))
            .unwrap_or_else(|e| panic!("{class} {key} {supported}: {e}"));
        assert_eq!(given.config(), plain, "{class} {key} {supported}");
        assert_rejected(class, base, key, others);
    }
}

#[test]
fn argument_values_in_keras_forms_read_as_krust_writes_them() {
    // (class, config, key, the value the layer writes for it)
    for (class, config, key, written) in [
        (
            "PReLU",
            json!({"shared_axes": 1}),
            "shared_axes",
            json!([1]),
        ),
        (
            "PReLU",
            json!({"shared_axes": []}),
            "shared_axes",
            json!(null),
        ),
        (
            "PReLU",
            json!({"shared_axes": [1, 2]}),
            "shared_axes",
            json!([1, 2]),
        ),
        (
            "InputLayer",
            json!({"batch_input_shape": [8, 2, 3]}),
            "batch_shape",
            json!([null, 2, 3]),
        ),
        (
            "BatchNormalization",
            json!({"renorm_momentum": 0.5}),
            "renorm_momentum",
            json!(0.99),
        ),
        (
            "Arithmetic",
            json!({"op": "TrueDivide", "operands": [null, 2]}),
            "op",
            json!("divide"),
        ),
        ("Dot", json!({"axes": -1}), "axes", json!([-1, -1])),
        (
            "AdaptiveAveragePooling2D",
            json!({"output_size": 3}),
            "output_size",
            json!([3, 3]),
        ),
        ("ReLU", json!({"max_value": 6}), "max_value", json!(6.0)),
    ] {
        let layer = layer_from_config(class, &config).unwrap_or_else(|e| panic!("{class}: {e}"));
        assert_eq!(layer.config()[key], written, "{class} {config}");
    }
    let bad = [
        (
            "PReLU",
            json!({}),
            "shared_axes",
            &["-1", "[1.5]", "\"1\""][..],
        ),
        (
            "InputLayer",
            json!({}),
            "batch_shape",
            &["[]", "[null, -1]", "3"][..],
        ),
        ("Dot", json!({}), "axes", &["[1]", "[1, 2, 3]", "1.5"][..]),
        (
            "AdaptiveAveragePooling2D",
            json!({}),
            "output_size",
            &["0", "[2, 0]", "[1, 2, 3]"][..],
        ),
        (
            "Arithmetic",
            json!({"operands": [null, 1]}),
            "op",
            &["\"pow\"", "1"][..],
        ),
        (
            "Arithmetic",
            json!({"op": "add"}),
            "operands",
            &["[null]", "[null, \"x\"]"][..],
        ),
        ("CustomScaleLayer", json!({}), "scale", &NOT_NUMBERS[..]),
    ];
    for (class, base, key, values) in bad {
        assert_rejected(class, &base, key, values);
    }
}

#[test]
fn a_null_argument_reads_as_its_default() {
    for (class, base, required) in serde_layers() {
        let plain = layer_from_config(class, &base).unwrap().config();
        for key in plain.as_object().unwrap().keys() {
            if required.contains(&key.as_str()) {
                continue;
            }
            let config = with(&base, key, "null");
            let read = layer_from_config(class, &config)
                .unwrap_or_else(|e| panic!("{class} {key} null: {e}"));
            assert_eq!(read.config(), plain, "{class} {key} null");
        }
    }
}

#[test]
fn malformed_shapes_axes_borders_and_fixed_arguments_name_the_argument() {
    let none = json!({});
    for (class, base, key, values) in [
        (
            "Permute",
            &json!({"dims": [1]}),
            "dims",
            &["[\"a\"]", "[-1]", "2"][..],
        ),
        (
            "Reshape",
            &json!({"target_shape": [1]}),
            "target_shape",
            &["[2.5]", "\"x\""][..],
        ),
        ("RepeatVector", &json!({"n": 1}), "n", &["-1", "2.0"][..]),
        ("UnitNormalization", &none, "axis", &["\"1\"", "[1.5]"][..]),
        ("LayerNormalization", &none, "axis", &["[[1]]"][..]),
        (
            "LayerNormalization",
            &none,
            "rms_scaling",
            &["true", "0"][..],
        ),
        (
            "GroupNormalization",
            &none,
            "axis",
            &["1", "-1.0", "[-1]"][..],
        ),
        // Instance normalization has one group per channel and no `groups` argument.
        ("InstanceNormalization", &none, "groups", &["4", "null"][..]),
        ("Normalization", &none, "axis", &["[1, 2]", "\"x\""][..]),
        (
            "ZeroPadding1D",
            &none,
            "padding",
            &["[1, 2, 3]", "[[1, 2], 3]"][..],
        ),
        ("Cropping3D", &none, "cropping", &["[[1, 1], [1, 1]]"][..]),
        ("UpSampling1D", &none, "size", &["[2, 2]", "\"2\""][..]),
        ("UpSampling3D", &none, "size", &["[2, 2]"][..]),
        ("UpSampling2D", &none, "size", &["[2, 2, 2]"][..]),
        (
            "UpSampling2D",
            &none,
            "interpolation",
            &["{\"bilinear\": null}"][..],
        ),
        ("SpatialDropout2D", &none, "noise_shape", &["[1, 2]"][..]),
        (
            "AlphaDropout",
            &none,
            "noise_shape",
            &["[\"a\"]", "[-1]"][..],
        ),
        ("GaussianNoise", &none, "seed", &["-1", "1.5", "\"1\""][..]),
        ("SpatialDropout3D", &none, "seed", &["-1"][..]),
        (
            "StochasticDepth",
            &json!({"drop_path_rate": 0.1}),
            "drop_path_rate",
            &["\"0.1\""][..],
        ),
    ] {
        assert_rejected(class, base, key, values);
    }
}
